"""A loss or gradient that becomes NaN or infinite: stopped at its step, named, and the run folder kept sound.

On the synthetic data (96 training images, batch 16: 6 steps an epoch) a model's loss is made NaN
or infinite at a chosen step; through the API (`Trainer.fit` raises), the CLI (one line, exit 2,
the folder keeps the epochs before) and a sweep (the rate is marked diverged, the others go on).
"""

import csv
import json

import pytest
from conftest import run_cli

import softmaxreg as d2l
from softmaxreg.datasets.fashion_mnist import FashionMNIST
from softmaxreg.errors import TrainingDivergedError
from softmaxreg.models import SoftmaxRegression

STEPS = 6  # per epoch


@pytest.fixture
def data(fake_fashion):
    return FashionMNIST(batch_size=16, root=fake_fashion)


def breaking_loss(at, value=float("nan"), gradient_only=False):
    """A `Classifier.loss` whose ``at``-th training call (1-based) is multiplied by ``value``; or, with
    ``gradient_only``, stays finite while its gradient is NaN (``0 * sqrt(0)``: 0, with gradient 0 * inf)."""
    calls = []
    original = d2l.Classifier.loss

    def loss(self, Y_hat, Y, averaged=True):
        result = original(self, Y_hat, Y, averaged)
        if self.training:
            calls.append(1)
            if len(calls) == at:
                zero = (Y_hat - Y_hat.detach()).pow(2).sum()
                result = result + 0 * zero.sqrt() if gradient_only else result * value
        return result

    return loss


class Hooks:
    def __init__(self):
        self.calls = []

    def on_epoch_end(self, trainer, model, metrics):
        self.calls.append(f"on_epoch_end({metrics['epoch']})")

    def on_fit_end(self, trainer, model):
        self.calls.append(f"on_fit_end(diverged={trainer.diverged is not None})")


@pytest.mark.parametrize(
    ("at", "value", "where"),
    [(9, float("nan"), "nan at epoch 2, batch 3 of 6 (step 9)"),
     (1, float("inf"), "inf at epoch 1, batch 1 of 6 (step 1)"),
     (6, float("nan"), "nan at epoch 1, batch 6 of 6 (step 6)")],
)  # fmt: skip
def test_fit_stops_with_the_epoch_and_step(data, monkeypatch, at, value, where):
    monkeypatch.setattr(SoftmaxRegression, "loss", breaking_loss(at, value), raising=False)
    hooks = Hooks()
    trainer = d2l.Trainer(max_epochs=4, callbacks=[hooks])
    message = (
        f"Expected a finite training loss; got {where}: training diverged. "
        "Lower the learning rate (lr 0.1) and train again."
    )
    with pytest.raises(TrainingDivergedError, match=f"^{message.replace('(', '[(]').replace(')', '[)]')}$"):
        trainer.fit(SoftmaxRegression(10, lr=0.1), data)
    completed = (at - 1) // STEPS
    assert [row["epoch"] for row in trainer.history] == list(range(1, completed + 1))  # the diverged epoch is dropped
    assert hooks.calls == [f"on_epoch_end({e})" for e in range(1, completed + 1)] + ["on_fit_end(diverged=True)"]
    assert str(trainer.diverged) == message
    assert trainer.train_batch_idx <= completed * STEPS + STEPS  # stopped by the end of that epoch's window


def test_a_non_finite_gradient_shows_in_the_next_step(data, monkeypatch):
    monkeypatch.setattr(SoftmaxRegression, "loss", breaking_loss(3, gradient_only=True), raising=False)
    with pytest.raises(TrainingDivergedError, match=r"got nan at epoch 1, batch 4 of 6 \(step 4\)"):
        d2l.Trainer(max_epochs=2).fit(SoftmaxRegression(10, lr=0.1), data)


def test_a_non_finite_gradient_in_the_last_step_of_an_epoch(data, monkeypatch):
    monkeypatch.setattr(SoftmaxRegression, "loss", breaking_loss(12, gradient_only=True), raising=False)
    trainer = d2l.Trainer(max_epochs=3)
    with pytest.raises(TrainingDivergedError, match=r"^Expected finite parameters after epoch 2; got NaN or infinite "
                       r"values: training diverged \(a loss or gradient was not finite\)\. Lower the learning rate "
                       r"\(lr 0\.1\) and train again\.$"):  # fmt: skip
        trainer.fit(SoftmaxRegression(10, lr=0.1), data)
    assert len(trainer.history) == 1


def test_a_model_that_does_not_report_its_loss_is_caught_at_the_epoch_end(data):
    class Silent(SoftmaxRegression):
        def training_step(self, batch):  # no self.plot: the Trainer sees no train_loss
            return self.loss(self(*batch[:-1]), batch[-1]) * float("nan")

    with pytest.raises(TrainingDivergedError, match="^Expected finite parameters after epoch 1; got NaN"):
        d2l.Trainer(max_epochs=2).fit(Silent(10, lr=0.1), data)


def test_fit_after_a_divergence_starts_clean(data, monkeypatch):
    monkeypatch.setattr(SoftmaxRegression, "loss", breaking_loss(2), raising=False)
    trainer = d2l.Trainer(max_epochs=1)
    with pytest.raises(TrainingDivergedError):
        trainer.fit(SoftmaxRegression(10, lr=0.1), data)
    monkeypatch.undo()
    trainer.fit(SoftmaxRegression(10, lr=0.1), data)  # the same Trainer, a good model
    assert trainer.diverged is None and len(trainer.history) == 1


