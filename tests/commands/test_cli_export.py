"""`softmaxreg export RUN_DIR`: the real model as ONNX, run by ONNX Runtime on the 10,000 real test images."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import run_cli
from PIL import Image

from softmaxreg.runs.checkpoint import load_model
from softmaxreg.runs.inference import predict_logits

pytestmark = pytest.mark.real_data
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    """``softmaxreg export`` of the session's trained run, in a subprocess, to a file outside the run folder."""
    out = tmp_path_factory.mktemp("onnx") / "fashion.onnx"
    result = run_cli("export", str(trained_run.dir), "--format", "onnx", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out, result.stdout


@pytest.fixture(scope="module")
def onnx_outputs(exported, fashion):
    """ONNX Runtime's (logits, probabilities) of the 10,000 test images, in one batch."""
    session = ort.InferenceSession(str(exported[0]), providers=["CPUExecutionProvider"])
    return session, session.run(None, {"image": fashion.val.images.float().div(255).numpy()})


def test_onnx_runtime_matches_softmaxreg_on_the_10000_test_images(trained_run, fashion, onnx_outputs):
    _, (logits, probabilities) = onnx_outputs
    model, meta = load_model(trained_run.dir)
    expected = predict_logits(model, fashion.val.images)  # what evaluate computes
    expected_probabilities = torch.softmax(expected.double(), dim=1).numpy()  # what predict shows
    labels = fashion.val.labels.numpy()
    assert probabilities.shape == (10_000, 10)
    assert np.abs(probabilities - expected_probabilities).max() < 1e-5
    assert np.abs(logits - expected.numpy()).max() < 1e-4
    accuracy = (probabilities.argmax(axis=1) == labels).mean()
    assert accuracy == (expected_probabilities.argmax(axis=1) == labels).mean() == meta["val_acc"]  # evaluate's


@pytest.mark.parametrize("batch", [1, 1000])
def test_any_batch_size_gives_the_same_rows(onnx_outputs, fashion, batch):
    session, (_, probabilities) = onnx_outputs
    images = fashion.val.images[:batch].float().div(255).numpy()
    logits_b, probabilities_b = session.run(None, {"image": images})
    assert logits_b.shape == probabilities_b.shape == (batch, 10)
    np.testing.assert_allclose(probabilities_b, probabilities[:batch], atol=1e-6)


def test_onnx_runtime_matches_softmaxreg_predict_on_image_files(trained_run, exported, fashion, tmp_path):
    paths = []
    for i in range(8):  # 28×28 grey images are used as they are
        paths.append(tmp_path / f"test{i}.png")
        Image.fromarray(fashion.val.images[i, 0].numpy()).save(paths[-1])
    result = run_cli("predict", str(trained_run.dir), *map(str, paths), "--top-k", "10", "--json")
    assert result.returncode == 0, result.stderr
    shown = np.zeros((8, 10))
    for row, prediction in enumerate(json.loads(result.stdout)):
        for entry in prediction["top_k"]:
            shown[row, entry["label"]] = entry["probability"]  # rounded to 6 decimals
    session = ort.InferenceSession(str(exported[0]), providers=["CPUExecutionProvider"])
    _, probabilities = session.run(None, {"image": fashion.val.images[:8].float().div(255).numpy()})
    assert np.abs(probabilities - shown).max() < 1e-5


def test_the_file_passes_the_checker_and_carries_class_names_and_preprocessing(trained_run, exported):
    out, stdout = exported
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    described = json.loads((trained_run.dir / "model.json").read_text(encoding="utf-8"))
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["class_names"]) == described["class_names"]
    assert json.loads(props["preprocessing"]) == described["preprocessing"]
    assert props["input"] == "image: float32 (N, 1, 28, 28), pixels in [0, 1]"
    assert props["epoch"] == str(described["epoch"]) and model.producer_name == "softmaxreg"
    assert stdout.splitlines() == [
        f"wrote {out} (ONNX opset 13, {out.stat().st_size:,} bytes)",
        "input image: float32 (N, 1, 28, 28), pixels in [0, 1]; outputs logits: float32 (N, 10); "
        "probabilities: their softmax",
    ]


def test_onnx_runtime_needs_no_torch(exported, tmp_path):
    code = f"""
import sys
sys.modules["torch"] = None  # importing torch now fails
import numpy as np, onnxruntime
session = onnxruntime.InferenceSession({str(exported[0])!r}, providers=["CPUExecutionProvider"])
logits, probabilities = session.run(None, {{"image": np.zeros((3, 1, 28, 28), np.float32)}})
print(probabilities.shape, round(float(probabilities.sum()), 4))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "(3, 10) 3.0\n"


def _damage_weights(run_dir):
    weights = run_dir / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])


def _damage_description(run_dir):
    (run_dir / "model.json").write_text("{not json", encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_damage_weights, "softmaxreg: error: Expected a safetensors file in "),
        (_damage_description, "softmaxreg: error: Expected JSON in "),
    ],
)
def test_a_damaged_run_folder_is_refused_with_one_line(trained_run, tmp_path, cli_in_process, damage, message):
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run.dir, run_dir)
    damage(run_dir)
    out = tmp_path / "model.onnx"
    out.write_bytes(b"an older export")
    code, stdout, stderr = cli_in_process("export", run_dir, "--out", out)
    assert (code, stdout) == (2, "")
    assert len(stderr.splitlines()) == 1 and stderr.startswith(message), stderr
    assert out.read_bytes() == b"an older export"  # left as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "run"]  # no temporary file


def test_a_missing_run_folder_is_one_line(tmp_path, cli_in_process):
    code, _, stderr = cli_in_process("export", tmp_path / "nope")
    assert code == 2
    assert stderr == (
        f"softmaxreg: error: Expected a run folder at {tmp_path / 'nope'}; it does not exist. "
        "Pass a folder made by `softmaxreg train`.\n"
    )


def test_without_the_onnx_extra_export_names_the_pip_command(trained_run, cli_in_process, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    code, _, stderr = cli_in_process("export", trained_run.dir)
    assert code == 2
    assert stderr == (
        "softmaxreg: error: `softmaxreg export --format onnx` needs the package onnx, which is not installed. "
        'Install it with: pip install "softmaxreg[onnx]"\n'
    )
    assert not (trained_run.dir / "model.onnx").exists()
