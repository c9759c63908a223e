"""The fast lane (`softmaxreg.serve.fastlane`) answers exactly as FastAPI's routing does: the same status,
body and headers for good and bad requests to the hot routes, and it takes those routes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from served_runs import GREY, make_run
from test_app import TestClient

from softmaxreg.serve import fastlane
from softmaxreg.serve.app import create_app

PIXELS = np.random.default_rng(0).random((28, 28)).round(3).tolist()
INFER = {"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": sum(PIXELS, [])}]}
ROOT = Path(__file__).resolve().parents[2]
HEADERS = ("content-type", "x-content-type-options", "content-security-policy", "cache-control", "allow")


def requests(name: str) -> list[tuple[str, str, dict]]:
    """``(method, path, httpx options)``: the hot routes' happy paths and each way they can go wrong."""
    png = (ROOT / "examples" / "images" / "trouser.png").read_bytes()
    return [
        ("POST", "/api/predict", {"files": [("file", ("trouser.png", png)), ("file", ("b.png", png))]}),
        ("POST", "/api/predict?explain=true&lang=vi", {"files": [("file", ("trouser.png", png))]}),
        ("POST", "/api/predict", {"files": [("file", ("x.png", b"not an image"))]}),  # 400
        ("POST", "/api/predict", {"json": {"pixels": PIXELS}}),  # 415
        ("POST", "/api/predict?invert=maybe", {"files": [("file", ("trouser.png", png))]}),  # 422
        ("POST", "/api/predict/pixels", {"json": {"pixels": PIXELS}}),
        ("POST", "/api/predict/pixels?explain=true&top_k=10&lang=vi", {"json": {"pixels": [PIXELS, PIXELS]}}),
        ("POST", "/api/predict/pixels", {"json": {"pixels": PIXELS[:3]}}),  # 400: the shape
        ("POST", "/api/predict/pixels?lang=vi", {"json": {"pixels": [[2.0] * 28] * 28}}),  # 400, in Vietnamese
        ("POST", "/api/predict/pixels", {"content": b"{", "headers": {"content-type": "application/json"}}),
        ("POST", "/api/predict/pixels", {"data": {"pixels": "1"}}),  # 415: a form
        ("POST", "/api/predict/pixels?top_k=0", {"json": {"pixels": PIXELS}}),  # 422
        ("POST", "/api/predict/pixels", {"json": {"pixels": PIXELS}, "headers": {"host": "evil.example"}}),  # 403
        ("POST", "/api/predict/pixels", {"content": b"x" * 2_000_000, "headers": {"content-type": "application/json"}}),
        ("POST", "/api/predict/pixels/", {"json": {"pixels": PIXELS}}),  # the router redirects (307), followed
        ("GET", "/api/predict/pixels", {}),  # 405
        ("POST", f"/v2/models/{name}/infer", {"json": INFER}),
        ("POST", f"/v2/models/{name}/infer", {"json": {**INFER, "outputs": [{"name": "logits"}], "id": "7"}}),
        ("POST", "/v2/models/other/infer", {"json": INFER}),  # 404: not the served model
        ("POST", f"/v2/models/{'x' * 256}/infer", {"json": INFER}),  # 422: a name longer than 255
        ("POST", f"/v2/models/{name}/infer", {"json": {"inputs": []}}),  # 400
        ("POST", f"/v2/models/{name}/extra/infer", {"json": INFER}),  # 404
    ]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("lane") / "lane-run", GREY, [f"c{i}" for i in range(10)])


def answers(app, name: str) -> list[tuple[int, object, dict]]:
    found = []
    with TestClient(app) as client:
        for method, path, options in requests(name):
            response = client.request(method, path, **options)
            try:
                body = response.json()
            except json.JSONDecodeError:
                body = response.text
            found.append((response.status_code, body, {h: response.headers.get(h) for h in HEADERS}))
    return found


def test_the_fast_lane_answers_as_the_router_does(run_dir):
    with_lane = create_app(run_dir, max_body=1_000_000)
    assert isinstance(with_lane.router.middleware_stack, fastlane.FastLane)
    without = create_app(run_dir, max_body=1_000_000)
    without.router.middleware_stack = without.router.middleware_stack.app  # the router alone
    fast, routed = answers(with_lane, "lane-run"), answers(without, "lane-run")
    for request, a, b in zip(requests("lane-run"), fast, routed, strict=True):
        assert a == b, request[:2]
    statuses = [status for status, _, _ in fast]
    uploads, pixels, infer = statuses[:5], statuses[5:16], statuses[16:]
    assert uploads == [200, 200, 400, 415, 422]
    assert pixels == [200, 200, 400, 400, 400, 415, 422, 403, 413, 200, 405]
    assert infer == [200, 200, 404, 422, 400, 404]


def test_the_fast_lane_takes_the_hot_routes(run_dir, monkeypatch):
    """Without the router: the hot routes still answer through the lane, and nothing else does."""
    app = create_app(run_dir)
    lane = app.router.middleware_stack
    router = lane.app

    async def no_router(scope, receive, send):
        if scope["type"] != "http":  # the app's start and end (lifespan)
            return await router(scope, receive, send)
        raise AssertionError(f"the router was asked for {scope['path']}")

    lane.app = no_router
    with TestClient(app) as client:
        assert client.post("/api/predict/pixels", json={"pixels": PIXELS}).status_code == 200
        png = (ROOT / "examples" / "images" / "trouser.png").read_bytes()
        assert client.post("/api/predict", files=[("file", ("t.png", png))]).status_code == 200
        assert client.post("/v2/models/lane-run/infer", json=INFER).status_code == 200
        with pytest.raises(AssertionError, match="the router was asked for /api/health"):
            client.get("/api/health")
