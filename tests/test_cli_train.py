"""`softmaxreg train` as users run it: a subprocess on the real data."""

import csv
import json

import pytest
from PIL import Image

from conftest import run_cli


@pytest.mark.real_data
def test_train_writes_a_complete_run_folder(real_data_dir, tmp_path):
    result = run_cli("train", "--epochs", "2", "--data-dir", str(real_data_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert f"run folder: runs/{run_dir.name}" in result.stdout or str(run_dir) in result.stdout
    assert "test accuracy 0.7" in result.stdout or "test accuracy 0.8" in result.stdout
    names = {p.name for p in run_dir.iterdir()}
    assert names == {"config.json", "metrics.csv", "summary.json", "model.json", "model.safetensors", "curves.png"}
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert set(rows[0]) == {"epoch", "train_loss", "val_loss", "val_acc", "seconds"}
    config = json.loads((run_dir / "config.json").read_text())
    assert config["lr"] == 0.1 and config["batch_size"] == 256 and "torch" in config["environment"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["val_acc"] == float(rows[-1]["val_acc"])
    with Image.open(run_dir / "curves.png") as image:
        low, high = image.convert("L").getextrema()
        assert image.size[0] > 200 and high - low > 100


def test_second_run_never_overwrites_the_first(real_data_dir, tmp_path):
    for _ in range(2):
        assert run_cli("train", "--epochs", "1", "--quiet", "--data-dir", str(real_data_dir), cwd=tmp_path).returncode == 0
    assert len(list((tmp_path / "runs").iterdir())) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "-1"], "argument --lr: must be a positive number; got -1"),
        (["--batch-size", "0"], "argument --batch-size: must be a positive integer; got 0"),
        (["--epochs", "ten"], "argument --epochs: must be a positive integer; got 'ten'"),
        (["--device", "tpu"], "`device` must be one of auto, cpu, cuda, mps; got 'tpu'."),
    ],
)
def test_bad_options_one_line_exit_2(tmp_path, args, message):
    result = run_cli("train", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()


def test_no_data_is_one_clear_line(tmp_path):
    result = run_cli(
        "train", "--offline", cwd=tmp_path,
        env={"SOFTMAXREG_SYSTEM_DATA": str(tmp_path / "none"), "XDG_CACHE_HOME": str(tmp_path / "c")},
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("softmaxreg: error: Fashion-MNIST was not found.")
    assert not (tmp_path / "runs").exists()
