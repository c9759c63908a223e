"""The app in this process (httpx against ASGI): its store, CORS, uploads kept in memory, a missing test set."""

from __future__ import annotations

import io
import tempfile

import numpy as np
import pytest
from conftest import train_synthetic_run
from PIL import Image

pytest.importorskip("fastapi")
from softmaxreg.serve.app import create_app  # noqa: E402
from softmaxreg.serve.state import ServedRun  # noqa: E402


def TestClient(app):  # noqa: N802
    """Starlette's test client (httpx against the app), without its warning about which httpx is installed."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient as Client
    return Client(app, base_url="http://127.0.0.1")  # a name of the server: any other Host is refused


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_synthetic_run(tmp_path_factory.mktemp("serve-app"), epochs=1)


@pytest.fixture
def no_test_set(monkeypatch, tmp_path):
    """No Fashion-MNIST anywhere: the test-set browser is off, the rest works."""
    monkeypatch.setenv("SOFTMAXREG_SYSTEM_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("SOFTMAXREG_DATA", str(tmp_path / "none"))


def photo_png(size: int = 1200) -> bytes:
    """A big noisy PNG (several MB: over Starlette's 1 MB in-memory spool)."""
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


def test_uploads_are_never_written_to_disk(run_dir, no_test_set, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an upload was written to a temporary file")

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", refuse)  # how a spooled upload reaches disk
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    data = photo_png()
    assert len(data) > 4_000_000
    with TestClient(create_app(run_dir)) as client:
        response = client.post("/api/predict", files={"file": ("big.png", data)})
    assert response.status_code == 200, response.text


def test_a_store_without_a_run_answers_503_until_a_run_is_put_in(run_dir, no_test_set):
    app = create_app(None)
    with TestClient(app) as client:
        assert client.get("/api/health").json() == {"status": "ok", "run": None, "model_epoch": None, "val_acc": None}
        response = client.post("/api/predict/pixels", json={"pixels": [[0.0] * 28] * 28})
        assert response.status_code == 503 and "No model is loaded yet" in response.json()["error"]
        app.state.store.replace(ServedRun.load(run_dir))  # as a run trained from the page would
        assert client.get("/api/health").json()["model_epoch"] == 1
        assert client.post("/api/predict/pixels", json={"pixels": [[0.0] * 28] * 28}).status_code == 200


def test_without_the_test_set_its_endpoints_say_why_and_the_rest_works(run_dir, no_test_set):
    with TestClient(create_app(run_dir)) as client:
        response = client.get("/api/testset")
        assert response.status_code == 503
        assert response.json()["error"].startswith("The Fashion-MNIST test set is not available on the server:")
        assert client.get("/api/run").json()["test_accuracy"] is None
        assert client.get("/").status_code == 200


@pytest.mark.parametrize("cors", [None, "http://localhost:3000"])
def test_cors_only_for_the_origin_given(run_dir, no_test_set, cors):
    with TestClient(create_app(run_dir, cors=cors)) as client:
        headers = client.get("/api/health", headers={"origin": "http://localhost:3000"}).headers
        other = client.get("/api/health", headers={"origin": "http://evil.example"}).headers
    assert headers.get("access-control-allow-origin") == cors
    assert "access-control-allow-origin" not in other


def test_uploads_need_no_python_multipart(run_dir, no_test_set):
    """`softmaxreg[serve]` does not install python-multipart: the app reads uploads with its own reader."""
    import subprocess
    import sys

    code = (
        "import sys, warnings; sys.modules['python_multipart'] = sys.modules['multipart'] = None\n"
        "warnings.simplefilter('ignore')\n"
        "from fastapi.testclient import TestClient\n"
        "from softmaxreg.serve.app import create_app\n"
        f"client = TestClient(create_app({str(run_dir)!r}), base_url='http://127.0.0.1')\n"
        "r = client.post('/api/predict', files=[('file', ('a.png', sys.stdin.buffer.read()))] * 2)\n"
        "print(r.status_code, len(r.json()['results']))\n"
    )
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(buffer, format="PNG")
    done = subprocess.run([sys.executable, "-c", code], input=buffer.getvalue(), capture_output=True, timeout=120)
    assert done.stdout.decode().split() == ["200", "2"], done.stderr.decode()[-2000:]
