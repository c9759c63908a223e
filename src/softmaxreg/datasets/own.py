"""Your own data: one small interface over every source (image folder, IDX folder, table), and the split.

Each loader (`image_folder`, `idx_folder`, `tables`) reads its source once and returns an
`OwnData`: uint8 images ``(N, C, H, W)`` or float32 features ``(N, F)`` (raw, not standardised),
int64 labels, the class names in label order, and a description of where it came from. Everything
downstream (training, the run folder) uses that and never reads the source again, except to
re-check a run against it (`OwnData.fingerprint`).

`load_source` picks the loader from what ``path`` is:

- a folder holding ``*train-images-idx3-ubyte[.gz]``: IDX files (MNIST, KMNIST, EMNIST);
- any other folder: an image folder, one sub-folder per class (torchvision's ``ImageFolder``);
- a ``.csv``, ``.parquet`` or ``.npz`` file: a table.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from softmaxreg.errors import ConfigError, DataError

TABLE_SUFFIXES = (".csv", ".parquet", ".npz")
COLOR_CHOICES = ("grey", "rgb")


@dataclass(frozen=True)
class DataOptions:
    """How to read a source: what ``softmaxreg train --data PATH`` takes besides the path.

    Attributes:
        test_data: a separate test table (tables only).
        label: the label column of a table.
        test_fraction: share of each class held out for testing when the source has no test split.
        seed: seeds that split.
        color: ``"grey"`` or ``"rgb"``; ``None``: what the images are.
        image_size: ``(height, width)`` every image is resized to; ``None``: the most common size.
        image_shape: ``(height, width, channels)`` of a table's pixel columns.
        classes: class names in label order (IDX, integer labels).
        skip_bad_files: leave out image files that cannot be read instead of stopping.
    """

    test_data: str | None = None
    label: str = "label"
    test_fraction: float = 0.2
    seed: int = 0
    color: str | None = None
    image_size: tuple[int, int] | None = None
    image_shape: tuple[int, int, int] | None = None
    classes: tuple[str, ...] | None = None
    skip_bad_files: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The options as JSON types (``data.json`` keeps them, so the source can be read again alike)."""
        return {
            "test_data": self.test_data,
            "label": self.label,
            "test_fraction": self.test_fraction,
            "seed": self.seed,
            "color": self.color,
            "image_size": list(self.image_size) if self.image_size else None,
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "classes": list(self.classes) if self.classes else None,
            "skip_bad_files": self.skip_bad_files,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DataOptions:
        """The inverse of `to_dict`."""
        size, shape, classes = values.get("image_size"), values.get("image_shape"), values.get("classes")
        return cls(
            test_data=values.get("test_data"),
            label=values.get("label") or "label",
            test_fraction=float(values.get("test_fraction", 0.2)),
            seed=int(values.get("seed", 0)),
            color=values.get("color"),
            image_size=tuple(size) if size else None,
            image_shape=tuple(shape) if shape else None,
            classes=tuple(classes) if classes else None,
            skip_bad_files=bool(values.get("skip_bad_files", False)),
        )


@dataclass
class OwnData:
    """What every loader returns: both splits, the class names, and how they were made.

    Attributes:
        kind: ``"images"`` or ``"features"``.
        train_x: ``(N, C, H, W)`` uint8 images or ``(N, F)`` float32 features (not standardised).
        train_y: ``(N,)`` int64 labels in ``[0, len(class_names))``.
        test_x: the test split, as ``train_x``.
        test_y: its labels.
        class_names: the name of each label, in label order.
        source: where it came from (``kind``, ``path``, ...), for ``data.json``.
        feature_names: features: the column names, in the model's order.
        light_on_dark: images: light objects on a dark background (see `light_on_dark`).
        preprocessing: what was done to the source's values (resize, colour), for ``data.json``.
        split: how the test split was chosen (``method`` and its parameters).
        assignment: when softmaxreg chose the split, the ids (file paths or row numbers) of each
            split, ``{"train": [...], "test": [...]}``; the run folder keeps it (``split.json``).
        skipped: files left out by ``skip_bad_files``, each with the reason.
        notes: lines worth telling the user (e.g. that some images had another size).
    """

    kind: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    class_names: tuple[str, ...]
    source: dict[str, Any]
    feature_names: tuple[str, ...] = ()
    light_on_dark: bool = False
    preprocessing: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    assignment: dict[str, list[Any]] | None = None
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One example's shape: ``(C, H, W)`` or ``(F,)``."""
        return tuple(self.train_x.shape[1:])

    def fingerprint(self) -> str:
        """``sha256:<hex>`` of the content the model sees: both splits' values and labels, and the names.

        The same source read again with the same options gives the same fingerprint; any changed
        pixel, value, label, file or class name gives another.
        """
        digest = hashlib.sha256()
        for array in (self.train_x, self.train_y, self.test_x, self.test_y):
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(memoryview(array).cast("B"))
        digest.update("\x00".join(self.class_names).encode())
        digest.update("\x00".join(self.feature_names).encode())
        return "sha256:" + digest.hexdigest()


def load_source(path: str | os.PathLike[str], options: DataOptions | None = None,
                assignment: dict[str, list[Any]] | None = None) -> OwnData:  # fmt: skip
    """Read ``path`` with the loader its kind needs (see the module docstring).

    Args:
        path: an image folder, an IDX folder, or a ``.csv``/``.parquet``/``.npz`` table.
        options: how to read it.
        assignment: a split recorded by an earlier read (a run folder's ``split.json``): used
            instead of drawing one.

    Raises:
        DataError: the source is missing, empty or holds data softmaxreg cannot use (one line saying which).
        ConfigError: an option does not fit the source.
    """
    options = options or DataOptions()
    check_options(options)
    path = Path(path)
    if not path.exists():
        raise DataError(
            "Expected `--data` to be an image folder, an IDX folder or a .csv/.parquet/.npz table; "
            f"{path} does not exist."
        )
    if path.is_dir():
        from softmaxreg.datasets import idx_folder

        if idx_folder.find_idx_files(path) is not None:
            return idx_folder.load_idx_folder(path, options)
        from softmaxreg.datasets import image_folder

        return image_folder.load_image_folder(path, options, assignment)
    if path.suffix.lower() in TABLE_SUFFIXES:
        from softmaxreg.datasets import tables

        return tables.load_table(path, options, assignment)
    raise DataError(
        f"Expected `--data` to be an image folder, an IDX folder or a .csv/.parquet/.npz table; got the file {path}."
    )


def check_options(options: DataOptions) -> None:
    """Refuse options no source can use.

    Raises:
        ConfigError: one line naming the option.
    """
    if not 0 < options.test_fraction < 1:
        raise ConfigError(f"`--test-fraction` must be a number between 0 and 1; got {options.test_fraction}.")
    if options.color is not None and options.color not in COLOR_CHOICES:
        raise ConfigError(f"`--color` must be grey or rgb; got {options.color!r}.")


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded, stratified split: of each class, ``round(n * test_fraction)`` (at least 1
    when the class has 2 or more examples) go to the test split.

    Returns:
        ``(train_indices, test_indices)``, each sorted.

    Examples:
        >>> train, test = stratified_split(np.array([0] * 10 + [1] * 5), 0.2, seed=0)
        >>> len(train), len(test), np.array([0] * 10 + [1] * 5)[test].tolist()
        (12, 3, [0, 0, 1])
    """
    rng = np.random.default_rng(seed)
    test: list[np.ndarray] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = min(max(round(len(members) * test_fraction), 1 if len(members) > 1 else 0), len(members) - 1)
        test.append(rng.permutation(members)[:count])
    test_idx = np.sort(np.concatenate(test)) if test else np.array([], dtype=np.int64)
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return train_idx, test_idx


def split_by_ids(ids: Sequence[Any], assignment: dict[str, list[Any]], source: str) -> tuple[np.ndarray, np.ndarray]:
    """The train and test indices of ``ids`` that a recorded ``assignment`` names.

    Raises:
        DataError: an id of the assignment is no longer in the source (the data changed).
    """
    where = {key: i for i, key in enumerate(ids)}
    try:
        return tuple(np.array([where[key] for key in assignment[part]], dtype=np.int64) for part in ("train", "test"))  # type: ignore[return-value]
    except KeyError as err:
        raise DataError(
            f"Expected {source} to hold {err.args[0]!r}, which the run's split (split.json) names; it does not. "
            "The data changed since the run was trained."
        ) from None


def take(data: OwnData, x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> OwnData:
    """``data`` with its splits made of the rows ``train`` and ``test`` of ``x`` and ``y``."""
    return replace(data, train_x=x[train], train_y=y[train], test_x=x[test], test_y=y[test])


def check_classes(names: Sequence[str], counts: np.ndarray, source: str) -> None:
    """At least two classes, each with an example.

    Raises:
        DataError: one class only.
    """
    if len(names) < 2:
        only = f"one, {names[0]!r}" if names else "none"
        raise DataError(f"Expected at least two classes in {source}; got {only}. A classifier needs two or more.")


def light_on_dark(images: np.ndarray) -> bool:
    """Whether ``(N, C, H, W)`` uint8 images show light objects on a dark background: the median of
    the images' border levels (as `softmaxreg.runs.images.border_level` takes it) is below 127.5.

    Examples:
        >>> light_on_dark(np.pad(np.full((2, 1, 4, 4), 250, np.uint8), ((0, 0), (0, 0), (1, 1), (1, 1))))
        True
        >>> light_on_dark(np.full((2, 1, 6, 6), 240, np.uint8))
        False
    """
    if len(images) == 0:
        return False
    grey = images.mean(axis=1) if images.shape[1] > 1 else images[:, 0]  # (N, H, W)
    ring = np.concatenate([grey[:, 0], grey[:, -1], grey[:, 1:-1, 0], grey[:, 1:-1, -1]], axis=1)  # (N, border)
    return bool(np.median(np.median(ring, axis=1)) < 127.5)


def parse_size(text: str, option: str, parts: tuple[int, ...] = (2,)) -> tuple[int, ...]:
    """``"32x32"`` as ``(32, 32)``; ``parts`` says how many numbers may be given.

    Raises:
        ConfigError: not that many positive integers separated by ``x``.

    Examples:
        >>> parse_size("28x28", "--image-size")
        (28, 28)
        >>> parse_size("32x32x3", "--image-shape", (2, 3))
        (32, 32, 3)
    """
    try:
        numbers = tuple(int(n) for n in text.lower().split("x"))
    except ValueError:
        numbers = ()
    if len(numbers) not in parts or any(n < 1 for n in numbers):
        form = " or ".join({2: "HxW", 3: "HxWxC"}[n] for n in parts)
        raise ConfigError(f"`{option}` must be {form} in pixels, e.g. 28x28; got {text!r}.")
    return numbers
