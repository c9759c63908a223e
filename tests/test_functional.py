"""softmaxreg.functional against float64 oracles, gradcheck, hypothesis properties and defined edge cases."""

import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from softmaxreg import functional, numerics
from softmaxreg.errors import ConfigError

INF, NAN = math.inf, math.nan
F32_MAX = torch.finfo(torch.float32).max
# the float64 oracle: torch's own functions, run in float64 on the same (upcast) input
ORACLES = {
    "logsumexp": lambda x, dim: torch.logsumexp(x, dim=dim),
    "log_softmax": lambda x, dim: F.log_softmax(x, dim=dim),
    "softmax": lambda x, dim: F.softmax(x, dim=dim),
}
SHAPES = [(1,), (7,), (1, 1), (3, 5), (64, 10), (4, 3, 7), (2, 3, 4, 5)]
TOLERANCE = {  # (rtol, atol) of a result in this dtype against the float64 oracle
    torch.float64: (1e-12, 1e-12),
    torch.float32: (1e-5, 1e-6),
    torch.bfloat16: (1.6e-2, 1e-2),
    torch.float16: (2e-3, 1e-3),
}


def _case(shape, dtype, seed=0, scale=3.0):
    generator = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(shape, generator=generator, dtype=torch.float64)).to(dtype)


def _value_and_grad(fn, x, weights):
    x = x.detach().clone().requires_grad_()
    out = fn(x)
    (out.to(torch.float64) * weights).sum().backward()
    return out, x.grad


# -- oracle: values and gradients of every function, many shapes, every dim, four dtypes -------------


@pytest.mark.parametrize("dtype", list(TOLERANCE), ids=str)
@pytest.mark.parametrize("name", list(ORACLES))
def test_values_and_gradients_match_the_float64_oracle(name, dtype):
    ours, oracle = getattr(functional, name), ORACLES[name]
    rtol, atol = TOLERANCE[dtype]
    for i, shape in enumerate(SHAPES):
        for dim in range(-len(shape), len(shape)):
            x = _case(shape, dtype, seed=i)
            weights = torch.randn(oracle(x.double(), dim).shape, dtype=torch.float64)
            value, grad = _value_and_grad(lambda t, dim=dim: ours(t, dim=dim), x, weights)
            expected, expected_grad = _value_and_grad(lambda t, dim=dim: oracle(t, dim), x.double(), weights)
            assert value.dtype == dtype and grad.dtype == dtype
            torch.testing.assert_close(value.double(), expected, rtol=rtol, atol=atol)
            torch.testing.assert_close(grad.double(), expected_grad, rtol=rtol, atol=10 * atol)


@pytest.mark.parametrize("dtype", list(TOLERANCE), ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_value_and_gradient_match_the_float64_oracle(reduction, dtype):
    rtol, atol = TOLERANCE[dtype]
    for i, shape in enumerate([(1, 1), (1, 2), (5, 3), (64, 10), (256, 10), (8, 100), (2, 3, 4)]):
        logits = _case(shape, dtype, seed=i)
        y = torch.randint(0, shape[-1], shape[:-1], generator=torch.Generator().manual_seed(i))
        weights = torch.randn(shape[:-1] if reduction == "none" else (), dtype=torch.float64)
        value, grad = _value_and_grad(lambda t, y=y: functional.cross_entropy(t, y, reduction), logits, weights)

        def oracle(t, y=y, shape=shape):
            return F.cross_entropy(t.reshape(-1, shape[-1]), y.reshape(-1), reduction=reduction)

        expected, expected_grad = _value_and_grad(
            lambda t, shape=shape, oracle=oracle: oracle(t).reshape(shape[:-1]) if reduction == "none" else oracle(t),
            logits.double(),
            weights,
        )
        assert value.dtype == dtype and grad.dtype == dtype and value.shape == expected.shape
        torch.testing.assert_close(value.double(), expected, rtol=rtol, atol=atol)
        torch.testing.assert_close(grad.double(), expected_grad, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", list(ORACLES))
def test_gradcheck_float64(name):
    fn = getattr(functional, name)
    for shape, dim in [((4, 6), -1), ((4, 6), 0), ((2, 3, 5), 1)]:
        x = _case(shape, torch.float64, scale=5.0).requires_grad_()
        assert torch.autograd.gradcheck(lambda t, dim=dim: fn(t, dim=dim), (x,))
        assert torch.autograd.gradgradcheck(lambda t, dim=dim: fn(t, dim=dim), (x,))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_gradcheck_float64(reduction):
    for shape in [(1, 2), (6, 4), (3, 2, 5)]:
        logits = _case(shape, torch.float64, scale=5.0).requires_grad_()
        y = torch.randint(0, shape[-1], shape[:-1], generator=torch.Generator().manual_seed(1))
        assert torch.autograd.gradcheck(lambda t, y=y: functional.cross_entropy(t, y, reduction), (logits,))


def test_cross_entropy_refuses_second_derivatives_instead_of_returning_wrong_ones():
    logits = _case((3, 4), torch.float64).requires_grad_()
    loss = functional.cross_entropy(logits, torch.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match=r"differentiable once; for second derivatives use -log_softmax"):
        torch.autograd.grad(loss, logits, create_graph=True)


def test_backward_twice_with_retain_graph_gives_the_same_gradient():
    logits = _case((5, 3), torch.float32).requires_grad_()
    loss = functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0, 1]))
    first = torch.autograd.grad(loss, logits, retain_graph=True)[0]
    torch.testing.assert_close(torch.autograd.grad(loss, logits)[0], first, rtol=0, atol=0)


