"""`softmaxreg train --resume` on tiny synthetic data, in process: what a resume may change, what it
refuses (one line, exit 2, the folder unchanged), and runs that early stopping ended (issue 18)."""

import json

import pytest

from softmaxreg.runs import folder

FAST = ("--batch-size", "16", "--quiet")


def snapshot(run):
    """The run's files; ``.lock`` names its last claimant, which a refused resume may have been."""
    return {p.name: p.read_bytes() for p in sorted(run.iterdir()) if p.name != ".lock"}


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


@pytest.fixture
def stopped(tmp_path, train):
    """A run that early stopping ended after epoch 2 (lr 30 overshoots; epoch 1 was the best)."""
    code, out, err = train("--epochs", "6", "--lr", "30", "--early-stopping", "1", "--out", tmp_path / "es")
    assert code == 0, err
    summary = json.loads((tmp_path / "es" / "summary.json").read_text())
    assert (summary["epochs"], summary["best_epoch"], summary["stopped_early"]) == (2, 1, True)
    return tmp_path / "es"


def test_a_run_that_stopped_early_stays_stopped(stopped, cli_in_process):
    """Item 2: `--resume` trained epochs 3-4 and replaced the best epoch's model."""
    message = refused(cli_in_process, stopped)
    assert message == (
        f"{stopped} was ended by early stopping after epoch 2: no lower val_loss in 1 epoch (--early-stopping 1). "
        f"To train it further, raise the patience: softmaxreg train --resume {stopped} --early-stopping 2"
    )
    refused(cli_in_process, stopped, "--epochs", "8")


def test_a_raised_patience_continues_as_a_run_with_that_patience(stopped, tmp_path, train, cli_in_process):
    code, _, err = cli_in_process("train", "--resume", stopped, "--early-stopping", "3", *FAST)
    assert code == 0, err
    assert train("--epochs", "6", "--lr", "30", "--early-stopping", "3", "--out", tmp_path / "straight")[0] == 0
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(folder.read_metrics(stopped)) == strip(folder.read_metrics(tmp_path / "straight"))
    for name in ("model.safetensors", "summary.json"):
        same = json.loads if name.endswith(".json") else bytes
        got, want = (stopped / name).read_bytes(), (tmp_path / "straight" / name).read_bytes()
        if name == "summary.json":
            got, want = ({k: v for k, v in same(x).items() if k != "total_seconds"} for x in (got, want))
        assert got == want


def test_the_patience_may_only_grow(tmp_path, train, cli_in_process):
    assert train("--epochs", "1", "--early-stopping", "3", "--out", tmp_path / "patient")[0] == 0
    message = refused(cli_in_process, tmp_path / "patient", "--epochs", "2", "--early-stopping", "2")
    assert message == "`--early-stopping` cannot change when resuming: the run used 3, not 2. It may only grow (> 3)."
    assert train("--epochs", "1", "--out", tmp_path / "plain")[0] == 0
    message = refused(cli_in_process, tmp_path / "plain", "--epochs", "2", "--early-stopping", "2")
    assert message == (
        "`--early-stopping` cannot change when resuming: the run used None, not 2. Leave it out, or start a new run."
    )


def test_stopping_on_the_last_epoch_is_not_stopping_early(tmp_path, train):
    assert train("--epochs", "2", "--lr", "30", "--early-stopping", "1", "--out", tmp_path / "last")[0] == 0
    summary = json.loads((tmp_path / "last" / "summary.json").read_text())
    assert (summary["epochs"], summary["stopped_early"]) == (2, False)


def test_a_refused_resume_writes_nothing(tmp_path, train, cli_in_process):
    """Item 3: without model.json, `--resume` exited 2 but had rewritten config.json first."""
    run = tmp_path / "r1"
    assert train("--epochs", "1", "--out", run)[0] == 0
    (run / "model.json").unlink()
    message = refused(cli_in_process, run, "--epochs", "2")
    assert message == (
        f"Expected model.json in {run}; it does not exist. resume.json records 1 completed epoch, so softmaxreg "
        "wrote it: it was deleted or moved since. Restore the run folder from a backup, or train a new run "
        "(softmaxreg train)."
    )


def test_a_recipe_is_a_setting_like_the_others(tmp_path, train, cli_in_process):
    """Item 4: `--recipe best` was silently ignored on `--resume` (while `--lr 0.5` was refused)."""
    run = tmp_path / "r1"
    assert train("--epochs", "1", "--out", run)[0] == 0
    message = refused(cli_in_process, run, "--epochs", "2", "--recipe", "best")
    assert message == (
        "`--recipe best` cannot change when resuming: the run used lr 0.1, not 0.3. Leave it out, or start a new run."
    )
    code, _, err = cli_in_process("train", "--resume", run, "--epochs", "2", "--recipe", "seed", *FAST)
    assert code == 0, err  # the run's own recipe changes nothing


def test_a_device_torch_knows_but_softmaxreg_cannot_use(tmp_path, train, cli_in_process):
    """Item 5, on --resume."""
    run = tmp_path / "r1"
    assert train("--epochs", "1", "--out", run)[0] == 0
    assert refused(cli_in_process, run, "--epochs", "2", "--device", "meta") == (
        "`device` must be one of auto, cpu, cuda, mps; got 'meta'.")  # fmt: skip
