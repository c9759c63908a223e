"""The parts of a ``multipart/form-data`` body held in memory (RFC 7578): the files of ``POST /api/predict``.

Our own small reader instead of Starlette's form parser. An upload here is a few hundred bytes to a
few megabytes, already whole in memory (the body limit bounds it, and uploads never go to disk), so
finding its boundaries with ``bytes.find`` is enough. Starlette's streaming parser, which feeds a
byte-level state machine and wraps every file in a spooled temporary file, cost about 100 µs per
28×28 PNG: more than the rest of the prediction, and as much as the whole HTTP round trip of
``/api/health``.

Examples:
    >>> body = (b'--b\\r\\nContent-Disposition: form-data; name="file"; filename="a.png"\\r\\n\\r\\n'
    ...         b'PNG...\\r\\n--b--\\r\\n')
    >>> read_parts(body, boundary("multipart/form-data; boundary=b"))
    [Part(name='file', filename='a.png', data=b'PNG...')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PARTS = 64
# `; key=value` or `; key="quoted \"value\""` (RFC 7578 forbids the `key*=` forms: they are skipped)
_PARAMETER = re.compile(r';\s*([^\s=;*]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_ESCAPED = re.compile(r"\\(.)")


class MultipartError(ValueError):
    """The body is not the ``multipart/form-data`` its Content-Type says it is (a 400)."""


class TooManyPartsError(MultipartError):
    """The body holds more parts than the reader was allowed to take."""


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None  # None: a plain text field, not a file
    data: bytes


def parameters(value: str) -> tuple[str, dict[str, str]]:
    """A header's value and its parameters, e.g. a Content-Type or a part's Content-Disposition.

    Examples:
        >>> parameters(r'form-data; name="file"; filename="a \\"b\\"; c.png"')
        ('form-data', {'name': 'file', 'filename': 'a "b"; c.png'})
    """
    kind, _, rest = value.partition(";")
    found = {}
    for match in _PARAMETER.finditer(value, len(kind)):
        raw = match[2].strip()
        found[match[1].lower()] = _ESCAPED.sub(r"\1", raw[1:-1]) if raw[:1] == '"' else raw
    return kind.strip().lower(), found


def boundary(content_type: str) -> bytes:
    """The boundary named by a ``multipart/form-data`` Content-Type.

    Raises:
        MultipartError: the header names none, or one that RFC 2046 does not allow (1–70 characters).
    """
    found = parameters(content_type)[1].get("boundary", "")
    if not 1 <= len(found) <= 70 or not found.isascii():
        raise MultipartError(f"Content-Type needs a boundary of 1 to 70 ASCII characters; got {found!r}")
    return found.encode()


def read_parts(body: bytes, boundary: bytes, max_parts: int = MAX_PARTS) -> list[Part]:
    """Every part of ``body``, in order; the preamble and the epilogue are ignored.

    Raises:
        MultipartError: the body does not start, separate or end its parts with ``boundary``, or a
            part has no ``Content-Disposition: form-data; name=...``.
        TooManyPartsError: there are more than ``max_parts`` parts.
    """
    dash = b"--" + boundary
    delimiter = b"\r\n" + dash
    if body.startswith(dash):
        position = len(dash)
    else:  # a preamble first (rare, allowed)
        found = body.find(delimiter)
        if found < 0:
            raise MultipartError(f"no line {dash.decode('latin-1')!r} starts a part")
        position = found + len(delimiter)
    parts: list[Part] = []
    while not body.startswith(b"--", position):  # "--" after a delimiter closes the body
        line_end = body.find(b"\r\n", position)
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise MultipartError("a boundary line is followed by other text, or the body ends after it")
        head_end = body.find(b"\r\n\r\n", line_end)
        if head_end < 0:
            raise MultipartError(f"part {len(parts) + 1}'s headers never end")
        end = body.find(delimiter, head_end + 4)
        if end < 0:
            raise MultipartError(f"part {len(parts) + 1} never ends: the body is cut short")
        if len(parts) == max_parts:
            raise TooManyPartsError(f"more than {max_parts} parts")
        name, filename = _disposition(body[line_end + 2 : head_end], len(parts) + 1)
        parts.append(Part(name, filename, body[head_end + 4 : end]))
        position = end + len(delimiter)
    return parts


def _disposition(headers: bytes, number: int) -> tuple[str, str | None]:
    """The field name and file name (None for a text field) of a part's ``Content-Disposition``."""
    for line in headers.split(b"\r\n"):
        field, _, value = line.partition(b":")
        if field.strip().lower() == b"content-disposition":
            kind, options = parameters(_text(value))
            if kind != "form-data" or "name" not in options:
                break
            return options["name"], options.get("filename")
    raise MultipartError(f'part {number} has no header "Content-Disposition: form-data; name=..."')


def _text(raw: bytes) -> str:
    """Header bytes as text: UTF-8 as browsers send it, else Latin-1 (never an error)."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")
