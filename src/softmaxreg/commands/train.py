"""``softmaxreg train``: train the seed's model and leave a run folder."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

from softmaxreg import checkpoint, runs
from softmaxreg.devices import resolve_device
from softmaxreg.fashion_mnist import FashionMNIST
from softmaxreg.labels import class_names
from softmaxreg.models import SoftmaxRegression
from softmaxreg.trainer import Trainer


class RunRecorder:
    """Trainer callback: after each epoch, rewrite ``metrics.csv`` and report one line."""

    def __init__(self, run_dir: Path, quiet: bool) -> None:
        self.run_dir = run_dir
        self.quiet = quiet

    def on_epoch_end(self, trainer: Trainer, model: Any, metrics: dict[str, float]) -> None:
        runs.write_metrics(self.run_dir, trainer.history)
        if not self.quiet:
            print(
                f"epoch {metrics['epoch']:>3}/{trainer.max_epochs}  train_loss {metrics['train_loss']:.4f}  "
                f"val_loss {metrics['val_loss']:.4f}  val_acc {metrics['val_acc']:.4f}  "
                f"{metrics['seconds']:.1f}s",
                flush=True,
            )


def _run_dir(args: argparse.Namespace) -> Path:
    if args.out is None:
        return runs.new_run_dir("runs")
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        from softmaxreg.errors import ConfigError

        raise ConfigError(f"`--out` must be a new or empty folder; {out} already holds files. Choose another.")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _metadata(model: SoftmaxRegression, data: FashionMNIST) -> dict[str, Any]:
    return {
        "model": type(model).__name__,
        "hparams": {"num_outputs": model.num_outputs, "lr": model.lr},
        "class_names": list(class_names("en")),
        "input_shape": list(data.train.images.shape[1:]),
        "preprocessing": "grey uint8 image, light object on dark background, divided by 255",
    }


def run(args: argparse.Namespace) -> int:
    """Train, write the run folder, print the test accuracy and the folder."""
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    data = FashionMNIST(batch_size=args.batch_size, root=args.data_dir, offline=args.offline or None)
    run_dir = _run_dir(args)
    options = {k: v for k, v in vars(args).items() if k != "handler"}
    runs.write_config(run_dir, {**options, "device": str(device), "data_source": str(data.source)})
    model = SoftmaxRegression(num_outputs=10, lr=args.lr)
    trainer = Trainer(max_epochs=args.epochs, device=device, callbacks=[RunRecorder(run_dir, args.quiet)])
    started = time.perf_counter()
    trainer.fit(model, data)
    checkpoint.save_checkpoint(model, run_dir, _metadata(model, data))
    model.board.save(run_dir / "curves.png")
    summary = {**runs.summarize(trainer.history), "total_seconds": time.perf_counter() - started}
    runs.write_summary(run_dir, summary)
    print(f"test accuracy {summary['val_acc']:.4f} ({len(data.val):,} images)")
    print(f"run folder: {run_dir}", file=sys.stdout)
    return 0
