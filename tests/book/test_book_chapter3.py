"""d2l chapter 3 (linear regression): the book's PyTorch cells, run on softmaxreg.

Each test transcribes the cells of one section as the book prints them (``%%tab pytorch``, with
``tab.selected`` branches resolved to PyTorch), the only change being ``import softmaxreg as d2l``
for ``from d2l import torch as d2l`` and no ``%matplotlib inline``. Then it checks the results the
book shows, within training noise.
"""

import math
import random
import time

import numpy as np
import pytest
import torch
from torch import nn

import softmaxreg as d2l
from softmaxreg.errors import ConfigError

from conftest import check_png


@pytest.fixture(autouse=True)
def close_figures():
    yield
    d2l.plt.close("all")


# -- §3.1 Linear Regression --------------------------------------------------------------------------


def test_3_1_vectorization_and_the_normal_distribution_plot(tmp_path):
    n = 10000
    a = d2l.ones(n)
    b = d2l.ones(n)

    c = d2l.zeros(n)
    t = time.time()
    for i in range(n):
        c[i] = a[i] + b[i]
    f"{time.time() - t:.5f} sec"

    t = time.time()
    d = a + b
    f"{time.time() - t:.5f} sec"

    def normal(x, mu, sigma):
        p = 1 / math.sqrt(2 * math.pi * sigma**2)
        return p * np.exp(-0.5 * (x - mu) ** 2 / sigma**2)

    # Use numpy again for visualization
    x = np.arange(-7, 7, 0.01)

    # Mean and standard deviation pairs
    params = [(0, 1), (0, 2), (3, 1)]
    d2l.plot(x, [normal(x, mu, sigma) for mu, sigma in params], xlabel='x',
             ylabel='p(x)', figsize=(4.5, 2.5),
             legend=[f'mean {mu}, std {sigma}' for mu, sigma in params])  # fmt: skip

    assert torch.equal(c, d) and c.sum() == 2 * n
    ax = d2l.plt.gca()
    assert len(ax.lines) == 3 and [t.get_text() for t in ax.get_legend().get_texts()][2] == "mean 3, std 1"
    peaks = [line.get_ydata().max() for line in ax.lines]
    assert np.allclose(peaks, [1 / math.sqrt(2 * math.pi), 1 / math.sqrt(8 * math.pi), 1 / math.sqrt(2 * math.pi)], atol=1e-4)
    check_png(d2l.plt.gcf(), tmp_path / "normal.png", min_size=(440, 240))


# -- §3.2 Object-Oriented Design for Implementation --------------------------------------------------


def test_3_2_utilities_and_the_base_classes(capsys, tmp_path):
    class A:
        def __init__(self):
            self.b = 1

    a = A()

    @d2l.add_to_class(A)
    def do(self):
        print('Class attribute "b" is', self.b)

    a.do()

    # Call the fully implemented HyperParameters class saved in d2l
    class B(d2l.HyperParameters):
        def __init__(self, a, b, c):
            self.save_hyperparameters(ignore=['c'])
            print('self.a =', self.a, 'self.b =', self.b)
            print('There is no self.c =', not hasattr(self, 'c'))

    b = B(a=1, b=2, c=3)

    assert capsys.readouterr().out == 'Class attribute "b" is 1\nself.a = 1 self.b = 2\nThere is no self.c = True\n'

    board = d2l.ProgressBoard('x')
    for x in np.arange(0, 10, 0.1):
        board.draw(x, np.sin(x), 'sin', every_n=2)
        board.draw(x, np.cos(x), 'cos', every_n=10)

    assert board.xlabel == "x"
    assert len(board.data["sin"]) == 50 and len(board.data["cos"]) == 10
    assert board.data["sin"][0] == pytest.approx((0.05, np.sin(0.1) / 2))
    assert board.data["cos"][-1][0] == pytest.approx(9.45)
    check_png(board.save(tmp_path / "board.png"), min_size=(300, 200))

    # The classes of §3.2, defined on top of d2l's nn_Module and HyperParameters, as the book does
    class ProgressBoard(d2l.HyperParameters):  #@save
        """The board that plots data points in animation."""
        def __init__(self, xlabel=None, ylabel=None, xlim=None,
                     ylim=None, xscale='linear', yscale='linear',
                     ls=['-', '--', '-.', ':'], colors=['C0', 'C1', 'C2', 'C3'],
                     fig=None, axes=None, figsize=(3.5, 2.5), display=True):
            self.save_hyperparameters()

        def draw(self, x, y, label, every_n=1):
            raise NotImplementedError

    class Module(d2l.nn_Module, d2l.HyperParameters):  #@save
        """The base class of models."""
        def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
            super().__init__()
            self.save_hyperparameters()
            self.board = ProgressBoard()

        def loss(self, y_hat, y):
            raise NotImplementedError

        def forward(self, X):
            assert hasattr(self, 'net'), 'Neural network is defined'
            return self.net(X)

    class DataModule(d2l.HyperParameters):  #@save
        """The base class of data."""
        def __init__(self, root='../data', num_workers=4):
            self.save_hyperparameters()

    class Trainer(d2l.HyperParameters):  #@save
        """The base class for training models with data."""
        def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0):
            self.save_hyperparameters()
            assert num_gpus == 0, 'No GPU support yet'
    # fmt: skip

    module = Module()
    assert isinstance(module, nn.Module) and module.hparams == {"plot_train_per_epoch": 2, "plot_valid_per_epoch": 1}
    assert module.board.figsize == (3.5, 2.5)
    assert DataModule().num_workers == 4 and Trainer(max_epochs=3).max_epochs == 3


