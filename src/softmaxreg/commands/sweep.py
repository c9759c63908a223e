"""``softmaxreg sweep --lr ...``: one run per learning rate, one overlay plot, one table (§4.5 ex. 4).

A learning rate whose loss becomes NaN or infinite is a result, not a failure: its run stops, the
sweep says so on stderr, goes on with the next rate, and marks it ``diverged`` in the table.
"""

from __future__ import annotations

import argparse
from typing import Any

from softmaxreg._atomic import atomic_write_text
from softmaxreg.commands._common import (
    config_from_args,
    console_callbacks,
    diverged_message,
    interrupted_message,
    load_command_data,
    make_run_dir,
    prepare_out_dir,
    run_options,
    say,
    warn,
)
from softmaxreg.commands.cli import EXIT_INTERRUPTED
from softmaxreg.errors import ConfigError
from softmaxreg.runs import folder, lock

# best_epoch: the epoch of the lowest val_loss (summary.json's); best_epoch_val_acc: its val_acc, which
# need not be the highest val_acc of the run
COLUMNS = (
    "lr", "epochs", "train_loss", "val_loss", "val_acc", "best_epoch", "best_epoch_val_acc", "seconds", "diverged",
)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Train one run per ``--lr`` value into ``DIR/lr-<value>``, then write sweep.png and sweep.csv."""
    if len(set(args.lr)) != len(args.lr):
        raise ConfigError(f"`--lr` must list different learning rates; got {' '.join(f'{lr:g}' for lr in args.lr)}.")
    names = rate_names(args.lr)  # decided before any training: one folder, line and row per rate
    base = config_from_args(args, exclude=("lr",))  # --lr is the list to sweep
    out = prepare_out_dir(args.out)
    from softmaxreg.book.devices import resolve_device
    from softmaxreg.runs import figures  # torch: only once the options are known to be good
    from softmaxreg.runs.training import train_run

    device = resolve_device(args.device or "cpu")
    data = load_command_data(base.batch_size, args)
    sweep_dir = make_run_dir(out, prefix="sweep-")
    lang = args.lang or "en"
    results: dict[float, Any] = {}
    for lr in args.lr:
        config = base.replace(lr=lr)
        run_dir = sweep_dir / f"lr-{names[lr]}"
        claim = lock.claim_new(run_dir)  # each run's folder is claimed like train's, freed when its run ends
        folder.write_config(run_dir, {**run_options(config, args, device, data, lang), "sweep": str(sweep_dir)})
        if not args.quiet:
            say(f"lr {names[lr]} -> {run_dir}")
        result = train_run(
            config, data, run_dir, device, lang, callbacks=console_callbacks(args.quiet), tensorboard=args.tensorboard
        )
        claim.release()
        if result.interrupted:
            warn(interrupted_message(run_dir, len(result.history)))
            return EXIT_INTERRUPTED
        if result.diverged:
            warn(f"softmaxreg: lr {names[lr]}: {diverged_message(result.diverged, run_dir, len(result.history))}")
        results[lr] = result
    table = [_row(lr, result) for lr, result in results.items()]
    histories = {f"lr {names[lr]}" + (" (diverged)" if r.diverged else ""): r.history for lr, r in results.items()}
    fig = figures.sweep_figure(histories, lang, {"epochs": base.epochs, "batch_size": base.batch_size})
    figures.save(fig, sweep_dir / "sweep.png")
    atomic_write_text(sweep_dir / "sweep.csv", _csv(table))
    say(format_table(table, names))
    say(f"sweep folder: {sweep_dir} (sweep.png, sweep.csv, one run folder per learning rate)")
    return 0


def rate_names(rates: list[float]) -> dict[float, str]:
    """How each learning rate is written in folder names, plot labels and the table: ``%g`` (``0.1``,
    ``1e-05``), unless that writes two different rates alike; then as many digits as tell them apart.

    Examples:
        >>> rate_names([0.01, 0.1, 1.0])
        {0.01: '0.01', 0.1: '0.1', 1.0: '1'}
        >>> rate_names([0.1, 0.1000001])
        {0.1: '0.1', 0.1000001: '0.1000001'}
    """
    short = {lr: f"{lr:g}" for lr in rates}
    if len(set(short.values())) == len(short):
        return short
    return {lr: repr(lr) if list(short.values()).count(short[lr]) > 1 else short[lr] for lr in rates}


def _row(lr: float, result: Any) -> dict[str, Any]:
    nan = float("nan")
    last, summary = (result.history or [{}])[-1], result.summary  # a run that diverged in epoch 1 has no row
    return {
        "lr": lr, "epochs": summary["epochs"], "train_loss": last.get("train_loss", nan),
        "val_loss": last.get("val_loss", nan), "val_acc": last.get("val_acc", nan),
        "best_epoch": summary.get("best_epoch", 0), "best_epoch_val_acc": summary.get("best_val_acc", nan),
        "seconds": round(summary["total_seconds"], 3), "diverged": bool(result.diverged),
    }  # fmt: skip


def _csv(table: list[dict[str, Any]]) -> str:
    lines = [",".join(COLUMNS)] + [",".join(str(row[c]) for c in COLUMNS) for row in table]
    return "\n".join(lines) + "\n"


def format_table(table: list[dict[str, Any]], names: dict[float, str] | None = None) -> str:
    """The sweep's table for a terminal; ``names`` says how to write each rate (default: `rate_names`).

    Examples:
        >>> print(format_table([{"lr": 0.1, "epochs": 2, "train_loss": 0.57, "val_loss": 0.58, "val_acc": 0.8021,
        ...                      "best_epoch": 2, "best_epoch_val_acc": 0.8021, "seconds": 3.1}]))
              lr  epochs  train_loss  val_loss  val_acc  best_epoch  best_epoch_val_acc  seconds
             0.1       2      0.5700    0.5800   0.8021           2              0.8021      3.1
    """
    names = names or rate_names([r["lr"] for r in table])
    lines = [f"{'lr':>8}  epochs  train_loss  val_loss  val_acc  best_epoch  best_epoch_val_acc  seconds"]
    for r in table:
        lines.append(
            f"{names[r['lr']]:>8}  {r['epochs']:>6}  {r['train_loss']:>10.4f}  "
            f"{r['val_loss']:>8.4f}  {r['val_acc']:>7.4f}  "
            f"{r['best_epoch']:>10}  {r['best_epoch_val_acc']:>18.4f}  {r['seconds']:>7.1f}"
            + ("  diverged" if r.get("diverged") else "")
        )
    return "\n".join(lines)
