"""The Open Inference Protocol (KServe v2 REST) of a real ``softmaxreg serve``, called with ``tritonclient``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli, start_server, stop_server
from PIL import Image
from served_runs import FEATURES, GREY, RGB, make_run

httpx = pytest.importorskip("httpx")
httpclient = pytest.importorskip("tritonclient.http")
FASHION = ["t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("v2runs")
    return {
        "grey": make_run(base / "grey-run", GREY, FASHION, seed=1),
        "rgb": make_run(base / "rgb-run", RGB, ["cat", "dog", "fox"], seed=2),
        "features": make_run(base / "wine-run", FEATURES, ["class_0", "class_1", "class_2"], seed=3),
    }


@pytest.fixture(scope="module")
def servers(runs, tmp_path_factory):
    """``kind -> URL`` of one server per run (started on first use, all stopped at the end)."""
    started: dict[str, tuple] = {}

    def url(kind: str) -> str:
        if kind not in started:
            started[kind] = start_server(runs[kind], tmp_path_factory.mktemp("serve"))
        return started[kind][1]

    yield url
    for process, _ in started.values():
        code, _, err = stop_server(process)
        assert code == 0 and "Traceback" not in err, err


def reference(run_dir, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logits and probabilities of ``x`` (the model's input, floats) computed with torch from the checkpoint."""
    import torch

    from softmaxreg.runs.checkpoint import load_model

    model, _ = load_model(run_dir)
    with torch.no_grad():
        logits = model(torch.from_numpy(x.astype(np.float32))).double()
    return logits.numpy(), torch.softmax(logits, dim=1).numpy()


def triton(url: str):
    return httpclient.InferenceServerClient(url.removeprefix("http://"))