# -- §3.3 Synthetic Regression Data ------------------------------------------------------------------


def test_3_3_synthetic_regression_data(capsys):
    class SyntheticRegressionData(d2l.DataModule):  #@save
        """Synthetic data for linear regression."""
        def __init__(self, w, b, noise=0.01, num_train=1000, num_val=1000,
                     batch_size=32):
            super().__init__()
            self.save_hyperparameters()
            n = num_train + num_val
            self.X = d2l.randn(n, len(w))
            noise = d2l.randn(n, 1) * noise
            self.y = d2l.matmul(self.X, d2l.reshape(w, (-1, 1))) + b + noise

    data = SyntheticRegressionData(w=d2l.tensor([2, -3.4]), b=4.2)

    print('features:', data.X[0],'\nlabel:', data.y[0])

    @d2l.add_to_class(SyntheticRegressionData)
    def get_dataloader(self, train):
        if train:
            indices = list(range(0, self.num_train))
            # The examples are read in random order
            random.shuffle(indices)
        else:
            indices = list(range(self.num_train, self.num_train+self.num_val))
        for i in range(0, len(indices), self.batch_size):
            batch_indices = d2l.tensor(indices[i: i+self.batch_size])
            yield self.X[batch_indices], self.y[batch_indices]

    X, y = next(iter(data.train_dataloader()))
    print('X shape:', X.shape, '\ny shape:', y.shape)

    @d2l.add_to_class(d2l.DataModule)  #@save
    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        tensors = tuple(a[indices] for a in tensors)
        dataset = torch.utils.data.TensorDataset(*tensors)
        return torch.utils.data.DataLoader(dataset, self.batch_size,
                                           shuffle=train)

    @d2l.add_to_class(SyntheticRegressionData)  #@save
    def get_dataloader(self, train):
        i = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader((self.X, self.y), train, i)

    X, y = next(iter(data.train_dataloader()))
    print('X shape:', X.shape, '\ny shape:', y.shape)

    len(data.train_dataloader())
    # fmt: skip

    out = capsys.readouterr().out
    assert out.count("X shape: torch.Size([32, 2]) \ny shape: torch.Size([32, 1])") == 2
    assert len(data.train_dataloader()) == 32 and isinstance(data.train_dataloader(), torch.utils.data.DataLoader)
    residual = data.y - (data.X @ torch.tensor([[2.0], [-3.4]]) + 4.2)
    assert 0.008 < float(residual.std()) < 0.012  # noise=0.01


def test_3_3_d2l_synthetic_data_matches_the_book():
    data = d2l.SyntheticRegressionData(w=d2l.tensor([2, -3.4]), b=4.2)
    assert data.X.shape == (2000, 2) and data.y.shape == (2000, 1)
    assert torch.equal(data.w, torch.tensor([2, -3.4]))
    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (32, 2) and y.shape == (32, 1)
    assert len(data.train_dataloader()) == 32 and len(data.val_dataloader()) == 32
    residual = data.y - (data.X @ data.w.reshape(-1, 1) + 4.2)
    assert 0.008 < float(residual.std()) < 0.012


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"w": [[1.0]]}, r"`w` must be a 1-d tensor of weights.*got shape \(1, 1\)"),
        ({"w": "abc"}, r"`w` must be a 1-d tensor of weights"),
        ({"w": [1.0], "noise": -1}, r"`noise` must be a non-negative number; got -1"),
        ({"w": [1.0], "batch_size": 0}, r"`batch_size` must be a positive integer; got 0"),
    ],
)
def test_synthetic_data_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        d2l.SyntheticRegressionData(b=0.0, **kwargs)


