"""The training worker: ``python -m softmaxreg.serve.worker SETTINGS_JSON``, one run of ``softmaxreg train``.

`softmaxreg.serve.training` starts it as a separate process, so the page and the prediction API keep
answering while it trains. It trains exactly as ``softmaxreg train`` does (the same run-folder
function, ``config.json`` options, data loading and `train_run`), and reports on its stdout, one JSON
object per line:

- ``{"type": "started", "run": RUN_DIR, "epochs": E}`` once the run folder exists;
- ``{"type": "progress", "epoch": E, "batch": B, "batches": N}`` a few times a second;
- ``{"type": "point", "x": X, "train_loss": L, "templates": [...]}`` when a window of batches closes,
  `POINTS_PER_EPOCH` times an epoch (d2l's ProgressBoard: ``L`` is the window's mean training loss and
  ``X`` the epoch, fractional, where the window ends; the templates refresh at the same pace);
- ``{"type": "epoch", "metrics": {...}, "templates": [...], "sent_at": UNIX_TIME}`` after each
  epoch is in the run folder (``templates``: the ten 28×28 weight images);
- ``{"type": "end", "status": "finished|stopped|diverged|failed", "message": ..., "epochs": E}``.

SIGINT stops it like Ctrl-C stops ``softmaxreg train`` (after the current step; the folder keeps the
completed epochs and resumes with ``softmaxreg train --resume``). When the server dies, the next line
finds the pipe closed and the worker stops itself the same way.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
import time
from types import SimpleNamespace
from typing import Any, TextIO

PROGRESS_EVERY = 0.25  # seconds between progress lines: smooth enough, far from a storm
POINTS_PER_EPOCH = 8  # training-loss points an epoch: the first epoch, where the loss falls most, draws a curve


class Channel:
    """JSON lines to the server; once the server is gone, a Ctrl-C to ourselves (and silence)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.closed = False

    def send(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        try:
            self.out.write(json.dumps(message, separators=(",", ":")) + "\n")
            self.out.flush()
        except (BrokenPipeError, ValueError):  # the server died: stop as Ctrl-C would, keep the folder resumable
            self.closed = True
            signal.raise_signal(signal.SIGINT)


class Reporter:
    """A Trainer callback that sends progress within each epoch, then each epoch's metrics and templates."""

    def __init__(self, channel: Channel, input_shape: tuple[int, ...]) -> None:
        self.channel = channel
        self.input_shape = input_shape
        self._last = 0.0
        self._window = [0.0, 0]  # the open window's sum of batch losses × batch sizes, and its examples

    def on_train_batch_end(self, trainer: Any, model: Any, loss: Any) -> None:
        size = getattr(trainer, "_batch_size", 1) or 1
        self._window[0] += float(loss.detach()) * size  # one sync a step: the worker trains on the CPU
        self._window[1] += size
        batch = (trainer.train_batch_idx - 1) % trainer.num_train_batches + 1
        if batch in window_ends(trainer.num_train_batches):
            total, count = self._window
            self._window = [0.0, 0]
            x = round(trainer.epoch + batch / trainer.num_train_batches, 4)  # the epoch where the window ends
            self.channel.send({"type": "point", "x": x, "train_loss": total / count,
                               "templates": templates(model, self.input_shape)})  # fmt: skip
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY:
            self._last = now
            # train_batch_idx counts the steps of the whole run, this one included
            self.channel.send({"type": "progress", "epoch": trainer.epoch + 1, "batch": batch,
                               "batches": trainer.num_train_batches})  # fmt: skip

    def on_epoch_end(self, trainer: Any, model: Any, metrics: dict[str, float]) -> None:
        sent_at = time.time()  # the epoch is in the run folder now (the recorder runs before us)
        self.channel.send({"type": "epoch", "metrics": metrics, "templates": templates(model, self.input_shape),
                           "max_epochs": trainer.max_epochs, "sent_at": sent_at})  # fmt: skip


@functools.cache
def window_ends(num_batches: int, per_epoch: int = POINTS_PER_EPOCH) -> set[int]:
    """The batches (1-based, within an epoch) that close a window of the training-loss curve.

    Examples:
        >>> sorted(window_ends(235, 8))
        [29, 59, 88, 118, 147, 176, 206, 235]
        >>> sorted(window_ends(3, 8))
        [1, 2, 3]
    """
    return {max(1, round(k * num_batches / per_epoch)) for k in range(1, per_epoch + 1)}


def templates(model: Any, input_shape: tuple[int, ...]) -> list[list[list[float]]]:
    """The model's ten templates, rounded for the wire, leaving the model in training mode."""
    import torch

    from softmaxreg.runs.inference import class_templates

    with torch.no_grad():
        weights = class_templates(model, input_shape)  # (num_classes, H, W); puts the model in eval mode
    model.train()
    return weights.numpy().round(4).tolist()


BEFORE_START = {"status": "stopped", "message": "stopped before the run started.", "epochs": 0}


def train(settings: dict[str, Any], channel: Channel, stop: threading.Event) -> dict[str, Any]:
    """``softmaxreg train``'s steps for ``settings`` (a `TrainConfig` dict, ``runs_dir``, ``data_dir``).

    ``stop`` is set by a SIGINT that arrives while the worker is still importing and loading: such a
    stop ends it cleanly before the run folder is made, instead of a KeyboardInterrupt in the middle of
    an import (which left numpy half-imported and printed a traceback).
    """
    from softmaxreg.book.devices import resolve_device
    from softmaxreg.runs import folder
    from softmaxreg.runs.config import TrainConfig
    from softmaxreg.runs.start import diverged_message, interrupted_message, load_data, make_run_dir, run_options
    from softmaxreg.runs.training import train_run

    config = TrainConfig.from_dict(settings["config"])
    options = SimpleNamespace(device="cpu", data_dir=settings.get("data_dir"), offline=False, quiet=True)
    device = resolve_device("cpu")
    data = load_data(config.batch_size, options.data_dir, options.offline)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here on a stop is a KeyboardInterrupt
    if stop.is_set():
        return BEFORE_START
    run_dir = make_run_dir(None, base=settings["runs_dir"])  # the CLI's own: it claims the folder as train does
    folder.write_config(run_dir, run_options(config, options, device, data, "en"))
    input_shape = tuple(data.train.images.shape[1:])
    channel.send({"type": "started", "run": str(run_dir), "epochs": config.epochs})
    result = train_run(config, data, run_dir, device, "en", callbacks=[Reporter(channel, input_shape)])
    done = len(result.history)
    if result.diverged:
        return {"status": "diverged", "message": diverged_message(result.diverged, run_dir, done), "epochs": done}
    if result.interrupted:
        message = interrupted_message(run_dir, done).removeprefix("softmaxreg: ")
        message = message[:1].upper() + message[1:]  # a sentence of its own on the page
        return {"status": "stopped", "message": message, "epochs": done}
    return {"status": "finished", "message": f"Trained {done} epoch{'s' * (done > 1)} into {run_dir}.", "epochs": done}


def main(argv: list[str]) -> int:
    """Train the run ``argv[0]`` describes (JSON); report on stdout; a problem is an ``end`` line, not a traceback."""
    from softmaxreg.errors import SoftmaxRegError

    channel = Channel(os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8"))
    sys.stdout = sys.stderr  # nothing else may write on the channel
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())  # until the imports and the data are done
    channel.send({"type": "ready"})  # the manager sends no SIGINT before this line (it would kill Python mid-start)
    try:
        end = train(json.loads(argv[0]), channel, stop)
    except (SoftmaxRegError, OSError) as err:
        end = {"status": "failed", "message": str(err), "epochs": 0}
    except KeyboardInterrupt:  # a second Ctrl-C, or one before training started
        end = BEFORE_START
    channel.send({"type": "end", **end})
    return 0 if end["status"] == "finished" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
