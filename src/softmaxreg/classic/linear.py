"""The classic book's linear regression helpers (d2l §3.2–3.3): `linreg`, `sgd`, `load_array`.

``synthetic_data`` and ``squared_loss`` are the 1.0 API's own (`softmaxreg.book.synthetic`,
`softmaxreg.functional`), exported under their classic names.

Examples:
    >>> w = torch.ones(2, 1, requires_grad=True); b = torch.zeros(1, requires_grad=True)
    >>> linreg(torch.ones(4, 2), w, b).sum().backward()
    >>> sgd([w, b], lr=0.5, batch_size=4)
    >>> w.tolist(), b.tolist(), w.grad.tolist()
    ([[0.5], [0.5]], [-0.5], [[0.0], [0.0]])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from softmaxreg._validate import check_positive_int
from softmaxreg.book.data import TensorLoader
from softmaxreg.errors import ConfigError


def linreg(X: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The linear regression model ``Xw + b``: ``(batch_size, num_inputs)`` → ``(batch_size, 1)``."""
    return torch.matmul(X, w) + b


@torch.no_grad()
def sgd(params: Iterable[torch.Tensor], lr: float, batch_size: int) -> None:
    """One step of minibatch SGD, ``param ← param − lr · grad / batch_size``, then zero the gradients.

    The gradients are those of the batch's *summed* loss (``l.sum().backward()``), hence the division.
    Zeroing them here is what lets the book's loop call ``backward`` again without ``zero_grad``.

    Args:
        params: the tensors to update, each with a gradient.
        lr: learning rate.
        batch_size: examples in the batch whose loss was summed.

    Raises:
        ConfigError: a parameter has no gradient.
    """
    for i, param in enumerate(params):
        if param.grad is None:
            raise ConfigError(
                f"Expected a gradient for every parameter given to sgd; parameter {i} "
                f"(shape {tuple(param.shape)}) has none. Create it with requires_grad=True "
                "and call l.sum().backward() before sgd."
            )
        param.sub_(param.grad, alpha=lr / batch_size)
        param.grad.zero_()


def load_array(data_arrays: Sequence[torch.Tensor], batch_size: int, is_train: bool = True) -> TensorLoader:
    """Minibatches of in-memory tensors (d2l §3.3), shuffled at each epoch when ``is_train``.

    The book wraps a ``TensorDataset`` in a ``DataLoader``; this gives the same batches (as tuples)
    from slices of the tensors, with ``.dataset`` the ``TensorDataset`` for code that wants it.

    Args:
        data_arrays: e.g. ``(features, labels)``, tensors with the same first dimension.
        batch_size: examples per batch (the last may be smaller).
        is_train: shuffle.

    Examples:
        >>> X, y = next(iter(load_array((torch.arange(6.0).reshape(3, 2), torch.arange(3)), 2, is_train=False)))
        >>> X.tolist(), y.tolist()
        ([[0.0, 1.0], [2.0, 3.0]], [0, 1])
    """
    check_positive_int("batch_size", batch_size)
    tensors = tuple(torch.as_tensor(a) for a in data_arrays)
    return TensorLoader(tensors, batch_size, shuffle=is_train)
