"""`SoftmaxRegressionClassifier` against scikit-learn's `LogisticRegression`, in one process.

1. Fashion-MNIST (softmaxreg's loader, pixels / 255, 60,000 training and 10,000 test images):
   fit time and test accuracy of our estimator (defaults, ``random_state=0``; fastest of
   ``--repeat`` fits), of ``LogisticRegression(C=0.1)`` and of ``LogisticRegression()`` (one fit
   each: they take minutes). Targets (issue 19): accuracy ≥ the better baseline's − 0.002, at
   ≥ 10× less time than the faster baseline.
2. scikit-learn's digits and breast-cancer data, standardised (``StandardScaler`` in a pipeline),
   5-fold ``cross_val_score`` of both estimators (defaults). Target: within one point.

Usage: python benchmarks/bench_sklearn.py [--repeat 3] [--threads N]

``--threads N`` limits torch and the BLAS behind numpy/scipy to N threads, both: on a machine
whose cores are shared with other busy processes, two threads each can run 20× slower than one.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import softmaxreg as d2l
from softmaxreg.sklearn import SoftmaxRegressionClassifier


def fashion_mnist() -> tuple[np.ndarray, ...]:
    """``X_train, y_train, X_test, y_test``: float32 pixels / 255, ``(n, 784)``, and int labels."""
    data = d2l.FashionMNIST()
    arrays = []
    for part in (data.train, data.val):
        images = part.images.reshape(len(part.images), -1).numpy()
        arrays += [images.astype(np.float32) / 255, part.labels.numpy().astype(np.int64)]
    return tuple(arrays)


def timed_fit(estimator, X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> tuple[float, float]:
    """Seconds to fit, and test accuracy."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # LogisticRegression() stops at max_iter=100
        started = time.perf_counter()
        estimator.fit(X, y)
        seconds = time.perf_counter() - started
    return seconds, estimator.score(X_test, y_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fits of our estimator; the fastest counts")
    parser.add_argument("--threads", type=int, default=None, help="limit torch and BLAS to this many threads")
    args = parser.parse_args()
    if args.threads:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)

    X, y, X_test, y_test = fashion_mnist()
    print(f"Fashion-MNIST: {X.shape[0]:,} training, {X_test.shape[0]:,} test images, pixels / 255")
    ours = [timed_fit(SoftmaxRegressionClassifier(random_state=0), X, y, X_test, y_test) for _ in range(args.repeat)]
    seconds, accuracy = min(ours)
    print(f"  SoftmaxRegressionClassifier()    {seconds:7.2f} s  accuracy {accuracy:.4f}"
          f"  (fastest of {args.repeat}: {', '.join(f'{s:.2f}' for s, _ in ours)} s)")  # fmt: skip
    baselines = {}
    for name, estimator in [("LogisticRegression(C=0.1)", LogisticRegression(C=0.1)),
                            ("LogisticRegression()", LogisticRegression())]:  # fmt: skip
        baselines[name] = timed_fit(estimator, X, y, X_test, y_test)
        print(f"  {name:<32} {baselines[name][0]:7.2f} s  accuracy {baselines[name][1]:.4f}", flush=True)
    best = max(acc for _, acc in baselines.values())
    fastest = min(s for s, _ in baselines.values())
    print(
        f"  accuracy − best baseline: {accuracy - best:+.4f} "
        f"(target ≥ −0.002: {'met' if accuracy >= best - 0.002 else 'NOT met'})"
    )
    print(f"  faster baseline / ours: {fastest / seconds:.1f}× "
          f"(target ≥ 10×: {'met' if fastest >= 10 * seconds else 'NOT met'})"
          f"; with our median fit ({np.median([s for s, _ in ours]):.2f} s): "
          f"{fastest / np.median([s for s, _ in ours]):.1f}×")  # fmt: skip

    print("5-fold cross_val_score, StandardScaler + estimator (defaults):")
    for load in (load_digits, load_breast_cancer):
        Xs, ys = load(return_X_y=True)
        scores = {}
        for estimator in (SoftmaxRegressionClassifier(random_state=0), LogisticRegression()):
            started = time.perf_counter()
            scores[type(estimator).__name__] = cross_val_score(make_pipeline(StandardScaler(), estimator), Xs, ys, cv=5)
            print(f"  {load.__name__[5:]:<14} {type(estimator).__name__:<28} "
                  f"accuracy {scores[type(estimator).__name__].mean():.4f}"
                  f"  ({time.perf_counter() - started:.2f} s)")  # fmt: skip
        gap = scores["SoftmaxRegressionClassifier"].mean() - scores["LogisticRegression"].mean()
        print(
            f"  {load.__name__[5:]:<14} difference {gap:+.4f} "
            f"(target within ±0.01: {'met' if abs(gap) <= 0.01 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
