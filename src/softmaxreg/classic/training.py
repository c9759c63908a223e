"""The classic book's classification loop (d2l §3.6): `train_ch3` and its parts.

The book's names, arguments and results, with exact metrics: every mean is a sum over all examples
divided by their number (the correct count is an integer sum, the loss a float64 sum), whatever
the batch sizes; a loss that returns the batch's mean (``nn.CrossEntropyLoss()`` without
``reduction='none'``) is counted as that mean times the batch size, where the book would report it
divided by the batch size again. Sums stay tensors until the epoch ends (one conversion per
epoch, not two per batch).

Examples:
    >>> y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]]); y = torch.tensor([0, 2])
    >>> accuracy(y_hat, y) / len(y)
    0.5
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from softmaxreg import functional
from softmaxreg._validate import check_positive_int
from softmaxreg.book.plotting import show_images
from softmaxreg.classic.animator import Animator
from softmaxreg.classic.data import get_fashion_mnist_labels
from softmaxreg.errors import ConfigError, TrainingCheckError

logger = logging.getLogger(__name__)

Step = Callable[[torch.Tensor, int], None]


def _num_correct(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """How many rows are right, as a 0-d int64 tensor: ``y_hat`` holds scores per class, or classes."""
    if y_hat.ndim > 1 and y_hat.shape[1] > 1:
        return functional.accuracy(y_hat, y, averaged=False).sum(dtype=torch.int64)
    return (y_hat.reshape(y.shape).type(y.dtype) == y).sum()


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """The number of correct predictions (not a fraction: divide by ``len(y)``).

    Args:
        y_hat: ``(batch_size, num_outputs)`` scores or probabilities, or ``(batch_size,)`` classes.
        y: ``(batch_size,)`` true classes.
    """
    return float(_num_correct(y_hat, y))


def evaluate_accuracy(net: Callable[[torch.Tensor], torch.Tensor], data_iter: Iterable[Any]) -> float:
    """The accuracy of ``net`` over every example of ``data_iter`` (puts an ``nn.Module`` in eval mode)."""
    if isinstance(net, torch.nn.Module):
        net.eval()
    correct, total = torch.zeros((), dtype=torch.int64), 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += _num_correct(net(X), y)
            total += y.numel()
    return int(correct) / total if total else math.nan


def _stepper(updater: Any) -> Step:
    """``step(l, batch_size)``: backward and update for the book's two kinds of ``updater``."""
    if isinstance(updater, torch.optim.Optimizer) or (hasattr(updater, "step") and hasattr(updater, "zero_grad")):

        def step(losses: torch.Tensor, n: int) -> None:
            updater.zero_grad()
            losses.mean().backward()
            updater.step()

    elif callable(updater):

        def step(losses: torch.Tensor, n: int) -> None:
            # the book's updater divides the gradient by n: it wants the summed loss's gradient
            (losses.sum() if losses.ndim else losses * n).backward()
            updater(n)

    else:
        raise ConfigError(
            "`updater` must be a torch.optim.Optimizer or a function updater(batch_size) that updates "
            f"the parameters; got {type(updater).__name__}."
        )
    return step


def train_epoch_ch3(
    net: Callable[[torch.Tensor], torch.Tensor],
    train_iter: Iterable[Any],
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    updater: Any,
) -> tuple[float, float]:
    """Train ``net`` for one epoch (d2l §3.6).

    Args:
        net: an ``nn.Module`` (put in train mode) or a function of the batch ``X``.
        train_iter: batches ``(X, y)``.
        loss: ``loss(y_hat, y)``: one loss per example (``reduction='none'``), or their mean.
        updater: a ``torch.optim.Optimizer`` (stepped on the mean loss), or the book's
            ``updater(batch_size)``, called after ``backward`` of the summed loss.

    Returns:
        ``(train_loss, train_acc)``: the mean loss and the accuracy over the epoch's examples, each
        measured on the batch before its update, as the book does.
    """
    step = _stepper(updater)
    if isinstance(net, torch.nn.Module):
        net.train()
    loss_sum = torch.zeros((), dtype=torch.float64)
    correct, total = torch.zeros((), dtype=torch.int64), 0
    for X, y in train_iter:
        y_hat = net(X)
        losses = loss(y_hat, y)  # the book's `l`
        n = y.numel()
        step(losses, n)
        with torch.no_grad():
            loss_sum += losses.sum() if losses.ndim else losses * n
            correct += _num_correct(y_hat, y)
        total += n
    if not total:
        raise ConfigError("`train_iter` must yield at least one batch (X, y); it yielded none.")
    return float(loss_sum) / total, int(correct) / total