def test_tritonclient_round_trip_equals_softmaxreg_predict(servers, runs, tmp_path):
    """The reference client: health, metadata, and a batch of UINT8 images whose probabilities are
    those `softmaxreg predict --json` prints for the same images, to 1e-6."""
    from softmaxreg.runs.images import prepare_image

    client = triton(servers("grey"))
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("grey-run")
    meta = client.get_model_metadata("grey-run")
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 28, 28]}]
    assert {o["name"]: o["shape"] for o in meta["outputs"]} == {"probabilities": [-1, 10], "logits": [-1, 10]}
    assert meta["parameters"]["class_names"] == FASHION and meta["versions"] == ["2"]

    rng = np.random.default_rng(0)
    names = []
    for i in range(3):  # a light object on black: predict uses a 28×28 image of it as it is
        pixels = np.zeros((28, 28), dtype=np.uint8)
        pixels[4:24, 6 + i : 20 + i] = rng.integers(60, 256, (20, 14))
        Image.fromarray(pixels).save(tmp_path / f"image{i}.png")
        names.append(f"image{i}.png")
    images = np.stack([prepare_image(tmp_path / name)[0] for name in names])[:, None]  # (3, 1, 28, 28) uint8

    tensor = httpclient.InferInput("input", list(images.shape), "UINT8")
    tensor.set_data_from_numpy(images, binary_data=False)
    wanted = [httpclient.InferRequestedOutput(name, binary_data=False) for name in ("probabilities", "logits")]
    result = client.infer("grey-run", [tensor], outputs=wanted)
    probabilities, logits = result.as_numpy("probabilities"), result.as_numpy("logits")
    assert probabilities.shape == logits.shape == (3, 10)

    cli = run_cli("predict", str(runs["grey"]), *names, "--json", "--top-k", "10", cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    for row, printed in zip(probabilities, json.loads(cli.stdout), strict=True):
        assert not printed["inverted"]
        for top in printed["top_k"]:
            assert row[top["label"]] == pytest.approx(top["probability"], abs=1e-6)
    ref_logits, ref_probabilities = reference(runs["grey"], images.reshape(3, -1) / 255)
    np.testing.assert_allclose(logits, ref_logits, atol=1e-4)  # torch sums in another order: float32 rounding
    np.testing.assert_allclose(probabilities, ref_probabilities, atol=1e-5)

    floats = httpclient.InferInput("input", [3, 1, 28, 28], "FP32")  # the same images as pixels in [0, 1]
    floats.set_data_from_numpy((images / 255).astype(np.float32), binary_data=False)
    again = client.infer("grey-run", [floats]).as_numpy("probabilities")  # no outputs named: probabilities
    np.testing.assert_allclose(again, probabilities, atol=1e-6)


def test_tritonclient_binary_tensors_by_default(servers):
    """tritonclient's defaults: binary tensor data in (set_data_from_numpy) and out (no outputs named)."""
    client = triton(servers("grey"))
    images = np.random.default_rng(5).integers(0, 256, (4, 1, 28, 28), dtype=np.uint8)
    binary = httpclient.InferInput("input", list(images.shape), "UINT8")
    binary.set_data_from_numpy(images)
    as_json = httpclient.InferInput("input", list(images.shape), "UINT8")
    as_json.set_data_from_numpy(images, binary_data=False)
    wanted = [httpclient.InferRequestedOutput("probabilities", binary_data=False)]
    got = client.infer("grey-run", [binary]).as_numpy("probabilities")
    assert got.shape == (4, 10) and got.dtype == np.float32
    np.testing.assert_array_equal(got, client.infer("grey-run", [as_json], outputs=wanted).as_numpy("probabilities"))
    floats = httpclient.InferInput("input", [4, 784], "FP32")
    floats.set_data_from_numpy((images.reshape(4, -1) / 255).astype(np.float32))
    logits = [httpclient.InferRequestedOutput("logits"), httpclient.InferRequestedOutput("probabilities")]
    result = client.infer("grey-run", [floats], outputs=logits)
    np.testing.assert_allclose(result.as_numpy("probabilities"), got, atol=1e-6)
    assert result.as_numpy("logits").shape == (4, 10)


def test_rgb_run_nested_data_any_batch(servers, runs):
    client = triton(servers("rgb"))
    meta = client.get_model_metadata("rgb-run")
    assert meta["inputs"][0]["shape"] == [-1, 3, 8, 6] and meta["parameters"]["class_names"] == ["cat", "dog", "fox"]
    x = np.random.default_rng(1).random((5, 3, 8, 6))
    body = {"inputs": [{"name": "input", "shape": [5, 3, 8, 6], "datatype": "FP32", "data": x.tolist()}],
            "outputs": [{"name": "logits"}], "id": "req-1"}  # fmt: skip
    response = httpx.post(servers("rgb") + "/v2/models/rgb-run/infer", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model_name"] == "rgb-run" and answer["id"] == "req-1"
    assert [o["name"] for o in answer["outputs"]] == ["logits"] and answer["outputs"][0]["shape"] == [5, 3]
    ref_logits, _ = reference(runs["rgb"], x.reshape(5, -1))
    np.testing.assert_allclose(np.reshape(answer["outputs"][0]["data"], (5, 3)), ref_logits, atol=1e-4)


def test_features_run_is_standardised_as_trained(servers, runs):
    client = triton(servers("features"))
    assert client.get_model_metadata("wine-run")["inputs"][0]["shape"] == [-1, 4]
    rows = np.array([[13.2, 1.8, 2.1, 1.05], [12.0, 4.0, 2.6, 0.7]], dtype=np.float32)
    tensor = httpclient.InferInput("input", [2, 4], "FP32")
    tensor.set_data_from_numpy(rows, binary_data=False)
    got = client.infer("wine-run", [tensor]).as_numpy("probabilities")
    z = (rows - np.array(FEATURES.mean)) / np.array(FEATURES.std)
    np.testing.assert_allclose(got, reference(runs["features"], z)[1], atol=1e-5)


def infer_body(shape, data, datatype="UINT8", **extra):
    return {"inputs": [{"name": "input", "shape": shape, "datatype": datatype, "data": data}], **extra}


ZEROS = [0] * 784
BINARY_HEAD = json.dumps(
    {"inputs": [{"name": "input", "shape": [1, 784], "datatype": "UINT8", "parameters": {"binary_data_size": 784}}]}
).encode()
# fmt: off
ERRORS = [
    ("unknown model", "/v2/models/other/infer", {"json": infer_body([1, 784], ZEROS)}, 404, r"Unknown model 'other'; this server serves 'grey-run'"),  # noqa: E501
    ("unknown model metadata", "/v2/models/other", None, 404, r"Unknown model 'other'"),  # noqa: E501
    ("bad datatype", "/v2/models/grey-run/infer", {"json": infer_body([1, 784], ZEROS, "INT64")}, 400, r"Expected `datatype` FP32 or UINT8; got 'INT64'"),  # noqa: E501
    ("bad shape", "/v2/models/grey-run/infer", {"json": infer_body([1, 3, 28, 28], ZEROS)}, 400, r"Expected `shape` \[N, 1, 28, 28\]; got \[1, 3, 28, 28\]"),  # noqa: E501
    ("too few values", "/v2/models/grey-run/infer", {"json": infer_body([2, 1, 28, 28], ZEROS)}, 400, r"Expected 1568 values in `data` for shape \[2, 1, 28, 28\]; got 784"),  # noqa: E501
    ("uint8 out of range", "/v2/models/grey-run/infer", {"json": infer_body([1, 784], [300] + ZEROS[1:])}, 400, r"integers 0\.\.255; got 300"),  # noqa: E501
    ("fp32 out of range", "/v2/models/grey-run/infer", {"json": infer_body([1, 784], [1.5] + ZEROS[1:], "FP32")}, 400, r"pixels in \[0, 1\].*got 1\.5"),  # noqa: E501
    ("not numbers", "/v2/models/grey-run/infer", {"json": infer_body([1, 784], ["a"] + ZEROS[1:])}, 400, r"numbers only"),  # noqa: E501
    ("no inputs", "/v2/models/grey-run/infer", {"json": {"inputs": []}}, 400, r"Expected `inputs` to be a list of one tensor"),  # noqa: E501
    ("wrong input name", "/v2/models/grey-run/infer", {"json": {"inputs": [{"name": "x"}]}}, 400, r'named "input"; got \'x\''),  # noqa: E501
    ("unknown output", "/v2/models/grey-run/infer", {"json": infer_body([1, 784], ZEROS, outputs=[{"name": "scores"}])}, 400, r"probabilities or logits; got 'scores'"),  # noqa: E501
    ("not json", "/v2/models/grey-run/infer", {"content": b"{inputs", "headers": {"content-type": "application/json"}}, 400, r"Expected a JSON body; it does not parse"),  # noqa: E501
    ("json array", "/v2/models/grey-run/infer", {"json": [1]}, 400, r"Expected a JSON object"),  # noqa: E501
    ("binary too short", "/v2/models/grey-run/infer", {"content": BINARY_HEAD + b"\0" * 10, "headers": {"inference-header-content-length": str(len(BINARY_HEAD))}}, 400, r"binary tensor data of 784 bytes.*got binary_data_size 784 and 10 bytes"),  # noqa: E501
    ("binary header bad", "/v2/models/grey-run/infer", {"content": b"{}", "headers": {"inference-header-content-length": "99"}}, 400, r"Inference-Header-Content-Length to be the JSON part's length, 1\.\.2 bytes; got '99'"),  # noqa: E501
    ("form", "/v2/models/grey-run/infer", {"files": {"file": ("a.png", b"x")}}, 415, r"Expected application/json"),  # noqa: E501
    ("huge batch", "/v2/models/grey-run/infer", {"json": infer_body([5000, 784], [])}, 400, r"at most 4096 examples"),  # noqa: E501
]
# fmt: on


@pytest.mark.parametrize("case, path, request_args, status, message", ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_requests_get_one_line_and_a_4xx(servers, case, path, request_args, status, message):
    url = servers("grey") + path
    response = httpx.get(url) if request_args is None else httpx.post(url, **request_args)
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and "\n" not in body["error"]
    assert __import__("re").search(message, body["error"]), body["error"]


def test_odd_but_valid_fields_are_ignored(servers):
    body = infer_body([1, 784], ZEROS, outputs=[{"name": "logits", "parameters": [1]}], parameters="x", id=7)
    response = httpx.post(servers("grey") + "/v2/models/grey-run/infer", json=body)
    assert response.status_code == 200, response.text
    assert [o["name"] for o in response.json()["outputs"]] == ["logits"] and "id" not in response.json()


def test_openapi_documents_the_protocol(servers):
    document = httpx.get(servers("grey") + "/openapi.json").json()
    infer = document["paths"]["/v2/models/{name}/infer"]["post"]
    schema = infer["requestBody"]["content"]["application/json"]["schema"]
    assert schema["title"] == "InferRequest" and schema["required"] == ["inputs"]
    assert schema["properties"]["inputs"]["items"]["properties"]["datatype"]["enum"] == ["FP32", "UINT8"]
    ok = infer["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/InferResponse"}
    assert {"InferResponse", "ModelMetadata"} <= set(document["components"]["schemas"])
    assert {"/v2/health/live", "/v2/health/ready", "/v2/models/{name}", "/v2/models/{name}/ready"} <= set(
        document["paths"]
    )
