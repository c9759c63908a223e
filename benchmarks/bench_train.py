"""Training speed of softmaxreg against a plain PyTorch loop and a hand-written floor.

In one process, on real Fashion-MNIST, with the same seed, 10 epochs, batch 256, lr 0.1 and
validation on the 10,000 test images after every epoch, it times:

(a) naive:      a plain PyTorch loop: random-index batches from float tensors, nn.Linear,
                F.cross_entropy, autograd, torch.optim.SGD;
(b) floor:      the same math with the gradient written by hand (no autograd), contiguous
                per-epoch shuffled buffers and in-place matrix products;
(c) softmaxreg: the founding document's code through the public API (Trainer.fit).

It prints seconds and accuracy of each, the ratios c/b and c/a, the data load time (from the .gz
files and cached), and for a `softmaxreg train` subprocess its wall time and peak RSS next to
`python -c "import torch"`. Targets (issue 6): c/b <= 1.5, c/a <= 0.7, |acc(c) - acc(a)| <= 0.005,
data load <= 0.6 s (.gz) / <= 0.1 s (cached), train peak RSS <= 600 MB, train <= 3x import torch.

Usage: python benchmarks/bench_train.py [--epochs 10] [--repeat 3] [--device cpu|cuda] [--no-cli]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

import softmaxreg as d2l

BATCH_SIZE, LR, SEED = 256, 0.1, 0


@dataclass
class Result:
    seconds: float
    accuracy: float


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def naive(data: d2l.FashionMNIST, epochs: int, device: torch.device) -> Result:
    """(a) The loop most people write first."""
    X = (data.train.images.float() / 255).reshape(-1, 784).to(device)
    y = data.train.labels.to(device)
    X_val, y_val = (data.val.images.float() / 255).reshape(-1, 784).to(device), data.val.labels.to(device)
    torch.manual_seed(SEED)
    net = nn.Linear(784, 10).to(device)
    optim = torch.optim.SGD(net.parameters(), lr=LR)
    _sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(y), device=device)
        for i in range(0, len(y), BATCH_SIZE):
            idx = order[i : i + BATCH_SIZE]
            loss = F.cross_entropy(net(X[idx]), y[idx])
            optim.zero_grad()
            loss.backward()
            optim.step()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(y_val), BATCH_SIZE):
                logits = net(X_val[i : i + BATCH_SIZE])
                F.cross_entropy(logits, y_val[i : i + BATCH_SIZE])
                correct += (logits.argmax(1) == y_val[i : i + BATCH_SIZE]).sum().item()
    _sync(device)
    return Result(time.perf_counter() - start, correct / len(y_val))


def floor(data: d2l.FashionMNIST, epochs: int, device: torch.device) -> Result:
    """(b) Hand-written gradient, no autograd, no optimizer object: the per-step cost floor.

    Layouts measured fastest on CPU: the weight stored ``(10, 784)`` (as nn.Linear does), so that the
    forward pass is ``X @ W.T`` and the gradient ``G.T @ X``, both ~2x faster than with ``(784, 10)``;
    uint8 images shuffled once per epoch and converted per batch (4x less memory traffic than float32).
    """
    images = data.train.images.reshape(-1, 784).to(device)  # uint8
    y = data.train.labels.to(device)
    X_val, y_val = (data.val.images.reshape(-1, 784).to(device) / 255), data.val.labels.to(device)
    torch.manual_seed(SEED)
    init = nn.Linear(784, 10)  # same initial weights as (a)
    W = init.weight.detach().clone().to(device)  # (10, 784)
    b = init.bias.detach().clone().to(device)
    n = len(y)
    _sync(device)
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(epochs):
            order = torch.randperm(n, device=device)
            X_epoch, y_epoch = torch.index_select(images, 0, order), torch.index_select(y, 0, order)
            for i in range(0, n, BATCH_SIZE):
                Xb = torch.div(X_epoch[i : i + BATCH_SIZE], 255)  # (m, 784) float32
                yb = y_epoch[i : i + BATCH_SIZE]
                P = torch.addmm(b, Xb, W.t()).softmax(1)  # (m, 10)
                P.scatter_add_(1, yb[:, None], P.new_full((len(yb), 1), -1.0))  # dL/dlogits * m
                W.addmm_(P.t(), Xb, alpha=-LR / len(yb))  # (10, 784)
                b.sub_(P.sum(0), alpha=LR / len(yb))
            correct = (torch.addmm(b, X_val, W.t()).argmax(1) == y_val).sum().item()
    _sync(device)
    return Result(time.perf_counter() - start, correct / len(y_val))


def softmaxreg_api(data: d2l.FashionMNIST, epochs: int, device: torch.device) -> Result:
    """(c) The seed's code, verbatim but for the import line, through Trainer.fit."""
    torch.manual_seed(SEED)

    class SoftmaxRegression(d2l.Classifier):
        def __init__(self, num_outputs, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))

        def forward(self, X):
            return self.net(X)

        def loss(self, Y_hat, Y, averaged=True):  # the seed's add_to_class, kept local to this class
            Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
            Y = Y.reshape((-1,))
            return F.cross_entropy(Y_hat, Y, reduction="mean" if averaged else "none")

    model = SoftmaxRegression(num_outputs=10, lr=LR)
    trainer = d2l.Trainer(max_epochs=epochs, device=device)
    _sync(device)
    start = time.perf_counter()
    trainer.fit(model, data)
    _sync(device)
    return Result(time.perf_counter() - start, trainer.history[-1]["val_acc"])