def test_a_gradient_modified_in_place_never_leaks_into_the_next_backward():
    """``loss.backward()`` may receive the precomputed gradient itself (no copy): editing it must not
    silently change what a retained graph's next backward returns (torch refuses instead)."""
    logits = _case((5, 3), torch.float32).requires_grad_()
    loss = functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0, 1]))
    first = torch.autograd.grad(loss, logits, retain_graph=True)[0]
    expected = first.clone()
    first.add_(1.0)
    try:
        second = torch.autograd.grad(loss, logits)[0]
    except RuntimeError as error:
        assert "modified by an inplace operation" in str(error)
    else:
        torch.testing.assert_close(second, expected, rtol=0, atol=0)


@pytest.mark.parametrize("upstream", [1.0, 2.5, 0.0])
def test_gradient_scales_with_the_upstream_gradient(upstream):
    logits = _case((4, 3), torch.float64).requires_grad_()
    y = torch.tensor([0, 1, 2, 1])
    (functional.cross_entropy(logits, y) * upstream).backward()
    expected = (torch.softmax(logits.detach(), 1) - torch.nn.functional.one_hot(y, 3)) / 4 * upstream
    torch.testing.assert_close(logits.grad, expected)


def test_integer_label_dtypes_give_the_same_loss():
    logits, y = _case((6, 4), torch.float32), torch.tensor([0, 3, 1, 2, 2, 0])
    expected = functional.cross_entropy(logits, y, "none")
    for dtype in (torch.int32, torch.int16, torch.int8, torch.uint8):
        torch.testing.assert_close(functional.cross_entropy(logits, y.to(dtype), "none"), expected, rtol=0, atol=0)


def test_empty_batch_mean_is_nan_like_torch():
    logits, y = torch.zeros(0, 3), torch.zeros(0, dtype=torch.int64)
    assert functional.cross_entropy(logits, y).isnan()
    assert functional.cross_entropy(logits, y, "sum").item() == 0
    assert functional.cross_entropy(logits, y, "none").shape == (0,)


# -- defined results for −inf, +inf, NaN, all −inf (the table of the module docstring) --------------

