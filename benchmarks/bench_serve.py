"""Requests/s and latency of the real ``softmaxreg serve``, next to its own HTTP floor and to LitServe.

Starts the server (``--port 0``, each ``--workers`` value in turn) and, with 1, 8 and 64 concurrent
keep-alive clients (``wrk`` with a Lua script for POST bodies, one client thread, loopback only; the
asyncio client of this file when ``wrk`` is not installed), measures:

- ``health``: ``GET /api/health``, the floor of this stack (uvicorn + FastAPI) on this machine;
- ``png28``: ``POST /api/predict`` with a 28×28 PNG (a Fashion-MNIST-sized upload);
- ``photo``: ``POST /api/predict`` with a photo-sized JPEG (3000×2000);
- ``pixels``: ``POST /api/predict/pixels`` with one 28×28 image as JSON numbers in [0, 1];
- ``pixels64``: the same with a batch of 64 images;
- ``v2``, ``v2x64``: ``POST /v2/models/{run}/infer``, one FP32 image ``[1, 1, 28, 28]`` / 64 of them;
- ``v2bin64``: the same 64 images as UINT8 binary tensor data (tritonclient's default encoding);
- ``litserve``: the same run's weights served by LitServe (``benchmarks/litserve_baseline.py``, a
  15-line ``LitAPI``: JSON ``{"pixels": 28×28}`` in, top-3 out), in the same run, when installed
  (``pip install "softmaxreg[bench]"``).

Targets (issue 12): png28 ≥ 50% of health's requests/s at 8 clients; png28 p99 ≤ 50 ms at 64 clients.
Targets (issue 29), 8 clients, one image per request: pixels and v2 ≥ 2× LitServe's requests/s, p99 ≤ 10 ms;
batch 64 (pixels64, v2x64) ≥ 20,000 images/s. The clients share the machine's cores with the server.

Usage: python benchmarks/bench_serve.py [RUN_DIR] [--seconds 3] [--clients 1,8,64] [--workers 1,2]
       [--only pixels,v2,litserve]
(without RUN_DIR it trains a 1-epoch run on Fashion-MNIST into a temporary folder first).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BOUNDARY = b"benchboundary"


@dataclass
class Request:
    method: str
    path: str
    content_type: str = ""
    body: bytes = b""
    images: int = 1  # images per request: images/s = requests/s × images
    headers: tuple[tuple[str, str], ...] = ()

    def raw(self) -> bytes:
        """The whole HTTP/1.1 request, for the asyncio client."""
        head = f"{self.method} {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in self.headers)
        if self.body:
            head += f"Content-Type: {self.content_type}\r\nContent-Length: {len(self.body)}\r\n"
        return (head + "\r\n").encode() + self.body


def _trouser() -> np.ndarray:
    from softmaxreg.runs.images import prepare_image

    return prepare_image(ROOT / "examples" / "images" / "trouser.png")[0]  # (28, 28) uint8


def _png28() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(_trouser()).save(buffer, format="PNG")
    return buffer.getvalue()


def _photo() -> bytes:
    with Image.open(ROOT / "examples" / "images" / "ankle-boot.jpg") as image:
        photo = image.convert("RGB").resize((3000, 2000))
    noise = np.random.default_rng(0).integers(0, 12, (2000, 3000, 3), dtype=np.uint8)  # camera-like grain
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(photo) + noise).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _multipart(path: str, name: str, data: bytes) -> Request:
    head = b'\r\nContent-Disposition: form-data; name="file"; filename="' + name.encode()
    body = b"--" + BOUNDARY + head + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + data
    body += b"\r\n--" + BOUNDARY + b"--\r\n"
    return Request("POST", path, f"multipart/form-data; boundary={BOUNDARY.decode()}", body)


def _images(n: int) -> np.ndarray:
    """``n`` variants of the trouser as pixels in [0, 1], 4 decimals (what a program sends)."""
    rng = np.random.default_rng(0)
    noisy = _trouser()[None] / 255 + rng.normal(0, 0.02, (n, 28, 28)) * (n > 1)
    return np.clip(noisy, 0, 1).round(4)


def _json(path: str, document: object, images: int = 1) -> Request:
    return Request("POST", path, "application/json", json.dumps(document, separators=(",", ":")).encode(), images)


def _binary(path: str, images: np.ndarray) -> Request:
    """An infer request with Triton's binary tensor data (what tritonclient sends by default): UINT8 bytes."""
    head = json.dumps({"inputs": [{"name": "input", "shape": [len(images), 1, 28, 28], "datatype": "UINT8",
                                   "parameters": {"binary_data_size": images.size}}]}).encode()  # fmt: skip
    headers = (("Inference-Header-Content-Length", str(len(head))),)
    return Request("POST", path, "application/octet-stream", head + images.tobytes(), len(images), headers)


