"""Fetching the Fashion-MNIST files from the mirrors. Downloading never parses.

- **Mirrors** are tried in order; ``SOFTMAXREG_MIRRORS`` (space-separated base URLs) replaces the
  official list.
- **Timeouts**: every connection and read waits at most ``SOFTMAXREG_TIMEOUT`` seconds (default
  30); a mirror that does not answer in time counts as failed and the next one is asked.
- **Retries**: when a whole round over the mirrors fails, it is repeated up to
  ``SOFTMAXREG_RETRIES`` times (default 2) after a backoff that doubles (1 s, 2 s, ...). Mirrors
  that answered 4xx or served wrong content are not asked again; 5xx, timeouts, resets and
  truncated bodies are retried.
- **Verification**: the body goes to a temporary file next to its destination; it is renamed to
  ``<name>.gz`` only when its decompressed content has the official MD5 (and the body has the
  announced length), so the destination never holds a partial or wrong file.
- **Progress** goes to stderr when it is a terminal; ``progress=False`` or ``SOFTMAXREG_PROGRESS=0``
  silences it.
- **Proxies**: urllib's default opener reads ``http_proxy``, ``https_proxy`` and ``no_proxy``.
- **TLS**: HTTPS mirrors come first and their certificates are always verified (the platform's CA
  store; ``SSL_CERT_FILE`` adds a company CA); there is no option to turn verification off. The
  last official mirror is plain HTTP (S3 website endpoints have no HTTPS): its files, like every
  file, are used only once their decompressed content has the official MD5.
- **Bounded work**: a body longer than the file can honestly be compressed to is cut off, and
  decompression stops at the file's official size (`idx.max_compressed_bytes`).
- **Concurrency**: :func:`folder_lock` makes a second process wait while the first downloads into
  the same folder, instead of fetching everything twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from softmaxreg._atomic import atomic_open
from softmaxreg._validate import env_number
from softmaxreg.datasets.idx import MAX_CONTENT_BYTES, decompress, max_compressed_bytes
from softmaxreg.errors import DownloadError, IDXFormatError, MachineError

logger = logging.getLogger(__name__)

# HTTPS first. The S3 website endpoint speaks plain HTTP only: it is the fallback, and what it serves
# is trusted only once its decompressed content has the official MD5.
MIRRORS = (
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
TIMEOUT_SECONDS = 30.0
RETRIES = 2
BACKOFF_SECONDS = 1.0
LOCK_NAME = ".download.lock"
_CHUNK = 1 << 16
_PERMANENT_HTTP = {400, 401, 403, 404, 405, 410, 451}  # asking again will not help


def mirrors() -> tuple[str, ...]:
    """Base URLs to try in order (``SOFTMAXREG_MIRRORS`` overrides the official list)."""
    value = os.environ.get("SOFTMAXREG_MIRRORS", "").split()
    return tuple(url if url.endswith("/") else url + "/" for url in value) or MIRRORS


def timeout() -> float:
    """Seconds to wait for a connection or a read (``SOFTMAXREG_TIMEOUT``, default 30)."""
    return env_number("SOFTMAXREG_TIMEOUT", TIMEOUT_SECONDS, float, 1e-3)


def retries() -> int:
    """Extra rounds over the mirrors after a failed one (``SOFTMAXREG_RETRIES``, default 2)."""
    return env_number("SOFTMAXREG_RETRIES", RETRIES, int, 0)


def show_progress(progress: bool | None = None) -> bool:
    """Whether to draw a progress bar: ``progress`` if given, else ``SOFTMAXREG_PROGRESS``, else a TTY."""
    if progress is not None:
        return bool(progress)
    setting = os.environ.get("SOFTMAXREG_PROGRESS", "").strip().lower()
    if setting:
        return setting in {"1", "true", "yes", "on"}
    return sys.stderr is not None and sys.stderr.isatty()


class MirrorFailure(Exception):
    """One mirror failed for one file; ``permanent`` ones are not asked again."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


def _opener() -> urllib.request.OpenerDirector:
    """A fresh opener: proxies read from the environment now, certificates always verified.

    (``urllib.request.urlopen`` would cache its proxy settings for the life of the process, and
    use ``ssl._create_default_https_context``, which some code replaces with an unverified one.)
    """
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=ssl.create_default_context()))


def _open(url: str) -> Any:
    """Send the request; turn every network failure into a `MirrorFailure`."""
    request = urllib.request.Request(url, headers={"User-Agent": "softmaxreg"})
    try:
        return _opener().open(request, timeout=timeout())
    except urllib.error.HTTPError as err:
        raise MirrorFailure(f"HTTP {err.code} {err.reason}", permanent=err.code in _PERMANENT_HTTP) from None
    except urllib.error.URLError as err:
        reason = err.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise MirrorFailure(f"TLS certificate not trusted ({reason.verify_message})", permanent=True) from None
        raise MirrorFailure(_why(reason)) from None
    except (OSError, ValueError) as err:  # timeouts, resets; ValueError: a malformed URL
        raise MirrorFailure(_why(err), permanent=isinstance(err, ValueError)) from None


def _why(err: Any) -> str:
    if isinstance(err, TimeoutError) or "timed out" in str(err):
        return f"no answer within {timeout():g} s (SOFTMAXREG_TIMEOUT)"
    return getattr(err, "strerror", None) or str(err) or type(err).__name__


