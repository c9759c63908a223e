"""Where Fashion-MNIST comes from: find it, verify it, and fetch it only when allowed.

Places are tried in this order; the first that holds all four sound files wins:

1. the explicit ``root`` argument;
2. the ``SOFTMAXREG_DATA`` environment variable;
3. the user cache directory (see :func:`default_cache_dir`);
4. the system copy, ``/usr/share/datasets/fashion-mnist`` (Debian/Ubuntu ``dataset-fashion-mnist``;
   ``SOFTMAXREG_SYSTEM_DATA`` replaces this list, separated by ``os.pathsep``);
5. a download from the mirrors into ``root``, else ``SOFTMAXREG_DATA``, else the cache —
   skipped when offline (``offline=True`` or ``SOFTMAXREG_OFFLINE=1``).

Each file must be a well-formed IDX file of the expected shape (labels 0..9) whose *decompressed*
content has the official MD5, so the official ``.gz`` files, Debian's recompressed ones and raw
files all pass, and nothing else does. What happens to a file that fails depends on whose it is:

- in a folder the user chose (``root``, ``SOFTMAXREG_DATA``): an error naming the file, what was
  expected and found, and the fix; softmaxreg never deletes or changes the user's files;
- in the user cache: the file is moved aside (``<name>.quarantined``, replacing an older one) and
  never trusted again; the search goes on, and the file is downloaded again unless offline;
- in the system copy (read-only, owned by the package manager): the search goes on; if nothing
  else works, the error says to reinstall the package.

Verified arrays are kept decoded (see :mod:`softmaxreg.datasets.decoded_cache`) and remembered in the
process, so later loads skip the decompression and the MD5.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from softmaxreg.datasets import decoded_cache
from softmaxreg.datasets.idx import MAX_CONTENT_BYTES, parse_idx, read_idx_bytes
from softmaxreg.errors import ChecksumError, DataError, DataNotFoundError, IDXFormatError, MachineError

logger = logging.getLogger(__name__)

SYSTEM_DIRS = (Path("/usr/share/datasets/fashion-mnist"),)
# Sub-folders where other tools keep the same files (torchvision: FashionMNIST/raw).
_LAYOUTS = (".", "fashion-mnist", "FashionMNIST/raw")
_TRUE = {"1", "true", "yes", "on"}
NUM_CLASSES = 10
QUARANTINE_SUFFIX = ".quarantined"
_PACKAGE_FIX = "sudo apt-get install dataset-fashion-mnist"


@dataclass(frozen=True)
class IDXFile:
    """One of the four Fashion-MNIST files.

    Attributes:
        key: short name, e.g. ``'train_images'``.
        name: file name without ``.gz``.
        md5: MD5 of the decompressed content.
        ndim: number of dimensions (3 for images, 1 for labels).
        item_shape: the shape of one example (``(28, 28)`` for images, ``()`` for labels).
        size: bytes of the decompressed official file: decompression stops beyond it.
    """

    key: str
    name: str
    md5: str
    ndim: int
    item_shape: tuple[int, ...] = ()
    size: int = MAX_CONTENT_BYTES


FILES = (
    IDXFile("train_images", "train-images-idx3-ubyte", "f4a8712d7a061bf5bd6d2ca38dc4d50a", 3, (28, 28), 47_040_016),
    IDXFile("train_labels", "train-labels-idx1-ubyte", "9018921c3c673c538a1fc5bad174d6f9", 1, (), 60_008),
    IDXFile("test_images", "t10k-images-idx3-ubyte", "8181f5470baa50b63fa0f6fddb340f0a", 3, (28, 28), 7_840_016),
    IDXFile("test_labels", "t10k-labels-idx1-ubyte", "15d484375f8d13e6eb1aabb0c3f46965", 1, (), 10_008),
)


@dataclass(frozen=True)
class Place:
    """A folder that may hold the files, and why it is on the list.

    ``kind`` is ``'root'`` or ``'env'`` (the user's own folder: never modified), ``'cache'`` (ours:
    bad files are moved aside) or ``'system'`` (read-only).
    """

    path: Path
    origin: str
    kind: str = "root"


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to 1/true/yes/on."""
    return os.environ.get(name, "").strip().lower() in _TRUE


