"""The classic d2l API: d2l-zh 2.0's (d2l 0.17's) chapter 3 "线性神经网络", PyTorch cells, on softmaxreg.

Each book test transcribes a section's cells as d2l-zh prints them, the only change being
``import softmaxreg as d2l`` for ``from d2l import torch as d2l`` and no ``%matplotlib inline``.
§3.5's torchvision cells cannot run (softmaxreg does not depend on torchvision); its saved
function ``load_data_fashion_mnist`` and what the book then does with the data can. Then each test
checks the results the book shows, within training noise. The book's §3.6 cells define their own
``accuracy``, ``evaluate_accuracy``, ``train_ch3`` ...; they run as written, and d2l's versions
are checked against them.
"""

import logging
import math
import random
import re
import warnings

import pytest
import torch
from IPython import display
from torch import nn
from torch.utils import data

import softmaxreg as d2l
from softmaxreg.book import _display
from softmaxreg.errors import ConfigError, TrainingCheckError

from conftest import check_png


@pytest.fixture(autouse=True)
def close_figures():
    yield
    d2l.plt.close("all")
    _display.set_format("png")  # undo d2l.use_svg_display()


def _epochs(caplog):
    """The per-epoch numbers train_ch3 logged: [(train_loss, train_acc, test_acc), ...]."""
    pattern = r"epoch \d+: train loss ([\d.]+), train acc ([\d.]+), test acc ([\d.]+)"
    return [tuple(map(float, re.match(pattern, r.getMessage()).groups()))
            for r in caplog.records if r.name == "softmaxreg.classic.training"]  # fmt: skip


# -- §3.1 线性回归 ----------------------------------------------------------------------------------


def test_3_1_timer_and_vectorization():
    n = 10000
    a = torch.ones([n])
    b = torch.ones([n])

    c = torch.zeros(n)
    timer = d2l.Timer()
    for i in range(n):
        c[i] = a[i] + b[i]
    loop = f'{timer.stop():.5f} sec'

    timer.start()
    d = a + b
    vectorized = f'{timer.stop():.5f} sec'
    # fmt: skip

    assert torch.equal(c, d) and len(timer.times) == 2
    assert float(loop.split()[0]) > float(vectorized.split()[0])
    assert timer.sum() == pytest.approx(sum(timer.times)) and timer.avg() == pytest.approx(timer.sum() / 2)
    assert timer.cumsum() == pytest.approx([timer.times[0], timer.sum()])


# -- §3.2 线性回归的从零开始实现 ----------------------------------------------------------------------


