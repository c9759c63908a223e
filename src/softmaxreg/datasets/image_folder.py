"""An image folder, one sub-folder per class (torchvision's ``ImageFolder``, Keras's ``image_dataset_from_directory``).

::

    pets/cat/001.png  pets/cat/002.jpg  pets/dog/001.png ...          a split is drawn (--test-fraction)
    pets/train/cat/... pets/train/dog/... pets/test/cat/... (or val/)  the folders are the splits

Files are found in every class folder (searched recursively; hidden files and files of other types
are left out) and ordered by their name within the class folder, then by class (so files numbered
across classes, as exports of a dataset are, keep the dataset's order), decoded in parallel (forked
worker processes for a large folder on Linux, else a thread pool: Pillow releases the GIL while it
decodes), converted (`softmaxreg.datasets.convert`: grey or RGB, resized to one size) and kept
decoded in the user cache, keyed by the files' names, sizes and modification times and the
options: reading the same folder again costs a listing and one array read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from softmaxreg.datasets import decoded_cache
from softmaxreg.datasets.convert import is_grey, open_image, to_array, to_mode
from softmaxreg.datasets.own import (
    DataOptions,
    OwnData,
    check_classes,
    light_on_dark,
    split_by_ids,
    stratified_split,
    take,
)
from softmaxreg.errors import DataError, ImageError

logger = logging.getLogger(__name__)

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
FORMATS = "PNG, JPEG, BMP, GIF, WebP or TIFF"
SPLIT_FOLDERS = (("train", "test"), ("train", "val"))
WILD = 2.0  # sizes more than this factor apart are not resized without --image-size
_CACHE_FORMAT = 1
_CHUNK = 1024  # files per task of the pool: few tasks, each long enough to share out
PROCESS_THRESHOLD = 8192  # files from which worker processes pay for their start (about a second)


@dataclass(frozen=True)
class Listing:
    """The files of an image folder.

    Attributes:
        root: the folder.
        files: paths relative to ``root`` (``"cat/001.png"`` or ``"train/cat/001.png"``).
        labels: each file's class index.
        class_names: the class folders' names, sorted.
        parts: each file's split (``"train"``/``"test"``) when the folder has split folders, else ``None``.
        stats: ``(size, mtime_ns)`` of each file.
        ignored: files left out because of their type.
    """

    root: Path
    files: list[str]
    labels: np.ndarray
    class_names: tuple[str, ...]
    parts: list[str] | None
    stats: list[tuple[int, int]]
    ignored: int

    def key(self, options: DataOptions) -> str:
        """What the decoded arrays depend on: every file's name, size and time, and the options."""
        digest = hashlib.sha256(json.dumps([_CACHE_FORMAT, options.color, options.image_size]).encode())
        for name, (size, mtime) in zip(self.files, self.stats, strict=True):
            digest.update(f"{name}\x00{size}\x00{mtime}\n".encode())
        return digest.hexdigest()