def best_of(fn: Callable[..., Result], repeat: int, *args) -> Result:
    """The fastest of ``repeat`` runs (accuracy is the same each time: same seed)."""
    results = [fn(*args) for _ in range(repeat)]
    return min(results, key=lambda r: r.seconds)


def _child(code: str, env: dict | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``python -c code`` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **(env or {})},
                   stdout=subprocess.DEVNULL)  # fmt: skip
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def _cli_train(epochs: int, env: dict) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "softmaxreg", "train", "--quiet", "--epochs", str(epochs),
                        "--out", os.path.join(out, "run")], check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
        seconds = time.perf_counter() - start
        return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 if before == 0 else float("nan")


def data_load_times() -> tuple[float, float]:
    """Seconds to load Fashion-MNIST in a fresh process: from the .gz files, then with a warm cache."""
    code = ("import time; t = time.perf_counter(); from softmaxreg.sources import load_fashion_mnist; "
            "load_fashion_mnist(); print(time.perf_counter() - t)")  # fmt: skip
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache, "SOFTMAXREG_OFFLINE": "1"}
        times = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True)
            times.append(float(out.stdout))
        return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each loop; the fastest counts")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess measurements")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}, "
          f"{args.epochs} epochs, batch {BATCH_SIZE}, lr {LR}, best of {args.repeat}")  # fmt: skip

    data = d2l.FashionMNIST(batch_size=BATCH_SIZE)
    a = best_of(naive, args.repeat, data, args.epochs, device)
    b = best_of(floor, args.repeat, data, args.epochs, device)
    c = best_of(softmaxreg_api, args.repeat, data, args.epochs, device)
    for name, r in (("(a) naive", a), ("(b) floor", b), ("(c) softmaxreg", c)):
        print(f"{name:<16} {r.seconds:7.3f} s   test accuracy {r.accuracy:.4f}")
    print(f"c/b = {c.seconds / b.seconds:.2f}  (target <= 1.5)")
    print(f"c/a = {c.seconds / a.seconds:.2f}  (target <= 0.7)")
    print(f"accuracy c - a = {c.accuracy - a.accuracy:+.4f}  (target within 0.005)")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.no_cli:
        return
    gz, cached = data_load_times()
    print(f"data load: {gz:.3f} s from .gz (target <= 0.6), {cached:.3f} s cached (target <= 0.1)")
    torch_import = statistics.median(_child("import torch")[0] for _ in range(3))
    env = {**os.environ, "SOFTMAXREG_OFFLINE": "1"}
    train_seconds, train_rss = _cli_train(args.epochs, env)
    print(f"python -c 'import torch': {torch_import:.2f} s")
    print(f"softmaxreg train ({args.epochs} epochs): {train_seconds:.2f} s = {train_seconds / torch_import:.1f}x import "
          f"torch (target <= 3), peak RSS {train_rss:.0f} MB (target <= 600)")


if __name__ == "__main__":
    main()
