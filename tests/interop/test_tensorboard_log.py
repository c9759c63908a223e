"""TensorBoard event files, read back with TensorBoard's own reader and compared with metrics.csv."""

import csv
import json
import shutil
import sys

import pytest

import softmaxreg as d2l
from softmaxreg.errors import MissingExtraError

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer  # noqa: E402
from tensorboard.plugins.hparams import metadata as hparams_metadata  # noqa: E402

EPOCH_TAGS = ("epoch/train_loss", "epoch/val_loss", "epoch/val_acc", "epoch/seconds")
STEPS_PER_EPOCH = 6  # 96 synthetic training images in batches of 16; board windows close at steps 3 and 6


def events(folder):
    """{tag: [(step, value), ...]} of every scalar in ``folder``, duplicates and all (no purging)."""
    reader = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0}, purge_orphaned_data=False)
    reader.Reload()
    return {tag: [(e.step, e.value) for e in reader.Scalars(tag)] for tag in reader.Tags()["scalars"]}


def hparams(folder):
    """The hyperparameters TensorBoard's HParams tab shows for the run in ``folder``."""
    reader = EventAccumulator(str(folder))
    reader.Reload()
    (content,) = reader.PluginTagToContent("hparams").values()
    start = hparams_metadata.parse_session_start_info_plugin_data(content)
    return {k: v.number_value if v.HasField("number_value") else v.string_value for k, v in start.hparams.items()}


def count_hparams_events(folder):
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    return sum(
        value.tag == hparams_metadata.SESSION_START_INFO_TAG
        for path in folder.glob("events.out.tfevents.*")
        for event in EventFileLoader(str(path)).Load()
        for value in event.summary.value
    )


def metrics_rows(run_dir):
    with (run_dir / "metrics.csv").open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def board_train_loss(run_dir):
    """The board's train loss points the run folder recorded (curves.png's line), from resume.json."""
    return [y for _, y in json.loads((run_dir / "resume.json").read_text())["board"]["train_loss"]]


def assert_events_match_the_run_folder(run_dir):
    rows, found = metrics_rows(run_dir), events(run_dir)
    epochs = [int(row["epoch"]) for row in rows]
    for tag in EPOCH_TAGS:
        column = tag.removeprefix("epoch/")
        assert [step for step, _ in found[tag]] == epochs, tag  # each epoch once, in order
        assert [value for _, value in found[tag]] == pytest.approx([row[column] for row in rows], rel=1e-6), tag
    windows = [(e - 1) * STEPS_PER_EPOCH + end for e in epochs for end in (3, 6)]
    assert [step for step, _ in found["step/train_loss"]] == windows
    assert [v for _, v in found["step/train_loss"]] == pytest.approx(board_train_loss(run_dir), rel=1e-6)


def train(cli, fake_fashion, out, *extra):
    code, _, err = cli("train", "--batch-size", "16", "--data-dir", fake_fashion, "--quiet", *extra, *out)
    assert code == 0, err


def test_train_tensorboard_writes_metrics_csv_board_windows_and_hyperparameters(fake_fashion, tmp_path, cli_in_process):
    run_dir = tmp_path / "run"
    train(cli_in_process, fake_fashion, ["--out", run_dir], "--epochs", "3", "--lr", "0.2", "--tensorboard")
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1
    assert_events_match_the_run_folder(run_dir)
    assert {k: hparams(run_dir)[k] for k in ("lr", "batch_size", "epochs", "model")} == {
        "lr": 0.2, "batch_size": 16, "epochs": 3, "model": "concise"
    }  # fmt: skip


def test_a_resume_after_a_kill_between_events_and_checkpoint_repeats_no_step(fake_fashion, tmp_path, cli_in_process):
    run_dir, saved = tmp_path / "run", tmp_path / "epoch-2"
    train(cli_in_process, fake_fashion, ["--out", run_dir], "--epochs", "2", "--tensorboard")
    shutil.copytree(run_dir, saved)
    train(cli_in_process, fake_fashion, ["--resume", run_dir], "--epochs", "3", "--tensorboard")
    # Killed after epoch 3's events were written, before its checkpoint, in the middle of a record:
    for name in ("metrics.csv", "summary.json", "model.json", "model.safetensors", "resume.json", "resume.safetensors"):
        shutil.copy(saved / name, run_dir / name)
    last = sorted(run_dir.glob("events.out.tfevents.*"))[-1]
    last.write_bytes(last.read_bytes() + b"\x30\x00\x00\x00\x00\x00\x00\x00half a record")
    assert [step for step, _ in events(run_dir)["epoch/val_loss"]] == [1, 2, 3]

    train(cli_in_process, fake_fashion, ["--resume", run_dir], "--epochs", "4", "--tensorboard")
    assert [int(row["epoch"]) for row in metrics_rows(run_dir)] == [1, 2, 3, 4]
    assert_events_match_the_run_folder(run_dir)  # epoch 3 once, with the values metrics.csv keeps
    assert hparams(run_dir)["epochs"] == 4 and count_hparams_events(run_dir) == 1  # the resumed run's settings, once


