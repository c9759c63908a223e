"""One run folder, one writer: concurrent starts with real processes, SIGKILL, readers during a run.

The processes are real (``tests/cli_child.py`` runs ``softmaxreg`` on the synthetic data); they
overlap deterministically: they meet at a barrier before claiming, and the winner keeps its claim
until every loser has exited. Children run single-threaded, and so do the in-process reference runs
they are compared with, so that their numbers are bit-identical.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import SRC

from softmaxreg.datasets import sources
from softmaxreg.errors import CheckpointError, ConfigError, RunFolderInUseError
from softmaxreg.runs import folder, lock

CHILD = Path(__file__).resolve().parent.parent / "cli_child.py"
RUN_FILES = {"config.json", "metrics.csv", "summary.json", "model.json", "model.safetensors", "resume.json",
             "resume.safetensors", "curves.png", ".lock"}  # fmt: skip
TRAIN = ("--batch-size", "16", "--quiet")
IN_USE = (
    r"softmaxreg: error: Expected {folder} to be free for this run; it is in use by another process "
    r"\(PID {pid} on host {host}, started \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d \w+\): one run folder has one writer\. "
)
NEW_FIX = r"Choose another folder with --out, or wait until that process ends\.\n"


def in_use(folder, pid, fix=NEW_FIX):
    """The loser's whole stderr, as a regular expression."""
    return IN_USE.format(folder=re.escape(str(folder)), pid=pid, host=re.escape(socket.gethostname())) + fix


@pytest.fixture
def child(fake_fashion, tmp_path):
    """Start ``softmaxreg ARGS`` in a real process on the synthetic data: ``child(*args, **hooks)`` -> Popen.

    Hooks (see tests/cli_child.py): ``barrier=N`` (claim when N children are ready), ``hold=True``
    (keep the claim until ``release(tmp_path)``), ``pause="EPOCH BATCH FILE"``.
    """
    digests = json.dumps({f.key: f.md5 for f in sources.FILES})
    started = []

    def start(*args, barrier=None, hold=False, pause=None):
        env = {**os.environ, "PYTHONPATH": str(SRC), "SOFTMAXREG_TEST_MD5": digests, "OMP_NUM_THREADS": "1"}
        if barrier:
            (tmp_path / "barrier").mkdir(exist_ok=True)
            env["SOFTMAXREG_TEST_BARRIER"] = f"{tmp_path / 'barrier'} {barrier}"
        if hold:
            env["SOFTMAXREG_TEST_HOLD"] = str(tmp_path / "release")
        if pause:
            env["SOFTMAXREG_TEST_PAUSE"] = pause
        command = [sys.executable, str(CHILD), *map(str, args), "--data-dir", str(fake_fashion)]
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:  # a failed test leaves none behind
        if process.poll() is None:
            process.kill()
        process.communicate()


def wait_until(condition, what, seconds=300.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds:g} s for {what}"
        time.sleep(0.05)


def exited(processes):
    return sum(p.poll() is not None for p in processes)


def claim_together(tmp_path, processes):
    """Wait until the processes meet at the barrier, then until all but one (the winner) have exited."""
    wait_until(lambda: len(list((tmp_path / "barrier").iterdir())) == len(processes), "the barrier")
    wait_until(lambda: exited(processes) >= len(processes) - 1, "the losers to exit while the winner holds", 60)
    release(tmp_path)


def finish(process, timeout=300):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def release(tmp_path):
    (tmp_path / "release").touch()


@pytest.fixture
def reference(fake_fashion, tmp_path, cli_in_process):
    """``reference(seed, epochs)``: the folder of that run made alone, in this process, single-threaded."""

    def run(seed, epochs):
        out = tmp_path / f"alone-seed{seed}-epochs{epochs}"
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as the children (OMP_NUM_THREADS=1): bit-identical sums
        try:
            code, _, err = cli_in_process("train", "--epochs", epochs, "--seed", seed, "--out", out, *TRAIN,
                                          "--data-dir", fake_fashion)  # fmt: skip
        finally:
            torch.set_num_threads(threads)
        assert code == 0, err
        return out

    return run


def without_seconds(run_dir):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in folder.read_metrics(run_dir)]


def assert_same_run(run_dir, alone):
    """``run_dir`` is exactly the run made alone: same files, options, metrics and weights."""
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES
    assert folder.read_config(run_dir) == folder.read_config(alone)
    assert without_seconds(run_dir) == without_seconds(alone)
    for name in ("model.safetensors", "resume.safetensors", "model.json"):
        assert (run_dir / name).read_bytes() == (alone / name).read_bytes(), name


