"""Work bounded by what it costs, against the real server: pixel bombs, large decodes a few at a time,
and slow clients (slow-loris) under a lowered open-file limit. Times are asserted only with generous
bounds (a busy machine); ``benchmarks/bench_pixel_bomb.py`` measures them.
"""

from __future__ import annotations

import asyncio
import io
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import SRC, cli_env, stop_server, train_synthetic_run
from PIL import Image

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
from softmaxreg.serve.connections import HEADER_TIMEOUT  # noqa: E402
from softmaxreg.serve.decoding import Busy, DecodeSlots  # noqa: E402

SIDE = 9459  # the bomb: 89,472,681 pixels, just under Pillow's own limit, in a PNG of a few kB
OPEN_FILES = 256


def png(mode: str, width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), 0).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_synthetic_run(tmp_path_factory.mktemp("limits"), epochs=1)


def serve(run_dir: Path, cwd: Path, open_files: int | None = None) -> tuple[subprocess.Popen, str]:
    """``softmaxreg serve RUN_DIR --port 0``, with at most ``open_files`` descriptors (``ulimit -n``)."""

    def lower_limit() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    # stderr in a file: a pipe nobody reads would block the server once full
    process = subprocess.Popen(
        [sys.executable, "-m", "softmaxreg", "serve", str(run_dir), "--port", "0"],
        cwd=cwd, env={**os.environ, "PYTHONPATH": str(SRC), **cli_env(cwd)}, stdout=subprocess.PIPE,
        stderr=(cwd / "stderr.txt").open("w"), text=True, preexec_fn=lower_limit,
    )  # fmt: skip
    line = process.stdout.readline()
    assert line.startswith("serving "), (cwd / "stderr.txt").read_text()
    return process, line.rsplit(" at ", 1)[1].strip()


def health_beside(url: str, busy: threading.Event) -> list[tuple[int, float]]:
    """Poll ``/api/health`` on its own connection while ``busy`` is set: (status, seconds) of each."""
    answers: list[tuple[int, float]] = []
    with httpx.Client(base_url=url, timeout=60) as client:
        while busy.is_set():
            start = time.perf_counter()
            answers.append((client.get("/api/health").status_code, time.perf_counter() - start))
            time.sleep(0.02)
    return answers


def test_pixel_bombs_are_refused_from_their_header_while_health_answers(run_dir, tmp_path):
    """The finding: two 87 kB PNGs of 9459×9459 froze the server for 14 s at 3.4 GB."""
    process, url = serve(run_dir, tmp_path)
    try:
        grey, rgba = png("L", SIDE, SIDE), png("RGBA", SIDE, SIDE)
        assert len(grey) < 200_000 and len(rgba) < 400_000
        busy = threading.Event()
        busy.set()
        answers: list = []
        poller = threading.Thread(target=lambda: answers.extend(health_beside(url, busy)))
        poller.start()
        time.sleep(0.3)
        rss_before = _rss_mb(process.pid)
        start = time.perf_counter()
        response = httpx.post(url + "/api/predict", files=[("file", ("a.png", grey)), ("file", ("b.png", rgba))],
                              timeout=120)  # fmt: skip
        took = time.perf_counter() - start
        time.sleep(0.3)
        busy.clear()
        poller.join()
        peak_growth = _hwm_mb(process.pid) - rss_before
        photo = httpx.post(url + "/api/predict", files=[("file", ("photo.png", png("RGBA", 3000, 2000)))], timeout=120)
    finally:
        code, _, _ = stop_server(process)
        err = (tmp_path / "stderr.txt").read_text()
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Expected an image of at most 16,000,000 pixels in a.png; got 89,472,681 pixels. It is refused as a possible "
        "decompression bomb: shrink it (a few hundred pixels a side is plenty) and try again."
    )
    assert took < 10, took  # measured: well under a second (benchmarks/bench_pixel_bomb.py); generous here
    assert answers and all(status == 200 for status, _ in answers)
    assert max(seconds for _, seconds in answers) < 10
    assert peak_growth < 200, peak_growth  # MB: nothing was decoded
    assert photo.status_code == 200, photo.text  # a 6-megapixel RGBA photo is decoded (reduced first)
    assert code == 0 and "Traceback" not in err


def _status(pid: int) -> dict[str, str]:
    return dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)


def _rss_mb(pid: int) -> int:
    return int(_status(pid)["VmRSS"].split()[0]) // 1024


def _hwm_mb(pid: int) -> int:
    return int(_status(pid)["VmHWM"].split()[0]) // 1024


def test_large_decodes_wait_their_turn_then_get_503_with_retry_after():
    slots = DecodeSlots(slots=1, queue=1)
    large = [("big.png", png("L", 1000, 1000))]
    release = threading.Event()

    async def scenario() -> tuple[list, int]:
        first = asyncio.create_task(slots.run(large, lambda: release.wait(30)))
        second = asyncio.create_task(slots.run(large, lambda: "second"))
        await asyncio.sleep(0.2)  # the first decodes, the second waits in the queue
        with pytest.raises(Busy) as refused:
            await slots.run(large, lambda: "third")
        small = await slots.run([("small.png", png("L", 28, 28))], lambda: "small")  # never queued
        release.set()
        return [await first, await second, small], refused.value.status_code, refused.value.headers

    done, status, headers = asyncio.run(scenario())
    assert done == [True, "second", "small"] and status == 503 and headers == {"retry-after": "2"}


def test_slow_clients_are_cut_off_and_health_answers_under_a_low_open_file_limit(run_dir, tmp_path):
    """The finding: 300 connections that never finish their headers exhausted the descriptors (EMFILE)."""
    process, url = serve(run_dir, tmp_path, open_files=OPEN_FILES)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    slow: list[socket.socket] = []
    try:
        for _ in range(300):
            sock = socket.create_connection((host, int(port)), timeout=30)
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # ...and never the blank line
            slow.append(sock)
        start = time.perf_counter()
        health = httpx.get(url + "/api/health", timeout=30)
        health_seconds = time.perf_counter() - start
        open_files = len(os.listdir(f"/proc/{process.pid}/fd"))
        deadline = time.monotonic() + HEADER_TIMEOUT + 30
        cut = 0
        for sock in slow:  # each is answered 408 (or closed) by the deadline, or sooner to make room
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                sock.recv(100)  # b"HTTP/1.1 408 ..." or b"" (closed): either way, cut off
                cut += 1
            except ConnectionResetError:
                cut += 1
            except TimeoutError:
                pass
        after = httpx.get(url + "/api/health", timeout=30)
    finally:
        for sock in slow:
            sock.close()
        code, _, _ = stop_server(process)
        err = (tmp_path / "stderr.txt").read_text()
    assert health.status_code == 200 and health_seconds < 10, health_seconds
    assert open_files < OPEN_FILES, open_files
    assert cut == len(slow)
    assert after.status_code == 200
    assert code == 0 and "Traceback" not in err and "out of system resource" not in err, err[-3000:]
