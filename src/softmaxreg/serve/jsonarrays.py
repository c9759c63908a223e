"""JSON arrays of numbers read straight into numpy, without a Python float per number.

A batch of 64 images of 28×28 is 50,176 numbers: ``orjson.loads`` makes a Python float of each, and
``numpy.asarray`` walks the nested lists again, which cost 3-5 ms of a request's ~6 ms (measured with
``benchmarks/profile_serve.py``). simdjson (the ``pysimdjson`` package, optional) parses the text
and copies the numbers of an array into a buffer in C.

simdjson flattens any nesting, so a fast read is used only when the text *proves* the array has the
expected structure; anything else (ragged rows, a nested array where a number belongs, a string, a
body with other keys) returns None, and the caller reads the body the ordinary way, which finds and
words the problem. The fast path never decides that a request is bad, so it cannot change an answer.

- `pixels_body`: ``{"pixels": X}`` whose X is exactly one image ``(H, W[, 3])`` or a batch of them:
  checked by the body's *skeleton*, its ``[``, ``]`` and ``,`` characters in order (the only key,
  ``"pixels"``, has none, and a string anywhere makes simdjson refuse the buffer), which must equal the
  skeleton of that shape. JSON allows no empty element, so ``[,,]`` is an array of exactly three.
- `infer_body`: an Open Inference Protocol request whose one input's ``data`` is a flat list of numbers
  (row-major, what clients send): the body's ``[`` characters must be those of the rest of the body
  (its JSON, counted) plus ``data``'s own one.
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any

import numpy as np

try:
    import simdjson
    from orjson import dumps as _dumps
except ImportError:  # pragma: no cover - the serve extra installs both; without them every read is the ordinary one
    simdjson = None

AVAILABLE = simdjson is not None
_KEEP = b"[],"
_DELETE = bytes(c for c in range(256) if bytes([c]) not in _KEEP)
_local = threading.local()


def _parser() -> Any:
    """One parser per thread (a parser's documents are valid until its next parse)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = simdjson.Parser()
    return parser


@functools.lru_cache(maxsize=64)
def _skeleton(shape: tuple[int, ...]) -> bytes:
    """The ``[],`` characters of a JSON array of numbers nested as ``shape``, e.g. (2, 3) -> ``[[,,],[,,]]``."""
    if len(shape) == 1:
        return b"[" + b"," * (shape[0] - 1) + b"]"
    inner = _skeleton(shape[1:])
    return b"[" + b",".join([inner] * shape[0]) + b"]"


def pixels_body(raw: bytes, one: tuple[int, ...], max_batch: int) -> tuple[np.ndarray, bool] | None:
    """``{"pixels": ...}`` holding one image of shape ``one`` or a batch of 1..``max_batch``, as float64
    ``(N, *one)`` and whether it was a batch; None when the fast read cannot prove the structure."""
    if simdjson is None or min(one) < 2:  # one number per row: [x] and [] have the same skeleton
        return None
    try:
        document = _parser().parse(raw)
        if not isinstance(document, simdjson.Object) or len(document) != 1 or "pixels" not in document:
            return None
        pixels = document["pixels"]
        if not isinstance(pixels, simdjson.Array):
            return None
        values = np.frombuffer(pixels.as_buffer(of_type="d"), dtype=np.float64)
    except (ValueError, TypeError, RuntimeError):  # not JSON, or not numbers only: the ordinary read says why
        return None
    size = math.prod(one)
    n = values.size // size
    if values.size != n * size or not 1 <= n <= max_batch:
        return None
    skeleton = raw.translate(None, _DELETE)
    if n == 1 and skeleton == _skeleton(one):
        return values.reshape(1, *one), False
    if skeleton == _skeleton((n, *one)):
        return values.reshape(n, *one), True
    return None


def infer_body(raw: bytes) -> tuple[dict[str, Any], np.ndarray] | None:
    """An Open Inference Protocol request with one input whose ``data`` is a flat list of numbers: the
    body without that ``data`` (as ``orjson.loads`` would give it), and the numbers as float64."""
    if simdjson is None:
        return None
    try:
        document = _parser().parse(raw)
        if not isinstance(document, simdjson.Object):
            return None
        inputs = document.get("inputs")
        if not isinstance(inputs, simdjson.Array) or len(inputs) != 1 or not isinstance(inputs[0], simdjson.Object):
            return None
        data = inputs[0].get("data")
        if not isinstance(data, simdjson.Array):
            return None
        values = np.frombuffer(data.as_buffer(of_type="d"), dtype=np.float64)
        tensor = {key: _python(inputs[0][key]) for key in inputs[0] if key != "data"}
        body = {key: _python(document[key]) for key in document if key != "inputs"}
    except (ValueError, TypeError, RuntimeError, KeyError, IndexError):
        return None
    body["inputs"] = [tensor]
    # every [ of the body is one of the rest's (counted in their JSON) or data's own: then data is flat
    elsewhere = _dumps(body).count(b"[")
    if raw.count(b"[") != elsewhere + 1:
        return None
    return body, values


def _python(value: Any) -> Any:
    if isinstance(value, simdjson.Object):
        return value.as_dict()
    if isinstance(value, simdjson.Array):
        return value.as_list()
    return value
