"""A folder of IDX files, the MNIST family's format (MNIST, KMNIST, EMNIST, Fashion-MNIST).

Four files, each raw or ``.gz``, with any prefix (EMNIST's ``emnist-letters-``)::

    train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte

Class names come from ``--classes a,b,c``, else a ``classes.txt`` next to the files (one name per
line, in label order), else the label numbers. EMNIST's letters, numbered from 1, keep their
numbers: label ``k`` is the ``k``-th name.

EMNIST stores its images transposed (column-major); they are used as stored, which a linear model
does not mind, but `predict` on your own images then needs them transposed too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from softmaxreg.datasets.idx import read_idx
from softmaxreg.datasets.own import DataOptions, OwnData, check_classes, light_on_dark
from softmaxreg.errors import DataError

PARTS = {
    "train_images": ("train-images-idx3-ubyte", 3),
    "train_labels": ("train-labels-idx1-ubyte", 1),
    "test_images": ("t10k-images-idx3-ubyte", 3),
    "test_labels": ("t10k-labels-idx1-ubyte", 1),
}
CLASSES_FILE = "classes.txt"


def _find(folder: Path, stem: str) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.name.endswith((stem, stem + ".gz")) and p.is_file())
    return found[0] if found else None


def find_idx_files(folder: Path) -> dict[str, Path] | None:
    """The four files, when ``folder`` holds training images in IDX; ``None`` when it holds none.

    Raises:
        DataError: it holds training images but not the other three files.
    """
    if _find(folder, PARTS["train_images"][0]) is None:
        return None
    found = {key: _find(folder, stem) for key, (stem, _) in PARTS.items()}
    missing = [PARTS[key][0] for key, path in found.items() if path is None]
    if missing:
        raise DataError(
            f"Expected the four IDX files of a dataset in {folder}; {', '.join(missing)}[.gz] "
            f"{'is' if len(missing) == 1 else 'are'} missing."
        )
    return found  # type: ignore[return-value]


def _names(folder: Path, labels: np.ndarray, options: DataOptions) -> tuple[str, ...]:
    count = int(labels.max()) + 1
    if options.classes:
        names = tuple(options.classes)
        origin = "--classes"
    elif (folder / CLASSES_FILE).is_file():
        names = tuple(
            line.strip() for line in (folder / CLASSES_FILE).read_text(encoding="utf-8").splitlines() if line.strip()
        )
        origin = str(folder / CLASSES_FILE)
    else:
        return tuple(str(k) for k in range(count))
    if len(names) < count:
        raise DataError(
            f"Expected at least {count} class names in {origin} (labels go up to {count - 1}); got {len(names)}."
        )
    return names


def load_idx_folder(folder: Path, options: DataOptions) -> OwnData:
    """Read the four IDX files of ``folder`` into an `OwnData` (the files are the split).

    Raises:
        DataError: a file is missing or malformed, or images and labels disagree.
    """
    paths = find_idx_files(folder)
    if paths is None:
        raise DataError(f"Expected IDX files (train-images-idx3-ubyte[.gz] and three more) in {folder}; found none.")
    arrays = {key: read_idx(paths[key], expected_ndim=PARTS[key][1]) for key in PARTS}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if len(images) != len(labels):
            raise DataError(
                f"Expected as many labels as images in {folder} ({part}); got {len(images):,} images "
                f"({paths[f'{part}_images'].name}) and {len(labels):,} labels ({paths[f'{part}_labels'].name})."
            )
        if images.dtype != np.uint8:
            raise DataError(f"Expected uint8 pixels in {paths[f'{part}_images']}; got {images.dtype}.")
    train_y, test_y = arrays["train_labels"].astype(np.int64), arrays["test_labels"].astype(np.int64)
    names = _names(folder, train_y, options)
    check_classes(names, np.array([]), str(folder))
    unseen = np.setdiff1d(np.unique(test_y), np.unique(train_y))
    if len(unseen) or test_y.min(initial=0) < 0 or test_y.max(initial=0) >= len(names):
        bad = int(unseen[0]) if len(unseen) else int(test_y.max())
        raise DataError(
            f"Expected only labels that the training data has in {paths['test_labels']}; got {bad}, which the "
            "training data never has."
        )
    train_x, test_x = arrays["train_images"][:, None], arrays["test_images"][:, None]  # (N, 1, H, W)
    return OwnData(
        kind="images", train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y, class_names=names,
        source={"kind": "idx", "path": str(folder.resolve()), "files": {k: p.name for k, p in paths.items()}},
        light_on_dark=light_on_dark(train_x[:1000]),
        preprocessing={"color": "grey", "size": list(train_x.shape[2:]), "resize": "none (IDX images)"},
        split={"method": "files", "train": len(train_y), "test": len(test_y)},
    )  # fmt: skip
