"""Image folders: classes from sub-folders, the split, colour and size, the decoded cache, and bad data."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from own_data_helpers import CLASSES, make_folder
from PIL import Image

from softmaxreg.datasets import image_folder
from softmaxreg.datasets.own import DataOptions, load_source
from softmaxreg.errors import DataError


def test_classes_are_the_sorted_sub_folders_and_a_stratified_seeded_split_holds_out_a_fifth(tmp_path):
    data = load_source(make_folder(tmp_path / "shapes"))
    assert data.class_names == CLASSES and data.kind == "images"
    assert data.train_x.shape == (48, 1, 12, 12) and data.test_x.shape == (12, 1, 12, 12)
    assert data.train_x.dtype == np.uint8 and data.train_y.dtype == np.int64
    assert np.bincount(data.test_y).tolist() == [4, 4, 4]  # stratified: a fifth of each class
    assert data.light_on_dark is True and data.split["method"] == "stratified"
    assert sorted(data.assignment["train"] + data.assignment["test"]) == sorted(
        f"{c}/{i:03d}.png" for c in CLASSES for i in range(20)
    )
    again = load_source(tmp_path / "shapes")
    assert again.assignment == data.assignment and again.fingerprint() == data.fingerprint()
    other = load_source(tmp_path / "shapes", DataOptions(seed=1))
    assert other.assignment != data.assignment


def test_train_and_test_sub_folders_are_the_split(tmp_path):
    make_folder(tmp_path / "d" / "train", per_class=10)
    make_folder(tmp_path / "d" / "val", per_class=3, seed=1)
    data = load_source(tmp_path / "d")
    assert (len(data.train_y), len(data.test_y), data.split["method"]) == (30, 9, "folders")
    assert data.assignment is None


def test_colour_images_stay_colour_unless_grey_is_asked_and_dark_on_light_is_told(tmp_path):
    data = load_source(make_folder(tmp_path / "rgb", mode="RGB", light_on_dark=False))
    assert data.train_x.shape[1:] == (3, 12, 12) and data.light_on_dark is False
    grey = load_source(tmp_path / "rgb", DataOptions(color="grey", image_size=(8, 10)))
    assert grey.train_x.shape[1:] == (1, 8, 10)


def test_a_few_other_sizes_are_resized_to_the_most_common_with_a_note(tmp_path):
    root = make_folder(tmp_path / "d")
    Image.new("L", (14, 13), 30).save(root / "circle" / "big.png")
    data = load_source(root)
    assert data.train_x.shape[2:] == (12, 12)
    assert data.notes == [
        "note: 1 of 61 images are not 12x12 (e.g. circle/big.png); resized to 12x12 (--image-size HxW sets the size)."
    ]


def test_the_decoded_images_are_cached_and_a_changed_file_is_decoded_again(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "d")
    first = load_source(root)
    calls = []
    real = image_folder._decode_folder
    monkeypatch.setattr(image_folder, "_decode_folder", lambda *a: calls.append(1) or real(*a))
    assert load_source(root).fingerprint() == first.fingerprint() and calls == []  # warm: from the cache
    path = root / "square" / "000.png"
    Image.new("L", (12, 12), 255).save(path)
    os.utime(path, ns=(1, 1))
    assert load_source(root).fingerprint() != first.fingerprint() and calls == [1]


def test_ignored_files_do_not_count_and_hidden_folders_are_left_out(tmp_path):
    root = make_folder(tmp_path / "d")
    (root / "circle" / "notes.txt").write_text("not an image")
    (root / ".thumbnails").mkdir()
    assert load_source(root).class_names == CLASSES


# -- bad data: one line each ------------------------------------------------------------------------


def error_of(path: Path, **options) -> str:
    with pytest.raises(DataError) as caught:
        load_source(path, DataOptions(**options))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_an_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert error_of(tmp_path / "empty") == (
        f"Expected an image folder with one sub-folder of images per class in {tmp_path / 'empty'}; "
        "it holds no sub-folders."
    )


def test_a_class_folder_without_images(tmp_path):
    root = make_folder(tmp_path / "d")
    (root / "zebra").mkdir()
    (root / "zebra" / "readme.txt").write_text("-")
    assert error_of(root) == (
        f"Expected images (PNG, JPEG, BMP, GIF, WebP or TIFF) in the class folder {root / 'zebra'}; it holds none. "
        "Add images, or remove the folder."
    )


def test_one_class_only(tmp_path):
    root = make_folder(tmp_path / "d", classes=("cat",))
    assert error_of(root) == f"Expected at least two classes in {root}; got one, 'cat'. A classifier needs two or more."


def test_a_file_that_is_not_an_image_is_named_and_can_be_skipped(tmp_path):
    root = make_folder(tmp_path / "d")
    (root / "square" / "fake.png").write_bytes(b"this is text")
    assert error_of(root) == (
        f"Expected an image in {root / 'square' / 'fake.png'}; Pillow does not recognise the file. Remove it, or "
        "pass --skip-bad-files to leave out files that cannot be read."
    )
    data = load_source(root, DataOptions(skip_bad_files=True))
    assert len(data.train_y) + len(data.test_y) == 60
    assert data.skipped == [f"square/fake.png: Expected an image in {root / 'square' / 'fake.png'}; Pillow does not "
                            "recognise the file."]  # fmt: skip


def test_a_truncated_image_is_named(tmp_path):
    root = make_folder(tmp_path / "d")
    whole = (root / "circle" / "000.png").read_bytes()
    (root / "circle" / "000.png").write_bytes(whole[: len(whole) // 2])
    message = error_of(root)
    assert re.fullmatch(
        rf"Expected a complete image in {re.escape(str(root / 'circle' / '000.png'))}; got a truncated or damaged "
        r"file \(.+\)\. Remove it, or pass --skip-bad-files to leave out files that cannot be read\.",
        message,
    ), message


def test_wildly_different_sizes_need_image_size(tmp_path):
    root = make_folder(tmp_path / "d")
    Image.new("L", (300, 200), 0).save(root / "stripe" / "photo.png")
    assert error_of(root) == (
        f"Expected images of about one size in {root}; got 2 sizes, e.g. 12x12 (60 images) and 200x300 "
        f"({root / 'stripe' / 'photo.png'}). Pass --image-size HxW to resize them all, e.g. --image-size 12x12."
    )
    assert load_source(root, DataOptions(image_size=(12, 12))).train_x.shape[2:] == (12, 12)


def test_a_test_class_the_training_folder_lacks(tmp_path):
    make_folder(tmp_path / "d" / "train", per_class=5)
    make_folder(tmp_path / "d" / "test", per_class=2, classes=("circle", "zebra"))
    assert error_of(tmp_path / "d") == (
        f"Expected the test folder {tmp_path / 'd' / 'test'} to hold only classes the training folder has; "
        f"'zebra' is not in {tmp_path / 'd' / 'train'}. Add its training images, or remove it."
    )


def test_a_missing_path(tmp_path):
    assert error_of(tmp_path / "nope") == (
        "Expected `--data` to be an image folder, an IDX folder or a .csv/.parquet/.npz table; "
        f"{tmp_path / 'nope'} does not exist."
    )


# -- the d2l data module ------------------------------------------------------------------------------


def test_d2l_image_folder_trains_with_the_books_trainer(tmp_path):
    import softmaxreg as d2l

    data = d2l.ImageFolder(make_folder(tmp_path / "d", per_class=40), batch_size=16, resize=(8, 8))
    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (16, 1, 8, 8) and X.dtype.is_floating_point and float(X.max()) <= 1.0
    model = d2l.SoftmaxRegression(num_outputs=3, lr=0.5)
    trainer = d2l.Trainer(max_epochs=8)
    trainer.fit(model, data)
    assert trainer.history[-1]["val_acc"] >= 0.9
    assert data.text_labels([0, 2]) == ["circle", "stripe"]
