"""Your own data, speed and quality: Fashion-MNIST read from four sources, and a table against scikit-learn.

In one process, with an empty user cache (a temporary ``XDG_CACHE_HOME``):

(a) idx      the built-in Fashion-MNIST path (`softmaxreg.datasets.sources`): cold = decompress, parse and
             verify the MD5s; warm = the decoded cache;
(b) png      the same 70,000 images as PNG files in an image folder (``train/<label>/``, ``test/<label>/``):
             cold = list, decode in parallel, stack; warm = list, then the decoded cache;
(c) csv      the same as Kaggle-style ``train.csv``/``test.csv`` (``label,pixel1..pixel784``), read by pyarrow;
    parquet  the same as Parquet; tables have no decoded cache: warm is a second read (the OS's page cache).

Each source is then trained with the seed recipe (``softmaxreg train``'s defaults: 10 epochs, lr 0.1,
batch 256, seed 0) and its test accuracy printed; (a), (b) and (c) must agree within 0.005 (the PNG
folder lists its images by class, so its epochs see them in another order than the IDX files).

Then scikit-learn's wine (178 rows, 13 features, 3 classes), written as ``wine.csv``: ``train --data
wine.csv`` (its stratified 20% test split, standardised from the training split) against
``sklearn.linear_model.LogisticRegression`` on exactly the same split and standardisation.

The PNG, CSV and Parquet files are written once into ``--workdir`` (default: a folder in the system's
temporary directory, kept for the next run).

With ``--drop-page-cache`` (root only, Linux) the kernel's page cache is emptied before each cold load, so
cold also means the files come from disk, not from memory left by writing them.

Usage: python benchmarks/bench_data_sources.py [--epochs 10] [--workdir DIR] [--skip-training] [--drop-page-cache]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def _write_sources(work: Path) -> None:
    """The 70,000 images as PNGs, CSV and Parquet, written once (a marker file says they are whole)."""
    if (work / "done").exists():
        return
    from PIL import Image

    from softmaxreg.datasets.sources import load_fashion_mnist

    arrays, _ = load_fashion_mnist(None, offline=True)
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    started = time.perf_counter()
    for part, prefix in (("train", "train"), ("test", "test")):
        images, labels = arrays[f"{prefix}_images"], arrays[f"{prefix}_labels"]
        for label in range(10):
            (work / "png" / part / str(label)).mkdir(parents=True, exist_ok=True)
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            Image.fromarray(image).save(work / "png" / part / str(label) / f"{i:05d}.png")
        columns = {"label": pa.array(labels.astype(np.int64))}
        flat = images.reshape(len(images), -1)
        columns.update({f"pixel{j + 1}": pa.array(flat[:, j].astype(np.int64)) for j in range(flat.shape[1])})
        table = pa.table(columns)
        pacsv.write_csv(table, work / f"{part}.csv")
        pq.write_table(table, work / f"{part}.parquet")
    (work / "done").write_text("ok\n")
    print(f"wrote 70,000 PNGs, CSV and Parquet into {work} in {time.perf_counter() - started:.0f} s")


def _drop_page_cache() -> None:
    """Empty the kernel's page cache (root only): the next read of every file comes from disk."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the decoding workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _time(load) -> tuple[float, float, object]:
    """Wall-clock and CPU seconds of ``load()``: on a shared machine the CPU time is what it costs."""
    started, cpu = time.perf_counter(), _cpu()
    data = load()
    return time.perf_counter() - started, _cpu() - cpu, data


def _loaders(work: Path) -> dict[str, object]:
    from softmaxreg.datasets.fashion_mnist import FashionMNIST
    from softmaxreg.datasets.own import DataOptions
    from softmaxreg.runs.rundata import load_own

    def table(suffix: str):
        options = DataOptions(test_data=str(work / f"test.{suffix}"))
        return lambda: load_own(work / f"train.{suffix}", options, 256)

    return {
        "idx": lambda: FashionMNIST(batch_size=256, offline=True),
        "png": lambda: load_own(work / "png", DataOptions(), 256),
        "csv": table("csv"),
        "parquet": table("parquet"),
    }


