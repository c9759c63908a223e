"""The JSON API of the real ``softmaxreg serve`` process: results, every error status, security headers."""

from __future__ import annotations

import io
import json
import re
import socket
import struct
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

httpx = pytest.importorskip("httpx")
pytestmark = pytest.mark.real_data

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "images"
LIMIT = 10 * 1000 * 1000


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def bomb_png() -> bytes:
    """A valid 1×1 PNG whose header claims 20000×20000 pixels (400 million: a decompression bomb)."""
    data = bytearray(png_bytes(np.zeros((1, 1), dtype=np.uint8)))
    ihdr = bytes(data[12:16]) + struct.pack(">II", 20000, 20000) + bytes(data[24:29])
    data[16:24] = ihdr[4:12]
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(data)


def test_health_says_which_run_and_epoch(client, trained_run):
    body = client.get("/api/health").json()
    assert body == {
        "status": "ok",
        "run": trained_run.dir.name,  # served by its absolute path, which only a request with the token is told
        "model_epoch": 3,
        "val_acc": pytest.approx(0.82, abs=0.03),
    }


@pytest.mark.parametrize(
    "query, options", [("", []), ("?top_k=5&lang=vi&invert=auto", ["--top-k", "5", "--lang", "vi"])]
)
def test_predict_equals_predict_json(client, trained_run, query, options):
    names = ["trouser.png", "ankle-boot.jpg"]
    files = [("file", (name, (EXAMPLES / name).read_bytes())) for name in names]
    response = client.post("/api/predict" + query, files=files)
    cli = run_cli("predict", str(trained_run.dir), *names, "--json", *options, cwd=EXAMPLES)
    assert cli.returncode == 0, cli.stderr
    assert response.status_code == 200, response.text
    assert response.json() == {"results": json.loads(cli.stdout)}  # same keys, same order, same probabilities
    assert [r["top_k"][0]["label"] for r in response.json()["results"]] == [1, 9]  # trouser, ankle boot


@pytest.mark.parametrize(
    "path",
    ["/api/predict?explain=true&top_k=10", "/api/predict?top_k=1&invert=no", "/api/predict/pixels",
     "/api/predict/pixels?explain=true"],
)  # fmt: skip
def test_every_prediction_is_the_documented_results_document(client, path):
    """Handlers send their results as built (no per-request validation: it cost more than the
    prediction), so the contract in /openapi.json is checked here."""
    from softmaxreg.serve.schemas import Results

    if "/pixels" in path:
        response = client.post(path, json={"pixels": [[0.5] * 28] * 28})
    else:
        response = client.post(path, files=[("file", ("t.png", (EXAMPLES / "trouser.png").read_bytes()))] * 2)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert Results.model_validate(body).model_dump(by_alias=True, exclude_none=True) == body


def test_pixels_match_the_same_image_uploaded_and_explain_the_scores(client, fashion):
    pixels = fashion.val.images[0, 0].numpy()  # (28, 28) uint8
    uploaded = client.post("/api/predict?explain=true&top_k=10", files={"file": ("x.png", png_bytes(pixels))}).json()
    drawn = client.post("/api/predict/pixels?top_k=10&explain=true", json={"pixels": (pixels / 255).tolist()}).json()
    (a,), (b,) = uploaded["results"], drawn["results"]
    assert a["top_k"] == b["top_k"] and a["input"] == b["input"] == pixels.tolist()
    model = client.get("/api/model").json()
    for label, (logit, contribution) in enumerate(zip(b["logits"], b["contributions"], strict=True)):
        assert np.sum(contribution) + model["biases"][label] == pytest.approx(logit, abs=1e-3)  # w_c · x + b_c
    assert sum(b["probabilities"]) == pytest.approx(1)
    assert set(client.post("/api/predict", files={"file": ("x.png", png_bytes(pixels))}).json()["results"][0]) == {
        "image", "inverted", "top_k"}  # fmt: skip