def _copy_body(response: Any, out: BinaryIO, bar: Any, max_bytes: int = MAX_CONTENT_BYTES) -> int:
    """Stream the body into ``out``; return its length. Network errors become `MirrorFailure`.

    A body longer than ``max_bytes`` of content can be compressed to is cut off (a permanent failure).
    """
    received, limit = 0, max_compressed_bytes(max_bytes)
    while True:
        if received > limit:
            raise MirrorFailure(f"served more than {limit:,} bytes, more than the file can be", permanent=True)
        try:
            chunk = response.read(_CHUNK)
        except (OSError, http.client.HTTPException) as err:  # timeouts, resets, IncompleteRead
            raise MirrorFailure(f"{_why(err)} after {received:,} bytes") from None
        if not chunk:
            return received
        out.write(chunk)
        received += len(chunk)
        bar.update(len(chunk))


def _progress_bar(name: str, total: int | None, enabled: bool) -> Any:
    if not enabled:
        return contextlib.nullcontext(_NoBar())
    from tqdm import tqdm

    return tqdm(total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, leave=True)


class _NoBar:
    def update(self, n: int) -> None:
        """Nothing to draw."""


def _verify_download(path: Path, url: str, md5: str, max_bytes: int = MAX_CONTENT_BYTES) -> None:
    """Raise `MirrorFailure` unless the file at ``path`` decompresses to content with MD5 ``md5``."""
    try:
        content = decompress(path.read_bytes(), url, max_bytes)
    except IDXFormatError as err:  # a truncated stream is worth another try; a corrupt one too
        raise MirrorFailure(f"served a damaged file: {err}") from None
    digest = hashlib.md5(content, usedforsecurity=False).hexdigest()
    if digest != md5:
        raise MirrorFailure(
            f"served other content (MD5 {digest} of the decompressed data, expected {md5}): another dataset, "
            "e.g. digit MNIST, or a proxy's page",
            permanent=True,
        )


def _fetch_one(url: str, md5: str, dest: Path, progress: bool, max_bytes: int = MAX_CONTENT_BYTES) -> Path:
    """Download ``url`` to ``dest`` through a verified temporary file."""
    with _open(url) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        try:
            with atomic_open(dest, suffix=".part") as out:  # renamed into place only once verified
                with _progress_bar(dest.name, total, progress) as bar:
                    received = _copy_body(response, out, bar, max_bytes)
                out.flush()
                if total is not None and received != total:
                    raise MirrorFailure(f"the connection closed after {received:,} of {total:,} bytes")
                _verify_download(Path(out.name), url, md5, max_bytes)
        except OSError as err:  # network errors are MirrorFailures by now: this is our disk
            raise _unwritable(dest.parent, err) from err
    return dest


def _unwritable(folder: Path, err: OSError) -> MachineError:
    return MachineError(
        f"Expected a writable folder to download Fashion-MNIST into; got {folder}, which cannot be written "
        f"({err.strerror or err}). To fix: set SOFTMAXREG_DATA (or pass --data-dir / root=) to a writable "
        "folder, or fix the folder's permissions."
    )


def fetch(
    name: str, md5: str, folder: Path, *, progress: bool | None = None, max_bytes: int = MAX_CONTENT_BYTES
) -> Path:
    """Download ``name + '.gz'`` into ``folder`` from the first mirror that serves the right content.

    Args:
        name: the file name without ``.gz``.
        md5: the MD5 of the decompressed content.
        folder: destination folder (it must exist and be writable: see :func:`folder_lock`).
        progress: draw a progress bar on stderr (``None``: see :func:`show_progress`).
        max_bytes: the size of the decompressed file: what bounds the download and its decompression.

    Returns:
        The path of the verified file.

    Raises:
        DownloadError: every mirror failed, in every round; the message lists each mirror's last failure.
        MachineError: the folder cannot be written.
    """
    failures: dict[str, str] = {}
    live = list(mirrors())
    for attempt in range(retries() + 1):
        if attempt:
            delay = BACKOFF_SECONDS * 2 ** (attempt - 1)
            logger.warning("Every mirror failed for %s.gz; trying again in %g s.", name, delay)
            time.sleep(delay)
        for base in list(live):
            url = base + name + ".gz"
            try:
                return _fetch_one(url, md5, folder / (name + ".gz"), show_progress(progress), max_bytes)
            except MirrorFailure as failure:
                failures[url] = str(failure)
                logger.warning("%s: %s", url, failure)
                if failure.permanent:
                    live.remove(base)
        if not live:
            break
    details = "; ".join(f"{url}: {why}" for url, why in failures.items()) or "no mirrors configured"
    raise DownloadError(
        f"Expected {name}.gz from one of the mirrors; got only failures ({details}). To fix: check the network "
        "or proxy (http_proxy, https_proxy), or set SOFTMAXREG_MIRRORS to a mirror you can reach."
    )


def fetch_all(files: Iterable[Any], folder: Path, *, progress: bool | None = None) -> None:
    """Download every file of ``files`` (objects with ``name``, ``md5`` and ``size``) into ``folder``."""
    for file in files:
        logger.warning("Downloading %s.gz into %s", file.name, folder)
        fetch(file.name, file.md5, folder, progress=progress, max_bytes=file.size)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (created if needed) while downloading into it.

    The lock is ``flock`` on ``folder/.download.lock`` (``msvcrt.locking`` on Windows); the system
    releases it if the process dies. Creating the folder and the lock file also proves the folder
    is writable before anything is downloaded.

    Raises:
        MachineError: the folder cannot be created or written.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK_NAME, "a+b")  # noqa: SIM115 - closed below
    except OSError as err:
        raise _unwritable(folder, err) from err
    with handle:
        _lock(handle, folder)
        try:
            yield
        finally:
            _unlock(handle)


def _lock(handle: BinaryIO, folder: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                time.sleep(0.2)
    import fcntl

    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        logger.warning("Waiting for another process that is downloading into %s.", folder)
        fcntl.flock(handle, fcntl.LOCK_EX)


def _unlock(handle: BinaryIO) -> None:
    if sys.platform == "win32":  # pragma: no cover
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(handle, fcntl.LOCK_UN)