def test_3_2_linear_regression_from_scratch(tmp_path):
    torch.manual_seed(0)
    random.seed(0)
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = d2l.synthetic_data(true_w, true_b, 1000)

    print('features:', features[0],'\nlabel:', labels[0])

    d2l.set_figsize()
    d2l.plt.scatter(features[:, (1)].detach().numpy(), labels.detach().numpy(), 1);

    def data_iter(batch_size, features, labels):
        num_examples = len(features)
        indices = list(range(num_examples))
        # 这些样本是随机读取的，没有特定的顺序
        random.shuffle(indices)
        for i in range(0, num_examples, batch_size):
            batch_indices = torch.tensor(
                indices[i: min(i + batch_size, num_examples)])
            yield features[batch_indices], labels[batch_indices]

    batch_size = 10

    for X, y in data_iter(batch_size, features, labels):
        print(X, '\n', y)
        break

    w = torch.normal(0, 0.01, size=(2,1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)

    lr = 0.03
    num_epochs = 3
    net = d2l.linreg
    loss = d2l.squared_loss

    for epoch in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            l = loss(net(X, w, b), y)  # X和y的小批量损失
            # 因为l形状是(batch_size,1)，而不是一个标量。l中的所有元素被加到一起，
            # 并以此计算关于[w,b]的梯度
            l.sum().backward()
            d2l.sgd([w, b], lr, batch_size)  # 使用参数的梯度更新参数
        with torch.no_grad():
            train_l = loss(net(features, w, b), labels)
            print(f'epoch {epoch + 1}, loss {float(train_l.mean()):f}')

    print(f'w的估计误差: {true_w - w.reshape(true_w.shape)}')
    print(f'b的估计误差: {true_b - b}')
    # fmt: skip

    assert features.shape == (1000, 2) and labels.shape == (1000, 1)
    assert float(train_l.mean()) < 1e-4  # the book prints 0.000050 or so after 3 epochs
    assert torch.allclose(w.detach().reshape(2), true_w, atol=0.01) and abs(float(b.detach()) - true_b) < 0.01
    assert w.grad.abs().max() == 0 and b.grad.abs().max() == 0  # sgd zeroed them
    check_png(d2l.plt.gcf(), tmp_path / "scatter.png")


def test_3_2_sgd_without_a_gradient_says_what_to_do():
    w = torch.ones(2, requires_grad=True)
    with pytest.raises(ConfigError, match=r"parameter 0 \(shape \(2,\)\) has none\. .*l\.sum\(\)\.backward\(\)"):
        d2l.sgd([w], 0.1, 10)


# -- §3.3 线性回归的简洁实现 --------------------------------------------------------------------------


def test_3_3_concise_linear_regression():
    torch.manual_seed(0)
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = d2l.synthetic_data(true_w, true_b, 1000)

    def load_array(data_arrays, batch_size, is_train=True):  #@save
        """构造一个PyTorch数据迭代器"""
        dataset = data.TensorDataset(*data_arrays)
        return data.DataLoader(dataset, batch_size, shuffle=is_train)

    batch_size = 10
    data_iter = d2l.load_array((features, labels), batch_size)

    next(iter(data_iter))

    net = nn.Sequential(nn.Linear(2, 1))

    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.fill_(0)

    loss = nn.MSELoss()

    trainer = torch.optim.SGD(net.parameters(), lr=0.03)

    num_epochs = 3
    for epoch in range(num_epochs):
        for X, y in data_iter:
            l = loss(net(X) ,y)
            trainer.zero_grad()
            l.backward()
            trainer.step()
        l = loss(net(features), labels)
        print(f'epoch {epoch + 1}, loss {l:f}')

    w = net[0].weight.data
    print('w的估计误差：', true_w - w.reshape(true_w.shape))
    b = net[0].bias.data
    print('b的估计误差：', true_b - b)
    # fmt: skip

    assert float(l.detach()) < 1e-3
    assert torch.allclose(w.reshape(2), true_w, atol=0.01) and abs(float(b) - true_b) < 0.01
    # d2l's loader is the book's: the same batches from the same tensors
    book_iter = load_array((features, labels), batch_size, is_train=False)
    ours = d2l.load_array((features, labels), batch_size, is_train=False)
    assert len(ours) == len(book_iter) == 100
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(ours, book_iter))
    assert len(ours.dataset) == 1000 and torch.equal(ours.dataset[3][0], features[3])
    # shuffled: every example once per epoch
    assert sorted(torch.cat([y for _, y in data_iter]).flatten().tolist()) == sorted(labels.flatten().tolist())


# -- §3.5 图像分类数据集 ------------------------------------------------------------------------------


@pytest.mark.real_data
def test_3_5_the_image_classification_dataset(book_data_dir, tmp_path):
    d2l.use_svg_display()

    train_iter, test_iter = d2l.load_data_fashion_mnist(32, resize=64)
    for X, y in train_iter:
        print(X.shape, X.dtype, y.shape, y.dtype)
        break
    # fmt: skip

    assert (X.shape, X.dtype, y.shape, y.dtype) == ((32, 1, 64, 64), torch.float32, (32,), torch.int64)
    assert 0 <= float(X.min()) and float(X.max()) <= 1 and float(X.max()) > 0.9
    assert len(train_iter) == 60000 // 32 and len(test_iter) == math.ceil(10000 / 32)
    assert train_iter.dataset[0][0].shape == (1, 64, 64)

    # the book's cells on the datasets torchvision would have given (mnist_train, mnist_test)
    train_iter, test_iter = d2l.load_data_fashion_mnist(256)
    mnist_train, mnist_test = train_iter.dataset, test_iter.dataset

    len(mnist_train), len(mnist_test)

    mnist_train[0][0].shape

    X, y = next(iter(data.DataLoader(mnist_train, batch_size=18)))
    d2l.show_images(X.reshape(18, 28, 28), 2, 9, titles=d2l.get_fashion_mnist_labels(y));

    batch_size = 256

    train_iter = data.DataLoader(mnist_train, batch_size, shuffle=True,
                                 num_workers=d2l.get_dataloader_workers())

    timer = d2l.Timer()
    for X, y in train_iter:
        continue
    f'{timer.stop():.2f} sec'
    # fmt: skip

    assert (len(mnist_train), len(mnist_test)) == (60000, 10000)
    assert mnist_train[0][0].shape == (1, 28, 28) and mnist_train[0][1] == 9  # an ankle boot
    titles = [ax.get_title() for ax in d2l.plt.gcf().axes]
    assert titles == d2l.get_fashion_mnist_labels(mnist_train.labels[:18])
    assert titles[0] == "ankle boot" and d2l.get_fashion_mnist_labels(y[:1], lang="vi") != []
    check_png(d2l.plt.gcf(), tmp_path / "images.png", min_size=(600, 140))
    assert 1 <= d2l.get_dataloader_workers() <= 4
    assert len(train_iter) == 235 and (X.shape, y.shape) == ((96, 1, 28, 28), (96,))


