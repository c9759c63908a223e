"""softmaxreg: softmax regression on Fashion-MNIST, with d2l's API.

Run the book's code with ``import softmaxreg as d2l``. Public names are imported on first use
(PEP 562), so ``import softmaxreg`` and ``softmaxreg --help`` stay instant; importing never loads
torch, matplotlib or IPython.

The package is layered; each layer imports only from those before it:

- the core, at the top: ``errors``, ``functional``, ``numerics``, the private helpers, and ``interop/``
  (ONNX graphs, TensorBoard event files);
- ``book/``: the d2l 1.0 API (``Module``, ``Trainer``, ``ProgressBoard``, ...);
- ``datasets/``: Fashion-MNIST from files to tensors; ``models``: the §4.4–4.5 models;
- ``runs/``: run folders, checkpoints and what is made from them; ``classic/``: the classic d2l
  API (d2l 0.17, d2l-zh 2.0: ``load_data_fashion_mnist``, ``train_ch3``, ``sgd``, ...);
- ``commands/``: the command line.

Modules that sat at the top before the layers existed stay importable by their old paths
(``softmaxreg.optim``, ``softmaxreg.trainer``, ...): see `softmaxreg._moved`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import TYPE_CHECKING, Any

from softmaxreg import _moved

try:  # the version is written once, in pyproject.toml; the installed metadata carries it here
    __version__ = importlib.metadata.version("softmaxreg")
except importlib.metadata.PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"
_moved.install()

# public name -> module that defines it
_EXPORTS = {
    "add_to_class": "softmaxreg.book.hyperparameters",
    "HyperParameters": "softmaxreg.book.hyperparameters",
    "ProgressBoard": "softmaxreg.book.board",
    "Module": "softmaxreg.book.module",
    "Classifier": "softmaxreg.book.module",
    "DataModule": "softmaxreg.book.data",
    "TensorLoader": "softmaxreg.book.data",
    "FashionMNIST": "softmaxreg.datasets.fashion_mnist",
    "ImageFolder": "softmaxreg.datasets.own_module",  # your own data, trained like FashionMNIST
    "Table": "softmaxreg.datasets.own_module",
    "Trainer": "softmaxreg.book.trainer",
    "SoftmaxRegression": "softmaxreg.models",
    "SoftmaxRegressionScratch": "softmaxreg.models",
    "text_labels": "softmaxreg.datasets.labels",
    "cpu": "softmaxreg.book.devices",
    "gpu": "softmaxreg.book.devices",
    "num_gpus": "softmaxreg.book.devices",
    "try_gpu": "softmaxreg.book.devices",
    "try_all_gpus": "softmaxreg.book.devices",
    "SoftmaxRegError": "softmaxreg.errors",
    "TrainingDivergedError": "softmaxreg.errors",  # what Trainer.fit raises on a NaN/inf loss
    # d2l chapters 3-4: plotting, tensor aliases, linear regression
    "plt": "softmaxreg.book.plotting",
    "plot": "softmaxreg.book.plotting",
    "set_axes": "softmaxreg.book.plotting",
    "set_figsize": "softmaxreg.book.plotting",
    "use_svg_display": "softmaxreg.book.plotting",
    "show_images": "softmaxreg.book.plotting",
    "tensor": "softmaxreg.book.aliases",
    "zeros": "softmaxreg.book.aliases",
    "ones": "softmaxreg.book.aliases",
    "rand": "softmaxreg.book.aliases",
    "randn": "softmaxreg.book.aliases",
    "normal": "softmaxreg.book.aliases",
    "arange": "softmaxreg.book.aliases",
    "exp": "softmaxreg.book.aliases",
    "log": "softmaxreg.book.aliases",
    "matmul": "softmaxreg.book.aliases",
    "reshape": "softmaxreg.book.aliases",
    "reduce_sum": "softmaxreg.book.aliases",
    "reduce_mean": "softmaxreg.book.aliases",
    "argmax": "softmaxreg.book.aliases",
    "astype": "softmaxreg.book.aliases",
    "numpy": "softmaxreg.book.aliases",
    "to": "softmaxreg.book.aliases",
    "float32": "softmaxreg.book.aliases",
    "nn_Module": "softmaxreg.book.aliases",
    "SyntheticRegressionData": "softmaxreg.book.synthetic",
    "SGD": "softmaxreg.book.linear_regression",
    "LinearRegressionScratch": "softmaxreg.book.linear_regression",
    "LinearRegression": "softmaxreg.book.linear_regression",
    # the classic API (d2l 0.17, d2l-zh 2.0), beside the 1.0 names: d2l.sgd is not d2l.SGD
    "size": "softmaxreg.book.aliases",
    "int32": "softmaxreg.book.aliases",
    "meshgrid": "softmaxreg.book.aliases",
    "sin": "softmaxreg.book.aliases",
    "sinh": "softmaxreg.book.aliases",
    "cos": "softmaxreg.book.aliases",
    "cosh": "softmaxreg.book.aliases",
    "tanh": "softmaxreg.book.aliases",
    "linspace": "softmaxreg.book.aliases",
    "concat": "softmaxreg.book.aliases",
    "stack": "softmaxreg.book.aliases",
    "abs": "softmaxreg.book.aliases",
    "eye": "softmaxreg.book.aliases",
    "transpose": "softmaxreg.book.aliases",
    "synthetic_data": "softmaxreg.book.synthetic",
    "squared_loss": "softmaxreg.functional",
    "linreg": "softmaxreg.classic.linear",
    "sgd": "softmaxreg.classic.linear",
    "load_array": "softmaxreg.classic.linear",
    "load_data_fashion_mnist": "softmaxreg.classic.data",
    "get_fashion_mnist_labels": "softmaxreg.classic.data",
    "get_dataloader_workers": "softmaxreg.classic.data",
    "accuracy": "softmaxreg.classic.training",
    "evaluate_accuracy": "softmaxreg.classic.training",
    "train_epoch_ch3": "softmaxreg.classic.training",
    "train_ch3": "softmaxreg.classic.training",
    "predict_ch3": "softmaxreg.classic.training",
    "Animator": "softmaxreg.classic.animator",
    "Accumulator": "softmaxreg.classic.utils",
    "Timer": "softmaxreg.classic.utils",
    "TrainingCheckError": "softmaxreg.errors",  # what train_ch3 raises when the book's checks fail
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
    from matplotlib import pyplot as plt

    from softmaxreg import functional, numerics
    from softmaxreg.book.aliases import (
        abs,
        arange,
        argmax,
        astype,
        concat,
        cos,
        cosh,
        exp,
        eye,
        float32,
        int32,
        linspace,
        log,
        matmul,
        meshgrid,
        nn_Module,
        normal,
        numpy,
        ones,
        rand,
        randn,
        reduce_mean,
        reduce_sum,
        reshape,
        sin,
        sinh,
        size,
        stack,
        tanh,
        tensor,
        to,
        transpose,
        zeros,
    )  # fmt: skip  # fmt: skip
    from softmaxreg.book.board import ProgressBoard
    from softmaxreg.book.data import DataModule, TensorLoader
    from softmaxreg.book.devices import cpu, gpu, num_gpus, try_all_gpus, try_gpu
    from softmaxreg.book.hyperparameters import HyperParameters, add_to_class
    from softmaxreg.book.linear_regression import SGD, LinearRegression, LinearRegressionScratch
    from softmaxreg.book.module import Classifier, Module
    from softmaxreg.book.plotting import plot, set_axes, set_figsize, show_images, use_svg_display
    from softmaxreg.book.synthetic import SyntheticRegressionData, synthetic_data
    from softmaxreg.book.trainer import Trainer
    from softmaxreg.classic.animator import Animator
    from softmaxreg.classic.data import get_dataloader_workers, get_fashion_mnist_labels, load_data_fashion_mnist
    from softmaxreg.classic.linear import linreg, load_array, sgd
    from softmaxreg.classic.training import accuracy, evaluate_accuracy, predict_ch3, train_ch3, train_epoch_ch3
    from softmaxreg.classic.utils import Accumulator, Timer
    from softmaxreg.datasets.fashion_mnist import FashionMNIST
    from softmaxreg.datasets.labels import text_labels
    from softmaxreg.datasets.own_module import ImageFolder, Table
    from softmaxreg.errors import SoftmaxRegError, TrainingCheckError, TrainingDivergedError
    from softmaxreg.functional import squared_loss
    from softmaxreg.models import SoftmaxRegression, SoftmaxRegressionScratch
