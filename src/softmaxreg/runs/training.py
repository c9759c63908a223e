"""One training run into a run folder: model, `Trainer` and callbacks, for ``train`` and ``sweep``.

The run folder's options file (``config.json``) is the caller's business; this module trains,
keeps the folder's checkpoints and metrics current after every epoch, stops cleanly on Ctrl-C, and
when the loss diverges returns with the folder holding the last good epoch.

Under ``torchrun`` every process trains, but only process 0 touches the run folder and restores a
resumed state (the others receive it when ``fit`` starts: see `softmaxreg.book.distributed`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from softmaxreg.book import distributed
from softmaxreg.book.trainer import Trainer
from softmaxreg.datasets.labels import class_names
from softmaxreg.errors import TrainingDivergedError
from softmaxreg.interop.tensorboard_log import TensorBoardLogger
from softmaxreg.models import build_model
from softmaxreg.runs import callbacks as cb
from softmaxreg.runs import checkpoint
from softmaxreg.runs.checkpoint import TrainingState
from softmaxreg.runs.config import TrainConfig
from softmaxreg.runs.inputs import InputSpec

PREPROCESSING = {
    "image": "grey, light object on a dark background, as in Fashion-MNIST",
    "dtype": "uint8 pixels 0..255, divided by 255 to float32 in [0, 1]",
    "layout": "(batch, 1, height, width)",
}


@dataclass
class RunResult:
    """What a training run left behind.

    Attributes:
        run_dir: the run folder.
        history: one dict per completed epoch (as in ``metrics.csv``).
        summary: ``summary.json``'s content.
        interrupted: whether Ctrl-C stopped it.
        diverged: the `TrainingDivergedError` message when the loss became NaN or infinite (the
            run folder then holds the epochs before), else ``None``.
    """

    run_dir: Path
    history: list[dict[str, float]]
    summary: dict[str, Any]
    interrupted: bool
    diverged: str | None = None


def model_metadata(
    config: TrainConfig, input_shape: Sequence[int], lang: str, names: Sequence[str] | None = None,
    spec: InputSpec | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``model.json``'s description of the model: enough to rebuild and use it.

    Args:
        config: the training settings.
        input_shape: one input's shape.
        lang: the language of Fashion-MNIST's class names.
        names: your own data's class names (default: Fashion-MNIST's in ``lang``).
        spec: what the model takes (`InputSpec`, saved under ``"input"``; default Fashion-MNIST's).

    Examples:
        >>> meta = model_metadata(TrainConfig(), (1, 28, 28), "en")
        >>> meta["model"], meta["num_inputs"], meta["class_names"][9], meta["input"]["light_on_dark"]
        ('concise', 784, 'ankle boot', True)
    """
    names = list(names) if names is not None else list(class_names(lang))
    spec = spec or InputSpec()
    return {
        "model": config.model,
        "num_inputs": math.prod(input_shape),
        "num_outputs": len(names),
        "lr": config.lr,
        "class_names": names,
        "lang": lang,
        "input_shape": list(input_shape),
        "input": spec.to_metadata(),
        "preprocessing": PREPROCESSING if spec == InputSpec() else preprocessing(spec),
    }


def preprocessing(spec: InputSpec) -> dict[str, str]:
    """``model.json``'s words on how raw data becomes the model's input (numbers are in ``"input"``)."""
    if spec.kind == "features":
        return {
            "features": f"{len(spec.feature_names)} numeric columns, in the order of input.feature_names",
            "standardisation": "(x - input.mean) / input.std, float32",
            "layout": "(batch, num_features)",
        }
    colour = "grey" if spec.channels == 1 else "RGB"
    return {
        "image": f"{colour}, resized to {spec.height}x{spec.width} (Pillow Lanczos)"
        + (", light object on a dark background" if spec.light_on_dark else ""),
        "dtype": "uint8 pixels 0..255, divided by 255 to float32 in [0, 1]",
        "layout": f"(batch, {spec.channels}, height, width)",
    }