@pytest.mark.real_data
def test_3_5_a_dataloader_with_workers_reads_every_example_once(book_data_dir):
    _, test_iter = d2l.load_data_fashion_mnist(256)
    loader = data.DataLoader(test_iter.dataset, 500, shuffle=True, num_workers=2)
    batches = list(loader)
    X, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    assert X.dtype == torch.float32 and y.dtype == torch.int64 and len(y) == 10000
    assert torch.bincount(y).tolist() == [1000] * 10
    # the same images as softmaxreg's own batches, in some order: compare their sums per class
    ours = torch.cat([b[0] for b in test_iter]), torch.cat([b[1] for b in test_iter])
    for k in range(10):
        assert float(X[y == k].sum()) == pytest.approx(float(ours[0][ours[1] == k].sum()), rel=1e-6)


# -- §3.6 softmax回归的从零开始实现 ------------------------------------------------------------------


@pytest.mark.real_data
@pytest.mark.slow
# the book's own train_epoch_ch3 calls float(l.sum()) on a tensor that requires grad: torch warns
# (d2l's train_epoch_ch3 does not, see the next test)
@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True:UserWarning")
def test_3_6_softmax_regression_from_scratch(book_data_dir, one_thread, tmp_path):
    torch.manual_seed(0)

    batch_size = 256
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)

    num_inputs = 784
    num_outputs = 10

    W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
    b = torch.zeros(num_outputs, requires_grad=True)

    X = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    X.sum(0, keepdim=True), X.sum(1, keepdim=True)

    def softmax(X):
        X_exp = torch.exp(X)
        partition = X_exp.sum(1, keepdim=True)
        return X_exp / partition  # 这里应用了广播机制

    X = torch.normal(0, 1, (2, 5))
    X_prob = softmax(X)
    X_prob, X_prob.sum(1)

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    y = torch.tensor([0, 2])
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    y_hat[[0, 1], y]

    def cross_entropy(y_hat, y):
        return - torch.log(y_hat[range(len(y_hat)), y])

    cross_entropy(y_hat, y)

    def accuracy(y_hat, y):  #@save
        """计算预测正确的数量"""
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    small_accuracy = accuracy(y_hat, y) / len(y)

    def evaluate_accuracy(net, data_iter):  #@save
        """计算在指定数据集上模型的精度"""
        if isinstance(net, torch.nn.Module):
            net.eval()  # 将模型设置为评估模式
        metric = Accumulator(2)  # 正确预测数、预测总数
        with torch.no_grad():
            for X, y in data_iter:
                metric.add(accuracy(net(X), y), y.numel())
        return metric[0] / metric[1]

    class Accumulator:  #@save
        """在n个变量上累加"""
        def __init__(self, n):
            self.data = [0.0] * n

        def add(self, *args):
            self.data = [a + float(b) for a, b in zip(self.data, args)]

        def reset(self):
            self.data = [0.0] * len(self.data)

        def __getitem__(self, idx):
            return self.data[idx]

    initial_accuracy = evaluate_accuracy(net, test_iter)

    def train_epoch_ch3(net, train_iter, loss, updater):  #@save
        """训练模型一个迭代周期（定义见第3章）"""
        # 将模型设置为训练模式
        if isinstance(net, torch.nn.Module):
            net.train()
        # 训练损失总和、训练准确度总和、样本数
        metric = Accumulator(3)
        for X, y in train_iter:
            # 计算梯度并更新参数
            y_hat = net(X)
            l = loss(y_hat, y)
            if isinstance(updater, torch.optim.Optimizer):
                # 使用PyTorch内置的优化器和损失函数
                updater.zero_grad()
                l.mean().backward()
                updater.step()
            else:
                # 使用定制的优化器和损失函数
                l.sum().backward()
                updater(X.shape[0])
            metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
        # 返回训练损失和训练精度
        return metric[0] / metric[2], metric[1] / metric[2]

    class Animator:  #@save
        """在动画中绘制数据"""
        def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None,
                     ylim=None, xscale='linear', yscale='linear',
                     fmts=('-', 'm--', 'g-.', 'r:'), nrows=1, ncols=1,
                     figsize=(3.5, 2.5)):
            # 增量地绘制多条线
            if legend is None:
                legend = []
            d2l.use_svg_display()
            self.fig, self.axes = d2l.plt.subplots(nrows, ncols, figsize=figsize)
            if nrows * ncols == 1:
                self.axes = [self.axes, ]
            # 使用lambda函数捕获参数
            self.config_axes = lambda: d2l.set_axes(
                self.axes[0], xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
            self.X, self.Y, self.fmts = None, None, fmts

        def add(self, x, y):
            # 向图表中添加多个数据点
            if not hasattr(y, "__len__"):
                y = [y]
            n = len(y)
            if not hasattr(x, "__len__"):
                x = [x] * n
            if not self.X:
                self.X = [[] for _ in range(n)]
            if not self.Y:
                self.Y = [[] for _ in range(n)]
            for i, (a, b) in enumerate(zip(x, y)):
                if a is not None and b is not None:
                    self.X[i].append(a)
                    self.Y[i].append(b)
            self.axes[0].cla()
            for x, y, fmt in zip(self.X, self.Y, self.fmts):
                self.axes[0].plot(x, y, fmt)
            self.config_axes()
            display.display(self.fig)
            display.clear_output(wait=True)

    def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):  #@save
        """训练模型（定义见第3章）"""
        animator = Animator(xlabel='epoch', xlim=[1, num_epochs], ylim=[0.3, 0.9],
                            legend=['train loss', 'train acc', 'test acc'])
        for epoch in range(num_epochs):
            train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
            test_acc = evaluate_accuracy(net, test_iter)
            animator.add(epoch + 1, train_metrics + (test_acc,))
        train_loss, train_acc = train_metrics
        assert train_loss < 0.5, train_loss
        assert train_acc <= 1 and train_acc > 0.7, train_acc
        assert test_acc <= 1 and test_acc > 0.7, test_acc
        return animator  # not in the book: for the checks below

    lr = 0.1

    def updater(batch_size):
        return d2l.sgd([W, b], lr, batch_size)

    num_epochs = 10
    animator = train_ch3(net, train_iter, test_iter, cross_entropy, num_epochs, updater)

    def predict_ch3(net, test_iter, n=6):  #@save
        """预测标签（定义见第3章）"""
        for X, y in test_iter:
            break
        trues = d2l.get_fashion_mnist_labels(y)
        preds = d2l.get_fashion_mnist_labels(net(X).argmax(axis=1))
        titles = [true +'\n' + pred for true, pred in zip(trues, preds)]
        d2l.show_images(
            X[0:n].reshape((n, 28, 28)), 1, n, titles=titles[0:n])

    predict_ch3(net, test_iter)
    # fmt: skip

    assert small_accuracy == 0.5 and 0.02 < initial_accuracy < 0.25
    train_loss, train_acc, test_acc = (line[-1] for line in animator.Y)
    # the book's figure ends near train loss 0.45, train acc 0.85, test acc 0.83
    assert 0.42 < train_loss < 0.48 and 0.83 < train_acc < 0.86 and 0.80 <= test_acc <= 0.85
    check_png(animator.fig, tmp_path / "book-animator.png", min_size=(200, 150))
    titles = [ax.get_title() for ax in d2l.plt.gcf().axes]
    assert len(titles) == 6 and all("\n" in t for t in titles)

    # d2l's versions of the book's functions give the book's numbers (the book's are exact here)
    assert d2l.evaluate_accuracy(net, test_iter) == test_acc
    X, y = next(iter(test_iter))
    assert d2l.accuracy(net(X), y) == accuracy(net(X), y)
    d2l.predict_ch3(net, test_iter)
    assert [ax.get_title() for ax in d2l.plt.gcf().axes] == titles


