"""Your own data through every command: an image folder and a CSV table through train, evaluate, predict,
export, sweep and --resume; bad data as one line, exit 2, nothing on disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from own_data_helpers import feature_csv, make_folder, write_csv
from PIL import Image

pytest.importorskip("pyarrow")


@pytest.fixture
def shapes(tmp_path):
    return make_folder(tmp_path / "shapes", per_class=30, mode="RGB", light_on_dark=False)


def test_an_rgb_image_folder_through_train_evaluate_predict_and_export(shapes, tmp_path, cli_in_process):
    run = tmp_path / "run"
    code, out, err = cli_in_process("train", "--data", shapes, "--epochs", "4", "--lr", "0.5", "--out", run)
    assert code == 0, err
    assert out.splitlines()[0] == f"data: image folder {shapes}, 3 classes, RGB 12x12 images, 72 train / 18 test"
    assert out.splitlines()[-2] == "test accuracy 1.0000 (18 images)"
    meta = json.loads((run / "model.json").read_text())
    assert meta["input"] == {"kind": "images", "channels": 3, "height": 12, "width": 12, "light_on_dark": False}
    assert meta["class_names"] == ["circle", "square", "stripe"] and meta["input_shape"] == [3, 12, 12]
    described = json.loads((run / "data.json").read_text())
    assert described["source"] == {"kind": "image-folder", "path": str(shapes), "files": 90}
    assert described["split"] == {"method": "stratified", "test_fraction": 0.2, "seed": 0, "train": 72, "test": 18}
    assert len(json.loads((run / "split.json").read_text())["test"]) == 18

    code, out, err = cli_in_process("evaluate", run, "--json")
    report = json.loads(out)
    assert code == 0 and report["accuracy"] == 1.0 and report["num_examples"] == 18 and report["kind"] == "images"
    assert [Path(f).name for f in report["figures"]] == ["confusion_matrix.png", "weights.png"]  # no mistakes
    with Image.open(run / "weights.png") as weights:
        assert weights.mode in ("RGB", "RGBA") and weights.width > 300

    photo = tmp_path / "square.jpg"  # another size and format: resized and converted as in training
    Image.open(shapes / "square" / "000.png").resize((36, 36)).save(photo)
    code, out, err = cli_in_process("predict", run, photo, shapes / "stripe" / "001.png", "--json")
    results = json.loads(out)
    assert code == 0 and [r["top_k"][0]["class"] for r in results] == ["square", "stripe"], err
    assert [r["inverted"] for r in results] == [False, False]

    ort = pytest.importorskip("onnxruntime")
    code, out, err = cli_in_process("export", run)
    assert code == 0 and "input image: float32 (N, 3, 12, 12), pixels in [0, 1]" in out, err
    session = ort.InferenceSession(str(run / "model.onnx"))
    pixels = np.asarray(Image.open(shapes / "stripe" / "001.png"), dtype=np.float32).transpose(2, 0, 1)[None] / 255
    onnx_top = float(session.run(["probabilities"], {"image": pixels})[0].max())
    assert onnx_top == pytest.approx(results[1]["top_k"][0]["probability"], abs=1e-5)


def test_a_csv_of_features_through_train_evaluate_predict_and_export(tmp_path, cli_in_process):
    table = feature_csv(tmp_path / "blobs.csv", n=150)
    run = tmp_path / "run"
    code, out, err = cli_in_process("train", "--data", table, "--epochs", "10", "--batch-size", "16", "--lr", "0.5",
                                    "--out", run, "--quiet")  # fmt: skip
    assert code == 0 and out.splitlines()[0].endswith(" (30 rows)"), err
    accuracy = float(out.split()[2])
    assert accuracy >= 0.9
    spec = json.loads((run / "model.json").read_text())["input"]
    assert spec["kind"] == "features" and spec["feature_names"] == ["a", "b", "c", "d"]
    assert 50 < spec["std"][2] < 150 and spec["std"][3] < 1  # the training split's own statistics

    code, out, err = cli_in_process("evaluate", run)
    assert code == 0 and out.startswith(f"test accuracy {accuracy:.4f} (30 rows)"), err
    assert (run / "weights.png").exists() and not (run / "mistakes.png").exists()

    rows = write_csv(tmp_path / "rows.csv", ["d", "c", "b", "a"], [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 6.0]])
    code, out, err = cli_in_process("predict", run, rows, "--top-k", "1")
    assert code == 0, err
    assert [line.rsplit(" ", 1)[0] for line in out.splitlines()] == [
        f"{rows} row 1: setosa",
        f"{rows} row 2: virginica",
    ]
    code, out, err = cli_in_process("predict", run, rows, "--json")
    predicted = json.loads(out)

    ort = pytest.importorskip("onnxruntime")
    assert cli_in_process("export", run)[0] == 0
    session = ort.InferenceSession(str(run / "model.onnx"))
    raw = np.array([[0, 0, 0, 0], [6, 0, 0, 0]], dtype=np.float32)  # a, b, c, d: the training order
    probabilities = session.run(["probabilities"], {"features": raw})[0]
    for row, p in zip(probabilities, predicted, strict=True):
        assert row[p["top_k"][0]["label"]] == pytest.approx(p["top_k"][0]["probability"], abs=1e-5)


def test_resume_reads_the_same_data_and_refuses_changed_data(shapes, tmp_path, cli_in_process):
    run = tmp_path / "run"
    assert cli_in_process("train", "--data", shapes, "--epochs", "1", "--out", run, "--quiet")[0] == 0
    code, out, err = cli_in_process("train", "--resume", run, "--epochs", "2", "--quiet")
    assert code == 0, err
    Image.new("RGB", (12, 12), "white").save(shapes / "circle" / "000.png")
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.name != ".lock"}
    code, out, err = cli_in_process("train", "--resume", run, "--epochs", "3")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"softmaxreg: error: Expected the data {run} was trained on in {shapes}; its content changed")
    assert err.endswith("Train a new run on it.\n")
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.name != ".lock"} == before  # nothing written
    code, _, err = cli_in_process("evaluate", run)
    assert code == 2 and "its content changed" in err


def test_skip_bad_files_lists_them_in_the_run_folder(shapes, tmp_path, cli_in_process):
    (shapes / "circle" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    code, _, err = cli_in_process("train", "--data", shapes, "--epochs", "1", "--out", tmp_path / "run",
                                  "--skip-bad-files", "--quiet")  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "run" / "skipped.txt").read_text().startswith("circle/broken.png: Expected ")
    assert json.loads((tmp_path / "run" / "data.json").read_text())["skipped"] == 1


def test_sweep_takes_the_same_data(shapes, tmp_path, cli_in_process):
    code, out, err = cli_in_process("sweep", "--data", shapes, "--lr", "0.1", "0.5", "--epochs", "1",
                                    "--out", tmp_path / "sw", "--quiet")  # fmt: skip
    assert code == 0, err
    for rate in ("0.1", "0.5"):
        assert json.loads((tmp_path / "sw" / f"lr-{rate}" / "model.json").read_text())["input"]["channels"] == 3
        assert (tmp_path / "sw" / f"lr-{rate}" / "data.json").exists()


def test_options_for_your_own_data_need_data(cli_in_process, tmp_path):
    code, _, err = cli_in_process("train", "--image-size", "32x32", "--out", tmp_path / "run")
    assert code == 2 and err == (
        "softmaxreg: error: `--image-size` is for your own data: add --data PATH (an image folder, IDX files or a "
        "table), or leave it out to train on Fashion-MNIST.\n"
    )
    with pytest.raises(SystemExit) as exit_:
        cli_in_process("train", "--data", tmp_path, "--image-size", "32")
    assert exit_.value.code == 2


# -- bad data: one line, exit 2, nothing on disk --------------------------------------------------------


def _empty(tmp):
    (tmp / "d").mkdir()
    return tmp / "d", []


def _no_images(tmp):
    root = make_folder(tmp / "d", per_class=3)
    (root / "zebra").mkdir()
    return root, []


def _one_class(tmp):
    return make_folder(tmp / "d", per_class=3, classes=("cat",)), []


def _not_an_image(tmp):
    root = make_folder(tmp / "d", per_class=3)
    (root / "circle" / "x.png").write_text("hello")
    return root, []


def _truncated(tmp):
    root = make_folder(tmp / "d", per_class=3)
    path = root / "circle" / "000.png"
    path.write_bytes(path.read_bytes()[:60])
    return root, []


def _sizes(tmp):
    root = make_folder(tmp / "d", per_class=3)
    Image.new("L", (400, 300)).save(root / "circle" / "big.png")
    return root, []


def _no_label(tmp):
    return write_csv(tmp / "t.csv", ["a", "y"], [[1, 0], [2, 1]]), []


def _not_a_number(tmp):
    return write_csv(tmp / "t.csv", ["label", "a"], [[0, 1], [1, "abc"]]), []


def _missing(tmp):
    return write_csv(tmp / "t.csv", ["label", "a", "b"], [[0, 1, 2], [1, "", 3]]), []


def _unseen(tmp):
    train = write_csv(tmp / "t.csv", ["label", "a"], [[0, 1], [1, 2]])
    test = write_csv(tmp / "u.csv", ["label", "a"], [[0, 1], [7, 2]])
    return train, ["--test-data", str(test)]


def _too_wide(tmp):
    path = tmp / "wide.csv"
    path.write_text("label" + ",x" * 10_000_000 + "\n0" + ",1" * 10_000_000 + "\n")
    return path, []


BAD_DATA = {
    "an empty folder": (_empty, "Expected an image folder with one sub-folder of images per class in {d}; it holds "
                        "no sub-folders."),
    "a class folder with no images": (_no_images, "Expected images (PNG, JPEG, BMP, GIF, WebP or TIFF) in the class "
                                      "folder {d}/zebra; it holds none. Add images, or remove the folder."),
    "only one class": (_one_class, "Expected at least two classes in {d}; got one, 'cat'. A classifier needs two or "
                       "more."),
    "a file that is not an image": (_not_an_image, "Expected an image in {d}/circle/x.png; Pillow does not recognise "
                                    "the file. Remove it, or pass --skip-bad-files to leave out files that cannot be "
                                    "read."),
    "a truncated image": (_truncated, "Expected a complete image in {d}/circle/000.png; got a truncated or damaged "
                          "file (*). Remove it, or pass --skip-bad-files to leave out files that cannot be read."),
    "wildly different sizes": (_sizes, "Expected images of about one size in {d}; got 2 sizes, e.g. 12x12 (9 images) "
                               "and 300x400 ({d}/circle/big.png). Pass --image-size HxW to resize them all, e.g. "
                               "--image-size 12x12."),
    "no label column": (_no_label, "Expected a label column named `label` in {d}; its columns are a, y (2 in all). "
                        "Name the label column with --label COLUMN."),
    "a non-numeric value": (_not_a_number, "Expected a number in row 2, column `a` of {d}; got 'abc'. Fix the value, "
                            "or leave the column out of the table."),
    "a missing value": (_missing, "Expected a number in row 2, column `a` of {d}; the value is missing. Fill it in, "
                        "or drop the row."),
    "test labels training never saw": (_unseen, "Expected only labels that the training data has in {t}/u.csv; got "
                                       "'7' in row 2, column `label`, which the training data never has. Remove "
                                       "those rows, or add examples of it to the training data."),
    "a 10-million-column table": (_too_wide, "Expected a table of at most 1,000,000 columns in {d}; it has more than "
                                  "1,000,000. Keep the columns the model should use (e.g. with pandas or pyarrow) "
                                  "and try again."),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_data_is_one_line_exit_2_and_nothing_on_disk(case, tmp_path, cli_in_process, monkeypatch):
    make, template = BAD_DATA[case]
    source, extra = make(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = cli_in_process("train", "--data", source, *extra, "--out", tmp_path / "run")
    expected = "softmaxreg: error: " + template.format(d=source, t=tmp_path) + "\n"
    head, _, tail = expected.partition("*")
    assert code == 2 and out == ""
    assert err.startswith(head) and err.endswith(tail) and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists() and not (tmp_path / "runs").exists()


# -- real data: the same images as PNG files, a CSV and IDX files give the same model -------------------


@pytest.mark.real_data
def test_fashion_mnist_as_png_folder_csv_and_idx_trains_the_same_model(fashion, tmp_path):
    from softmaxreg.datasets.idx import encode_idx

    order = {}
    for part, split, n in (("train", fashion.train, 1200), ("test", fashion.val, 300)):
        labels = split.labels[:n].numpy()
        order[part] = np.argsort(labels, kind="stable")  # the folder's order: by class, then by name
        images, labels = split.images[:n, 0].numpy()[order[part]], labels[order[part]]
        idx = tmp_path / "idx"
        idx.mkdir(exist_ok=True)
        prefix = "train" if part == "train" else "t10k"
        (idx / f"{prefix}-images-idx3-ubyte").write_bytes(encode_idx(images))
        (idx / f"{prefix}-labels-idx1-ubyte").write_bytes(encode_idx(labels.astype(np.uint8)))
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            folder = tmp_path / "png" / part / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i:05d}.png")
        rows = [[int(y), *x.reshape(-1).tolist()] for x, y in zip(images, labels, strict=True)]
        write_csv(tmp_path / f"{part}.csv", ["label", *[f"pixel{j + 1}" for j in range(784)]], rows)
    sources = {
        "idx": [str(tmp_path / "idx")],
        "png": [str(tmp_path / "png")],
        "csv": [str(tmp_path / "train.csv"), "--test-data", str(tmp_path / "test.csv")],
    }
    reports = {}
    for name, data in sources.items():
        result = run_cli("train", "--data", *data, "--epochs", "2", "--out", str(tmp_path / f"run-{name}"), "--quiet")
        assert result.returncode == 0, result.stderr
        result = run_cli("evaluate", str(tmp_path / f"run-{name}"), "--json")
        reports[name] = json.loads(result.stdout)
        assert json.loads((tmp_path / f"run-{name}" / "model.json").read_text())["input"]["light_on_dark"] is True
    assert reports["idx"]["accuracy"] > 0.6
    assert reports["png"]["accuracy"] == reports["idx"]["accuracy"] == reports["csv"]["accuracy"]
    assert (
        reports["png"]["confusion_matrix"] == reports["idx"]["confusion_matrix"] == reports["csv"]["confusion_matrix"]
    )
    weights = {name: (tmp_path / f"run-{name}" / "model.safetensors").read_bytes() for name in sources}
    assert weights["png"] == weights["idx"] == weights["csv"]
    files = sorted((tmp_path / "png" / "test").rglob("*.png"))[:5]
    predicted = {name: json.loads(run_cli("predict", str(tmp_path / f"run-{name}"), *map(str, files), "--json").stdout)
                 for name in sources}  # fmt: skip
    assert predicted["png"] == predicted["idx"] == predicted["csv"]
