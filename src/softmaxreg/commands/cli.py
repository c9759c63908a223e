"""The ``softmaxreg`` command line. Parsing imports nothing heavy, so ``--help`` is instant.

Each command is added by its own ``_add_<command>(commands)`` function and runs a handler given as a
``"module:function"`` string, imported only when the command runs. Our exceptions
(:class:`~softmaxreg.errors.SoftmaxRegError`) and bad options become one line on stderr and exit
code 2; the machine's failures (:class:`~softmaxreg.errors.MachineError`, any other ``OSError``)
one line and exit code 1; Ctrl-C exits with 130. Under ``torchrun`` one process prints an error:
before training starts, the first process that fails, naming itself (``process 1 of 2 on HOST: ...``);
once it has started, process 0 (or its first survivor), naming the process that failed
(`softmaxreg.book.distributed.failure_report`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from softmaxreg import __version__
from softmaxreg._validate import SEED_LIMIT
from softmaxreg.runs.config import DEFAULTS, MODEL_CHOICES
from softmaxreg.runs.recipes import RECIPE_CHOICES

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_OS_ERROR = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a program killed by it
LANGUAGES = ("en", "vi")  # softmaxreg.datasets.labels.LANGUAGES, without importing it for --help


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``softmaxreg train: error: ... (see --help)``."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n" if _speaks() else None)


def _speaks() -> bool:
    """Whether this process prints errors: always, but under torchrun only process 0 (``RANK``)."""
    return int(os.environ.get("WORLD_SIZE", "1")) <= 1 or os.environ.get("RANK", "0") == "0"


def _failed(err: BaseException, text: str | None = None) -> None:
    """Say ``text`` (if this process speaks) and, under torchrun, leave the cause for the others."""
    distributed = sys.modules.get("softmaxreg.book.distributed")  # loaded only where a process group may exist
    if distributed is not None and distributed.launched() and not isinstance(err, KeyboardInterrupt):
        text = distributed.failure_report(err, text)  # one process says it, naming the one that failed
    elif text is not None and getattr(err, "silent", not _speaks()):
        text = None
    if text is not None:
        print(text, file=sys.stderr, flush=True)


def _integer(text: str, minimum: int) -> int:
    kind = "a positive integer" if minimum == 1 else "a non-negative integer"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {kind}; got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {kind}; got {value}")
    return value


def _positive_int(text: str) -> int:
    return _integer(text, minimum=1)


def _nonnegative_int(text: str) -> int:
    return _integer(text, minimum=0)


def _seed(text: str) -> int:
    value = _integer(text, minimum=0)
    if value >= SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to {SEED_LIMIT - 1:,} (2**64 - 1); got {value}")
    return value


def _port(text: str) -> int:
    value = _integer(text, minimum=0)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number, 0..65535; got {value}")
    return value


def _number(text: str, kind: str, accept: Callable[[float], bool]) -> float:
    """``text`` as a float for which ``accept`` holds, else an argparse error saying ``kind``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {kind}; got {text!r}") from None
    if not accept(value):
        raise argparse.ArgumentTypeError(f"must be {kind}; got {text}")
    return value


def _positive_float(text: str) -> float:
    return _number(text, "a positive number", lambda v: 0 < v < float("inf"))


def _nonnegative_float(text: str) -> float:
    return _number(text, "a non-negative number", lambda v: 0 <= v < float("inf"))


def _probability(text: str) -> float:
    return _number(text, "a probability in [0, 1)", lambda v: 0 <= v < 1)


class _FlagNeedingExtra(argparse.Action):
    """A flag that needs an optional package: given without it, one line naming the pip install."""

    def __init__(self, option_strings: Sequence[str], dest: str, module: str, extra: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=False, **kwargs)
        self.module, self.extra = module, extra

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None) -> None:
        from softmaxreg._extras import require_extra
        from softmaxreg.errors import MissingExtraError

        try:
            require_extra(self.module, self.extra, f"`{option}`")
        except MissingExtraError as err:
            parser.error(str(err))
        setattr(namespace, self.dest, True)


def _add_tensorboard_option(parser: argparse.ArgumentParser, where: str) -> None:
    parser.add_argument("--tensorboard", action=_FlagNeedingExtra, module="tensorboard", extra="tensorboard",
                        help=f"also write TensorBoard event files into {where} "
                        "(needs the tensorboard extra)")  # fmt: skip


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR", help="folder holding Fashion-MNIST (looked in first)")
    parser.add_argument("--offline", action="store_true", help="never download the data")