@pytest.mark.real_data
def test_3_6_d2l_train_epoch_ch3_is_the_books_loop(book_data_dir, one_thread):
    """From the same start and batches, d2l's loop ends at the book's parameters and numbers."""
    train_iter, test_iter = d2l.load_data_fashion_mnist(256)

    def run(train_epoch):
        torch.manual_seed(0)
        W = torch.normal(0, 0.01, size=(784, 10), requires_grad=True)
        b = torch.zeros(10, requires_grad=True)

        def net(X):
            return torch.softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b, dim=1)

        def cross_entropy(y_hat, y):
            return -torch.log(y_hat[range(len(y_hat)), y])

        metrics = train_epoch(net, train_iter, cross_entropy, lambda n: d2l.sgd([W, b], 0.1, n))
        return metrics, W.detach(), d2l.evaluate_accuracy(net, test_iter)

    def books_train_epoch_ch3(net, train_iter, loss, updater):
        metric = d2l.Accumulator(3)
        for X, y in train_iter:
            y_hat = net(X)
            l = loss(y_hat, y)
            l.sum().backward()
            updater(X.shape[0])
            metric.add(float(l.sum()), d2l.accuracy(y_hat, y), y.numel())
        return metric[0] / metric[2], metric[1] / metric[2]

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Converting a tensor with requires_grad=True")
        (book_loss, book_acc), book_W, book_test = run(books_train_epoch_ch3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning from d2l's loop
        (loss, acc), W, test = run(d2l.train_epoch_ch3)
    assert torch.equal(W, book_W) and test == book_test
    assert loss == pytest.approx(book_loss, rel=1e-6) and acc == book_acc
    assert 0.6 < loss < 1.0 and 0.7 < acc < 0.8


# -- §3.7 softmax回归的简洁实现 ----------------------------------------------------------------------


@pytest.mark.real_data
@pytest.mark.slow
def test_3_7_concise_softmax_regression(book_data_dir, one_thread, caplog):
    caplog.set_level(logging.INFO, logger="softmaxreg.classic")
    torch.manual_seed(0)

    batch_size = 256
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)

    # PyTorch不会隐式地调整输入的形状。因此，
    # 我们在线性层前定义了展平层（flatten），来调整网络输入的形状
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))

    def init_weights(m):
        if type(m) == nn.Linear:
            nn.init.normal_(m.weight, std=0.01)

    net.apply(init_weights);

    loss = nn.CrossEntropyLoss(reduction='none')

    trainer = torch.optim.SGD(net.parameters(), lr=0.1)

    num_epochs = 10
    d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)
    # fmt: skip

    epochs = _epochs(caplog)
    assert len(epochs) == 10
    train_loss, train_acc, test_acc = epochs[-1]
    # the book's figure ends near train loss 0.45, train acc 0.85, test acc 0.83
    assert 0.42 < train_loss < 0.48 and 0.83 < train_acc < 0.86 and 0.80 <= test_acc <= 0.85
    assert all(later[0] < earlier[0] for earlier, later in zip(epochs, epochs[1:]))  # the loss keeps falling
    assert round(d2l.evaluate_accuracy(net, test_iter), 4) == test_acc
    assert not net.training  # evaluate_accuracy left it in eval mode, as the book's does

    d2l.predict_ch3(net, test_iter)
    titles = [ax.get_title() for ax in d2l.plt.gcf().axes]
    X, y = next(iter(test_iter))
    assert [t.split("\n")[0] for t in titles] == d2l.get_fashion_mnist_labels(y[:6])


