"""Requests/s and latency of the real ``softmaxreg serve``, next to its own HTTP floor.

Starts the server (``--port 0``, each ``--workers`` value in turn) and, with 1, 8 and 64 concurrent
keep-alive clients (one asyncio loop in this process, raw HTTP/1.1), measures:

- ``health``: ``GET /api/health``, the floor of this stack (uvicorn + FastAPI) on this machine;
- ``png28``: ``POST /api/predict`` with a 28×28 PNG (a Fashion-MNIST-sized upload);
- ``photo``: ``POST /api/predict`` with a photo-sized JPEG (3000×2000).

Targets (issue 12): png28 ≥ 50% of health's requests/s at 8 clients; png28 p99 ≤ 50 ms at 64 clients.
The clients share the machine's cores with the server: on a small machine they cap the floor too.

Usage: python benchmarks/bench_serve.py [RUN_DIR] [--seconds 3] [--clients 1,8,64] [--workers 1,2]
(without RUN_DIR it trains a 1-epoch run on Fashion-MNIST into a temporary folder first).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BOUNDARY = b"benchboundary"


def _png28() -> bytes:
    from softmaxreg.runs.images import prepare_image

    pixels, _ = prepare_image(ROOT / "examples" / "images" / "trouser.png")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _photo() -> bytes:
    with Image.open(ROOT / "examples" / "images" / "ankle-boot.jpg") as image:
        photo = image.convert("RGB").resize((3000, 2000))
    noise = np.random.default_rng(0).integers(0, 12, (2000, 3000, 3), dtype=np.uint8)  # camera-like grain
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(photo) + noise).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _post(path: str, name: str, data: bytes) -> bytes:
    body = (b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="' + name.encode()
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + data + b"\r\n--" + BOUNDARY + b"--\r\n")  # fmt: skip
    head = (f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: multipart/form-data; boundary={BOUNDARY.decode()}"
            f"\r\nContent-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    return head + body


def requests() -> dict[str, bytes]:
    return {
        "health": b"GET /api/health HTTP/1.1\r\nHost: bench\r\n\r\n",
        "png28": _post("/api/predict", "trouser28.png", _png28()),
        "photo": _post("/api/predict", "photo.jpg", _photo()),
    }


async def _client(host: str, port: int, request: bytes, deadline: float, latencies: list[float]) -> int:
    """Send ``request`` again and again on one connection until ``deadline``; return the non-200 count."""
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - start)
        errors += not head.startswith(b"HTTP/1.1 200")
    writer.close()
    return errors


async def measure(host: str, port: int, request: bytes, clients: int, seconds: float) -> dict[str, float]:
    await asyncio.gather(
        *(_client(host, port, request, time.perf_counter() + 0.3, []) for _ in range(clients))
    )  # warm up
    latencies: list[float] = []
    start = time.perf_counter()
    errors = await asyncio.gather(*(_client(host, port, request, start + seconds, latencies) for _ in range(clients)))
    elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {"rps": len(ms) / elapsed, "p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)),
            "errors": sum(errors)}  # fmt: skip


def start_server(run_dir: Path, workers: int) -> tuple[subprocess.Popen, str, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "softmaxreg", "serve", str(run_dir), "--port", "0", "--workers", str(workers)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()
    if not line.startswith("serving "):
        process.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    host, port = line.rsplit("http://", 1)[1].strip().rsplit(":", 1)
    return process, host, int(port)


async def _wait_ready(host: str, port: int) -> None:
    for _ in range(200):  # workers start after the line is printed
        try:
            await measure(host, port, requests_cache["health"], 1, 0.05)
            return
        except OSError:
            await asyncio.sleep(0.1)


requests_cache: dict[str, bytes] = {}


def bench(run_dir: Path, workers: int, clients: list[int], seconds: float) -> dict[tuple[str, int], dict[str, float]]:
    process, host, port = start_server(run_dir, workers)
    results = {}
    try:
        asyncio.run(_wait_ready(host, port))
        for n in clients:  # each client count's endpoints one after the other: a ratio of neighbours drifts less
            for name, request in requests_cache.items():
                r = asyncio.run(measure(host, port, request, n, seconds))
                results[name, n] = r
                print(f"workers {workers}  {name:7s} {n:3d} clients  {r['rps']:8.0f} req/s  p50 {r['p50']:7.2f} ms  "
                      f"p99 {r['p99']:7.2f} ms  errors {r['errors']}", flush=True)  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=30)
    return results


def _train_run(folder: Path) -> Path:
    out = folder / "run"
    subprocess.run(
        [sys.executable, "-m", "softmaxreg", "train", "--epochs", "1", "--quiet", "--out", str(out)], check=True
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", nargs="?", help="a run folder (default: train one for 1 epoch)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement (default 3)")
    parser.add_argument("--clients", default="1,8,64", help="concurrent clients, comma-separated (default 1,8,64)")
    parser.add_argument("--workers", default="1,2", help="server processes to try, comma-separated (default 1,2)")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    requests_cache.update(requests())
    print(
        f"bodies: png28 {len(requests_cache['png28']):,} bytes, photo {len(requests_cache['photo']):,} bytes (3000x2000 JPEG)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(args.run_dir) if args.run_dir else _train_run(Path(tmp))
        for workers in [int(w) for w in args.workers.split(",")]:
            r = bench(run_dir, workers, clients, args.seconds)
            if ("png28", 8) in r and ("health", 8) in r:
                ratio = r["png28", 8]["rps"] / r["health", 8]["rps"]
                print(f"workers {workers}: png28/health at 8 clients {ratio:.0%} (target >= 50%)")
            if ("png28", 64) in r:
                print(f"workers {workers}: png28 p99 at 64 clients {r['png28', 64]['p99']:.1f} ms (target <= 50 ms)")


if __name__ == "__main__":
    main()
