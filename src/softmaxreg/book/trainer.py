"""`Trainer`: when and how to train. The loop, devices, no_grad and metric bookkeeping live here.

The loop, as a reader should see it::

    fit(model, data):
        parallel = distributed.setup()         # SINGLE outside torchrun: every parallel.* is a no-op
        prepare_data(data)            # train_dataloader, val_dataloader, num_*_batches
        prepare_model(model)          # model.trainer = self, board limits, device
        optim = model.configure_optimizers()
        on_fit_start()                # callbacks; one may resume: start_epoch, history, weights
        parallel.sync_start()         # every process takes process 0's weights, RNG, counters
        on_train_start()              # the state is final (e.g. a logger opens its files)
        for epoch in range(start_epoch, max_epochs):
            fit_epoch():
                model.train()
                for batch in train_dataloader:                         # parallel.share(): this process's rows
                    loss = model.training_step(prepare_batch(batch))   # model.plot() -> record()
                    optim.zero_grad(); loss.backward()
                    parallel.all_reduce_grads()                        # mean over the global batch; stop vote
                    clip_gradients(); optim.step()
                    train_batch_idx += 1
                    # when a board window closes: a NaN/inf train_loss raises TrainingDivergedError
                    if parallel.agreed_stop(interrupted): return
                model.eval()
                with no_grad: for batch in val_dataloader:             # sharded too
                    model.validation_step(prepare_batch(batch));  val_batch_idx += 1
            check_parameters()            # NaN/inf weights raise TrainingDivergedError
            end_epoch()                   # exact epoch means (parallel.sum_metrics) -> history, board, callbacks
            if parallel.from_main(should_stop): break
        on_fit_end()                      # also after TrainingDivergedError, which is then re-raised

Metrics are exact: every value a model reports through ``plot`` is weighted by its batch's size, so
an epoch's ``val_acc`` is the accuracy over all validation examples, whatever the batch size.

Divergence costs no device sync per step: the train losses that ``plot`` collects are summed when
a board window closes anyway (twice an epoch by default), and a NaN or infinite sum is traced back
to the first bad batch. `fit` then stops with a `TrainingDivergedError` naming the epoch and step;
the diverged epoch is not recorded (no ``on_epoch_end``), so checkpoints written by callbacks stay
those of the last good epoch.

Under ``torchrun`` the same loop runs in every process (see `softmaxreg.book.distributed`): each
takes its share of every global batch, gradients and metric sums are summed over the processes,
and only process 0 draws the board.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch

from softmaxreg._validate import check_nonnegative_int, check_nonnegative_number
from softmaxreg.book import distributed
from softmaxreg.book._metric_log import MetricLog
from softmaxreg.book.devices import cpu, resolve_device, try_gpu
from softmaxreg.book.hyperparameters import HyperParameters
from softmaxreg.errors import TrainingDivergedError

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _denormals_flushed() -> Iterator[None]:
    """Treat denormal floats as zero while training, where the CPU can.

    A large learning rate makes large logits, whose softmax has entries below 1e-38: x86 CPUs
    compute with those denormals up to 100x slower (measured: an epoch at lr 1 took 8.5 s instead of
    0.7 s, with the same accuracy). Numbers that small make no difference to SGD. The setting is
    global and has no getter: it is switched off again afterwards.
    """
    changed = torch.set_flush_denormal(True)  # False where the CPU cannot do it: nothing to undo
    try:
        yield
    finally:
        if changed:
            torch.set_flush_denormal(False)


class _Counted:
    """Wraps a dataloader so the Trainer knows the size of the batch being processed; under
    torchrun (``shard``) it yields this process's share of each global batch."""

    def __init__(self, loader: Any, trainer: Trainer, shard: bool = True) -> None:
        self.loader = loader
        self.trainer = trainer
        self.shard = shard

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        parallel = self.trainer.parallel if self.shard else distributed.SINGLE
        for batch in self.loader:
            batch = parallel.share(batch)  # under torchrun: this process's rows of the global batch
            self.trainer._batch_size = len(batch[-1])
            yield batch

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


def _window_ends(num_batches: int, per_epoch: int) -> dict[int, int]:
    """Positions (1-based, within an epoch) where a board window closes -> where the previous one did.

    Examples:
        >>> _window_ends(235, 2)
        {118: 0, 235: 118}
    """
    ends = sorted({max(1, round(k * num_batches / max(per_epoch, 1))) for k in range(1, max(per_epoch, 1) + 1)})
    return dict(zip(ends, [0, *ends[:-1]], strict=True))