def data_metadata(config: TrainConfig, data: Any, lang: str) -> dict[str, Any]:
    """`model_metadata` for the model trained on ``data`` (Fashion-MNIST, or your own data)."""
    shape = tuple(data.train.images.shape[1:])
    if not hasattr(data, "input_spec"):
        return model_metadata(config, shape, lang)
    spec = InputSpec.from_metadata({"input": data.input_spec()})
    return model_metadata(config, shape, lang, names=data.classes, spec=spec)


def check_resume(config: TrainConfig, data: Any, state: TrainingState, run_dir: Path) -> None:
    """Check that a saved training state fits the model ``config`` trains on ``data``.

    Raises:
        CheckpointError: it does not (see `checkpoint.check_training_state`).
    """
    metadata = data_metadata(config, data, "en")
    checkpoint.check_training_state(state, checkpoint.empty_model(metadata), run_dir)


def train_run(
    config: TrainConfig,
    data: Any,
    run_dir: Path,
    device: torch.device,
    lang: str = "en",
    resume: TrainingState | None = None,
    callbacks: Sequence[Any] = (),
    tensorboard: bool = False,
) -> RunResult:
    """Train ``config``'s model on ``data``, keeping ``run_dir`` current after every epoch.

    Args:
        config: what to train.
        data: a `FashionMNIST` or an `OwnDataModule` (any data module with ``train.images``).
        run_dir: an existing folder; ``config.json`` is the caller's to write.
        device: where to train.
        lang: language of the class names saved with the model.
        resume: a saved state to continue from (its epochs count towards ``config.epochs``); under
            ``torchrun``, process 0's (the others' is not used).
        callbacks: more callbacks, called after the run's own (e.g. progress display); under
            ``torchrun``, only process 0's are called.
        tensorboard: also write TensorBoard event files into ``run_dir`` (needs the
            ``tensorboard`` extra); a resumed run appends to them. Process 0 alone writes them.

    Returns:
        The run's history and summary; ``interrupted`` when Ctrl-C stopped it after a step,
        ``diverged`` when a non-finite loss did.

    Raises:
        CheckpointError: ``resume`` does not fit the model (see `checkpoint.check_training_state`).
    """
    torch.manual_seed(config.seed)
    parallel = distributed.current()
    metadata = data_metadata(config, data, lang)
    if resume is not None and parallel.is_main:
        check_resume(config, data, resume, run_dir)
    if resume is None and parallel.is_main and hasattr(data, "own"):  # your own data: data.json describes it
        from softmaxreg.runs.rundata import write_data_description

        write_data_description(Path(run_dir), data)
    model = build_model(config.model, metadata["num_inputs"], metadata["num_outputs"], config.lr)
    early = cb.EarlyStopping(config.early_stopping) if config.early_stopping else None
    recorder = cb.RunRecorder(run_dir, metadata, early)
    interrupt = cb.StopOnInterrupt(terminate=parallel.world_size > 1)
    own: list[Any] = [interrupt, cb.OptimizerSettings(config.weight_decay, config.momentum, config.nesterov)]
    if config.schedule == "cosine":
        own.append(cb.CosineSchedule(config.lr))
    if config.input_dropout:
        own.append(cb.InputDropout(config.input_dropout, config.seed))
    if resume is not None and parallel.is_main:
        own.append(cb.Resume(resume, {"early_stopping": early} if early else {}))
    own += [early] if early else []
    files = [recorder, *callbacks] if parallel.is_main else []  # process 0 alone writes and prints
    logger = TensorBoardLogger(run_dir, hparams=config.to_dict()) if tensorboard and parallel.is_main else None
    trainer = Trainer(config.epochs, device=device, callbacks=[*own, *files], tensorboard=logger)
    # a diverged run stops quietly: trainer.diverged says it; the folder keeps the last good epoch
    with interrupt, contextlib.suppress(TrainingDivergedError):
        trainer.fit(model, data)
    diverged = str(trainer.diverged) if trainer.diverged is not None else None
    return RunResult(Path(run_dir), trainer.history, recorder.summary(trainer), bool(trainer.interrupted), diverged)
