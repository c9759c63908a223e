"""A served run of any input shape: grey or colour images, or table rows; lean and batched JSON pixels."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from conftest import run_cli, start_server, stop_server
from PIL import Image
from served_runs import FEATURES, GREY, RGB, make_run

from softmaxreg.runs.inputs import InputSpec

httpx = pytest.importorskip("httpx")
GREY16 = InputSpec("images", channels=1, height=16, width=12, light_on_dark=False)  # dark objects on light
FASHION = ["t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """``kind -> httpx.Client`` on a server of one fake run per kind (started on first use)."""
    base = tmp_path_factory.mktemp("runs")
    runs = {
        "grey": lambda: make_run(base / "grey-run", GREY, FASHION, seed=1),
        "rgb": lambda: make_run(base / "rgb-run", RGB, ["cat", "dog", "fox"], seed=2),
        "features": lambda: make_run(base / "wine-run", FEATURES, ["class_0", "class_1", "class_2"], seed=3),
        "grey16": lambda: make_run(base / "digits-run", GREY16, ["zero", "one"], seed=4),
    }
    started: dict[str, tuple] = {}

    def client(kind: str) -> httpx.Client:
        if kind not in started:
            process, url = start_server(runs[kind](), tmp_path_factory.mktemp("serve"))
            started[kind] = (process, httpx.Client(base_url=url, timeout=30))
        return started[kind][1]

    yield client
    for process, c in started.values():
        c.close()
        code, _, err = stop_server(process)
        assert code == 0 and "Traceback" not in err, err


def weights(client: httpx.Client) -> tuple[np.ndarray, np.ndarray]:
    model = client.get("/api/model").json()
    k = len(model["biases"])
    return np.asarray(model["templates"], dtype=np.float64).reshape(k, -1), np.asarray(model["biases"])


def assert_documented(body: dict) -> None:
    """Handlers send their results as built: check them against the `Results` schema of /openapi.json."""
    from softmaxreg.serve.schemas import Results

    assert Results.model_validate(body).model_dump(by_alias=True, exclude_none=True) == body


def probabilities(w: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    z = x.reshape(len(x), -1) @ w.T + b
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# -- /api/predict/pixels: lean by default, batches -------------------------------------------------


def test_pixels_are_lean_unless_explain_is_asked_for(servers):
    client = servers("grey")
    image = np.random.default_rng(0).random((28, 28)).round(3).tolist()
    lean = client.post("/api/predict/pixels", json={"pixels": image})
    assert lean.status_code == 200, lean.text
    (result,) = lean.json()["results"]
    assert set(result) == {"image", "inverted", "top_k"} and len(result["top_k"]) == 3
    assert len(lean.content) < 400  # the class, not 84 kB of maps
    explained = client.post("/api/predict/pixels?explain=true&top_k=10", json={"pixels": image}).json()["results"][0]
    assert {"input", "logits", "probabilities", "contributions"} <= set(explained)
    assert explained["top_k"][:3] == result["top_k"]


def test_a_batch_of_pixels_answers_each_image_in_order(servers):
    client = servers("grey")
    w, b = weights(client)
    images = np.random.default_rng(1).random((5, 28, 28))
    response = client.post("/api/predict/pixels?top_k=10", json={"pixels": images.tolist()})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert_documented(response.json())
    assert [r["image"] for r in results] == [f"pixels[{i}]" for i in range(5)]
    expected = probabilities(w, b, np.rint(images * 255) / 255)
    for result, row in zip(results, expected, strict=True):
        assert result["top_k"][0]["label"] == int(row.argmax())
        assert {t["label"]: t["probability"] for t in result["top_k"]} == pytest.approx(dict(enumerate(row)), abs=2e-5)
    single = client.post("/api/predict/pixels?top_k=10", json={"pixels": images[3].tolist()}).json()["results"][0]
    assert single["top_k"] == results[3]["top_k"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"pixels": np.zeros((257, 28, 28)).tolist()}, r"batch of 1 to 256 images in `pixels`; got 257"),
        ({"pixels": [np.zeros((28, 28)).tolist(), np.zeros((28, 27)).tolist()]}, r"28 rows of 28 numbers"),
        ({"pixels": [[[0.0] * 28] * 28, [[2.0] * 28] * 28]}, r"every pixel in \[0, 1\].*got 2\.0"),
        ({"pixels": "abc"}, r"Expected `pixels` to hold 28 rows of 28 numbers in \[0, 1\]; got a string"),
        ({"pixels": [[None] * 28] * 28}, r"`pixels\.0\.0` must be a valid number; got null"),
    ],
)
def test_bad_pixels_get_one_line(servers, body, message):
    response = servers("grey").post("/api/predict/pixels", json=body)
    assert response.status_code == 400, response.text
    assert re.search(message, response.json()["error"]), response.json()


# -- colour images ---------------------------------------------------------------------------------


def test_rgb_run_describes_its_input_and_colour_templates(servers):
    model = servers("rgb").get("/api/model").json()
    assert model["input"] == {"kind": "images", "shape": [3, 8, 6], "channels": 3, "height": 8, "width": 6,
                              "light_on_dark": False, "drawing_pad": False, "feature_names": None}  # fmt: skip
    assert np.asarray(model["templates"]).shape == (3, 3, 8, 6)
    assert model["classes"]["en"] == ["cat", "dog", "fox"] and model["name"] == "rgb-run"


def test_rgb_upload_is_resized_in_colour_not_inverted(servers):
    client = servers("rgb")
    w, b = weights(client)
    photo = np.random.default_rng(2).integers(0, 256, (80, 60, 3), dtype=np.uint8)
    photo[:, :30] = [250, 250, 250]  # a light half: a Fashion-MNIST run would invert it, this one must not
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="PNG")
    response = client.post("/api/predict?top_k=3", files={"file": ("photo.png", buffer.getvalue())})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    resized = np.asarray(Image.fromarray(photo).resize((6, 8), Image.Resampling.LANCZOS)).transpose(2, 0, 1)
    expected = probabilities(w, b, resized[None] / 255)[0]
    assert result["inverted"] is False
    assert {t["label"]: t["probability"] for t in result["top_k"]} == pytest.approx(dict(enumerate(expected)), abs=2e-5)
    pixels = client.post("/api/predict/pixels", json={"pixels": (resized.transpose(1, 2, 0) / 255).tolist()})
    assert pixels.json()["results"][0]["top_k"] == result["top_k"]
    explained = client.post("/api/predict?explain=true", files={"file": ("photo.png", buffer.getvalue())}).json()
    assert_documented(explained)
    assert np.asarray(explained["results"][0]["contributions"]).shape == (3, 3, 8, 6)  # a colour map per class


@pytest.mark.parametrize("invert, inverted", [("auto", False), ("yes", True)])
def test_grey_run_of_dark_objects_is_resized_not_inverted_unless_asked(servers, invert, inverted):
    """Fashion-MNIST's preparation (trim, centre, auto-invert) is for light-on-dark runs only."""
    client = servers("grey16")
    assert client.get("/api/model").json()["input"]["drawing_pad"] is True
    w, b = weights(client)
    page = np.full((64, 48), 240, dtype=np.uint8)
    page[10:50, 20:28] = 20  # a dark stroke on white paper, off centre
    buffer = io.BytesIO()
    Image.fromarray(page).save(buffer, format="PNG")
    response = client.post(f"/api/predict?invert={invert}", files={"file": ("one.png", buffer.getvalue())})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    resized = np.asarray(Image.fromarray(page).resize((12, 16), Image.Resampling.LANCZOS)).astype(np.float64)
    expected = probabilities(w, b, (255 - resized if inverted else resized)[None] / 255)[0]
    assert result["inverted"] is inverted
    assert {t["label"]: t["probability"] for t in result["top_k"]} == pytest.approx(dict(enumerate(expected)), abs=2e-5)


