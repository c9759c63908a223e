"""What several commands share: options to `TrainConfig`, console output, and (from `softmaxreg.runs.start`)
loading the data, claiming the run folder and the messages when a run stops.

Commands check what they can before importing torch (which takes a second or more), so that a
mistake is reported at once; this module imports nothing heavy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from softmaxreg.runs.config import TrainConfig, field_names
from softmaxreg.runs.recipes import RECIPES
from softmaxreg.runs.start import diverged_message, interrupted_message, load_data, make_run_dir, run_options

__all__ = [  # started here and by serve's training worker, so they live in `softmaxreg.runs.start`
    "diverged_message",
    "interrupted_message",
    "load_data",
    "make_run_dir",
    "run_options",
]


def say(text: str = "") -> None:
    """Print a line of a command's output to stdout, flushed (progress bars share the terminal)."""
    print(text, flush=True)


def warn(text: str) -> None:
    """Print a line to stderr."""
    print(text, file=sys.stderr, flush=True)


def explicit_settings(args: argparse.Namespace, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The `TrainConfig` settings given on the command line (options left out are None)."""
    names = [name for name in field_names() if name not in exclude]
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def config_from_args(
    args: argparse.Namespace, base: TrainConfig | None = None, exclude: tuple[str, ...] = ()
) -> TrainConfig:
    """``base`` (default: the ``--recipe``'s settings) with the options given explicitly applied."""
    if base is None:
        base = RECIPES[getattr(args, "recipe", None) or "seed"]
    return base.replace(**explicit_settings(args, exclude))


def console_callbacks(quiet: bool) -> list[Any]:
    """A progress bar per epoch on stderr (on a terminal) and one line per epoch on stdout."""
    from softmaxreg.runs import callbacks as cb

    if quiet:
        return []
    return [cb.ProgressBar(disable=None), cb.EpochLog(say)]


def prepare_out_dir(out: str | None) -> Path | None:
    """Check that ``--out`` is a new or empty folder no process holds (it is claimed once the data is found)."""
    if out is None:
        return None
    from softmaxreg.runs import lock

    lock.check_new(out)
    return Path(out)
