"""`TensorBoardLogger`: a `Trainer` callback that writes what training recorded as TensorBoard events.

Into one folder (a run folder, or the folder given to ``Trainer(tensorboard=...)``) it writes:

- ``epoch/<metric>`` at step = the epoch (1, 2, ...): each value of the epoch's ``trainer.history``
  row, i.e. each column of ``metrics.csv`` (``train_loss``, ``val_loss``, ``val_acc``, ``seconds``);
- ``step/<line>`` at step = the training step that closed a board window: the points of the
  board's ``train_*`` lines (``train_loss``, twice an epoch by default), the very numbers that
  ``curves.png`` draws, not computed again;
- the hyperparameters, once, for TensorBoard's HParams tab.

An epoch's events are written and flushed when it ends, before the run folder's checkpoint records
it (the Trainer calls this logger first); an epoch that never ends (Ctrl-C, divergence) writes
none, as it writes no row of ``metrics.csv``.

Resuming never repeats a step. A run killed after logging an epoch but before checkpointing it
leaves events that the resumed run will log again, so when training starts at epoch ``E``, events
past epoch ``E`` (past step ``E * num_train_batches`` for ``step/`` tags) are first removed from
the folder's event files (each rewritten atomically), and the new events go to a new file. The
hyperparameters are written anew (``epochs`` may have grown). A fit that starts at epoch 0
replaces the folder's events.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from softmaxreg._atomic import atomic_write_bytes
from softmaxreg._extras import import_extra

EPOCH = "epoch/"  # tags whose step is the epoch
STEP = "step/"  # tags whose step is the training step
HPARAMS = "_hparams_/"  # tensorboard.plugins.hparams.metadata's tags
EVENT_FILES = "events.out.tfevents.*"
PURPOSE = "TensorBoard logging"


class TensorBoardLogger:
    """Writes a `Trainer`'s epoch metrics, board windows and hyperparameters as TensorBoard events.

    Args:
        log_dir: the folder of the event files (created if needed): one TensorBoard run.
        hparams: the hyperparameters to show (numbers, strings, booleans; others are left out).
            Default: the trainer's and the model's ``hparams``.

    Raises:
        MissingExtraError: the ``tensorboard`` package is not installed.
    """

    def __init__(self, log_dir: str | os.PathLike[str], hparams: Mapping[str, Any] | None = None) -> None:
        import_extra("tensorboard", "tensorboard", PURPOSE)  # now, not after the first epoch
        self.log_dir = Path(log_dir)
        self.hparams = dict(hparams) if hparams is not None else None
        self._writer: Any = None
        self._seen: dict[str, int] = {}  # board line -> points already taken
        self._pending: list[tuple[str, float, int]] = []  # (tag, value, step) of the running epoch

    def on_train_start(self, trainer: Any, model: Any) -> None:
        from torch.utils.tensorboard import SummaryWriter

        start = trainer.start_epoch
        remove_events_after(self.log_dir, start, start * trainer.num_train_batches)
        self._writer = SummaryWriter(str(self.log_dir))
        self._write_hparams(self.hparams if self.hparams is not None else _default_hparams(trainer, model))
        self._seen = {label: len(points) for label, points in model.board.data.items()}
        self._pending = []

    def on_train_batch_end(self, trainer: Any, model: Any, loss: Any) -> None:
        for label, points in model.board.data.items():
            seen = self._seen.get(label, 0)
            if len(points) > seen:  # a window closed in this step
                if label.startswith("train_"):
                    self._pending += [(STEP + label, y, trainer.train_batch_idx) for _, y in points[seen:]]
                self._seen[label] = len(points)

    def on_epoch_end(self, trainer: Any, model: Any, metrics: dict[str, float]) -> None:
        for tag, value, step in self._pending:
            self._writer.add_scalar(tag, value, step)
        self._pending = []
        for key, value in metrics.items():
            if key != "epoch":
                self._writer.add_scalar(EPOCH + key, value, metrics["epoch"])
        self._writer.flush()

    def on_fit_end(self, trainer: Any, model: Any) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _write_hparams(self, hparams: Mapping[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams as hparams_summaries

        values = {k: v for k, v in hparams.items() if isinstance(v, (bool, int, float, str))}
        # Only the session's values: TensorBoard gathers the table's columns from all runs in a folder
        # (a sweep's learning rates), and takes the metrics from the runs' scalars.
        _, session_start, _ = hparams_summaries(values, {})
        self._writer.file_writer.add_summary(session_start)


def _default_hparams(trainer: Any, model: Any) -> dict[str, Any]:
    return {**getattr(trainer, "hparams", {}), **getattr(model, "hparams", {})}


def _kept(event: Any, epoch: int, step: int) -> bool:
    """Whether an event stays when training restarts after ``epoch`` epochs (``step`` steps)."""
    if not event.HasField("summary"):
        return True  # the file's own records (version, ...)
    tag = event.summary.value[0].tag if event.summary.value else ""
    if epoch == 0 or tag.startswith(HPARAMS):  # the new fit writes them again
        return False
    return bool(event.step <= (epoch if tag.startswith(EPOCH) else step))


def remove_events_after(log_dir: Path, epoch: int, step: int) -> None:
    """Remove from ``log_dir``'s event files the events past ``epoch`` (``epoch/`` tags) or past
    ``step`` (other tags), and the hyperparameters; with ``epoch`` 0, every event.

    A file that changes is rewritten atomically (a half-written last record, left by a killed
    process, goes too); one left with no event is deleted.
    """
    files = sorted(Path(log_dir).glob(EVENT_FILES))
    if not files:
        return  # nothing to read: skip importing the reader (half a second)
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto.event_pb2 import Event

    for path in files:
        records = list(RawEventFileLoader(str(path)).Load())
        kept = [(raw, event) for raw in records if _kept(event := Event.FromString(raw), epoch, step)]
        summaries = sum(event.HasField("summary") for _, event in kept)
        whole = sum(len(raw) + 16 for raw in records) == path.stat().st_size  # 16: a record's length and CRCs
        if summaries == 0:
            path.unlink()
        elif len(kept) < len(records) or not whole:
            atomic_write_bytes(path, _records([raw for raw, _ in kept]))


def _records(records: list[bytes]) -> bytes:
    """Serialized events framed as an event file's records (length, CRCs)."""
    from tensorboard.summary.writer.record_writer import RecordWriter

    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    for raw in records:
        writer.write(raw)
    return buffer.getvalue()
