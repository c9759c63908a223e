"""Speed and accuracy of the classic API (d2l-zh 2.0 / d2l 0.17): chapter 3's §3.6 and §3.7 on softmaxreg.

In one process, on real Fashion-MNIST, batch 256, lr 0.1, 10 epochs, the seed fixed, it times:

(3.6)       the scratch softmax regression (the book's naive softmax and -log cross-entropy, W and b
            updated by ``d2l.sgd``) through ``d2l.train_ch3``;
(3.6 book)  the same, through the book's own train_epoch_ch3/evaluate_accuracy (an Accumulator
            fed two Python floats per batch), on the same loaders: the classic layer's overhead;
(3.7)       the concise one: ``nn.Sequential(nn.Flatten(), nn.Linear(784, 10))``,
            ``nn.CrossEntropyLoss(reduction='none')``, ``torch.optim.SGD``, ``d2l.train_ch3``.

Each is run ``--repeat`` times, interleaved; the fastest counts. It prints seconds, the final train
loss and accuracy, and the test accuracy (over all 10,000 images). The first run of (3.7) also pays
torch.optim's one-time import of torch._dynamo (about 1.5 s), which a learner's first run pays too:
it is printed apart.

Usage: python benchmarks/bench_classic.py [--epochs 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import torch
from torch import nn

import softmaxreg as d2l
from softmaxreg.errors import TrainingCheckError

BATCH_SIZE, LR, SEED = 256, 0.1, 0
_failed_checks: list[str] = []  # train_ch3's final checks (the book's asserts) that failed: fewer epochs


def _train_ch3(*args) -> None:
    """``d2l.train_ch3``, whose final check (the book's asserts, which expect about 10 epochs) may fail
    after a shorter run: the training was done and timed, so the failure is noted, not raised."""
    try:
        d2l.train_ch3(*args)
    except TrainingCheckError as err:
        _failed_checks.append(str(err))


class _Metrics(logging.Handler):
    """Keeps the last epoch line train_ch3 logs."""

    last = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record.getMessage()


def _softmax(X):
    X_exp = torch.exp(X)
    return X_exp / X_exp.sum(1, keepdim=True)


def _cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y])


def _scratch():
    torch.manual_seed(SEED)
    W = torch.normal(0, 0.01, size=(784, 10), requires_grad=True)
    b = torch.zeros(10, requires_grad=True)

    def net(X):
        return _softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    return net, lambda batch_size: d2l.sgd([W, b], LR, batch_size)


def scratch(loaders, epochs):
    net, updater = _scratch()
    _train_ch3(net, *loaders, _cross_entropy, epochs, updater)
    return net


def scratch_books_loop(loaders, epochs):
    """The book's own §3.6 loop, as printed, minus the plot."""
    net, updater = _scratch()
    train_iter, test_iter = loaders

    def accuracy(y_hat, y):
        if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
            y_hat = y_hat.argmax(axis=1)
        cmp = y_hat.type(y.dtype) == y
        return float(cmp.type(y.dtype).sum())

    for _ in range(epochs):
        metric = d2l.Accumulator(3)
        for X, y in train_iter:
            y_hat = net(X)
            loss = _cross_entropy(y_hat, y)
            loss.sum().backward()
            updater(X.shape[0])
            metric.add(float(loss.sum()), accuracy(y_hat, y), y.numel())
        test = d2l.Accumulator(2)
        with torch.no_grad():
            for X, y in test_iter:
                test.add(accuracy(net(X), y), y.numel())
    return net


def concise(loaders, epochs):
    torch.manual_seed(SEED)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    net.apply(lambda m: nn.init.normal_(m.weight, std=0.01) if type(m) is nn.Linear else None)
    trainer = torch.optim.SGD(net.parameters(), lr=LR)
    _train_ch3(net, *loaders, nn.CrossEntropyLoss(reduction="none"), epochs, trainer)
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=_positive, default=10)
    parser.add_argument("--repeat", type=_positive, default=3, help="runs of each; the fastest counts")
    args = parser.parse_args()
    # the book's float(l.sum()) on a tensor that requires grad: torch warns, the book's code is so
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True")
    metrics = _Metrics()
    logger = logging.getLogger("softmaxreg.classic")
    logger.addHandler(metrics)
    logger.setLevel(logging.INFO)

    start = time.perf_counter()
    loaders = d2l.load_data_fashion_mnist(BATCH_SIZE)
    print(f"load_data_fashion_mnist({BATCH_SIZE}): {time.perf_counter() - start:.2f} s")
    runs = {"3.6 d2l.train_ch3": scratch, "3.6 the book's loop": scratch_books_loop, "3.7 d2l.train_ch3": concise}
    best: dict[str, tuple[float, str, float]] = {}
    for i in range(args.repeat):
        for name, run in runs.items():
            metrics.last = ""
            start = time.perf_counter()
            net = run(loaders, args.epochs)
            seconds = time.perf_counter() - start
            if i == 0 and name.startswith("3.7"):
                print(f"{name}, first run (with torch.optim's first-use import): {seconds:.2f} s")
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, metrics.last, d2l.evaluate_accuracy(net, loaders[1]))
    for name, (seconds, last, test_acc) in best.items():
        print(f"{name:22s} {args.epochs} epochs: {seconds:.2f} s  test accuracy {test_acc:.4f}  {last}")
    overhead = best["3.6 d2l.train_ch3"][0] / best["3.6 the book's loop"][0]
    print(f"d2l.train_ch3 / the book's loop (3.6, both on softmaxreg's loaders): {overhead:.2f}")
    if _failed_checks:
        print(f"note: train_ch3's final check failed in {len(_failed_checks)} run(s): {_failed_checks[0]}")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {value}")
    return value


if __name__ == "__main__":
    main()