TEXT = ("file", ("notes.txt", b"hello, not an image"))
ZEROS = [[0.0] * 28] * 28
CUT_SHORT = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nPNG'
BAD_REQUESTS = [
    # (id, method, path, request options, status, message pattern)
    ("not an image", "POST", "/api/predict", {"files": [TEXT]}, 400, r"Expected a PNG or JPEG image in notes\.txt"),
    ("empty file", "POST", "/api/predict", {"files": [("file", ("e.png", b""))]}, 400, r"empty file \(0 bytes\)"),
    ("truncated png", "POST", "/api/predict",
     {"files": [("file", ("t.png", (EXAMPLES / "trouser.png").read_bytes()[:300]))]},
     400, r"Expected a complete image in t\.png; got a truncated or damaged file"),
    ("damaged jpeg", "POST", "/api/predict",
     {"files": [("file", ("d.jpg", (EXAMPLES / "ankle-boot.jpg").read_bytes()[:200] + b"\0" * 500))]},
     400, r"Expected a complete image in d\.jpg"),
    ("decompression bomb", "POST", "/api/predict", {"files": [("file", ("bomb.png", bomb_png()))]}, 400,
     r"at most 16,000,000 pixels in bomb\.png; got 400,000,000 pixels.*decompression bomb"),
    ("no file field", "POST", "/api/predict", {"files": [("image", ("a.png", b"x"))]},
     400, r"at least one form field named `file`"),
    ("file field as text", "POST", "/api/predict", {"data": {"file": "abc"}, "files": [("other", ("a", b"x"))]},
     400, r"a plain text field"),
    ("pixels 1 row", "POST", "/api/predict/pixels", {"json": {"pixels": [[0.5] * 28]}},
     400, r"28 rows of 28 numbers; got 1 row of 28 numbers"),
    ("pixels ragged", "POST", "/api/predict/pixels", {"json": {"pixels": ZEROS[:27] + [[0.0] * 27]}},
     400, r"28 rows of 28 numbers; got 28 rows of 27/28"),
    ("pixels out of range", "POST", "/api/predict/pixels", {"json": {"pixels": ZEROS[:27] + [[2.0] * 28]}},
     400, r"every pixel in \[0, 1\].*got 2\.0"),
    ("pixels not numbers", "POST", "/api/predict/pixels", {"json": {"pixels": [["a"] * 28] * 28}},
     400, r"`pixels\.0\.0` must be a valid number"),
    ("pixels missing", "POST", "/api/predict/pixels", {"json": {"image": []}}, 400, r"`pixels` is required"),
    ("not json", "POST", "/api/predict/pixels",
     {"content": b"{pixels", "headers": {"content-type": "application/json"}},
     400, r"Expected a JSON body; it does not parse"),
    ("form without boundary", "POST", "/api/predict",
     {"content": b"abc", "headers": {"content-type": "multipart/form-data"}}, 400,
     r"multipart/form-data body with fields named `file`; it does not parse \(Content-Type needs a boundary"),
    ("form cut short", "POST", "/api/predict",
     {"content": CUT_SHORT, "headers": {"content-type": "multipart/form-data; boundary=b"}}, 400,
     r"it does not parse \(part 1 never ends: the body is cut short\)"),
    ("65 files", "POST", "/api/predict", {"files": [("file", ("a.png", b"x"))] * 65},
     400, r"Expected at most 64 files in one request; got more\. Send them in several requests\."),
    ("json to predict", "POST", "/api/predict", {"json": {"pixels": ZEROS}},
     415, r"Expected multipart/form-data.*got 'application/json'"),
    ("no content type", "POST", "/api/predict", {"content": b"abc"},
     415, r"Expected multipart/form-data.*got 'no content type'"),
    ("text to pixels", "POST", "/api/predict/pixels", {"content": b"[]", "headers": {"content-type": "text/plain"}},
     415, r"Expected application/json.*got 'text/plain'"),
    ("form to pixels", "POST", "/api/predict/pixels", {"files": [TEXT]},
     415, r"Expected application/json.*got 'multipart/form-data"),
    ("top_k 0", "POST", "/api/predict?top_k=0", {"files": [TEXT]},
     422, r"`top_k` must be greater than or equal to 1; got '0'"),
    ("top_k 11", "POST", "/api/predict/pixels?top_k=11", {"json": {"pixels": ZEROS}},
     422, r"`top_k` must be less than or equal to 10; got '11'"),
    ("top_k word", "POST", "/api/predict?top_k=three", {"files": [TEXT]}, 422, r"`top_k` must be a valid integer"),
    ("invert maybe", "POST", "/api/predict?invert=maybe", {"files": [TEXT]},
     422, r"`invert` must be 'auto', 'yes' or 'no'; got 'maybe'"),
    ("lang fr", "POST", "/api/predict?lang=fr", {"files": [TEXT]}, 422, r"`lang` must be 'en' or 'vi'; got 'fr'"),
    ("cell label 10", "GET", "/api/testset/confusion/10/0", {},
     422, r"`label` must be a class index, 0\.\.9; got 10\."),
    ("image index", "GET", "/api/testset/images/10000", {},
     422, r"`index` must be a test image index, 0\.\.9999; got 10000"),
    ("unknown path", "GET", "/api/nothing", {}, 404, r"No such page or endpoint: /api/nothing"),
    ("traversal", "GET", "/static/../../pyproject.toml", {}, 404, r"No such page or endpoint"),
    ("encoded traversal", "GET", "/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml", {}, 404, r"Not Found|No such page"),
    ("GET predict", "GET", "/api/predict", {}, 405, r"GET is not allowed on /api/predict"),
]  # fmt: skip