def _size(text: str, parts: tuple[int, ...], example: str) -> tuple[int, ...]:
    try:
        numbers = tuple(int(n) for n in text.lower().split("x"))
    except ValueError:
        numbers = ()
    if len(numbers) not in parts or any(n < 1 for n in numbers):
        raise argparse.ArgumentTypeError(f"must be {' or '.join({2: 'HxW', 3: 'HxWxC'}[n] for n in parts)} "
                                         f"in pixels, e.g. {example}; got {text!r}")  # fmt: skip
    return numbers


def _image_size(text: str) -> tuple[int, ...]:
    return _size(text, (2,), "28x28")


def _image_shape(text: str) -> tuple[int, ...]:
    return _size(text, (2, 3), "28x28 or 32x32x3")


def _fraction(text: str) -> float:
    return _number(text, "a number between 0 and 1", lambda v: 0 < v < 1)


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(","))
    if len(names) < 2 or not all(names):
        raise argparse.ArgumentTypeError(f"must be two or more class names separated by commas; got {text!r}")
    return names


def _add_own_data_options(parser: argparse.ArgumentParser) -> None:
    """Where the data comes from when it is not Fashion-MNIST (see docs/guide/your-data.md)."""
    own = parser.add_argument_group("your own data (default: Fashion-MNIST)")
    own.add_argument("--data", metavar="PATH", help="an image folder (one sub-folder per class), a folder of IDX "
                     "files, or a .csv, .parquet or .npz table")  # fmt: skip
    own.add_argument("--test-data", metavar="PATH", help="a table: a separate test table (default: a stratified split)")
    own.add_argument("--test-fraction", type=_fraction, metavar="F",
                     help="share of each class held out for testing when the data has no test split "
                     "(default 0.2)")  # fmt: skip
    own.add_argument("--label", metavar="COLUMN", help="a table: the label column (default label)")
    own.add_argument("--color", choices=("grey", "rgb"), help="images: grey or rgb (default: what the images are)")
    own.add_argument("--image-size", type=_image_size, metavar="HxW",
                     help="images: resize every image to HxW (default: the most common size)")  # fmt: skip
    own.add_argument("--image-shape", type=_image_shape, metavar="HxW[xC]",
                     help="a table: its columns are the pixels of HxW (grey) or HxWxC images")  # fmt: skip
    own.add_argument("--classes", type=_names, metavar="A,B,...",
                     help="IDX files or integer labels 0..K-1: the class names "
                     "(default: classes.txt or the numbers)")  # fmt: skip
    own.add_argument("--skip-bad-files", action="store_true",
                     help="an image folder: leave out files that cannot be read (listed in the run folder's "
                     "skipped.txt)")  # fmt: skip


def _add_training_options(parser: argparse.ArgumentParser, lr: bool = True) -> None:
    """Options that set a `TrainConfig`; their default is None so that explicit ones can be told apart."""
    d = DEFAULTS
    parser.add_argument("--recipe", choices=RECIPE_CHOICES,
                        help="seed: the book's settings (the defaults below); best: Nesterov momentum, lr 0.3 "
                        "with cosine decay, weight decay 1e-4, input dropout 0.05, 20 epochs (see README); "
                        "explicit options override it")  # fmt: skip
    parser.add_argument("--epochs", type=_positive_int, help=f"passes over the training data (default {d.epochs})")
    if lr:
        parser.add_argument("--lr", type=_positive_float, help=f"SGD learning rate (default {d.lr})")
    parser.add_argument("--batch-size", type=_positive_int, help=f"examples per minibatch (default {d.batch_size})")
    parser.add_argument("--model", choices=MODEL_CHOICES, help="concise: nn.Flatten + nn.LazyLinear (§4.5); "
                        f"scratch: explicit W and b (§4.4) (default {d.model})")  # fmt: skip
    parser.add_argument("--weight-decay", type=_nonnegative_float, metavar="WD",
                        help=f"SGD weight decay (L2 penalty) (default {d.weight_decay:g})")  # fmt: skip
    parser.add_argument("--input-dropout", type=_probability, metavar="P",
                        help="while training, zero each pixel with probability P and scale the others by "
                        f"1/(1-P); the saved model has no dropout (default {d.input_dropout:g})")  # fmt: skip
    parser.add_argument(
        "--seed", type=_seed, help=f"random seed: initial weights and minibatch order (default {d.seed})"
    )
    parser.add_argument("--early-stopping", type=_positive_int, metavar="N",
                        help="stop after N epochs without a lower val_loss and keep the best "
                        "epoch's model")  # fmt: skip
    parser.add_argument("--device", help="auto, cpu, cuda or mps (default cpu; auto: CUDA, then MPS, then CPU)")
    parser.add_argument("--lang", choices=LANGUAGES, help="language of class names in outputs and figures (default en)")
    parser.add_argument("--quiet", action="store_true", help="print only the final result")
    _add_data_options(parser)
    _add_own_data_options(parser)


