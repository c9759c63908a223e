"""One writer per run folder: a claim that lasts as long as the process and dies with it.

A run (``train``, ``train --resume``, each run of ``sweep``, the sweep's own folder) claims its folder
before it reads its state or writes anything: it takes an exclusive ``flock`` on ``<folder>/.lock``
and writes there who it is (PID, host, start time, command). The file descriptor stays open until
the command ends (or :meth:`RunLock.release`), so the claim lasts for the run. A second process that
wants the folder finds the lock taken and stops with one line naming that holder. The kernel drops
the lock when the holder's file descriptor closes, also when the process is killed (SIGKILL, out of
memory): there is never a stale lock to delete, and ``--resume`` works at once.

``.lock`` is a hidden file of a few hundred bytes that stays in the folder; what it says is true
only while some process holds the lock (``cat runs/book/.lock`` shows the last claimant). A folder
holding nothing but ``.lock`` counts as empty: a run killed before it wrote anything leaves a
folder that the next ``--out`` may take.

Readers (``evaluate``, ``predict``) never lock: every run file is replaced atomically
(`softmaxreg._atomic`), so a reader sees whole files of some completed epoch while a run writes.

A file system whose locks do not work (NFS without its lock service answers ``flock`` with
ENOLCK, some FUSE and SMB mounts with EOPNOTSUPP) is not supported for run folders: claiming one
stops with one line (an `OSError`, exit code 1) rather than running unprotected.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from softmaxreg._atomic import json_bytes
from softmaxreg.errors import ConfigError, RunFolderInUseError
from softmaxreg.runs.folder import new_run_dir, read_config

LOCK_NAME = ".lock"
NEW_FIX = "Choose another folder with --out, or wait until that process ends."
# A process that only looks (`check_new`) holds the lock for microseconds, and a new holder writes
# its record just after locking: a few short retries tell these apart from a run that holds it.
_ATTEMPTS = 4
_PAUSE_SECONDS = 0.05
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EINVAL}

_claims: ContextVar[list[RunLock] | None] = ContextVar("softmaxreg_run_claims", default=None)


@dataclass(frozen=True)
class Holder:
    """Who holds a run folder, as its ``.lock`` says."""

    pid: int
    host: str
    started: str
    command: str = ""

    def __str__(self) -> str:
        return f"PID {self.pid} on host {self.host}, started {self.started}"


class RunLock:
    """An exclusive claim on a run folder, held until :meth:`release` or the process ends.

    Attributes:
        folder: the claimed run folder.
    """

    def __init__(self, folder: Path, fd: int) -> None:
        self.folder = folder
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        """Whether this claim still holds the folder."""
        return self._fd is not None

    def release(self) -> None:
        """Give the folder up (closing the descriptor drops the lock). Releasing twice is harmless."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.close(fd)
        claims = _claims.get()
        if claims is not None and self in claims:
            claims.remove(self)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


@contextlib.contextmanager
def command_scope() -> Iterator[None]:
    """Release, when the block ends, every claim made inside it (the CLI wraps each command in one).

    A command's claims then end with the command, also when it runs inside a longer process (tests,
    a server); outside any scope a claim lasts until it is released or the process ends.
    """
    claims: list[RunLock] = []
    token = _claims.set(claims)
    try:
        yield
    finally:
        _claims.reset(token)
        for claim in reversed(claims):
            claim.release()


def claim_new(folder: str | os.PathLike[str]) -> RunLock:
    """Create ``folder`` (or take it empty) and claim it for a new run, before anything is written.

    Exactly one of several processes claiming the same folder at once wins; the folder is checked to
    be empty again under the lock, so a run that claimed, filled and left it meanwhile is not mixed
    with this one.

    Raises:
        RunFolderInUseError: another process holds it.
        ConfigError: it is a file, or a folder that holds files (a finished or killed run's).
        OSError: it cannot be created, or its file system has no working locks.
    """
    folder = Path(folder)
    check_new(folder)  # refuse a taken folder before creating anything
    folder.mkdir(parents=True, exist_ok=True)
    claim = _acquire(folder, NEW_FIX)
    if _holds_files(folder):
        claim.release()
        raise _not_empty(folder)
    return claim


def remove_claimed(folder: str | os.PathLike[str]) -> bool:
    """Remove ``folder``, a new run's that this process claimed and that kept nothing (no completed
    epoch), then give up the claim; so the same command can run again. False when the folder stays
    (it could not be removed, e.g. the current directory); its files are gone in any case.
    """
    import shutil

    folder = Path(folder)
    claims = _claims.get() or []
    held = [c for c in claims if c.held and c.folder == folder]
    for path in folder.iterdir():  # under the claim: no other process writes here
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    try:
        folder.rmdir()
        removed = True
    except OSError:
        removed = False
    for claim in held:
        claim.release()
    return removed


def claim_new_run_dir(base: str | os.PathLike[str] = "runs", prefix: str = "") -> RunLock:
    """Create and claim a new ``base/<prefix><timestamp>`` folder (``-1``, ``-2``... within one second).

    The name is decided by ``mkdir``, which only one process can win, so many runs started in the
    same second each get their own folder.

    Examples:
        >>> import tempfile
        >>> base = tempfile.mkdtemp()
        >>> with claim_new_run_dir(base) as a, claim_new_run_dir(base) as b:
        ...     a.folder != b.folder, sorted(p.name for p in a.folder.iterdir())
        (True, ['.lock'])
    """
    for _ in range(100):
        try:
            return claim_new(new_run_dir(base, prefix))
        except (RunFolderInUseError, ConfigError):
            continue  # another process took the fresh folder with --out before we locked it: next name
    raise FileExistsError(f"Could not claim a new run folder under {base}.")  # pragma: no cover


