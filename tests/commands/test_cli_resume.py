"""`softmaxreg train --resume` on tiny synthetic data, in process: what a resume may change, what it
refuses (one line, exit 2, the folder unchanged), and runs that early stopping ended (issue 18)."""

import json

import pytest

from softmaxreg.runs import folder

FAST = ("--batch-size", "16", "--quiet")


def snapshot(run):
    return {p.name: p.read_bytes() for p in sorted(run.iterdir())}


@pytest.fixture
def train(fake_fashion, cli_in_process):
    def run(*args):
        return cli_in_process("train", *args, *FAST, "--data-dir", fake_fashion)

    return run


def refused(cli_in_process, run, *args):
    """Resume ``run`` with ``args``; check the refusal is one line, exit 2, the folder unchanged; return the line."""
    before = snapshot(run)
    code, out, err = cli_in_process("train", "--resume", run, *args, *FAST)
    assert (code, out) == (2, ""), err
    assert len(err.splitlines()) == 1 and err.startswith("softmaxreg: error: ")
    assert snapshot(run) == before
    return err.removeprefix("softmaxreg: error: ").rstrip("\n")


def test_a_cosine_run_cannot_change_its_length(tmp_path, train, cli_in_process):
    """Item 1: the decay had restarted at lr 0.15 after ending epoch 2 at 0."""
    assert train("--recipe", "best", "--epochs", "2", "--out", tmp_path / "b2")[0] == 0
    message = refused(cli_in_process, tmp_path / "b2", "--epochs", "4")
    assert message == (
        "`--epochs` cannot change when resuming a run with a cosine learning-rate schedule: its rate decays to 0 over "
        "the run's 2 epochs, and epochs 1-2 already followed that decay. Leave --epochs out to finish this run, or "
        "start a new run with --epochs 4."
    )


def test_a_recipe_is_a_setting_like_the_others(tmp_path, train, cli_in_process):
    """Item 4: `--recipe best` was silently ignored on `--resume` (while `--lr 0.5` was refused)."""
    run = tmp_path / "r1"
    assert train("--epochs", "1", "--out", run)[0] == 0
    message = refused(cli_in_process, run, "--epochs", "2", "--recipe", "best")
    assert message == "`--recipe best` cannot change when resuming: the run used lr 0.1, not 0.3. Leave it out, or start a new run."
    code, _, err = cli_in_process("train", "--resume", run, "--epochs", "2", "--recipe", "seed", *FAST)
    assert code == 0, err  # the run's own recipe changes nothing


def test_a_device_torch_knows_but_softmaxreg_cannot_use(tmp_path, train, cli_in_process):
    """Item 5, on --resume."""
    run = tmp_path / "r1"
    assert train("--epochs", "1", "--out", run)[0] == 0
    assert refused(cli_in_process, run, "--epochs", "2", "--device", "meta") == (
        "`device` must be one of auto, cpu, cuda, mps; got 'meta'.")  # fmt: skip