EDGE_ROWS = {
    # row: (logsumexp, softmax, log_softmax, losses for y = 0, 1, 2)
    "one finite among -inf": ([-INF, 3.0, -INF], 3.0, [0, 1, 0], [-INF, 0, -INF], [INF, 0, INF]),
    "some -inf": (
        [-INF, 0.0, 0.0],
        math.log(2),
        [0, 0.5, 0.5],
        [-INF, -math.log(2), -math.log(2)],
        [INF, math.log(2), math.log(2)],
    ),
    "all -inf": ([-INF, -INF, -INF], -INF, [NAN] * 3, [NAN] * 3, [NAN] * 3),
    "+inf": ([INF, 0.0, 1.0], INF, [NAN] * 3, [NAN] * 3, [NAN] * 3),
    "two +inf": ([INF, INF, 0.0], INF, [NAN] * 3, [NAN] * 3, [NAN] * 3),
    "NaN": ([NAN, 0.0, 1.0], NAN, [NAN] * 3, [NAN] * 3, [NAN] * 3),
    "NaN and +inf": ([NAN, INF, -INF], NAN, [NAN] * 3, [NAN] * 3, [NAN] * 3),
}


def _same(actual, expected):
    torch.testing.assert_close(actual, torch.tensor(expected, dtype=actual.dtype), equal_nan=True, rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("case", list(EDGE_ROWS))
def test_edge_rows_have_the_documented_results_and_leave_other_rows_alone(case, dtype):
    row, lse, probs, log_probs, losses = EDGE_ROWS[case]
    ordinary = [1.0, 2.0, 3.0]
    x = torch.tensor([ordinary, row, ordinary], dtype=dtype)
    _same(functional.logsumexp(x)[1], lse)
    _same(functional.softmax(x)[1], probs)
    _same(functional.log_softmax(x)[1], log_probs)
    # dim 0: the same rows as columns
    _same(functional.softmax(x.T, dim=0)[:, 1], probs)
    for y, loss in enumerate(losses):
        _same(functional.cross_entropy(x, torch.tensor([0, y, 0]), "none")[1], loss)
    for name in ("softmax", "log_softmax"):
        clean = getattr(functional, name)(torch.tensor([ordinary], dtype=dtype))[0]
        torch.testing.assert_close(getattr(functional, name)(x)[0], clean, rtol=0, atol=0)
        torch.testing.assert_close(getattr(functional, name)(x)[2], clean, rtol=0, atol=0)


@pytest.mark.parametrize("case", list(EDGE_ROWS))
def test_edge_rows_agree_with_torch(case):
    x = torch.tensor([EDGE_ROWS[case][0]])
    _same(functional.logsumexp(x), torch.logsumexp(x, -1).tolist())
    _same(functional.softmax(x), F.softmax(x, -1).tolist())
    _same(functional.log_softmax(x), F.log_softmax(x, -1).tolist())
    for y in range(3):
        _same(functional.cross_entropy(x, torch.tensor([y])), F.cross_entropy(x, torch.tensor([y])).item())


def test_gradient_is_softmax_minus_onehot_even_when_the_loss_is_infinite():
    logits = torch.tensor([[-INF, 3.0, -INF], [1.0, 2.0, 3.0]], requires_grad=True)
    loss = functional.cross_entropy(logits, torch.tensor([0, 2]), "sum")
    loss.backward()
    assert loss.item() == INF
    expected = functional.softmax(logits.detach()) - F.one_hot(torch.tensor([0, 2]), 3)
    torch.testing.assert_close(logits.grad, expected)
    assert torch.isfinite(logits.grad).all()


def test_nan_rows_give_nan_gradients_only_in_their_row():
    logits = torch.tensor([[NAN, 0.0], [INF, 0.0], [1.0, 2.0]], requires_grad=True)
    functional.cross_entropy(logits, torch.tensor([0, 1, 1]), "sum").backward()
    assert logits.grad[:2].isnan().all() and logits.grad[2].isfinite().all()


def test_logsumexp_gradient_at_edge_rows_matches_torch():
    for row in ([-INF, 1.0], [INF, 0.0], [-INF, -INF]):
        ours, theirs = (torch.tensor([row], requires_grad=True) for _ in range(2))
        functional.logsumexp(ours).sum().backward()
        torch.logsumexp(theirs, -1).sum().backward()
        torch.testing.assert_close(ours.grad, theirs.grad, equal_nan=True)


# -- float16 / bfloat16: computed in float32, returned in the input dtype ----------------------------


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_low_precision_is_computed_in_float32_and_returned_in_its_dtype(dtype):
    x = _case((16, 10), dtype, scale=4.0)
    y = torch.arange(16) % 10
    for name in ("logsumexp", "softmax", "log_softmax"):
        ours = getattr(functional, name)(x)
        assert ours.dtype == dtype
        assert torch.equal(ours, getattr(functional, name)(x.float()).to(dtype))  # one rounding, at the end
    loss = functional.cross_entropy(x.requires_grad_(), y, "none")
    assert loss.dtype == dtype
    assert torch.equal(loss, functional.cross_entropy(x.detach().float(), y, "none").to(dtype))
    loss.sum().backward()
    assert x.grad.dtype == dtype


def test_float16_logits_near_its_maximum_do_not_overflow_inside():
    x = torch.tensor([[60000.0, 0.0, -60000.0]], dtype=torch.float16)  # exp(11.1) already overflows float16
    assert functional.cross_entropy(x, torch.tensor([1])).item() == 60000
    assert functional.softmax(x).tolist() == [[1.0, 0.0, 0.0]]
    assert functional.log_softmax(x)[0, :2].tolist() == [0.0, -60000.0]
    assert numerics.naive_softmax(x).isnan().any()


# -- validation: a clear ConfigError before any arithmetic -------------------------------------------


@pytest.mark.parametrize(
    ("logits", "y", "match"),
    [
        (
            torch.zeros(4, 10),
            torch.tensor([0, 1, 10, 2]),
            r"`y` must hold class indices in 0\.\.9 \(10 classes\); got 10\.",
        ),
        (
            torch.zeros(2, 3),
            torch.tensor([-1, 0]),
            r"`y` must hold class indices in 0\.\.2 \(3 classes\); got -1\. "
            r"Labels starting at 1 need y - 1",
        ),
        (
            torch.zeros(2, 3),
            torch.tensor([0.0, 1.0]),
            r"`y` must hold integer class indices; got dtype torch\.float32\. Convert with y\.long\(\)\.",
        ),
        (torch.zeros(2, 3), torch.tensor([True, False]), r"`y` must hold integer class indices; got dtype torch\.bool"),
        (
            torch.zeros(2, 3),
            torch.tensor([[0], [1]]),
            r"`y` must have shape \(2,\) to match `logits` of shape \(2, 3\); got \(2, 1\)\. "
            r"Flatten it with y\.reshape\(-1\)\.",
        ),
        (torch.zeros(2, 3), torch.tensor([0, 1, 2]), r"`y` must have shape \(2,\) .*; got \(3,\)"),
        (torch.zeros(2, 3), [0, 1], r"`y` must be a tensor of class indices; got list"),
        (
            torch.zeros(2, 3, dtype=torch.int64),
            torch.tensor([0, 1]),
            r"`logits` must be a floating-point tensor; "
            r"got dtype torch\.int64",
        ),
        (torch.tensor(1.0), torch.tensor(0), r"`logits` must have shape \(batch_size, num_outputs\)"),
        (torch.zeros(2, 0), torch.tensor([0, 0]), r"num_outputs ≥ 1; got \(2, 0\)"),
    ],
)
def test_bad_labels_raise_a_clear_config_error(logits, y, match):
    with pytest.raises(ConfigError, match=match):
        functional.cross_entropy(logits, y)


@pytest.mark.parametrize("y", [[0, 3], [-1, 0]])
def test_bad_labels_fail_before_any_arithmetic(monkeypatch, y):
    calls = []
    for name in ("amax", "exp", "exp_", "sum", "log", "__sub__"):
        original = getattr(torch.Tensor, name)
        monkeypatch.setattr(torch.Tensor, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    with pytest.raises(ConfigError, match="must hold class indices in 0..2") as error:
        functional.cross_entropy(torch.zeros(2, 3, requires_grad=True), torch.tensor(y))
    assert calls == []
    assert error.value.__suppress_context__  # one clear error, not torch's gather error chained to it


def test_unknown_reduction_and_integer_inputs_raise_config_errors():
    with pytest.raises(ConfigError, match=r"`reduction` must be one of 'mean', 'sum', 'none'; got 'avg'\."):
        functional.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), reduction="avg")
    for name in ("logsumexp", "softmax", "log_softmax"):
        with pytest.raises(ConfigError, match=r"`x` must be a floating-point tensor; got dtype torch\.int64"):
            getattr(functional, name)(torch.arange(3))


