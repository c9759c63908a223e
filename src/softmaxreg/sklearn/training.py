"""Training on arrays with softmaxreg's own pieces: `Trainer`, `TensorLoader`, `SGD`, the callbacks.

`SoftmaxRegressionClassifier` (``estimator.py``) validates and converts; this module trains. The
model is d2l §4.4's explicit ``W`` and ``b`` (`SoftmaxRegressionScratch`) with two changes a
scikit-learn classifier needs: per-example weights in the loss, and an L2 penalty on ``W`` only
(scikit-learn never penalises the intercept). The loss is `functional.cross_entropy`, the loop is
`Trainer.fit`, the batches come from `TensorLoader`, the schedule and input dropout are the CLI's
callbacks.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from softmaxreg import functional
from softmaxreg.book.data import DataModule, TensorLoader
from softmaxreg.book.optim import SGD
from softmaxreg.book.trainer import Trainer
from softmaxreg.models import SoftmaxRegressionScratch
from softmaxreg.runs import callbacks as cb

_EVAL_BATCH = 8192  # validation batches: no gradient, so only memory bounds them
# batch_size × num_inputs × num_outputs below this: one thread (Fashion-MNIST's 256 × 784 × 10 is above)
_SMALL_STEP = 1 << 20


@dataclass(frozen=True)
class Settings:
    """The hyperparameters of one `train` call, resolved from the estimator and its recipe."""

    epochs: int
    lr: float
    batch_size: int
    momentum: float
    nesterov: bool
    alpha: float
    schedule: str
    input_dropout: float
    tol: float | None
    n_iter_no_change: int
    early_stopping: bool
    seed: int
    device: torch.device
    verbose: bool


@dataclass
class Weights:
    """The model's parameters as plain numpy arrays (what an estimator keeps and pickles).

    Attributes:
        W: ``(num_outputs, num_inputs)`` float32, one row of weights per class.
        b: ``(num_outputs,)`` float32 biases.
        momentum: SGD's momentum buffers of ``W`` and ``b`` (same shapes), or ``None``.
    """

    W: np.ndarray
    b: np.ndarray
    momentum: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def zeros(cls, num_outputs: int, num_inputs: int) -> Weights:
        """All zeros: the loss is convex, so no random start is needed (and results depend only on the shuffling)."""
        return cls(np.zeros((num_outputs, num_inputs), np.float32), np.zeros(num_outputs, np.float32))


class WeightedSoftmaxRegression(SoftmaxRegressionScratch):
    """Softmax regression ``X Wᵀ + b`` whose loss weights each example, with L2 on ``W`` only.

    Batches are ``(X, y)`` or ``(X, y, weight)``; the loss of a weighted batch is
    ``Σ weight_i · ℓ_i / batch_size`` (`fit` scales the weights to mean 1 beforehand, so that a
    learning rate means the same with or without them; `partial_fit` takes them as they are).
    """

    def __init__(self, start: Weights, settings: Settings) -> None:
        num_outputs, num_inputs = start.W.shape
        super().__init__(num_inputs, num_outputs, settings.lr, sigma=0.0)
        self.settings = settings
        self.momentum_start = start.momentum
        with torch.no_grad():
            self.W.copy_(torch.from_numpy(start.W.T))  # (num_inputs, num_outputs)
            self.b.copy_(torch.from_numpy(start.b))

    def _loss(self, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        X, y, *weight = batch
        logits = self(X)  # (batch_size, num_outputs)
        if not weight:
            return logits, functional.cross_entropy(logits, y)
        return logits, (functional.cross_entropy(logits, y, reduction="none") * weight[0]).mean()

    def training_step(self, batch: Sequence[torch.Tensor]) -> torch.Tensor:
        """The (weighted) loss of a training batch, reported as ``train_loss``."""
        loss = self._loss(batch)[1]
        self.plot("loss", loss, train=True)
        return loss

    def validation_step(self, batch: Sequence[torch.Tensor]) -> None:
        """Report the (weighted) ``val_loss`` and the ``val_acc`` of a validation batch."""
        logits, loss = self._loss(batch)
        self.plot("loss", loss, train=False)
        self.plot("acc", self.accuracy(logits, batch[1]), train=False)

    def configure_optimizers(self) -> SGD:
        """softmaxreg's `SGD`: weight decay ``alpha`` on ``W``, none on ``b``; momentum buffers restored."""
        s = self.settings
        groups = [{"params": [self.W], "weight_decay": s.alpha}, {"params": [self.b], "weight_decay": 0.0}]
        optim = SGD(groups, lr=s.lr, momentum=s.momentum, nesterov=s.nesterov and s.momentum > 0)
        if self.momentum_start is not None and s.momentum > 0:
            buffers = (self.momentum_start[0].T, self.momentum_start[1])
            for p, buffer in zip((self.W, self.b), buffers, strict=True):
                optim.state[p]["momentum_buffer"] = torch.tensor(buffer, device=p.device)
        return optim

    def weights(self, optim: SGD) -> Weights:
        """The trained parameters (and momentum buffers) as numpy arrays."""
        as_numpy = lambda t: t.detach().cpu().numpy().copy()  # noqa: E731
        buffers = [optim.state.get(p, {}).get("momentum_buffer") for p in (self.W, self.b)]
        momentum = None if any(b is None for b in buffers) else (as_numpy(buffers[0]).T.copy(), as_numpy(buffers[1]))
        return Weights(as_numpy(self.W).T.copy(), as_numpy(self.b), momentum)