# -- §3.4 Linear Regression Implementation from Scratch ---------------------------------------------


def _book_fit_epoch_and_prepare_batch():
    """The book's §3.4 replacements of Trainer.prepare_batch and Trainer.fit_epoch."""

    @d2l.add_to_class(d2l.Trainer)  #@save
    def prepare_batch(self, batch):
        return batch

    @d2l.add_to_class(d2l.Trainer)  #@save
    def fit_epoch(self):
        self.model.train()
        for batch in self.train_dataloader:
            loss = self.model.training_step(self.prepare_batch(batch))
            self.optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                if self.gradient_clip_val > 0:  # To be discussed later
                    self.clip_gradients(self.gradient_clip_val, self.model)
                self.optim.step()
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        self.model.eval()
        for batch in self.val_dataloader:
            with torch.no_grad():
                self.model.validation_step(self.prepare_batch(batch))
            self.val_batch_idx += 1
    # fmt: skip

    return fit_epoch


class _BatchProbe:
    """Counts the Trainer's callback calls."""

    batches = epochs = 0

    def on_train_batch_end(self, trainer, model, loss):
        self.batches += 1

    def on_epoch_end(self, trainer, model, metrics):
        self.epochs += 1


def test_3_4_linear_regression_from_scratch(capsys):
    torch.manual_seed(0)
    random.seed(0)

    class LinearRegressionScratch(d2l.Module):  #@save
        """The linear regression model implemented from scratch."""
        def __init__(self, num_inputs, lr, sigma=0.01):
            super().__init__()
            self.save_hyperparameters()
            self.w = d2l.normal(0, sigma, (num_inputs, 1), requires_grad=True)
            self.b = d2l.zeros(1, requires_grad=True)

    @d2l.add_to_class(LinearRegressionScratch)  #@save
    def forward(self, X):
        return d2l.matmul(X, self.w) + self.b

    @d2l.add_to_class(LinearRegressionScratch)  #@save
    def loss(self, y_hat, y):
        l = (y_hat - y) ** 2 / 2
        return d2l.reduce_mean(l)

    class SGD(d2l.HyperParameters):  #@save
        """Minibatch stochastic gradient descent."""
        def __init__(self, params, lr):
            self.save_hyperparameters()

        def step(self):
            for param in self.params:
                param -= self.lr * param.grad

        def zero_grad(self):
            for param in self.params:
                if param.grad is not None:
                    param.grad.zero_()

    @d2l.add_to_class(LinearRegressionScratch)  #@save
    def configure_optimizers(self):
        return SGD([self.w, self.b], self.lr)
    # fmt: skip

    fit_epoch = _book_fit_epoch_and_prepare_batch()

    model = LinearRegressionScratch(2, lr=0.03)
    data = d2l.SyntheticRegressionData(w=d2l.tensor([2, -3.4]), b=4.2)
    trainer = d2l.Trainer(max_epochs=3)
    probe = _BatchProbe()
    trainer.callbacks.append(probe)  # added: only softmaxreg's own fit_epoch calls batch hooks
    trainer.fit(model, data)

    with torch.no_grad():
        print(f'error in estimating w: {data.w - d2l.reshape(model.w, data.w.shape)}')
        print(f'error in estimating b: {data.b - model.b}')

    assert d2l.Trainer.fit_epoch is fit_epoch and probe.batches == 0  # the book's fit_epoch ran
    assert probe.epochs == 3 and trainer.train_batch_idx == 3 * 32
    # 96 SGD steps of lr 0.03 shrink the initial error (|b| = 4.2) by 0.97^96 ≈ 0.05: the book's
    # errors are about 0.1-0.2
    with torch.no_grad():
        assert float((data.w - model.w.reshape(data.w.shape)).abs().max()) < 0.35
        assert 0.1 < abs(float(data.b - model.b)) < 0.35
    assert "error in estimating w: tensor([" in capsys.readouterr().out
    losses = [h["train_loss"] for h in trainer.history]
    assert len(losses) == 3 and losses[0] > losses[1] > losses[2]
    assert trainer.history[-1]["val_loss"] < 0.05
    assert len(model.board.data["train_loss"]) == 6 and len(model.board.data["val_loss"]) == 3