@pytest.fixture(scope="module")
def own_runs(tmp_path_factory):
    """``kind -> httpx.Client`` on a served run trained by the CLI: a colour image folder, a CSV of features."""
    from own_data_helpers import feature_csv, make_folder

    base = tmp_path_factory.mktemp("own")
    sources = {"rgb": make_folder(base / "rgb", per_class=10, size=(9, 12), mode="RGB"),
               "features": feature_csv(base / "blobs.csv")}  # fmt: skip
    started = {}
    for kind, source in sources.items():
        trained = run_cli("train", "--data", str(source), "--epochs", "20", "--batch-size", "8",
                          "--out", str(base / f"{kind}-run"), "--quiet", cwd=base)  # fmt: skip
        assert trained.returncode == 0, trained.stderr
        process, url = start_server(base / f"{kind}-run", tmp_path_factory.mktemp("serve"))
        started[kind] = (process, httpx.Client(base_url=url, timeout=30))
        started[kind][1].run_dir = base / f"{kind}-run"  # type: ignore[attr-defined]
    yield {kind: client for kind, (_, client) in started.items()}
    for process, client in started.values():
        client.close()
        code, _, err = stop_server(process)
        assert code == 0 and "Traceback" not in err, err


def test_a_colour_run_browses_its_own_test_split_in_colour(own_runs):
    client = own_runs["rgb"]
    info = client.get("/api/testset").json()
    assert info["size"] == 6 and np.asarray(info["confusion_matrix"]).sum(axis=1).tolist() == [2, 2, 2]
    image = client.get("/api/testset/images/0").json()
    pixels = np.asarray(image["pixels"], dtype=np.uint8)  # H rows of W [r, g, b] triples, as /api/predict/pixels takes
    assert pixels.shape == (9, 12, 3) and "features" not in image
    png = Image.open(io.BytesIO(client.get("/api/testset/images/0.png").content))
    assert png.mode == "RGB" and np.array_equal(np.asarray(png), pixels)
    # the page predicts a test image by posting its pixels: the same class and confidence as the browser's
    result = client.post("/api/predict/pixels", json={"pixels": (pixels / 255).tolist()}).json()["results"][0]
    assert result["top_k"][0]["label"] == image["predicted"]
    assert result["top_k"][0]["probability"] == pytest.approx(image["confidence"], abs=1e-5)
    cell = client.get(f"/api/testset/confusion/{image['label']}/{image['predicted']}").json()
    assert 0 in cell["indices"]