def _add_train(commands: Any) -> None:
    p = commands.add_parser("train", help="train softmax regression on Fashion-MNIST or your own data",
                            description="Train softmax regression on Fashion-MNIST, or on your own data (--data), "
                            "and save a run folder.")  # fmt: skip
    _add_training_options(p)
    p.add_argument("--out", metavar="DIR", help="run folder to create (default: runs/<timestamp>)")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue RUN_DIR at its next epoch, up to --epochs "
                   "(default: the run's own --epochs)")  # fmt: skip
    _add_tensorboard_option(p, "the run folder")
    p.set_defaults(handler="softmaxreg.commands.train:run")


def _add_evaluate(commands: Any) -> None:
    p = commands.add_parser("evaluate", help="test accuracy, per-class table and figures of a run",
                            description="Evaluate a run's model on its test split (Fashion-MNIST's 10,000 test "
                            "images, or the run's own data, read again): accuracy, per-class "
                            "precision/recall/F1, and confusion_matrix.png, mistakes.png, weights.png in the run "
                            "folder.")  # fmt: skip
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder made by `softmaxreg train`")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--lang", choices=LANGUAGES, help="language of class names (default: the run's)")
    _add_data_options(p)
    p.add_argument("--data", metavar="PATH", help="your own data's run: where its data is now, if it moved")
    p.set_defaults(handler="softmaxreg.commands.evaluate:run")


def _add_predict(commands: Any) -> None:
    p = commands.add_parser("predict", help="classify your own images with a run's model",
                            description="Classify PNG/JPEG images with a run's model. Each image is made like a "
                            "Fashion-MNIST one: grey, light object on a dark background (light-background photos are "
                            "inverted), trimmed, fitted into 28x28 and centred.")  # fmt: skip
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder made by `softmaxreg train`")
    p.add_argument("images", metavar="IMAGE", nargs="+",
                   help="image files (any size or colour mode); for a run on a table: .csv/.parquet files, one "
                   "prediction per row")  # fmt: skip
    p.add_argument("--top-k", type=_positive_int, default=3, metavar="K", help="classes to show per image (default 3)")
    p.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                   help="invert to light-on-dark: auto (when the border is light), yes or no "
                   "(default auto)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--lang", choices=LANGUAGES, help="language of class names (default: the run's)")
    p.add_argument(
        "--save-inputs", metavar="DIR", help="also save each image as the model sees it (28x28 PNG) into DIR"
    )
    p.set_defaults(handler="softmaxreg.commands.predict:run")


def _add_sweep(commands: Any) -> None:
    p = commands.add_parser("sweep", help="train one run per learning rate and compare them",
                            description="Train one run per learning rate (d2l §4.5, exercise 4) into one folder; "
                            "write sweep.png (train/val loss and val accuracy overlaid) and sweep.csv.")  # fmt: skip
    p.add_argument("--lr", type=_positive_float, nargs="+", required=True, metavar="LR", help="learning rates to try")
    _add_training_options(p, lr=False)
    p.add_argument("--out", metavar="DIR", help="folder to create for the runs (default: runs/sweep-<timestamp>)")
    _add_tensorboard_option(p, "each run folder (tensorboard --logdir DIR shows them together)")
    p.set_defaults(handler="softmaxreg.commands.sweep:run")


def _add_export(commands: Any) -> None:
    p = commands.add_parser("export", help="write a run's model as ONNX, for use outside softmaxreg",
                            description="Write a run's model as an ONNX file that ONNX Runtime (C++, mobile, browser, "
                            "serving) runs without torch: input image (N, 1, 28, 28) float32 in [0, 1], outputs "
                            "logits and probabilities; class names and preprocessing in its metadata. "
                            'Needs pip install "softmaxreg[onnx]".')  # fmt: skip
    p.add_argument("run_dir", metavar="RUN_DIR", help="a folder made by `softmaxreg train`")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="file format (default onnx)")
    p.add_argument("--out", metavar="FILE", help="file to write (default: RUN_DIR/model.onnx)")
    p.set_defaults(handler="softmaxreg.commands.export:run")


def _add_data(commands: Any) -> None:
    p = commands.add_parser("data", help="where Fashion-MNIST is (or why not), checksums verified",
                            description="Say where Fashion-MNIST was found, verify the four files against their "
                            "official checksums, or say every place tried. Downloads it unless --offline.")  # fmt: skip
    _add_data_options(p)
    p.set_defaults(handler="softmaxreg.commands.data:run")


def _add_numerics(commands: Any) -> None:
    p = commands.add_parser(
        "numerics",
        help="where exp overflows and underflows in each number format",
        description="Print, for float64, float32, TF32, bfloat16, float16, float8 and int8, the "
        "range of arguments for which exp neither overflows nor underflows, and the widest "
        "row of logits a naive (no max-subtraction) softmax survives (d2l §4.5, exercise 1).",
    )
    p.add_argument("--json", action="store_true", help="print the table as JSON instead of text")
    p.set_defaults(handler="softmaxreg.commands.numerics:run")


