"""d2l's plotting helpers: `plot`, `show_images`, `set_figsize`, `use_svg_display`, and `plt`.

They draw with pyplot, as the book's do, so that in Jupyter (``%matplotlib inline``) the figure
appears when the cell ends and can still be changed by later lines of the same cell
(``d2l.plt.xlabel(...)``); in a script nothing pops up until ``plt.show()`` or ``savefig``.
matplotlib is imported on first use, never by ``import softmaxreg``; ``softmaxreg.plt`` is
``matplotlib.pyplot``, imported when first accessed.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from softmaxreg.book import _display


def __getattr__(name: str) -> Any:
    if name == "plt":  # d2l.plt, without importing pyplot before someone asks for it
        return importlib.import_module("matplotlib.pyplot")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _pyplot() -> Any:
    return importlib.import_module("matplotlib.pyplot")


def use_svg_display() -> None:
    """Show figures as SVG in Jupyter (boards and inline pyplot figures); no effect in scripts.

    Uses ``matplotlib_inline`` rather than IPython's deprecated ``set_matplotlib_formats``.
    """
    _display.set_format("svg")
    if _display.in_notebook():
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg")


def set_figsize(figsize: Sequence[float] = (3.5, 2.5)) -> None:
    """Make ``figsize`` (inches) the default size of new matplotlib figures.

    Examples:
        >>> import matplotlib
        >>> set_figsize((4, 3)); tuple(matplotlib.rcParams["figure.figsize"])
        (4.0, 3.0)
        >>> matplotlib.rcdefaults()
    """
    import matplotlib

    matplotlib.rcParams["figure.figsize"] = tuple(figsize)


def _as_array(values: Any) -> Any:
    """A tensor (even one that requires grad, or on a GPU) as a numpy array; others unchanged."""
    if hasattr(values, "detach"):
        return values.detach().cpu().numpy()
    return values


def _has_one_axis(X: Any) -> bool:
    """True for one series (a 1-d array or tensor, a list of numbers); False for a list of series."""
    if hasattr(X, "ndim"):
        return bool(X.ndim == 1)
    return isinstance(X, (list, tuple)) and (len(X) == 0 or not hasattr(X[0], "__len__"))


def set_axes(
    axes: Any,
    xlabel: str | None,
    ylabel: str | None,
    xlim: Sequence[float] | None,
    ylim: Sequence[float] | None,
    xscale: str,
    yscale: str,
    legend: Sequence[str] | None,
) -> None:
    """Label, scale and limit ``axes``, add a legend when given, and a grid (d2l's ``set_axes``)."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def plot(
    X: Any,
    Y: Any = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: Sequence[str] | None = None,
    xlim: Sequence[float] | None = None,
    ylim: Sequence[float] | None = None,
    xscale: str = "linear",
    yscale: str = "linear",
    fmts: Sequence[str] = ("-", "m--", "g-.", "r:"),
    figsize: Sequence[float] = (3.5, 2.5),
    axes: Any = None,
) -> Any:
    """Plot one or several lines (d2l's ``plot``).

    ``X`` and ``Y`` are each one series or a list of series (numpy arrays, tensors or lists).
    With ``Y=None``, ``X`` holds the y values and x is their index. One ``X`` is shared by all
    ``Y`` series.

    Args:
        X: x values, or y values when ``Y`` is None.
        Y: y values: one series or a list of them.
        xlabel: x-axis label.
        ylabel: y-axis label.
        legend: one name per line.
        xlim: x-axis limits.
        ylim: y-axis limits.
        xscale: ``'linear'`` or ``'log'``.
        yscale: ``'linear'`` or ``'log'``.
        fmts: matplotlib format strings, one per line.
        figsize: size in inches of the figure, when a new one is made.
        axes: the matplotlib Axes to draw into (default: pyplot's current axes).

    Returns:
        The Axes drawn into (d2l returns None).

    Examples:
        >>> ax = plot([0, 1, 2], [[0, 1, 4], [0, 1, 8]], xlabel="x", legend=["x²", "x³"])
        >>> len(ax.lines), ax.get_xlabel()
        (2, 'x')
        >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    if axes is None:
        set_figsize(figsize)
        plt = _pyplot()
        if not plt.get_fignums():  # a new figure: leave room for the labels when it is saved
            plt.figure(figsize=figsize, layout="constrained")
        axes = plt.gca()
    if _has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif _has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts, strict=False):  # the book cycles through 4 fmts; fewer lines is fine
        if len(x):
            axes.plot(_as_array(x), _as_array(y), fmt)
        else:
            axes.plot(_as_array(y), fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
    return axes


def _as_image(img: Any) -> Any:
    """An image matplotlib can show: a tensor ``(H, W)`` or channels-first ``(C, H, W)`` becomes a
    numpy ``(H, W)`` / ``(H, W, C)`` array; numpy arrays and PIL images pass through."""
    if hasattr(img, "detach") and img.ndim == 3 and img.shape[0] in (1, 3, 4):
        img = img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)
    return _as_array(img)


def show_images(
    imgs: Any,
    num_rows: int,
    num_cols: int,
    titles: Sequence[str] | None = None,
    scale: float = 1.5,
) -> Any:
    """Show images in a ``num_rows`` × ``num_cols`` grid, each with an optional title.

    Args:
        imgs: images of shape ``(H, W)`` (or ``(H, W, C)``): a tensor of them, an array, a list
            of tensors, arrays or PIL images. Extra images beyond the grid are ignored.
        num_rows: rows of the grid.
        num_cols: columns of the grid.
        titles: one title per image (``'\\n'`` makes two lines, e.g. true and predicted label).
        scale: inches per image.

    Returns:
        The flattened numpy array of the ``num_rows * num_cols`` Axes (unused ones are blank).

    Examples:
        >>> import torch
        >>> axes = show_images(torch.rand(3, 28, 28), 1, 4, titles=["a", "b", "c"])
        >>> len(axes), axes[2].get_title(), axes[3].has_data()
        (4, 'c', False)
        >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    figsize = (num_cols * scale, num_rows * scale)
    # constrained layout makes room for two-line titles instead of letting them overlap
    _, axes = _pyplot().subplots(num_rows, num_cols, figsize=figsize, squeeze=False, layout="constrained")
    axes = axes.flatten()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= len(imgs):
            continue
        ax.imshow(_as_image(imgs[i]))
        if titles is not None and i < len(titles):
            ax.set_title(titles[i])
    return axes