# -- properties (hypothesis) -------------------------------------------------------------------------


def _logit_rows(elements, max_rows=8, max_classes=12, dtype=np.float64):
    shape = st.tuples(st.integers(1, max_rows), st.integers(1, max_classes))
    return hnp.arrays(dtype, shape, elements=elements)


@settings(max_examples=60, deadline=None)
@given(_logit_rows(st.floats(-1e30, 1e30)), st.sampled_from([torch.float64, torch.float32]))
def test_softmax_rows_sum_to_one(array, dtype):
    p = functional.softmax(torch.from_numpy(array).to(dtype))
    assert p.isfinite().all() and (p >= 0).all()
    torch.testing.assert_close(p.sum(-1), torch.ones(len(p), dtype=dtype), rtol=0, atol=array.shape[1] * 2e-7)


@settings(max_examples=60, deadline=None)
@given(_logit_rows(st.floats(-1e3, 1e3)), hnp.arrays(np.float64, 8, elements=st.floats(-1e3, 1e3)))
def test_adding_a_constant_per_row_changes_nothing(array, shift):
    x = torch.from_numpy(array)
    c = torch.from_numpy(shift[: len(array), None])
    y = torch.zeros(len(x), dtype=torch.int64)
    torch.testing.assert_close(functional.softmax(x + c), functional.softmax(x), rtol=0, atol=1e-12)
    torch.testing.assert_close(functional.log_softmax(x + c), functional.log_softmax(x), rtol=0, atol=1e-9)
    torch.testing.assert_close(functional.logsumexp(x + c), functional.logsumexp(x) + c[:, 0], rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(
        functional.cross_entropy(x + c, y, "none"), functional.cross_entropy(x, y, "none"), rtol=0, atol=1e-9
    )


def _exact_losses(logits, y):
    """Per-row loss ``log Σ exp(o − o_y)`` of float32 logits in float64: no overflow, no cancellation."""
    o = logits.double()
    return torch.logsumexp(o - o.gather(1, y[:, None]), -1)


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from([1e4, 1e30, F32_MAX]),
    _logit_rows(st.floats(-1.0, 1.0, width=32), max_rows=6, max_classes=10, dtype=np.float32),
    st.data(),
)
def test_huge_logits_give_finite_loss_and_gradient_where_naive_overflows(scale, unit, data):
    logits = torch.from_numpy(unit).double().mul(scale).clamp(-F32_MAX, F32_MAX).float()
    logits[:, 0] = scale if scale < F32_MAX else F32_MAX  # one huge logit per row: naive exp overflows
    y = torch.tensor(data.draw(st.lists(st.integers(0, unit.shape[1] - 1), min_size=len(unit), max_size=len(unit))))
    exact = _exact_losses(logits, y)

    logits.requires_grad_()
    losses = functional.cross_entropy(logits, y, "none")
    representable = exact.float().isfinite()  # the exact loss rounds to a finite float32
    assert losses[representable].isfinite().all()
    torch.testing.assert_close(losses[representable].double(), exact[representable], rtol=1e-6, atol=1e-6)
    assert (losses[~representable] == INF).all()  # the exact loss rounds past float32's max: honest +inf
    losses.sum().backward()
    assert logits.grad.isfinite().all() and logits.grad.abs().max() <= 1

    naive = numerics.naive_cross_entropy(logits.detach(), y, "none")
    assert not naive.isfinite().any()


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([1e4, 1e30, F32_MAX]),
    _logit_rows(st.floats(0.0, 1.0, width=32), max_rows=64, max_classes=10, dtype=np.float32),
)
def test_mean_loss_of_logits_up_to_the_float32_maximum_is_finite(scale, unit):
    logits = torch.from_numpy(unit).double().mul(scale).clamp(max=F32_MAX).float().requires_grad_()
    y = torch.arange(len(unit)) % unit.shape[1]
    loss = functional.cross_entropy(logits, y)  # each loss ≤ F32_MAX, so their mean is too
    assert loss.isfinite()
    torch.testing.assert_close(loss.double(), _exact_losses(logits.detach(), y).mean(), rtol=1e-5, atol=1e-6)
    loss.backward()
    assert logits.grad.isfinite().all()
    for name in ("softmax", "log_softmax", "logsumexp"):
        assert getattr(functional, name)(logits.detach()).isfinite().all()


