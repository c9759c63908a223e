"""`DataModule` (where data comes from) and `TensorLoader`, the fast in-memory minibatch iterator.

An epoch of a `TensorLoader` is one random permutation of the whole data; its batches are the
examples of consecutive slices of that permutation. No per-example Python, no worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from softmaxreg._validate import check_positive_int
from softmaxreg.book.hyperparameters import HyperParameters

Batch = tuple[torch.Tensor, ...]


class TensorLoader:
    """Minibatches of in-memory tensors that share their first dimension.

    Args:
        tensors: e.g. ``(X, y)``; batches are tuples in the same order.
        batch_size: examples per batch (the last batch may be smaller).
        shuffle: draw a new permutation (from torch's global RNG) at each epoch.
        transform: applied to each batch tuple, e.g. to turn uint8 images into floats.
        dataset: the map-style dataset of the same examples, one at a time, for code that builds
            its own ``torch.utils.data.DataLoader(loader.dataset, ...)`` (the classic book does);
            default: a ``TensorDataset`` of ``tensors`` when there is no ``transform``.

    Examples:
        >>> loader = TensorLoader((torch.arange(5), torch.arange(5) * 10), batch_size=2)
        >>> len(loader), [b[1].tolist() for b in loader]
        (3, [[0, 10], [20, 30], [40]])
    """

    def __init__(
        self,
        tensors: Sequence[torch.Tensor],
        batch_size: int,
        shuffle: bool = False,
        transform: Callable[[Batch], Batch] | None = None,
        dataset: Any = None,
    ) -> None:
        self.tensors = tuple(tensors)
        sizes = {len(t) for t in self.tensors}
        if len(sizes) != 1:
            raise ValueError(f"Expected tensors of equal length; got lengths {[len(t) for t in self.tensors]}.")
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.shuffle = shuffle
        self.transform = transform
        if dataset is None and transform is None:
            dataset = torch.utils.data.TensorDataset(*self.tensors)
        self.dataset = dataset

    @property
    def num_examples(self) -> int:
        """The number of examples in one epoch."""
        return len(self.tensors[0])

    def __len__(self) -> int:
        return math.ceil(self.num_examples / self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        if self.shuffle:
            order = torch.randperm(self.num_examples, device=self.tensors[0].device)
        for start in range(0, self.num_examples, self.batch_size):
            if self.shuffle:
                # gathering each batch while it is used is 2x faster than permuting the whole epoch
                # up front (the batch is still in cache when the transform reads it)
                rows = order[start : start + self.batch_size]
                batch = tuple(torch.index_select(t, 0, rows) for t in self.tensors)
            else:
                batch = tuple(t[start : start + self.batch_size] for t in self.tensors)
            yield self.transform(batch) if self.transform is not None else batch

    def to(self, device: torch.device | str) -> TensorLoader:
        """Move the underlying tensors to ``device`` once (batches then need no copy)."""
        self.tensors = tuple(t.to(device) for t in self.tensors)
        return self


class DataModule(HyperParameters):
    """Base class of d2l data: subclasses define ``get_dataloader(train)``.

    Subclasses may skip ``super().__init__()`` and set only ``batch_size``, as the book's do, so no
    method here relies on attributes set by this constructor.

    Args:
        root: a folder where the data is looked for first (``None``: automatic, see `sources`).
        num_workers: worker processes for ``torch.utils.data.DataLoader`` in user code; softmaxreg's
            own loaders need none.
    """

    root: Any = None
    num_workers: int = 0
    batch_size: int  # set by every subclass (the book's set only this)

    def __init__(self, root: Any = None, num_workers: int = 0) -> None:
        self.save_hyperparameters()

    def get_dataloader(self, train: bool) -> Any:
        """An iterable of batches; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must define get_dataloader(train).")

    def train_dataloader(self) -> Any:
        """Shuffled training batches."""
        return self.get_dataloader(train=True)

    def val_dataloader(self) -> Any:
        """Validation batches, in order."""
        return self.get_dataloader(train=False)

    def get_tensorloader(
        self, tensors: Sequence[torch.Tensor], train: bool, indices: Any = slice(0, None)
    ) -> TensorLoader:
        """Batches of ``tensors[indices]`` of size ``self.batch_size``, shuffled when ``train``."""
        tensors = tuple(t[indices] for t in tensors)
        return TensorLoader(tensors, self.batch_size, shuffle=train)
