"""Fuzzing the IDX reader: any bytes either parse or raise IDXFormatError; nothing else escapes.

Random bytes rarely get past the magic number, so most strategies build near-valid input: a real
header with arbitrary (also absurd) sizes and payloads, and gzip streams that are cut or flipped.
``FUZZ_EXAMPLES=5000 pytest tests/datasets/test_idx_fuzz.py`` fuzzes longer than the suite's 300 examples.
"""

import gzip
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from softmaxreg.datasets.idx import _DTYPES, decompress, encode_idx, parse_idx, read_idx
from softmaxreg.errors import IDXFormatError

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 300)), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TYPE_CODES = sorted(_DTYPES) + [0x00, 0x07, 0x0A, 0xFF]  # the six valid codes and some invalid ones


@st.composite
def idx_like(draw):
    """A header (valid or not) with sizes from 0 to 2**32-1 and a payload of any length."""
    code = draw(st.sampled_from(TYPE_CODES))
    ndim = draw(st.integers(0, 5))
    sizes = draw(
        st.lists(
            st.one_of(st.integers(0, 6), st.just(2**32 - 1), st.integers(0, 2**32 - 1)), min_size=ndim, max_size=ndim
        )
    )
    header = struct.pack(">HBB", draw(st.sampled_from([0, 0, 0, 1])), code, ndim) + struct.pack(f">{ndim}I", *sizes)
    exact = int(np.prod(sizes, dtype=object)) * _DTYPES[code].itemsize if code in _DTYPES and ndim else 0
    length = draw(st.one_of(st.just(exact), st.integers(0, 300)) if exact <= 300 else st.integers(0, 300))
    cut = draw(st.integers(0, len(header)))  # sometimes the header itself is cut short
    data = header + draw(st.binary(min_size=length, max_size=length))
    return data if draw(st.booleans()) else data[: cut + draw(st.integers(0, len(data)))]


@st.composite
def damaged_gzip(draw):
    """A gzip stream of IDX-like bytes, then cut, bit-flipped, padded or doubled."""
    data = gzip.compress(draw(idx_like()), compresslevel=draw(st.integers(0, 9)))
    action = draw(st.sampled_from(["cut", "flip", "pad", "garbage", "twice", "none"]))
    if action == "cut":
        return data[: draw(st.integers(0, len(data)))]
    if action == "flip":
        i = draw(st.integers(0, len(data) - 1))
        return data[:i] + bytes([data[i] ^ (1 << draw(st.integers(0, 7)))]) + data[i + 1 :]
    if action == "pad":
        return data + bytes(draw(st.integers(1, 20)))
    if action == "garbage":
        return data + draw(st.binary(min_size=1, max_size=20))
    return data + data if action == "twice" else data


def _parses_or_refuses(data: bytes, expected_ndim=None) -> None:
    try:
        array = parse_idx(data, "fuzz", expected_ndim)
    except IDXFormatError as err:
        assert "fuzz" in str(err) and "\n" not in str(err)  # names the file, one line
        return
    (ndim,) = struct.unpack(">B", data[3:4])
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    assert array.shape == shape and array.dtype.isnative
    assert array.nbytes == len(data) - 4 - 4 * ndim
    assert expected_ndim in (None, ndim)


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([None, 1, 3]))
def test_any_bytes_parse_or_raise_idx_format_error(data, expected_ndim):
    _parses_or_refuses(data, expected_ndim)


@FUZZ
@given(idx_like(), st.sampled_from([None, 1, 3]))
@example(bytes.fromhex("00000803") + b"\xff" * 8 + bytes(4) + bytes(16), None)  # 2**32 × 2**32 × 0
@example(bytes.fromhex("00000d03") + b"\xff" * 12 + bytes(16), None)  # 2**96 float32s claimed
@example(bytes.fromhex("00000804") + bytes(8) + b"\xff" * 8, None)  # (0, 0, 2**32-1, 2**32-1): empty, yet too big
def test_headers_with_any_sizes(data, expected_ndim):
    _parses_or_refuses(data, expected_ndim)


@FUZZ
@given(st.one_of(st.binary(max_size=400), damaged_gzip(), st.binary(max_size=200).map(lambda b: b"\x1f\x8b" + b)))
def test_decompress_returns_bytes_or_raises_idx_format_error(data):
    try:
        out = decompress(data, "fuzz.gz")
    except IDXFormatError as err:
        assert "fuzz.gz" in str(err)
        return
    assert isinstance(out, bytes)


@settings(FUZZ, max_examples=150)
@given(st.one_of(damaged_gzip(), idx_like(), st.binary(max_size=200)), st.sampled_from([None, 1, 3]))
def test_read_idx_on_any_file(data, expected_ndim):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.gz"
        path.write_bytes(data)
        try:
            array = read_idx(path, expected_ndim)
        except IDXFormatError as err:
            assert str(path) in str(err)
            return
    assert isinstance(array, np.ndarray)


@FUZZ
@given(
    st.sampled_from(["uint8", "int8", "int16", "int32", "float32", "float64"]),
    st.lists(st.integers(0, 5), min_size=1, max_size=4),
    st.data(),
)
def test_encode_then_parse_round_trips(dtype, shape, data):
    size = int(np.prod(shape))
    raw = data.draw(st.binary(min_size=size * np.dtype(dtype).itemsize, max_size=size * np.dtype(dtype).itemsize))
    array = np.frombuffer(raw, dtype=dtype).reshape(shape)
    np.testing.assert_array_equal(parse_idx(encode_idx(array)), array)  # NaNs compare equal here