@settings(max_examples=60, deadline=None)
@given(_logit_rows(st.floats(-20.0, 20.0, width=32), max_rows=64, max_classes=20, dtype=np.float32), st.data())
def test_agrees_with_torch_cross_entropy_on_ordinary_logits(unit, data):
    logits = torch.from_numpy(unit)
    y = torch.tensor(data.draw(st.lists(st.integers(0, unit.shape[1] - 1), min_size=len(unit), max_size=len(unit))))
    for reduction in ("mean", "sum"):
        ours, theirs = (logits.clone().requires_grad_() for _ in range(2))
        value = functional.cross_entropy(ours, y, reduction)
        expected = F.cross_entropy(theirs, y, reduction=reduction)
        # atol: log Σ exp(o − ō) rounds Σ ≥ 1 to float32: tiny losses agree to a few ulps of 1, not 1e-6 relative
        torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-6)
        value.backward()
        expected.backward()
        # softmax − 1 at the true class cancels: each side carries a few float32 ulps of 1 (1.2e-7 each),
        # from summing exp(o − ō) in a different order
        torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-6, atol=5e-7)
    losses = functional.cross_entropy(logits, y, "none")
    torch.testing.assert_close(losses, F.cross_entropy(logits, y, reduction="none"), rtol=1e-6, atol=1e-6)


