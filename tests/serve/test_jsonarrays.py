"""The fast JSON reads of `softmaxreg.serve.jsonarrays`: on any body, they give exactly what the ordinary
read (orjson, then numpy) gives, or step aside (None); never a different array.

Bodies are well-formed images and batches, then mutated the ways that fool a reader that only counts
numbers: a row one number short and another one long (the same total), a number replaced by ``[]``,
``[x, y]``, null, a string, a boolean or an object, extra keys, a nested ``data``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softmaxreg.serve import jsonarrays

pytestmark = pytest.mark.skipif(not jsonarrays.AVAILABLE, reason="pysimdjson is not installed (the serve extra)")
STRANGE = [[], [0.25, 0.5], None, "0.5", True, {"a": 1}, [[0.5]]]


@st.composite
def pixel_bodies(draw):
    """``(value, one, proper)``: a ``pixels`` value for images of shape ``one``, and whether it is one."""
    one = (draw(st.integers(2, 4)), draw(st.integers(2, 4)))
    if draw(st.booleans()):
        one = (*one, 3)
    batch = draw(st.booleans())
    shape = ((draw(st.integers(1, 3)),) if batch else ()) + one
    value = np.round(draw(st.lists(st.floats(0, 1), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))), 3)
    value = value.reshape(shape).tolist()
    for _ in range(draw(st.integers(0, 2))):
        rows = _rows(value, len(shape))
        kind = draw(st.sampled_from(["strange", "move", "drop", "add"]))
        row = draw(st.sampled_from(rows))
        if kind == "strange":
            row[draw(st.integers(0, len(row) - 1))] = draw(st.sampled_from(STRANGE))
        elif kind == "move" and len(rows) > 1:  # one row a number short, another one long: the same count
            other = draw(st.sampled_from([r for r in rows if r is not row]))
            other.append(row.pop())
        elif kind == "drop":
            row.pop()
        elif kind == "add":
            row.append(0.5)
    return value, one, _nested_as(value, one) or _nested_as(value, (len(value), *one))


def _nested_as(value, shape) -> bool:
    """Whether ``value`` is numbers nested exactly as ``shape`` (what the ordinary read accepts)."""
    if not shape:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, list) and len(value) == shape[0] and all(_nested_as(v, shape[1:]) for v in value)


def _rows(value, depth):
    """The innermost lists of a nested list ``depth`` deep."""
    if depth == 1:
        return [value]
    return [row for item in value if isinstance(item, list) for row in _rows(item, depth - 1)]


@settings(max_examples=300, deadline=None)
@given(pixel_bodies(), st.booleans())
def test_a_pixels_body_is_read_exactly_as_numpy_reads_it_or_not_at_all(case, extra_key):
    value, one, proper = case
    document = {"pixels": value, "top_k": 3} if extra_key else {"pixels": value}
    raw = json.dumps(document, indent=draw_indent(value)).encode()
    fast = jsonarrays.pixels_body(raw, one, 256)
    if proper and not extra_key:
        assert fast is not None  # the fast read is used for what programs send
    if fast is None:
        return
    x, batch = fast
    expected = np.asarray(value, dtype=np.float64)  # only a proper nesting gets here
    assert proper and not extra_key
    assert batch == (expected.ndim == len(one) + 1)
    assert np.array_equal(x, expected if batch else expected[None])


def draw_indent(value) -> int | None:
    return 1 if len(json.dumps(value)) % 2 else None  # whitespace between the brackets, half of the time


def test_one_number_per_row_is_left_to_the_ordinary_read():
    # [x] and [] look the same to the skeleton: a width of 1 is never read fast
    assert jsonarrays.pixels_body(b'{"pixels": [[0.5], [0.25]]}', (2, 1), 256) is None


@settings(max_examples=200, deadline=None)
@given(pixel_bodies(), st.booleans(), st.sampled_from(["", "a[b", "x,y]"]))
def test_an_infer_body_with_flat_data_is_read_exactly_or_not_at_all(case, nested, request_id):
    value, _, proper = case
    data = value if nested else np.asarray(value, dtype=object).ravel().tolist() if proper else value
    body = {"id": request_id, "inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", "data": data}],
            "outputs": [{"name": "logits", "parameters": {"binary_data": False}}]}  # fmt: skip
    raw = json.dumps(body).encode()
    fast = jsonarrays.infer_body(raw)
    flat = isinstance(data, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data)
    if flat:
        assert fast is not None
    if fast is None:
        return
    rest, values = fast
    assert flat
    assert np.array_equal(values, np.asarray(data, dtype=np.float64))
    del body["inputs"][0]["data"]
    assert rest == body


def test_the_api_answers_the_same_with_or_without_the_fast_read(tmp_path, monkeypatch):
    from served_runs import GREY, make_run
    from test_app import TestClient

    from softmaxreg.serve.app import create_app

    run_dir = make_run(tmp_path / "run", GREY, [f"class{i}" for i in range(10)])
    batch = np.random.default_rng(0).random((5, 28, 28)).round(4)
    infer = {"inputs": [{"name": "input", "shape": [5, 1, 28, 28], "datatype": "FP32", "data": batch.ravel().tolist()}],
             "outputs": [{"name": "logits"}, {"name": "probabilities"}]}  # fmt: skip
    calls = [("/api/predict/pixels?top_k=10", {"pixels": batch.tolist()}),
             ("/api/predict/pixels?explain=true", {"pixels": batch[0].tolist()}),
             ("/v2/models/run/infer", infer)]  # fmt: skip
    answers = {}
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(jsonarrays, "simdjson", None)
        with TestClient(create_app(run_dir)) as client:
            answers[fast] = [client.post(path, json=body).json() for path, body in calls]
    assert answers[True] == answers[False]
    assert len(answers[True][0]["results"]) == 5 and len(answers[True][2]["outputs"]) == 2
