"""Forward + backward of softmaxreg's cross_entropy against torch.nn.functional.cross_entropy.

Both run in this process, interleaved round by round, so a busy machine slows both alike; each
reports the fastest round (the least disturbed one). The target is a ratio ≤ 1.5 at (256, 10),
d2l's batch of Fashion-MNIST logits, where per-call overhead, not arithmetic, dominates. On the CPU
it runs with one thread, then with torch's default count: with several threads torch's own kernels
split even small rows across cores, and a machine whose cores are busy with other work slows the
multi-threaded runs erratically.

Run:  .venv/bin/python benchmarks/bench_cross_entropy.py [--rounds 15] [--threads N] [--device cuda]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from softmaxreg import functional

SHAPES = ((256, 10), (4096, 1000))
TARGET_RATIO = 1.5


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _round(step: Callable[[], None], calls: int, device: torch.device) -> float:
    """Seconds per call over ``calls`` back-to-back calls (the device's queue drained at both ends)."""
    _sync(device)
    start = time.perf_counter()
    for _ in range(calls):
        step()
    _sync(device)
    return (time.perf_counter() - start) / calls


def _calls_per_round(step: Callable[[], None], device: torch.device, budget: float = 0.05) -> int:
    """Enough calls for a round of about ``budget`` seconds (timer noise stays below 1%)."""
    for _ in range(3):  # warm up allocator and kernels
        step()
    return max(1, int(budget / _round(step, 3, device)))


def compare(shape: tuple[int, int], rounds: int, device: torch.device, seed: int = 0) -> tuple[float, float]:
    """Best seconds per forward+backward call of (torch's, ours) on float32 logits of ``shape``."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=generator).to(device).requires_grad_()
    y = torch.randint(0, shape[1], (shape[0],), generator=generator).to(device)

    def theirs() -> None:
        F.cross_entropy(logits, y).backward()

    def ours() -> None:
        functional.cross_entropy(logits, y).backward()

    calls = _calls_per_round(theirs, device)
    _calls_per_round(ours, device)
    best_theirs = best_ours = float("inf")
    for _ in range(rounds):  # interleaved: a load spike hits both
        best_theirs = min(best_theirs, _round(theirs, calls, device))
        best_ours = min(best_ours, _round(ours, calls, device))
    return best_theirs, best_ours


def _report(device: torch.device, rounds: int) -> None:
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} thread(s)"
    print(f"torch {torch.__version__}, {where}, float32, forward+backward, best of {rounds} interleaved rounds")
    print(f"{'shape':>12}  {'F.cross_entropy':>16}  {'softmaxreg':>12}  {'ratio':>6}")
    for shape in SHAPES:
        theirs, ours = compare(shape, rounds, device)
        verdict = f"  (target ≤ {TARGET_RATIO} on the CPU)" if shape == SHAPES[0] and device.type == "cpu" else ""
        print(f"{str(shape):>12}  {theirs * 1e6:>13.1f} µs  {ours * 1e6:>9.1f} µs  {ours / theirs:>6.2f}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per shape (default 15)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (default: 1, then torch's default if that is more)",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    default = torch.get_num_threads()
    threads = [args.threads] if args.threads else sorted({1, default}) if device.type == "cpu" else [default]
    for i, count in enumerate(threads):
        torch.set_num_threads(count)
        if i:
            print()
        _report(device, args.rounds)


if __name__ == "__main__":
    main()
