"""Pure tensor functions of softmax regression, written from the formulas: no state, no I/O.

The numerics lesson of d2l §4.5: ``exp`` overflows for large logits and underflows for very negative
ones. Subtracting the row maximum ō before exponentiating, and never taking ``log(softmax(o))``,
avoids both:

    log ŷ_j = o_j − ō − log Σ_k exp(o_k − ō)

Every ``exp`` below sees arguments ≤ 0, so it never overflows, and the log-probabilities never pass
through a probability that has rounded to 0. (`softmaxreg.numerics` keeps the naive version, to show
where it breaks.)

Defined results for the inputs where the arithmetic has no obvious answer, row by row (a row is a
slice along ``dim``; other rows are never affected):

=================  ==========  ===================  ============  ========================
the row holds      logsumexp   softmax              log_softmax   cross_entropy
=================  ==========  ===================  ============  ========================
−inf and finite    lse of the  0 at −inf            −inf at −inf  +inf if ``y`` is at −inf
values             finite part
only −inf          −inf        NaN (no              NaN           NaN
                               distribution)
+inf               +inf        NaN (∞/∞)            NaN           NaN
NaN                NaN         NaN                  NaN           NaN
=================  ==========  ===================  ============  ========================

The NaN rows match ``torch.nn.functional``: a model whose logits have blown up gets a NaN loss, not
a plausible number. The gradient of `cross_entropy` is ``softmax − onehot(y)``: in [−1, 1] for every
row with a finite entry and no NaN or +inf, even where the loss is +inf. float16 and bfloat16
inputs are computed in float32 and the results (and gradients) returned in the input's dtype.
"""

from __future__ import annotations

from typing import Any

import torch

from softmaxreg._validate import check_choice
from softmaxreg.errors import ConfigError

_REDUCTIONS = ("mean", "sum", "none")
_INDEX_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """float32 for float16/bfloat16: their few mantissa bits make Σ exp and log coarse."""
    return torch.float32 if x.dtype in _LOW_PRECISION else x.dtype