def claim_existing(folder: str | os.PathLike[str]) -> RunLock:
    """Claim a run folder to continue it (``--resume``); call it before reading the run's state.

    Raises:
        CheckpointError: ``folder`` is not a run folder (nothing is created in it).
        RunFolderInUseError: another process holds it.
        OSError: its file system has no working locks.
    """
    folder = Path(folder)
    read_config(folder)  # only a run folder gets a lock file
    return _acquire(
        folder, f"Wait until that process ends (or stop it), then resume: softmaxreg train --resume {folder}"
    )


def check_new(folder: str | os.PathLike[str]) -> None:
    """Refuse, at once, a ``folder`` a new run cannot take: a file, or a folder holding files.

    When another process holds the folder, the error names it. The check takes the lock for an
    instant to learn that; :func:`claim_new` decides for good under the lock.

    Raises:
        RunFolderInUseError: another process holds it.
        ConfigError: it is a file, or holds files.
    """
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir() or _holds_files(folder):
        held, holder = _held_by(folder) if folder.is_dir() else (False, None)
        if held:
            raise _in_use(folder, holder, NEW_FIX)
        raise _not_empty(folder)


def read_holder(folder: str | os.PathLike[str]) -> Holder | None:
    """What ``folder/.lock`` says about its last claimant (without taking the lock), or None.

    Meaningful only while the lock is held: a run killed with SIGKILL leaves its record behind.
    """
    path = Path(folder) / LOCK_NAME
    for attempt in range(_ATTEMPTS):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            return Holder(
                int(record["pid"]), str(record["host"]), str(record["started"]), str(record.get("command", ""))
            )
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not written yet by a holder that has just locked it
        if attempt + 1 < _ATTEMPTS:
            time.sleep(_PAUSE_SECONDS)
    return None


# -- internals -------------------------------------------------------------------------------------


def _holds_files(folder: Path) -> bool:
    """Whether ``folder`` holds anything but ``.lock``."""
    return any(entry.name != LOCK_NAME for entry in os.scandir(folder))


def _not_empty(folder: Path) -> ConfigError:
    return ConfigError(
        f"`--out` must be a new or empty folder; {folder} already exists and holds files. Choose another."
    )


def _in_use(folder: Path, holder: Holder | None, fix: str) -> RunFolderInUseError:
    who = f"another process ({holder})" if holder else f"another process ({folder / LOCK_NAME} does not say which)"
    return RunFolderInUseError(
        f"Expected {folder} to be free for this run; it is in use by {who}: one run folder has one writer. {fix}"
    )


def _acquire(folder: Path, fix: str) -> RunLock:
    """Lock ``folder/.lock`` for this process and write who holds it, or raise `RunFolderInUseError`."""
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # not inherited by child processes (PEP 446)
    try:
        if not _lock(fd, path):
            raise _in_use(folder, read_holder(folder), fix)
        # Written in place, not renamed: a rename would put a new, unlocked file under the name.
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, _record())
    except BaseException:
        os.close(fd)
        raise
    claim = RunLock(folder, fd)
    claims = _claims.get()
    if claims is not None:
        claims.append(claim)
    return claim


def _held_by(folder: Path) -> tuple[bool, Holder | None]:
    """Whether a process holds ``folder``'s lock now, and who (takes the lock for an instant if free)."""
    path = folder / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False, None  # no lock file: no holder (a claimant creates it before it locks)
    try:
        if _lock(fd, path):
            return False, None
        return True, read_holder(folder)
    finally:
        os.close(fd)  # drops the lock if this look took it


def _lock(fd: int, path: Path) -> bool:
    """Take the exclusive lock on ``fd`` without waiting for its holder; False if another holds it."""
    for attempt in range(_ATTEMPTS):
        try:
            _try_lock(fd)
            return True
        except BlockingIOError:
            pass
        except OSError as err:
            if err.errno in _NO_LOCKS:
                raise _no_locks(path, err) from None
            raise
        if attempt + 1 < _ATTEMPTS:
            time.sleep(_PAUSE_SECONDS)
    return False


def _try_lock(fd: int) -> None:
    """One try; raises `BlockingIOError` when another holds the lock."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        os.lseek(fd, 1 << 30, os.SEEK_SET)  # lock a byte far past the record, which stays readable
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as err:
            raise BlockingIOError(err.errno, err.strerror) from None
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _no_locks(path: Path, err: OSError) -> OSError:
    return OSError(
        f"Expected to lock {path} so that only this process writes the run folder; got [Errno {err.errno}] "
        f"{err.strerror}. Its file system has no working locks (a network file system such as NFS without its "
        "lock service?), which run folders need: use a folder on a local disk."
    )


def _record() -> bytes:
    """This process as ``.lock`` records it."""
    started = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    return json_bytes({"pid": os.getpid(), "host": socket.gethostname(), "started": started,
                       "command": shlex.join(sys.argv)})  # fmt: skip