# -- what the classic names promise beyond the book ----------------------------------------------------


def _tiny_loaders(fake_fashion, batch_size=64):
    return d2l.load_data_fashion_mnist(batch_size, root=fake_fashion)


def test_the_classic_and_the_1_0_names_live_side_by_side():
    w = torch.ones(2, requires_grad=True)
    (w * torch.tensor([1.0, 2.0])).sum().backward()
    optim = d2l.SGD([w], lr=0.5)  # d2l 1.0's class
    optim.step()
    assert w.tolist() == [0.5, 0.0] and w.grad.tolist() == [1.0, 2.0]
    d2l.sgd([w], lr=0.5, batch_size=2)  # the classic function: divides by the batch, zeroes the grads
    assert w.tolist() == [0.25, -0.5] and w.grad.tolist() == [0.0, 0.0]
    y_hat, y = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), torch.tensor([0, 0, 0])
    assert d2l.accuracy(y_hat, y) == 2.0  # the classic count
    assert float(d2l.SoftmaxRegression(2, lr=0.1).accuracy(y_hat, y)) == pytest.approx(2 / 3)  # the 1.0 mean
    assert d2l.accuracy(torch.tensor([1, 0, 0]), y) == 2.0  # predicted classes work too


def test_the_tensor_aliases_take_both_books_keywords():
    X = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    expected = torch.tensor([[5.0, 7.0, 9.0]])
    for result in (d2l.reduce_sum(X, 0, keepdim=True), d2l.reduce_sum(X, 0, keepdims=True),
                   d2l.reduce_sum(X, axis=0, keepdims=True), d2l.reduce_sum(X, dim=0, keepdim=True)):  # fmt: skip
        assert torch.equal(result, expected)
    assert torch.equal(d2l.reduce_mean(X, 1, keepdim=True), torch.tensor([[2.0], [5.0]]))
    assert d2l.reduce_sum(X).item() == 21.0 and d2l.size(X) == 6 and d2l.size(torch.zeros(3, 0)) == 0
    assert d2l.argmax(X, axis=1).tolist() == [2, 2] and d2l.argmax(X, dim=0).tolist() == [1, 1, 1]
    assert d2l.argmax(X).item() == 5
    assert d2l.astype(torch.tensor([1, 2]), d2l.float32).dtype == torch.float32
    assert torch.equal(d2l.transpose(X), X.T) and d2l.concat((X, X)).shape == (4, 3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'keep'"):
        d2l.reduce_sum(X, 0, keep=True)


def test_train_epoch_counts_a_mean_loss_as_the_mean_times_the_batch(fake_fashion):
    """nn.CrossEntropyLoss() (a mean per batch) and reduction='none' report the same exact train loss,
    also when the last batch is short (96 = 64 + 32); the book's would report the first 64 times smaller."""
    train_iter, _ = _tiny_loaders(fake_fashion)
    results = []
    for reduction in ("none", "mean"):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
        trainer = torch.optim.SGD(net.parameters(), lr=0.1)
        results.append(d2l.train_epoch_ch3(net, train_iter, nn.CrossEntropyLoss(reduction=reduction), trainer))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6) and results[0][1] == results[1][1]
    assert 1.0 < results[0][0] < 3.0


