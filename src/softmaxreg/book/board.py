"""`ProgressBoard`: the d2l live plot of training curves, without the per-batch redraw cost.

Points are kept as data; a figure is only rendered when someone looks. In Jupyter the board is one
display, updated in place: redrawn when points arrive (at most every 0.25 s), at each epoch end
(`flush`, with the same spacing) and when the cell finishes, so the last points always show. A later
cell that draws on the same board gets a display of its own. In a script nothing is rendered until
`save` or `figure` is called.

That behaviour is `LivePlot`'s, which the classic API's ``Animator`` shares.
"""

from __future__ import annotations

import math
import os
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from softmaxreg.book import _display
from softmaxreg.book.hyperparameters import HyperParameters

_MIN_REFRESH_SECONDS = 0.25
_LIVE_BOARDS: weakref.WeakSet[LivePlot] = weakref.WeakSet()


def _flush_live_boards(*_: Any) -> None:
    for board in list(_LIVE_BOARDS):
        board.flush(force=True)


def _register_notebook_hook() -> None:
    """Flush throttled boards when a notebook cell finishes, so the last points always show."""
    from IPython import get_ipython

    events = get_ipython().events
    if _flush_live_boards not in events.callbacks["post_run_cell"]:
        events.register("post_run_cell", _flush_live_boards)


def _current_cell() -> Any:
    """The execution count of the notebook cell running now."""
    from IPython import get_ipython

    return get_ipython().execution_count


