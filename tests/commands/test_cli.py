"""The command-line parser: every command's --help is instant (no torch), and errors are one line."""

import subprocess
import sys

import pytest
from conftest import SRC, run_cli

from softmaxreg.commands.cli import main

COMMANDS = ("train", "evaluate", "predict", "sweep", "export", "data")


def test_help_of_every_command_imports_nothing_heavy():
    code = f"""
import contextlib, io, sys
from softmaxreg.commands.cli import main
for command in {COMMANDS!r}:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            main([command, "--help"])
        except SystemExit as stop:
            assert stop.code == 0, (command, stop.code)
    assert "usage: softmaxreg " + command in out.getvalue(), command
heavy = ("torch", "numpy", "matplotlib", "PIL", "tqdm", "safetensors", "onnx", "onnxruntime", "tensorboard")
print(sorted(m for m in heavy if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(SRC)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_lists_the_options(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    help_text = capsys.readouterr().out
    expected = {
        "train": ["--epochs", "--lr", "--batch-size", "--model", "--weight-decay", "--input-dropout", "--seed",
                  "--data-dir", "--offline", "--out", "--device", "--early-stopping", "--resume", "--lang", "--quiet",
                  "--tensorboard"],
        "evaluate": ["RUN_DIR", "--json", "--lang"],
        "predict": ["RUN_DIR", "IMAGE", "--top-k", "--json", "--invert"],
        "sweep": ["--lr", "--epochs", "--out", "--tensorboard"],
        "export": ["RUN_DIR", "--format", "--out", "softmaxreg[onnx]"],
        "data": ["--data-dir", "--offline"],
    }[command]  # fmt: skip
    assert all(option in help_text for option in expected)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["evaluate"],
            "softmaxreg evaluate: error: the following arguments are required: RUN_DIR "
            "(see softmaxreg evaluate --help)",
        ),
        (
            ["predict", "run"],
            "softmaxreg predict: error: the following arguments are required: IMAGE (see softmaxreg predict --help)",
        ),
        (["predict", "run", "a.png", "--top-k", "0"], "argument --top-k: must be a positive integer; got 0"),
        (["sweep"], "the following arguments are required: --lr"),
        (["train", "--lang", "fr"], "argument --lang: invalid choice: 'fr'"),
        (["fly"], "softmaxreg: error: argument COMMAND: invalid choice: 'fly'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr


def test_a_closed_pipe_is_not_a_traceback(tmp_path):
    """`softmaxreg numerics | head -1`: the reader leaves early; softmaxreg exits quietly."""
    import subprocess
    import sys

    from conftest import SRC

    process = subprocess.Popen(
        [sys.executable, "-m", "softmaxreg", "numerics"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={"PYTHONPATH": str(SRC), "PATH": ""},
    )  # fmt: skip
    process.stdout.close()  # like `head` exiting before reading
    stderr = process.stderr.read().decode()
    assert process.wait() in (0, 141) and "Traceback" not in stderr, stderr


def test_an_os_error_is_one_line(tmp_path):
    """A disk or permission problem outside our checks still gets one line, not a traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("train", "--epochs", "1", "--out", str(blocker / "run"), cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "softmaxreg: error:" in result.stderr
