import pytest
import torch
from torch import nn

import softmaxreg as d2l
from softmaxreg.book.data import TensorLoader
from softmaxreg.errors import ConfigError


class ToyData(d2l.DataModule):
    """40 training and 13 validation examples of a 3-class problem in 4 features."""

    def __init__(self, batch_size=8, num_val=13):
        self.save_hyperparameters()
        g = torch.Generator().manual_seed(0)
        self.X = torch.randn(40 + num_val, 4, generator=g)
        self.y = self.X[:, :3].argmax(1)

    def get_dataloader(self, train):
        i = slice(0, 40) if train else slice(40, None)
        return self.get_tensorloader((self.X, self.y), train, i)


class Recording(d2l.Classifier):
    """A classifier that logs every call the Trainer makes into it."""

    def __init__(self, calls):
        super().__init__()
        self.calls = calls
        self.lr = 0.1
        self.net = nn.Linear(4, 3)

    def configure_optimizers(self):
        self.calls.append("configure_optimizers")
        return super().configure_optimizers()

    def training_step(self, batch):
        self.calls.append(f"training_step({len(batch[0])})")
        return super().training_step(batch)

    def validation_step(self, batch):
        self.calls.append(f"validation_step({len(batch[0])})")
        return super().validation_step(batch)


def test_call_order_of_one_small_fit():
    calls = []

    class Callback:
        def on_fit_start(self, trainer, model):
            calls.append("on_fit_start")

        def on_train_start(self, trainer, model):
            calls.append("on_train_start")

        def on_epoch_end(self, trainer, model, metrics):
            calls.append(f"on_epoch_end({metrics['epoch']})")

        def on_fit_end(self, trainer, model):
            calls.append("on_fit_end")

    model = Recording(calls)
    trainer = d2l.Trainer(max_epochs=2, callbacks=[Callback()])
    trainer.fit(model, ToyData(batch_size=16))
    epoch = ["training_step(16)", "training_step(16)", "training_step(8)", "validation_step(13)"]
    assert calls == ["configure_optimizers", "on_fit_start", "on_train_start", *epoch, "on_epoch_end(1)", *epoch,
                     "on_epoch_end(2)", "on_fit_end"]  # fmt: skip
    assert model.trainer is trainer and trainer.model is model
    assert (trainer.train_batch_idx, trainer.val_batch_idx, trainer.epoch) == (6, 2, 1)
    assert (trainer.num_train_batches, trainer.num_val_batches) == (3, 1)
    assert model.board.xlim == [0, 2]


def test_replaced_classifier_loss_is_used():
    used = []

    @d2l.add_to_class(d2l.Classifier)
    def loss(self, Y_hat, Y, averaged=True):
        used.append(averaged)
        return nn.functional.cross_entropy(Y_hat, Y, reduction="mean" if averaged else "none")

    d2l.Trainer(max_epochs=1).fit(Recording([]), ToyData())
    assert len(used) == 5 + 2  # 5 training batches of 8, 2 validation batches (8 + 5)


def test_history_is_the_exact_weighted_epoch_mean():
    model, data = Recording([]), ToyData(batch_size=16)
    trainer = d2l.Trainer(max_epochs=1)
    trainer.fit(model, data)
    row = trainer.history[0]
    assert set(row) == {"epoch", "train_loss", "val_loss", "val_acc", "seconds"}
    with torch.no_grad():
        logits = model(data.X[40:])
        expected_acc = (logits.argmax(1) == data.y[40:]).float().mean().item()
        expected_loss = nn.functional.cross_entropy(logits, data.y[40:]).item()
    assert row["val_acc"] == pytest.approx(expected_acc, abs=1e-7)
    assert row["val_loss"] == pytest.approx(expected_loss, rel=1e-6)


@pytest.mark.parametrize("batch_size", [1, 7, 13, 256])
def test_validation_metrics_do_not_depend_on_batch_size(batch_size):
    data = ToyData()
    model = Recording([])
    with torch.no_grad():
        logits = model(data.X[40:])
    loader = TensorLoader((data.X[40:], data.y[40:]), batch_size=batch_size)
    metrics = d2l.Trainer(max_epochs=0).validate(model, dataloader=loader)
    assert metrics["val_acc"] == pytest.approx((logits.argmax(1) == data.y[40:]).float().mean().item(), abs=1e-7)
    assert metrics["val_loss"] == pytest.approx(nn.functional.cross_entropy(logits, data.y[40:]).item(), rel=1e-6)


def test_board_gets_few_points_not_one_per_batch():
    model = Recording([])
    d2l.Trainer(max_epochs=3).fit(model, ToyData(batch_size=4))  # 10 training batches per epoch
    assert len(model.board.data["train_loss"]) == 6  # plot_train_per_epoch=2
    assert [x for x, _ in model.board.data["val_acc"]] == [1.0, 2.0, 3.0]


