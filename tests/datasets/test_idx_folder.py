"""A folder of IDX files (MNIST, KMNIST, EMNIST): the files are the split; class names from --classes or classes.txt."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from conftest import synthetic_arrays

from softmaxreg.datasets.idx import encode_idx
from softmaxreg.datasets.own import DataOptions, load_source
from softmaxreg.errors import DataError


def write_idx(folder, prefix="", compress=True, arrays=None):
    arrays = arrays or synthetic_arrays()
    folder.mkdir(parents=True, exist_ok=True)
    names = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}  # fmt: skip
    for key, name in names.items():
        data = encode_idx(arrays[key])
        path = folder / (prefix + name + (".gz" if compress else ""))
        path.write_bytes(gzip.compress(data) if compress else data)
    return folder


def test_an_idx_folder_is_its_own_split_with_numbered_classes(tmp_path):
    data = load_source(write_idx(tmp_path / "kmnist", prefix="k49-", compress=False))
    assert data.source["kind"] == "idx" and data.split["method"] == "files"
    assert data.train_x.shape == (96, 1, 28, 28) and data.test_x.shape == (40, 1, 28, 28)
    assert data.class_names == tuple(str(k) for k in range(10)) and data.light_on_dark is True


def test_class_names_from_classes_txt_or_the_option(tmp_path):
    folder = write_idx(tmp_path / "d")
    (folder / "classes.txt").write_text("".join(f"c{k}\n" for k in range(10)))
    assert load_source(folder).class_names[:2] == ("c0", "c1")
    names = tuple("abcdefghij")
    assert load_source(folder, DataOptions(classes=names)).class_names == names
    with pytest.raises(
        DataError, match=r"^Expected at least 10 class names in --classes \(labels go up to 9\); got 2\.$"
    ):
        load_source(folder, DataOptions(classes=("a", "b")))


def test_a_missing_file_is_named(tmp_path):
    folder = write_idx(tmp_path / "d")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as caught:
        load_source(folder)
    assert str(caught.value) == (
        f"Expected the four IDX files of a dataset in {folder}; t10k-labels-idx1-ubyte[.gz] is missing."
    )


def test_test_labels_the_training_files_never_have(tmp_path):
    arrays = synthetic_arrays()
    arrays["train_labels"] = arrays["train_labels"] % 5  # training has labels 0..4 only
    folder = write_idx(tmp_path / "d", arrays=arrays)
    with pytest.raises(DataError) as caught:
        load_source(folder)
    assert str(caught.value) == (
        f"Expected only labels that the training data has in {folder / 't10k-labels-idx1-ubyte.gz'}; got 5, which "
        "the training data never has."
    )


def test_keras_style_npz_of_images(tmp_path):
    arrays = synthetic_arrays()
    np.savez(tmp_path / "mnist.npz", x_train=arrays["train_images"], y_train=arrays["train_labels"],
             x_test=arrays["test_images"], y_test=arrays["test_labels"])  # fmt: skip
    data = load_source(tmp_path / "mnist.npz")
    assert data.kind == "images" and data.train_x.shape == (96, 1, 28, 28) and len(data.test_y) == 40
    assert data.split["method"] == "x_test, y_test"
