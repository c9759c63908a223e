"""The tensor aliases the book's code calls as ``d2l.<name>``, mapped onto PyTorch.

The book writes framework-neutral code (``d2l.reduce_sum(X, 1, keepdims=True)``); these give
those names PyTorch's meaning. Most are PyTorch's own functions; the few whose argument names
differ (``axis``, ``keepdims``) are thin wrappers.

Examples:
    >>> X = tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> reduce_sum(X, 0, keepdims=True), reduce_sum(X, 1, keepdims=True)
    (tensor([[5., 7., 9.]]), tensor([[ 6.],
            [15.]]))
    >>> argmax(X, axis=1), astype(argmax(X, axis=1), float32)
    (tensor([2, 2]), tensor([2., 2.]))
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

tensor = torch.tensor
zeros = torch.zeros
ones = torch.ones
rand = torch.rand
randn = torch.randn
normal = torch.normal
arange = torch.arange
exp = torch.exp
log = torch.log
matmul = torch.matmul
float32 = torch.float32
nn_Module = torch.nn.Module


def reshape(X: torch.Tensor, shape: Any) -> torch.Tensor:
    """``X`` with the given shape (``-1`` infers one dimension)."""
    return X.reshape(shape)


def reduce_sum(X: torch.Tensor, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    """Sum of ``X`` over ``axis`` (all elements when None)."""
    return X.sum() if axis is None else X.sum(dim=axis, keepdim=keepdims)


def reduce_mean(X: torch.Tensor, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    """Mean of ``X`` over ``axis`` (all elements when None).

    Examples:
        >>> reduce_mean(tensor([1.0, 2.0, 6.0]))
        tensor(3.)
    """
    return X.mean() if axis is None else X.mean(dim=axis, keepdim=keepdims)


def argmax(X: torch.Tensor, axis: int | None = None) -> torch.Tensor:
    """Index of the largest entry along ``axis`` (of the flattened tensor when None)."""
    return X.argmax() if axis is None else X.argmax(dim=axis)


def astype(X: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``X`` converted to ``dtype``."""
    return X.to(dtype)


def numpy(X: torch.Tensor) -> np.ndarray:
    """A numpy copy of ``X``, detached from autograd and moved to the CPU.

    Examples:
        >>> numpy(tensor([1.0, 2.0], requires_grad=True))
        array([1., 2.], dtype=float32)
    """
    return X.detach().cpu().numpy().copy()


def to(X: torch.Tensor, device: Any) -> torch.Tensor:
    """``X`` on ``device``."""
    return X.to(device)
