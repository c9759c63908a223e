"""Starting a run and saying how it stopped: what ``softmaxreg train``, ``sweep`` and the page's worker share.

Loading the data, claiming the run folder, ``config.json``'s options, and the one-line messages for a
run that diverged or was interrupted. Both the command line (``commands/``) and ``serve``'s training
worker start runs with these, so they live here, below both. Imports nothing heavy at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from softmaxreg.runs.config import TrainConfig


def load_data(
    batch_size: int, data_dir: str | None, offline: bool, source: str | None = None, options: Any = None
) -> Any:
    """Fashion-MNIST, found (or fetched) as `softmaxreg.datasets.sources` says; or your own data at
    ``source`` (an image folder, IDX files or a table) read with ``options`` (a `DataOptions`)."""
    if source is not None:
        from softmaxreg.runs.rundata import load_own

        return load_own(source, options, batch_size)
    from softmaxreg.datasets.fashion_mnist import FashionMNIST

    return FashionMNIST(batch_size=batch_size, root=data_dir, offline=True if offline else None)


def make_run_dir(out: Path | None, base: str = "runs", prefix: str = "") -> Path:
    """Create and claim ``out``, or a new ``runs/<prefix><timestamp>`` folder, for this process.

    The claim (`softmaxreg.runs.lock`) lasts until the process ends: call this before writing anything.
    """
    from softmaxreg.runs import lock

    claim = lock.claim_new(out) if out is not None else lock.claim_new_run_dir(base, prefix)
    return claim.folder


def run_options(config: TrainConfig, args: Any, device: Any, data: Any, lang: str) -> dict[str, Any]:
    """``config.json``'s options: the training settings, then where, how and on what it ran.

    ``args`` has the command line's ``device``, ``data_dir``, ``offline`` and ``quiet`` (an
    `argparse.Namespace`, or any object with those attributes).
    """
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


def interrupted_message(run_dir: Path, epochs_done: int, removed: bool = False) -> str:
    """What to tell the user after Ctrl-C; ``removed``: the run kept nothing and its folder was removed.

    Examples:
        >>> interrupted_message(Path("runs/a"), 1).split("; ")[1]
        'runs/a keeps epoch 1 (metrics and checkpoints). Resume with: softmaxreg train --resume runs/a'
        >>> interrupted_message(Path("runs/a"), 0, removed=True)
        'softmaxreg: interrupted before the first epoch ended; nothing was kept, so runs/a was removed.'
    """
    if epochs_done == 0:
        if removed:
            return f"softmaxreg: interrupted before the first epoch ended; nothing was kept, so {run_dir} was removed."
        return f"softmaxreg: interrupted before the first epoch ended; {run_dir} has nothing to resume."
    epochs = f"epochs 1-{epochs_done}" if epochs_done > 1 else "epoch 1"
    return (
        f"softmaxreg: interrupted during epoch {epochs_done + 1}; {run_dir} keeps {epochs} "
        f"(metrics and checkpoints). Resume with: softmaxreg train --resume {run_dir}"
    )
