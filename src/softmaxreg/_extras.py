"""Optional dependencies ("extras"): a missing one is one line naming the ``pip install`` that adds it.

Each extra of ``pyproject.toml`` brings packages that only one feature needs (``onnx`` for
``softmaxreg export``, ``tensorboard`` for ``--tensorboard``). They are imported where the
feature runs, through `import_extra`, never when ``softmaxreg`` is imported.

Examples:
    >>> import_extra("json", "onnx", "this example").__name__
    'json'
    >>> import_extra("no_such_module_x", "onnx", "`softmaxreg export`")
    Traceback (most recent call last):
    ...
    softmaxreg.errors.MissingExtraError: `softmaxreg export` needs the package no_such_module_x, which is not installed. Install it with: pip install "softmaxreg[onnx]"
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from softmaxreg.errors import MissingExtraError


def _missing(module: str, extra: str, purpose: str) -> MissingExtraError:
    top = module.partition(".")[0]
    return MissingExtraError(
        f'{purpose} needs the package {top}, which is not installed. Install it with: pip install "softmaxreg[{extra}]"'
    )


def require_extra(module: str, extra: str, purpose: str) -> None:
    """Check that ``module`` can be imported, without importing it (cheap enough for option parsing).

    Raises:
        MissingExtraError: it is not installed.
    """
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or a module set to None in sys.modules
        found = False
    if not found:
        raise _missing(module, extra, purpose)


def import_extra(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` of the extra ``extra``, for ``purpose`` (said in the message if it is missing).

    Raises:
        MissingExtraError: it is not installed (or fails to import for want of one of its own dependencies).
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise _missing(getattr(err, "name", None) or module, extra, purpose) from None
