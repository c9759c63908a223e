"""The tensor aliases the book's code calls as ``d2l.<name>``, mapped onto PyTorch.

The book writes framework-neutral code (``d2l.reduce_sum(X, 1, keepdims=True)``); these give
those names PyTorch's meaning. Most are PyTorch's own functions; the few whose argument names
differ are thin wrappers that take both spellings: the 1.0 book's numpy-style ``axis`` and
``keepdims``, and the classic book's (d2l 0.17, d2l-zh 2.0), which passes PyTorch's ``dim`` and
``keepdim`` straight through (``d2l.reduce_sum(X, 0, keepdim=True)``). The classic book's extra
names (``size``, ``concat``, ``transpose``, ...) are here too.

Examples:
    >>> X = tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    >>> reduce_sum(X, 0, keepdims=True), reduce_sum(X, 1, keepdims=True)
    (tensor([[5., 7., 9.]]), tensor([[ 6.],
            [15.]]))
    >>> argmax(X, axis=1), astype(argmax(X, axis=1), float32)
    (tensor([2, 2]), tensor([2., 2.]))
    >>> reduce_sum(X, 0, keepdim=True), size(X), argmax(X, dim=0)
    (tensor([[5., 7., 9.]]), 6, tensor([1, 1, 1]))
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
# the classic book's other names (d2l 0.17's torch.py)
int32 = torch.int32
meshgrid = torch.meshgrid
sin = torch.sin
sinh = torch.sinh
cos = torch.cos
cosh = torch.cosh
tanh = torch.tanh
linspace = torch.linspace
concat = torch.cat
stack = torch.stack
abs = torch.abs  # noqa: A001 - the book's name
eye = torch.eye


def _axis(axis: int | None, kwargs: dict[str, Any]) -> int | None:
    """``axis``, or torch's ``dim`` when the caller used that name."""
    dim = kwargs.pop("dim", None)
    return axis if dim is None else dim


def _keepdims(keepdims: bool, kwargs: dict[str, Any]) -> bool:
    """``keepdims``, or torch's ``keepdim`` when the caller used that name."""
    return bool(kwargs.pop("keepdim", keepdims))


def _no_other(name: str, kwargs: dict[str, Any]) -> None:
    if kwargs:
        raise TypeError(f"{name}() got an unexpected keyword argument {next(iter(kwargs))!r}")


def reshape(X: torch.Tensor, shape: Any) -> torch.Tensor:
    """``X`` with the given shape (``-1`` infers one dimension)."""
    return X.reshape(shape)


def reduce_sum(X: torch.Tensor, axis: int | None = None, keepdims: bool = False, **kwargs: Any) -> torch.Tensor:
    """Sum of ``X`` over ``axis`` (all elements when None); torch's ``dim``/``keepdim`` work too."""
    axis, keepdims = _axis(axis, kwargs), _keepdims(keepdims, kwargs)
    _no_other("reduce_sum", kwargs)
    return X.sum() if axis is None else X.sum(dim=axis, keepdim=keepdims)


def reduce_mean(X: torch.Tensor, axis: int | None = None, keepdims: bool = False, **kwargs: Any) -> torch.Tensor:
    """Mean of ``X`` over ``axis`` (all elements when None); torch's ``dim``/``keepdim`` work too.

    Examples:
        >>> reduce_mean(tensor([1.0, 2.0, 6.0]))
        tensor(3.)
    """
    axis, keepdims = _axis(axis, kwargs), _keepdims(keepdims, kwargs)
    _no_other("reduce_mean", kwargs)
    return X.mean() if axis is None else X.mean(dim=axis, keepdim=keepdims)


def argmax(X: torch.Tensor, axis: int | None = None, **kwargs: Any) -> torch.Tensor:
    """Index of the largest entry along ``axis`` (of the flattened tensor when None); or ``dim``."""
    axis, keepdims = _axis(axis, kwargs), _keepdims(False, kwargs)
    _no_other("argmax", kwargs)
    return X.argmax() if axis is None else X.argmax(dim=axis, keepdim=keepdims)


def size(X: torch.Tensor) -> int:
    """The number of elements of ``X`` (the classic book's ``d2l.size(y)``)."""
    return X.numel()


def transpose(X: torch.Tensor) -> torch.Tensor:
    """``X`` with its two dimensions swapped (the classic book's ``d2l.transpose``: ``X.t()``)."""
    return X.t()


def astype(X: torch.Tensor, dtype: Any) -> torch.Tensor:
    """``X`` converted to ``dtype`` (a torch dtype, or a type name such as ``'torch.FloatTensor'``)."""
    return X.type(dtype) if isinstance(dtype, (str, type)) else X.to(dtype)  # type: ignore[arg-type]  # a type works


def numpy(X: torch.Tensor) -> np.ndarray:
    """A numpy copy of ``X``, detached from autograd and moved to the CPU.

    Examples:
        >>> numpy(tensor([1.0, 2.0], requires_grad=True))
        array([1., 2.], dtype=float32)
    """
    array: np.ndarray = X.detach().cpu().numpy().copy()
    return array


def to(X: torch.Tensor, device: Any) -> torch.Tensor:
    """``X`` on ``device``."""
    return X.to(device)