def test_a_feature_run_browses_its_own_test_rows_by_name(own_runs):
    client = own_runs["features"]
    info = client.get("/api/testset").json()
    assert info["size"] == 18 and np.asarray(info["confusion_matrix"]).sum(axis=1).tolist() == [6, 6, 6]
    assert info["accuracy"] == pytest.approx(client.get("/api/run").json()["summary"]["val_acc"])  # as training saw it
    right = client.get("/api/testset/random").json()
    while right["predicted"] != right["label"]:
        right = client.get("/api/testset/random").json()
    row = client.get(f"/api/testset/images/{right['index']}").json()
    assert row == right and list(row["features"]) == ["a", "b", "c", "d"] and "pixels" not in row
    # raw values, standardised by the server: posting the row back predicts the same
    result = client.post("/api/predict/features", json={"rows": [row["features"]]}).json()["results"][0]
    assert result["top_k"][0]["label"] == row["predicted"]
    assert result["top_k"][0]["probability"] == pytest.approx(row["confidence"], abs=1e-5)
    explained = client.post("/api/predict/features?explain=true", json={"rows": [row["features"]]}).json()
    result = explained["results"][0]  # what the page's Why table shows: weight × standardised value per feature
    model = client.get("/api/model").json()
    spec = json.loads((client.run_dir / "model.json").read_text())["input"]  # the training split's statistics
    z = (np.asarray(list(row["features"].values())) - spec["mean"]) / spec["std"]
    assert result["input"] == pytest.approx(z, abs=1e-5)
    contributions = np.asarray(result["contributions"])
    assert contributions.shape == (3, 4)
    assert contributions.sum(axis=1) + model["biases"] == pytest.approx(result["logits"], abs=1e-4)
    assert_documented(explained)
    png = client.get("/api/testset/images/3.png")
    assert png.status_code == 400
    assert png.json()["error"] == "Test row 3 is a row of features, not an image: GET /api/testset/images/3."
    assert client.get("/api/testset/images/18").json()["error"] == "`index` must be a test row index, 0..17; got 18."
    assert client.get("/api/testset/confusion/3/0").json()["error"] == "`label` must be a class index, 0..2; got 3."
    vi = client.get("/api/testset/confusion/0/3?lang=vi").json()["error"]
    assert vi == "`predicted` phải là chỉ số một lớp, 0..2; nhận được 3."


