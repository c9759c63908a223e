"""The ``softmaxreg`` command line. Parsing imports nothing heavy, so ``--help`` is instant.

Our exceptions (:class:`~softmaxreg.errors.SoftmaxRegError`) become one line on stderr and exit
code 2; Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from softmaxreg import __version__

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text}")
    return value


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR", help="folder holding Fashion-MNIST (looked in first)")
    parser.add_argument("--offline", action="store_true", help="never download the data")


def _add_train(commands: Any) -> None:
    p = commands.add_parser("train", help="train softmax regression on Fashion-MNIST",
                            description="Train softmax regression on Fashion-MNIST and save a run folder.")
    p.add_argument("--epochs", type=_positive_int, default=10, help="passes over the training data (default 10)")
    p.add_argument("--lr", type=_positive_float, default=0.1, help="SGD learning rate (default 0.1)")
    p.add_argument("--batch-size", type=_positive_int, default=256, help="examples per batch (default 256)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps (default cpu)")
    p.add_argument("--out", metavar="DIR", help="run folder to create (default: runs/<timestamp>)")
    p.add_argument("--quiet", action="store_true", help="print only the final result")
    _add_data_options(p)
    p.set_defaults(handler="softmaxreg.commands.train:run")


def _add_numerics(commands: Any) -> None:
    p = commands.add_parser("numerics", help="where exp overflows and underflows in each number format",
                            description="Print, for float64, float32, TF32, bfloat16, float16, float8 and int8, the "
                            "range of arguments for which exp neither overflows nor underflows, and the widest "
                            "row of logits a naive (no max-subtraction) softmax survives (d2l §4.5, exercise 1).")
    p.add_argument("--json", action="store_true", help="print the table as JSON instead of text")
    p.set_defaults(handler="softmaxreg.commands.numerics:run")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="softmaxreg",
        description="Softmax regression on Fashion-MNIST (d2l §4.5): train, evaluate, predict.",
    )
    parser.add_argument("--version", action="version", version=f"softmaxreg {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_train(commands)
    _add_numerics(commands)
    return parser


def _handler(spec: str) -> Any:
    import importlib

    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="softmaxreg: %(message)s")
    from softmaxreg.errors import SoftmaxRegError

    try:
        return int(_handler(args.handler)(args) or 0)
    except SoftmaxRegError as err:
        print(f"softmaxreg: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("softmaxreg: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
