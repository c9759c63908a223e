"""The number-format table, cell by cell against torch, and the naive reference it explains.

Each cell of `softmaxreg.numerics.exp_limits()` is derived from the format's parameters; here it is
checked against what torch computes in that dtype: ``torch.exp`` for float64, float32, bfloat16 and
float16; for the float8 dtypes, where torch has no ``exp`` kernel, ``exp`` in float64 then a cast to
the float8 dtype (torch's own rounding). TF32 (not a dtype) is emulated by rounding float32 to 10
mantissa bits; int8 by rounding float64 to the nearest integer. Neighbouring arguments come from the
dtype's bit patterns, independently of the code under test.
"""

import json
import math
import subprocess
import sys

import pytest
import torch
from conftest import SRC, run_cli

from softmaxreg import functional, numerics

ROWS = {row.name: row for row in numerics.exp_limits()}
FLOAT8 = (torch.float8_e4m3fn, torch.float8_e5m2)
TORCH_DTYPES = (torch.float64, torch.float32, torch.bfloat16, torch.float16, *FLOAT8)
BITS = {8: torch.int8, 16: torch.int16, 32: torch.int32, 64: torch.int64}
DEVICES = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]  # CUDA's exp is a different implementation
# CUDA's float64 exp is not correctly rounded at the very bottom: it returns 0 for every x ≤ −745 (seen with
# torch 2.11 on an H200), where the exact result still rounds to the smallest subnormal down to −745.1332.
CUDA_FLOAT64_EXP_IS_ZERO_FROM = -745.0


def _row(dtype):
    return ROWS[str(dtype).removeprefix("torch.")]


def _value(x, dtype):
    """``x`` as a one-element tensor of ``dtype``; ``x`` must be exactly a value of the dtype."""
    t = torch.tensor([x], dtype=torch.float64).to(dtype)
    assert t.double().item() == x, f"{x} is not a {dtype} value"
    return t


def _exp(x, dtype, device="cpu"):
    t = _value(x, dtype).to(device)
    if dtype in FLOAT8:  # torch has no float8 exp kernel: exp in float64, then torch's float8 rounding
        return t.double().exp().to(dtype).double().item()
    return torch.exp(t).double().item()


def _step(x, dtype, up):
    """The next value of ``dtype`` above (``up``) or below ``x ≠ 0``, from the bit pattern."""
    bits = _value(x, dtype).view(BITS[torch.finfo(dtype).bits])
    toward_larger_magnitude = up == (x > 0)
    return (bits + (1 if toward_larger_magnitude else -1)).view(dtype).double().item()


def _faithful(result, x, dtype):
    """``result`` is finite and within an ulp (eps·e**x) of the true ``e**x``: not overflowed, not saturated."""
    try:
        true = math.exp(x)
    except OverflowError:
        return False
    return math.isfinite(result) and abs(result - true) <= torch.finfo(dtype).eps * true


# -- the format parameters are torch's ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
def test_format_parameters_match_torch_finfo(dtype):
    row, info = _row(dtype), torch.finfo(dtype)
    assert (row.max_finite, row.min_normal) == (info.max, info.smallest_normal)
    assert row.min_subnormal == info.smallest_normal * info.eps  # eps = 2**-mantissa_bits
    assert info.eps == 2.0**-row.mantissa_bits and info.bits == 1 + row.exponent_bits + row.mantissa_bits
    assert row.torch_dtype == str(dtype).removeprefix("torch.")


def test_int8_and_tf32_parameters():
    int8, tf32, f32 = ROWS["int8"], ROWS["tf32"], ROWS["float32"]
    assert (int8.max_finite, int8.min_normal, int8.min_subnormal) == (torch.iinfo(torch.int8).max, 1, 1)
    assert (tf32.exponent_bits, tf32.mantissa_bits, tf32.min_normal) == (8, 10, f32.min_normal)
    assert tf32.max_finite == (2 - 2**-10) * 2.0**127 and tf32.min_subnormal == 2.0**-136