def test_a_grey_run_on_your_own_data_browses_its_own_test_split(tmp_path):
    """An image folder of grey digits-like blobs, trained by the CLI: the browser shows the run's own test
    split (the files split.json holds), predicted by the served model."""
    rng = np.random.default_rng(0)
    for label, (row, col) in enumerate([(2, 2), (2, 9), (9, 5)]):
        folder = tmp_path / "blobs" / f"class{label}"
        folder.mkdir(parents=True)
        for i in range(25):
            pixels = rng.integers(0, 40, size=(14, 14), dtype=np.uint8)
            pixels[row : row + 4, col : col + 4] = 230  # a light blob on dark, where the class puts it
            Image.fromarray(pixels).save(folder / f"{i:02}.png")
    trained = run_cli("train", "--data", str(tmp_path / "blobs"), "--epochs", "5", "--batch-size", "8",
                      "--out", str(tmp_path / "run"), "--quiet", cwd=tmp_path)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    process, url = start_server(tmp_path / "run", tmp_path)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            info = client.get("/api/testset").json()
            image = client.get("/api/testset/images/0").json()
            png = client.get("/api/testset/images/0.png")
    finally:
        code, _, err = stop_server(process)
    assert code == 0 and "Traceback" not in err, err
    assert info["size"] == 15 and np.asarray(info["confusion_matrix"]).sum(axis=1).tolist() == [5, 5, 5]
    assert info["accuracy"] == 1.0  # blobs in three places: a linear model separates them
    assert np.asarray(image["pixels"]).shape == (14, 14) and image["predicted"] == image["label"]
    assert Image.open(io.BytesIO(png.content)).size == (14, 14)


# -- table rows ------------------------------------------------------------------------------------


def test_features_by_name_or_in_column_order_are_standardised(servers):
    client = servers("features")
    model = client.get("/api/model").json()
    assert model["input"]["kind"] == "features" and model["input"]["feature_names"] == list(FEATURES.feature_names)
    w, b = np.asarray(model["templates"]), np.asarray(model["biases"])
    rows = [[13.2, 1.8, 2.1, 1.05], [12.0, 4.0, 2.6, 0.7]]
    named = [
        dict(zip(FEATURES.feature_names, row, strict=True)) | {"colour": "red"} for row in rows
    ]  # extra keys: ignored
    by_name = client.post("/api/predict/features?top_k=3", json={"rows": named})
    by_order = client.post("/api/predict/features?top_k=3", json={"rows": rows})
    assert by_name.status_code == by_order.status_code == 200, by_name.text
    assert by_name.json() == by_order.json()
    assert_documented(by_name.json())
    z = (np.asarray(rows) - np.asarray(FEATURES.mean)) / np.asarray(FEATURES.std)
    for result, row in zip(by_name.json()["results"], probabilities(w, b, z), strict=True):
        assert [t["class"] for t in result["top_k"]] == [f"class_{c}" for c in np.argsort(-row)]
        assert result["top_k"][0]["probability"] == pytest.approx(row.max(), abs=1e-5)


@pytest.mark.parametrize(
    "rows, message",
    [
        (
            [{"alcohol": 13, "malic_acid": 2, "ash": 2}],
            r"Row 0 has no column `hue`; every row needs alcohol, malic_acid, ash, hue",
        ),
        ([[1, 2, 3, 4], [1, 2, "x", 4]], r"Row 1, column `ash` must be a finite number; got 'x'"),
        (
            [[1, 2, 3, 4], [1, None, 3, 4]],
            r"Row 1, column `malic_acid` must be a finite number; got null \(a missing value\)",
        ),
        (
            [[1, 2, 3]],
            r"Row 0 has 3 values; expected 4, in the training column order \(alcohol, malic_acid, ash, hue\)",
        ),
        ([], r"Expected `rows` to be a non-empty list"),
    ],
)
def test_bad_rows_name_the_row_and_column(servers, rows, message):
    response = servers("features").post("/api/predict/features", json={"rows": rows})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert "\n" not in error and re.search(message, error), error


def test_each_kind_refuses_the_other_kinds_input(servers):
    pixels = servers("features").post("/api/predict/pixels", json={"pixels": [[0.0]]})
    assert pixels.status_code == 400 and "POST them to /api/predict/features" in pixels.json()["error"]
    rows = servers("rgb").post("/api/predict/features", json={"rows": [[1.0]]})
    assert rows.status_code == 400 and "not table rows" in rows.json()["error"]
