"""Forward + backward of softmaxreg's cross_entropy against torch.nn.functional.cross_entropy.

Both run in this process, interleaved round by round, so a busy machine slows both alike; each
reports the fastest round (the least disturbed one). The target is a ratio ≤ 1.5 at (256, 10),
d2l's batch of Fashion-MNIST logits, where per-call overhead, not arithmetic, dominates.

Run:  .venv/bin/python benchmarks/bench_cross_entropy.py [--rounds 15] [--threads N]
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


def _round(step: Callable[[], None], calls: int) -> float:
    """Seconds per call over ``calls`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls


def _calls_per_round(step: Callable[[], None], budget: float = 0.05) -> int:
    """Enough calls for a round of about ``budget`` seconds (timer noise stays below 1%)."""
    for _ in range(3):  # warm up allocator and kernels
        step()
    return max(1, int(budget / _round(step, 3)))


def compare(shape: tuple[int, int], rounds: int, seed: int = 0) -> tuple[float, float]:
    """Best seconds per forward+backward call of (torch's, ours) on float32 logits of ``shape``."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape, generator=generator).requires_grad_()
    y = torch.randint(0, shape[1], (shape[0],), generator=generator)

    def theirs() -> None:
        F.cross_entropy(logits, y).backward()

    def ours() -> None:
        functional.cross_entropy(logits, y).backward()

    calls = _calls_per_round(theirs)
    _calls_per_round(ours)
    best_theirs = best_ours = float("inf")
    for _ in range(rounds):  # interleaved: a load spike hits both
        best_theirs = min(best_theirs, _round(theirs, calls))
        best_ours = min(best_ours, _round(ours, calls))
    return best_theirs, best_ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per shape (default 15)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), float32, forward+backward, best of "
          f"{args.rounds} interleaved rounds")
    print(f"{'shape':>12}  {'F.cross_entropy':>16}  {'softmaxreg':>12}  {'ratio':>6}")
    for shape in SHAPES:
        theirs, ours = compare(shape, args.rounds)
        ratio = ours / theirs
        verdict = f"  (target ≤ {TARGET_RATIO})" if shape == SHAPES[0] else ""
        print(f"{str(shape):>12}  {theirs * 1e6:>13.1f} µs  {ours * 1e6:>9.1f} µs  {ratio:>6.2f}{verdict}")


if __name__ == "__main__":
    main()
