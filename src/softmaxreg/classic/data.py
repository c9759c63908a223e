"""The classic book's Fashion-MNIST (d2l §3.5): `load_data_fashion_mnist` and its helpers.

The data comes the 1.0 way (`softmaxreg.datasets.fashion_mnist.FashionMNIST`: found, verified,
held in memory as uint8 and batched by slicing), so no torchvision and no worker processes. Each
loader's ``.dataset`` is the map-style dataset (``dataset[i]`` → ``(image (1, H, W) float32 in
[0, 1], label int)``) for code that builds its own ``torch.utils.data.DataLoader``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from softmaxreg.book.data import TensorLoader
from softmaxreg.datasets.fashion_mnist import FashionMNIST
from softmaxreg.datasets.labels import text_labels


def get_fashion_mnist_labels(labels: Iterable[int], lang: str = "en") -> list[str]:
    """Class names of Fashion-MNIST labels (ints or a tensor); ``lang='vi'`` for Vietnamese.

    Examples:
        >>> get_fashion_mnist_labels([0, 9]), get_fashion_mnist_labels([0], lang="vi")
        (['t-shirt', 'ankle boot'], ['áo phông'])
    """
    return text_labels(labels, lang)


def get_dataloader_workers() -> int:
    """Worker processes for a ``DataLoader`` that reads images one at a time: the book's 4, at most
    one per CPU this process may use. softmaxreg's own loaders need none."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


def load_data_fashion_mnist(
    batch_size: int,
    resize: int | Sequence[int] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> tuple[TensorLoader, TensorLoader]:
    """Fashion-MNIST's training and test minibatches (d2l §3.5).

    Args:
        batch_size: examples per batch.
        resize: the images' new size, ``64`` or ``(64, 64)`` (antialiased bilinear, once at load time).
        root: a folder to look in first (the book has none; see README "Where the data comes from").

    Returns:
        ``(train_iter, test_iter)``: batches ``X`` float32 ``(batch_size, 1, H, W)`` in [0, 1] and
        ``y`` int64 ``(batch_size,)``; ``train_iter`` is shuffled at each epoch, ``test_iter`` is
        in order. Each has ``len()`` (batches) and ``.dataset``.

    Raises:
        ConfigError: a bad ``batch_size`` or ``resize``.
        DataError: the data cannot be found or is damaged (the message says what to do).
    """
    size = (28, 28) if resize is None else resize
    data = FashionMNIST(batch_size=batch_size, resize=size, root=root)  # type: ignore[arg-type]  # an int too
    return data.train_dataloader(), data.val_dataloader()