def test_book_style_replaced_fit_epoch_and_prepare_batch():
    """§3.4 replaces both; the Trainer still records epochs through model.plot."""
    seen = []

    @d2l.add_to_class(d2l.Trainer)
    def prepare_batch(self, batch):
        seen.append(len(batch[0]))
        return batch

    @d2l.add_to_class(d2l.Trainer)
    def fit_epoch(self):
        self.model.train()
        for batch in self.train_dataloader:
            loss = self.model.training_step(self.prepare_batch(batch))
            self.optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                if self.gradient_clip_val > 0:
                    self.clip_gradients(self.gradient_clip_val, self.model)
                self.optim.step()
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        self.model.eval()
        for batch in self.val_dataloader:
            with torch.no_grad():
                self.model.validation_step(self.prepare_batch(batch))
            self.val_batch_idx += 1

    trainer = d2l.Trainer(max_epochs=2, gradient_clip_val=1.0)
    trainer.fit(Recording([]), ToyData(batch_size=20))
    assert seen == [20, 20, 13, 20, 20, 13]
    assert [row["epoch"] for row in trainer.history] == [1, 2]


def test_one_trainer_reused_for_several_models():
    trainer, data = d2l.Trainer(max_epochs=1), ToyData()
    first, second = Recording([]), Recording([])
    trainer.fit(first, data)
    trainer.fit(second, data)
    assert trainer.model is second and len(trainer.history) == 1 and trainer.train_batch_idx == 5


def test_training_reduces_the_loss():
    trainer = d2l.Trainer(max_epochs=8)
    trainer.fit(Recording([]), ToyData())
    assert trainer.history[-1]["train_loss"] < 0.7 * trainer.history[0]["train_loss"]


def test_gradient_clipping_bounds_the_update():
    model = Recording([])
    model.lr = 1.0
    before = [p.detach().clone() for p in model.parameters()]
    trainer = d2l.Trainer(max_epochs=1, gradient_clip_val=1e-3)
    data = ToyData(batch_size=40)
    trainer.fit(model, data)
    step = torch.sqrt(sum(((p - b) ** 2).sum() for p, b in zip(model.parameters(), before, strict=True)))
    assert step <= 1e-3 * 1.0001


def test_should_stop_ends_after_the_epoch_and_interrupt_drops_the_partial_epoch():
    class StopAfterFirst:
        def on_epoch_end(self, trainer, model, metrics):
            trainer.should_stop = True

    trainer = d2l.Trainer(max_epochs=5, callbacks=[StopAfterFirst()])
    trainer.fit(Recording([]), ToyData())
    assert len(trainer.history) == 1

    class InterruptMidEpoch:
        def on_train_batch_end(self, trainer, model, loss):
            if trainer.epoch == 1 and trainer.train_batch_idx == 7:
                trainer.interrupted = True

    trainer = d2l.Trainer(max_epochs=5, callbacks=[InterruptMidEpoch()])
    trainer.fit(Recording([]), ToyData())
    assert [row["epoch"] for row in trainer.history] == [1]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_epochs": -1}, "`max_epochs` must be a non-negative integer; got -1."),
    ({"max_epochs": 1, "gradient_clip_val": -2}, "`gradient_clip_val` must be a non-negative number; got -2."),
    ({"max_epochs": 1, "device": "tpu"}, "`device` must be one of auto, cpu, cuda, mps; got 'tpu'."),
    ({"max_epochs": 1, "device": "meta"}, "`device` must be one of auto, cpu, cuda, mps; got 'meta'."),
])  # fmt: skip
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        d2l.Trainer(**kwargs)


def test_num_gpus_falls_back_to_cpu_like_d2l():
    if d2l.num_gpus():
        pytest.skip("this machine has a GPU")
    assert d2l.Trainer(max_epochs=1, num_gpus=1).device == d2l.cpu()


class ValidateMidEpoch:
    """A callback that calls ``trainer.validate`` in the middle of every epoch (as a user's might)."""

    def __init__(self, data):
        self.data, self.results = data, []

    def on_train_batch_end(self, trainer, model, loss):
        if trainer.train_batch_idx % trainer.num_train_batches == 3:
            self.results.append(trainer.validate(model, self.data))


def _fit(model_class, data, callbacks=()):
    torch.manual_seed(0)
    model, trainer = model_class([]), d2l.Trainer(max_epochs=2, callbacks=callbacks)
    trainer.fit(model, data)
    return model, trainer


def test_validate_called_during_fit_leaves_fits_recording_alone():
    data = ToyData(batch_size=4)  # 10 training batches per epoch
    callback = ValidateMidEpoch(data)
    (plain, expected), (probed, trainer) = _fit(Recording, data), _fit(Recording, data, [callback])
    assert len(callback.results) == 2 and set(callback.results[0]) == {"val_loss", "val_acc"}
    assert probed.board.data == plain.board.data  # the board kept getting its points
    strip = lambda rows: [{k: v for k, v in row.items() if k != "seconds"} for row in rows]  # noqa: E731
    assert strip(trainer.history) == strip(expected.history)


class TurnsNaN(Recording):
    """Its 5th step makes the weights NaN (so the 6th loss it reports is NaN)."""

    def training_step(self, batch):
        loss = super().training_step(batch)
        return loss * float("nan") if self.trainer.train_batch_idx >= 4 else loss


def test_validate_called_during_fit_keeps_the_divergence_check():
    data = ToyData(batch_size=4)
    with pytest.raises(
        d2l.TrainingDivergedError, match="Expected a finite training loss; got nan at epoch 1, batch 6 "
    ):
        _fit(TurnsNaN, data, [ValidateMidEpoch(data)])