def test_a_mean_loss_with_the_books_updater_gives_the_summed_gradient(fake_fashion):
    """The book's updater divides by the batch size: it must get the gradient of the summed loss."""
    train_iter, _ = _tiny_loaders(fake_fashion, batch_size=96)
    grads = []
    for reduction in ("none", "mean"):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
        params = list(net.parameters())
        seen = []
        d2l.train_epoch_ch3(net, train_iter, nn.CrossEntropyLoss(reduction=reduction),
                            lambda n: seen.append(params[0].grad.clone()))  # fmt: skip
        grads.append(seen[0])
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


def test_evaluate_accuracy_counts_every_example_once():
    X = torch.arange(10.0).reshape(10, 1)
    y = torch.tensor([0, 1] * 5)
    loader = d2l.load_array((X, y), batch_size=4, is_train=False)  # batches of 4, 4, 2

    def net(X):  # right on the first 7 examples only
        pred = (X[:, 0].long() % 2)
        return torch.where(X[:, 0] < 7, pred, 1 - pred)

    assert d2l.evaluate_accuracy(net, loader) == 0.7  # a mean of the batch means would say 0.58


def test_train_ch3_refuses_an_updater_it_cannot_use_before_training(fake_fashion):
    train_iter, test_iter = _tiny_loaders(fake_fashion)
    calls = []

    def net(X):
        calls.append(X)
        return X.reshape(len(X), -1)[:, :10]

    with pytest.raises(ConfigError, match=r"`updater` must be a torch.optim.Optimizer or a function updater\(batch_size\).*got float"):
        d2l.train_ch3(net, train_iter, test_iter, nn.CrossEntropyLoss(reduction="none"), 3, 0.1)
    with pytest.raises(ConfigError, match=r"`num_epochs` must be a positive integer"):
        d2l.train_ch3(net, train_iter, test_iter, nn.CrossEntropyLoss(reduction="none"), 0, lambda n: None)
    assert calls == []


