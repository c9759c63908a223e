import gzip

import numpy as np
import pytest

from softmaxreg.datasets.idx import decompress, encode_idx, parse_idx, read_idx, read_idx_bytes
from softmaxreg.errors import IDXFormatError


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
    with pytest.raises(
        IDXFormatError, match=r"IDX magic number 0x0000TTNN .* in labels\.idx; got 0x00000a01\. Is this an IDX file\?"
    ):
        parse_idx(b"\x00\x00\x0a\x01" + b"\0" * 8, "labels.idx")


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        (b"<!DOCTYPE html><html>Forbidden</html>", r" \(an HTML page, e\.g\. a proxy's error page\?\)"),
        (b"PK\x03\x04zipzipzip", ""),
    ],
)
def test_neither_gzip_nor_idx(data, hint):
    with pytest.raises(
        IDXFormatError, match=rf"Expected a gzip or IDX file in f\.gz; got neither: it starts with b'.*?'{hint}\. This"
    ):
        parse_idx(decompress(data, "f.gz"), "f.gz")


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


def test_empty_file():
    with pytest.raises(
        IDXFormatError,
        match=r"Expected an IDX file in e; got an empty file \(0 bytes\), too short for a header\. "
        r"It was left by an interrupted",
    ):
        parse_idx(b"", "e")


def test_too_short_for_a_header():
    with pytest.raises(IDXFormatError, match="Expected an IDX file in s; got 3 bytes, too short for a header"):
        parse_idx(b"\0\0\x08", "s")


def test_huge_header_is_refused_before_allocating():
    """2**32 × 2**32 elements overflow int64; the exact size is compared with the bytes present."""
    header = bytes.fromhex("00000d03") + (2**32 - 1).to_bytes(4, "big") * 2 + (2).to_bytes(4, "big")
    with pytest.raises(
        IDXFormatError,
        match=r"Expected 147,573,952,520,956,936,200 bytes of data in h for shape \(4294967295, 4294967295, 2\); got 8",
    ):
        parse_idx(header + bytes(8), "h")


def test_dimensions_cut_short():
    with pytest.raises(IDXFormatError, match="dimension sizes in the header of f"):
        parse_idx(b"\0\0\x08\x03\0\0\0\x01", "f")


def test_truncated_gzip(tmp_path):
    path = tmp_path / "t.gz"
    path.write_bytes(gzip.compress(encode_idx(np.arange(5000, dtype=np.int32)))[:-30])
    with pytest.raises(
        IDXFormatError,
        match=r"Expected a complete gzip stream in .*t\.gz; got one that ends after [\d,]+ bytes of content\. "
        r"The file is truncated",
    ):
        read_idx(path)


def test_corrupt_gzip(tmp_path):
    data = bytearray(gzip.compress(encode_idx(np.arange(5000, dtype=np.int32))))
    data[20:40] = b"\xff" * 20
    path = tmp_path / "c.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(
        IDXFormatError,
        match=r"Expected a valid gzip stream in .*c\.gz; got a corrupt one \(Error -3 .*\)\. The file is damaged\.",
    ):
        read_idx(path)


def test_bytes_after_the_gzip_stream():
    data = gzip.compress(encode_idx(np.arange(5, dtype=np.uint8)))
    assert decompress(data + bytes(100), "z") == encode_idx(np.arange(5, dtype=np.uint8))  # zero padding: as gzip
    with pytest.raises(IDXFormatError, match=r"Expected only gzip data in g; got 5 other bytes after it"):
        decompress(data + b"extra", "g")


def test_gzip_bomb_is_refused_at_the_limit(monkeypatch):
    from softmaxreg.datasets import idx

    bomb = gzip.compress(bytes(10_000_000))  # 10 MB of zeros in ~10 kB
    monkeypatch.setattr(idx, "MAX_CONTENT_BYTES", 1_000_000)
    with pytest.raises(IDXFormatError, match=r"Expected at most 1,000,000 bytes once decompressed in b; got more"):
        decompress(bomb, "b")
    with pytest.raises(IDXFormatError, match="got more"):  # also across several members
        decompress(gzip.compress(bytes(600_000)) * 2, "b")


def test_an_empty_array_with_absurd_other_sizes_is_refused():
    """Found by the fuzz tests: 0 elements, but numpy cannot even represent shape (0, 2**32-1, 2**32-1, 2**32-1)."""
    data = bytes.fromhex("00000804") + bytes(4) + b"\xff" * 12
    with pytest.raises(
        IDXFormatError,
        match=r"Expected sizes numpy can represent in f; got shape \(0, 4294967295, 4294967295, 4294967295\)",
    ):
        parse_idx(data, "f")
    assert parse_idx(bytes.fromhex("00000802") + bytes(4) + b"\xff" * 4, "f").shape == (
        0,
        2**32 - 1,
    )  # representable: fine


class _CountingZlib:
    """``zlib`` whose decompressors count every input byte they are given."""

    def __init__(self):
        self.fed = 0

    def decompressobj(self, *args):
        import zlib

        inner, counter = zlib.decompressobj(*args), self

        class Counting:
            def decompress(self, data, *rest):
                counter.fed += len(data)
                return inner.decompress(data, *rest)

            def __getattr__(self, name):
                return getattr(inner, name)

        return Counting()

    def __getattr__(self, name):
        import zlib

        return getattr(zlib, name)


def test_many_gzip_members_take_linear_work(monkeypatch):
    """Found by review: each member used to copy the rest of the file (800 KB of empty members: 17 s)."""
    from softmaxreg.datasets import idx

    counting = _CountingZlib()
    monkeypatch.setattr(idx, "zlib", counting)
    members = [gzip.compress(bytes([i % 256]), mtime=0) for i in range(4000)]  # 4000 members of 21 bytes
    data = b"".join(members)
    assert decompress(data, "many.gz") == bytes(i % 256 for i in range(4000))
    assert counting.fed <= 8 * len(data)  # the old loop fed zlib about 2,000 times len(data)


def test_more_gzip_data_than_the_expected_content_needs_is_refused_unread(tmp_path):
    empty = gzip.compress(b"", mtime=0)
    with pytest.raises(IDXFormatError, match=r"Expected at most 65,637 bytes of gzip data for at most 100 bytes of "
                       r"content in pad.gz; got 200,000\. The file is padded or damaged"):  # fmt: skip
        decompress(empty * 10_000, "pad.gz", max_bytes=100)
    path = tmp_path / "pad.gz"
    path.write_bytes(empty * 10_000)
    with pytest.raises(
        IDXFormatError, match=r"Expected at most 100 bytes of content in .*pad\.gz; got a file of 200,000"
    ):
        read_idx_bytes(path, 100)
    with pytest.raises(IDXFormatError, match=r"Expected at most 100 bytes once decompressed in b; got more"):
        decompress(gzip.compress(bytes(101)), "b", max_bytes=100)


def test_a_million_empty_gzip_members_are_refused_early():
    from softmaxreg.datasets import idx

    with pytest.raises(IDXFormatError, match=r"Expected at most 4,096 gzip members in many\.gz; got more"):
        decompress(gzip.compress(b"", mtime=0) * 1_000_000, "many.gz")  # 20 MB: a crafted train-images file
    assert idx.MAX_MEMBERS > 47_040_016 // 65_280  # bgzip's blocks of the largest file still pass
