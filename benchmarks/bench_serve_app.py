"""Microseconds per request inside the serve app, without network or server: where a request's time goes.

Calls the ASGI app of ``softmaxreg serve`` directly, one request after another, with the requests
that ``bench_serve.py`` sends over HTTP (``GET /api/health``, a 28×28 PNG to ``POST /api/predict``),
and prints the time per request of each and their ratio. ``--profile`` adds cProfile's top functions
of the PNG request. What uvicorn adds per request (about 110 µs on the 2-core development machine)
comes on top: ``bench_serve.py`` measures the whole.

Usage: python benchmarks/bench_serve_app.py [RUN_DIR] [--requests 3000] [--profile]
(without RUN_DIR it trains a 1-epoch run on Fashion-MNIST into a temporary folder first).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_serve import _train_run, requests


def _scope(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """The ASGI scope and body of a raw HTTP/1.1 request."""
    head, body = raw.split(b"\r\n\r\n", 1)
    request_line, *lines = head.split(b"\r\n")
    method, target, _ = request_line.split(b" ")
    path, _, query = target.partition(b"?")
    headers = [(name.lower(), value) for name, value in (line.split(b": ", 1) for line in lines)]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method.decode(),
             "scheme": "http", "path": path.decode(), "raw_path": path, "query_string": query, "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
             "state": {}}  # fmt: skip
    return scope, body


async def call(app: Any, raw: bytes) -> int:
    """Send one request to ``app``; return its status."""
    scope, body = _scope(raw)
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        status = message.get("status", status)

    await app(scope, receive, send)
    return status


async def per_request(app: Any, raw: bytes, count: int) -> float:
    """Microseconds per request, after a warm-up."""
    for _ in range(200):
        assert await call(app, raw) == 200
    started = time.perf_counter()
    for _ in range(count):
        await call(app, raw)
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", nargs="?", help="a run folder (default: train one for 1 epoch)")
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement (default 3000)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions of the PNG request")
    args = parser.parse_args()
    from softmaxreg.serve.app import create_app, one_thread_per_process

    one_thread_per_process()  # as the server does
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(args.run_dir or _train_run(Path(tmp)))
        raw = requests()
        health = asyncio.run(per_request(app, raw["health"], args.requests))
        png = asyncio.run(per_request(app, raw["png28"], args.requests))
        print(f"GET /api/health           {health:6.0f} µs per request")
        print(f"POST /api/predict (PNG)   {png:6.0f} µs per request ({png / health:.1f}× health)")
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(asyncio.run, per_request(app, raw["png28"], args.requests))
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
