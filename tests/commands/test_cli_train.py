"""`softmaxreg train` as users run it: subprocesses on the real data."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import SRC, check_png, run_cli

pytestmark = pytest.mark.real_data

RUN_FILES = {
    "config.json", "metrics.csv", "summary.json", "model.json", "model.safetensors", "curves.png",
    "resume.json", "resume.safetensors", ".lock",  # .lock: the run's claim on its folder (softmaxreg.runs.lock)
}  # fmt: skip


def rows(run_dir):
    with (run_dir / "metrics.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def without_seconds(table):
    """Every column but the wall-clock one, which is the only thing allowed to differ between runs."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in table]


def read_json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_train_writes_a_complete_run_folder(trained_run):
    run_dir = trained_run.dir
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES
    lines = trained_run.stdout.splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["1/3", "2/3", "3/3"]  # one line per epoch
    assert lines[-2].startswith(("test accuracy 0.7", "test accuracy 0.8")) and "(10,000 images)" in lines[-2]
    assert lines[-1] == f"run folder: runs/{run_dir.name}"
    assert run_dir.parent.name == "runs" and run_dir.name[:2] == "20"  # runs/<timestamp> by default

    with (run_dir / "metrics.csv").open() as f:
        assert f.readline().strip() == "epoch,train_loss,val_loss,val_acc,seconds"
    table = rows(run_dir)
    assert [r["epoch"] for r in table] == ["1", "2", "3"]
    assert all(0 < float(r["train_loss"]) < 2 and 0.6 < float(r["val_acc"]) < 1 for r in table)

    config = read_json(run_dir / "config.json")
    expected = {"epochs": 3, "lr": 0.1, "batch_size": 256, "model": "concise", "weight_decay": 0.0, "seed": 0,
                "early_stopping": None, "input_dropout": 0.0, "device": "cpu", "device_used": "cpu", "lang": "en",
                "offline": False}  # fmt: skip
    assert {k: config[k] for k in expected} == expected
    assert {"softmaxreg", "torch", "numpy", "python"} <= set(config["environment"])

    summary = read_json(run_dir / "summary.json")
    assert summary["val_loss"] == float(table[-1]["val_loss"]) and summary["val_acc"] == float(table[-1]["val_acc"])
    assert summary["best_epoch"] == min(range(1, 4), key=lambda e: float(table[e - 1]["val_loss"]))
    assert summary["total_seconds"] == pytest.approx(sum(float(r["seconds"]) for r in table))
    assert summary["model_epoch"] == 3 and not summary["interrupted"] and not summary["stopped_early"]

    model = read_json(run_dir / "model.json")
    assert model["class_names"][:2] == ["t-shirt", "trouser"] and model["input_shape"] == [1, 28, 28]
    assert model["epoch"] == 3 and "preprocessing" in model
    assert (run_dir / "model.safetensors").read_bytes()[8:9] == b"{"  # safetensors: JSON header, no pickle
    check_png(run_dir / "curves.png", min_size=(200, 100))


@pytest.fixture(scope="module")
def second_run(trained_run):
    """``softmaxreg train --epochs 2 --quiet`` where `trained_run` ran: same seed, same data, same device."""
    before = (trained_run.dir / "metrics.csv").read_bytes()
    result = run_cli(
        "train", "--epochs", "2", "--quiet", "--data-dir", str(trained_run.real_data_dir), cwd=trained_run.cwd
    )
    assert result.returncode == 0, result.stderr
    (run_dir,) = set((trained_run.cwd / "runs").iterdir()) - {trained_run.dir}
    return run_dir, result, before


def test_second_run_never_overwrites_the_first(trained_run, second_run):
    run_dir, result, before = second_run
    assert result.stdout.splitlines()[-1] == f"run folder: runs/{run_dir.name}"
    assert result.stdout.count("\n") == 2  # quiet: the test accuracy and the folder only
    assert (trained_run.dir / "metrics.csv").read_bytes() == before


def test_same_seed_same_data_same_device_same_metrics(trained_run, second_run):
    run_dir = second_run[0]
    # another process, another run length: every number but the wall-clock seconds is identical
    assert without_seconds(rows(run_dir)) == without_seconds(rows(trained_run.dir))[:2]


