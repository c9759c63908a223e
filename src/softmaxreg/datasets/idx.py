"""Reading IDX files (the MNIST family's format), gzip-compressed or raw. Parsing never downloads.

An IDX file is a 4-byte magic number ``0x0000TTNN`` (``TT`` the element type, ``NN`` the number of
dimensions), ``NN`` big-endian uint32 sizes, then the elements in row-major order.

Every malformed input raises :class:`~softmaxreg.errors.IDXFormatError` (the fuzz tests hold the
reader to that): nothing is allocated from what a header claims, only from bytes actually present,
and decompression takes time linear in the input and stops at the size the caller expects (at most
:data:`MAX_CONTENT_BYTES`), however many gzip members the file holds.

Examples:
    >>> import numpy as np
    >>> raw = encode_idx(np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> raw[:4].hex()
    '00000802'
    >>> parse_idx(raw, "tiny").tolist()
    [[0, 1, 2], [3, 4, 5]]
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from softmaxreg.errors import IDXFormatError

# IDX element type code -> big-endian numpy dtype
_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
# Decompressed size at which we stop: 20x the largest Fashion-MNIST file, far below a gzip bomb's.
MAX_CONTENT_BYTES = 1 << 30


# Gzip members accepted in one file: the official files have 1; bgzip's 64 KiB blocks make 721 of
# the largest. Each costs a zlib object and a Python loop, so a file of a million empty members is refused.
MAX_MEMBERS = 4096
# Input fed to zlib per call, growing while a member goes on: after a member ends zlib copies the
# rest of the call's input (``unused_data``), so a short first chunk keeps tiny members cheap.
_FIRST_CHUNK, _MAX_CHUNK = 64, 1 << 20


def max_compressed_bytes(content_bytes: int) -> int:
    """The most bytes a gzip file of ``content_bytes`` bytes of content can honestly take.

    Deflate's stored blocks add 5 bytes per 64 KiB, gzip's header and trailer 18 bytes and more
    with a file name; 1% plus 64 KiB is far above both. More than this is padding or empty members
    whose decompression would be work without content.

    Examples:
        >>> max_compressed_bytes(47_040_016)
        47575952
    """
    return content_bytes + content_bytes // 100 + (1 << 16)


def _too_big(name: str, limit: int) -> IDXFormatError:
    return IDXFormatError(
        f"Expected at most {limit:,} bytes once decompressed in {name}; got more. "
        "This is not a Fashion-MNIST file (a gzip bomb?)."
    )


def _inflate_member(view: memoryview, start: int, name: str, budget: int, limit: int) -> tuple[bytes, int]:
    """Inflate the gzip member at ``view[start:]``; return (its content, where the next one starts).

    Each call to zlib is given a chunk that doubles as the member goes on, so the work is linear in
    the input whatever the number and sizes of the members.
    """
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip header + one deflate member
    parts, size, pos, chunk = [], 0, start, _FIRST_CHUNK
    while not inflater.eof and pos < len(view):
        piece = view[pos : pos + chunk]
        try:
            out = inflater.decompress(piece, budget - size + 1)  # one byte over the budget tells "too big"
        except zlib.error as err:
            raise IDXFormatError(
                f"Expected a valid gzip stream in {name}; got a corrupt one ({err}). The file is damaged."
            ) from None
        size += len(out)
        if size > budget:
            raise _too_big(name, limit)
        parts.append(out)
        pos += len(piece) - len(inflater.unused_data)  # unused_data: the bytes after the member
        chunk = min(2 * chunk, _MAX_CHUNK)
    if not inflater.eof:
        raise IDXFormatError(
            f"Expected a complete gzip stream in {name}; got one that ends after {size:,} bytes of "
            "content. The file is truncated (an interrupted download or copy?)."
        )
    return b"".join(parts), pos


def decompress(data: bytes, name: str, max_bytes: int | None = None) -> bytes:
    """Return ``data`` gunzipped if it is gzip, unchanged otherwise.

    Several concatenated gzip members are joined, and zero padding after the last one is ignored,
    as ``gzip`` does. The work is linear in ``len(data)``, which is itself bounded by ``max_bytes``
    (see `max_compressed_bytes`), so a crafted file costs no more than an honest one.

    Args:
        data: the file's bytes.
        name: the file name, for error messages.
        max_bytes: the most content to accept (default and upper bound: :data:`MAX_CONTENT_BYTES`);
            e.g. the size of the file expected.

    Raises:
        IDXFormatError: the gzip stream is truncated or corrupt, is followed by other bytes, is far
            larger than ``max_bytes`` of content can be, has more than :data:`MAX_MEMBERS` members,
            or decompresses to more than ``max_bytes``.

    Examples:
        >>> import gzip
        >>> decompress(gzip.compress(b"abc") + gzip.compress(b"de"), "x")
        b'abcde'
        >>> decompress(gzip.compress(b"abc")[:-4], "x.gz")
        Traceback (most recent call last):
        softmaxreg.errors.IDXFormatError: Expected a complete gzip stream in x.gz; got one that ends ...
    """
    if not data.startswith(_GZIP_MAGIC):
        return data
    limit = min(MAX_CONTENT_BYTES, MAX_CONTENT_BYTES if max_bytes is None else max_bytes)
    if len(data) > max_compressed_bytes(limit):
        raise IDXFormatError(
            f"Expected at most {max_compressed_bytes(limit):,} bytes of gzip data for at most {limit:,} bytes of "
            f"content in {name}; got {len(data):,}. The file is padded or damaged: this is not a Fashion-MNIST file."
        )
    view, parts, size, pos = memoryview(data), [], 0, 0
    while data.startswith(_GZIP_MAGIC, pos):
        if len(parts) == MAX_MEMBERS:
            raise IDXFormatError(
                f"Expected at most {MAX_MEMBERS:,} gzip members in {name}; got more. The file is damaged or "
                "crafted: this is not a Fashion-MNIST file."
            )
        part, pos = _inflate_member(view, pos, name, limit - size, limit)
        parts.append(part)
        size += len(part)
    rest = data[pos:]
    if rest.strip(b"\0"):
        raise IDXFormatError(
            f"Expected only gzip data in {name}; got {len(rest):,} other bytes after it. The file is damaged."
        )
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _bad_magic(data: bytes, name: str) -> IDXFormatError:
    if data[:2] != b"\0\0":  # neither gzip (decompress ran first) nor IDX
        hint = " (an HTML page, e.g. a proxy's error page?)" if data.lstrip()[:1] == b"<" else ""
        return IDXFormatError(
            f"Expected a gzip or IDX file in {name}; got neither: it starts with {data[:12]!r}{hint}. "
            "This is not a Fashion-MNIST file."
        )
    return IDXFormatError(
        f"Expected an IDX magic number 0x0000TTNN (TT a type code, NN ≥ 1 dimensions) in {name}; "
        f"got 0x{data[:4].hex()}. Is this an IDX file?"
    )


def _header(data: bytes, name: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """Parse the magic number and sizes; return (dtype, shape, header length)."""
    if not data:
        raise IDXFormatError(
            f"Expected an IDX file in {name}; got an empty file (0 bytes), too short for a header. "
            "It was left by an interrupted download or copy."
        )
    if len(data) < 4:
        raise IDXFormatError(f"Expected an IDX file in {name}; got {len(data)} bytes, too short for a header.")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _DTYPES or ndim == 0:
        raise _bad_magic(data, name)
    end = 4 + 4 * ndim
    if len(data) < end:
        raise IDXFormatError(
            f"Expected {ndim} dimension sizes in the header of {name}; got a file that ends first "
            f"({len(data)} bytes). The file is truncated."
        )
    shape = struct.unpack(f">{ndim}I", data[4:end])
    return _DTYPES[code], shape, end


def parse_idx(data: bytes, name: str = "<bytes>", expected_ndim: int | None = None) -> np.ndarray:
    """Parse the (decompressed) bytes of an IDX file into a native-endian numpy array.

    The payload size the header implies is computed exactly (Python integers) and compared with
    the bytes present before anything is allocated, so a header claiming 2**32 × 2**32 elements
    is refused at no cost.

    Args:
        data: the whole file content.
        name: the file name, for error messages.
        expected_ndim: if given, the number of dimensions the file must have
            (3 for image files, 1 for label files).

    Returns:
        An array of the header's shape and type, in native byte order (for uint8 files, a
        read-only view of ``data`` when ``data`` is ``bytes``).

    Raises:
        IDXFormatError: bad magic number, wrong number of dimensions, or a payload whose size does
            not match the header.

    Examples:
        >>> huge = bytes.fromhex("00000802" "ffffffff" "ffffffff") + bytes(10)
        >>> parse_idx(huge, "huge")
        Traceback (most recent call last):
        softmaxreg.errors.IDXFormatError: Expected 18,446,744,065,119,617,025 bytes of data in huge ...
    """
    dtype, shape, start = _header(data, name)
    if expected_ndim is not None and len(shape) != expected_ndim:
        kind = {1: "a labels file", 3: "an images file"}.get(len(shape), "a different kind of file")
        raise IDXFormatError(
            f"Expected {expected_ndim} dimensions in {name}; got {len(shape)} (magic 0x{data[:4].hex()}). "
            f"Is this {kind}?"
        )
    expected = math.prod(shape) * dtype.itemsize  # exact: no int64 overflow for absurd headers
    got = len(data) - start
    if got != expected:
        cause = "truncated" if got < expected else "followed by extra bytes"
        raise IDXFormatError(
            f"Expected {expected:,} bytes of data in {name} for shape {tuple(shape)}; got {got:,}. "
            f"The file is {cause} or its header is wrong."
        )
    if math.prod(size for size in shape if size) * dtype.itemsize > np.iinfo(np.intp).max:
        # an empty array whose other sizes overflow: numpy refuses even that shape
        raise IDXFormatError(
            f"Expected sizes numpy can represent in {name}; got shape {tuple(shape)}. Is this an IDX file?"
        )
    array = np.frombuffer(data, dtype=dtype, offset=start).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def read_idx_bytes(path: str | os.PathLike[str], max_bytes: int | None = None) -> bytes:
    """Read a file and return its decompressed content (gzip detected by its magic bytes).

    Args:
        path: the file.
        max_bytes: the most content to accept (see `decompress`); a larger file is not even read.

    Raises:
        IDXFormatError: the gzip stream is corrupt or truncated, or the file is too large.
        OSError: the file cannot be read.
    """
    path = Path(path)
    limit = min(MAX_CONTENT_BYTES, MAX_CONTENT_BYTES if max_bytes is None else max_bytes)
    size = path.stat().st_size
    if size > max_compressed_bytes(limit):
        raise IDXFormatError(
            f"Expected at most {limit:,} bytes of content in {path}; got a file of {size:,} bytes. "
            "This is not a Fashion-MNIST file."
        )
    return decompress(path.read_bytes(), str(path), limit)


def read_idx(path: str | os.PathLike[str], expected_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a numpy array.

    Args:
        path: the file.
        expected_ndim: if given, the number of dimensions the file must have.

    Returns:
        The array described by the file's header.

    Raises:
        IDXFormatError: the file is not a well-formed IDX file of the expected kind.
        OSError: the file cannot be read.
    """
    return parse_idx(read_idx_bytes(path), str(path), expected_ndim)


def encode_idx(array: np.ndarray) -> bytes:
    """Encode ``array`` as IDX bytes (the inverse of :func:`parse_idx`), e.g. for test fixtures.

    Examples:
        >>> parse_idx(encode_idx(np.array([7, 2], dtype=np.uint8))).tolist()
        [7, 2]
    """
    native = np.dtype(array.dtype).newbyteorder("=")
    if native not in _CODES:
        raise IDXFormatError(f"Expected one of the IDX element types {sorted(map(str, _CODES))}; got {array.dtype}.")
    header = struct.pack(">HBB", 0, _CODES[native], array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=native.newbyteorder(">")).tobytes()