def test_3_4_d2l_scratch_model_and_sgd_recover_w_and_b():
    torch.manual_seed(1)
    model = d2l.LinearRegressionScratch(2, lr=0.03)
    data = d2l.SyntheticRegressionData(w=d2l.tensor([2, -3.4]), b=4.2)
    trainer = d2l.Trainer(max_epochs=3)
    trainer.fit(model, data)
    assert isinstance(model.configure_optimizers(), d2l.SGD)
    with torch.no_grad():
        assert float((data.w - model.w.reshape(data.w.shape)).abs().max()) < 0.35
        assert 0.1 < abs(float(data.b - model.b)) < 0.35
    # ten more epochs get within the noise (0.01) of the truth
    d2l.Trainer(max_epochs=10).fit(model, data)
    with torch.no_grad():
        assert float((data.w - model.w.reshape(data.w.shape)).abs().max()) < 0.01
        assert abs(float(data.b - model.b)) < 0.01


def test_sgd_refuses_a_bad_learning_rate():
    with pytest.raises(ConfigError, match="`lr` must be a positive number; got -1"):
        d2l.SGD([torch.zeros(1, requires_grad=True)], lr=-1)


# -- §3.5 Concise Implementation of Linear Regression ------------------------------------------------


def test_3_5_concise_linear_regression(capsys):
    torch.manual_seed(0)

    class LinearRegression(d2l.Module):  #@save
        """The linear regression model implemented with high-level APIs."""
        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.LazyLinear(1)
            self.net.weight.data.normal_(0, 0.01)
            self.net.bias.data.fill_(0)

    @d2l.add_to_class(LinearRegression)  #@save
    def forward(self, X):
        return self.net(X)

    @d2l.add_to_class(LinearRegression)  #@save
    def loss(self, y_hat, y):
        fn = nn.MSELoss()
        return fn(y_hat, y)

    @d2l.add_to_class(LinearRegression)  #@save
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), self.lr)

    model = LinearRegression(lr=0.03)
    data = d2l.SyntheticRegressionData(w=d2l.tensor([2, -3.4]), b=4.2)
    trainer = d2l.Trainer(max_epochs=3)
    trainer.fit(model, data)

    @d2l.add_to_class(LinearRegression)  #@save
    def get_w_b(self):
        return (self.net.weight.data, self.net.bias.data)

    w, b = model.get_w_b()

    print(f'error in estimating w: {data.w - d2l.reshape(w, data.w.shape)}')
    print(f'error in estimating b: {data.b - b}')
    # fmt: skip

    # MSELoss has no 1/2, so the steps are twice §3.4's: 0.94^96 ≈ 0.003, the book's errors ~0.01
    assert float((data.w - w.reshape(data.w.shape)).abs().max()) < 0.03
    assert float((data.b - b).abs().max()) < 0.03
    assert "error in estimating b: tensor([" in capsys.readouterr().out


def test_3_5_d2l_linear_regression_and_get_w_b():
    torch.manual_seed(0)
    model = d2l.LinearRegression(lr=0.03)
    data = d2l.SyntheticRegressionData(w=d2l.tensor([2, -3.4]), b=4.2)
    trainer = d2l.Trainer(max_epochs=3)
    trainer.fit(model, data)
    w, b = model.get_w_b()
    assert w.shape == (1, 2) and b.shape == (1,) and not w.requires_grad
    assert float((data.w - w.reshape(data.w.shape)).abs().max()) < 0.03
    assert float((data.b - b).abs().max()) < 0.03
    assert trainer.history[-1]["val_loss"] < 1e-3  # MSE close to the noise variance 1e-4


def test_d2l_linear_regression_starts_as_the_book_intends():
    """N(0, 0.01²) weights and a zero bias, also after the lazy layer learns its input size."""
    torch.manual_seed(0)
    model = d2l.LinearRegression(lr=0.03)
    model(torch.zeros(1, 1000))
    w, b = model.get_w_b()
    assert b.tolist() == [0.0] and 0.008 < float(w.std()) < 0.012


