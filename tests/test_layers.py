"""The package's layers stay layers: no module imports from a layer above its own.

The order (see ``softmaxreg/__init__.py``): the core at the top of the package, then ``book``, then
``datasets`` and ``models``, then ``runs``, then ``commands`` and what serves or wraps a trained
model. Read from the source with ``ast``, so an import inside a function counts too.
"""

import ast
import importlib
from pathlib import Path

import pytest

import softmaxreg
from softmaxreg import _moved

PACKAGE = Path(softmaxreg.__file__).parent
# A top-level module's layer is its own entry here; a subpackage's modules share the subpackage's.
RANK = {
    "errors": 0, "_validate": 0, "_atomic": 0, "functional": 0, "numerics": 0, "_moved": 0, "_extras": 0,
    "interop": 0,  # the formats other tools read (ONNX, TensorBoard); the book's Trainer logs through it
    "book": 1,
    "datasets": 2, "models": 2,
    "runs": 3, "classic": 3,
    "commands": 4, "__main__": 4, "sklearn": 4, "serve": 4,
}  # fmt: skip


def _layer(module: str) -> str:
    """``softmaxreg.book.trainer`` -> ``book``; ``softmaxreg.models`` -> ``models``."""
    return _moved.MOVED.get(module, module).split(".")[1]


def _module_name(path: Path) -> str:
    """``.../softmaxreg/serve/worker.py`` -> ``softmaxreg.serve.worker`` (a package is its ``__init__``)."""
    parts = ("softmaxreg", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str | None = None) -> list[tuple[int, str]]:
    """(line, module) of every ``softmaxreg`` import in the file, ``from softmaxreg import x`` as ``softmaxreg.x``.

    Absolute and relative imports (``from ..commands import _common``, resolved against ``module``, the
    file's own module name) at any depth (inside functions too), and ``importlib.import_module("softmaxreg.x")``.
    """
    if module is None:
        module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import x, from ..commands import _common
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            if base == "softmaxreg" or not node.module:
                found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, base))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return [(line, name) for line, name in found if name.startswith("softmaxreg.")]


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_module_has_a_layer():
    layers = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    assert layers <= set(RANK), f"give these a layer in RANK: {layers - set(RANK)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_from_a_layer_above_its_own(path):
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    upward = [f"{path.name}:{line} imports {name} ({_layer(name)} is above {own})"
              for line, name in _imports(path)
              if _layer(name) in RANK and RANK[_layer(name)] > RANK[own]]  # fmt: skip
    assert upward == []


# The command line is the very top: ``softmaxreg serve`` starts the server, so ``commands`` imports ``serve``,
# and nothing imports ``commands`` but itself and ``python -m softmaxreg``. What ``serve`` or ``sklearn``
# share with a command lives in a layer below both (``runs``: e.g. `softmaxreg.runs.start`).
CLI_IMPORTERS = {"commands", "__main__"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_command_line_imports_commands(path):
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    into_cli = [f"{path.name}:{line} imports {name}" for line, name in _imports(path)
                if _layer(name) == "commands" and own not in CLI_IMPORTERS]  # fmt: skip
    assert into_cli == [], "move what they share into runs/ (as softmaxreg.runs.start)"


@pytest.mark.parametrize(
    "source",
    [
        "def train():\n    from softmaxreg.commands._common import load_data\n",
        "import softmaxreg.commands._common as common\n",
        "from softmaxreg.commands import _common\n",
        "from softmaxreg import commands\n",
        "from ..commands._common import load_data\n",
        "from .. import commands\n",
        "import importlib\ncommon = importlib.import_module('softmaxreg.commands._common')\n",
    ],
)
def test_the_cli_check_sees_serve_importing_a_command_module(tmp_path, source):
    """The check above can fail, however ``serve/worker.py`` spells its import of ``commands``."""
    bad = tmp_path / "worker.py"
    bad.write_text(source)
    assert "commands" in [_layer(name) for _, name in _imports(bad, module="softmaxreg.serve.worker")]


def test_relative_imports_resolve_against_the_module():
    init = PACKAGE / "serve" / "__init__.py"
    assert _module_name(init) == "softmaxreg.serve"
    assert _module_name(PACKAGE / "serve" / "routers" / "predict.py") == "softmaxreg.serve.routers.predict"


def test_the_layer_check_sees_an_upward_import(tmp_path):
    """The check above can fail: a book module importing a run module is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from softmaxreg.runs import checkpoint\n")
    assert [(line, _layer(name)) for line, name in _imports(bad, module="softmaxreg.book.bad")] == [(2, "runs")]
    assert RANK["runs"] > RANK["book"]


@pytest.mark.parametrize("old, new", sorted(_moved.MOVED.items()))
def test_old_module_paths_import_the_moved_module_itself(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_old_run_folder_module_path_still_reads_run_folders():
    from softmaxreg.runs import folder

    assert softmaxreg.runs.read_config is folder.read_config


def test_every_layer_says_what_it_may_import():
    for layer in ("book", "datasets", "runs", "classic", "commands", "interop", "sklearn", "serve"):
        doc = importlib.import_module(f"softmaxreg.{layer}").__doc__
        assert doc and "May import" in doc, layer