def test_resume_continues_as_if_never_stopped(trained_run, real_data_dir, tmp_path):
    first = run_cli("train", "--epochs", "1", "--out", "r", "--data-dir", str(real_data_dir), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run_cli("train", "--resume", "r", "--epochs", "3", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "resuming r at epoch 2/3" in second.stdout
    assert without_seconds(rows(tmp_path / "r")) == without_seconds(rows(trained_run.dir))
    model = (tmp_path / "r" / "model.safetensors").read_bytes()
    assert model == (trained_run.dir / "model.safetensors").read_bytes()


def test_resume_refuses_what_would_change_the_run(trained_run, tmp_path):
    done = run_cli("train", "--resume", str(trained_run.dir), cwd=tmp_path)
    assert done.returncode == 2
    assert "has already trained 3 of its 3 epochs; pass --epochs N with N > 3" in done.stderr
    changed = run_cli("train", "--resume", str(trained_run.dir), "--epochs", "5", "--lr", "0.5", cwd=tmp_path)
    assert changed.returncode == 2 and "`--lr` cannot change when resuming: the run used 0.1, not 0.5" in changed.stderr
    dropout = run_cli(
        "train", "--resume", str(trained_run.dir), "--epochs", "5", "--input-dropout", "0.1", cwd=tmp_path
    )
    assert dropout.returncode == 2
    assert "`--input-dropout` cannot change when resuming: the run used 0.0, not 0.1" in dropout.stderr
    missing = run_cli("train", "--resume", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 2 and "Expected a run folder at" in missing.stderr
    assert all(
        "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1 for r in (done, changed, dropout, missing)
    )


def test_early_stopping_keeps_the_best_epoch(real_data_dir, tmp_path):
    # lr 3 makes SGD overshoot: val_loss rises within a few epochs (§4.5 exercise 3, in fast motion)
    args = ("--epochs", "8", "--lr", "3", "--early-stopping", "1", "--out", "es", "--data-dir", str(real_data_dir))
    result = run_cli("train", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = rows(tmp_path / "es")
    losses = [float(r["val_loss"]) for r in table]
    best = losses.index(min(losses)) + 1
    assert len(table) == best + 1 < 8  # stopped one epoch (the patience) after the best
    summary = read_json(tmp_path / "es" / "summary.json")
    assert (summary["best_epoch"], summary["model_epoch"], summary["stopped_early"]) == (best, best, True)
    assert read_json(tmp_path / "es" / "model.json")["epoch"] == best
    assert f"kept the model of epoch {best}" in result.stdout

    evaluated = run_cli("evaluate", "es", "--json", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["model_epoch"] == best
    assert report["accuracy"] == pytest.approx(float(table[best - 1]["val_acc"]), abs=1e-9)
    assert report["accuracy"] != pytest.approx(float(table[-1]["val_acc"]), abs=1e-9)  # not the last epoch's model
    assert report["loss"] == pytest.approx(float(table[best - 1]["val_loss"]), rel=1e-5)
    check_evaluation_report(report)


def check_evaluation_report(report):
    """`evaluate --json`: the confusion matrix, and per-class scores that agree with it."""
    cm = report["confusion_matrix"]
    assert report["num_examples"] == 10_000 and [sum(row) for row in cm] == [1000] * 10
    assert sum(cm[i][i] for i in range(10)) == round(report["accuracy"] * 10_000)
    classes = report["classes"]
    assert [c["class"] for c in classes][:2] == ["t-shirt", "trouser"]
    for k, c in enumerate(classes):
        assert c["recall"] == pytest.approx(cm[k][k] / 1000)
        assert c["precision"] == pytest.approx(cm[k][k] / max(sum(row[k] for row in cm), 1))
        assert c["support"] == 1000
    assert report["macro_avg"]["recall"] == pytest.approx(report["accuracy"])  # balanced classes
    assert sorted(report["figures"]) == ["es/confusion_matrix.png", "es/mistakes.png", "es/weights.png"]


def test_ctrl_c_keeps_completed_epochs_and_says_how_to_resume(real_data_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [
        sys.executable,
        "-m",
        "softmaxreg",
        "train",
        "--epochs",
        "500",
        "--out",
        "run",
        "--data-dir",
        str(real_data_dir),
    ]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    metrics = tmp_path / "run" / "metrics.csv"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 2) and process.poll() is None:
        assert time.monotonic() < deadline, "no epoch finished in 120 s"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    done = len(rows(tmp_path / "run"))
    assert 1 <= done < 500
    kept = f"epochs 1-{done}" if done > 1 else "epoch 1"
    assert f"interrupted during epoch {done + 1}; run keeps {kept} (metrics and checkpoints)." in stderr
    assert "Resume with: softmaxreg train --resume run" in stderr
    assert read_json(tmp_path / "run" / "resume.json")["epoch"] == done
    assert read_json(tmp_path / "run" / "model.json")["epoch"] == done
    summary = read_json(tmp_path / "run" / "summary.json")
    assert summary["epochs"] == done and summary["interrupted"] is True
    check_png(tmp_path / "run" / "curves.png", min_size=(200, 100))  # resuming after Ctrl-C: see test_training.py


def test_ctrl_c_before_the_first_epoch_leaves_no_folder(real_data_dir, tmp_path):
    """A run stopped before its first epoch kept nothing: its folder goes, and the same --out runs again."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [
        sys.executable,
        "-m",
        "softmaxreg",
        "train",
        "--epochs",
        "1",
        "--batch-size",
        "1",
        "--out",
        "run",
        "--data-dir",
        str(real_data_dir),
    ]  # fmt: skip  (60,000 steps: the epoch cannot end first)
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not (tmp_path / "run" / "config.json").exists() and process.poll() is None:
        assert time.monotonic() < deadline, "no run folder in 120 s"
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == (
        "softmaxreg: interrupted before the first epoch ended; nothing was kept, so run was removed."
    )
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "-1"], "argument --lr: must be a positive number; got -1"),
        (["--batch-size", "0"], "argument --batch-size: must be a positive integer; got 0"),
        (["--epochs", "ten"], "argument --epochs: must be a positive integer; got 'ten'"),
        (["--early-stopping", "0"], "argument --early-stopping: must be a positive integer; got 0"),
        (["--weight-decay", "-0.1"], "argument --weight-decay: must be a non-negative number; got -0.1"),
        (["--input-dropout", "1"], "argument --input-dropout: must be a probability in [0, 1); got 1"),
        (["--input-dropout", "half"], "argument --input-dropout: must be a probability in [0, 1); got 'half'"),
        (["--model", "mlp"], "argument --model: invalid choice: 'mlp'"),
        (["--device", "tpu"], "`device` must be one of auto, cpu, cuda, mps; got 'tpu'."),
        (["--device", "meta"], "`device` must be one of auto, cpu, cuda, mps; got 'meta'."),  # torch knows these two
        (["--device", "xpu", "--out", "x"], "`device` must be one of auto, cpu, cuda, mps; got 'xpu'."),
        (
            ["--seed", str(2**64), "--out", "x"],  # torch's generator takes 0 ... 2**64 - 1
            "argument --seed: must be an integer from 0 to 18,446,744,073,709,551,615 (2**64 - 1); "
            "got 18446744073709551616",
        ),
    ],
)
def test_bad_options_one_line_exit_2(tmp_path, args, message):
    result = run_cli("train", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "x").exists()


def test_out_must_be_new_or_empty(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    result = run_cli("train", "--out", "taken", cwd=tmp_path)
    assert result.returncode == 2
    assert "`--out` must be a new or empty folder; taken already exists and holds files." in result.stderr
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_no_data_is_one_clear_line(tmp_path):
    result = run_cli(
        "train", "--offline", cwd=tmp_path,
        env={"SOFTMAXREG_SYSTEM_DATA": str(tmp_path / "none"), "XDG_CACHE_HOME": str(tmp_path / "c")},
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("softmaxreg: error: Fashion-MNIST was not found.")
    assert not (tmp_path / "runs").exists()
