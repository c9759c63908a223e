"""Shared fixtures: an isolated environment, tiny synthetic IDX files, and the real Fashion-MNIST."""

from __future__ import annotations

import gzip
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import softmaxreg
from softmaxreg.datasets import sources
from softmaxreg.datasets.idx import encode_idx

# One intra-op thread for what the suite trains, in this process and in the CLI runs, servers and torchrun
# launches it starts (`run_cli`, `start_server`, `cli_env`). Softmax regression's steps are microseconds of
# arithmetic: on 2 cores, two OpenMP threads cost 8x the CPU time of one for the same numbers (2 epochs of
# Fashion-MNIST: 0.5 s of CPU with one thread, 4.3 s with two, the same val_acc), and made the whole suite
# take twice as long. Tests marked `torch_default_threads` (the commands the docs quote, whose printed
# numbers are a user's run: tests/test_docs.py) run in this process with torch's own count.
ONE_THREAD = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
TORCH_DEFAULT_THREADS = torch.get_num_threads()
torch.set_num_threads(int(ONE_THREAD["OMP_NUM_THREADS"]))


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name == "test_docs.py":  # its commands run in this process (`cli`) and print numbers
            item.add_marker(pytest.mark.torch_default_threads)


@pytest.fixture(autouse=True)
def torch_threads(request):
    """One thread (see ONE_THREAD), or torch's own count for a test marked `torch_default_threads`."""
    if request.node.get_closest_marker("torch_default_threads") is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(TORCH_DEFAULT_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


SRC = Path(softmaxreg.__file__).resolve().parent.parent
REAL_DATA_DIRS = [Path(p) for p in os.environ.get("SOFTMAXREG_DATA", "").split(os.pathsep) if p] + list(
    sources.SYSTEM_DIRS
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# -- isolation -------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path_factory):
    """No test sees the user's cache, settings or network: an empty cache, offline by default."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("SOFTMAXREG_OFFLINE", "1")
    for name in ("SOFTMAXREG_DATA", "SOFTMAXREG_SYSTEM_DATA", "SOFTMAXREG_MIRRORS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return cache


_PATCHABLE = ("Module", "Classifier", "Trainer", "DataModule", "FashionMNIST", "ProgressBoard", "HyperParameters")


@pytest.fixture(autouse=True)
def restore_classes():
    """The book replaces methods with add_to_class; undo that after each test."""
    classes = [getattr(softmaxreg, name) for name in _PATCHABLE]
    saved = [dict(vars(cls)) for cls in classes]
    yield
    for cls, before in zip(classes, saved, strict=True):
        for name in set(vars(cls)) - set(before):
            delattr(cls, name)
        for name, value in before.items():
            if vars(cls).get(name) is not value:
                setattr(cls, name, value)


# -- synthetic Fashion-MNIST -----------------------------------------------------------------------


def synthetic_arrays(num_train: int = 96, num_test: int = 40, seed: int = 0) -> dict[str, np.ndarray]:
    """Tiny learnable data: class k is a bright horizontal band at rows 2k..2k+5 plus noise."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in (("train", num_train), ("test", num_test)):
        labels = np.arange(n, dtype=np.uint8) % 10
        images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
        for i, k in enumerate(labels):
            images[i, 2 * k : 2 * k + 6] = 220
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    return arrays


def write_fashion_files(folder: Path, arrays: dict[str, np.ndarray], compress: bool = True) -> dict[str, str]:
    """Write the four IDX files into ``folder``; return the MD5 of each decompressed content."""
    folder.mkdir(parents=True, exist_ok=True)
    digests = {}
    for file in sources.FILES:
        raw = encode_idx(arrays[file.key])
        digests[file.key] = hashlib.md5(raw).hexdigest()
        if compress:
            (folder / (file.name + ".gz")).write_bytes(gzip.compress(raw, mtime=0))
        else:
            (folder / file.name).write_bytes(raw)
    return digests


@pytest.fixture
def fake_fashion(monkeypatch, tmp_path):
    """A folder of synthetic Fashion-MNIST files whose checksums softmaxreg accepts.

    Returns the folder; ``SOFTMAXREG_SYSTEM_DATA`` is pointed at an empty folder so the real copy
    does not interfere.
    """
    arrays = synthetic_arrays()
    folder = tmp_path / "fake-fashion"
    digests = write_fashion_files(folder, arrays)
    monkeypatch.setattr(sources, "FILES", tuple(replace(f, md5=digests[f.key]) for f in sources.FILES))
    monkeypatch.setenv("SOFTMAXREG_SYSTEM_DATA", str(tmp_path / "no-system-copy"))
    return folder


# -- real Fashion-MNIST ----------------------------------------------------------------------------


def _real_data_dir() -> Path | None:
    for folder in REAL_DATA_DIRS:
        if all(sources.find_file(folder, f) for f in sources.FILES):
            return folder
    return None


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The folder holding the real Fashion-MNIST; skips without it, except in CI where it fails."""
    folder = _real_data_dir()
    if folder is None:
        message = f"real Fashion-MNIST not found in {[str(p) for p in REAL_DATA_DIRS]}"
        if IN_CI:
            pytest.fail(message + " (CI must install the Debian package dataset-fashion-mnist)")
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def fashion(real_data_dir):
    """The real Fashion-MNIST data module (batch 256), loaded once per session."""
    return softmaxreg.FashionMNIST(batch_size=256, root=real_data_dir)


@pytest.fixture
def book_data_dir(real_data_dir, monkeypatch):
    """Let the book's lines that name no folder (``d2l.FashionMNIST(...)``,
    ``d2l.load_data_fashion_mnist(...)``) find the real data."""
    monkeypatch.setenv("SOFTMAXREG_DATA", str(real_data_dir))
    return real_data_dir


@pytest.fixture
def one_thread():
    """Train with one intra-op thread: on a shared 2-core runner, spinning OpenMP threads make
    the book's fits several times slower; the results are the same."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- subprocesses ----------------------------------------------------------------------------------


def train_synthetic_run(base: Path, epochs: int) -> Path:
    """``softmaxreg train --batch-size 16`` on synthetic data, in this process, into ``base / "run"``.

    For module-scoped fixtures (which run outside `isolated_env` and `fake_fashion`): the synthetic
    files' checksums are accepted and the cache is ``base / "cache"`` only while it trains.
    """
    import logging

    from softmaxreg.commands import cli

    digests = write_fashion_files(base / "data", synthetic_arrays())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sources, "FILES", tuple(replace(f, md5=digests[f.key]) for f in sources.FILES))
        mp.setenv("SOFTMAXREG_SYSTEM_DATA", str(base / "none"))
        mp.setenv("XDG_CACHE_HOME", str(base / "cache"))
        mp.setattr(logging.root, "handlers", [])
        args = ["train", "--epochs", str(epochs), "--batch-size", "16", "--quiet", "--offline"]
        assert cli.main([*args, "--data-dir", str(base / "data"), "--out", str(base / "run")]) == 0
    sources.clear_memo()
    return base / "run"


