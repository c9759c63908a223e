"""Every run-folder file is replaced atomically: a write that fails leaves the old file, whole, and no debris.

Failures are made two ways: the rename into place raising (``os.replace``), and a full disk halfway
through writing the new content. Then a real run whose epoch save fails at each of its writes in
turn: one line from the CLI, and a resume afterwards ends exactly as an uninterrupted run.
"""

import errno
import os
import re
from pathlib import Path

import pytest
import torch

import softmaxreg
from softmaxreg import _atomic
from softmaxreg.book.board import ProgressBoard
from softmaxreg.models import SoftmaxRegression
from softmaxreg.runs import checkpoint, figures, folder
from softmaxreg.runs.checkpoint import TrainingState, capture_rng

SRC = Path(softmaxreg.__file__).parent  # the whole package, every layer
# .lock: the run's claim on its folder (softmaxreg.runs.lock), not a run file, but it stays
RUN_FILES = {"config.json", "metrics.csv", "summary.json", "model.json", "model.safetensors", "resume.json",
             "resume.safetensors", "curves.png", ".lock"}  # fmt: skip


def _model(seed):
    torch.manual_seed(seed)
    model = SoftmaxRegression(10, 0.1)
    model(torch.zeros(1, 1, 28, 28))
    return model


def _state(seed):
    model = _model(seed)
    return TrainingState(seed, model.state_dict(), {"state": {}, "param_groups": [{"params": [0, 1], "lr": 0.1}]},
                         capture_rng(torch.device("cpu")),
                         {"history": [{"epoch": e} for e in range(1, seed + 1)]})  # fmt: skip


def _figure(seed):
    fig = figures._display.new_figure((2, 2))
    fig.add_subplot().plot([0, seed])
    return fig


def _board(seed):
    board = ProgressBoard()
    board.draw(1, float(seed), "train_loss", every_n=1)
    return board


# writer name -> (write version `seed` into `folder`, the files it writes)
WRITERS = {
    "metrics.csv": (
        lambda d, s: folder.write_metrics(d, [{"epoch": e, "train_loss": 0.5} for e in range(1, s + 1)]),
        ["metrics.csv"],
    ),
    "summary.json": (lambda d, s: folder.write_summary(d, {"epochs": s}), ["summary.json"]),
    "config.json": (lambda d, s: folder.write_config(d, {"epochs": s}), ["config.json"]),
    "model checkpoint": (
        lambda d, s: checkpoint.save_checkpoint(_model(s), d, {"epoch": s}),
        ["model.safetensors", "model.json"],
    ),
    "resume state": (lambda d, s: checkpoint.save_training_state(d, _state(s)), ["resume.safetensors", "resume.json"]),
    "curves.png": (lambda d, s: _board(s).save(d / "curves.png"), ["curves.png"]),
    "a figure (evaluate, sweep)": (lambda d, s: figures.save(_figure(s), d / "weights.png"), ["weights.png"]),
    "sweep.csv, predict inputs": (lambda d, s: _atomic.atomic_write_text(d / "sweep.csv", f"lr\n{s}\n"), ["sweep.csv"]),
}


class _Os:
    """The `os` module as `_atomic` sees it, with some functions replaced (other modules keep the real one)."""

    def __init__(self, **replaced):
        self.__dict__.update(replaced)

    def __getattr__(self, name):
        return getattr(os, name)


def _replace_fails(monkeypatch):
    def replace(src, dst):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(_atomic, "os", _Os(replace=replace))


class _HalfWrites:
    """Files opened by `_atomic` take half of what is written, then the disk is full."""

    def __init__(self, file):
        self.file = file

    def write(self, data):
        self.file.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


def _disk_fills(monkeypatch, after=0):
    """The ``after + 1``-th file `_atomic` writes (and every one after it) fills the disk halfway."""
    real, calls = os.fdopen, []

    def fdopen(fd, *args, **kwargs):
        calls.append(fd)
        file = real(fd, *args, **kwargs)
        return _HalfWrites(file) if len(calls) > after else file

    monkeypatch.setattr(_atomic, "os", _Os(fdopen=fdopen))


@pytest.mark.parametrize("failure", [_replace_fails, _disk_fills], ids=["rename fails", "disk full halfway"])
@pytest.mark.parametrize("writer", WRITERS)
def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, monkeypatch, writer, failure):
    write, names = WRITERS[writer]
    write(tmp_path, 1)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(before) == set(names)
    with pytest.MonkeyPatch.context() as mp:
        failure(mp)
        with pytest.raises(OSError, match="Input/output error|No space left on device"):
            write(tmp_path, 2)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # old content, no temporary file
    write(tmp_path, 2)  # and the next write works
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} != before


