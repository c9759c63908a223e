"""The Fashion-MNIST `DataModule`: 60,000 training and 10,000 test images, 28×28 grey, 10 classes.

The whole dataset lives in memory as uint8 tensors (about 55 MB). Resizing happens once, here; an
epoch is a permutation and batches are slices (see `TensorLoader`).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from typing import Any

import torch
from torch.nn import functional as F

from softmaxreg._validate import check_positive_int
from softmaxreg.book.data import Batch, DataModule, TensorLoader
from softmaxreg.datasets.labels import class_names
from softmaxreg.datasets.labels import text_labels as _text_labels
from softmaxreg.datasets.sources import load_fashion_mnist
from softmaxreg.errors import ConfigError

_RESIZE_CHUNK = 8192  # images resized at once: bounds the scratch memory


class ImageDataset(torch.utils.data.Dataset):
    """A map-style dataset over uint8 images: ``dataset[i]`` is ``(image, label)``.

    Args:
        images: ``(N, 1, H, W)`` uint8 tensor.
        labels: ``(N,)`` int64 tensor.

    Examples:
        >>> ds = ImageDataset(torch.full((2, 1, 2, 2), 255, dtype=torch.uint8), torch.tensor([3, 4]))
        >>> image, label = ds[1]
        >>> image.shape, image.dtype, float(image.max()), label
        (torch.Size([1, 2, 2]), torch.float32, 1.0, 4)
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index].float().div_(255), int(self.labels[index])

    @property
    def data(self) -> torch.Tensor:
        """``(N, H, W)`` uint8 images (torchvision's name)."""
        return self.images[:, 0]

    @property
    def targets(self) -> torch.Tensor:
        """``(N,)`` labels (torchvision's name)."""
        return self.labels


def to_float_batch(batch: Batch) -> Batch:
    """Turn a batch's uint8 images into float32 in [0, 1]; other tensors pass through."""
    X, *rest = batch
    return (torch.div(X, 255), *rest)  # one kernel: uint8 / int is a float32 true division


def resize_images(images: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Resize ``(N, 1, H, W)`` uint8 images to ``size`` with antialiased bilinear interpolation.

    On the CPU, torch resizes uint8 images directly, exactly as Pillow does (so as the book's
    ``torchvision.transforms.Resize`` on its PIL images does), 4× faster than through float32;
    elsewhere, or where that is missing, through float32 (within one grey level of it).

    Examples:
        >>> resize_images(torch.zeros(3, 1, 28, 28, dtype=torch.uint8), (32, 32)).shape
        torch.Size([3, 1, 32, 32])
    """
    size = tuple(size)
    if tuple(images.shape[-2:]) == size:
        return images
    return torch.cat([_resize_chunk(part, size) for part in images.split(_RESIZE_CHUNK)])


def _resize_chunk(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if images.is_cpu:
        try:
            return F.interpolate(images, size=size, mode="bilinear", antialias=True, align_corners=False)
        except (RuntimeError, NotImplementedError):  # an older torch without the uint8 kernel
            pass
    return (
        F.interpolate(images.float(), size=size, mode="bilinear", antialias=True, align_corners=False)
        .round_()
        .clamp_(0, 255)
        .to(torch.uint8)
    )


def _check_resize(resize: Any) -> tuple[int, int]:
    pair = (resize, resize) if isinstance(resize, numbers.Integral) else resize
    try:
        height, width = pair
    except (TypeError, ValueError):
        height = width = None
    for value in (height, width):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"`resize` must be a pair of positive integers (height, width); got {resize!r}.")
    return int(height), int(width)


class FashionMNIST(DataModule):
    """Fashion-MNIST as a d2l `DataModule`.

    Args:
        batch_size: examples per batch.
        resize: ``(height, width)`` of the images (applied once, at load time).
        root: a folder to look in first (and to download into); see `softmaxreg.datasets.sources`.
        num_workers: for ``torch.utils.data.DataLoader`` in user code; our loaders need none.
        offline: never download (``None``: read ``SOFTMAXREG_OFFLINE``).

    Attributes:
        train: map-style dataset of the 60,000 training images.
        val: map-style dataset of the 10,000 test images.
        source: the folder the files were read from.
    """

    def __init__(
        self,
        batch_size: int = 64,
        resize: Sequence[int] = (28, 28),
        root: str | os.PathLike[str] | None = None,
        num_workers: int = 0,
        offline: bool | None = None,
    ) -> None:
        super().__init__(root=root, num_workers=num_workers)
        self.save_hyperparameters()
        check_positive_int("batch_size", batch_size)
        size = _check_resize(resize)
        arrays, self.source = load_fashion_mnist(root, offline)
        self.train = self._dataset(arrays["train_images"], arrays["train_labels"], size)
        self.val = self._dataset(arrays["test_images"], arrays["test_labels"], size)

    @staticmethod
    def _dataset(images: Any, labels: Any, size: tuple[int, int]) -> ImageDataset:
        images = torch.from_numpy(images.copy()).unsqueeze(1)  # (N, 1, 28, 28)
        return ImageDataset(resize_images(images, size), torch.from_numpy(labels.astype("int64")))

    def get_dataloader(self, train: bool) -> TensorLoader:
        """Batches ``(X, y)``: X float32 ``(batch_size, 1, H, W)`` in [0, 1], y int64 ``(batch_size,)``."""
        data = self.train if train else self.val
        return TensorLoader(
            (data.images, data.labels), self.batch_size, shuffle=train, transform=to_float_batch, dataset=data
        )

    def text_labels(self, indices: Any, lang: str = "en") -> list[str]:
        """Class names for ``indices`` (``lang='vi'`` for Vietnamese)."""
        return _text_labels(indices, lang)

    def visualize(
        self,
        batch: Sequence[Any],
        nrows: int = 1,
        ncols: int = 8,
        labels: Sequence[str] | None = None,
        lang: str = "en",
    ) -> Any:
        """Show the first ``nrows * ncols`` images of ``batch`` with their class names as titles.

        Args:
            batch: ``(X, y)``: images ``(batch_size, 1, H, W)`` and labels ``(batch_size,)``.
            nrows: rows of the grid.
            ncols: columns of the grid.
            labels: titles to use instead of the class names (e.g. ``'true\\npredicted'``).
            lang: language of the class names, ``'en'`` or ``'vi'``.

        Returns:
            The flattened array of matplotlib Axes (see `softmaxreg.book.plotting.show_images`).
        """
        from softmaxreg.book.plotting import show_images

        X, y = batch[0], batch[1]
        if not labels:
            # through self, so that a text_labels replaced with add_to_class is used
            labels = self.text_labels(y) if lang == "en" else self.text_labels(y, lang=lang)
        return show_images(X.squeeze(1), nrows, ncols, titles=labels)

    @property
    def classes(self) -> tuple[str, ...]:
        """The ten class names in English."""
        return class_names("en")

    def __repr__(self) -> str:
        h, w = self.train.images.shape[-2:]
        return f"FashionMNIST(batch_size={self.batch_size}, resize=({h}, {w}), source={str(self.source)!r})"
