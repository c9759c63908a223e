"""Your own data as a d2l `DataModule`: ``d2l.ImageFolder`` and ``d2l.Table`` train like ``d2l.FashionMNIST``.

    >>> data = d2l.ImageFolder("pets", batch_size=64, resize=(32, 32))   # doctest: +SKIP
    >>> trainer.fit(model, data)                                          # doctest: +SKIP

Images are batches of float32 ``(batch, C, H, W)`` in [0, 1] (uint8 / 255), as Fashion-MNIST's;
features float32 ``(batch, F)`` standardised with the training split's mean and standard deviation
(a constant column gets standard deviation 1).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from softmaxreg._validate import check_positive_int
from softmaxreg.book.data import DataModule, TensorLoader
from softmaxreg.datasets.fashion_mnist import ImageDataset, _check_resize, to_float_batch
from softmaxreg.datasets.own import DataOptions, OwnData, load_source


class FeatureDataset(torch.utils.data.Dataset):
    """A map-style dataset over standardised features: ``dataset[i]`` is ``(features, label)``.

    Attributes:
        images: ``(N, F)`` float32 features (the name the training code reads for any input).
        labels: ``(N,)`` int64.
    """

    def __init__(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = features
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


def standardisation(train_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training split's mean and standard deviation of each column (float64; 1 where it is 0).

    Examples:
        >>> mean, std = standardisation(np.array([[1.0, 5.0], [3.0, 5.0]], dtype=np.float32))
        >>> mean.tolist(), std.tolist()
        ([2.0, 5.0], [1.0, 1.0])
    """
    x = train_x.astype(np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def standardise(x: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """``(x - mean) / std`` as float32 ``(N, F)``."""
    return ((x.astype(np.float64) - np.asarray(mean)) / np.asarray(std)).astype(np.float32)


class OwnDataModule(DataModule):
    """An `OwnData` (any source) as a `DataModule` with ``train`` and ``val`` datasets.

    Attributes:
        own: the loaded data (both splits, raw).
        train: the training split (``images``: uint8 ``(N, C, H, W)`` or standardised float32 ``(N, F)``).
        val: the test split, alike.
        classes: the class names in label order.
        source: where the data came from (a path).
        mean: features: the training split's mean of each column (``None`` for images).
        std: features: its standard deviation (1 where it is 0).
    """

    def __init__(self, own: OwnData, batch_size: int = 64, options: DataOptions | None = None) -> None:
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.options = options or DataOptions()
        self.num_workers, self.root = 0, own.source.get("path")
        self.own = own
        self.classes = tuple(own.class_names)
        self.source = own.source.get("path")
        labels = (torch.from_numpy(own.train_y.astype(np.int64)), torch.from_numpy(own.test_y.astype(np.int64)))
        if own.kind == "features":
            mean, std = standardisation(own.train_x)
            self.mean, self.std = tuple(mean.tolist()), tuple(std.tolist())
            self.train = FeatureDataset(torch.from_numpy(standardise(own.train_x, mean, std)), labels[0])
            self.val = FeatureDataset(torch.from_numpy(standardise(own.test_x, mean, std)), labels[1])
        else:
            self.mean = self.std = None
            self.train = ImageDataset(torch.from_numpy(np.ascontiguousarray(own.train_x)), labels[0])
            self.val = ImageDataset(torch.from_numpy(np.ascontiguousarray(own.test_x)), labels[1])

    def input_spec(self) -> Any:
        """What the model takes (`softmaxreg.runs.inputs.InputSpec` fields as a dict, for ``model.json``)."""
        own = self.own
        if own.kind == "features":
            return {"kind": "features", "feature_names": list(own.feature_names), "mean": list(self.mean),
                    "std": list(self.std)}  # fmt: skip
        channels, height, width = own.input_shape
        return {"kind": "images", "channels": channels, "height": height, "width": width,
                "light_on_dark": bool(own.light_on_dark)}  # fmt: skip

    def get_dataloader(self, train: bool) -> TensorLoader:
        """Batches ``(X, y)``: X float32 (images in [0, 1], or standardised features), y int64."""
        data = self.train if train else self.val
        transform = to_float_batch if self.own.kind == "images" else None
        return TensorLoader(
            (data.images, data.labels), self.batch_size, shuffle=train, transform=transform, dataset=data
        )

    def text_labels(self, indices: Any) -> list[str]:
        """Class names for ``indices``."""
        values = indices.tolist() if hasattr(indices, "tolist") else list(indices)
        return [self.classes[int(i)] for i in values]

    def __repr__(self) -> str:
        shape = "x".join(map(str, self.own.input_shape))
        return (
            f"{type(self).__name__}({self.own.kind} {shape}, {len(self.train):,} train / {len(self.val):,} test, "
            f"{len(self.classes)} classes, source={self.source!r})"
        )


class ImageFolder(OwnDataModule):
    """An image folder, one sub-folder per class, as a d2l `DataModule` (see `softmaxreg.datasets.image_folder`).

    Args:
        root: the folder (with ``train/`` and ``test/`` or ``val/`` sub-folders, or a folder per class).
        batch_size: examples per batch.
        resize: ``(height, width)`` (or one int) every image is resized to; default the most common size.
        color: ``"grey"`` or ``"rgb"``; default what the images are.
        test_fraction: share of each class held out when the folder has no test split.
        seed: seeds that split.
    """

    def __init__(self, root: str | os.PathLike[str], batch_size: int = 64, resize: Any = None,
                 color: str | None = None, test_fraction: float = 0.2, seed: int = 0) -> None:  # fmt: skip
        size = _check_resize(resize) if resize is not None else None
        options = DataOptions(color=color, image_size=size, test_fraction=test_fraction, seed=seed)
        super().__init__(load_source(root, options), batch_size, options)


class Table(OwnDataModule):
    """A ``.csv``, ``.parquet`` or ``.npz`` table as a d2l `DataModule` (see `softmaxreg.datasets.tables`).

    Args:
        path: the table.
        batch_size: examples per batch.
        label: the label column.
        test_data: a separate test table; default a stratified ``test_fraction`` of the rows.
        test_fraction: share of each class held out when there is no test table.
        seed: seeds that split.
    """

    def __init__(self, path: str | os.PathLike[str], batch_size: int = 64, label: str = "label",
                 test_data: str | None = None, test_fraction: float = 0.2, seed: int = 0) -> None:  # fmt: skip
        options = DataOptions(label=label, test_data=test_data, test_fraction=test_fraction, seed=seed)
        super().__init__(load_source(path, options), batch_size, options)