def default_cache_dir() -> Path:
    """The per-user cache folder for Fashion-MNIST.

    ``$XDG_CACHE_HOME/softmaxreg/fashion-mnist`` (default ``~/.cache/...``) on Linux,
    ``~/Library/Caches/softmaxreg/fashion-mnist`` on macOS, ``%LOCALAPPDATA%\\softmaxreg\\Cache\\...``
    on Windows.
    """
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "softmaxreg" / "Cache"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "softmaxreg"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "softmaxreg"
    return base / "fashion-mnist"


def decoded_cache_dir() -> Path:
    """Where the decoded arrays of the files in :data:`FILES` are kept (next to the user cache)."""
    key = hashlib.sha256("".join(f.md5 for f in FILES).encode()).hexdigest()[:16]
    return default_cache_dir().parent / "decoded" / f"fashion-mnist-{key}"


def system_dirs() -> tuple[Path, ...]:
    """System-wide folders to look in (``SOFTMAXREG_SYSTEM_DATA`` overrides the default)."""
    value = os.environ.get("SOFTMAXREG_SYSTEM_DATA")
    if value is None:
        return SYSTEM_DIRS
    return tuple(Path(p) for p in value.split(os.pathsep) if p)


def search_places(root: str | os.PathLike[str] | None = None) -> list[Place]:
    """The folders to look in, in order (see the module docstring)."""
    places = []
    if root is not None:
        places.append(Place(Path(root).expanduser(), "the `root` argument", "root"))
    if os.environ.get("SOFTMAXREG_DATA"):
        places.append(Place(Path(os.environ["SOFTMAXREG_DATA"]).expanduser(), "$SOFTMAXREG_DATA", "env"))
    places.append(Place(default_cache_dir(), "the user cache", "cache"))
    places.extend(Place(p, "the system copy", "system") for p in system_dirs())
    return places


def download_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """Where a download goes: ``root``, else ``$SOFTMAXREG_DATA``, else the user cache."""
    return _download_place(root).path


def _download_place(root: str | os.PathLike[str] | None) -> Place:
    return next(p for p in search_places(root) if p.kind in ("root", "env", "cache"))


def find_file(folder: Path, file: IDXFile) -> Path | None:
    """The path of ``file`` (``.gz`` or raw) in ``folder`` or a known sub-folder, if any.

    Anything at that path counts (even a folder), so that it is reported as unreadable rather
    than silently skipped.
    """
    for layout in _LAYOUTS:
        for name in (file.name + ".gz", file.name):
            candidate = folder / layout / name
            if candidate.exists():
                return candidate
    return None


# -- verifying one file ----------------------------------------------------------------------------


def _read(path: Path, file: IDXFile) -> bytes:
    try:
        return read_idx_bytes(path, file.size)
    except OSError as err:
        why = err.strerror or str(err)
        hint = "Something other than a file is in its place." if path.is_dir() else "Check its permissions."
        raise DataError(f"Expected a readable file at {path}; got an error: {why}. {hint}") from err


def _check_items(array: np.ndarray, path: Path, file: IDXFile) -> None:
    """Element type, example shape and label range: what the header and payload size do not tell."""
    if array.dtype != np.uint8:
        raise IDXFormatError(f"Expected uint8 elements in {path}; got {array.dtype}. Is this an MNIST-family file?")
    if array.shape[1:] != file.item_shape:
        got = "×".join(map(str, array.shape[1:])) or "single values"
        want = "×".join(map(str, file.item_shape)) or "single values"
        raise IDXFormatError(
            f"Expected examples of {want} in {path}; got {got} (shape {array.shape}). "
            "Is this another dataset, or a resized copy?"
        )
    if file.ndim == 1 and array.size and int(array.max()) >= NUM_CLASSES:
        index = int(np.argmax(array >= NUM_CLASSES))
        raise IDXFormatError(
            f"Expected labels 0..{NUM_CLASSES - 1} in {path}; got {int(array[index])} at index {index}. "
            "This is not a Fashion-MNIST labels file."
        )


