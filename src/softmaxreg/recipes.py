"""Training recipes: the book's (``seed``) and the best linear model we found (``best``).

``best`` keeps the model linear in the pixels — ``Flatten`` + ``Linear``, nothing else — and
changes only how it is trained, each choice measured on a held-out part of the *training* set
(images 50,000–59,999), never on the test set:

- train on standardised pixels ``(x − mean) / (std + 0.2)`` (a preconditioner: the raw pixels'
  scales differ by orders of magnitude, so plain SGD zig-zags), then fold the standardisation back
  into the weights, so the saved model takes raw pixels like any other;
- SGD with Nesterov momentum 0.9, learning rate 0.1 decayed to 0 by a cosine over all steps;
- weight decay 1e-4 (in the standardised space);
- 5 epochs of batch 256.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from softmaxreg.data import Batch, DataModule, TensorLoader


@dataclass(frozen=True)
class Recipe:
    """How to train softmax regression.

    Attributes:
        name: the recipe's name on the command line.
        epochs: passes over the training data.
        lr: the (initial) SGD learning rate.
        batch_size: examples per batch.
        momentum: SGD momentum (Nesterov's when ``nesterov``).
        nesterov: use Nesterov momentum.
        weight_decay: L2 penalty.
        schedule: ``'constant'``, or ``'cosine'`` (from ``lr`` to 0 over all steps).
        std_floor: when not ``None``, train on pixels standardised by ``std + std_floor``.
    """

    name: str
    epochs: int
    lr: float
    batch_size: int
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"
    std_floor: float | None = None


RECIPES = {
    "seed": Recipe("seed", epochs=10, lr=0.1, batch_size=256),
    "best": Recipe("best", epochs=5, lr=0.1, batch_size=256, momentum=0.9, nesterov=True,
                   weight_decay=1e-4, schedule="cosine", std_floor=0.2),
}  # fmt: skip


def pixel_statistics(images: torch.Tensor, std_floor: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel mean and floored standard deviation of uint8 images, in [0, 1] units.

    Args:
        images: ``(N, 1, H, W)`` uint8 training images.
        std_floor: added to each pixel's standard deviation (keeps near-constant pixels tame).

    Returns:
        ``(mean, std)``, each ``(1, H, W)`` float32.

    Examples:
        >>> mean, std = pixel_statistics(torch.tensor([[[[0]]], [[[255]]]], dtype=torch.uint8), 0.0)
        >>> mean.item(), round(std.item(), 4)
        (0.5, 0.7071)
    """
    X = images.to(torch.float64) / 255  # float64: 60,000 sums of squares
    return X.mean(0).to(torch.float32), (X.std(0) + std_floor).to(torch.float32)


class StandardizedData(DataModule):
    """Another data module's images, standardised per pixel: ``(x − mean) / std``.

    Args:
        data: a data module with ``train``/``val`` `ImageDataset`s (e.g. `FashionMNIST`).
        mean: ``(1, H, W)`` per-pixel mean in [0, 1] units.
        std: ``(1, H, W)`` per-pixel scale in [0, 1] units.
    """

    def __init__(self, data: Any, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.data, self.batch_size = data, data.batch_size
        self.scale = 1 / (255 * std)  # x_uint8 * scale - shift == (x / 255 - mean) / std
        self.shift = mean / std

    def _standardize(self, batch: Batch) -> Batch:
        X, *rest = batch
        return (torch.addcmul(-self.shift, X.float(), self.scale), *rest)

    def get_dataloader(self, train: bool) -> TensorLoader:
        """Shuffled (``train``) or ordered batches of standardised images and labels."""
        split = self.data.train if train else self.data.val
        return TensorLoader((split.images, split.labels), self.batch_size, shuffle=train, transform=self._standardize)


def fold_standardization(linear: torch.nn.Linear, mean: torch.Tensor, std: torch.Tensor) -> None:
    """Rewrite ``linear`` in place so that raw pixels give the logits standardised pixels gave.

    ``W z + b`` with ``z = (x − mean) / std`` equals ``(W / std) x + (b − (W / std) mean)``.
    """
    with torch.no_grad():
        weight = linear.weight / std.reshape(1, -1)  # (num_outputs, num_inputs)
        linear.bias.sub_(weight @ mean.reshape(-1))
        linear.weight.copy_(weight)


class CosineSchedule:
    """Trainer callback: learning rate ``lr · (1 + cos(π t / T)) / 2`` at step t of T."""

    def __init__(self, lr: float, total_steps: int) -> None:
        self.lr, self.total_steps, self.step = lr, max(total_steps, 1), 0

    def on_train_batch_end(self, trainer: Any, model: Any, loss: torch.Tensor) -> None:
        self.step += 1
        lr = self.lr * (1 + math.cos(math.pi * min(self.step / self.total_steps, 1.0))) / 2
        for group in trainer.optim.param_groups:
            group["lr"] = lr


class OptimizerSettings:
    """Trainer callback: sets SGD's momentum, Nesterov and weight decay at the start of ``fit``."""

    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe

    def on_fit_start(self, trainer: Any, model: Any) -> None:
        for group in trainer.optim.param_groups:
            group.update(momentum=self.recipe.momentum, nesterov=self.recipe.nesterov,
                         weight_decay=self.recipe.weight_decay)  # fmt: skip
