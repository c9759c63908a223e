"""Time loading Fashion-MNIST: from the ``.gz`` files, from the decoded cache, and from memory.

Targets (issue 6): at most 0.6 s from the ``.gz`` files, at most 0.1 s when cached. The baseline,
measured in the same process, is the foundation's path: decompress, MD5 and parse every file, one
after the other, on every load.

Usage::

    .venv/bin/python benchmarks/bench_data.py [--data-dir DIR] [--repeat 5]

Each case runs ``--repeat`` times; the median and the best wall-clock times are printed, and the
median CPU time (of this process; for "new process", of that process, as it measured it: on a
machine shared with other work, the fairer figure). "first load" starts from an
empty cache folder (so it includes writing the decoded cache); "cached load" forgets the
in-process memo first, as a new process would; "new process" runs a fresh interpreter and times
the import of ``softmaxreg.datasets.sources`` plus the load; "in-process repeat" is the memo.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
sys.path.insert(0, str(SRC))

from softmaxreg.datasets import sources  # noqa: E402
from softmaxreg.datasets.idx import parse_idx, read_idx_bytes  # noqa: E402


def baseline(folder: Path) -> None:
    """The foundation's load: every file decompressed, hashed and parsed, in turn, every time."""
    for file in sources.FILES:
        path = sources.find_file(folder, file)
        content = read_idx_bytes(path)
        if hashlib.md5(content, usedforsecurity=False).hexdigest() != file.md5:
            raise SystemExit(f"{path} is not the official file")
        parse_idx(content, str(path), file.ndim)


def first_load(folder: Path) -> None:
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="bench-data-")  # an empty cache
    sources.clear_memo()
    sources.load_fashion_mnist(root=folder, offline=True)


def cached_load(folder: Path) -> None:
    sources.clear_memo()
    sources.load_fashion_mnist(root=folder, offline=True)


def memo_load(folder: Path) -> None:
    sources.load_fashion_mnist(root=folder, offline=True)


def new_process(folder: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of the import and the load, as the new process measured them."""
    code = (
        "import time; t, c = time.perf_counter(), time.process_time(); from softmaxreg import sources; "
        f"sources.load_fashion_mnist(root={str(folder)!r}, offline=True); "
        "print(time.perf_counter() - t, time.process_time() - c)"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


def measure(fn: Callable[[Path], object], folder: Path, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of ``repeat`` runs (CPU time is the fairer figure on a busy machine).

    A case that runs elsewhere (a new process) returns its own (wall, CPU) seconds.
    """
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = fn(folder)
        if isinstance(result, tuple):
            times.append(result[0])
            cpu.append(result[1])
        else:
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="folder with the four .gz files (default: the usual search)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = args.data_dir or sources.locate()[0].path
    print(f"Fashion-MNIST from {folder}; {os.cpu_count()} CPUs; median (best) of {args.repeat} runs")
    keep_cache = os.environ.get("XDG_CACHE_HOME")
    cases = [
        ("baseline: decompress + MD5 + parse", baseline, None),
        ("first load from .gz (empty cache)", first_load, 0.6),
        ("cached load (decoded cache)", cached_load, 0.1),
        ("new process: import + cached load", new_process, None),
        ("in-process repeat (memo)", memo_load, None),
    ]
    base = None
    for name, fn, target in cases:
        times, cpu = measure(fn, folder, args.repeat)
        median = statistics.median(times)
        base = base or median
        verdict = "" if target is None else f"  target ≤ {target:g} s: {'met' if median <= target else 'MISSED'}"
        print(
            f"{name:<38} {median:7.3f} s ({min(times):.3f})  cpu {statistics.median(cpu):6.3f} s  "
            f"×{median / base:5.2f} of baseline{verdict}"
        )
        if fn is first_load:  # the later cases use the cache this one just wrote
            cache = os.environ["XDG_CACHE_HOME"]
    if keep_cache is not None:
        os.environ["XDG_CACHE_HOME"] = keep_cache
    print(f"(decoded cache used for the later cases: {cache})")


if __name__ == "__main__":
    main()
