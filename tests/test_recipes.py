"""`--recipe`: the seed's settings, and `best` (Nesterov momentum, cosine decay, weight decay)."""

import json
import signal

import pytest
import torch

from softmaxreg.callbacks import CosineSchedule
from softmaxreg.checkpoint import load_training_state
from softmaxreg.config import TrainConfig
from softmaxreg.errors import ConfigError
from softmaxreg.fashion_mnist import FashionMNIST
from softmaxreg.recipes import RECIPES
from softmaxreg.training import train_run

from conftest import run_cli

CPU = torch.device("cpu")


def without_seconds(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


@pytest.fixture
def data(fake_fashion):
    return FashionMNIST(batch_size=16, root=fake_fashion)


def test_cosine_schedule_goes_from_lr_to_zero_and_sets_every_step(data, tmp_path):
    seen = []

    class Spy:
        def on_train_batch_end(self, trainer, model, loss):
            seen.append(trainer.optim.param_groups[0]["lr"])  # the rate the *next* step will use

    config = RECIPES["best"].replace(epochs=3, batch_size=16)
    result = train_run(config, data, tmp_path, CPU, callbacks=[Spy()])
    steps = 3 * 6  # 96 training images in batches of 16
    expected = [CosineSchedule(0.3).lr_at(k, steps) for k in range(1, steps + 1)]
    assert seen == pytest.approx(expected) and seen[-1] == 0.0 and seen[steps // 2 - 1] == pytest.approx(0.15)
    groups = json.loads((tmp_path / "resume.json").read_text())["optimizer"]["param_groups"]
    assert (groups[0]["momentum"], groups[0]["nesterov"], groups[0]["weight_decay"]) == (0.9, True, 1e-4)
    assert len(result.history) == 3


def test_interrupted_best_run_resumes_on_the_same_schedule(data, tmp_path):
    """Ctrl-C, then --resume: the cosine schedule and momentum buffers continue where they were."""

    class CtrlC:
        def on_train_batch_end(self, trainer, model, loss):
            if trainer.epoch == 1 and trainer.train_batch_idx % trainer.num_train_batches == 3:
                signal.raise_signal(signal.SIGINT)

    config = RECIPES["best"].replace(epochs=3, batch_size=16)
    (tmp_path / "run").mkdir()
    (tmp_path / "straight").mkdir()
    assert train_run(config, data, tmp_path / "run", CPU, callbacks=[CtrlC()]).interrupted
    resumed = train_run(config, data, tmp_path / "run", CPU, resume=load_training_state(tmp_path / "run"))
    straight = train_run(config, data, tmp_path / "straight", CPU)
    assert without_seconds(resumed.history) == without_seconds(straight.history)


def test_nesterov_without_momentum_is_refused():
    with pytest.raises(ConfigError, match="`nesterov` needs a positive `momentum`; got momentum 0."):
        TrainConfig(nesterov=True)
    with pytest.raises(ConfigError, match="`schedule` must be one of 'constant', 'cosine'; got 'step'."):
        TrainConfig(schedule="step")


@pytest.mark.real_data
def test_best_recipe_beats_the_seed_recipe_with_explicit_options_winning(real_data_dir, tmp_path):
    best = run_cli("train", "--recipe", "best", "--quiet", "--out", str(tmp_path / "best"), "--data-dir", str(real_data_dir))
    assert best.returncode == 0, best.stderr
    summary = json.loads((tmp_path / "best" / "summary.json").read_text())
    config = json.loads((tmp_path / "best" / "config.json").read_text())
    assert (config["epochs"], config["lr"], config["momentum"], config["schedule"]) == (10, 0.3, 0.9, "cosine")
    assert summary["val_acc"] >= 0.843  # the seed recipe: about 0.83 (tests/test_seed.py)

    short = run_cli("train", "--recipe", "best", "--epochs", "1", "--quiet", "--out", str(tmp_path / "short"),
                    "--data-dir", str(real_data_dir))  # fmt: skip
    assert short.returncode == 0, short.stderr
    config = json.loads((tmp_path / "short" / "config.json").read_text())
    assert (config["epochs"], config["lr"], config["nesterov"]) == (1, 0.3, True)


def test_unknown_recipe_is_one_line(tmp_path):
    result = run_cli("train", "--recipe", "fastest", cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice: 'fastest'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