@pytest.mark.parametrize(
    "method, path, options, status, pattern", [b[1:] for b in BAD_REQUESTS], ids=[b[0] for b in BAD_REQUESTS]
)
def test_a_bad_request_gets_its_status_and_one_line_and_the_server_goes_on(
    client, method, path, options, status, pattern
):
    response = client.request(method, path, **options)
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and "\n" not in body["error"] and "Traceback" not in body["error"]
    assert re.search(pattern, body["error"]), body["error"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/health").status_code == 200


def _raw_request(url: str, head: bytes, chunks: list[bytes]) -> bytes:
    """Send a request by hand (to control its framing); return what the server answered."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all: what we want
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
                if b"\r\n\r\n" in answer and answer.endswith(b"}"):
                    break
        except ConnectionResetError:
            pass
        return answer


def test_a_body_over_the_limit_is_refused_from_its_length_without_reading_it(server, client):
    head = (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 20000000\r\n\r\n")  # fmt: skip
    answer = _raw_request(server, head, [b"x" * 1000])  # 1 kB of the announced 20 MB: never waited for
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'{"error":"Expected a request body of at most 10,000,000 bytes; got 20,000,000 bytes.' in answer
    assert client.get("/api/health").status_code == 200


def test_a_chunked_body_over_the_limit_is_refused_once_past_the_limit(server, client):
    head = (b"POST /api/predict/pixels HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    chunk = b"%x\r\n" % (1 << 20) + b" " * (1 << 20) + b"\r\n"
    answer = _raw_request(server, head, [chunk] * 11 + [b"0\r\n\r\n"])  # 11 MiB > 10 MB
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"got more than 10,000,000 bytes" in answer
    assert client.get("/api/health").status_code == 200


@pytest.mark.parametrize(
    "path", ["/", "/static/js/app.js", "/static/style.css", "/api/health", "/api/nothing", "/docs", "/openapi.json"]
)
def test_every_response_forbids_other_origins_inline_script_and_sniffing(client, path):
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp and "unsafe-inline'; img" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in headers


def test_docs_work_offline_from_the_package(client):
    page = client.get("/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in page and "http" not in page.replace("http-equiv", "")
    assert "<script>" not in page  # no inline script: the CSP would block it
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/js/docs.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/health", "/api/predict", "/api/predict/pixels"} <= set(paths)
    assert "multipart/form-data" in paths["/api/predict"]["post"]["requestBody"]["content"]
    parameters = {
        p["name"]: p["schema"] for p in paths["/api/predict"]["post"]["parameters"]
    }  # read by the handler itself
    assert parameters["top_k"]["maximum"] == 10 and parameters["invert"]["enum"] == ["auto", "yes", "no"]
    assert set(parameters) == {"top_k", "invert", "lang", "explain"}


def test_the_test_set_browser_endpoints(client):
    info = client.get("/api/testset").json()
    cm = np.array(info["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 10000 and info["accuracy"] == pytest.approx(np.trace(cm) / 10000)
    cell = client.get("/api/testset/confusion/0/6?limit=5").json()
    assert cell["count"] == cm[0, 6] and len(cell["indices"]) == min(5, cm[0, 6])
    mistake = client.get("/api/testset/random?mistake=true").json()
    assert mistake["label"] != mistake["predicted"]
    png = client.get(f"/api/testset/images/{mistake['index']}.png")
    assert png.headers["content-type"] == "image/png"
    assert np.asarray(Image.open(io.BytesIO(png.content))).tolist() == mistake["pixels"]
    run = client.get("/api/run").json()
    assert run["test_accuracy"] == pytest.approx(info["accuracy"]) and len(run["history"]) == 3


def test_the_run_gives_the_boards_training_loss_several_times_an_epoch(client):
    run = client.get("/api/run").json()
    points = run["train_points"]  # from the run folder's board (resume.json): d2l's two points an epoch
    assert len(points) == 2 * len(run["history"]) and all(0 < x <= len(run["history"]) for x, _ in points)
    assert points[0][1] > points[-1][1]