def _accuracy(data, epochs: int, work: Path, name: str) -> float:
    import shutil

    import torch

    from softmaxreg.runs.recipes import RECIPES
    from softmaxreg.runs.training import train_run

    run_dir = work / "runs" / name
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    result = train_run(RECIPES["seed"].replace(epochs=epochs), data, run_dir, torch.device("cpu"))
    return float(result.history[-1]["val_acc"])


def _wine(work: Path, epochs: int) -> None:
    import torch
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression

    from softmaxreg.datasets.own import DataOptions
    from softmaxreg.runs.recipes import RECIPES
    from softmaxreg.runs.rundata import load_own
    from softmaxreg.runs.training import train_run

    wine = load_wine(as_frame=True)
    frame = wine.frame.rename(columns={"target": "label"})
    frame["label"] = [wine.target_names[i] for i in frame["label"]]
    frame.to_csv(work / "wine.csv", index=False)
    data = load_own(work / "wine.csv", DataOptions(), 16)
    started = time.perf_counter()
    run_dir = work / "runs" / "wine"
    import shutil

    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    config = RECIPES["seed"].replace(epochs=epochs, batch_size=16)
    ours = train_run(config, data, run_dir, torch.device("cpu")).history[-1]["val_acc"]
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    sk = LogisticRegression(max_iter=1000).fit(data.train.images.numpy(), data.train.labels.numpy())
    theirs = sk.score(data.val.images.numpy(), data.val.labels.numpy())
    sk_s = time.perf_counter() - started
    print(
        f"\nwine.csv ({len(data.train)} train / {len(data.val)} test rows, 13 features, same split and standardisation)"
    )
    print(
        f"  softmaxreg train --data wine.csv --batch-size 16 --epochs {epochs}: "
        f"test accuracy {ours:.4f} ({ours_s:.2f} s)"
    )
    print(f"  sklearn LogisticRegression (lbfgs, C=1):                 test accuracy {theirs:.4f} ({sk_s:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "softmaxreg-bench-data-sources"))
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--drop-page-cache", action="store_true", help="empty the OS page cache before each cold load")
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="softmaxreg-bench-write-")  # not the user's cache
    _write_sources(work)
    cache = tempfile.mkdtemp(prefix="softmaxreg-bench-cache-")
    os.environ["XDG_CACHE_HOME"] = cache  # an empty decoded cache: the first load of each source is cold
    from softmaxreg.datasets import sources

    rows = []
    for name, load in _loaders(work).items():
        sources.clear_memo()
        if args.drop_page_cache:
            _drop_page_cache()
        cold, cold_cpu, data = _time(load)
        sources.clear_memo()
        warm, warm_cpu, data = _time(load)
        accuracy = None if args.skip_training else _accuracy(data, args.epochs, work, name)
        rows.append((name, cold, cold_cpu, warm, warm_cpu, len(data.train) + len(data.val), accuracy))
    print(f"\n{'source':<8} {'images':>7} {'cold s':>7} {'(cpu)':>7} {'warm s':>7} {'(cpu)':>7}  "
          f"test accuracy (seed recipe, {args.epochs} epochs)")  # fmt: skip
    for name, cold, cold_cpu, warm, warm_cpu, n, accuracy in rows:
        acc = "-" if accuracy is None else f"{accuracy:.4f}"
        print(f"{name:<8} {n:>7,} {cold:>7.2f} {cold_cpu:>7.2f} {warm:>7.2f} {warm_cpu:>7.2f}  {acc}")
    if not args.skip_training:
        spread = max(r[-1] for r in rows) - min(r[-1] for r in rows)
        print(f"largest difference in test accuracy: {spread:.4f} ({'within' if spread <= 0.005 else 'OUTSIDE'} 0.005)")
        _wine(work, 100)
    page_cache = "emptied before each cold load" if args.drop_page_cache else "as found"
    print(f"(cpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, OS page cache {page_cache})")


if __name__ == "__main__":
    main()