# -- exp: each cell against torch.exp in its dtype ----------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
def test_max_arg_is_the_last_argument_whose_exp_does_not_overflow(dtype, device):
    x = _row(dtype).max_arg
    assert _faithful(_exp(x, dtype, device), x, dtype)
    above = _step(x, dtype, up=True)
    result = _exp(above, dtype, device)
    assert not _faithful(result, above, dtype)  # inf, NaN, or saturated at the max (float8_e4m3fn)
    if dtype == torch.float8_e4m3fn:  # no infinity: torch 2.11's cast gives NaN, 2.13's saturates silently
        assert math.isnan(result) or result == 448.0
    else:
        assert result == math.inf


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
def test_min_arg_normal_is_the_first_argument_whose_exp_is_normal(dtype, device):
    x, tiny = _row(dtype).min_arg_normal, torch.finfo(dtype).smallest_normal
    assert _exp(x, dtype, device) >= tiny
    assert 0 < _exp(_step(x, dtype, up=False), dtype, device) < tiny  # a subnormal


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
def test_min_arg_nonzero_is_the_first_argument_whose_exp_is_not_zero(dtype, device):
    x = _row(dtype).min_arg_nonzero
    if device == "cuda" and dtype == torch.float64:
        assert x < CUDA_FLOAT64_EXP_IS_ZERO_FROM < x + 0.14
        x = _step(CUDA_FLOAT64_EXP_IS_ZERO_FROM, dtype, up=True)  # -744.9999999999999
    assert _exp(x, dtype, device) > 0
    assert _exp(_step(x, dtype, up=False), dtype, device) == 0


# -- the naive softmax's widest row, against a naive softmax computed in the dtype --------------------


def _round_float8(exact, dtype):
    """torch's cast of float64 to float8 and back; past the max, inf (whatever the torch version's cast gives)."""
    largest, second = _all_finite_values(dtype)[-2:].double().flip(0).tolist()
    beyond = exact.abs() >= largest + (largest - second) / 2  # rounds past the max: overflow, not the max
    return exact.to(dtype).double().where(~beyond, math.inf)


def _naive_survives(hi, lo, dtype):
    """Naive softmax of rows [hi, lo] in ``dtype``: finite, non-zero probabilities (tensors of rows)."""
    x = torch.stack([hi, lo], dim=-1)
    if dtype in FLOAT8:  # every operation in float64, rounded to float8 by torch after each one
        e = _round_float8(x.double().exp(), dtype)
        p = _round_float8(e / _round_float8(e.sum(-1, keepdim=True), dtype), dtype)
    else:
        p = numerics.naive_softmax(x)
    return (p.isfinite() & (p > 0)).all(-1)


@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
def test_the_widest_naive_row_survives_and_its_neighbours_do_not(dtype):
    row = _row(dtype)
    hi, lo = row.naive_row
    assert hi - lo == row.naive_spread
    assert _naive_survives(_value(hi, dtype), _value(lo, dtype), dtype).item()
    assert not _naive_survives(_value(_step(hi, dtype, up=True), dtype), _value(lo, dtype), dtype).item()
    if dtype not in FLOAT8:  # coarse float8 grids may take k > 1 (see the exhaustive test)
        assert not _naive_survives(_value(hi, dtype), _value(_step(lo, dtype, up=False), dtype), dtype).item()
    # the stable softmax does not care
    x = _value(hi, dtype).repeat(2)
    x[1] = lo - 10 * row.naive_spread if dtype != torch.float8_e4m3fn else -448.0
    assert functional.log_softmax(x.float()).isfinite().all()


def _all_finite_values(dtype):
    bits = torch.finfo(dtype).bits
    patterns = torch.arange(2**bits, dtype=torch.int64).to(BITS[bits])
    values = patterns.view(dtype).double()
    return values[values.isfinite()].unique().to(dtype)  # sorted ascending


