"""One training run in-process, on tiny synthetic data: resume, weight decay, Ctrl-C."""

import json
import signal

import pytest
import torch

from softmaxreg.datasets.fashion_mnist import FashionMNIST
from softmaxreg.runs.checkpoint import load_training_state
from softmaxreg.runs.config import TrainConfig
from softmaxreg.runs.folder import read_metrics
from softmaxreg.runs.training import train_run

CPU = torch.device("cpu")


@pytest.fixture
def data(fake_fashion):
    return FashionMNIST(batch_size=16, root=fake_fashion)


def without_seconds(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


@pytest.mark.parametrize("model", ["concise", "scratch"])
def test_resumed_run_equals_the_straight_one(data, tmp_path, model):
    config = TrainConfig(epochs=4, lr=0.5, batch_size=16, model=model, weight_decay=0.01, seed=3)
    (tmp_path / "straight").mkdir()
    (tmp_path / "resumed").mkdir()
    straight = train_run(config, data, tmp_path / "straight", CPU)
    train_run(config.replace(epochs=2), data, tmp_path / "resumed", CPU)
    torch.manual_seed(123)  # whatever happened in between is undone by the restored RNG state
    resumed = train_run(config, data, tmp_path / "resumed", CPU, resume=load_training_state(tmp_path / "resumed"))
    assert without_seconds(resumed.history) == without_seconds(straight.history)
    assert without_seconds(read_metrics(tmp_path / "resumed")) == without_seconds(straight.history)
    assert (tmp_path / "resumed" / "model.safetensors").read_bytes() == (
        tmp_path / "straight" / "model.safetensors"
    ).read_bytes()


def test_weight_decay_goes_into_sgd(data, tmp_path):
    results = {}
    for wd in (0.0, 0.5):
        (tmp_path / str(wd)).mkdir()
        results[wd] = train_run(TrainConfig(epochs=1, batch_size=16, weight_decay=wd), data, tmp_path / str(wd), CPU)
        groups = json.loads((tmp_path / str(wd) / "resume.json").read_text())["optimizer"]["param_groups"]
        assert [g["weight_decay"] for g in groups] == [wd]
    assert results[0.0].history[0]["train_loss"] != results[0.5].history[0]["train_loss"]


def test_ctrl_c_stops_after_the_current_step(data, tmp_path):
    class CtrlC:
        """Presses Ctrl-C during the third epoch."""

        def on_train_batch_end(self, trainer, model, loss):
            if trainer.epoch == 2 and trainer.train_batch_idx % trainer.num_train_batches == 2:
                signal.raise_signal(signal.SIGINT)
                self.after = trainer.train_batch_idx

        def on_fit_end(self, trainer, model):
            self.last = trainer.train_batch_idx

    config = TrainConfig(epochs=4, batch_size=16)
    ctrl_c = CtrlC()
    (tmp_path / "run").mkdir()
    result = train_run(config, data, tmp_path / "run", CPU, callbacks=[ctrl_c])
    assert result.interrupted and len(result.history) == 2
    assert ctrl_c.last == ctrl_c.after  # no step after the one that was running
    assert load_training_state(tmp_path / "run").epoch == 2 and len(read_metrics(tmp_path / "run")) == 2
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["interrupted"] is True
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored after fit

    resumed = train_run(config, data, tmp_path / "run", CPU, resume=load_training_state(tmp_path / "run"))
    (tmp_path / "straight").mkdir()
    straight = train_run(config, data, tmp_path / "straight", CPU)
    assert without_seconds(resumed.history) == without_seconds(straight.history)  # the lost half epoch is redone
