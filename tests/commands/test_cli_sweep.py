"""`softmaxreg sweep --lr ...`: one run folder per learning rate, an overlay plot and a table."""

import csv

import pytest
from conftest import check_png, run_cli

pytestmark = pytest.mark.real_data


def test_sweep_trains_one_run_per_learning_rate(real_data_dir, tmp_path):
    args = ("--lr", "0.05", "0.5", "--epochs", "2", "--batch-size", "1024", "--quiet", "--out", "sw")
    result = run_cli("sweep", *args, "--data-dir", str(real_data_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sweep = tmp_path / "sw"
    assert {p.name for p in sweep.iterdir()} == {"lr-0.05", "lr-0.5", "sweep.png", "sweep.csv", ".lock"}
    with (sweep / "sweep.csv").open() as f:
        table = list(csv.DictReader(f))
    assert [row["lr"] for row in table] == ["0.05", "0.5"]
    for row in table:
        run = sweep / f"lr-{row['lr']}"
        with (run / "metrics.csv").open() as f:
            epochs = list(csv.DictReader(f))
        last = epochs[-1]
        assert (row["epochs"], row["val_acc"], row["val_loss"]) == ("2", last["val_acc"], last["val_loss"])
        # the val_acc of the lowest-val_loss epoch, named for what it is (not the best val_acc)
        best = min(epochs, key=lambda e: float(e["val_loss"]))
        assert (row["best_epoch"], row["best_epoch_val_acc"]) == (best["epoch"], best["val_acc"])
        assert (run / "model.safetensors").is_file()
    check_png(sweep / "sweep.png", min_size=(1000, 100))
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["lr", "epochs", "train_loss", "val_loss", "val_acc", "best_epoch", "best_epoch_val_acc",
                                "seconds"]  # fmt: skip
    assert [line.split()[0] for line in lines[1:3]] == ["0.05", "0.5"]
    assert lines[-1].startswith("sweep folder: sw")


def test_sweep_needs_distinct_positive_rates(tmp_path):
    negative = run_cli("sweep", "--lr", "0.1", "-1", cwd=tmp_path)
    assert negative.returncode == 2 and "argument --lr: must be a positive number; got -1" in negative.stderr
    twice = run_cli("sweep", "--lr", "0.1", "0.1", cwd=tmp_path)
    assert twice.returncode == 2 and "`--lr` must list different learning rates; got 0.1 0.1." in twice.stderr
    assert not (tmp_path / "runs").exists()
