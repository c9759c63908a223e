"""The d2l §3.3 data set ``y = Xw + b + ε`` with known ``w`` and ``b``: `SyntheticRegressionData`,
and `synthetic_data`, the classic book's function that makes it."""

from __future__ import annotations

from typing import Any

import torch

from softmaxreg._validate import check_nonnegative_number, check_positive_int
from softmaxreg.book.data import DataModule, TensorLoader
from softmaxreg.errors import ConfigError


def _weights(w: Any) -> torch.Tensor:
    """``w`` as a float32 vector; a clear error for anything else."""
    try:
        weights = torch.as_tensor(w, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        raise ConfigError(f"`w` must be a 1-d tensor of weights, e.g. d2l.tensor([2, -3.4]); got {w!r}.") from None
    if weights.ndim != 1 or len(weights) == 0:
        raise ConfigError(
            f"`w` must be a 1-d tensor of weights, e.g. d2l.tensor([2, -3.4]); got shape {tuple(weights.shape)}."
        )
    return weights


def synthetic_data(w: Any, b: float, num_examples: int, noise: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``X ~ N(0, 1)`` and labels ``y = Xw + b + ε`` with ``ε ~ N(0, noise²)`` (d2l §3.2).

    Args:
        w: the true weights, a vector of length ``num_inputs``.
        b: the true bias.
        num_examples: how many examples.
        noise: standard deviation of ε.

    Returns:
        ``X`` ``(num_examples, num_inputs)`` and ``y`` ``(num_examples, 1)``.

    Raises:
        ConfigError: ``w`` is not a vector, or a count or ``noise`` is out of range.

    Examples:
        >>> X, y = synthetic_data(torch.tensor([2, -3.4]), 4.2, 1000)
        >>> X.shape, y.shape
        (torch.Size([1000, 2]), torch.Size([1000, 1]))
    """
    w = _weights(w)
    check_positive_int("num_examples", num_examples)
    check_nonnegative_number("noise", noise)
    X = torch.randn(num_examples, len(w))  # (n, num_inputs)
    eps = torch.randn(num_examples, 1) * noise
    return X, X @ w.reshape((-1, 1)) + b + eps  # (n, 1)


class SyntheticRegressionData(DataModule):
    """Features ``X ~ N(0, 1)`` and labels ``y = Xw + b + ε`` with ``ε ~ N(0, noise²)``.

    The first ``num_train`` examples are the training set, the next ``num_val`` the validation set.

    Args:
        w: the true weights, a vector of length ``num_inputs``.
        b: the true bias.
        noise: standard deviation of ε.
        num_train: training examples.
        num_val: validation examples.
        batch_size: examples per batch.

    Attributes:
        X: ``(num_train + num_val, num_inputs)`` features.
        y: ``(num_train + num_val, 1)`` labels.
        w: the true weights (float32).
        b: the true bias.

    Examples:
        >>> data = SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2, noise=0.0)
        >>> data.X.shape, data.y.shape, len(data.train_dataloader())
        (torch.Size([2000, 2]), torch.Size([2000, 1]), 32)
        >>> torch.allclose(data.y[:, 0], data.X @ data.w + 4.2)
        True
    """

    # set by save_hyperparameters (the book's API), declared for the type checker
    num_train: int
    num_val: int

    def __init__(
        self,
        w: Any,
        b: float,
        noise: float = 0.01,
        num_train: int = 1000,
        num_val: int = 1000,
        batch_size: int = 32,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.w = _weights(w)
        check_positive_int("num_train", num_train)
        check_positive_int("num_val", num_val)
        check_positive_int("batch_size", batch_size)
        self.X, self.y = synthetic_data(self.w, b, num_train + num_val, noise)

    def get_dataloader(self, train: bool) -> TensorLoader:
        """Batches ``(X, y)`` of the training (shuffled) or validation examples."""
        i = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader((self.X, self.y), train, i)