def _verify(path: Path, file: IDXFile) -> tuple[bytes, np.ndarray]:
    """Read, decompress, check the structure, then the MD5; return the content and its array."""
    content = _read(path, file)
    array = parse_idx(content, str(path), file.ndim)
    _check_items(array, path, file)
    digest = hashlib.md5(content, usedforsecurity=False).hexdigest()
    if digest != file.md5:
        raise ChecksumError(
            f"Expected the official {file.name} (MD5 {file.md5} of the decompressed content) in {path}; "
            f"got MD5 {digest}: the right format, other content (digit MNIST under Fashion-MNIST's name?)."
        )
    return content, array


def verified_content(path: Path, file: IDXFile) -> bytes:
    """Decompressed content of ``path``, checked for structure and against the official MD5.

    Raises:
        IDXFormatError: the file is not a well-formed IDX file of the expected shape (corrupt or
            truncated gzip, empty, wrong magic or dimensions, size, labels out of 0..9).
        ChecksumError: the file is well formed but its content is not the official file.
        DataError: the file cannot be read.
    """
    return _verify(path, file)[0]


class _BadFiles(Exception):
    """A `DataError` plus the files it is about (internal: lets the caller quarantine them)."""

    def __init__(self, error: DataError, paths: list[Path]) -> None:
        super().__init__(str(error))
        self.error = error
        self.paths = paths