def _tensorboard_logger(tensorboard: Any) -> Any:
    """``Trainer(tensorboard=...)``'s logger: a folder becomes a `TensorBoardLogger`, a logger stays one."""
    if not isinstance(tensorboard, (str, os.PathLike)):
        return tensorboard
    from softmaxreg.interop.tensorboard_log import TensorBoardLogger

    return TensorBoardLogger(tensorboard)


class Trainer(HyperParameters):
    """Trains a `Module` on a `DataModule` (see the module docstring for the loop).

    Args:
        max_epochs: number of passes over the training data.
        num_gpus: d2l's device switch: ``0`` trains on the CPU, ``≥ 1`` on the first GPU.
        gradient_clip_val: clip the gradient norm to this value (``0``: no clipping).
        device: ``'cpu'``, ``'cuda'``, ``'mps'``, ``'auto'`` or a ``torch.device``; overrides
            ``num_gpus`` when given.
        callbacks: objects with any of ``on_fit_start(trainer, model)``, ``on_train_start(trainer,
            model)`` (after every ``on_fit_start``, once a resume has restored the state),
            ``on_train_batch_end(trainer, model, loss)``, ``on_epoch_end(trainer, model, metrics)``,
            ``on_fit_end(trainer, model)``; called in list order.
        tensorboard: a folder to write TensorBoard event files into (the epoch metrics, the
            board's train loss per window, the hyperparameters), or a
            `~softmaxreg.interop.tensorboard_log.TensorBoardLogger`. It runs before the other
            callbacks. Needs ``pip install "softmaxreg[tensorboard]"``.

    Attributes:
        history: one dict per completed epoch: ``epoch``, ``train_loss``, ``val_loss``, ``val_acc``
            (whatever the model reported), and ``seconds``.
        should_stop: set it (e.g. from a callback) to stop after the current epoch.
        interrupted: set it (e.g. from a signal handler) to stop after the current step; the
            unfinished epoch is not recorded.
        diverged: the `TrainingDivergedError` that stopped the last `fit`, else ``None`` (set
            before ``on_fit_end`` callbacks run).
        start_epoch: the first epoch `fit` runs (0-based); ``on_fit_start`` callbacks may raise it
            to resume a run, after restoring the model, ``optim`` and ``history``.
    """

    # set by save_hyperparameters (the book's API), declared for the type checker
    max_epochs: int
    num_gpus: int
    gradient_clip_val: float

    def __init__(
        self,
        max_epochs: int,
        num_gpus: int = 0,
        gradient_clip_val: float = 0,
        device: Any = None,
        callbacks: Sequence[Any] = (),
        tensorboard: str | os.PathLike[str] | Any | None = None,
    ) -> None:
        self.save_hyperparameters(ignore=["callbacks", "tensorboard"])
        check_nonnegative_int("max_epochs", max_epochs)
        check_nonnegative_int("num_gpus", num_gpus)
        check_nonnegative_number("gradient_clip_val", gradient_clip_val)
        self.callbacks = list(callbacks)
        if tensorboard is not None:  # first, so an epoch's events are written before a checkpoint records it
            self.callbacks.insert(0, _tensorboard_logger(tensorboard))
        # d2l falls back to the CPU when fewer GPUs exist than asked for; an explicit device is strict.
        self.device = resolve_device(device) if device is not None else try_gpu() if num_gpus else cpu()
        self.gpus = [self.device] if self.device.type != "cpu" else []
        self.history: list[dict[str, float]] = []
        self.should_stop = self.interrupted = False
        self.diverged: TrainingDivergedError | None = None
        self.parallel: distributed.SingleProcess = distributed.SINGLE
        self._start_recording(plotting=False)

    # -- d2l's surface -------------------------------------------------------------------------

    def prepare_data(self, data: Any) -> None:
        """Take the data module's loaders and count their batches."""
        self.train_dataloader = _Counted(data.train_dataloader(), self)
        self.parallel.check_loader(self.train_dataloader.loader)
        val = data.val_dataloader()
        self.parallel.check_loader(val)
        self.val_dataloader = _Counted(val, self) if val is not None else None
        self.num_train_batches = len(self.train_dataloader)
        self.num_val_batches = len(self.val_dataloader) if self.val_dataloader is not None else 0

    def prepare_model(self, model: Any) -> None:
        """Attach the model to this trainer, set its board's axes, move it to the device."""
        model.trainer = self
        model.board.xlim = [0, self.max_epochs]
        if getattr(model.board, "xlabel", None) is None:
            model.board.xlabel = "epoch"
        if self.device.type != "cpu":
            model.to(self.device)
        self.model = model

    def fit(self, model: Any, data: Any) -> None:
        """Train ``model`` on ``data`` for ``max_epochs`` epochs (see the module docstring).

        Raises:
            TrainingDivergedError: the training loss or the parameters became NaN or infinite. The
                message names the epoch and step of the first non-finite loss; `history` keeps the
                completed epochs, ``on_fit_end`` callbacks have run, and the model's parameters are
                those of the diverged step (reload a checkpoint to use the last good ones).
        """
        self.parallel = distributed.setup()
        self.device = self.parallel.device(self.device)  # NCCL: GPU LOCAL_RANK
        self.gpus = [self.device] if self.device.type != "cpu" else []
        try:
            self._fit(model, data)
        except BaseException as err:
            self.parallel.note_failure(err)  # so the other processes can name the cause
            raise

    def _fit(self, model: Any, data: Any) -> None:
        self.prepare_data(data)
        self.prepare_model(model)
        self.optim = model.configure_optimizers()
        self.epoch = self.train_batch_idx = self.val_batch_idx = 0
        self.history, self.should_stop, self.interrupted, self.diverged = [], False, False, None
        self.start_epoch = 0  # a callback's on_fit_start may raise it to resume a run (with its history)
        self._start_recording()
        self._callback("on_fit_start", model)
        self.parallel.sync_start(self, model)
        self._callback("on_train_start", model)
        try:
            with _denormals_flushed():
                self._fit_epochs()
        except TrainingDivergedError as err:
            self.diverged = err
            self._callback("on_fit_end", model)
            raise
        self._callback("on_fit_end", model)

    def _fit_epochs(self) -> None:
        for self.epoch in range(self.start_epoch, self.max_epochs):  # noqa: B020 - d2l's attribute, not the iterable
            started = time.perf_counter()
            self.fit_epoch()
            self.parallel.check_reduced()  # under torchrun: a replaced fit_epoch that never averaged gradients
            if self.parallel.agreed_stop(self.interrupted):
                break
            self.check_parameters()
            self.end_epoch(time.perf_counter() - started)
            if self.parallel.from_main(self.should_stop):  # early stopping: process 0 decides for all
                self.should_stop = True
                break

    def fit_epoch(self) -> None:
        """One pass over the training data, then one over the validation data."""
        self.model.train()
        for batch in self.train_dataloader:
            loss = self.model.training_step(self.prepare_batch(batch))
            self.optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                self.parallel.all_reduce_grads(self.model, self.interrupted)  # the mean over the global batch
                if self.gradient_clip_val > 0:
                    self.clip_gradients(self.gradient_clip_val, self.model)
                self.optim.step()
            self.train_batch_idx += 1
            if self.callbacks:
                self._callback("on_train_batch_end", self.model, loss)
            if self.parallel.agreed_stop(self.interrupted):  # under torchrun: every process after the same step
                self.interrupted = True
                return
        if self.val_dataloader is None:
            return
        self.model.eval()
        for batch in self.val_dataloader:
            with torch.no_grad():
                self.model.validation_step(self.prepare_batch(batch))
            self.val_batch_idx += 1

    def prepare_batch(self, batch: Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
        """Move a batch to the training device (a no-op on the CPU)."""
        if self.device.type == "cpu":
            return batch
        return tuple(a.to(self.device, non_blocking=True) for a in batch)

    def clip_gradients(self, grad_clip_val: float, model: Any) -> None:
        """Rescale the gradients so that their global norm is at most ``grad_clip_val``."""
        params = [p for p in model.parameters() if p.requires_grad and p.grad is not None]
        torch.nn.utils.clip_grad_norm_(params, grad_clip_val)

    # -- metric bookkeeping --------------------------------------------------------------------

    def record(self, key: str, value: Any, train: bool) -> None:
        """Take a batch's mean ``value`` of metric ``key`` (called by `Module.plot`).

        The value is weighted by the batch size in the epoch mean and in the board's points.
        """
        label = ("train_" if train else "val_") + key
        self._log.add(label, value, self._batch_size)
        if self._plotting:
            self._maybe_draw(label, train)

    def _maybe_draw(self, label: str, train: bool) -> None:
        """Draw a board point when a window of batches closes (``plot_*_per_epoch`` per epoch)."""
        if train:
            index, num_batches = self.train_batch_idx, self.num_train_batches
        else:
            index, num_batches = self.val_batch_idx, self.num_val_batches
        position = index % max(num_batches, 1) + 1  # 1-based position of this batch in its epoch
        windows = self._windows[train]
        if position not in windows:
            return
        mean = self._log.window_mean(label, self.parallel.sum_metrics)
        if train and not math.isfinite(mean) and label == "train_loss":
            self._diverged(*self.parallel.first_nonfinite(self._log.nonfinite.get(label)))
        if not self.parallel.is_main:
            return
        # d2l's x: for training, the mean of batch_idx / num_train_batches over the window
        x = (2 * index - (position - windows[position]) + 1) / 2 / self.num_train_batches if train else self.epoch + 1
        self.model.board.draw(x, mean, label, every_n=1)

    # -- divergence ----------------------------------------------------------------------------

    def _hint(self) -> str:
        lr = getattr(self.model, "lr", None)
        return f"Lower the learning rate{f' (lr {lr:g})' if isinstance(lr, (int, float)) else ''} and train again."

    def _diverged(self, index: int, value: float) -> None:
        """Raise for the first non-finite train loss, the ``index``-th (0-based) of this epoch."""
        step = self.epoch * self.num_train_batches + index + 1
        raise TrainingDivergedError(
            f"Expected a finite training loss; got {value} at epoch {self.epoch + 1}, batch {index + 1} of "
            f"{self.num_train_batches} (step {step}): training diverged. {self._hint()}"
        )

    def check_parameters(self) -> None:
        """Raise `TrainingDivergedError` if a parameter is NaN or infinite (one device sync).

        Catches what the loss check cannot: a model that does not report its loss, or a non-finite
        gradient in the epoch's last step.
        """
        params = [p.detach() for p in self.model.parameters() if not torch.nn.parameter.is_lazy(p)]
        if params and not bool(torch.stack([p.isfinite().all() for p in params]).all()):
            raise TrainingDivergedError(
                f"Expected finite parameters after epoch {self.epoch + 1}; got NaN or infinite values: "
                f"training diverged (a loss or gradient was not finite). {self._hint()}"
            )

    def _start_recording(self, plotting: bool = True) -> None:
        self._log = MetricLog()
        self._batch_size = 1
        self._plotting = plotting
        model = getattr(self, "model", None)
        if plotting and model is not None:
            self._windows = {
                True: _window_ends(self.num_train_batches, model.plot_train_per_epoch),
                False: _window_ends(self.num_val_batches, model.plot_valid_per_epoch),
            }

    def end_epoch(self, seconds: float) -> dict[str, float]:
        """Close an epoch: append its exact means to `history`, refresh the board, call callbacks."""
        metrics = {"epoch": self.epoch + 1, **self._log.epoch_means(self.parallel.sum_metrics), "seconds": seconds}
        self.history.append(metrics)
        logger.info("epoch %d: %s", self.epoch + 1, metrics)
        self.model.board.flush()
        self._callback("on_epoch_end", self.model, metrics)
        return metrics

    def _callback(self, hook: str, model: Any, *args: Any) -> None:
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(self, model, *args)

    # -- evaluation ----------------------------------------------------------------------------

    @torch.no_grad()
    def validate(self, model: Any, data: Any = None, dataloader: Iterable[Any] | None = None) -> dict[str, float]:
        """Exact validation metrics of ``model`` (e.g. ``{'val_loss': ..., 'val_acc': ...}``).

        Args:
            model: the model; its ``validation_step`` reports the metrics.
            data: a data module whose ``val_dataloader()`` is used...
            dataloader: ...or an iterable of batches to use instead.

        Returns:
            The batch-size weighted mean of every metric reported, over all examples (under
            torchrun each process validates on all of them by itself).
        """
        if dataloader is None:
            if data is None:
                raise ValueError("validate() needs `data` or `dataloader`; got neither.")
            dataloader = data.val_dataloader()
        with self._recording_kept(model):
            self.prepare_model(model)
            self._start_recording(plotting=False)
            model.eval()
            for batch in _Counted(dataloader, self, shard=False):  # all of it, in each process: no collective
                model.validation_step(self.prepare_batch(batch))
            return self._log.epoch_means()

    @contextlib.contextmanager
    def _recording_kept(self, model: Any) -> Iterator[None]:
        """Put back what `validate` changes, so that a call from inside `fit` (a callback) leaves the
        epoch's metrics, the board's windows and divergence check, and the model's mode as they were."""
        names = ("_log", "_batch_size", "_plotting", "_windows", "model")
        kept = {name: self.__dict__[name] for name in names if name in self.__dict__}
        previous, training = getattr(model, "trainer", None), model.training
        try:
            yield
        finally:
            self.__dict__.update(kept)
            model.trainer = previous
            model.train(training)