def requests(run_name: str) -> dict[str, Request]:
    one, batch = _images(1), _images(64)
    infer = f"/v2/models/{run_name}/infer"

    def tensor(x: np.ndarray) -> dict:
        data = x.ravel().tolist()
        return {"inputs": [{"name": "input", "shape": [len(x), 1, 28, 28], "datatype": "FP32", "data": data}]}

    return {
        "health": Request("GET", "/api/health"),
        "png28": _multipart("/api/predict", "trouser28.png", _png28()),
        "photo": _multipart("/api/predict", "photo.jpg", _photo()),
        "pixels": _json("/api/predict/pixels", {"pixels": one[0].tolist()}),
        "pixels64": _json("/api/predict/pixels", {"pixels": batch.tolist()}, 64),
        "v2": _json(infer, tensor(one)),
        "v2x64": _json(infer, tensor(batch), 64),
        "v2bin64": _binary(infer, np.rint(batch * 255).astype(np.uint8)),
        "litserve": _json("/predict", {"pixels": one[0].tolist()}),
    }


# -- clients ---------------------------------------------------------------------------------------


def measure_wrk(url: str, request: Request, clients: int, seconds: float, scratch: Path) -> dict[str, float]:
    """``wrk`` on one thread with ``clients`` connections; a Lua script sends the body."""
    body, script = scratch / "body", scratch / "request.lua"
    body.write_bytes(request.body)
    lines = [f'wrk.method = "{request.method}"'] + [f'wrk.headers["{k}"] = "{v}"' for k, v in request.headers]
    if request.body:
        lines += [f'wrk.headers["Content-Type"] = "{request.content_type}"',
                  f'local f = assert(io.open("{body}", "rb"))', "wrk.body = f:read('*a')", "f:close()"]  # fmt: skip
    script.write_text("\n".join(lines) + "\n")
    command = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script)]
    out = subprocess.run([*command, url + request.path], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    percentiles = {p: _ms(*re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()) for p in (50, 99)}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad[1]) if bad else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)
    return {"rps": rps, "p50": percentiles[50], "p99": percentiles[99], "errors": errors}


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


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


async def _measure_asyncio(host: str, port: int, request: bytes, clients: int, seconds: float) -> dict[str, float]:
    await asyncio.gather(*(_client(host, port, request, time.perf_counter() + 0.3, []) for _ in range(clients)))
    latencies: list[float] = []
    start = time.perf_counter()
    errors = await asyncio.gather(*(_client(host, port, request, start + seconds, latencies) for _ in range(clients)))
    elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {"rps": len(ms) / elapsed, "p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)),
            "errors": sum(errors)}  # fmt: skip


def measure(url: str, request: Request, clients: int, seconds: float, scratch: Path) -> dict[str, float]:
    if shutil.which("wrk"):
        return measure_wrk(url, request, clients, seconds, scratch)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return asyncio.run(_measure_asyncio(host, int(port), request.raw(), clients, seconds))


# -- servers ---------------------------------------------------------------------------------------


def start_server(run_dir: Path, workers: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "softmaxreg", "serve", str(run_dir), "--port", "0", "--workers", str(workers)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = process.stdout.readline()
    if not line.startswith("serving "):
        process.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return process, "http://" + line.rsplit("http://", 1)[1].strip()


def start_litserve(run_dir: Path) -> tuple[subprocess.Popen, str] | None:
    try:
        import litserve  # noqa: F401
    except ImportError:
        print('litserve: not installed (pip install "softmaxreg[bench]"); no baseline')
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "litserve_baseline.py"), str(run_dir), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tempfile.gettempdir(),
        start_new_session=True,
    )  # fmt: skip  (its own process group: LitServe's server and inference processes are stopped with it)
    return process, f"http://127.0.0.1:{port}"


def _wait_ready(url: str, path: str) -> None:
    import urllib.request

    for _ in range(600):  # workers (and LitServe's inference worker) start after the port is announced
        try:
            with urllib.request.urlopen(url + path, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} never became ready")