class ArrayData(DataModule):
    """In-memory tensors as a data module: shuffled training batches, optional validation batches."""

    def __init__(self, train: Sequence[torch.Tensor], val: Sequence[torch.Tensor] | None, batch_size: int) -> None:
        self.train, self.val, self.batch_size = tuple(train), val, batch_size  # no super(): nothing to save

    def train_dataloader(self) -> TensorLoader:
        return TensorLoader(self.train, self.batch_size, shuffle=True)

    def val_dataloader(self) -> TensorLoader | None:
        return TensorLoader(self.val, _EVAL_BATCH) if self.val is not None else None


def as_tensors(
    X: np.ndarray, y: np.ndarray, weight: np.ndarray | None, device: torch.device
) -> tuple[torch.Tensor, ...]:
    """``(X, y[, weight])`` as float32 / int64 / float32 tensors on ``device`` (no copy for float32 X on the CPU)."""
    tensors = [torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)), torch.from_numpy(y.astype(np.int64))]
    if weight is not None:
        tensors.append(torch.from_numpy(np.ascontiguousarray(weight, dtype=np.float32)))
    return tuple(t.to(device) for t in tensors)


def _callbacks(settings: Settings) -> list[Any]:
    """The CLI's callbacks for these settings: cosine schedule, input dropout, stopping, epoch lines."""
    own: list[Any] = []
    if settings.schedule == "cosine":
        own.append(cb.CosineSchedule(settings.lr))
    if settings.input_dropout:
        own.append(cb.InputDropout(settings.input_dropout, settings.seed))
    if settings.early_stopping or settings.tol is not None:
        monitor = "val_loss" if settings.early_stopping else "train_loss"
        own.append(cb.EarlyStopping(settings.n_iter_no_change, monitor, settings.tol or 0.0))
    if settings.verbose:  # scikit-learn's verbose prints to standard output
        own.append(cb.EpochLog(functools.partial(print, flush=True)))
    return own


@contextlib.contextmanager
def _threads_for(settings: Settings, num_inputs: int, num_outputs: int) -> Iterator[None]:
    """One torch thread while training a small model on the CPU, then the caller's setting back.

    A minibatch of a small data set is microseconds of arithmetic, and splitting it across threads
    costs more than it saves; on a machine whose cores are busy with other processes, two threads
    waiting for each other made a fit of scikit-learn's digits 20× slower than one thread.
    scikit-learn's own KMeans limits its threads the same way.
    """
    small = settings.batch_size * num_inputs * num_outputs < _SMALL_STEP
    threads = torch.get_num_threads()
    if not small or settings.device.type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch for the shuffling, then give the caller's random state back untouched."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def train(start: Weights, data: ArrayData, settings: Settings) -> tuple[Weights, int]:
    """Train softmax regression from ``start`` on ``data`` with `Trainer.fit`.

    Args:
        start: the initial parameters (and momentum buffers, for a continued run).
        data: training (and validation) tensors, already on ``settings.device``.
        settings: the resolved hyperparameters.

    Returns:
        The trained parameters, and the number of epochs run.

    Raises:
        TrainingDivergedError: the loss became NaN or infinite (a learning rate far too large).
    """
    trainer = Trainer(max_epochs=settings.epochs, device=settings.device, callbacks=_callbacks(settings))
    num_outputs, num_inputs = start.W.shape
    with _threads_for(settings, num_inputs, num_outputs), _seeded(settings.seed, settings.device):
        # the model's constructor draws its (unused) initial W too: inside, so the caller's RNG is untouched
        model = WeightedSoftmaxRegression(start, settings)
        trainer.fit(model, data)
    return model.weights(trainer.optim), len(trainer.history)
