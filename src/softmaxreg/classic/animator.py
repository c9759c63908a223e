"""`Animator`: the classic book's live plot, drawn the way `ProgressBoard` is.

The book's Animator redraws with pyplot and ``display`` + ``clear_output`` at every point: the
output flickers, and a script opens windows or prints figure reprs. This one is a `LivePlot`: in
Jupyter one display updated in place, at most every 0.25 s and always once more when the cell
ends; in a script nothing is drawn until `save`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from softmaxreg.book import _display
from softmaxreg.book.board import LivePlot
from softmaxreg.book.plotting import set_axes


def _number(value: Any) -> Any:
    """A 0-d tensor as a float (matplotlib would keep the tensor); other values unchanged."""
    return float(value) if hasattr(value, "item") else value


class Animator(LivePlot):
    """Plots several lines that grow a point at a time (d2l §3.6).

    Args:
        xlabel: x-axis label.
        ylabel: y-axis label.
        legend: one name per line.
        xlim: x-axis limits, e.g. ``[1, num_epochs]``.
        ylim: y-axis limits.
        xscale: ``'linear'`` or ``'log'``.
        yscale: ``'linear'`` or ``'log'``.
        fmts: matplotlib format strings, one per line.
        nrows: rows of subplots (lines are drawn in the first).
        ncols: columns of subplots.
        figsize: size in inches.

    Attributes:
        fig: the matplotlib Figure (not pyplot's: it never opens a window).
        axes: the list of Axes.
        X, Y: one list of x and of y values per line (None before the first `add`).
        display: set to False to never show it in Jupyter.

    Examples:
        >>> animator = Animator(xlabel="epoch", legend=["train loss", "test acc"])
        >>> animator.add(1, (0.8, 0.75)); animator.add(2, (0.6, None))
        >>> animator.X, animator.Y
        ([[1, 2], [1]], [[0.8, 0.6], [0.75]])
    """

    def __init__(
        self,
        xlabel: str | None = None,
        ylabel: str | None = None,
        legend: Sequence[str] | None = None,
        xlim: Sequence[float] | None = None,
        ylim: Sequence[float] | None = None,
        xscale: str = "linear",
        yscale: str = "linear",
        fmts: Sequence[str] = ("-", "m--", "g-.", "r:"),
        nrows: int = 1,
        ncols: int = 1,
        figsize: tuple[float, float] = (3.5, 2.5),
    ) -> None:
        legend = [] if legend is None else list(legend)
        self.fig = _display.new_figure(figsize)
        self.axes = list(self.fig.subplots(nrows, ncols, squeeze=False).flat)
        self.config_axes: Callable[[], None] = lambda: set_axes(
            self.axes[0], xlabel, ylabel, xlim, ylim, xscale, yscale, legend
        )
        self.X: list[list[Any]] | None = None
        self.Y: list[list[Any]] | None = None
        self.fmts = fmts

    def add(self, x: Any, y: Any) -> None:
        """Add a point to each line: ``y`` one value per line (None skips that line), ``x`` one or per line."""
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y, strict=False)):  # d2l: a shorter x leaves the rest as they were
            if a is not None and b is not None:
                self.X[i].append(_number(a))
                self.Y[i].append(_number(b))
        self._changed()

    def figure(self) -> Any:
        """Draw the lines so far into the first Axes and return the Figure."""
        axes = self.axes[0]
        axes.cla()
        for x, y, fmt in zip(self.X or [], self.Y or [], self.fmts, strict=False):  # fmts cycles, as in d2l
            # a line of one point would not show: draw a dot
            axes.plot(x, y, fmt, **({"marker": "o", "clip_on": False} if len(x) == 1 else {}))
        self.config_axes()
        return self.fig