def _add_serve(commands: Any) -> None:
    p = commands.add_parser("serve", help="a web page and a JSON API for a run's model",
                            description="Serve a run's model: a web page to try it (upload or draw an image, see "
                            "why the model decides as it does, browse the test set) and a JSON API (see /docs). "
                            'Needs pip install "softmaxreg[serve]". Prediction and the page are open to whoever '
                            "reaches the port; training and the runs list need the token the server prints in its "
                            "address (see docs/guide/security.md).")  # fmt: skip
    # RUN_DIR is checked by the command, not the parser, so that a mode without a run can be added
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?", help="a folder made by `softmaxreg train`")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--lang", choices=LANGUAGES, default="en", help="the page's default language (default en)")
    p.add_argument("--workers", type=_positive_int, default=1, help="server processes (default 1)")
    p.add_argument("--cors", metavar="ORIGIN", action="append", help="let pages of ORIGIN (e.g. http://localhost:3000) "
                   "call the prediction API; repeatable; never '*', never the training routes")  # fmt: skip
    p.add_argument("--data-dir", metavar="DIR", help="folder holding Fashion-MNIST, for the test-set browser "
                   "(default: the run's, then the usual places; never downloaded)")  # fmt: skip
    p.add_argument(
        "--allow-training",
        action="store_true",
        help="a Train panel on the page: train new runs "
        "(one at a time) and watch their curves and templates; RUN_DIR may then be left out",
    )
    p.add_argument(
        "--runs-dir",
        metavar="DIR",
        help="with --allow-training: where new runs go and which runs "
        "the page can switch between (default: RUN_DIR's parent, or ./runs without RUN_DIR)",
    )
    _add_serve_security(p)
    p.set_defaults(handler="softmaxreg.commands.serve:run")


def _add_serve_security(p: Any) -> None:
    p.add_argument("--allowed-host", metavar="NAME", action="append", default=[], dest="allowed_hosts",
                   help="a name clients may use in the Host header besides 127.0.0.1, localhost, [::1] and "
                   "--host (repeatable): the server's name on the network, or behind a reverse proxy")  # fmt: skip
    p.add_argument("--token", metavar="TOKEN", help="the token for training and the runs list (default: "
                   "$SOFTMAXREG_TOKEN, else a new random one, printed in the address); 16 characters+")  # fmt: skip
    p.add_argument("--token-for-all", action="store_true",
                   help="the token for every route (the page and prediction too), not only training")  # fmt: skip
    p.add_argument("--limit-concurrency", metavar="N", type=_positive_int, default=None,
                   help="at most N connections at once; more get 503 (default: 256, or fewer when the open-file "
                   "limit is lower)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = _Parser(
        prog="softmaxreg",
        description="Softmax regression on Fashion-MNIST (d2l §4.5): train, evaluate, predict, sweep, export, data, "
        "numerics, serve.",
    )
    parser.add_argument("--version", action="version", version=f"softmaxreg {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_train(commands)
    _add_evaluate(commands)
    _add_predict(commands)
    _add_sweep(commands)
    _add_export(commands)
    _add_data(commands)
    _add_numerics(commands)
    _add_serve(commands)
    return parser


def _handler(spec: str) -> Any:
    import importlib

    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="softmaxreg: %(message)s")
    from softmaxreg.errors import MachineError, SoftmaxRegError
    from softmaxreg.runs.lock import command_scope

    try:
        with command_scope():  # run folders the command claimed are free again when it returns
            code = int(_handler(args.handler)(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the try, not at interpreter exit
        return code
    except MachineError as err:  # our explanation of an OSError: still the machine's fault
        _failed(err, f"softmaxreg: error: {err}")
        return EXIT_OS_ERROR
    except SoftmaxRegError as err:
        _failed(err, f"softmaxreg: error: {err}")
        return getattr(err, "exit_code", EXIT_USAGE)
    except KeyboardInterrupt as err:
        _failed(err, "softmaxreg: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `softmaxreg numerics | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_BROKEN_PIPE
    except OSError as err:  # the machine's fault (disk full, permissions), not ours: one line, no traceback
        _failed(err, f"softmaxreg: error: {err}")
        return EXIT_OS_ERROR
    except Exception as err:
        if _speaks():
            raise  # a bug: its traceback, as without torchrun
        # another process of a torchrun launch: it names itself (before training) or process 0 names it
        _failed(err, f"softmaxreg: error: {type(err).__name__}: {str(err).strip().partition(chr(10))[0]}")
        return EXIT_OS_ERROR
