"""Fetching the Fashion-MNIST files from the official mirrors. Downloading never parses.

A file is written to a temporary name next to its destination and renamed only once the MD5 of its
decompressed content matches, so the destination never holds a partial or wrong file.
``SOFTMAXREG_MIRRORS`` (space-separated base URLs) replaces the default mirror list.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from softmaxreg._atomic import atomic_write_bytes
from softmaxreg.errors import DownloadError
from softmaxreg.idx import decompress

logger = logging.getLogger(__name__)

MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
)
TIMEOUT_SECONDS = 30.0


def mirrors() -> tuple[str, ...]:
    """Base URLs to try in order (``SOFTMAXREG_MIRRORS`` overrides the official list)."""
    value = os.environ.get("SOFTMAXREG_MIRRORS", "").split()
    return tuple(url if url.endswith("/") else url + "/" for url in value) or MIRRORS


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "softmaxreg"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - http(s) only
        return response.read()


def _check(data: bytes, url: str, md5: str) -> None:
    content = decompress(data, url)
    digest = hashlib.md5(content, usedforsecurity=False).hexdigest()
    if digest != md5:
        raise DownloadError(f"{url} served content with MD5 {digest}; expected {md5}.")


def fetch(name: str, md5: str, folder: Path) -> Path:
    """Download ``name + '.gz'`` into ``folder`` from the first mirror that serves the right content.

    Args:
        name: the file name without ``.gz``.
        md5: the MD5 of the decompressed content.
        folder: destination folder (created if needed).

    Returns:
        The path of the verified file.

    Raises:
        DownloadError: every mirror failed; the message lists each failure.
    """
    failures = []
    for base in mirrors():
        url = base + name + ".gz"
        try:
            data = _get(url)
            _check(data, url, md5)
        except (urllib.error.URLError, OSError, ValueError, DownloadError) as err:
            failures.append(f"{url}: {getattr(err, 'reason', err)}")
            continue
        return atomic_write_bytes(folder / (name + ".gz"), data)
    raise DownloadError("; ".join(failures) or "no mirrors configured")


def fetch_all(files: Iterable, folder: Path) -> None:
    """Download every file of ``files`` (objects with ``name`` and ``md5``) into ``folder``."""
    for file in files:
        logger.warning("Downloading %s.gz into %s", file.name, folder)
        fetch(file.name, file.md5, folder)
