"""`load_test_split`: a run's own test split, read again from the source its run folder records."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import synthetic_arrays
from own_data_helpers import feature_csv, make_folder
from PIL import Image

from softmaxreg.errors import DataError
from softmaxreg.runs.rundata import load_test_split


def test_a_fashion_mnist_run_gives_its_test_images(fake_fashion, tmp_path, cli_in_process):
    run = tmp_path / "run"
    code, _, err = cli_in_process("train", "--epochs", "1", "--data-dir", fake_fashion, "--out", run, "--quiet")
    assert code == 0, err
    x, y, names = load_test_split(run)
    expected = synthetic_arrays()
    assert x.shape == (40, 1, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.array_equal(x[:, 0], expected["test_images"]) and np.array_equal(y, expected["test_labels"])
    assert names[0] == "t-shirt"


def test_an_image_folder_run_gives_the_files_of_its_split(tmp_path, cli_in_process):
    shapes = make_folder(tmp_path / "shapes", per_class=10, mode="RGB")
    run = tmp_path / "run"
    assert cli_in_process("train", "--data", shapes, "--epochs", "1", "--out", run, "--quiet")[0] == 0
    x, y, names = load_test_split(run)
    test_files = json.loads((run / "split.json").read_text())["test"]
    assert names == ("circle", "square", "stripe") and x.shape == (len(test_files), 3, 12, 12)
    first = np.asarray(Image.open(shapes / test_files[0])).transpose(2, 0, 1)
    assert np.array_equal(x[0], first) and names[y[0]] == test_files[0].split("/")[0]
    (shapes / test_files[0]).unlink()
    with pytest.raises(DataError, match="which the run's split \\(split.json\\) names; it does not"):
        load_test_split(run)


def test_a_table_run_gives_raw_features(tmp_path, cli_in_process):
    table = feature_csv(tmp_path / "t.csv")
    run = tmp_path / "run"
    assert cli_in_process("train", "--data", table, "--epochs", "1", "--out", run, "--quiet")[0] == 0
    x, y, names = load_test_split(run)
    assert x.dtype == np.float32 and x.shape == (18, 4) and names == ("setosa", "versicolor", "virginica")
    assert x[:, 2].std() > 10  # raw: not standardised