# -- accuracy (the Trainer's exact epoch metrics rely on float64) -------------------------------------


def test_accuracy_is_a_float64_mean_and_per_row_float32():
    logits, y = torch.eye(4), torch.tensor([0, 1, 0, 0])
    assert functional.accuracy(logits, y).dtype == torch.float64
    assert functional.accuracy(logits, y).item() == 0.5
    assert functional.accuracy(logits, y, averaged=False).tolist() == [1, 1, 0, 0]


# -- CUDA (run where a GPU exists; skipped elsewhere) -------------------------------------------------

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_cuda_results_and_gradients_match_the_cpu(dtype):
    rtol, atol = TOLERANCE[dtype]
    logits = _case((256, 10), dtype, scale=5.0)
    y = torch.arange(256) % 10
    for reduction in ("mean", "none"):
        cpu, gpu = logits.clone().requires_grad_(), logits.cuda().requires_grad_()
        on_cpu, on_gpu = functional.cross_entropy(cpu, y, reduction), functional.cross_entropy(gpu, y.cuda(), reduction)
        assert on_gpu.dtype == dtype and on_gpu.device.type == "cuda"
        torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=rtol, atol=atol)
        on_cpu.sum().backward()
        on_gpu.sum().backward()
        torch.testing.assert_close(gpu.grad.cpu(), cpu.grad, rtol=rtol, atol=atol)
    for name in ORACLES:
        torch.testing.assert_close(
            getattr(functional, name)(logits.cuda()).cpu(), getattr(functional, name)(logits), rtol=rtol, atol=atol
        )


@needs_cuda
def test_cuda_huge_logits_stay_finite():
    logits = torch.tensor([[F32_MAX, 0.0, 1e30], [1e4, -1e4, 0.0]], device="cuda", requires_grad=True)
    loss = functional.cross_entropy(logits, torch.tensor([1, 2], device="cuda"))
    loss.backward()
    assert loss.isfinite() and logits.grad.isfinite().all()


@needs_cuda
def test_cuda_bad_labels_raise_a_config_error_not_a_device_assert():
    with pytest.raises(ConfigError, match=r"class indices in 0\.\.2 \(3 classes\); got 3\."):
        functional.cross_entropy(torch.zeros(2, 3, device="cuda"), torch.tensor([0, 3], device="cuda"))
    assert torch.ones(2, device="cuda").sum().item() == 2  # the CUDA context is still usable