# -- §3.7 Weight Decay: one Trainer for several models, a log-scale board ---------------------------


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")  # the book's float(l2_penalty(w))
def test_3_7_weight_decay_reuses_one_trainer_and_a_log_board(capsys, tmp_path):
    torch.manual_seed(0)

    class Data(d2l.DataModule):
        def __init__(self, num_train, num_val, num_inputs, batch_size):
            self.save_hyperparameters()
            n = num_train + num_val
            self.X = d2l.randn(n, num_inputs)
            noise = d2l.randn(n, 1) * 0.01
            w, b = d2l.ones((num_inputs, 1)) * 0.01, 0.05
            self.y = d2l.matmul(self.X, w) + b + noise

        def get_dataloader(self, train):
            i = slice(0, self.num_train) if train else slice(self.num_train, None)
            return self.get_tensorloader([self.X, self.y], train, i)

    def l2_penalty(w):
        return d2l.reduce_sum(w**2) / 2

    class WeightDecayScratch(d2l.LinearRegressionScratch):
        def __init__(self, num_inputs, lambd, lr, sigma=0.01):
            super().__init__(num_inputs, lr, sigma)
            self.save_hyperparameters()

        def loss(self, y_hat, y):
            return super().loss(y_hat, y) + self.lambd * l2_penalty(self.w)

    data = Data(num_train=20, num_val=100, num_inputs=200, batch_size=5)
    trainer = d2l.Trainer(max_epochs=10)

    def train_scratch(lambd):
        model = WeightDecayScratch(num_inputs=200, lambd=lambd, lr=0.01)
        model.board.yscale='log'
        trainer.fit(model, data)
        print('L2 norm of w:', float(l2_penalty(model.w)))
        return model  # added: the test inspects the model

    no_decay = train_scratch(0)
    no_decay_history = trainer.history  # added: fit starts a new history list
    decay = train_scratch(3)
    decay_history = trainer.history

    class WeightDecay(d2l.LinearRegression):
        def __init__(self, wd, lr):
            super().__init__(lr)
            self.save_hyperparameters()
            self.wd = wd

        def configure_optimizers(self):
            return torch.optim.SGD(self.net.parameters(),
                                   lr=self.lr, weight_decay=self.wd)

    model = WeightDecay(wd=3, lr=0.01)
    model.board.yscale='log'
    trainer.fit(model, data)
    print('L2 norm of w:', float(l2_penalty(model.get_w_b()[0])))
    # fmt: skip

    out = capsys.readouterr().out
    norms = [float(line.split(":")[1]) for line in out.splitlines()]
    assert len(norms) == 3
    # the book prints about 0.011 without decay and 0.0013 with: an order of magnitude less
    assert 0.005 < norms[0] < 0.02
    assert norms[1] < norms[0] / 5 and norms[2] < norms[0] / 5
    # without decay it overfits badly; with it the training loss rises and the validation loss falls
    assert no_decay_history[-1]["val_loss"] > 100 * no_decay_history[-1]["train_loss"]
    assert decay_history[-1]["train_loss"] > no_decay_history[-1]["train_loss"]
    assert decay_history[-1]["val_loss"] < no_decay_history[-1]["val_loss"]
    assert no_decay.trainer is trainer and trainer.model is model
    assert [len(trainer.history)] * 2 == [10, len(decay.board.data["val_loss"])]
    for m in (no_decay, decay, model):
        fig = m.board.figure()
        assert fig.axes[0].get_yscale() == "log" and fig.axes[0].get_xlim() == (0, 10)
    check_png(no_decay.board.save(tmp_path / "wd.png"), min_size=(300, 200))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("make_model", [lambda: d2l.LinearRegressionScratch(2, lr=0.03), lambda: d2l.LinearRegression(lr=0.03)])
def test_linear_regression_models_train_on_the_gpu(make_model):
    torch.manual_seed(0)
    model = make_model()
    data = d2l.SyntheticRegressionData(w=d2l.tensor([2, -3.4]), b=4.2)
    d2l.Trainer(max_epochs=10, num_gpus=1).fit(model, data)
    params = list(model.parameters())
    assert all(p.device.type == "cuda" for p in params)
    w = d2l.numpy(params[0]).reshape(-1)  # a CPU numpy copy, even of a CUDA parameter
    assert np.abs(w - np.array([2, -3.4])).max() < 0.01
    ax = d2l.plot(params[0].reshape(-1))  # plot takes CUDA tensors that require grad
    assert ax.lines[0].get_ydata().shape == (2,)
