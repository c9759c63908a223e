"""`softmaxreg evaluate RUN_DIR` on a real run: the report and the three figures (JSON: test_cli_train.py)."""

import csv
import shutil

import pytest
from conftest import check_png, run_cli

pytestmark = pytest.mark.real_data

FIGURES = ("confusion_matrix.png", "mistakes.png", "weights.png")


def test_evaluate_reports_and_draws_in_vietnamese(trained_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run.dir, run_dir)
    result = run_cli("evaluate", "run", "--lang", "vi", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()

    with (run_dir / "metrics.csv").open() as f:
        last = list(csv.DictReader(f))[-1]
    assert lines[0].startswith(f"test accuracy {float(last['val_acc']):.4f} (10,000 images), loss ")
    assert lines[0].endswith("model of epoch 3")
    assert lines[1].split() == ["class", "precision", "recall", "f1", "support"]
    names = [line[: line.index("  ")] for line in lines[2:12]]
    assert names == ["áo phông", "quần dài", "áo len chui đầu", "váy", "áo khoác",
                     "dép xăng-đan", "áo sơ mi", "giày thể thao", "túi xách", "bốt cổ ngắn"]  # fmt: skip
    assert all(line.split()[-1] == "1000" for line in lines[2:12])
    assert lines[12].startswith("macro avg") and lines[12].split()[-1] == "10000"
    assert lines[13] == "figures: " + ", ".join(f"run/{name}" for name in FIGURES)
    for name in FIGURES:
        check_png(run_dir / name, min_size=(600, 100))


def test_evaluate_a_missing_run_folder_is_one_line(tmp_path):
    result = run_cli("evaluate", "nowhere", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "softmaxreg: error: Expected a run folder at nowhere; it does not exist. "
        "Pass a folder made by `softmaxreg train`.\n"
    )