def _visible_dirs(folder: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


def _class_files(folder: Path) -> tuple[list[tuple[str, int, int]], int]:
    """``(path relative to folder, size, mtime_ns)`` of the images under one class folder, and how many
    other files. One ``scandir`` per folder and string joins: 70,000 ``os.path.relpath`` calls would
    cost seconds."""
    found, ignored = [], 0
    stack = [("", str(folder))]
    while stack:  # depth first, in name order: a folder's files, then its sub-folders
        prefix, path = stack.pop()
        subdirs = []
        for entry in sorted(os.scandir(path), key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                subdirs.append((f"{prefix}{entry.name}/", entry.path))
            elif entry.name.lower().endswith(EXTENSIONS):
                st = entry.stat()
                found.append((prefix + entry.name, st.st_size, st.st_mtime_ns))
            else:
                ignored += 1
        stack.extend(reversed(subdirs))
    return found, ignored


def list_folder(root: Path) -> Listing:
    """Find the classes and image files of ``root`` (see the module docstring).

    Raises:
        DataError: no class folders, a class folder without images, one class only, or a test class
            the training folder does not have.
    """
    subdirs = _visible_dirs(root)
    layout = next((pair for pair in SPLIT_FOLDERS if set(pair) <= set(subdirs)), None)
    if not subdirs:
        raise DataError(
            f"Expected an image folder with one sub-folder of images per class in {root}; it holds no sub-folders."
        )
    parts_dirs = [(root / part, part) for part in layout] if layout else [(root, None)]
    class_names = tuple(_visible_dirs(parts_dirs[0][0]))
    if layout:
        for folder, _ in parts_dirs[1:]:
            extra = sorted(set(_visible_dirs(folder)) - set(class_names))
            if extra:
                raise DataError(
                    f"Expected the test folder {folder} to hold only classes the training folder has; "
                    f"{extra[0]!r} is not in {parts_dirs[0][0]}. Add its training images, or remove it."
                )
    check_classes(class_names, np.array([]), str(parts_dirs[0][0]))
    files, labels, parts, stats, ignored = [], [], [], [], 0
    for folder, part in parts_dirs:
        entries = []  # (path within the class folder, label, size, mtime)
        for label, name in enumerate(class_names):
            if not (folder / name).is_dir():
                continue
            found, skipped = _class_files(folder / name)
            ignored += skipped
            if not found:
                raise DataError(
                    f"Expected images ({FORMATS}) in the class folder {folder / name}; it holds none. "
                    "Add images, or remove the folder."
                )
            entries += [(rel, label, size, mtime) for rel, size, mtime in found]
        entries.sort()  # by file name, then class: numbered exports (00000.png ...) keep their order
        top = f"{part}/" if part else ""
        files += [f"{top}{class_names[label]}/{rel}" for rel, label, _, _ in entries]
        stats += [(size, mtime) for _, _, size, mtime in entries]
        labels += [label for _, label, _, _ in entries]
        parts += [part] * len(entries)
    return Listing(
        root, files, np.array(labels, dtype=np.int64), class_names, parts if layout else None, stats, ignored
    )


def _decode_chunk(root: Path, names: list[str], options: DataOptions) -> list[Any]:
    """Decode ``names``: each an array (grey ``(H, W)`` or colour ``(H, W, 3)``, or ``(C, H, W)`` when the
    options fix colour and size), or the `ImageError` message."""
    out: list[Any] = []
    for name in names:
        try:
            image = open_image(root / name, str(root / name))
            if options.color and options.image_size:
                out.append(to_array(image, 1 if options.color == "grey" else 3, options.image_size))
            else:
                out.append(np.asarray(to_mode(image, 1 if is_grey(image) else 3)))
        except ImageError as err:
            out.append(str(err))
    return out


def _decode_all(listing: Listing, options: DataOptions) -> list[Any]:
    """Decode every file, in order: in worker processes for a large folder (Pillow's Python code per
    file, not the decoding itself, is most of the cost of a small image, and it holds the GIL), else
    in a thread pool (Pillow releases the GIL while it decodes)."""
    chunks = [listing.files[i : i + _CHUNK] for i in range(0, len(listing.files), _CHUNK)]
    root, cpus = str(listing.root), os.cpu_count() or 1
    if cpus > 1 and len(listing.files) >= PROCESS_THRESHOLD and sys.platform == "linux":
        try:
            return _flatten(_in_processes(root, chunks, options, cpus))
        except (OSError, ValueError, RuntimeError, BrokenProcessPool) as err:  # no processes here: threads work
            logger.info("Decoding in threads: worker processes failed to start (%s).", err)
    with ThreadPoolExecutor(max_workers=min(len(chunks), cpus + 1) or 1) as pool:
        return _flatten(pool.map(lambda names: _decode_chunk(Path(root), names, options), chunks))


def _in_processes(root: str, chunks: list[list[str]], options: DataOptions, cpus: int) -> list[list[Any]]:
    """Decode the chunks in forked processes (as torch's DataLoader workers are on Linux): they inherit
    the loaded modules, and never import the caller's ``__main__`` again, as spawned ones would."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(cpus, len(chunks)), mp_context=context) as pool:
        return list(pool.map(_decode_chunk, [Path(root)] * len(chunks), chunks, [options] * len(chunks)))


def _flatten(chunks: Any) -> list[Any]:
    return [item for chunk in chunks for item in chunk]


def _target(
    decoded: list[np.ndarray], names: list[str], root: Path, options: DataOptions
) -> tuple[int, tuple[int, int], list[str]]:
    """The channels and size every image becomes, and a note when some are resized."""
    channels = {"grey": 1, "rgb": 3}.get(options.color or "", 3 if any(a.ndim == 3 for a in decoded) else 1)
    if options.image_size:
        return channels, options.image_size, []
    sizes = Counter(a.shape[:2] for a in decoded)
    (size, count), notes = sizes.most_common(1)[0], []
    if count < len(decoded):
        far = [(n, a.shape[:2]) for n, a in zip(names, decoded, strict=True) if _far(a.shape[:2], size)]
        if far:
            name, other = far[0]
            raise DataError(
                f"Expected images of about one size in {root}; got {len(sizes)} sizes, e.g. {_hw(size)} "
                f"({count:,} images) and {_hw(other)} ({root / name}). Pass --image-size HxW to resize them all, "
                f"e.g. --image-size {size[0]}x{size[1]}."
            )
        name = next(n for n, a in zip(names, decoded, strict=True) if a.shape[:2] != size)
        notes.append(
            f"note: {len(decoded) - count:,} of {len(decoded):,} images are not {_hw(size)} (e.g. {name}); "
            f"resized to {_hw(size)} (--image-size HxW sets the size)."
        )
    return channels, size, notes


def _hw(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _far(size: tuple[int, int], target: tuple[int, int]) -> bool:
    return any(max(a, b) > WILD * min(a, b) for a, b in zip(size, target, strict=True))


def _convert(array: np.ndarray, channels: int, size: tuple[int, int]) -> np.ndarray:
    """A decoded ``(H, W)`` or ``(H, W, 3)`` array as ``(channels, *size)`` uint8."""
    if array.ndim == 3 and array.shape[0] == channels and array.shape[1:] == size:  # converted while decoding
        return array
    if array.shape[:2] == size and (array.ndim == 2) == (channels == 1):
        return array[None] if channels == 1 else array.transpose(2, 0, 1)
    from PIL import Image

    return to_array(Image.fromarray(array), channels, size)


def _decode_folder(listing: Listing, options: DataOptions) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Every image as ``(N, C, H, W)`` uint8, which files could be read, and the notes and skipped files."""
    decoded = _decode_all(listing, options)
    bad = [(name, item) for name, item in zip(listing.files, decoded, strict=True) if isinstance(item, str)]
    if bad and not options.skip_bad_files:
        name, message = bad[0]
        more = f" ({len(bad) - 1:,} more files cannot be read either)" if len(bad) > 1 else ""
        raise DataError(f"{message}{more} Remove it, or pass --skip-bad-files to leave out files that cannot be read.")
    ok = np.array([not isinstance(item, str) for item in decoded], dtype=np.uint8)
    good = [item for item in decoded if not isinstance(item, str)]
    if not good:
        raise DataError(
            f"Expected images ({FORMATS}) in {listing.root}; none of its {len(decoded):,} files can be read."
        )
    channels, size, notes = _target(
        good, [n for n, k in zip(listing.files, ok, strict=True) if k], listing.root, options
    )
    images = np.stack([_convert(a, channels, size) for a in good])  # (N, C, H, W)
    return images, ok, {"notes": notes, "skipped": [f"{name}: {message}" for name, message in bad]}


def _cache_dir(key: str) -> Path:
    from softmaxreg.datasets.sources import default_cache_dir

    return default_cache_dir().parent / "decoded" / f"folder-{key[:32]}"


def read_images(listing: Listing, options: DataOptions) -> tuple[np.ndarray, np.ndarray, dict[str, Any], bool]:
    """The decoded images of ``listing`` (from the cache when it holds them); whether the cache did."""
    key = listing.key(options)
    folder = _cache_dir(key)
    cached = decoded_cache.load(folder, {"listing": key}, [])
    if cached is not None:
        info = json.loads(bytes(cached["info"]).decode("utf-8"))
        return cached["images"], cached["ok"].astype(bool), info, True
    images, ok, info = _decode_folder(listing, options)
    info_bytes = np.frombuffer(json.dumps(info).encode("utf-8"), dtype=np.uint8)
    decoded_cache.store(folder, {"images": images, "ok": ok, "info": info_bytes}, {"listing": key}, [])
    return images, ok.astype(bool), info, False


def load_image_folder(root: Path, options: DataOptions, assignment: dict[str, list[Any]] | None = None) -> OwnData:
    """Read an image folder (see the module docstring) into an `OwnData`.

    Raises:
        DataError: the folder is not an image folder softmaxreg can use (one line saying why).
    """
    listing = list_folder(root)
    images, ok, info, cached = read_images(listing, options)
    labels, files = listing.labels[ok], [name for name, k in zip(listing.files, ok, strict=True) if k]
    if len(np.unique(labels)) < 2:
        check_classes([listing.class_names[int(labels[0])]], np.array([]), str(root))
    split: dict[str, Any]
    if listing.parts is not None:
        parts = np.array([p for p, k in zip(listing.parts, ok, strict=True) if k])
        train, test = np.flatnonzero(parts == "train"), np.flatnonzero(parts != "train")
        split = {"method": "folders", "test_folder": next(p for p in listing.parts if p != "train")}
        chosen = None
    else:
        if assignment is not None:
            train, test = split_by_ids(files, assignment, str(root))
        else:
            train, test = stratified_split(labels, options.test_fraction, options.seed)
        split = {"method": "stratified", "test_fraction": options.test_fraction, "seed": options.seed}
        chosen = {"train": [files[i] for i in train], "test": [files[i] for i in test]}
    data = OwnData(
        kind="images", train_x=images, train_y=labels, test_x=images, test_y=labels,
        class_names=listing.class_names,
        source={"kind": "image-folder", "path": str(root.resolve()), "files": len(listing.files)},
        light_on_dark=light_on_dark(images) and images.shape[1] == 1,
        preprocessing={"color": "grey" if images.shape[1] == 1 else "rgb", "size": list(images.shape[2:]),
                       "resize": "Pillow Lanczos to height x width where an image has another size"},
        split={**split, "train": int(len(train)), "test": int(len(test))},
        assignment=chosen, skipped=info["skipped"], notes=info["notes"],
    )  # fmt: skip
    logger.debug("image folder %s: %d images (%s)", root, len(images), "cached" if cached else "decoded")
    return take(data, images, labels, train, test)
