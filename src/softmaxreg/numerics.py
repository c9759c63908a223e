"""Number formats and the range of ``exp``: where a naive softmax breaks (d2l §4.5, exercise 1).

`exp_limits()` derives, for each number format deep learning uses, from the format's parameters
alone (exponent and mantissa widths, bias, largest finite value) and in exact rational arithmetic:

* ``max_arg``: the largest argument x (a value of the format) whose ``exp(x)``, rounded to the format,
  is finite: larger arguments overflow;
* ``min_arg_normal``: the smallest x whose ``exp(x)`` is a normal number: smaller ones underflow to
  a subnormal (which loses precision, and which some hardware flushes to 0);
* ``min_arg_nonzero``: the smallest x whose ``exp(x)`` is not 0: smaller ones underflow to zero;
* ``naive_spread``: the largest spread ``max(o) − min(o)`` of a row of logits for which the naive
  softmax ``exp(o) / Σ exp(o)``, computed in the format, still gives every class a finite, non-zero
  probability (so its log, the cross-entropy, is finite), at the best placement of the row.

Rounding is to nearest, ties to even, as in IEEE 754 and torch's casts. A value ``v`` rounds past
the largest finite value when ``v ≥ max + ulp(max)/2``, to zero when ``v ≤ min_subnormal/2``, and to
a subnormal when ``v < min_normal − min_subnormal/2``; the first three cells are the logarithms of
these thresholds, rounded inward to the format's grid. For the spread, the row's smallest probability
``fl(fl(exp(lo)) / fl(exp(hi) + exp(lo)))`` must not round to 0: the widest row is found by trying, as
``lo``, the arguments whose ``exp`` rounds up to a small multiple of min_subnormal (and, on the
coarse grids of 8-bit formats, every value), each with the largest ``hi`` that still survives,
checked in exact rational arithmetic.

The stable functions of `softmaxreg.functional` have no such limit: their log-probabilities are
finite for any finite logits whose differences are representable.

The tests check every cell against torch in that dtype: ``torch.exp`` for float64, float32, bfloat16
and float16; for the float8 dtypes, which have no ``exp`` kernel, ``exp`` in float64 then torch's cast
to float8 (for float8_e4m3fn, which has no infinity, torch 2.11's cast returns NaN where 2.13's
saturates at ±448: an overflow that goes unnoticed). On CUDA (torch 2.11, an H200) every cell
matched too, but one: CUDA's float64 ``exp`` returns 0 for all x ≤ −745, where the correctly rounded
result is the smallest subnormal down to −745.133.

Two formats are not torch dtypes, so their rows are derived only, and checked by emulation:

* **TF32** is the tensor-core math mode of NVIDIA GPUs since Ampere: float32's 8-bit exponent with
  float16's 10-bit mantissa. Tensors stay float32 and only matmul inputs are rounded to it, so
  ``exp`` is never computed in TF32; the row says what it would give if it were.
* **int8** holds the integers −128..127 with no scale (quantized tensors add a scale, which moves the
  window of arguments, not its width). ``exp(x)`` rounded to an integer is at most 127 for x ≤ 4
  (e⁴ ≈ 54.6, e⁵ ≈ 148.4) and non-zero for x ≥ 0 (e⁻¹ ≈ 0.37 rounds to 0); there are no subnormals.
  Probabilities below 1 round to 0 or 1, so a naive softmax survives no row of two or more logits:
  its spread is ``None``.

`naive_softmax`, `naive_log_softmax` and `naive_cross_entropy` are the textbook ``exp`` → normalise →
``log`` versions, kept only to demonstrate the failure (tests, notebook): never train with them.

Examples:
    >>> row = exp_limits()[1]
    >>> row.name, row.max_arg, row.min_arg_normal, row.min_arg_nonzero
    ('float32', 88.72283172607422, -87.33654022216797, -103.97207641601562)
"""

from __future__ import annotations

import decimal
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

_LN_PRECISION = 80  # decimal digits of ln(threshold): far below any grid spacing (float64's is ~1e-13)
_MAX_K = 8  # multiples of min_subnormal tried for the smallest probability of the widest row