def test_a_sweep_writes_one_tensorboard_run_per_learning_rate(fake_fashion, tmp_path, cli_in_process):
    sweep = tmp_path / "sweep"
    code, _, err = cli_in_process("sweep", "--lr", "0.05", "0.5", "--epochs", "2", "--batch-size", "16",
                                  "--data-dir", fake_fashion, "--quiet", "--out", sweep, "--tensorboard")  # fmt: skip
    assert code == 0, err
    board = EventMultiplexer().AddRunsFromDirectory(str(sweep))  # what `tensorboard --logdir SWEEP` reads
    board.Reload()
    assert sorted(board.Runs()) == ["lr-0.05", "lr-0.5"]
    for lr in ("0.05", "0.5"):
        assert_events_match_the_run_folder(sweep / f"lr-{lr}")
        assert hparams(sweep / f"lr-{lr}")["lr"] == float(lr)


def test_the_trainer_option_logs_the_book_model(fake_fashion, tmp_path):
    class Model(d2l.SoftmaxRegression):  # hyperparameters of its own, as the book's models have
        def __init__(self, num_outputs, lr, note="book"):
            super().__init__(num_outputs, lr)
            self.save_hyperparameters()

    class Checkpoint:  # a callback after the logger sees the epoch's events on disk already
        seen = []

        def on_epoch_end(self, trainer, model, metrics):
            self.seen.append([step for step, _ in events(tmp_path / "logs").get("epoch/val_acc", [])])

    data = d2l.FashionMNIST(batch_size=16, root=fake_fashion)
    model = Model(num_outputs=10, lr=0.1)
    trainer = d2l.Trainer(max_epochs=2, callbacks=[Checkpoint()], tensorboard=tmp_path / "logs")
    trainer.fit(model, data)
    assert Checkpoint.seen == [[1], [1, 2]]
    found = events(tmp_path / "logs")
    assert found["epoch/val_acc"] == [(e["epoch"], pytest.approx(e["val_acc"])) for e in trainer.history]
    assert [v for _, v in found["step/train_loss"]] == pytest.approx([y for _, y in model.board.data["train_loss"]])
    assert [s for s, _ in found["step/train_loss"]] == [3, 6, 9, 12]
    assert {k: hparams(tmp_path / "logs")[k] for k in ("lr", "note", "max_epochs")} == {
        "lr": 0.1, "note": "book", "max_epochs": 2
    }  # fmt: skip

    trainer.fit(Model(num_outputs=10, lr=0.1), data)  # a second fit replaces the folder's events
    assert [s for s, _ in events(tmp_path / "logs")["epoch/val_acc"]] == [1, 2]


def test_without_the_extra_tensorboard_is_one_line_and_no_run_folder(fake_fashion, tmp_path, monkeypatch, capsys):
    from softmaxreg.commands.cli import main

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if not installed
    with pytest.raises(SystemExit) as stop:  # a usage error, found while parsing, before anything is done
        main(["train", "--data-dir", str(fake_fashion), "--out", str(tmp_path / "run"), "--tensorboard"])
    out, err = capsys.readouterr()
    assert (stop.value.code, out) == (2, "")
    assert err == (
        "softmaxreg train: error: `--tensorboard` needs the package tensorboard, which is not installed. "
        'Install it with: pip install "softmaxreg[tensorboard]" (see softmaxreg train --help)\n'
    )
    assert not (tmp_path / "run").exists()
    with pytest.raises(MissingExtraError, match=r'pip install "softmaxreg\[tensorboard\]"'):
        d2l.Trainer(max_epochs=1, tensorboard=tmp_path / "logs")