# -- concurrent starts -----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 8])
def test_concurrent_trains_into_one_out_folder_one_winner(child, tmp_path, reference, count):
    processes = [child("train", "--epochs", "2", "--seed", seed, "--out", "X", *TRAIN, barrier=count, hold=True)
                 for seed in range(1, count + 1)]  # fmt: skip
    claim_together(tmp_path, processes)
    results = [finish(p) for p in processes]

    winners = [seed for seed, (code, _, _) in enumerate(results, 1) if code == 0]
    assert len(winners) == 1, results
    (seed,) = winners
    winner = processes[seed - 1]
    assert results[seed - 1][1].splitlines()[-1] == "run folder: X"
    for other, (code, out, err) in enumerate(results, 1):
        if other != seed:
            assert (code, out) == (2, ""), err
            assert re.fullmatch(in_use("X", winner.pid), err), err
    assert lock.read_holder(tmp_path / "X").pid == winner.pid
    assert_same_run(tmp_path / "X", reference(seed, 2))


def test_concurrent_trains_without_out_get_one_folder_each(child, tmp_path, reference):
    processes = [child("train", "--epochs", "1", "--seed", seed, *TRAIN, barrier=8) for seed in range(8)]
    results = [finish(p) for p in processes]
    assert all(code == 0 for code, _, _ in results), results

    named = [out.splitlines()[-1].removeprefix("run folder: ") for _, out, _ in results]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(Path(n).name for n in named)
    assert len(set(named)) == 8
    assert all(re.fullmatch(r"runs/\d{8}-\d{6}(-\d+)?", name) for name in named), named  # readable
    for seed, name in enumerate(named):
        assert_same_run(tmp_path / name, reference(seed, 1))


def test_concurrent_resumes_of_one_folder_one_winner(child, tmp_path, reference):
    reference(0, 1).rename(tmp_path / "X")  # a run of 1 epoch, made in this process
    processes = [child("train", "--resume", "X", "--epochs", "2", "--quiet", barrier=2, hold=True) for _ in range(2)]
    claim_together(tmp_path, processes)
    results = sorted((finish(p) + (p.pid,) for p in processes), key=lambda r: r[0])

    (code, out, err, pid), (lost, lost_out, lost_err, _) = results
    assert (code, lost, lost_out) == (0, 2, ""), results
    fix = r"Wait until that process ends \(or stop it\), then resume: softmaxreg train --resume X\n"
    assert re.fullmatch(in_use("X", pid, fix), lost_err), lost_err
    assert len(folder.read_config(tmp_path / "X")["resumes"]) == 1  # resumed once, not twice
    alone = reference(0, 2)
    assert without_seconds(tmp_path / "X") == without_seconds(alone)
    assert (tmp_path / "X" / "model.safetensors").read_bytes() == (alone / "model.safetensors").read_bytes()


# -- during a run, and after SIGKILL -----------------------------------------------------------------


def test_readers_during_a_run_then_sigkill_and_resume_at_once(child, tmp_path, reference):
    paused = tmp_path / "in-epoch-2"
    run = child("train", "--epochs", "3", "--out", "X", *TRAIN, pause=f"2 3 {paused}")
    wait_until(lambda: paused.exists() or run.poll() is not None, "epoch 2")
    assert run.poll() is None, finish(run)

    # evaluate reads the run while it trains (without locking): the whole files of epoch 1
    code, out, err = finish(child("evaluate", "X", "--json"))
    assert code == 0, err
    report = json.loads(out)
    assert report["model_epoch"] == 1
    assert report["accuracy"] == pytest.approx(folder.read_metrics(tmp_path / "X")[0]["val_acc"], abs=1e-12)
    # a second run into the folder is refused at once, naming the run
    code, out, err = finish(child("train", "--out", "X", *TRAIN))
    assert (code, out) == (2, "") and re.fullmatch(in_use("X", run.pid), err), err

    run.send_signal(signal.SIGKILL)  # in the middle of epoch 2
    assert run.wait(60) == -signal.SIGKILL
    assert lock.read_holder(tmp_path / "X").pid == run.pid  # its record stays, its lock does not
    resume = child("train", "--resume", "X", "--epochs", "3")
    code, out, err = finish(resume)
    assert code == 0, err
    assert out.splitlines()[0] == "resuming X at epoch 2/3"
    assert lock.read_holder(tmp_path / "X").pid == resume.pid
    alone = reference(0, 3)
    assert folder.read_metrics(tmp_path / "X")[-1]["epoch"] == 3
    assert without_seconds(tmp_path / "X") == without_seconds(alone)
    assert (tmp_path / "X" / "model.safetensors").read_bytes() == (alone / "model.safetensors").read_bytes()


