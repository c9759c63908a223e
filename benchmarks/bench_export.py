"""ONNX export of run folders: time, file size, and how far ONNX Runtime is from softmaxreg.

For each run folder: ``softmaxreg export`` as a user runs it (a new process, its wall-clock time),
the export itself in this process once torch and onnx are imported (best of ``--repeat``), the
file's size, and on the 10,000 test images the largest difference between ONNX Runtime's
probabilities and softmaxreg's (``softmax`` in float64 of the model's float32 logits, as
``predict`` shows them), the largest logit difference, and both accuracies.

Usage::

    .venv/bin/python benchmarks/bench_export.py RUN_DIR... [--repeat 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
sys.path.insert(0, str(SRC))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

from softmaxreg.commands.export import export_onnx  # noqa: E402
from softmaxreg.datasets.fashion_mnist import FashionMNIST  # noqa: E402
from softmaxreg.runs.checkpoint import load_model  # noqa: E402
from softmaxreg.runs.inference import predict_logits  # noqa: E402


def cli_seconds(run_dir: Path, out: Path) -> float:
    """Wall-clock seconds of ``softmaxreg export RUN_DIR --out OUT`` in a new process."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "softmaxreg", "export", str(run_dir), "--out", str(out)], check=True,
                   capture_output=True, env={"PYTHONPATH": str(SRC), "PATH": ""})  # fmt: skip
    return time.perf_counter() - started


def compare(run_dir: Path, data: FashionMNIST, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model.onnx"
        process = cli_seconds(run_dir, out)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            export_onnx(run_dir, out)
            times.append(time.perf_counter() - started)
        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        logits, probabilities = session.run(None, {"image": data.val.images.float().div(255).numpy()})
        size = out.stat().st_size
    model, _ = load_model(run_dir)
    expected = predict_logits(model, data.val.images)
    expected_probabilities = torch.softmax(expected.double(), dim=1).numpy()
    labels = data.val.labels.numpy()
    print(
        f"{run_dir}: {size:,} bytes; export {min(times) * 1000:.1f} ms in-process (best of {repeat}), "
        f"`softmaxreg export` {process:.2f} s as a new process; 10,000 test images: max |p_onnx - p| = "
        f"{np.abs(probabilities - expected_probabilities).max():.2e}, max |logit_onnx - logit| = "
        f"{np.abs(logits - expected.numpy()).max():.2e}, "
        f"accuracy onnx {(probabilities.argmax(1) == labels).mean():.4f} "
        f"softmaxreg {(expected_probabilities.argmax(1) == labels).mean():.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = FashionMNIST(batch_size=256)
    for run_dir in args.run_dirs:
        compare(run_dir, data, args.repeat)


if __name__ == "__main__":
    main()
