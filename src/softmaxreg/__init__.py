"""softmaxreg: softmax regression on Fashion-MNIST, with d2l's API.

Run the book's code with ``import softmaxreg as d2l``. Public names are imported on first use
(PEP 562), so ``import softmaxreg`` and ``softmaxreg --help`` stay instant; importing never loads
matplotlib or IPython.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "add_to_class": "softmaxreg.hyperparameters",
    "HyperParameters": "softmaxreg.hyperparameters",
    "ProgressBoard": "softmaxreg.board",
    "Module": "softmaxreg.module",
    "Classifier": "softmaxreg.module",
    "DataModule": "softmaxreg.data",
    "TensorLoader": "softmaxreg.data",
    "FashionMNIST": "softmaxreg.fashion_mnist",
    "Trainer": "softmaxreg.trainer",
    "SoftmaxRegression": "softmaxreg.models",
    "SoftmaxRegressionScratch": "softmaxreg.models",
    "text_labels": "softmaxreg.labels",
    "cpu": "softmaxreg.devices",
    "gpu": "softmaxreg.devices",
    "num_gpus": "softmaxreg.devices",
    "try_gpu": "softmaxreg.devices",
    "try_all_gpus": "softmaxreg.devices",
    "SoftmaxRegError": "softmaxreg.errors",
    "TrainingDivergedError": "softmaxreg.errors",  # what Trainer.fit raises on a NaN/inf loss
    # d2l chapters 3-4: plotting, tensor aliases, linear regression
    "plt": "softmaxreg.plotting",
    "plot": "softmaxreg.plotting",
    "set_axes": "softmaxreg.plotting",
    "set_figsize": "softmaxreg.plotting",
    "use_svg_display": "softmaxreg.plotting",
    "show_images": "softmaxreg.plotting",
    "tensor": "softmaxreg.aliases",
    "zeros": "softmaxreg.aliases",
    "ones": "softmaxreg.aliases",
    "rand": "softmaxreg.aliases",
    "randn": "softmaxreg.aliases",
    "normal": "softmaxreg.aliases",
    "arange": "softmaxreg.aliases",
    "exp": "softmaxreg.aliases",
    "log": "softmaxreg.aliases",
    "matmul": "softmaxreg.aliases",
    "reshape": "softmaxreg.aliases",
    "reduce_sum": "softmaxreg.aliases",
    "reduce_mean": "softmaxreg.aliases",
    "argmax": "softmaxreg.aliases",
    "astype": "softmaxreg.aliases",
    "numpy": "softmaxreg.aliases",
    "to": "softmaxreg.aliases",
    "float32": "softmaxreg.aliases",
    "nn_Module": "softmaxreg.aliases",
    "SyntheticRegressionData": "softmaxreg.synthetic",
    "SGD": "softmaxreg.linear_regression",
    "LinearRegressionScratch": "softmaxreg.linear_regression",
    "LinearRegression": "softmaxreg.linear_regression",
}
_SUBMODULES = {"functional", "numerics"}

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"softmaxreg.{name}")
        globals()[name] = module
        return module
    if name not in _EXPORTS:
        raise AttributeError(f"module 'softmaxreg' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # static analysers see the real names
    from softmaxreg import functional, numerics
    from softmaxreg.board import ProgressBoard
    from softmaxreg.data import DataModule, TensorLoader
    from softmaxreg.devices import cpu, gpu, num_gpus, try_all_gpus, try_gpu
    from softmaxreg.errors import SoftmaxRegError, TrainingDivergedError
    from softmaxreg.fashion_mnist import FashionMNIST
    from softmaxreg.hyperparameters import HyperParameters, add_to_class
    from softmaxreg.labels import text_labels
    from softmaxreg.models import SoftmaxRegression, SoftmaxRegressionScratch
    from softmaxreg.module import Classifier, Module
    from softmaxreg.trainer import Trainer
    from softmaxreg.aliases import (
        arange, argmax, astype, exp, float32, log, matmul, nn_Module, normal, numpy, ones, rand,
        randn, reduce_mean, reduce_sum, reshape, tensor, to, zeros,
    )  # fmt: skip
    from softmaxreg.linear_regression import SGD, LinearRegression, LinearRegressionScratch
    from softmaxreg.plotting import plot, set_axes, set_figsize, show_images, use_svg_display
    from softmaxreg.synthetic import SyntheticRegressionData
    from matplotlib import pyplot as plt