# -- in one process: the claim's rules ---------------------------------------------------------------


def test_a_held_folder_is_refused_and_free_again_once_released(tmp_path):
    claim = lock.claim_new(tmp_path / "X")
    pattern = in_use(tmp_path / "X", os.getpid()).removeprefix("softmaxreg: error: ").removesuffix("\\n")
    with pytest.raises(RunFolderInUseError, match=f"^{pattern}$"):
        lock.claim_new(tmp_path / "X")  # another claim, even in the same process (a server's threads)
    folder.write_config(tmp_path / "X", {"epochs": 1})
    with pytest.raises(RunFolderInUseError, match="then resume: softmaxreg train --resume"):
        lock.claim_existing(tmp_path / "X")
    with pytest.raises(RunFolderInUseError):
        lock.check_new(tmp_path / "X")  # the early check names the holder too
    claim.release()
    assert not claim.held
    with pytest.raises(ConfigError, match="`--out` must be a new or empty folder; .* holds files"):
        lock.check_new(tmp_path / "X")  # nobody holds it now: it is simply taken
    with lock.claim_existing(tmp_path / "X") as again:
        assert again.held


def test_a_folder_holding_only_a_dead_claim_is_empty(tmp_path):
    with lock.claim_new(tmp_path / "X"):
        pass  # like a run killed before it wrote anything: .lock stays, unlocked
    assert [p.name for p in (tmp_path / "X").iterdir()] == [".lock"]
    with lock.claim_new(tmp_path / "X") as claim:
        assert lock.read_holder(claim.folder).pid == os.getpid()


def test_resume_of_a_folder_that_is_no_run_leaves_no_lock_file(tmp_path):
    (tmp_path / "notes").mkdir()
    with pytest.raises(CheckpointError, match="Expected config.json in"):
        lock.claim_existing(tmp_path / "notes")
    assert list((tmp_path / "notes").iterdir()) == []


def test_the_command_frees_its_folders_and_a_sweep_claims_each_run(fake_fashion, tmp_path, cli_in_process):
    claim_new, taken = lock.claim_new, []

    def claim_and_meanwhile(path):
        if Path(path).name == "lr-0.1":  # while the sweep trains lr 0.1, another claimant takes lr 0.2's folder
            taken.append(claim_new(Path(path).parent / "lr-0.2"))
        return claim_new(path)

    args = (
        "sweep",
        "--lr",
        "0.1",
        "0.2",
        "--epochs",
        "1",
        *TRAIN,
        "--data-dir",
        fake_fashion,
        "--out",
        tmp_path / "sw",
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lock, "claim_new", claim_and_meanwhile)
        code, _, err = cli_in_process(*args)
    assert code == 2
    assert re.fullmatch(in_use(tmp_path / "sw" / "lr-0.2", os.getpid()), err), err
    taken[0].release()
    with lock.claim_existing(tmp_path / "sw" / "lr-0.1"), lock.claim_new(tmp_path / "sw" / "lr-0.2"):
        pass  # the sweep's claims ended with the command
    assert (tmp_path / "sw" / ".lock").is_file()


@pytest.mark.parametrize("code", [errno.ENOLCK, errno.EOPNOTSUPP])
def test_a_file_system_without_locks_is_one_line(fake_fashion, tmp_path, cli_in_process, monkeypatch, code):
    import fcntl

    def flock(fd, operation):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fcntl, "flock", flock)  # what NFS without its lock service answers
    result = cli_in_process("train", "--epochs", "1", *TRAIN, "--data-dir", fake_fashion, "--out", tmp_path / "X")
    assert result == (1, "", (
        f"softmaxreg: error: Expected to lock {tmp_path / 'X' / '.lock'} so that only this process writes the run "
        f"folder; got [Errno {code}] {os.strerror(code)}. Its file system has no working locks (a network file "
        "system such as NFS without its lock service?), which run folders need: "
        "use a folder on a local disk.\n"))  # fmt: skip
    assert not (tmp_path / "X" / "config.json").exists()
