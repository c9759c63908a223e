"""Pure tensor functions of softmax regression: no state, no I/O.

The numerics lesson of d2l §4.5: ``exp`` overflows for large logits and underflows for very negative
ones. Subtracting the row maximum ō before exponentiating, and never taking ``log(softmax(o))``,
avoids both:

    log ŷ_j = o_j − ō − log Σ_k exp(o_k − ō)
"""

from __future__ import annotations

import torch


def logsumexp(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log Σ exp(x)`` along ``dim``, computed as ``m + log Σ exp(x − m)`` with m the max.

    Args:
        x: logits of any shape.
        dim: the dimension to reduce.

    Returns:
        A tensor of ``x``'s shape without ``dim``.

    Examples:
        >>> logsumexp(torch.tensor([0.0, 0.0]))
        tensor(0.6931)
        >>> logsumexp(torch.tensor([1e4, 0.0]))  # exp(1e4) overflows; the result does not
        tensor(10000.)
    """
    m = x.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # all -inf rows: keep -inf, not NaN
    return (m + (x - m).exp().sum(dim=dim, keepdim=True).log()).squeeze(dim)


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``x − logsumexp(x)``: log-probabilities that never overflow or turn into ``log(0)``.

    Examples:
        >>> log_softmax(torch.tensor([0.0, -1e4]))
        tensor([     0., -10000.])
    """
    return x - logsumexp(x, dim=dim).unsqueeze(dim)


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Probabilities ``exp(x − m) / Σ exp(x − m)``, with m the row maximum.

    Examples:
        >>> softmax(torch.tensor([1e4, 1e4]))
        tensor([0.5000, 0.5000])
    """
    e = (x - x.amax(dim=dim, keepdim=True).detach()).exp()
    return e / e.sum(dim=dim, keepdim=True)


def cross_entropy(logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Softmax cross-entropy from logits: ``logsumexp(o) − o_y`` for each row.

    Args:
        logits: ``(batch_size, num_outputs)`` unnormalised scores.
        y: ``(batch_size,)`` integer class indices.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        A scalar, or ``(batch_size,)`` losses with ``reduction='none'``.

    Examples:
        >>> cross_entropy(torch.tensor([[1e4, 0.0]]), torch.tensor([1]))
        tensor(10000.)
    """
    losses = logsumexp(logits, dim=-1) - logits.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def accuracy(logits: torch.Tensor, y: torch.Tensor, averaged: bool = True) -> torch.Tensor:
    """Fraction of rows whose largest logit is the true class.

    Args:
        logits: ``(batch_size, num_outputs)`` scores.
        y: ``(batch_size,)`` class indices.
        averaged: return the mean; otherwise one 0./1. per row.

    Returns:
        A scalar tensor (float64, float32 on MPS), or ``(batch_size,)`` float32 with ``averaged=False``.

    Examples:
        >>> accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
        tensor(0.5000, dtype=torch.float64)
    """
    correct = logits.argmax(dim=-1) == y.reshape(-1)  # (batch_size,)
    if not averaged:
        return correct.to(torch.float32)
    # float64 keeps count/n exact enough that batch-size weighted epoch means are exact counts
    dtype = torch.float32 if correct.device.type == "mps" else torch.float64
    return correct.sum(dtype=dtype) / correct.numel()