def test_train_ch3_fails_the_books_checks_with_a_clear_error(fake_fashion):
    train_iter, test_iter = _tiny_loaders(fake_fashion)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    loss = nn.CrossEntropyLoss(reduction="none")
    # an updater that never updates: the loss stays near log(10)
    with pytest.raises(TrainingCheckError, match=r"Expected a final train loss below 0\.5 \(train_ch3's check\); got \d+\.\d{4} after 2 epochs\. Train for more epochs"):
        d2l.train_ch3(net, train_iter, test_iter, loss, 2, lambda n: None)
    # a loss that says 0 while the accuracy stays at chance
    with pytest.raises(AssertionError, match=r"Expected a final train accuracy in \(0\.7, 1\]"):
        d2l.train_ch3(net, train_iter, test_iter, lambda y_hat, y: 0 * y_hat.sum(1), 1, lambda n: None)
    nan_net = lambda X: torch.full((len(X), 10), float("nan"), requires_grad=True)  # noqa: E731
    with pytest.raises(TrainingCheckError, match=r"got nan after 1 epoch: training diverged\. Lower the learning rate"):
        d2l.train_ch3(nan_net, train_iter, test_iter, loss, 1, lambda n: None)


def test_train_ch3_learns_the_synthetic_bands_and_passes_the_checks(fake_fashion, caplog):
    caplog.set_level(logging.INFO, logger="softmaxreg.classic")
    train_iter, test_iter = _tiny_loaders(fake_fashion, batch_size=16)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    d2l.train_ch3(net, train_iter, test_iter, nn.CrossEntropyLoss(), 5, torch.optim.SGD(net.parameters(), lr=0.1))
    epochs = _epochs(caplog)
    assert len(epochs) == 5 and epochs[-1][1] == 1.0 and epochs[-1][2] == 1.0


def test_animator_in_a_script_draws_nothing_until_saved(tmp_path, capsys):
    animator = d2l.Animator(xlabel="epoch", xlim=[1, 3], ylim=[0, 1], legend=["train loss", "test acc"])
    for epoch in range(3):
        animator.add(epoch + 1, (torch.tensor(0.8 - 0.1 * epoch), 0.5 + 0.1 * epoch))
    assert animator.X == [[1, 2, 3], [1, 2, 3]] and animator.Y[0] == pytest.approx([0.8, 0.7, 0.6])
    assert capsys.readouterr().out == "" and not d2l.plt.get_fignums()  # no pyplot figure, no output
    animator.save(tmp_path / "animator.png")
    check_png(tmp_path / "animator.png", min_size=(200, 150))
    ax = animator.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train loss", "test acc"]
    assert ax.get_xlabel() == "epoch" and ax.get_xlim() == (1, 3)


def test_the_1_0_sgd_class_works_as_an_updater_like_torch_optim_sgd(fake_fashion):
    train_iter, _ = _tiny_loaders(fake_fashion)
    results = []
    for make in (lambda p: torch.optim.SGD(p, lr=0.1), lambda p: d2l.SGD(p, lr=0.1)):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
        updater = make(net.parameters())
        results.append((d2l.train_epoch_ch3(net, train_iter, nn.CrossEntropyLoss(reduction="none"), updater),
                        net[1].weight.detach().clone()))  # fmt: skip
    (metrics, weight), (metrics_1_0, weight_1_0) = results
    assert metrics == pytest.approx(metrics_1_0) and torch.allclose(weight, weight_1_0, atol=1e-6)
