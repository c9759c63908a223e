"""Where figures go: Jupyter display handles, or nowhere until saved.

Private to softmaxreg. Nothing here imports matplotlib or IPython at import time; IPython is only
used when it is already loaded and a kernel is running.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

from softmaxreg._atomic import atomic_write_bytes

_FORMAT = {"value": "png"}


def set_format(fmt: str) -> None:
    """Choose how figures are shown in notebooks: ``'png'`` or ``'svg'``."""
    _FORMAT["value"] = fmt


def in_notebook() -> bool:
    """True when running inside a Jupyter (IPython kernel) session."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def new_figure(figsize: tuple[float, float]) -> Any:
    """A matplotlib Figure that never opens a window (no pyplot, no global state)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def figure_bytes(fig: Any, fmt: str | None = None, dpi: int = 100) -> bytes:
    """Render ``fig`` to PNG or SVG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt or _FORMAT["value"], dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _display_object(fig: Any) -> Any:
    from IPython.display import SVG, Image

    if _FORMAT["value"] == "svg":
        return SVG(data=figure_bytes(fig, "svg"))
    return Image(data=figure_bytes(fig, "png"))


def show(fig: Any, handle: Any = None) -> Any:
    """Show ``fig`` in the notebook, updating ``handle`` in place when given; return the handle."""
    from IPython.display import display

    obj = _display_object(fig)
    if handle is None:
        return display(obj, display_id=True)
    handle.update(obj)
    return handle


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: int = 100) -> Path:
    """Save ``fig`` atomically; the format follows the suffix (``.png``, ``.svg``, ``.pdf``)."""
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    return atomic_write_bytes(path, figure_bytes(fig, fmt, dpi))
