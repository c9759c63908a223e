"""Old module paths, kept importable after the modules moved into their layers.

Until 0.1 every module sat directly in ``softmaxreg/``; a user may have written
``from softmaxreg.optim import SGD`` or ``import softmaxreg.trainer``. Those imports still work, and
give the very module object of the new path (``softmaxreg.optim is softmaxreg.book.optim``), so
classes, ``isinstance`` checks and monkeypatches are shared, not duplicated.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

# old path -> new path
MOVED = {
    f"softmaxreg.{old}": f"softmaxreg.{new}"
    for old, new in {
        # book/: the d2l 1.0 API
        "aliases": "book.aliases", "board": "book.board", "data": "book.data", "devices": "book.devices",
        "hyperparameters": "book.hyperparameters", "linear_regression": "book.linear_regression",
        "module": "book.module", "optim": "book.optim", "plotting": "book.plotting",
        "synthetic": "book.synthetic", "trainer": "book.trainer",
        # datasets/: Fashion-MNIST from files to tensors
        "decoded_cache": "datasets.decoded_cache", "download": "datasets.download",
        "fashion_mnist": "datasets.fashion_mnist", "idx": "datasets.idx", "labels": "datasets.labels",
        "sources": "datasets.sources",
        # runs/: what is made of a run folder (softmaxreg.runs itself is now that package, and
        # re-exports the run-folder functions of its old module)
        "callbacks": "runs.callbacks", "checkpoint": "runs.checkpoint", "config": "runs.config",
        "figures": "runs.figures", "images": "runs.images", "inference": "runs.inference",
        "metrics": "runs.metrics", "recipes": "runs.recipes",
        "training": "runs.training",
        # commands/
        "cli": "commands.cli",
    }.items()
}  # fmt: skip


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old path as its new module, under both names."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # a placeholder; exec_module swaps in the real module

    def exec_module(self, module: ModuleType) -> None:
        # The import system returns whatever sys.modules holds for the name once this returns.
        sys.modules[module.__name__] = importlib.import_module(MOVED[module.__name__])


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
