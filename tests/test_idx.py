import gzip

import numpy as np
import pytest

from softmaxreg.errors import IDXFormatError
from softmaxreg.idx import decompress, encode_idx, parse_idx, read_idx


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_round_trip_every_idx_type(dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "uint8":
        array = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    out = parse_idx(encode_idx(array), "x")
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_header_is_big_endian_with_the_magic_number():
    raw = encode_idx(np.zeros((60000, 28, 28), dtype=np.uint8))
    assert raw[:16].hex() == "00000803" + "0000ea60" + "0000001c" + "0000001c"


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_gzip_or_raw(tmp_path, compress):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    raw = encode_idx(array)
    path = tmp_path / "f"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    np.testing.assert_array_equal(read_idx(path, expected_ndim=2), array)


def test_multi_member_gzip_is_read_whole():
    raw = encode_idx(np.arange(100, dtype=np.uint8))
    data = gzip.compress(raw[:50]) + gzip.compress(raw[50:])
    assert decompress(data, "x") == raw


def test_wrong_magic_names_the_file():
    with pytest.raises(IDXFormatError, match=r"magic number .* in labels\.idx; got 0x01020304"):
        parse_idx(b"\x01\x02\x03\x04" + b"\0" * 8, "labels.idx")


def test_labels_file_where_images_expected():
    raw = encode_idx(np.zeros(5, dtype=np.uint8))
    with pytest.raises(IDXFormatError, match=r"Expected 3 dimensions in train-images; got 1 .*Is this a labels file\?"):
        parse_idx(raw, "train-images", expected_ndim=3)


def test_header_count_larger_than_payload():
    raw = encode_idx(np.zeros((10, 2, 2), dtype=np.uint8))
    with pytest.raises(IDXFormatError, match=r"Expected 40 bytes of data in f for shape \(10, 2, 2\); got 39"):
        parse_idx(raw[:-1], "f")


def test_trailing_bytes_are_rejected():
    raw = encode_idx(np.zeros(3, dtype=np.uint8))
    with pytest.raises(IDXFormatError, match="Expected 3 bytes of data in f"):
        parse_idx(raw + b"\0", "f")


@pytest.mark.parametrize("data", [b"", b"\0\0\x08"])
def test_too_short_for_a_header(data):
    with pytest.raises(IDXFormatError, match="too short for a header"):
        parse_idx(data, "empty")


def test_dimensions_cut_short():
    with pytest.raises(IDXFormatError, match="dimension sizes in the header of f"):
        parse_idx(b"\0\0\x08\x03\0\0\0\x01", "f")


def test_truncated_gzip_says_to_delete(tmp_path):
    path = tmp_path / "t.gz"
    path.write_bytes(gzip.compress(encode_idx(np.arange(5000, dtype=np.int32)))[:-30])
    with pytest.raises(IDXFormatError, match=r"t\.gz is a truncated gzip file.*Delete it"):
        read_idx(path)


def test_corrupt_gzip(tmp_path):
    data = bytearray(gzip.compress(encode_idx(np.arange(5000, dtype=np.int32))))
    data[20:40] = b"\xff" * 20
    path = tmp_path / "c.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(IDXFormatError, match=r"c\.gz is a (corrupt|truncated) gzip file"):
        read_idx(path)
