"""Packaging promises: cheap import, explicit public names, an instant --help."""

import json
import subprocess
import sys

import pytest
from conftest import SRC, run_cli

import softmaxreg


def _modules_after(code: str) -> set:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}; import sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, env={"PYTHONPATH": str(SRC), "PATH": ""},
    )  # fmt: skip
    return set(json.loads(out.stdout))


def test_import_loads_neither_matplotlib_nor_ipython_nor_torch():
    modules = _modules_after("import softmaxreg")
    assert (
        not {"matplotlib", "IPython", "torch", "torchvision", "pandas", "requests", "onnx", "tensorboard", "sklearn"}
        & modules
    )


def test_using_the_api_still_loads_no_plotting_or_ipython():
    modules = _modules_after("import softmaxreg as d2l; d2l.Trainer; d2l.SoftmaxRegression(10, 0.1); d2l.FashionMNIST")
    assert "torch" in modules
    assert not {"matplotlib", "IPython", "torchvision"} & modules


@pytest.mark.parametrize("name", softmaxreg.__all__)
def test_every_public_name_resolves(name):
    assert getattr(softmaxreg, name) is not None


def test_dir_lists_public_names():
    assert {"Trainer", "FashionMNIST", "add_to_class"} <= set(dir(softmaxreg))


def test_help_answers_without_importing_torch():
    result = run_cli("--help")
    assert result.returncode == 0 and "train" in result.stdout
    modules = _modules_after("import softmaxreg.commands.cli as c; c.build_parser().format_help()")
    assert "torch" not in modules
