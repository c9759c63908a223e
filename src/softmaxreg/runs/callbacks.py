"""Trainer callbacks of a CLI run: progress display, early stopping, resuming and the run folder.

Each is a small object with any of the `Trainer`'s hooks (``on_fit_start``, ``on_train_batch_end``,
``on_epoch_end``, ``on_fit_end``). At the end of an epoch they run in list order, so put
`EarlyStopping` before `RunRecorder` (which asks it whether the epoch was the best).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import torch

from softmaxreg._validate import check_positive_int
from softmaxreg.errors import CheckpointError, MachineError
from softmaxreg.runs import checkpoint, folder


def format_epoch(metrics: dict[str, float], max_epochs: int) -> str:
    """One line about a finished epoch.

    Examples:
        >>> format_epoch({"epoch": 3, "train_loss": 0.5, "val_loss": 0.52, "val_acc": 0.81, "seconds": 1.25}, 10)
        'epoch   3/10  train_loss 0.5000  val_loss 0.5200  val_acc 0.8100  1.2s'
    """
    return (
        f"epoch {metrics['epoch']:>3}/{max_epochs}  train_loss {metrics.get('train_loss', math.nan):.4f}  "
        f"val_loss {metrics.get('val_loss', math.nan):.4f}  val_acc {metrics.get('val_acc', math.nan):.4f}  "
        f"{metrics['seconds']:.1f}s"
    )


class ProgressBar:
    """A tqdm bar over each epoch's training batches; it disappears when the epoch ends.

    Args:
        file: where to draw it (standard error by default).
        disable: ``True`` hides it; ``None`` hides it when ``file`` is not a terminal.
    """

    def __init__(self, file: TextIO | None = None, disable: bool | None = None) -> None:
        self.file = file
        self.disable = disable
        self.bar: Any = None

    def on_train_batch_end(self, trainer: Any, model: Any, loss: Any) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=trainer.num_train_batches, desc=f"epoch {trainer.epoch + 1}/{trainer.max_epochs}",
                unit="batch", leave=False, file=self.file or sys.stderr, disable=self.disable, dynamic_ncols=True,
            )  # fmt: skip
        self.bar.update()

    def on_epoch_end(self, trainer: Any, model: Any, metrics: dict[str, float]) -> None:
        self.close()

    def on_fit_end(self, trainer: Any, model: Any) -> None:
        self.close()

    def close(self) -> None:
        """Remove the bar (the next training batch starts a new one)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class EpochLog:
    """Reports one line per finished epoch through ``write`` (e.g. ``print``)."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def on_epoch_end(self, trainer: Any, model: Any, metrics: dict[str, float]) -> None:
        self.write(format_epoch(metrics, trainer.max_epochs))


class EarlyStopping:
    """Stop after ``patience`` epochs in a row without a new lowest ``val_loss``.

    Args:
        patience: epochs in a row without improvement that stop the run.
        monitor: the metric to watch (``'val_loss'``; ``'train_loss'`` when there is no validation).
        min_delta: an epoch improves only if it is lower than the best so far by more than this
            (scikit-learn's ``tol``).

    Attributes:
        best: the lowest ``val_loss`` so far.
        best_epoch: the epoch that reached it.
        wait: epochs since then.
        improved: whether the last epoch set a new best.

    Examples:
        >>> class T: should_stop = False
        >>> stop, trainer = EarlyStopping(patience=2), T()
        >>> for epoch, loss in enumerate([0.9, 0.7, 0.8, 0.75], start=1):
        ...     stop.on_epoch_end(trainer, None, {"epoch": epoch, "val_loss": loss})
        >>> stop.best_epoch, stop.wait, trainer.should_stop
        (2, 2, True)
        >>> stop, trainer = EarlyStopping(patience=2, monitor="train_loss", min_delta=0.01), T()
        >>> for epoch, loss in enumerate([0.9, 0.7, 0.695, 0.69], start=1):  # 0.005 better is not enough
        ...     stop.on_epoch_end(trainer, None, {"epoch": epoch, "train_loss": loss})
        >>> stop.best_epoch, trainer.should_stop
        (2, True)
    """

    def __init__(self, patience: int, monitor: str = "val_loss", min_delta: float = 0.0) -> None:
        self.patience = check_positive_int("early_stopping", patience)
        self.monitor, self.min_delta = monitor, min_delta
        self.best, self.best_epoch, self.wait, self.improved = math.inf, 0, 0, False

    def on_epoch_end(self, trainer: Any, model: Any, metrics: dict[str, float]) -> None:
        value = metrics.get(self.monitor, math.nan)
        self.improved = value < self.best - self.min_delta  # NaN never improves
        if self.improved:
            self.best, self.best_epoch, self.wait = value, metrics["epoch"], 0
        else:
            self.wait += 1
        if self.wait >= self.patience:
            trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state, for resuming."""
        best = self.best if math.isfinite(self.best) else None
        return {"best": best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict`'s output."""
        self.best = math.inf if state["best"] is None else float(state["best"])
        self.best_epoch, self.wait = int(state["best_epoch"]), int(state["wait"])


class OptimizerSettings:
    """Sets what the model's ``configure_optimizers`` does not: SGD's weight decay and momentum."""

    def __init__(self, weight_decay: float, momentum: float = 0.0, nesterov: bool = False) -> None:
        self.settings = {"weight_decay": weight_decay, "momentum": momentum, "nesterov": nesterov}

    def on_fit_start(self, trainer: Any, model: Any) -> None:
        for group in trainer.optim.param_groups:
            group.update(self.settings)


class CosineSchedule:
    """Learning rate ``lr · (1 + cos(π t / T)) / 2`` at step t of the run's T steps.

    Stateless (t comes from the trainer's epoch and batch counters), so a resumed run follows the
    same schedule.

    Examples:
        >>> CosineSchedule(0.1).lr_at(0, 100), CosineSchedule(0.1).lr_at(50, 100), CosineSchedule(0.1).lr_at(100, 100)
        (0.1, 0.05, 0.0)
    """

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def lr_at(self, step: int, total: int) -> float:
        """The learning rate of step ``step`` (0-based) of ``total``."""
        return round(self.lr * (1 + math.cos(math.pi * min(step / max(total, 1), 1.0))) / 2, 15)

    def _set(self, trainer: Any, step: int) -> None:
        lr = self.lr_at(step, trainer.max_epochs * trainer.num_train_batches)
        for group in trainer.optim.param_groups:
            group["lr"] = lr

    def on_fit_start(self, trainer: Any, model: Any) -> None:
        self._set(trainer, getattr(trainer, "start_epoch", 0) * trainer.num_train_batches)

    def on_train_batch_end(self, trainer: Any, model: Any, loss: Any) -> None:
        done = trainer.train_batch_idx % trainer.num_train_batches or trainer.num_train_batches
        self._set(trainer, trainer.epoch * trainer.num_train_batches + done)


class InputDropout:
    """Dropout on the model's input while it trains: each pixel is zeroed with probability ``p``, the
    others are scaled by ``1 / (1 - p)`` so that the expected input is unchanged.

    A regulariser, not a layer: it is a forward pre-hook that exists only during `fit` and acts only
    in training mode, so validation, evaluation and the saved model see the pixels as they are
    (the model stays ``Flatten`` + ``Linear``).

    The multipliers of a batch are a window of one pool of 2**19 multipliers drawn once from
    ``seed``, at an offset hashed from ``seed`` and the trainer's step counter.
    ``torch.nn.functional.dropout`` draws a fresh mask per batch instead: about 1 ms for a batch of
    256 images on a 2-core CPU, three times the rest of a step; the window costs about 30 µs.
    Cross-validated accuracies of the two were the same (see `softmaxreg.runs.recipes`). Torch's random
    generator is not used, so the minibatches are those of the same run without dropout, and a
    resumed run, whose step counter is restored, gets the same masks as an uninterrupted one.

    Args:
        p: probability of dropping a pixel, in [0, 1).
        seed: seed of the pool.

    Examples:
        >>> model = torch.nn.Flatten()
        >>> dropout = InputDropout(0.5)
        >>> dropout.on_fit_start(None, model)
        >>> sorted(model(torch.ones(1, 8)).unique().tolist())   # training: zeros and 1 / (1 - 0.5)
        [0.0, 2.0]
        >>> model.eval()(torch.ones(1, 3)).tolist()              # evaluation: unchanged
        [[1.0, 1.0, 1.0]]
        >>> dropout.on_fit_end(None, model)
        >>> model.train()(torch.ones(1, 3)).tolist()             # after fit: gone
        [[1.0, 1.0, 1.0]]
    """

    POOL_SIZE = 1 << 19

    def __init__(self, p: float, seed: int = 0) -> None:
        self.p, self.seed = p, seed
        self._pool: torch.Tensor | None = None
        self._hook: Any = None
        self._trainer: Any = None
        self._count = 0  # training forwards so far: the step counter when there is no trainer

    def on_fit_start(self, trainer: Any, model: Any) -> None:
        self._trainer = trainer
        self._hook = model.register_forward_pre_hook(self._drop)

    def on_fit_end(self, trainer: Any, model: Any) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def _multipliers(self, like: torch.Tensor, numel: int) -> torch.Tensor:
        """The pool, on ``like``'s device, holding at least twice ``numel`` elements."""
        size = max(self.POOL_SIZE, 2 * numel)
        pool = self._pool
        if pool is None or len(pool) < size or pool.device != like.device:
            keep = torch.rand(size, generator=torch.Generator().manual_seed(self.seed)) >= self.p
            pool = self._pool = (keep / (1 - self.p)).to(like.device)
        return pool

    def _drop(self, module: Any, inputs: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if not module.training or self.p == 0:
            return None
        X, *rest = inputs
        # under torchrun X is this process's share of the global batch: take its rows of the
        # global batch's window, so that the masks are those of the one-process run
        parallel = getattr(self._trainer, "parallel", None)
        rows = getattr(parallel, "global_batch_size", None) or len(X)
        per_row = X.numel() // max(len(X), 1)
        pool, n = self._multipliers(X, rows * per_row), rows * per_row
        step = getattr(self._trainer, "train_batch_idx", self._count)
        self._count += 1
        start = _mix64(self.seed << 32 ^ step) % (len(pool) - n + 1) + getattr(parallel, "share_start", 0) * per_row
        return (X * pool[start : start + X.numel()].view(X.shape), *rest)


def _mix64(x: int) -> int:
    """SplitMix64's output function: a well-spread 64-bit hash of ``x``.

    Examples:
        >>> _mix64(0), _mix64(1) % 1000
        (16294208416658607535, 465)
    """
    mask = (1 << 64) - 1
    x = (x + 0x9E3779B97F4A7C15) & mask
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)


class Resume:
    """Restores a saved `~softmaxreg.runs.checkpoint.TrainingState` so that `fit` goes on at the next epoch.

    Model weights, optimizer state, history, board points, the other callbacks' state and, last,
    the random number generators: the next epoch then draws the same minibatches as it would have
    in an uninterrupted run.

    Args:
        state: what `checkpoint.load_training_state` returned.
        stateful: callbacks with ``load_state_dict``, by the name their state was saved under.
    """

    def __init__(self, state: checkpoint.TrainingState, stateful: dict[str, Any]) -> None:
        self.state = state
        self.stateful = stateful

    def on_fit_start(self, trainer: Any, model: Any) -> None:
        try:
            self._restore(trainer, model)
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as err:  # checked before; a last guard
            first = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
            raise CheckpointError(
                f"Expected a saved training state that fits this run; got one that does not ({first}). "
                + folder.RESUME_FIX
            ) from None

    def _restore(self, trainer: Any, model: Any) -> None:
        state = self.state
        model.load_state_dict(state.model)
        trainer.optim.load_state_dict(state.optimizer)
        trainer.history = [dict(row) for row in state.extra.get("history", [])]
        trainer.start_epoch = state.epoch
        trainer.train_batch_idx = state.epoch * trainer.num_train_batches
        trainer.val_batch_idx = state.epoch * trainer.num_val_batches
        model.board.data = {label: [tuple(p) for p in points] for label, points in state.extra.get("board", {}).items()}
        for name, callback in self.stateful.items():
            if state.extra.get(name) is not None:
                callback.load_state_dict(state.extra[name])
        checkpoint.restore_rng(state.rng)


class RunRecorder:
    """Keeps a run folder up to date: after every epoch its checkpoints, ``metrics.csv`` and
    ``summary.json``; at the end ``curves.png``. Every file is replaced atomically.

    ``model.safetensors`` holds the last epoch's model, or with `EarlyStopping` the best epoch's.

    Args:
        run_dir: the run folder.
        metadata: the model description for ``model.json`` (the epoch and its metrics are added).
        early_stopping: the run's `EarlyStopping`, if any.
    """

    def __init__(self, run_dir: Path, metadata: dict[str, Any], early_stopping: EarlyStopping | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.metadata = metadata
        self.early_stopping = early_stopping
        self.model_epoch: dict[str, Any] | None = None

    def on_fit_start(self, trainer: Any, model: Any) -> None:
        if trainer.history and self.model_epoch is None:  # resumed: model.json says which epoch it holds
            saved = checkpoint.load_metadata(self.run_dir)
            self.model_epoch = {key: saved.get(key) for key in ("epoch", "val_loss", "val_acc")}

    def on_epoch_end(self, trainer: Any, model: Any, metrics: dict[str, float]) -> None:
        try:
            self._save_epoch(trainer, model, metrics)
        except OSError as err:  # e.g. a full disk: each file is whole, old or new (atomic writes)
            raise MachineError(
                f"Expected to save epoch {metrics['epoch']} into {self.run_dir}; got an error: {err.strerror or err}. "
                f"Free some space or fix the folder's permissions, then {self._what_next()}"
            ) from None

    def _what_next(self) -> str:
        """How to go on after a failed save: resume after the last epoch the folder holds, if any."""
        try:
            done = folder.completed_epochs(self.run_dir)
        except CheckpointError:
            return f"train again: {self.run_dir} holds no completed epoch to resume (delete it, or use another --out)."
        return f"resume: softmaxreg train --resume {self.run_dir} (it goes on after epoch {done})"

    def _save_epoch(self, trainer: Any, model: Any, metrics: dict[str, float]) -> None:
        if self.early_stopping is None or self.early_stopping.improved:
            self.model_epoch = {key: metrics.get(key) for key in ("epoch", "val_loss", "val_acc")}
            checkpoint.save_checkpoint(model, self.run_dir, {**self.metadata, **self.model_epoch})
        checkpoint.save_training_state(self.run_dir, self._training_state(trainer, model, metrics["epoch"]))
        folder.write_metrics(self.run_dir, trainer.history)
        folder.write_summary(self.run_dir, self.summary(trainer))

    def on_fit_end(self, trainer: Any, model: Any) -> None:
        if trainer.history:
            folder.write_summary(self.run_dir, self.summary(trainer))
            model.board.save(self.run_dir / folder.CURVES, dpi=150)

    def summary(self, trainer: Any) -> dict[str, Any]:
        """``summary.json``'s content: final and best epochs, the saved model's epoch, how it ended."""
        return {
            **folder.summarize(trainer.history),
            "model_epoch": (self.model_epoch or {}).get("epoch"),
            # stopping after the last epoch anyway is not stopping early
            "stopped_early": bool(
                trainer.should_stop and self.early_stopping is not None and len(trainer.history) < trainer.max_epochs
            ),
            "interrupted": bool(trainer.interrupted),
            "diverged": str(trainer.diverged) if getattr(trainer, "diverged", None) is not None else None,
        }

    def _training_state(self, trainer: Any, model: Any, epoch: int) -> checkpoint.TrainingState:
        extra: dict[str, Any] = {"history": trainer.history, "board": model.board.data}
        if self.early_stopping is not None:
            extra["early_stopping"] = self.early_stopping.state_dict()
        return checkpoint.TrainingState(
            epoch=epoch, model=model.state_dict(), optimizer=trainer.optim.state_dict(),
            rng=checkpoint.capture_rng(trainer.device), extra=extra,
        )  # fmt: skip


class StopOnInterrupt:
    """Ctrl-C (SIGINT) asks the Trainer to stop after the current step instead of killing it.

    Use it as a context manager around ``fit`` *and* as a callback (so a Ctrl-C that arrives before
    ``fit`` starts is not lost). A second Ctrl-C interrupts at once, as usual.

    Args:
        terminate: treat SIGTERM the same way. ``torchrun`` forwards a Ctrl-C as SIGTERM to every
            process (and kills them 30 s later): each finishes its step and the run stops as one.

    Attributes:
        requested: whether Ctrl-C was pressed.
    """

    def __init__(self, terminate: bool = False) -> None:
        import signal

        self.requested = False
        self.trainer: Any = None
        self._signals = (signal.SIGINT, signal.SIGTERM) if terminate else (signal.SIGINT,)
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopOnInterrupt:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self._signals}
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}

    def _handle(self, signum: int, frame: Any) -> None:
        import signal

        self.requested = True
        if self.trainer is not None:
            self.trainer.interrupted = True
        if signum in self._previous:  # a second Ctrl-C raises KeyboardInterrupt
            signal.signal(signum, self._previous.pop(signum))

    def on_fit_start(self, trainer: Any, model: Any) -> None:
        self.trainer = trainer
        if self.requested:
            trainer.interrupted = True
