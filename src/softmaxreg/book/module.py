"""`Module` and `Classifier`: what to compute. The Trainer decides when and how.

These follow d2l's API (the book subclasses them and replaces their methods with `add_to_class`).
`Module.plot` does not draw: it hands the value to the Trainer, which keeps exact, batch-size
weighted epoch metrics and feeds the model's `board`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from softmaxreg import functional
from softmaxreg.book.board import ProgressBoard
from softmaxreg.book.hyperparameters import HyperParameters


class Module(nn.Module, HyperParameters):
    """Base class of d2l models: an ``nn.Module`` with hyperparameters and a progress board.

    Args:
        plot_train_per_epoch: training-loss points drawn per epoch.
        plot_valid_per_epoch: validation points drawn per epoch.
    """

    # set by subclasses, as the book's models do (nn.Module's __getattr__ would type them as Tensor | Module)
    net: Any
    lr: float
    plot_train_per_epoch: int
    plot_valid_per_epoch: int

    def __init__(self, plot_train_per_epoch: int = 2, plot_valid_per_epoch: int = 1) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The objective; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must define loss(y_hat, y).")

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Apply ``self.net`` (subclasses set it, or override ``forward``)."""
        if not hasattr(self, "net"):
            raise NotImplementedError(f"{type(self).__name__} must set self.net or define forward().")
        y_hat: torch.Tensor = self.net(X)
        return y_hat

    def plot(self, key: str, value: Any, train: bool) -> None:
        """Report a metric of the current batch; the Trainer averages and plots it.

        Args:
            key: metric name, e.g. ``'loss'``; recorded as ``train_<key>`` or ``val_<key>``.
            value: the batch's mean value (a scalar tensor or number).
            train: whether it comes from a training batch.
        """
        trainer = getattr(self, "trainer", None)
        if trainer is not None:
            trainer.record(key, value, train)

    def training_step(self, batch: Sequence[torch.Tensor]) -> torch.Tensor:
        """Loss of one training batch ``(*inputs, y)``, reported as ``train_loss``."""
        loss = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", loss, train=True)
        return loss

    def validation_step(self, batch: Sequence[torch.Tensor]) -> None:
        """Report the loss of one validation batch as ``val_loss``."""
        loss = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", loss, train=False)

    def configure_optimizers(self) -> Any:
        """Minibatch SGD over all parameters with learning rate ``self.lr``.

        A `softmaxreg.book.optim.SGD`: a ``torch.optim.SGD`` (same math, same ``state_dict``) without
        torch's per-step wrappers and its 1.5 s first-use import of ``torch._dynamo``.
        """
        from softmaxreg.book.optim import SGD

        return SGD(self.parameters(), lr=self.lr)

    def apply_init(self, inputs: Sequence[torch.Tensor], init: Callable[[nn.Module], None] | None = None) -> None:
        """Run one forward pass (materialising lazy layers), then apply ``init`` to ``self.net``."""
        self.forward(*inputs)
        if init is not None:
            self.net.apply(init)


class Classifier(Module):
    """A `Module` whose outputs are class logits: cross-entropy loss, accuracy as a metric."""

    def validation_step(self, batch: Sequence[torch.Tensor]) -> None:
        """Report ``val_loss`` and ``val_acc`` of one validation batch."""
        Y_hat = self(*batch[:-1])
        self.plot("loss", self.loss(Y_hat, batch[-1]), train=False)
        self.plot("acc", self.accuracy(Y_hat, batch[-1]), train=False)

    def accuracy(self, Y_hat: torch.Tensor, Y: torch.Tensor, averaged: bool = True) -> torch.Tensor:
        """Fraction of correct predictions (or one 0./1. per example when not ``averaged``)."""
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))  # (num_examples, num_outputs)
        return functional.accuracy(Y_hat, Y.reshape(-1), averaged=averaged)

    def loss(self, Y_hat: torch.Tensor, Y: torch.Tensor, averaged: bool = True) -> torch.Tensor:
        """Numerically stable softmax cross-entropy from logits."""
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))  # (num_examples, num_outputs)
        return functional.cross_entropy(Y_hat, Y.reshape(-1), reduction="mean" if averaged else "none")

    def layer_summary(self, X_shape: Sequence[int]) -> list[tuple[str, torch.Size]]:
        """Print (as the book does) and return each layer's output shape for an input of ``X_shape``."""
        X = torch.randn(*X_shape)
        shapes = []
        for layer in self.net:
            X = layer(X)
            shapes.append((type(layer).__name__, X.shape))
            print(type(layer).__name__, "output shape:\t", X.shape)  # noqa: T201 - the book's output
        return shapes