@dataclass(frozen=True)
class NumberFormat:
    """A binary number format, described by its parameters.

    Args:
        name: e.g. ``'float32'``.
        exponent_bits: width of the exponent field (0 for integers).
        mantissa_bits: stored fraction bits m: 2**m values per binade (0 for integers).
        max_finite: the largest finite value.
        min_normal: the smallest positive normal value (1 for integers).
        min_subnormal: the smallest positive value.
        overflow: what a too-large result becomes: ``'inf'``, ``'NaN'`` or ``'wraps'``.
        torch_dtype: the name of the matching ``torch`` dtype, or None.
    """

    name: str
    exponent_bits: int
    mantissa_bits: int
    max_finite: Fraction
    min_normal: Fraction
    min_subnormal: Fraction
    overflow: str
    torch_dtype: str | None

    @property
    def is_integer(self) -> bool:
        """True for integer formats, whose grid is the integers."""
        return self.exponent_bits == 0

    def spacing(self, v: Fraction) -> Fraction:
        """Distance between consecutive values of the format in the binade holding ``|v| > 0``."""
        if self.is_integer:
            return Fraction(1)
        binade = max(_floor_log2(abs(v)), _floor_log2(self.min_normal))  # subnormals share the lowest spacing
        return Fraction(2) ** (binade - self.mantissa_bits)

    def round_down(self, t: Fraction) -> Fraction:
        """The largest value of the format that is ≤ ``t`` (``t`` within the finite range)."""
        if t < 0:
            return -self.round_up(-t)
        q = self.spacing(t) if t else Fraction(1)
        return (t // q) * q

    def round_up(self, t: Fraction) -> Fraction:
        """The smallest value of the format that is ≥ ``t`` (``t`` within the finite range)."""
        if t < 0:
            return -self.round_down(-t)
        q = self.spacing(t) if t else Fraction(1)
        return -((-t) // q) * q

    def next_down(self, v: Fraction) -> Fraction:
        """The largest value of the format below ``v``."""
        if v <= 0:
            return -self.next_up(-v)
        return self.round_down(v - self.spacing(v) / 2 ** (self.mantissa_bits + 1))  # a hair below v

    def next_up(self, v: Fraction) -> Fraction:
        """The smallest value of the format above ``v``."""
        if v < 0:
            return -self.next_down(-v)
        return v + self.spacing(v) if v else self.min_subnormal

    @property
    def overflow_at(self) -> Fraction:
        """The smallest real that rounds past ``max_finite`` (to inf, or NaN for float8_e4m3fn)."""
        return self.max_finite + self.spacing(self.max_finite) / 2

    def round_nearest(self, v: Fraction) -> Fraction | None:
        """``v`` rounded to the nearest value, ties to even; None where it overflows."""
        if abs(v) >= self.overflow_at:
            return None
        q = self.spacing(v) if v else Fraction(1)
        n, rest = divmod(v / q, 1)
        if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and n % 2):
            n += 1
        return n * q

    def positive_values(self) -> list[Fraction]:
        """Every positive finite value, ascending (for formats of at most 8 bits, to search them all)."""
        values, v = [], self.min_subnormal
        while v <= self.max_finite:
            values.append(v)
            v += self.spacing(v)
        return values


def _floor_log2(v: Fraction) -> int:
    e = v.numerator.bit_length() - v.denominator.bit_length()
    return e - 1 if Fraction(2) ** e > v else e


def ieee_format(name: str, exponent_bits: int, mantissa_bits: int, torch_dtype: str | None) -> NumberFormat:
    """An IEEE 754-style format: bias ``2**(e-1) − 1``, top exponent reserved for inf and NaN.

    Examples:
        >>> f = ieee_format("float16", 5, 10, "float16")
        >>> float(f.max_finite), float(f.min_normal), float(f.min_subnormal)
        (65504.0, 6.103515625e-05, 5.960464477539063e-08)
    """
    bias = 2 ** (exponent_bits - 1) - 1
    emax = 2**exponent_bits - 2 - bias
    two = Fraction(2)
    return NumberFormat(
        name=name,
        exponent_bits=exponent_bits,
        mantissa_bits=mantissa_bits,
        max_finite=(2 - two**-mantissa_bits) * two**emax,
        min_normal=two ** (1 - bias),
        min_subnormal=two ** (1 - bias - mantissa_bits),
        overflow="inf",
        torch_dtype=torch_dtype,
    )


def _float8_e4m3fn() -> NumberFormat:
    """OCP float8 E4M3 ("fn": finite, NaN only): the top exponent holds normal values too, no infinity.

    The all-ones pattern S.1111.111 is NaN, so the largest finite value is 1.75 · 2**8 = 448.
    """
    base = ieee_format("float8_e4m3fn", 4, 3, "float8_e4m3fn")
    return NumberFormat(**{**asdict(base), "max_finite": Fraction(448), "overflow": "NaN"})


def number_formats() -> tuple[NumberFormat, ...]:
    """The formats of the table, widest first: float64, float32, TF32, bfloat16, float16, float8s, int8."""
    int8 = NumberFormat("int8", 0, 0, Fraction(127), Fraction(1), Fraction(1), "wraps", "int8")
    return (
        ieee_format("float64", 11, 52, "float64"),
        ieee_format("float32", 8, 23, "float32"),
        ieee_format("tf32", 8, 10, None),
        ieee_format("bfloat16", 8, 7, "bfloat16"),
        ieee_format("float16", 5, 10, "float16"),
        _float8_e4m3fn(),
        ieee_format("float8_e5m2", 5, 2, "float8_e5m2"),
        int8,
    )


def _ln(t: Fraction) -> Fraction:
    """``ln(t)`` to 80 digits, as a fraction: never a grid value (ln of a rational ≠ 1 is irrational)."""
    with decimal.localcontext() as ctx:
        ctx.prec = _LN_PRECISION
        return Fraction((decimal.Decimal(t.numerator) / decimal.Decimal(t.denominator)).ln())


@dataclass(frozen=True)
class ExpLimits:
    """One row of the table: a format's parameters and where its ``exp`` and naive softmax break.

    Arguments are values of the format, given as float64 (every one of them is exact in float64);
    ``naive_row`` is the ``(max, min)`` pair of logits that attains ``naive_spread``.
    """

    name: str
    exponent_bits: int
    mantissa_bits: int
    max_finite: float
    min_normal: float
    min_subnormal: float
    max_arg: float
    min_arg_normal: float
    min_arg_nonzero: float
    naive_spread: float | None
    naive_row: tuple[float, float] | None
    overflow: str
    torch_dtype: str | None


def _exp_in(fmt: NumberFormat, x: Fraction) -> Fraction | None:
    """``exp(x)`` rounded to the format (None: overflow), from 80 digits of the exact value."""
    with decimal.localcontext() as ctx:
        ctx.prec = _LN_PRECISION
        exact = Fraction((decimal.Decimal(x.numerator) / decimal.Decimal(x.denominator)).exp())
    return fmt.round_nearest(exact)


def _naive_survives(fmt: NumberFormat, hi: Fraction, lo: Fraction) -> bool:
    """Whether the naive softmax of [hi, lo], each step rounded to the format, keeps both probabilities > 0."""
    e_hi, e_lo = _exp_in(fmt, hi), _exp_in(fmt, lo)
    if e_hi is None or e_lo is None or e_lo == 0:
        return False
    total = fmt.round_nearest(e_hi + e_lo)
    return total is not None and fmt.round_nearest(e_lo / total) != 0 and fmt.round_nearest(e_hi / total) != 0


def _widest_hi(fmt: NumberFormat, lo: Fraction) -> Fraction | None:
    """The largest hi ≥ lo whose row [hi, lo] survives the naive softmax, or None.

    ``fl(e_lo / s)`` is non-zero iff ``s < 2·e_lo / min_subnormal`` (at equality, a tie rounds to the even 0),
    and ``s ≈ fl(exp(hi))``: so hi is the log of the midpoint below that bound, rounded down to the grid,
    then checked exactly (and stepped down in the rare case the sum's rounding spoils it).
    """
    e_lo = _exp_in(fmt, lo)
    if not e_lo:
        return None
    bound = 2 * e_lo / fmt.min_subnormal
    below = min(fmt.next_down(bound), fmt.max_finite)  # the largest value < bound that fl(exp(hi)) may take
    hi = fmt.round_down(_ln(below + fmt.spacing(below) / 2))  # exp(hi) under the midpoint rounds to ≤ below
    while hi >= lo and not _naive_survives(fmt, hi, lo):
        hi = fmt.next_down(hi)
    return hi if hi >= lo else None


def _widest_naive_row(fmt: NumberFormat) -> tuple[Fraction, Fraction] | None:
    """Logits ``(hi, lo)`` of the widest row whose naive softmax gives both classes a non-zero probability.

    The smallest probability ``fl(e_lo / e_hi)`` must exceed min_subnormal/2. Rounding up helps most
    where ``exp(lo)`` is just above min_subnormal/2 and becomes ``k·min_subnormal`` for a small k:
    those lo are the candidates. On the coarse argument grids of 8-bit formats, rows in the normal
    range can do better, so there every value of the format is tried as lo.
    """
    if fmt.is_integer:
        return None  # probabilities < 1 round to 0 or 1: no row of two logits survives
    candidates = [fmt.round_up(_ln((k - Fraction(1, 2)) * fmt.min_subnormal)) for k in range(1, _MAX_K + 1)]
    if 1 + fmt.exponent_bits + fmt.mantissa_bits <= 8:
        positives = fmt.positive_values()
        candidates += [-v for v in positives] + positives
    rows = [(hi - lo, hi, lo) for lo in candidates if (hi := _widest_hi(fmt, lo)) is not None]
    _, hi, lo = max(rows)
    return hi, lo


def limits_of(fmt: NumberFormat) -> ExpLimits:
    """Derive one row of the table from the format's parameters (see the module docstring).

    Examples:
        >>> limits_of(number_formats()[4]).max_arg  # float16: exp(11.0859375) = 65312 ≤ 65504
        11.0859375
    """
    overflow_at = fmt.overflow_at  # rounds to inf (NaN for e4m3fn)
    zero_at = fmt.min_subnormal / 2  # rounds to 0 (a tie, to the even 0)
    subnormal_below = fmt.min_normal - fmt.min_subnormal / 2 if not fmt.is_integer else zero_at
    row = _widest_naive_row(fmt)
    return ExpLimits(
        name=fmt.name,
        exponent_bits=fmt.exponent_bits,
        mantissa_bits=fmt.mantissa_bits,
        max_finite=float(fmt.max_finite),
        min_normal=float(fmt.min_normal),
        min_subnormal=float(fmt.min_subnormal),
        max_arg=float(fmt.round_down(_ln(overflow_at))),
        min_arg_normal=float(fmt.round_up(_ln(subnormal_below))),
        min_arg_nonzero=float(fmt.round_up(_ln(zero_at))),
        naive_spread=None if row is None else float(row[0] - row[1]),
        naive_row=None if row is None else (float(row[0]), float(row[1])),
        overflow=fmt.overflow,
        torch_dtype=fmt.torch_dtype,
    )


def exp_limits() -> list[ExpLimits]:
    """The whole table, one `ExpLimits` per format of `number_formats` (what ``softmaxreg numerics`` prints).

    Examples:
        >>> [(row.name, row.max_arg) for row in exp_limits()][-4:]
        [('float16', 11.0859375), ('float8_e4m3fn', 6.0), ('float8_e5m2', 10.0), ('int8', 4.0)]
    """
    return [limits_of(fmt) for fmt in number_formats()]


# (two-line heading, attribute, format spec): arguments of exp to 6 significant digits
_COLUMNS = (
    (("", "format"), "name", "s"),
    (("", "e"), "exponent_bits", "d"),
    (("", "m"), "mantissa_bits", "d"),
    (("largest", "finite"), "max_finite", ".4g"),
    (("smallest", "normal"), "min_normal", ".4g"),
    (("smallest", "subnormal"), "min_subnormal", ".4g"),
    (("exp(x) finite", "for x ≤"), "max_arg", ".6g"),
    (("exp(x) normal", "for x ≥"), "min_arg_normal", ".6g"),
    (("exp(x) > 0", "for x ≥"), "min_arg_nonzero", ".6g"),
    (("naive softmax", "spread ≤"), "naive_spread", ".6g"),
)

_NOTES = """\
e, m: exponent and stored mantissa bits. x: an argument of exp, a value of the format; exp(x) rounded
to the format is finite, normal (not subnormal) and non-zero from the bounds shown on. Naive softmax
spread: the widest row of logits (max − min) for which exp(o) / Σ exp(o), computed in the format,
gives every class a non-zero probability, at the best placement of the row; the stable softmax of
softmaxreg.functional has no such limit. tf32 is a matmul mode, never used for exp: its row is
derived as if it were. int8 holds the integers −128..127: probabilities below 1 round to 0 or 1, so
no row of two logits survives (—). float8_e4m3fn has no infinity: its overflow is NaN, or ±448 where
a cast saturates (torch 2.13's does)."""


def _cell(value: Any, spec: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return str(int(value))  # 65504, not 6.55e+04
    return format(value, spec)


def render_table(rows: list[ExpLimits] | None = None, notes: bool = True) -> str:
    """The table as fixed-width text for a terminal (``rows`` defaults to `exp_limits()`).

    Examples:
        >>> lines = render_table(notes=False).splitlines()
        >>> print("\\n".join(lines[1:3] + [line for line in lines if line.startswith("float16")]))
        format         e  m     finite     normal  subnormal       for x ≤       for x ≥    for x ≥      spread ≤
        ------------- -- -- ---------- ---------- ---------- ------------- ------------- ---------- -------------
        float16        5 10      65504  6.104e-05   5.96e-08       11.0859      -9.70312   -17.3281        18.021
    """
    rows = exp_limits() if rows is None else rows
    lines = [[heading[0] for heading, _, _ in _COLUMNS], [heading[1] for heading, _, _ in _COLUMNS]]
    lines += [[_cell(getattr(row, attr), spec) for _, attr, spec in _COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(_COLUMNS))]
    text = [
        " ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
        for line in lines
    ]
    text.insert(2, " ".join("-" * w for w in widths))
    return "\n".join([line.rstrip() for line in text] + (["", _NOTES] if notes else []))


# -- the naive reference: exp, then normalise, then log. Demonstrates the failure; never train with it.


def naive_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """The textbook ``exp(x) / Σ exp(x)``, without subtracting the maximum: overflows to NaN.

    Examples:
        >>> import torch
        >>> naive_softmax(torch.tensor([100.0, 0.0]))  # exp(100) overflows float32
        tensor([nan, 0.])
    """
    e = x.exp()
    return e / e.sum(dim=dim, keepdim=True)


def naive_log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log(naive_softmax(x))``: −inf wherever a probability underflowed to 0, NaN where it overflowed.

    Examples:
        >>> import torch
        >>> naive_log_softmax(torch.tensor([0.0, -200.0]))  # exp(-200) underflows float32
        tensor([0., -inf])
    """
    return naive_softmax(x, dim=dim).log()


def naive_cross_entropy(logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """d2l §4.4's ``-log(y_hat[range(n), y])`` on ``naive_softmax(logits)``: inf/NaN for large logits.

    Examples:
        >>> import torch
        >>> logits = torch.tensor([[1e4, 0.0], [0.0, -1e4]])  # overflow; underflow to log(0)
        >>> naive_cross_entropy(logits, torch.tensor([0, 1]), reduction="none")
        tensor([nan, inf])
    """
    losses = -naive_log_softmax(logits, dim=-1).gather(-1, y.unsqueeze(-1)).squeeze(-1)
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses
