"""Time the claim a run makes on its folder (``softmaxreg.runs.lock``), against making the folder alone.

Usage::

    .venv/bin/python benchmarks/bench_lock.py [--repeat 2000]

"mkdir only" is what a run did before it claimed its folder (``folder.new_run_dir``); "claim + release"
is what it does now: ``claim_new_run_dir`` (mkdir, open ``.lock``, ``flock``, write the holder's
record) and the release when the command ends. Each is timed ``--repeat`` times in this process, in
a fresh base folder each time (as a first run in ``runs/``), interleaved; the median and the best per call are printed,
and the claim's extra cost as a fraction of a run of the book's configuration (10 epochs, about
1.1 s here: README, Performance). A process that finds the folder taken waits about 0.15 s before
it says so (a few retries, so that a mere look by another process is not taken for a run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
sys.path.insert(0, str(SRC))

from softmaxreg.runs import folder, lock  # noqa: E402

BOOK_RUN_SECONDS = 1.13  # README, Performance: (c) softmaxreg, 10 epochs


def claim_and_release(base: Path) -> None:
    lock.claim_new_run_dir(base).release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    cases = {"mkdir only": folder.new_run_dir, "claim + release": claim_and_release}
    root = Path(tempfile.mkdtemp(prefix="bench-lock-"))
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(args.repeat):
        for name, step in cases.items():
            base = root / f"{i}-{len(seconds[name])}-{name.split()[0]}"  # a fresh runs/ each time: no name taken
            base.mkdir()
            started = time.perf_counter()
            step(base)
            seconds[name].append(time.perf_counter() - started)
    medians = {}
    for name in cases:
        medians[name] = statistics.median(seconds[name])
        print(f"{name:16} median {medians[name] * 1e6:7.1f} µs   best {min(seconds[name]) * 1e6:7.1f} µs")
    extra = medians["claim + release"] - medians["mkdir only"]
    print(f"claim's extra cost per run: {extra * 1e6:.1f} µs = {extra / BOOK_RUN_SECONDS:.1e} of a 10-epoch book run")
    print(f"claim + release / mkdir only: {medians['claim + release'] / medians['mkdir only']:.2f}")


if __name__ == "__main__":
    main()
