"""Data-parallel training on this machine: 1 process against 2 under torchrun.

Trains the founding document's model (batch 256, lr 0.1, seed 0) on the real Fashion-MNIST through
`Trainer.fit` in three set-ups, each in fresh processes:

- 1 process, 1 thread (``python``, ``OMP_NUM_THREADS=1``);
- 1 process, 2 threads (torch's intra-op threads on both cores);
- 2 processes under ``torchrun --nproc_per_node=2`` (gloo), 1 thread each (torchrun's default).

The set-ups run in turn, ``--rounds`` times; the fastest round of each counts (this machine is
shared: slow spells hit whichever set-up runs then). It prints the time per epoch (the median over
epochs 2.., training plus validation) and, for 2 processes, what one gradient all-reduce costs
per step (``DataParallel.all_reduce_grads`` on the model's 7,850 gradients plus the stop vote,
timed alone 500 times).

    .venv/bin/python benchmarks/bench_ddp.py [--epochs 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def worker(epochs: int) -> None:
    """One process of a set-up: train, time the all-reduce, and (process 0) print a JSON line."""
    import torch

    import softmaxreg as d2l
    from softmaxreg.book import distributed

    torch.manual_seed(0)
    data = d2l.FashionMNIST(batch_size=256)
    model = d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
    trainer = d2l.Trainer(max_epochs=epochs)
    trainer.fit(model, data)
    parallel = distributed.current()
    per_step = None
    if parallel.world_size > 1:
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        parallel.share((torch.zeros(256),))  # a global batch of 256: the weights of the shares
        for _ in range(50):  # warm-up
            parallel.all_reduce_grads(model, False)
        started = time.perf_counter()
        for _ in range(500):
            parallel.all_reduce_grads(model, False)
        per_step = (time.perf_counter() - started) / 500
    if parallel.is_main:
        seconds = [row["seconds"] for row in trainer.history[1:]] or [trainer.history[0]["seconds"]]
        print("BENCH", json.dumps({
            "epoch_s": statistics.median(seconds), "allreduce_s": per_step, "steps": trainer.num_train_batches,
            "val_acc": trainer.history[-1]["val_acc"], "threads": torch.get_num_threads(),
        }), flush=True)  # fmt: skip


def launch(nproc: int | None, threads: int, epochs: int) -> dict:
    """Run `worker` in 1 plain process (``nproc=None``) or ``nproc`` torchrun processes."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "BENCH_DDP_WORKER": str(epochs), "OMP_NUM_THREADS": str(threads)}
    script = [str(Path(__file__).resolve())]
    if nproc is None:
        command = [sys.executable, *script]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *script]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH ")]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[0][6:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per set-up (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each set-up; the fastest counts (default 3)")
    options = parser.parse_args()
    setups = {"1 process, 1 thread": (None, 1), "1 process, 2 threads": (None, 2), "2 processes (torchrun)": (2, 1)}
    best: dict[str, dict] = {}
    for _ in range(options.rounds):
        for name, (nproc, threads) in setups.items():
            r = launch(nproc, threads, options.epochs)
            if name not in best or r["epoch_s"] < best[name]["epoch_s"]:
                best[name] = r
    rows = list(best.items())
    base = rows[0][1]["epoch_s"]
    print(
        f"{'set-up':<24}{'threads':>8}{'s/epoch':>9}{'× first':>10}{'ms/step':>9}{'all-reduce/step':>17}{'val_acc':>9}"
    )
    for name, r in rows:
        reduce = f"{r['allreduce_s'] * 1e6:.0f} µs" if r["allreduce_s"] else "-"
        print(f"{name:<24}{r['threads']:>8}{r['epoch_s']:>9.3f}{r['epoch_s'] / base:>10.2f}"
              f"{r['epoch_s'] / r['steps'] * 1e3:>9.2f}{reduce:>17}{r['val_acc']:>9.4f}")  # fmt: skip
    two = rows[2][1]
    print(f"all-reduce share of a 2-process step: {two['allreduce_s'] / (two['epoch_s'] / two['steps']):.0%} "
          f"(cores on this machine: {os.cpu_count()})")  # fmt: skip


if __name__ == "__main__":
    if os.environ.get("BENCH_DDP_WORKER"):
        worker(int(os.environ["BENCH_DDP_WORKER"]))
    else:
        main()
