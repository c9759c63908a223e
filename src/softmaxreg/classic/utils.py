"""The classic book's small helpers: `Accumulator` (running sums) and `Timer`.

Examples:
    >>> metric = Accumulator(2)
    >>> metric.add(3, 4); metric.add(1.5, 1)
    >>> metric[0], metric[1], metric.data
    (4.5, 5.0, [4.5, 5.0])
"""

from __future__ import annotations

import time
from typing import Any

from softmaxreg._validate import check_positive_int


class Accumulator:
    """Sums over ``n`` variables (d2l §3.6).

    Args:
        n: how many sums to keep.
    """

    def __init__(self, n: int) -> None:
        self.data = [0.0] * check_positive_int("n", n)

    def add(self, *args: Any) -> None:
        """Add one value to each sum (numbers or 0-d tensors), in order."""
        self.data = [a + float(b) for a, b in zip(self.data, args, strict=False)]  # d2l: extra args are ignored

    def reset(self) -> None:
        """Set every sum back to 0."""
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


class Timer:
    """Records running times (d2l §3.1); it starts when made.

    Examples:
        >>> timer = Timer()
        >>> seconds = timer.stop()
        >>> len(timer.times), timer.sum() == seconds, timer.cumsum() == [seconds]
        (1, True, True)
    """

    def __init__(self) -> None:
        self.times: list[float] = []
        self.start()

    def start(self) -> None:
        """Start (or restart) the timer."""
        self.tik = time.perf_counter()  # monotonic and precise, unlike the book's time.time()

    def stop(self) -> float:
        """Stop the timer, record the seconds since `start` and return them."""
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self) -> float:
        """The mean of the recorded times."""
        return sum(self.times) / len(self.times)

    def sum(self) -> float:
        """The total of the recorded times."""
        return sum(self.times)

    def cumsum(self) -> list[float]:
        """The running totals of the recorded times."""
        totals, total = [], 0.0
        for t in self.times:
            total += t
            totals.append(total)
        return totals
