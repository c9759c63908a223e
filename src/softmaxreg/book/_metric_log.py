"""Exact, batch-size weighted means of the metrics a model reports. Private to the Trainer.

Adding a value costs two list appends, no tensor operation and no device sync: values are summed
when a window or an epoch closes, in float64, each weighted by its batch's size. So an epoch's
``val_acc`` is the accuracy over every validation example, whatever the batch size.

Examples:
    >>> log = MetricLog()
    >>> log.add("val_acc", torch.tensor(1.0), 3)   # a batch of 3, all right
    >>> log.add("val_acc", torch.tensor(0.0), 1)   # a batch of 1, wrong
    >>> log.window_mean("val_acc")
    0.75
    >>> log.add("val_acc", torch.tensor(0.5), 4)
    >>> log.epoch_means()                          # (3 + 0 + 2) / 8
    {'val_acc': 0.625}

A non-finite value costs nothing until its window closes; then the sum is NaN or infinite and
`nonfinite` says which batch of the epoch gave the first one:

    >>> log.add("train_loss", torch.tensor(0.5), 2)
    >>> log.add("train_loss", torch.tensor(float("nan")), 2)
    >>> log.window_mean("train_loss"), log.nonfinite["train_loss"]
    (nan, (1, nan))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

# Sums the weighted sums and counts over the processes of a data-parallel run (identity otherwise).
Reduce = Callable[[list[float], list[int]], tuple[list[float], list[int]]]


def _weighted_sum(values: list[torch.Tensor], weights: list[int]) -> float:
    stacked = torch.stack(values).to(torch.float64).reshape(len(values))  # (num_batches,)
    return float(stacked @ torch.tensor(weights, dtype=torch.float64, device=stacked.device))


def _first_nonfinite(values: list[torch.Tensor]) -> tuple[int, float]:
    """Index and value of the first NaN or infinite value (there is one)."""
    stacked = torch.stack(values).reshape(len(values))  # (num_batches,)
    index = int((~stacked.isfinite()).nonzero()[0])
    return index, float(stacked[index])


class MetricLog:
    """Pending per-batch values of each metric, and the epoch's running weighted sums.

    Attributes:
        nonfinite: metric label -> ``(index, value)`` of its first NaN or infinite value in the
            epoch so far (``index``: 0-based, in the order the values were added), among the
            values summed so far.
    """

    def __init__(self) -> None:
        self._pending: dict[str, tuple[list[torch.Tensor], list[int]]] = {}
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._seen: dict[str, int] = {}  # values summed so far this epoch, per label
        self.nonfinite: dict[str, tuple[int, float]] = {}

    def add(self, label: str, value: Any, weight: int) -> None:
        """Take one batch's mean ``value`` of metric ``label``, for a batch of ``weight`` examples."""
        if not isinstance(value, torch.Tensor):
            value = torch.tensor(float(value))
        values, weights = self._pending.setdefault(label, ([], []))
        values.append(value.detach())
        weights.append(weight)

    def _flush(self, label: str) -> tuple[float, int]:
        values, weights = self._pending.pop(label, ([], []))
        if not values:
            return 0.0, 0
        total, count = _weighted_sum(values, weights), sum(weights)
        seen = self._seen.get(label, 0)
        if not math.isfinite(total) and label not in self.nonfinite:  # the rare path: find the culprit
            index, value = _first_nonfinite(values)
            self.nonfinite[label] = (seen + index, value)
        self._seen[label] = seen + len(values)
        self._sums[label] = self._sums.get(label, 0.0) + total
        self._counts[label] = self._counts.get(label, 0) + count
        return total, count

    def window_mean(self, label: str, reduce: Reduce | None = None) -> float:
        """Weighted mean of ``label``'s values since the last window closed (NaN if none).

        ``reduce`` sums the window's weighted sum and count over the processes of a data-parallel run.
        """
        total, count = self._flush(label)
        if reduce is not None:
            (total,), (count,) = reduce([total], [count])
        return total / count if count else float("nan")

    def epoch_means(self, reduce: Reduce | None = None) -> dict[str, float]:
        """Weighted mean of every metric over the epoch; starts a new epoch.

        Rounded to 12 significant digits, beyond float64 accumulation noise, so that an accuracy
        is an exact count / N whatever the batch size. ``reduce`` sums the weighted sums and counts
        over the processes of a data-parallel run (each process holds its shares' sums).
        """
        for label in list(self._pending):
            self._flush(label)
        labels = list(self._sums)  # the same order in every process: the same code recorded them
        sums, counts = [self._sums[k] for k in labels], [self._counts[k] for k in labels]
        if reduce is not None:
            sums, counts = reduce(sums, counts)
        means = {
            label: float(f"{total / count:.12g}") for label, total, count in zip(labels, sums, counts, strict=True)
        }
        self._sums, self._counts, self._seen, self.nonfinite = {}, {}, {}, {}
        return means
