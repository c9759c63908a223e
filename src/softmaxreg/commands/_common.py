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

from softmaxreg.errors import ConfigError
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


def load_command_data(batch_size: int, args: argparse.Namespace) -> Any:
    """`load_data` for a command's options: Fashion-MNIST, or ``--data``'s own data (its notes on stderr)."""
    options = data_options(args)
    data = load_data(batch_size, args.data_dir, args.offline, args.data if options else None, options)
    for note in getattr(getattr(data, "own", None), "notes", []):
        warn(note)
    return data


_OWN_OPTIONS = (
    "test_data", "test_fraction", "label", "color", "image_size", "image_shape", "classes", "skip_bad_files",
)  # fmt: skip


def data_options(args: argparse.Namespace) -> Any:
    """``--data``'s `DataOptions` (``None`` without ``--data``: Fashion-MNIST).

    Raises:
        ConfigError: an option for your own data without ``--data``.
    """
    if getattr(args, "data", None) is None:
        given = [name for name in _OWN_OPTIONS if getattr(args, name, None) not in (None, False)]
        if given:
            raise ConfigError(
                f"`--{given[0].replace('_', '-')}` is for your own data: add --data PATH (an image folder, IDX "
                "files or a table), or leave it out to train on Fashion-MNIST."
            )
        return None
    from softmaxreg.datasets.own import DataOptions

    values = {name: getattr(args, name, None) for name in _OWN_OPTIONS}
    return DataOptions(**{name: value for name, value in values.items() if value is not None})


def describe_data(data: Any, given: str | None = None) -> str:
    """One line on your own data: ``data: image folder pets, 3 classes, grey 28x28, 240 train / 60 test``."""
    own = data.own
    kind = {"image-folder": "image folder", "idx": "IDX files", "table": "table"}.get(own.source["kind"], "data")
    if own.kind == "images":
        c, h, w = own.input_shape
        what = f"{'grey' if c == 1 else 'RGB'} {h}x{w} images"
    else:
        what = f"{own.input_shape[0]} features"
    skipped = f", {len(own.skipped)} bad files skipped" if own.skipped else ""
    return (
        f"data: {kind} {given or data.source}, {len(own.class_names)} classes, {what}, {len(data.train):,} train / "
        f"{len(data.val):,} test{skipped}"
    )


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