# -- through the command line --------------------------------------------------------------------


def test_cli_one_line_and_the_last_good_epoch_is_kept(fake_fashion, tmp_path, monkeypatch, cli_in_process):
    run = tmp_path / "run"
    args = ("--batch-size", "16", "--data-dir", fake_fashion, "--quiet")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SoftmaxRegression, "loss", breaking_loss(2 * STEPS + 4), raising=False)
        code, out, err = cli_in_process("train", "--epochs", "5", "--out", run, *args)
    assert (code, out) == (2, "")
    assert err == (
        "softmaxreg: error: Expected a finite training loss; got nan at epoch 3, batch 4 of 6 (step 16): training "
        "diverged. Lower the learning rate (lr 0.1) and train again. "
        f"{run} keeps epochs 1-2 (metrics and checkpoints); "
        "the diverged epoch was not recorded.\n"
    )
    with (run / "metrics.csv").open() as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == 2 and summary["diverged"].startswith(
        "Expected a finite training loss; got nan at epoch 3"
    )
    assert json.loads((run / "model.json").read_text())["epoch"] == 2
    assert json.loads((run / "resume.json").read_text())["epoch"] == 2
    assert (run / "curves.png").stat().st_size > 0

    # the folder is sound: its model evaluates and predicts, and a new run trains without any cleanup
    code, out, err = cli_in_process("evaluate", run, "--json")
    assert code == 0 and json.loads(out)["model_epoch"] == 2, err
    code, out, err = cli_in_process("train", "--epochs", "1", "--out", tmp_path / "next", *args)
    assert code == 0 and "test accuracy" in out, err


def test_cli_divergence_in_the_first_epoch(fake_fashion, tmp_path, cli_in_process):
    code, _, err = cli_in_process("train", "--lr", "1e30", "--weight-decay", "1", "--batch-size", "16", "--quiet",
                        "--data-dir", fake_fashion, "--out", tmp_path / "run")  # fmt: skip
    assert code == 2
    assert err.startswith("softmaxreg: error: Expected a finite training loss; got ")
    assert err.endswith(f"training diverged. Lower the learning rate (lr 1e+30) and train again. {tmp_path / 'run'} "
                        "holds no completed epoch.\n")  # fmt: skip
    assert {p.name for p in (tmp_path / "run").iterdir()} == {"config.json", ".lock"}  # nothing half-made


def test_sweep_marks_a_diverged_rate_and_goes_on(fake_fashion, tmp_path, cli_in_process):
    code, out, err = cli_in_process("sweep", "--lr", "0.1", "1e30", "0.2", "--weight-decay", "1", "--epochs", "2",
                          "--batch-size", "16", "--quiet", "--data-dir", fake_fashion,
                          "--out", tmp_path / "sw")  # fmt: skip
    assert code == 0, err
    (line,) = err.splitlines()
    assert line.startswith("softmaxreg: lr 1e+30: Expected a finite training loss; got ")
    assert line.endswith(f"{tmp_path / 'sw' / 'lr-1e+30'} holds no completed epoch.")
    with (tmp_path / "sw" / "sweep.csv").open() as f:
        table = list(csv.DictReader(f))
    assert [(row["lr"], row["epochs"], row["diverged"]) for row in table] == [
        ("0.1", "2", "False"), ("1e+30", "0", "True"), ("0.2", "2", "False")]  # fmt: skip
    assert "diverged" in out.splitlines()[2]
    assert (tmp_path / "sw" / "sweep.png").stat().st_size > 0


@pytest.mark.real_data
def test_cli_huge_learning_rate_on_real_data(real_data_dir, tmp_path):
    """The users' report: training silently turned into NaN. --lr 1e6 with weight decay 1e-4 multiplies
    the weights by 1 - lr·wd = -99 each step: float32 overflows within 20 steps."""
    result = run_cli("train", "--lr", "1e6", "--weight-decay", "1e-4", "--out", "big", "--data-dir", str(real_data_dir),
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == (
        "softmaxreg: error: Expected a finite training loss; got nan at epoch 1, batch 18 of 235 (step 18): training "
        "diverged. Lower the learning rate (lr 1e+06) and train again. big holds no completed epoch.\n"
    )


def test_sweep_of_rates_that_print_alike_gives_each_its_own_folder(fake_fashion, tmp_path, cli_in_process):
    code, out, err = cli_in_process("sweep", "--lr", "0.1", "0.1000001", "--epochs", "1", "--batch-size", "16",
                                    "--quiet", "--data-dir", fake_fashion, "--out", tmp_path / "sw")  # fmt: skip
    assert code == 0, err
    names = {p.name for p in (tmp_path / "sw").iterdir()} - {".lock"}  # the sweep folder's claim
    assert names == {"lr-0.1", "lr-0.1000001", "sweep.csv", "sweep.png"}
    assert [line.split()[0] for line in out.splitlines()[1:3]] == ["0.1", "0.1000001"]
    with (tmp_path / "sw" / "sweep.csv").open() as f:
        assert [row["lr"] for row in csv.DictReader(f)] == ["0.1", "0.1000001"]
