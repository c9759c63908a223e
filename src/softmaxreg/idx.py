"""Reading IDX files (the MNIST family's format), gzip-compressed or raw. Parsing never downloads.

An IDX file is a 4-byte magic number ``0x0000TTNN`` (``TT`` the element type, ``NN`` the number of
dimensions), ``NN`` big-endian uint32 sizes, then the elements in row-major order.

Examples:
    >>> import numpy as np
    >>> raw = encode_idx(np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> raw[:4].hex()
    '00000802'
    >>> parse_idx(raw, "tiny").tolist()
    [[0, 1, 2], [3, 4, 5]]
"""

from __future__ import annotations

import gzip
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


def decompress(data: bytes, name: str) -> bytes:
    """Return ``data`` gunzipped if it is gzip, unchanged otherwise.

    Args:
        data: the file's bytes.
        name: the file name, for error messages.

    Raises:
        IDXFormatError: the gzip stream is truncated or corrupt.
    """
    if not data.startswith(_GZIP_MAGIC):
        return data
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip header + one deflate member
    try:
        out = inflater.decompress(data)
        if inflater.unused_data:  # several gzip members: rare, let gzip handle them
            out = gzip.decompress(data)
    except (zlib.error, EOFError, gzip.BadGzipFile) as err:
        raise IDXFormatError(
            f"{name} is a corrupt gzip file ({err}). Delete it so that it is fetched again."
        ) from err
    if not inflater.eof:
        raise IDXFormatError(
            f"{name} is a truncated gzip file (the stream ends after {len(out):,} bytes of content). "
            "Delete it so that it is fetched again."
        )
    return out


def _header(data: bytes, name: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """Parse the magic number and sizes; return (dtype, shape, header length)."""
    if len(data) < 4:
        raise IDXFormatError(f"Expected an IDX file in {name}; got {len(data)} bytes, too short for a header.")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _DTYPES or ndim == 0:
        raise IDXFormatError(
            f"Expected an IDX magic number 0x0000TTNN (TT a type code, NN ≥ 1 dimensions) in {name}; "
            f"got 0x{data[:4].hex()}. Is this an IDX file?"
        )
    end = 4 + 4 * ndim
    if len(data) < end:
        raise IDXFormatError(f"Expected {ndim} dimension sizes in the header of {name}; the file ends first.")
    shape = struct.unpack(f">{ndim}I", data[4:end])
    return _DTYPES[code], shape, end


def parse_idx(data: bytes, name: str = "<bytes>", expected_ndim: int | None = None) -> np.ndarray:
    """Parse the (decompressed) bytes of an IDX file into a native-endian numpy array.

    Args:
        data: the whole file content.
        name: the file name, for error messages.
        expected_ndim: if given, the number of dimensions the file must have
            (3 for image files, 1 for label files).

    Returns:
        An array of the header's shape and type, in native byte order.

    Raises:
        IDXFormatError: bad magic number, wrong number of dimensions, or a payload whose size does
            not match the header.
    """
    dtype, shape, start = _header(data, name)
    if expected_ndim is not None and len(shape) != expected_ndim:
        kind = {1: "a labels file", 3: "an images file"}.get(len(shape), "a different kind of file")
        raise IDXFormatError(
            f"Expected {expected_ndim} dimensions in {name}; got {len(shape)} (magic 0x{data[:4].hex()}). "
            f"Is this {kind}?"
        )
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(data) - start
    if got != expected:
        raise IDXFormatError(
            f"Expected {expected:,} bytes of data in {name} for shape {tuple(shape)}; got {got:,}. "
            "The file is truncated or corrupt: delete it so that it is fetched again."
        )
    array = np.frombuffer(data, dtype=dtype, offset=start).reshape(shape)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def read_idx_bytes(path: str | os.PathLike[str]) -> bytes:
    """Read a file and return its decompressed content (gzip detected by its magic bytes).

    Raises:
        IDXFormatError: the gzip stream is corrupt or truncated.
        OSError: the file cannot be read.
    """
    path = Path(path)
    return decompress(path.read_bytes(), str(path))


def read_idx(path: str | os.PathLike[str], expected_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into a numpy array.

    Args:
        path: the file.
        expected_ndim: if given, the number of dimensions the file must have.

    Returns:
        The array described by the file's header.

    Raises:
        IDXFormatError: the file is not a well-formed IDX file of the expected kind.
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