def _verify_all(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    """Verify and parse the four files (two threads: zlib and MD5 release the GIL)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {file.key: pool.submit(_verify, paths[file.key], file) for file in FILES}
    arrays, bad = {}, []
    for file in FILES:  # report the first bad file in a fixed order; set aside every bad one
        try:
            arrays[file.key] = futures[file.key].result()[1]
        except DataError as err:
            bad.append((err, paths[file.key]))
    if bad:
        raise _BadFiles(bad[0][0], [path for _, path in bad]) from bad[0][0]
    for split in ("train", "test"):
        images, labels = f"{split}_images", f"{split}_labels"
        if len(arrays[images]) != len(arrays[labels]):
            error = IDXFormatError(
                f"Expected as many {split} labels as images; got {len(arrays[labels]):,} labels in "
                f"{paths[labels]} for {len(arrays[images]):,} images in {paths[images]}. "
                "The two files come from different datasets."
            )
            raise _BadFiles(error, [paths[images], paths[labels]])
    return arrays


def load_folder(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    """Verify and parse the four files; return arrays keyed like :data:`FILES`.

    Raises:
        IDXFormatError, ChecksumError, DataError: as :func:`verified_content`, or the image and
            label counts differ.
    """
    try:
        return _verify_all(paths)
    except _BadFiles as bad:
        raise bad.error from bad.error.__cause__


# -- the decoded cache and the in-process memo -----------------------------------------------------

# One entry: (MD5s, source fingerprints) -> read-only arrays. Only the latest is kept (~55 MB).
_memo: dict[tuple, dict[str, np.ndarray]] = {}


def clear_memo() -> None:
    """Forget the arrays remembered in this process (the next load reads the disk again)."""
    _memo.clear()


def _load_verified(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    """The four arrays, read-only: from memory, else the decoded cache, else verified from the files.

    Raises:
        _BadFiles: a file is damaged or not the official one.
    """
    md5s = {file.key: file.md5 for file in FILES}
    try:
        prints = [decoded_cache.fingerprint(paths[file.key]) for file in FILES]
    except OSError:  # vanished meanwhile: verifying says what is wrong
        prints = None
    key = (tuple(md5s.values()), tuple(prints or ()))
    if prints and key in _memo:
        return _memo[key]
    arrays = decoded_cache.load(decoded_cache_dir(), md5s, prints) if prints else None
    if arrays is None:
        arrays = _verify_all(paths)
        for array in arrays.values():
            array.setflags(write=False)
        if prints:
            decoded_cache.store(decoded_cache_dir(), arrays, md5s, prints)
    if prints:
        _memo.clear()
        _memo[key] = arrays
    return arrays


# -- what to do with a bad file, by whose it is ----------------------------------------------------


def quarantine(path: Path) -> Path | None:
    """Move a bad cached file aside to ``<name>.quarantined``; return where, or None if it could not."""
    target = path.with_name(path.name + QUARANTINE_SUFFIX)
    try:
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(path, target)
    except OSError as err:
        logger.debug("could not move %s aside: %s", path, err)
        return None
    return target


def _user_folder_error(place: Place, bad: _BadFiles) -> DataError:
    err = bad.error
    return type(err)(
        f"{err} To fix: replace it with the official file, or delete it to have a fresh copy downloaded into "
        f"{place.path}; softmaxreg never deletes or changes files in a folder you chose ({place.origin})."
    )


def _set_aside(place: Place, bad: _BadFiles) -> DataError:
    """Quarantine a bad cached file, or explain a bad system file; return the error to report."""
    err = bad.error
    if place.kind == "cache":
        moved = [str(quarantine(path) or f"nowhere ({path} could not be moved)") for path in bad.paths]
        it, them = ("it", "it") if len(moved) == 1 else ("the bad files", "them")
        action = f"softmaxreg moved {it} aside to {', '.join(moved)} and will not use {them} again."
    else:
        action = f"The system copy is damaged: reinstall it ({_PACKAGE_FIX.replace('install', 'install --reinstall')})."
    return type(err)(f"{err} {action}")


def _from_place(place: Place, tried: list[str], problems: list[DataError]) -> dict[str, np.ndarray] | None:
    """The arrays from ``place``, or None (noting why in ``tried``/``problems``) if it cannot serve."""
    paths, note = _find_all(place)
    if paths is None:
        tried.append(note)
        return None
    try:
        arrays = _load_verified(paths)
    except _BadFiles as bad:
        if place.kind in ("root", "env"):
            raise _user_folder_error(place, bad) from bad.error
        problems.append(_set_aside(place, bad))
        tried.append(f"{place.path} ({place.origin}: {bad.paths[0].name} is damaged)")
        return None
    logger.info("Fashion-MNIST from %s (%s)", place.path, place.origin)
    return arrays


# -- the search --------------------------------------------------------------------------------------


def _no_data_error(tried: list[str], problems: list[DataError] | None = None, offline: bool = False) -> DataError:
    if problems:  # a damaged file explains more than the list of places
        first = problems[0]
        fetch = "run without --offline (unset SOFTMAXREG_OFFLINE) to download a fresh copy, or " if offline else ""
        return type(first)(
            f"{first} No other copy was usable ({'; '.join(tried)}). To fix: {fetch}install the "
            f"Debian/Ubuntu package ({_PACKAGE_FIX}), or set SOFTMAXREG_DATA to a folder holding the official files."
        )
    lines = "; ".join(tried)
    return DataNotFoundError(
        f"Fashion-MNIST was not found. Tried: {lines}. To fix: install the Debian/Ubuntu package "
        f"({_PACKAGE_FIX}), or set SOFTMAXREG_DATA to a folder holding the four "
        f"files, or drop {', '.join(f.name + '.gz' for f in FILES)} into {default_cache_dir()}."
    )


def locate(root: str | os.PathLike[str] | None = None) -> tuple[Place | None, list[str]]:
    """The first place holding all four files (unverified), and notes on every place tried."""
    tried = []
    for place in search_places(root):
        paths, note = _find_all(place)
        if paths is not None:
            return place, tried
        tried.append(note)
    return None, tried


def _find_all(place: Place) -> tuple[dict[str, Path] | None, str]:
    """The four files' paths in ``place`` (None if one is missing), and a note on what is missing."""
    paths = {file.key: find_file(place.path, file) for file in FILES}
    missing = [file.name for file in FILES if paths[file.key] is None]
    if not missing:
        return paths, ""  # type: ignore[return-value]
    reason = "does not exist" if not place.path.exists() else f"lacks {', '.join(missing)}"
    return None, f"{place.path} ({place.origin}: {reason})"


def _download(
    place: Place, tried: list[str], problems: list[DataError], progress: bool | None
) -> dict[str, np.ndarray] | None:
    """Fetch the files ``place`` lacks (under a lock), then load it; a bad cached file is fetched once more."""
    from softmaxreg.datasets import download

    for _ in range(2):
        try:
            with download.folder_lock(place.path):  # another process may have fetched them meanwhile
                missing = [file for file in FILES if find_file(place.path, file) is None]
                download.fetch_all(missing, place.path, progress=progress)
        except (DataError, MachineError) as err:
            error = _no_data_error(tried + [f"download into {place.path} failed: {err}"], problems)
            # a folder that cannot be written is the machine's problem, whatever else was missing
            raise (MachineError(str(error)) if isinstance(err, MachineError) else error) from err
        arrays = _from_place(place, tried, problems)
        if arrays is not None:
            return arrays
    return None


@dataclass(frozen=True)
class Found:
    """Where `find_fashion_mnist` found the data, and what it passed over on the way.

    Attributes:
        arrays: the four verified arrays (see `load_fashion_mnist`).
        place: the folder they come from.
        tried: a note on every place looked at before (missing files, damaged ones).
        problems: the damaged files passed over (cached ones were moved aside).
    """

    arrays: dict[str, np.ndarray]
    place: Place
    tried: list[str]
    problems: list[DataError]


def find_fashion_mnist(
    root: str | os.PathLike[str] | None = None, offline: bool | None = None, *, progress: bool | None = None
) -> Found:
    """The one search behind `load_fashion_mnist` (training) and ``softmaxreg data``: the places in
    order, bad cached files moved aside, a download last. Arguments and errors as `load_fashion_mnist`."""
    tried: list[str] = []
    problems: list[DataError] = []
    for place in search_places(root):
        arrays = _from_place(place, tried, problems)
        if arrays is not None:
            return Found(arrays, place, tried, problems)
    offline = env_flag("SOFTMAXREG_OFFLINE") if offline is None else offline
    if offline:
        raise _no_data_error(tried + ["no download (offline)"], problems, offline=True)
    place = _download_place(root)
    arrays = _download(place, tried, problems, progress)
    if arrays is None:
        raise _no_data_error(tried, problems)
    return Found(arrays, place, tried, problems)


def load_fashion_mnist(
    root: str | os.PathLike[str] | None = None, offline: bool | None = None, *, progress: bool | None = None
) -> tuple[dict[str, np.ndarray], Path]:
    """Find (or fetch), verify and parse Fashion-MNIST.

    Args:
        root: a folder to look in first (and to download into).
        offline: never download; ``None`` reads ``SOFTMAXREG_OFFLINE``.
        progress: show a download progress bar on stderr; ``None``: when stderr is a terminal and
            ``SOFTMAXREG_PROGRESS`` is not ``0``.

    Returns:
        ``(arrays, folder)``: read-only uint8 images ``(N, 28, 28)`` and labels ``(N,)`` under the
        keys ``train_images``, ``train_labels``, ``test_images``, ``test_labels``; and where they
        were found. Copy an array before changing it.

    Raises:
        DataNotFoundError: found nowhere and not downloadable.
        ChecksumError, IDXFormatError, DataError: a file is present but damaged, in a folder the
            user chose or with no other copy to fall back on (see the module docstring).
        MachineError: the folder to download into cannot be written.
    """
    found = find_fashion_mnist(root, offline, progress=progress)
    return _report(found.problems, found.arrays), found.place.path


def _report(problems: list[DataError], arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Warn about the damaged files passed over on the way to a good copy."""
    for problem in problems:
        logger.warning("%s Used another copy.", problem)
    return arrays