@pytest.fixture
def cli_in_process(monkeypatch, capsys):
    """``softmaxreg ARGS`` run in this process (so monkeypatches, e.g. test checksums, apply).

    Returns a function of the arguments giving ``(exit code, stdout, stderr)``.
    """
    import logging

    from softmaxreg.commands import cli

    monkeypatch.setattr(logging.root, "handlers", [])  # main() configures logging; undo it after
    monkeypatch.setattr(logging.root, "level", logging.root.level)

    def run(*args):
        code = cli.main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300):
    """Run ``python -m softmaxreg ARGS`` in a subprocess with this checkout's sources, on one thread.

    ``env`` adds to this process's environment; a value of None removes that variable.
    """
    merged = {**os.environ, "PYTHONPATH": str(SRC), **ONE_THREAD, **(env or {})}
    full_env = {k: v for k, v in merged.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-m", "softmaxreg", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# -- figures ---------------------------------------------------------------------------------------


def check_png(fig_or_path, path: Path | None = None, min_size: tuple[int, int] = (150, 100)):
    """Assert that a PNG is a real image: Pillow opens it, big enough, not blank. Returns it as grey.

    Pass a PNG file's path, or a matplotlib figure and the ``path`` to save it to. Missing glyphs
    (e.g. Vietnamese diacritics in a font that lacks them) fail the check, since matplotlib only warns.
    """
    import warnings

    from PIL import Image

    if path is not None:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*[Gg]lyph.*missing")
            fig_or_path.savefig(path, dpi=100)
    with Image.open(path if path is not None else fig_or_path) as png:
        assert png.format == "PNG", fig_or_path
        image = np.asarray(png.convert("L"))
    height, width = image.shape
    assert width >= min_size[0] and height >= min_size[1], (width, height)
    assert int(image.max()) - int(image.min()) > 100, "the figure has no contrast"
    assert (image < 200).mean() > 0.01, "the figure is blank"
    assert image.std() > 10, "the figure is nearly uniform"
    return image


# -- command-line runs shared by several test modules ------------------------------------------------


def cli_env(folder: Path) -> dict[str, str]:
    """What `isolated_env` sets, for subprocesses started by session fixtures (which run before it)."""
    return {"XDG_CACHE_HOME": str(folder / "cache"), "SOFTMAXREG_OFFLINE": "1", "MPLBACKEND": "Agg", **ONE_THREAD}


@pytest.fixture(scope="session")
def trained_run(real_data_dir, tmp_path_factory):
    """``softmaxreg train --epochs 3`` (seed 0, default run folder) on the real data, once per session.

    Returns a namespace with ``cwd`` (where it ran), ``dir`` (the run folder, ``runs/<timestamp>``:
    copy it before writing into it), ``stdout`` and ``stderr``.
    """
    from types import SimpleNamespace

    base = tmp_path_factory.mktemp("trained")
    result = run_cli("train", "--epochs", "3", "--data-dir", str(real_data_dir), cwd=base, env=cli_env(base))
    assert result.returncode == 0, result.stderr
    (run_dir,) = (base / "runs").iterdir()
    return SimpleNamespace(
        cwd=base, dir=run_dir, stdout=result.stdout, stderr=result.stderr, real_data_dir=real_data_dir
    )


# -- softmaxreg serve ------------------------------------------------------------------------------


SERVER_TOKENS: dict[str, str] = {}  # URL -> the token the server printed in its address (see `server_token`)


def server_token(url: str) -> str:
    """The token a server started by `start_server` printed (``serving ... at URL/?token=TOKEN``)."""
    return SERVER_TOKENS[url]


def start_server(
    run_dir: Path | None, cwd: Path, *args: str, env: dict[str, str | None] | None = None
) -> tuple[subprocess.Popen, str]:
    """Start ``softmaxreg serve [RUN_DIR] --port 0 ARGS``; return the process and its URL once it serves.

    The URL is the server's address without the token it may print after it (`server_token` has it).
    ``env`` adds to the environment, as for `run_cli` (None removes a variable).
    """
    merged = {**os.environ, "PYTHONPATH": str(SRC), **cli_env(cwd), **(env or {})}
    env = {k: v for k, v in merged.items() if v is not None}
    process = subprocess.Popen(
        [sys.executable, "-m", "softmaxreg", "serve", *([str(run_dir)] if run_dir else []), "--port", "0", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()  # blocks until it serves, or is empty if it died
    if not line.startswith("serving "):
        process.kill()
        raise AssertionError(f"serve did not start: {line!r} {process.stderr.read()}")
    url, _, token = line.rsplit(" at ", 1)[1].strip().partition("/?token=")
    if token:
        SERVER_TOKENS[url] = token
    return process, url


def stop_server(process: subprocess.Popen) -> tuple[int, str, str]:
    """SIGTERM, as a service manager stops it; return the exit code, stdout and stderr."""
    process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


@pytest.fixture(scope="module")
def server(trained_run, tmp_path_factory) -> Iterator[str]:
    """The URL of ``softmaxreg serve`` serving the session's trained run (real Fashion-MNIST)."""
    pytest.importorskip("fastapi", reason='needs pip install "softmaxreg[serve]"')
    process, url = start_server(trained_run.dir, tmp_path_factory.mktemp("serve"))
    try:
        yield url
    finally:
        code, _, err = stop_server(process)
        assert code == 0 and "Traceback" not in err, err