class LivePlot:
    """A figure shown live in Jupyter: one display, updated in place, at most every 0.25 s.

    Subclasses render with ``figure()`` and call ``_changed()`` when their data changes; users set
    ``display = False`` to never show it. In a script nothing is rendered until `save` or `figure`.
    The state lives in class attributes until first used, so subclasses need no ``__init__`` call.
    """

    display: bool = True
    _handle: Any = None
    _cell: Any = None  # the cell whose output holds the display
    _last_refresh: float = -math.inf
    _stale: bool = False

    def figure(self) -> Any:
        """Render the data and return the matplotlib Figure; subclasses define it."""
        raise NotImplementedError

    def _changed(self) -> None:
        """New data: redraw now in Jupyter, unless a redraw just happened."""
        self._stale = True
        if self.display and _display.in_notebook():
            self._refresh(force=False)

    def flush(self, force: bool = False) -> None:
        """Show the latest data now (in Jupyter); trainers call it at each epoch end.

        Args:
            force: redraw even if the last redraw was less than 0.25 s ago (used when a cell
                ends); otherwise a fast run is still redrawn at most a few times per second.
        """
        if self._stale and self.display and _display.in_notebook():
            self._refresh(force=force)

    def _refresh(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_refresh < _MIN_REFRESH_SECONDS:
            return
        cell = _current_cell()
        if self._handle is None:
            _LIVE_BOARDS.add(self)
            _register_notebook_hook()
        elif cell != self._cell:  # drawing again in a later cell: show it there, not up the page
            self._handle = None
        self._handle = _display.show(self.figure(), self._handle)
        self._cell = cell
        self._last_refresh = time.monotonic()
        self._stale = False

    def save(self, path: str | os.PathLike[str], dpi: int = 100) -> Path:
        """Render the figure and write it to ``path`` atomically (format from the suffix).

        Args:
            path: destination, e.g. ``"curves.png"`` or ``"curves.svg"``.
            dpi: resolution for raster formats.

        Returns:
            The path written.
        """
        return _display.save_figure(self.figure(), path, dpi=dpi)


class ProgressBoard(HyperParameters, LivePlot):
    """A plot that takes data points one at a time and shows them as lines.

    Args:
        xlabel: x-axis label.
        ylabel: y-axis label.
        xlim: x-axis limits, e.g. ``[0, max_epochs]``.
        ylim: y-axis limits.
        xscale: ``'linear'`` or ``'log'``.
        yscale: ``'linear'`` or ``'log'``.
        ls: line styles, cycled over labels in order of first appearance.
        colors: line colours, cycled the same way.
        fig: an existing matplotlib Figure to draw into.
        axes: existing matplotlib Axes to draw into.
        figsize: size in inches of a new figure.
        display: show the board live in Jupyter (no effect in scripts).

    Examples:
        >>> board = ProgressBoard(xlabel="x")
        >>> for i in range(6):
        ...     board.draw(i, i * i, "square", every_n=2)
        >>> board.data["square"]
        [(0.5, 0.5), (2.5, 6.5), (4.5, 20.5)]
    """

    # set by save_hyperparameters (the book's API), declared for the type checker
    xlabel: str | None
    ylabel: str | None
    xlim: Sequence[float] | None
    ylim: Sequence[float] | None
    xscale: str
    yscale: str
    ls: Sequence[str]
    colors: Sequence[str]
    fig: Any
    axes: Any
    figsize: tuple[float, float]
    display: bool

    def __init__(
        self,
        xlabel: str | None = None,
        ylabel: str | None = None,
        xlim: Sequence[float] | None = None,
        ylim: Sequence[float] | None = None,
        xscale: str = "linear",
        yscale: str = "linear",
        ls: Sequence[str] = ("-", "--", "-.", ":"),
        colors: Sequence[str] = ("C0", "C1", "C2", "C3"),
        fig: Any = None,
        axes: Any = None,
        figsize: tuple[float, float] = (3.5, 2.5),
        display: bool = True,
    ) -> None:
        self.save_hyperparameters()
        self.data: dict[str, list[tuple[float, float]]] = {}
        self._pending: dict[str, list[tuple[float, float]]] = {}

    def draw(self, x: float, y: Any, label: str, every_n: int = 1) -> None:
        """Add the point ``(x, y)`` to the line ``label``.

        Every ``every_n`` points of a label, their mean becomes one plotted point.

        Args:
            x: x coordinate (a number, or a 0-d tensor/array).
            y: y coordinate (a number, or a 0-d tensor/array).
            label: the line's name in the legend.
            every_n: how many points to average into one plotted point.
        """
        pending = self._pending.setdefault(label, [])
        pending.append((float(x), float(y)))
        if len(pending) < max(int(every_n), 1):
            return
        xs, ys = zip(*pending, strict=True)
        pending.clear()
        self.data.setdefault(label, []).append((sum(xs) / len(xs), sum(ys) / len(ys)))
        self._changed()

    def figure(self) -> Any:
        """Render every point drawn so far and return the matplotlib Figure."""
        axes = self.axes if self.axes is not None else self._own_axes()
        axes.cla()
        for i, (label, points) in enumerate(self.data.items()):
            xs, ys = zip(*points, strict=True)
            ls, color = self.ls[i % len(self.ls)], self.colors[i % len(self.colors)]
            # a line of one point would not show: draw a dot, whole even on the axis' edge (x = max_epochs)
            single = {"marker": "o", "clip_on": False} if len(points) == 1 else {}
            axes.plot(xs, ys, linestyle=ls, color=color, label=label, **single)
        self._decorate(axes)
        return axes.figure

    def _own_axes(self) -> Any:
        if self.fig is None:
            self.fig = _display.new_figure(self.figsize)
        return self.fig.axes[0] if self.fig.axes else self.fig.add_subplot()

    def _decorate(self, axes: Any) -> None:
        axes.set_xscale(self.xscale)
        axes.set_yscale(self.yscale)
        if self.xlim is not None:
            axes.set_xlim(self.xlim)
        if self.ylim is not None:
            axes.set_ylim(self.ylim)
        if self.xlabel is not None:
            axes.set_xlabel(self.xlabel)
        if self.ylabel is not None:
            axes.set_ylabel(self.ylabel)
        if self.data:
            axes.legend()