def _check_logits(name: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise ConfigError(f"`{name}` must be a tensor; got {type(x).__name__}. Wrap it with torch.tensor(...).")
    if not x.is_floating_point():
        raise ConfigError(f"`{name}` must be a floating-point tensor; got dtype {x.dtype}. Convert with .float().")


def logsumexp(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log Σ exp(x)`` along ``dim``, computed as ``m + log Σ exp(x − m)`` with m the maximum.

    .. math:: \\operatorname{LSE}(x) = m + \\log \\sum_k \\exp(x_k - m), \\qquad m = \\max_k x_k

    Args:
        x: floating-point tensor of any shape.
        dim: the dimension to reduce.

    Returns:
        A tensor of ``x``'s shape without ``dim``, in ``x``'s dtype. A row of only −inf gives −inf
        (log 0), a row holding +inf gives +inf, a row holding NaN gives NaN. The gradient is
        ``softmax(x)``.

    Raises:
        ConfigError: if ``x`` is not a floating-point tensor.

    Examples:
        >>> logsumexp(torch.tensor([0.0, 0.0]))
        tensor(0.6931)
        >>> logsumexp(torch.tensor([1e4, 0.0]))  # exp(1e4) overflows; the result does not
        tensor(10000.)
        >>> logsumexp(torch.tensor([[-float("inf"), -float("inf")], [float("inf"), 0.0]]))
        tensor([-inf, inf])
    """
    _check_logits("x", x)
    z = x.to(_compute_dtype(x))
    m = z.amax(dim=dim, keepdim=True).detach()
    # a max of ±inf becomes 0: exp then gives inf or 0 and the log ±inf, where inf − inf would give NaN
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    return (m + (z - m).exp().sum(dim=dim, keepdim=True).log()).squeeze(dim).to(x.dtype)


def _shifted(z: torch.Tensor, dim: int) -> torch.Tensor:
    """``z − max(z)`` along ``dim``: every entry ≤ 0, the row's largest exactly 0."""
    return z - z.amax(dim=dim, keepdim=True).detach()  # the max is a constant: the shift cancels exactly


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Log-probabilities ``o_j − ō − log Σ_k exp(o_k − ō)`` that never overflow or become ``log 0``.

    Args:
        x: logits, a floating-point tensor of any shape.
        dim: the dimension over which the probabilities sum to 1.

    Returns:
        A tensor of ``x``'s shape and dtype; −inf exactly where ``x`` is −inf in a row with a finite
        entry. Rows with NaN or +inf, and rows of only −inf, are NaN (see the module's table).

    Raises:
        ConfigError: if ``x`` is not a floating-point tensor.

    Examples:
        >>> log_softmax(torch.tensor([0.0, -1e4]))
        tensor([     0., -10000.])
        >>> log_softmax(torch.tensor([0.0, -float("inf")]))
        tensor([0., -inf])
    """
    _check_logits("x", x)
    s = _shifted(x.to(_compute_dtype(x)), dim)
    return (s - s.exp().sum(dim=dim, keepdim=True).log()).to(x.dtype)


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Probabilities ``exp(o_j − ō) / Σ_k exp(o_k − ō)``, with ō the maximum along ``dim``.

    Args:
        x: logits, a floating-point tensor of any shape.
        dim: the dimension along which the result sums to 1.

    Returns:
        A tensor of ``x``'s shape and dtype, each slice along ``dim`` summing to 1; exactly 0 where
        ``x`` is −inf in a row with a finite entry. Rows with NaN or +inf, and rows of only −inf, are
        NaN (see the module's table).

    Raises:
        ConfigError: if ``x`` is not a floating-point tensor.

    Examples:
        >>> softmax(torch.tensor([1e4, 1e4]))
        tensor([0.5000, 0.5000])
        >>> softmax(torch.tensor([1.0, -float("inf")]))
        tensor([1., 0.])
    """
    _check_logits("x", x)
    e = _shifted(x.to(_compute_dtype(x)), dim).exp()
    return (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)


def _check_labels(logits: torch.Tensor, y: torch.Tensor) -> None:
    """Raise :class:`ConfigError` unless ``y`` is an integer tensor with one label per row of ``logits``."""
    _check_logits("logits", logits)
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ConfigError(
            f"`logits` must have shape (batch_size, num_outputs) with num_outputs ≥ 1; got {tuple(logits.shape)}."
        )
    if not isinstance(y, torch.Tensor):
        raise ConfigError(f"`y` must be a tensor of class indices; got {type(y).__name__}. Use torch.tensor(y).")
    if y.dtype not in _INDEX_DTYPES:
        raise ConfigError(f"`y` must hold integer class indices; got dtype {y.dtype}. Convert with y.long().")
    if y.shape != logits.shape[:-1]:
        raise ConfigError(
            f"`y` must have shape {tuple(logits.shape[:-1])} to match `logits` of shape {tuple(logits.shape)}; "
            f"got {tuple(y.shape)}. Flatten it with y.reshape(-1)."
        )


def _label_range_error(y: torch.Tensor, num_outputs: int) -> ConfigError | None:
    """The error to raise if a label is outside ``0 .. num_outputs − 1`` (one reduction, one device sync)."""
    if not y.numel():
        return None
    low, high = torch.stack(torch.aminmax(y)).tolist()
    if low >= 0 and high < num_outputs:
        return None
    return ConfigError(
        f"`y` must hold class indices in 0..{num_outputs - 1} ({num_outputs} classes); "
        f"got {low if low < 0 else high}. Labels starting at 1 need y - 1; more classes need more outputs."
    )


class _CrossEntropy(torch.autograd.Function):
    """Softmax cross-entropy of ``(n, num_outputs)`` float32/float64 logits, with its analytic gradient.

    One fused node instead of autograd's chain of ``amax``/``sub``/``exp``/``sum``/``log``/``gather``
    backward nodes: the gradient ``softmax(o) − onehot(y)`` is known in closed form and always finite.
    """

    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, index: torch.Tensor, reduction: str) -> torch.Tensor:
        # At d2l's (256, 10) each tensor operation costs ~2 µs of dispatch and ~0 of arithmetic, and
        # a Python-number operand another ~1.5 µs (it becomes a tensor, converted to the input's
        # dtype). So the operations are few, and the scale 1/n comes from a (n, 1) tensor instead.
        # o_y first: on the CPU, gather's bounds check is the range check of y, done before any arithmetic
        picked = logits.gather(1, index)  # (n, 1)
        m = logits.amax(1, True)  # (n, 1)
        e = (logits - m).exp_()  # (n, num_outputs); arguments ≤ 0: exp cannot overflow
        total = e.sum(1, True)  # ≥ 1 unless the row is NaN: log cannot underflow
        # lse − o_y = log Σ exp(o − ō) − (o_y − ō): never forms ō + log Σ, which overflows near the max
        losses = total.log().sub_(picked.sub_(m))  # (n, 1)
        n = index.shape[0]  # not len(): Tensor.__len__ is Python, ~1 µs
        mean = reduction == "mean" and n > 0
        scale: Any = m.fill_(1.0 / n) if mean else None  # 1/n; m is not needed any more
        if ctx.needs_input_grad[0]:
            # The gradient (softmax(o) − onehot(y)) / n is known now: computing it here, from e while it
            # is in cache, leaves backward at most one multiplication (a Python backward is costly).
            if mean:
                total.div_(scale)  # n Σ exp(o − ō)
            grad = e.div_(total)  # softmax (/ n), in e's memory: e is not needed any more
            onehot = picked.fill_(-1.0 / n if mean else -1.0)  # picked is not needed any more
            grad.scatter_add_(1, index, onehot)  # − onehot (/ n)
            # saved, not an attribute: backward may hand this very tensor on, and the version counter
            # then makes a second backward refuse, not lie, if someone modified it in place meanwhile
            ctx.save_for_backward(grad)
        if reduction == "mean":  # divide before summing: a mean of losses near the max must not overflow
            return losses.mul_(scale).sum() if mean else losses.sum() / 0
        return losses.sum() if reduction == "sum" else losses.view(-1)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        if torch.is_grad_enabled():  # create_graph=True: the saved gradient is a constant here, so refuse, not lie
            raise RuntimeError(
                "softmaxreg's cross_entropy is differentiable once; for second derivatives use "
                "-log_softmax(logits).gather(-1, y[..., None]), which autograd differentiates twice."
            )
        (grad,) = ctx.saved_tensors  # never modified here: a second backward (retain_graph=True) reuses it
        if grad_output.ndim == 0:
            # loss.backward() sends exactly 1: skip a multiplication that would copy the gradient
            # (reading a CPU scalar is free; on an accelerator it would wait for the device)
            if grad_output.is_cpu and grad_output.item() == 1.0:
                return grad, None, None
            return grad * grad_output, None, None
        return grad * grad_output.view(-1, 1), None, None


# `Function.apply` is torch's C++ apply behind ~4 µs of Python that matters only under torch.func
# transforms (vmap, grad...), which this function does not support anyway (it defines no
# setup_context). Outside them, call the C++ apply directly: 4% of a (256, 10) forward+backward.
_apply_directly = super(torch.autograd.Function, _CrossEntropy).apply
_transforms_active = getattr(torch._C, "_are_functorch_transforms_active", lambda: True)


def cross_entropy(logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Softmax cross-entropy from logits: ``logsumexp(o) − o_y`` for each row.

    .. math:: \\ell(o, y) = -\\log \\hat y_y = \\log \\sum_k \\exp(o_k - \\bar o) - (o_y - \\bar o)

    Its gradient with respect to the logits is ``softmax(o) − onehot(y)`` (divided by the batch size
    for ``'mean'``): in [−1, 1] for any finite logits, however large.

    Args:
        logits: ``(batch_size, num_outputs)`` unnormalised scores (any leading shape works: the last
            dimension holds the classes). float16/bfloat16 are computed in float32.
        y: ``(batch_size,)`` integer class indices in ``0 .. num_outputs − 1``.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.

    Returns:
        A scalar, or ``(batch_size,)`` losses with ``reduction='none'``, in ``logits``' dtype. Finite
        whenever the exact loss is representable in that dtype; +inf where ``y`` points at a −inf
        logit; NaN for rows with NaN or +inf logits and for rows of only −inf; the mean of an empty
        batch is NaN.

    Raises:
        ConfigError: if ``logits`` is not floating point, or ``y`` is not an integer tensor of shape
            ``logits.shape[:-1]`` with values in range, or ``reduction`` is unknown. Checked before
            any arithmetic.

    Examples:
        >>> cross_entropy(torch.tensor([[1e4, 0.0]]), torch.tensor([1]))
        tensor(10000.)
        >>> cross_entropy(torch.tensor([[2.0, 1.0]]), torch.tensor([2]))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        softmaxreg.errors.ConfigError: `y` must hold class indices in 0..1 (2 classes); got 2. Labels ...
    """
    if reduction not in _REDUCTIONS:
        check_choice("reduction", reduction, _REDUCTIONS)
    _check_labels(logits, y)
    dtype, ndim, num_outputs = logits.dtype, logits.ndim, logits.shape[-1]
    if not y.is_cpu:  # an accelerator's gather does not check indices (CUDA: a fatal device assert)
        problem = _label_range_error(y, num_outputs)
        if problem is not None:
            raise problem
    index = y if y.dtype == torch.int64 else y.long()
    index = index.reshape(-1, 1)  # (n, 1): a view
    flat = logits if ndim == 2 else logits.reshape(-1, num_outputs)  # a reshape is one more autograd node
    if dtype in _LOW_PRECISION:
        flat = flat.float()  # autograd casts the gradient back
    try:
        apply: Any = _CrossEntropy.apply if _transforms_active() else _apply_directly
        losses: torch.Tensor = apply(flat, index, reduction)
    except RuntimeError:  # on the CPU, gather's bounds check: name the bad label in our words
        problem = _label_range_error(y, num_outputs)
        if problem is None:
            raise
        raise problem from None
    if dtype in _LOW_PRECISION:
        losses = losses.to(dtype)
    return losses.view(logits.shape[:-1]) if ndim != 2 and reduction == "none" else losses


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


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Half the squared error of each prediction, ``(ŷ − y)² / 2`` (d2l §3.1), unreduced.

    Args:
        y_hat: predictions, e.g. ``(batch_size, 1)``.
        y: targets with as many elements as ``y_hat`` (reshaped to its shape, so ``(batch_size,)``
            works against ``(batch_size, 1)`` instead of broadcasting to a matrix).

    Returns:
        A tensor of ``y_hat``'s shape.

    Examples:
        >>> squared_loss(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0]))
        tensor([[0.5000],
                [2.0000]])
    """
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2
