"""Where a request's time goes inside the app: cProfile over the ASGI app called directly (no HTTP, no client).

Builds the app for RUN_DIR as ``softmaxreg serve`` does, sends each request N times through the whole
ASGI stack (middleware, routing, handler, response) and prints the time per request and the functions
that took most of it. Run it on another checkout's sources to compare before and after:
``PYTHONPATH=OTHER/src python benchmarks/profile_serve.py RUN_DIR``.

Usage: python benchmarks/profile_serve.py RUN_DIR [--requests 2000] [--only pixels,v2] [--top 12]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serve import Request, requests  # noqa: E402


async def call(app, request: Request) -> int:
    """One request through the ASGI app; its status."""
    path, _, query = request.path.partition("?")
    headers = [(b"host", b"127.0.0.1")]  # a host the server allows (its Host allowlist)
    if request.body:
        headers += [
            (b"content-type", request.content_type.encode()),
            (b"content-length", str(len(request.body)).encode()),
        ]
    headers += [(name.lower().encode(), value.encode()) for name, value in request.headers]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}  # fmt: skip
    sent = False
    status = 0

    async def receive():
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": request.body, "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--only", default="pixels,pixels64,v2,v2x64,v2bin64")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    from softmaxreg.serve.app import create_app, one_thread_per_process

    one_thread_per_process()
    app = create_app(args.run_dir)
    cache = requests(Path(args.run_dir).name)
    for name in args.only.split(","):
        request = cache[name]
        n = max(20, args.requests // request.images)

        async def run(count: int, request: Request = request) -> list[int]:
            return [await call(app, request) for _ in range(count)]

        statuses = asyncio.run(run(20))  # warm up (and the first request builds caches)
        if set(statuses) != {200}:
            print(f"{name}: status {sorted(set(statuses))}; skipped")
            continue
        start = time.perf_counter()
        asyncio.run(run(n))
        per_request = (time.perf_counter() - start) / n
        profile = cProfile.Profile()
        profile.enable()
        asyncio.run(run(n))
        profile.disable()
        print(f"\n== {name}: {per_request * 1e6:.0f} µs a request without the profiler "
              f"({request.images / per_request:,.0f} images/s), {n} requests")  # fmt: skip
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-(args.top + 2) * 120 :])


if __name__ == "__main__":
    main()
