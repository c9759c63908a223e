"""Tables: CSV, Parquet and .npz of features or pixels; the split; and bad data, one line each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from own_data_helpers import blobs, feature_csv, write_csv

from softmaxreg.datasets.own import DataOptions, load_source
from softmaxreg.datasets.tables import MAX_COLUMNS
from softmaxreg.errors import DataError

pa = pytest.importorskip("pyarrow")


def test_a_csv_of_features_keeps_the_names_and_holds_out_a_stratified_fifth(tmp_path):
    data = load_source(feature_csv(tmp_path / "t.csv"))
    assert data.kind == "features" and data.feature_names == ("a", "b", "c", "d")
    assert data.class_names == ("setosa", "versicolor", "virginica")
    assert data.train_x.dtype == np.float32 and data.train_x.shape == (72, 4) and data.test_x.shape == (18, 4)
    assert np.bincount(data.test_y).tolist() == [6, 6, 6]
    assert sorted(data.assignment["train"] + data.assignment["test"]) == list(range(90))


def test_parquet_and_npz_give_the_same_data_as_the_csv(tmp_path):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    csv = load_source(feature_csv(tmp_path / "t.csv"))
    pq.write_table(pacsv.read_csv(tmp_path / "t.csv"), tmp_path / "t.parquet")
    assert load_source(tmp_path / "t.parquet").fingerprint() == csv.fingerprint()
    table = pacsv.read_csv(tmp_path / "t.csv")
    x = np.column_stack([table.column(c).to_numpy() for c in ("a", "b", "c", "d")])
    np.savez(tmp_path / "t.npz", x=x, y=np.array(table.column("label").to_pylist()), feature_names=["a", "b", "c", "d"])
    npz = load_source(tmp_path / "t.npz")
    assert npz.feature_names == csv.feature_names and np.array_equal(npz.train_x, csv.train_x)


def test_pixel_columns_make_a_table_of_images(tmp_path):
    rng = np.random.default_rng(0)
    rows = [[i % 2, *rng.integers(0, 256, 16).tolist()] for i in range(20)]
    data = load_source(write_csv(tmp_path / "k.csv", ["label", *[f"pixel{j + 1}" for j in range(16)]], rows))
    assert data.kind == "images" and data.train_x.shape[1:] == (1, 4, 4) and data.train_x.dtype == np.uint8
    assert data.class_names == ("0", "1")
    shaped = load_source(tmp_path / "k.csv", DataOptions(image_shape=(2, 8)))
    assert shaped.train_x.shape[1:] == (1, 2, 8)


def test_a_separate_test_table(tmp_path):
    train = feature_csv(tmp_path / "train.csv")
    x, labels = blobs(30, seed=1)
    test = write_csv(tmp_path / "test.csv", ["d", "c", "b", "a", "label"],
                     [[r[3], r[2], r[1], r[0], y] for r, y in zip(x, labels, strict=True)])  # fmt: skip
    data = load_source(train, DataOptions(test_data=str(test)))
    assert (len(data.train_y), len(data.test_y), data.split["method"]) == (90, 30, "test table")
    np.testing.assert_allclose(data.test_x[0], x[0].astype(np.float32))  # columns put in the training order


def test_integer_labels_take_names_from_classes(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["label", "v"], [[i % 2, i] for i in range(10)])
    assert load_source(path, DataOptions(classes=("no", "yes"))).class_names == ("no", "yes")


# -- bad data: one line each ------------------------------------------------------------------------


def error_of(path: Path, **options) -> str:
    with pytest.raises(DataError) as caught:
        load_source(path, DataOptions(**options))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_no_label_column(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["a", "b", "species"], [[1, 2, "x"], [3, 4, "y"]])
    assert error_of(path) == (
        f"Expected a label column named `label` in {path}; its columns are a, b, species (3 in all). "
        "Name the label column with --label COLUMN."
    )
    assert load_source(path, DataOptions(label="species")).class_names == ("x", "y")


def test_a_value_that_is_not_a_number(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["label", "a", "b"], [["x", 1, 2], ["y", 3, "n/a?"], ["x", 5, 6]])
    assert error_of(path) == (
        f"Expected a number in row 2, column `b` of {path}; got 'n/a?'. Fix the value, or leave the column out "
        "of the table."
    )


def test_a_missing_value(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["label", "a", "b"], [["x", 1, 2], ["y", 3, 4], ["x", "", 6]])
    assert error_of(path) == (
        f"Expected a number in row 3, column `a` of {path}; the value is missing. Fill it in, or drop the row."
    )


def test_a_missing_label(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["label", "a"], [[1, 1], ["", 3], [0, 5]])
    assert error_of(path) == (
        f"Expected a label in row 2, column `label` of {path}; the value is missing. Fill it in, or drop the row."
    )


def test_test_labels_that_training_never_saw(tmp_path):
    train = write_csv(tmp_path / "train.csv", ["label", "a"], [["cat", 1], ["dog", 2]] * 5)
    test = write_csv(tmp_path / "test.csv", ["label", "a"], [["cat", 1], ["dog", 2], ["zebra", 3]])
    assert error_of(train, test_data=str(test)) == (
        f"Expected only labels that the training data has in {test}; got 'zebra' in row 3, column `label`, which "
        "the training data never has. Remove those rows, or add examples of it to the training data."
    )


def test_one_class_only(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["label", "a"], [["cat", 1], ["cat", 2]])
    assert error_of(path) == f"Expected at least two classes in {path}; got one, 'cat'. A classifier needs two or more."


def test_a_ten_million_column_table_is_refused_from_its_header(tmp_path, monkeypatch):
    path = tmp_path / "wide.csv"
    with path.open("w") as f:
        f.write("label" + ",x" * 10_000_000 + "\n")
        f.write("0" + ",1" * 10_000_000 + "\n")
    import pyarrow.csv as pacsv

    monkeypatch.setattr(pacsv, "read_csv", lambda *a, **k: pytest.fail("the table was read"))
    assert error_of(path) == (
        f"Expected a table of at most {MAX_COLUMNS:,} columns in {path}; it has more than {MAX_COLUMNS:,}. Keep the "
        "columns the model should use (e.g. with pandas or pyarrow) and try again."
    )


def test_d2l_table_standardises_with_the_training_split(tmp_path):
    import softmaxreg as d2l

    data = d2l.Table(feature_csv(tmp_path / "t.csv"), batch_size=8)
    X = data.train.images
    np.testing.assert_allclose(X.mean(dim=0).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(X.std(dim=0, unbiased=False).numpy(), 1, atol=1e-4)
    torch.manual_seed(0)  # 18 test rows: seeds 0-7 give 0.83-0.94, so the test fixes one
    model = d2l.SoftmaxRegression(num_outputs=3, lr=0.5)
    trainer = d2l.Trainer(max_epochs=5)
    trainer.fit(model, data)
    assert trainer.history[-1]["val_acc"] >= 0.9