def _stop(process: subprocess.Popen, group: bool = False) -> None:
    """SIGTERM (to the whole process group when ``group``), then SIGKILL after 30 s."""
    import os
    import signal

    def send(sig: int) -> None:
        if group:
            os.killpg(process.pid, sig)  # the group's id is the leader's pid (start_new_session)
        else:
            process.send_signal(sig)

    send(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()
    if group:
        time.sleep(1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # children that outlived the leader


def _line(label: str, name: str, n: int, r: dict[str, float], images: int) -> str:
    per_image = f"  {r['rps'] * images:9.0f} images/s" if images > 1 else ""
    return (f"{label:10s} {name:9s} {n:3d} clients  {r['rps']:8.0f} req/s  p50 {r['p50']:7.2f} ms  "
            f"p99 {r['p99']:7.2f} ms  errors {r['errors']:.0f}{per_image}")  # fmt: skip


def bench(run_dir: Path, workers: int, names: list[str], clients: list[int], seconds: float,
          scratch: Path) -> dict[tuple[str, int], dict[str, float]]:  # fmt: skip
    process, url = start_server(run_dir, workers)
    results = {}
    try:
        _wait_ready(url, "/v2/health/ready")
        for n in clients:  # each client count's endpoints one after the other: a ratio of neighbours drifts less
            for name in names:
                request = requests_cache[name]
                results[name, n] = r = measure(url, request, n, seconds, scratch)
                print(_line(f"workers {workers}", name, n, r, request.images), flush=True)
    finally:
        _stop(process)
    return results


def bench_litserve(run_dir: Path, clients: list[int], seconds: float, scratch: Path) -> dict[int, dict[str, float]]:
    started = start_litserve(run_dir)
    if started is None:
        return {}
    process, url = started
    results = {}
    try:
        _wait_ready(url, "/health")
        for n in clients:
            results[n] = r = measure(url, requests_cache["litserve"], n, seconds, scratch)
            print(_line("LitServe", "pixels", n, r, 1), flush=True)
    finally:
        _stop(process, group=True)
    return results


requests_cache: dict[str, Request] = {}


def _train_run(folder: Path) -> Path:
    out = folder / "run"
    subprocess.run(
        [sys.executable, "-m", "softmaxreg", "train", "--epochs", "1", "--quiet", "--out", str(out)], check=True
    )
    return out


def _summary(workers: int, r: dict, lit: dict[int, dict[str, float]]) -> None:
    if ("png28", 8) in r and ("health", 8) in r:
        ratio = r["png28", 8]["rps"] / r["health", 8]["rps"]
        print(f"workers {workers}: png28/health at 8 clients {ratio:.0%} (target >= 50%)")
    if ("png28", 64) in r:
        print(f"workers {workers}: png28 p99 at 64 clients {r['png28', 64]['p99']:.1f} ms (target <= 50 ms)")
    for name in ("pixels", "v2"):
        if (name, 8) in r:
            versus = f", {r[name, 8]['rps'] / lit[8]['rps']:.1f}x LitServe (target >= 2x)" if 8 in lit else ""
            print(f"workers {workers}: {name} at 8 clients {r[name, 8]['rps']:.0f} req/s{versus}, "
                  f"p99 {r[name, 8]['p99']:.1f} ms (target <= 10 ms)")  # fmt: skip
    for name in ("pixels64", "v2x64", "v2bin64"):
        best = max((r[name, n]["rps"] * 64 for n in (1, 8, 64) if (name, n) in r), default=None)
        if best is not None:
            print(f"workers {workers}: {name} best {best:.0f} images/s (target >= 20,000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", nargs="?", help="a run folder (default: train one for 1 epoch)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement (default 3)")
    parser.add_argument("--clients", default="1,8,64", help="concurrent clients, comma-separated (default 1,8,64)")
    parser.add_argument("--workers", default="1,2", help="server processes to try, comma-separated (default 1,2)")
    parser.add_argument("--only", default="health,png28,photo,pixels,pixels64,v2,v2x64,v2bin64,litserve",
                        help="which requests, comma-separated (default: all)")  # fmt: skip
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    names = args.only.split(",")
    print(f"client: {'wrk, 1 thread' if shutil.which('wrk') else 'asyncio (wrk not installed)'}; "
          f"{len(__import__('os').sched_getaffinity(0))} cores shared by clients and servers")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(args.run_dir) if args.run_dir else _train_run(Path(tmp))
        requests_cache.update(requests(run_dir.name))
        sizes = ", ".join(f"{name} {len(requests_cache[name].body):,}" for name in names if requests_cache[name].body)
        print(f"request bodies (bytes): {sizes}")
        lit = bench_litserve(run_dir, clients, args.seconds, Path(tmp)) if "litserve" in names else {}
        served = [name for name in names if name != "litserve"]
        for workers in [int(w) for w in args.workers.split(",")] if served else []:
            _summary(workers, bench(run_dir, workers, served, clients, args.seconds, Path(tmp)), lit)


if __name__ == "__main__":
    main()