def test_every_writer_in_softmaxreg_goes_through_atomic_writes():
    """No module writes a file directly, except the two that stage and rename their own (data files)."""
    direct = re.compile(
        r"\.write_(text|bytes)\(|open\([^)]*['\"][wax]b?['\"]|\.savefig\(\s*(?!buffer)|np\.save|\.tofile\("
    )
    own_staging = {"_atomic.py", "download.py", "decoded_cache.py"}
    offenders = [f"{p.name}:{i}: {line.strip()}" for p in SRC.rglob("*.py") if p.name not in own_staging
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if direct.search(line) and not line.lstrip().startswith(("#", ">>>", "..."))]  # fmt: skip
    assert offenders == []


# -- a real run whose epoch save fails ---------------------------------------------------------------


@pytest.fixture
def straight_run(fake_fashion, tmp_path, cli_in_process):
    args = ("--batch-size", "16", "--quiet", "--data-dir", fake_fashion)
    assert cli_in_process("train", "--epochs", "3", "--out", tmp_path / "straight", *args)[0] == 0
    assert cli_in_process("train", "--epochs", "1", "--out", tmp_path / "run", *args)[0] == 0
    return folder.read_metrics(tmp_path / "straight")


SAVES = ["model.safetensors", "model.json", "resume.safetensors", "resume.json", "metrics.csv", "summary.json"]


@pytest.mark.parametrize("fails", range(len(SAVES)), ids=SAVES)
def test_a_full_disk_while_saving_an_epoch_then_resume(straight_run, tmp_path, cli_in_process, monkeypatch, fails):
    run = tmp_path / "run"
    with pytest.MonkeyPatch.context() as mp:
        _disk_fills(mp, after=1 + fails)  # config.json (rewritten on resume), then epoch 2's files in order
        code, _, err = cli_in_process("train", "--resume", run, "--epochs", "3", "--quiet")
    assert code == 1  # the machine's problem, not the user's mistake
    done = 2 if fails >= 4 else 1  # whether resume.json (the commit point) was written
    assert err == (f"softmaxreg: error: Expected to save epoch 2 into {run}; got an error: No space left on device. "
                   f"Free some space or fix the folder's permissions, then resume: softmaxreg train --resume {run} "
                   f"(it goes on after epoch {done})\n")  # fmt: skip
    assert {p.name for p in run.iterdir()} == RUN_FILES  # no temporary file left
    assert checkpoint.load_model(run)[1]["epoch"] == (2 if fails >= 2 else 1)  # a whole checkpoint, old or new
    code, _, err = cli_in_process("train", "--resume", run, "--epochs", "3", "--quiet")  # space is free again
    assert code == 0, err
    strip = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row in rows]  # noqa: E731
    assert strip(folder.read_metrics(run)) == strip(straight_run)
    assert (run / "model.safetensors").read_bytes() == (tmp_path / "straight" / "model.safetensors").read_bytes()


def test_a_full_disk_while_saving_the_first_epoch_says_train_again(fake_fashion, tmp_path, cli_in_process):
    """Found by review: the message advised --resume, which then had nothing to resume."""
    run = tmp_path / "run"
    with pytest.MonkeyPatch.context() as mp:
        _disk_fills(mp, after=1)  # config.json, then epoch 1's files
        code, _, err = cli_in_process("train", "--epochs", "2", "--batch-size", "16", "--quiet",
                                      "--data-dir", fake_fashion, "--out", run)  # fmt: skip
    assert code == 1
    assert err == (f"softmaxreg: error: Expected to save epoch 1 into {run}; got an error: No space left on device. "
                   f"Free some space or fix the folder's permissions, then train again: {run} holds no completed "
                   "epoch to resume (delete it, or use another --out).\n")  # fmt: skip
    code, _, err = cli_in_process("train", "--resume", run)
    assert code == 2 and "nothing to resume" in err  # as the message said


@pytest.mark.real_data
def test_a_file_size_limit_is_one_line_and_exit_1(real_data_dir, tmp_path):
    """The reviewer's own reproduction: ``ulimit -f 20`` (20 KiB files) while saving epoch 1."""
    import shlex
    import subprocess
    import sys

    from conftest import SRC

    command = [sys.executable, "-m", "softmaxreg", "train", "--epochs", "1", "--quiet",
               "--data-dir", str(real_data_dir), "--out", "r"]  # fmt: skip
    result = subprocess.run(["bash", "-c", "ulimit -f 20 && exec " + shlex.join(command)], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(SRC)}, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 1, result.stderr
    (line,) = result.stderr.splitlines()
    assert line == ("softmaxreg: error: Expected to save epoch 1 into r; got an error: File too large. Free some "
                    "space or fix the folder's permissions, then train again: r holds no completed epoch to resume "
                    "(delete it, or use another --out).")  # fmt: skip
