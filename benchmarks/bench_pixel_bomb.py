"""The pixel bomb of issue 25: small PNGs of 9459×9459 pixels posted to a real ``softmaxreg serve``.

Prints, for one request holding two such files (grey, then RGBA): its status and time, the slowest
``GET /api/health`` answered while it ran (polled every 20 ms on another connection), and the
server's peak memory (VmHWM) and memory afterwards (VmRSS), as growth over the idle server's.

    python benchmarks/bench_pixel_bomb.py RUN_DIR [--src SRC] [--side N]

``--src``: the ``src`` folder of the softmaxreg to run (another checkout: the numbers before a change).
``--side``: the images' side (default 9459; e.g. 4000 for the largest photo an upload may be).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from PIL import Image

SIDE = 9459  # 89,472,681 pixels: just under Pillow's limit of 89,478,485


def bomb(mode: str, side: int = SIDE) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (side, side), 0).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def memory(pid: int) -> dict[str, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {name: int(fields[name].split()[0]) // 1024 for name in ("VmRSS", "VmHWM")}  # MB


def attack(url: str, pid: int, files: list[tuple[str, bytes]]) -> dict[str, float]:
    slowest, stop = [0.0], threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while not stop.is_set():
                start = time.perf_counter()
                client.get("/api/health")
                slowest[0] = max(slowest[0], time.perf_counter() - start)
                time.sleep(0.02)

    before = memory(pid)
    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.2)
    start = time.perf_counter()
    response = httpx.post(url + "/api/predict", files=[("file", f) for f in files], timeout=300)
    took = time.perf_counter() - start
    time.sleep(0.3)
    stop.set()
    poller.join()
    time.sleep(1)
    after = memory(pid)
    return {"status": response.status_code, "seconds": took, "health_ms": slowest[0] * 1000,
            "peak_growth_mb": after["VmHWM"] - before["VmRSS"], "rss_after_growth_mb": after["VmRSS"] - before["VmRSS"],
            "error": response.json().get("error", "")[:100] if response.status_code != 200 else ""}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--src", default=str(Path(__file__).resolve().parents[1] / "src"))
    parser.add_argument("--side", type=int, default=SIDE)
    args = parser.parse_args()
    grey, rgba = bomb("L", args.side), bomb("RGBA", args.side)
    print(f"images: {args.side}×{args.side} grey PNG {len(grey):,} bytes, RGBA PNG {len(rgba):,} bytes; src {args.src}")
    for name, files in [
        ("two grey", [("a.png", grey), ("b.png", grey)]),
        ("two RGBA", [("a.png", rgba), ("b.png", rgba)]),
    ]:
        command = [sys.executable, "-m", "softmaxreg", "serve", args.run_dir, "--port", "0"]
        env = {**os.environ, "PYTHONPATH": args.src}
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        try:
            url = process.stdout.readline().rsplit(" at ", 1)[1].strip()
            result = attack(url, process.pid, files)
        finally:
            process.terminate()
            process.wait(timeout=30)
        print(f"{name:9s} status {result['status']}  {result['seconds']:6.2f} s  "
              f"slowest health {result['health_ms']:7.1f} ms  peak +{result['peak_growth_mb']} MB  "
              f"after +{result['rss_after_growth_mb']} MB  {result['error']}")  # fmt: skip


if __name__ == "__main__":
    main()
