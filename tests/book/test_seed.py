"""The founding document's code, run with only its import line changed, on real Fashion-MNIST."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import softmaxreg as d2l
from softmaxreg.book.data import TensorLoader
from softmaxreg.datasets.fashion_mnist import to_float_batch

pytestmark = pytest.mark.real_data


def _run_seed_snippet(seed, capsys):
    """The founding document's cells, verbatim but for the import line; returns (model, data, trainer)."""
    torch.manual_seed(seed)

    class SoftmaxRegression(d2l.Classifier):
        def __init__(self, num_outputs, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))

        def forward(self, X):
            return self.net(X)

    @d2l.add_to_class(d2l.Classifier)
    def loss(self, Y_hat, Y, averaged=True):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        Y = Y.reshape((-1,))
        return F.cross_entropy(Y_hat, Y, reduction="mean" if averaged else "none")

    data = d2l.FashionMNIST(batch_size=256)  # found without arguments, as in the book
    X, y = next(iter(data.train_dataloader()))
    print(X.shape, y.shape)
    assert capsys.readouterr().out == "torch.Size([256, 1, 28, 28]) torch.Size([256])\n"
    model = SoftmaxRegression(num_outputs=10, lr=0.1)
    trainer = d2l.Trainer(max_epochs=10)
    trainer.fit(model, data)
    return model, data, trainer


def test_seed_snippet_reaches_the_book_accuracy(fashion, capsys):
    """SGD at lr 0.1 ends each run at a noisy point: over 20 seeds the 10th-epoch accuracy spans
    0.811-0.836 (mean 0.829; d2l's reference run: 0.8285). So the claim is checked on the mean of three
    seeded runs, and each run must still be a sane classifier."""
    accuracies = []
    for seed in (0, 1, 2):
        model, data, trainer = _run_seed_snippet(seed, capsys)
        with torch.no_grad():  # an independent count over the 10,000 official test images
            logits = model(data.val.images.float() / 255)
        accuracy = (logits.argmax(1) == data.val.labels).sum().item() / len(data.val)
        assert trainer.history[-1]["val_acc"] == accuracy  # the Trainer's epoch metric is exact
        assert len(trainer.history) == 10
        assert trainer.history[-1]["train_loss"] < 0.6 * trainer.history[0]["train_loss"]
        accuracies.append(accuracy)
    assert min(accuracies) >= 0.80, accuracies
    assert sum(accuracies) / 3 >= 0.82, accuracies


def test_epoch_metrics_do_not_change_with_batch_size(fashion):
    torch.manual_seed(1)
    model = d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
    model(torch.zeros(1, 1, 28, 28))
    with torch.no_grad():
        model.net[1].weight.normal_(0, 0.05)
    results = []
    for batch_size in (256, 7, 10_000):
        loader = TensorLoader((fashion.val.images, fashion.val.labels), batch_size, transform=to_float_batch)
        results.append(d2l.Trainer(max_epochs=0).validate(model, dataloader=loader))
    accs = {r["val_acc"] for r in results}
    assert len(accs) == 1, results  # exact: a count of correct predictions over 10,000 images
    losses = [r["val_loss"] for r in results]
    assert max(losses) - min(losses) <= 1e-6 * losses[0]
