"""What several commands share: options to `TrainConfig`, loading the data, console output.

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


def load_data(batch_size: int, data_dir: str | None, offline: bool, args: argparse.Namespace | None = None) -> Any:
    """Fashion-MNIST, found (or fetched) as `softmaxreg.datasets.sources` says; or ``--data``'s own data."""
    options = data_options(args) if args is not None else None
    if options is not None:
        from softmaxreg.runs.rundata import load_own

        data = load_own(args.data, options, batch_size)  # type: ignore[union-attr]
        for note in data.own.notes:
            warn(note)
        return data
    from softmaxreg.datasets.fashion_mnist import FashionMNIST

    return FashionMNIST(batch_size=batch_size, root=data_dir, offline=True if offline else None)


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


def describe_data(data: Any) -> str:
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
        f"data: {kind} {data.source}, {len(own.class_names)} classes, {what}, {len(data.train):,} train / "
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


def make_run_dir(out: Path | None, base: str = "runs", prefix: str = "") -> Path:
    """Create and claim ``out``, or a new ``runs/<prefix><timestamp>`` folder, for this process.

    The claim (`softmaxreg.runs.lock`) lasts until the command ends: call this before writing anything.
    """
    from softmaxreg.runs import lock

    claim = lock.claim_new(out) if out is not None else lock.claim_new_run_dir(base, prefix)
    return claim.folder


def run_options(config: TrainConfig, args: argparse.Namespace, device: Any, data: Any, lang: str) -> dict[str, Any]:
    """``config.json``'s options: the training settings, then where, how and on what it ran."""
    return {
        **config.to_dict(),
        "device": getattr(args, "device", None) or "cpu",
        "device_used": str(device),
        "lang": lang,
        "data_dir": args.data_dir,
        "offline": bool(args.offline),
        "data_source": str(data.source),
        **({"data": str(args.data)} if getattr(args, "data", None) else {}),
        "quiet": bool(args.quiet),
    }


def diverged_message(error: str, run_dir: Path, epochs_done: int) -> str:
    """The `TrainingDivergedError` message ``error`` plus what the run folder keeps.

    Examples:
        >>> diverged_message("Diverged.", Path("runs/a"), 2)
        'Diverged. runs/a keeps epochs 1-2 (metrics and checkpoints); the diverged epoch was not recorded.'
        >>> diverged_message("Diverged.", Path("runs/a"), 0)
        'Diverged. runs/a holds no completed epoch.'
    """
    if epochs_done == 0:
        return f"{error} {run_dir} holds no completed epoch."
    epochs = f"epochs 1-{epochs_done}" if epochs_done > 1 else "epoch 1"
    return f"{error} {run_dir} keeps {epochs} (metrics and checkpoints); the diverged epoch was not recorded."


def interrupted_message(run_dir: Path, epochs_done: int) -> str:
    """What to tell the user after Ctrl-C."""
    if epochs_done == 0:
        return f"softmaxreg: interrupted before the first epoch ended; {run_dir} has nothing to resume."
    return (
        f"softmaxreg: interrupted during epoch {epochs_done + 1}; {run_dir} keeps epochs 1-{epochs_done} "
        f"(metrics and checkpoints). Resume with: softmaxreg train --resume {run_dir}"
    )