@pytest.mark.parametrize("dtype", FLOAT8, ids=str)
def test_float8_widest_naive_row_is_the_widest_of_all_pairs(dtype):
    values = _all_finite_values(dtype)
    hi, lo = torch.meshgrid(values, values, indexing="ij")
    survives = _naive_survives(hi.flatten(), lo.flatten(), dtype)
    hi, lo = hi.double().flatten(), lo.double().flatten()
    spreads = (hi - lo)[survives & (hi >= lo)]
    assert spreads.max().item() == _row(dtype).naive_spread


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_16_bit_widest_naive_row_is_the_widest_of_all_pairs(dtype):
    """For each lo, the surviving hi ≥ lo form an interval [lo, H(lo)]: bisect all lo at once."""
    values = _all_finite_values(dtype)
    n = len(values)
    start = torch.arange(n)
    alive = _naive_survives(values, values, dtype)  # hi = lo
    good, bad = start.clone(), torch.full((n,), n)
    while (bad - good > 1).any():
        mid = torch.minimum((good + bad) // 2, torch.tensor(n - 1))
        ok = _naive_survives(values[mid], values, dtype) & (bad - good > 1)
        good, bad = torch.where(ok, mid, good), torch.where(ok | (bad - good <= 1), bad, mid)
    spreads = values[good].double() - values.double()
    assert spreads[alive].max().item() == _row(dtype).naive_spread


# -- TF32 and int8: derived, checked by emulation ------------------------------------------------------


def _to_tf32(x):
    """Round float32 to TF32's 10 mantissa bits, to nearest, ties to even (what tensor cores do)."""
    bits = x.view(torch.int32)
    rounded = (bits + 0xFFF + ((bits >> 13) & 1)) & ~0x1FFF
    return rounded.view(torch.float32)


def _exp_tf32(x):
    t = torch.tensor([x], dtype=torch.float32)
    assert _to_tf32(t).item() == x
    return _to_tf32(torch.tensor([x], dtype=torch.float64).exp().float()).item()


def _step_tf32(x, up):
    bits = torch.tensor([x], dtype=torch.float32).view(torch.int32)
    return (bits + (2**13 if up == (x > 0) else -(2**13))).view(torch.float32).item()


def test_tf32_cells_by_emulation():
    row = ROWS["tf32"]
    assert math.isfinite(_exp_tf32(row.max_arg)) and _exp_tf32(_step_tf32(row.max_arg, up=True)) == math.inf
    assert _exp_tf32(row.min_arg_normal) >= row.min_normal > _exp_tf32(_step_tf32(row.min_arg_normal, up=False))
    assert _exp_tf32(row.min_arg_nonzero) > 0 == _exp_tf32(_step_tf32(row.min_arg_nonzero, up=False))


def test_int8_cells_by_rounding_exp_to_integers():
    row = ROWS["int8"]
    args = torch.arange(-128, 128, dtype=torch.float64)
    rounded = args.exp().round()  # half to even, like a cast of the exact value
    fits = (rounded <= 127) & (rounded > 0)
    assert (args[fits].max().item(), args[fits].min().item()) == (row.max_arg, row.min_arg_nonzero)
    assert row.min_arg_normal == row.min_arg_nonzero  # no subnormals
    assert torch.tensor([148]).to(torch.int8).item() == -108  # too large wraps around, hence "wraps"
    assert row.naive_spread is None and row.naive_row is None
    assert torch.tensor([0.5]).round().item() == 0  # p = 1/2 of two equal logits rounds to 0


def test_derivation_uses_only_the_parameters():
    f16 = numerics.ieee_format("float16", 5, 10, None)
    row = numerics.limits_of(f16)
    assert (row.max_arg, row.min_arg_normal, row.min_arg_nonzero) == (
        ROWS["float16"].max_arg,
        ROWS["float16"].min_arg_normal,
        ROWS["float16"].min_arg_nonzero,
    )
    assert row.torch_dtype is None


# -- the table in a terminal and as data ---------------------------------------------------------------


def test_render_table_lists_every_format_with_its_cells():
    text = numerics.render_table()
    lines = text.splitlines()
    for name, row in ROWS.items():
        (line,) = [line for line in lines if line.startswith(name + " ")]
        assert f"{row.max_arg:.6g}".removesuffix(".0") in line
    assert max(len(line) for line in lines) <= 110
    assert "709.783" in text and "88.7228" in text and "11.0859" in text and "—" in text


def test_cli_numerics_prints_the_table_and_json():
    result = run_cli("numerics")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == numerics.render_table().strip()
    result = run_cli("numerics", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [entry["name"] for entry in data] == list(ROWS)
    assert data[1]["max_arg"] == ROWS["float32"].max_arg and data[-1]["naive_spread"] is None


def test_cli_numerics_never_imports_torch():
    code = "import sys; from softmaxreg.commands.cli import main; main(['numerics']); print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(SRC)}, timeout=60
    )
    assert result.stdout.strip().endswith("False"), result.stderr


# -- the naive reference: right on ordinary inputs, wrong beyond the table's limits -------------------


def test_naive_reference_agrees_with_the_stable_functions_on_ordinary_logits():
    logits = torch.randn(32, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.arange(32) % 10
    torch.testing.assert_close(numerics.naive_softmax(logits), functional.softmax(logits))
    torch.testing.assert_close(numerics.naive_log_softmax(logits), functional.log_softmax(logits))
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(
            numerics.naive_cross_entropy(logits, y, reduction), functional.cross_entropy(logits, y, reduction)
        )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_naive_reference_breaks_just_past_max_arg_and_the_stable_one_does_not(dtype):
    x_max = _row(dtype).max_arg
    logits = torch.tensor([[_step(x_max, dtype, up=True), 0.0]], dtype=dtype)
    assert numerics.naive_softmax(logits).isnan().any()
    assert numerics.naive_cross_entropy(logits, torch.tensor([0])).isnan()
    assert functional.cross_entropy(logits, torch.tensor([0])).isfinite()
    fine = torch.tensor([[x_max, 0.0]], dtype=dtype)
    assert numerics.naive_softmax(fine).isfinite().all()