def _check_final(train_loss: float, train_acc: float, test_acc: float, num_epochs: int) -> None:
    """The book's asserts after training, as errors that say what happened and what to try."""
    after = f"after {num_epochs} epoch{'s' if num_epochs != 1 else ''}"
    if not train_loss < 0.5:
        if not math.isfinite(train_loss):
            raise TrainingCheckError(
                f"Expected a final train loss below 0.5 (train_ch3's check); got {train_loss} {after}: "
                "training diverged. Lower the learning rate and train again."
            )
        raise TrainingCheckError(
            f"Expected a final train loss below 0.5 (train_ch3's check); got {train_loss:.4f} {after}. "
            "Train for more epochs or with a larger learning rate (the book: lr 0.1, 10 epochs), "
            "or check that `loss` is the cross-entropy of the net's outputs."
        )
    for name, value in (("train accuracy", train_acc), ("test accuracy", test_acc)):
        if not 0.7 < value <= 1:
            raise TrainingCheckError(
                f"Expected a final {name} in (0.7, 1] (train_ch3's check); got {value:.4f} {after}. "
                "Train for more epochs, or check that the net's outputs are one score per class."
            )


def train_ch3(
    net: Callable[[torch.Tensor], torch.Tensor],
    train_iter: Iterable[Any],
    test_iter: Iterable[Any],
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    num_epochs: int,
    updater: Any,
) -> None:
    """Train ``net`` for ``num_epochs``, plotting train loss, train and test accuracy per epoch (d2l §3.6).

    In Jupyter the plot is live (one figure, redrawn in place a few times a second at most); in a
    script nothing is drawn. Each epoch's numbers are logged at INFO level on the
    ``softmaxreg.classic.training`` logger.

    Args:
        net: an ``nn.Module`` or a function of the batch ``X``.
        train_iter: training batches ``(X, y)``.
        test_iter: test batches, for the test accuracy after each epoch.
        loss: ``loss(y_hat, y)``, per example (``reduction='none'``) or their mean.
        num_epochs: passes over ``train_iter``.
        updater: a ``torch.optim.Optimizer``, or the book's ``updater(batch_size)`` function.

    Raises:
        TrainingCheckError: the book's checks failed at the end: train loss below 0.5, train and
            test accuracy in (0.7, 1].
        ConfigError: a bad ``num_epochs`` or ``updater``.
    """
    check_positive_int("num_epochs", num_epochs)
    _stepper(updater)  # a bad updater fails now, not after an epoch of forward passes
    animator = Animator(xlabel="epoch", xlim=[1, num_epochs], ylim=[0.3, 0.9],
                        legend=["train loss", "train acc", "test acc"])  # fmt: skip
    for epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        animator.add(epoch + 1, train_metrics + (test_acc,))
        logger.info("epoch %d: train loss %.4f, train acc %.4f, test acc %.4f", epoch + 1, *train_metrics, test_acc)
    train_loss, train_acc = train_metrics
    _check_final(train_loss, train_acc, test_acc, num_epochs)


def predict_ch3(
    net: Callable[[torch.Tensor], torch.Tensor], test_iter: Iterable[Any], n: int = 6, lang: str = "en"
) -> None:
    """Show the first ``n`` images of ``test_iter``'s first batch, titled with the true and predicted class.

    Args:
        net: the trained model.
        test_iter: batches ``(X, y)`` of Fashion-MNIST images.
        n: how many images.
        lang: language of the class names, ``'en'`` or ``'vi'``.
    """
    check_positive_int("n", n)
    X, y = next(iter(test_iter))
    with torch.no_grad():
        preds = net(X).argmax(dim=1)
    trues, guesses = get_fashion_mnist_labels(y, lang), get_fashion_mnist_labels(preds, lang)
    titles = [true + "\n" + guess for true, guess in zip(trues, guesses, strict=True)]
    n = min(n, len(X))
    show_images(X[0:n].reshape((n, *X.shape[-2:])), 1, n, titles=titles[0:n])
