"""Atomic file writes: a temporary file in the same folder, fsync, then ``os.replace``.

A reader (or a crash) sees the old file or the new one, never half of one.

Examples:
    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = atomic_write_json(folder / "a.json", {"lr": 0.1})
    >>> json.loads((folder / "a.json").read_text())
    {'lr': 0.1}
    >>> sorted(p.name for p in folder.iterdir())
    ['a.json']
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], fsync: bool = True, suffix: str = ".tmp") -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary file next to it, renamed into place when the block ends.

    The block gets the open binary file (its ``name`` is the temporary file's path, e.g. to check
    the content before the rename). If the block raises, the temporary file is deleted and ``path``
    is left as it was.

    Args:
        path: destination; its parent folder is created if needed.
        fsync: flush the content to disk before the rename (skip it for data that is checked on
            every read and can be rebuilt).
        suffix: the temporary file's suffix (``.part`` for downloads).

    Examples:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_open(target) as f:
        ...     _ = f.write(b"done")
        >>> target.read_bytes(), sorted(p.name for p in target.parent.iterdir())
        (b'done', ['a.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        if hasattr(os, "chmod"):  # mkstemp makes 0600 files; give the usual 0666 & ~umask
            os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stage(path: Path, data: bytes) -> str:
    """Write ``data`` to a new temporary file next to ``path``, flushed to disk; return its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600 files; give the usual 0666 & ~umask
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    Args:
        path: destination; its parent folder is created if needed.
        data: the complete new content.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    atomic_write_files({path: data})
    return path


def atomic_write_files(files: dict[Path, bytes]) -> None:
    """Replace several files, each atomically, so that a failed write changes none of them.

    Every file is first written in full to a temporary file (where a full disk or any other
    write error strikes); only then are they renamed into place, in order. Only a crash between
    two renames can leave the first new and the next old, so readers of a pair should check
    that its halves belong together.

    Examples:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> atomic_write_files({folder / "a.bin": b"1", folder / "a.json": b"{}"})
        >>> sorted(p.name for p in folder.iterdir())
        ['a.bin', 'a.json']
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            staged.append((_stage(Path(path), data), Path(path)))
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise


def json_bytes(obj: Any) -> bytes:
    """``obj`` as indented UTF-8 JSON with a trailing newline, as `atomic_write_json` writes it."""
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically, with a trailing newline."""
    return atomic_write_bytes(path, json_bytes(obj))
