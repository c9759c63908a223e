"""Where Fashion-MNIST comes from: find it, verify it, and fetch it only when allowed.

Places are tried in this order; the first that holds all four files wins:

1. the explicit ``root`` argument;
2. the ``SOFTMAXREG_DATA`` environment variable;
3. the user cache directory (see :func:`default_cache_dir`);
4. the system copy, ``/usr/share/datasets/fashion-mnist`` (Debian/Ubuntu ``dataset-fashion-mnist``;
   ``SOFTMAXREG_SYSTEM_DATA`` replaces this list, separated by ``os.pathsep``);
5. a download from the official mirrors into ``root``, else ``SOFTMAXREG_DATA``, else the cache —
   skipped when offline (``offline=True`` or ``SOFTMAXREG_OFFLINE=1``).

Each file is verified by the MD5 of its *decompressed* content, so the official ``.gz`` files,
Debian's recompressed ones and raw files all pass.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from softmaxreg.errors import ChecksumError, DataError, DataNotFoundError, IDXFormatError
from softmaxreg.idx import parse_idx, read_idx_bytes

logger = logging.getLogger(__name__)

SYSTEM_DIRS = (Path("/usr/share/datasets/fashion-mnist"),)
# Sub-folders where other tools keep the same files (torchvision: FashionMNIST/raw).
_LAYOUTS = (".", "fashion-mnist", "FashionMNIST/raw")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class IDXFile:
    """One of the four Fashion-MNIST files.

    Attributes:
        key: short name, e.g. ``'train_images'``.
        name: file name without ``.gz``.
        md5: MD5 of the decompressed content.
        ndim: number of dimensions (3 for images, 1 for labels).
    """

    key: str
    name: str
    md5: str
    ndim: int


FILES = (
    IDXFile("train_images", "train-images-idx3-ubyte", "f4a8712d7a061bf5bd6d2ca38dc4d50a", 3),
    IDXFile("train_labels", "train-labels-idx1-ubyte", "9018921c3c673c538a1fc5bad174d6f9", 1),
    IDXFile("test_images", "t10k-images-idx3-ubyte", "8181f5470baa50b63fa0f6fddb340f0a", 3),
    IDXFile("test_labels", "t10k-labels-idx1-ubyte", "15d484375f8d13e6eb1aabb0c3f46965", 1),
)


@dataclass(frozen=True)
class Place:
    """A folder that may hold the files, and why it is on the list."""

    path: Path
    origin: str


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
        places.append(Place(Path(root).expanduser(), "the `root` argument"))
    if os.environ.get("SOFTMAXREG_DATA"):
        places.append(Place(Path(os.environ["SOFTMAXREG_DATA"]).expanduser(), "$SOFTMAXREG_DATA"))
    places.append(Place(default_cache_dir(), "the user cache"))
    places.extend(Place(p, "the system copy") for p in system_dirs())
    return places


def download_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """Where a download goes: ``root``, else ``$SOFTMAXREG_DATA``, else the user cache."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get("SOFTMAXREG_DATA"):
        return Path(os.environ["SOFTMAXREG_DATA"]).expanduser()
    return default_cache_dir()


def find_file(folder: Path, file: IDXFile) -> Path | None:
    """The path of ``file`` (``.gz`` or raw) in ``folder`` or a known sub-folder, if any."""
    for layout in _LAYOUTS:
        for name in (file.name + ".gz", file.name):
            candidate = folder / layout / name
            if candidate.is_file():
                return candidate
    return None


def verified_content(path: Path, file: IDXFile) -> bytes:
    """Decompressed content of ``path``, checked against the official MD5.

    Raises:
        IDXFormatError: the gzip stream is corrupt.
        ChecksumError: the content is not the official file.
        DataError: the file cannot be read.
    """
    try:
        content = read_idx_bytes(path)
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err.strerror or err}. Check its permissions.") from err
    digest = hashlib.md5(content, usedforsecurity=False).hexdigest()
    if digest != file.md5:
        raise ChecksumError(
            f"Expected the official {file.name} (MD5 {file.md5} of the decompressed content) in {path}; "
            f"got MD5 {digest}. The file is damaged or another dataset (digit MNIST?): replace or delete it."
        )
    return content


def load_folder(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    """Verify and parse the four files; return arrays keyed like :data:`FILES`."""
    arrays = {}
    for file in FILES:
        content = verified_content(paths[file.key], file)
        arrays[file.key] = parse_idx(content, str(paths[file.key]), file.ndim)
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if len(images) != len(labels):
            raise IDXFormatError(
                f"Expected as many {split} labels as images; got {len(labels):,} labels for {len(images):,} images."
            )
    return arrays


def _no_data_error(tried: list[str]) -> DataNotFoundError:
    lines = "; ".join(tried)
    return DataNotFoundError(
        f"Fashion-MNIST was not found. Tried: {lines}. To fix: install the Debian/Ubuntu package "
        "(sudo apt-get install dataset-fashion-mnist), or set SOFTMAXREG_DATA to a folder holding the four "
        f"files, or drop {', '.join(f.name + '.gz' for f in FILES)} into {default_cache_dir()}."
    )


def locate(root: str | os.PathLike[str] | None = None) -> tuple[Place | None, list[str]]:
    """The first place holding all four files (unverified), and notes on every place tried."""
    tried = []
    for place in search_places(root):
        found = {file.key: find_file(place.path, file) for file in FILES}
        missing = [file.name for file in FILES if found[file.key] is None]
        if not missing:
            return place, tried
        reason = "does not exist" if not place.path.exists() else f"lacks {', '.join(missing)}"
        tried.append(f"{place.path} ({place.origin}: {reason})")
    return None, tried


def load_fashion_mnist(
    root: str | os.PathLike[str] | None = None, offline: bool | None = None
) -> tuple[dict[str, np.ndarray], Path]:
    """Find (or fetch), verify and parse Fashion-MNIST.

    Args:
        root: a folder to look in first (and to download into).
        offline: never download; ``None`` reads ``SOFTMAXREG_OFFLINE``.

    Returns:
        ``(arrays, folder)``: uint8 images ``(N, 28, 28)`` and labels ``(N,)`` under the keys
        ``train_images``, ``train_labels``, ``test_images``, ``test_labels``; and where they were found.

    Raises:
        DataNotFoundError: found nowhere and not downloadable.
        ChecksumError, IDXFormatError: a file is present but damaged.
    """
    place, tried = locate(root)
    if place is None:
        offline = env_flag("SOFTMAXREG_OFFLINE") if offline is None else offline
        if offline:
            raise _no_data_error(tried + ["no download (offline)"])
        from softmaxreg import download

        target = download_dir(root)
        try:
            download.fetch_all(FILES, target)
        except DataError as err:
            raise _no_data_error(tried + [f"download into {target} failed: {err}"]) from err
        place = Place(target, "a download")
    paths = {file.key: find_file(place.path, file) for file in FILES}
    logger.info("Fashion-MNIST from %s (%s)", place.path, place.origin)
    return load_folder(paths), place.path  # type: ignore[arg-type]
