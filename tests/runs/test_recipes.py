"""`--recipe`: the seed's settings, and `best` (Nesterov momentum, cosine decay, weight decay, input dropout)."""

import json
import re
import signal

import pytest
import torch
from conftest import SRC, run_cli

from softmaxreg.book.trainer import Trainer
from softmaxreg.datasets.fashion_mnist import FashionMNIST
from softmaxreg.errors import ConfigError
from softmaxreg.runs.callbacks import CosineSchedule, InputDropout
from softmaxreg.runs.checkpoint import load_model, load_training_state
from softmaxreg.runs.config import TrainConfig
from softmaxreg.runs.recipes import RECIPES
from softmaxreg.runs.training import train_run

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
    """Ctrl-C, then --resume: the cosine schedule, momentum buffers and input dropout masks continue
    where they were."""

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


def test_input_dropout_zeroes_a_fraction_p_of_the_pixels_and_keeps_their_mean():
    model = torch.nn.Flatten()
    dropout = InputDropout(0.2, seed=1)
    dropout.on_fit_start(None, model)
    X = torch.ones(256, 1, 28, 28)
    first, second = model(X), model(X)
    assert set(first.unique().tolist()) == {0.0, 1.25}  # dropped, or scaled by 1 / (1 - 0.2)
    assert (first == 0).float().mean().item() == pytest.approx(0.2, abs=0.005)
    assert first.mean().item() == pytest.approx(1.0, abs=0.01)
    assert not torch.equal(first, second)  # a new mask for every batch
    huge = model(torch.ones(1, 3 << 19))  # larger than the pool: the pool grows
    assert (huge == 0).float().mean().item() == pytest.approx(0.2, abs=0.005)
    assert torch.equal(model.eval()(X), X.flatten(1))
    dropout.on_fit_end(None, model)
    assert torch.equal(model.train()(X), X.flatten(1))


def test_input_dropout_acts_on_training_steps_only_and_leaves_the_model_linear(data, tmp_path):
    config = TrainConfig(epochs=2, lr=0.5, batch_size=16, seed=4)
    for name in ("plain", "dropped"):
        (tmp_path / name).mkdir()
    plain = train_run(config, data, tmp_path / "plain", CPU)
    after_plain = torch.get_rng_state()
    dropped = train_run(config.replace(input_dropout=0.5), data, tmp_path / "dropped", CPU)
    assert torch.equal(torch.get_rng_state(), after_plain)  # the masks take nothing from torch's generator
    assert dropped.history[0]["train_loss"] != plain.history[0]["train_loss"]
    model, _ = load_model(tmp_path / "dropped")
    assert list(model.state_dict()) == list(load_model(tmp_path / "plain")[0].state_dict())
    # the recorded validation is the saved model's, on the unchanged pixels
    last = dropped.history[-1]
    assert Trainer(max_epochs=1).validate(model, data) == {"val_loss": last["val_loss"], "val_acc": last["val_acc"]}


def test_nesterov_without_momentum_is_refused():
    with pytest.raises(ConfigError, match="`nesterov` needs a positive `momentum`; got momentum 0."):
        TrainConfig(nesterov=True)
    with pytest.raises(ConfigError, match="`schedule` must be one of 'constant', 'cosine'; got 'step'."):
        TrainConfig(schedule="step")


@pytest.mark.real_data
def test_best_recipe_beats_the_seed_recipe_with_explicit_options_winning(real_data_dir, tmp_path):
    # torch's own thread count, as a user's run has: the guide's 4 decimals are what that prints (one
    # thread, as the rest of the suite trains, sums in another order and ends 0.0001 away)
    best = run_cli(
        "train", "--recipe", "best", "--quiet", "--out", str(tmp_path / "best"), "--data-dir", str(real_data_dir),
        env={"OMP_NUM_THREADS": None},
    )  # fmt: skip
    assert best.returncode == 0, best.stderr
    summary = json.loads((tmp_path / "best" / "summary.json").read_text())
    config = json.loads((tmp_path / "best" / "config.json").read_text())
    assert (config["epochs"], config["lr"], config["momentum"], config["schedule"]) == (20, 0.3, 0.9, "cosine")
    assert config["input_dropout"] == 0.05
    assert summary["val_acc"] >= 0.844  # the seed recipe: about 0.83 (tests/book/test_seed.py); best: 0.845-0.847
    guide = (SRC.parent / "docs" / "guide" / "cli.md").read_text(encoding="utf-8")
    (quoted,) = re.findall(r"Test accuracy is (0\.\d{4}) at\s+seed 0", guide)
    assert f"{summary['val_acc']:.4f}" == quoted  # what the command-line guide says seed 0 gives

    short = run_cli("train", "--recipe", "best", "--epochs", "1", "--input-dropout", "0", "--quiet",
                    "--out", str(tmp_path / "short"), "--data-dir", str(real_data_dir))  # fmt: skip
    assert short.returncode == 0, short.stderr
    config = json.loads((tmp_path / "short" / "config.json").read_text())
    assert (config["epochs"], config["lr"], config["nesterov"], config["input_dropout"]) == (1, 0.3, True, 0)


def test_unknown_recipe_is_one_line(tmp_path):
    result = run_cli("train", "--recipe", "fastest", cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice: 'fastest'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
