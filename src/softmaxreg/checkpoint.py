"""Checkpoints as safetensors plus a JSON description. Never pickle: loading cannot run code.

A run folder holds two checkpoints:

- ``model.safetensors`` + ``model.json``: the model to use (the last epoch's, or the best one's with
  early stopping), with what is needed to use it: model name and sizes, class names, input shape and
  preprocessing. `load_model` rebuilds it.
- ``resume.safetensors`` + ``resume.json``: the last completed epoch's full training state for
  ``softmaxreg train --resume``: model weights, optimizer state and random number generator state as
  tensors; epoch, optimizer settings, history and callback state as JSON. ``resume.json`` is written
  last, so it never points to a half-written epoch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from softmaxreg._atomic import atomic_write_bytes, atomic_write_json
from softmaxreg.errors import CheckpointError
from softmaxreg.runs import MODEL_DESCRIPTION, RESUME_STATE, read_json, read_model_description

WEIGHTS = "model.safetensors"
METADATA = MODEL_DESCRIPTION
RESUME_TENSORS = "resume.safetensors"
_FORMAT = 1


def _to_bytes(tensors: dict[str, torch.Tensor]) -> bytes:
    from safetensors.torch import save

    return save({name: t.detach().to("cpu").contiguous() for name, t in tensors.items()})


def save_weights(model: torch.nn.Module, path: str | os.PathLike[str]) -> Path:
    """Write the model's ``state_dict`` as safetensors, atomically."""
    return atomic_write_bytes(path, _to_bytes(model.state_dict()))


def load_weights(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a safetensors file into CPU tensors.

    Raises:
        CheckpointError: the file is missing or not a valid safetensors file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    try:
        return load(path.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"Expected a checkpoint at {path}; the file does not exist.") from None
    except (SafetensorError, ValueError, OSError) as err:
        raise CheckpointError(f"Expected a safetensors checkpoint in {path}; it cannot be read ({err}).") from err


def save_checkpoint(model: torch.nn.Module, run_dir: Path, metadata: dict[str, Any]) -> None:
    """Write ``model.safetensors`` and ``model.json`` into ``run_dir``."""
    save_weights(model, run_dir / WEIGHTS)
    atomic_write_json(run_dir / METADATA, metadata)


def load_metadata(run_dir: Path) -> dict[str, Any]:
    """Read ``model.json`` of a run folder.

    Raises:
        CheckpointError: missing or not JSON.
    """
    return read_model_description(run_dir)


def load_model(run_dir: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """Rebuild the model saved in a run folder, in eval mode on the CPU.

    Returns:
        ``(model, metadata)``, the metadata being ``model.json``'s content.

    Raises:
        CheckpointError: the folder, ``model.json`` or ``model.safetensors`` is missing or does not
            fit the model it describes.
    """
    from softmaxreg.models import build_model

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(
            f"Expected a run folder at {run_dir}; it does not exist. Pass a folder made by `softmaxreg train`."
        )
    metadata = load_metadata(run_dir)
    try:
        model = build_model(metadata["model"], metadata["num_inputs"], metadata["num_outputs"], metadata["lr"])
    except (KeyError, TypeError) as err:
        raise CheckpointError(
            f"{run_dir / METADATA} lacks the model description ({err}); it was not written by softmaxreg."
        ) from None
    _load_state(model, load_weights(run_dir / WEIGHTS), run_dir / WEIGHTS)
    return model.eval(), metadata


def _load_state(model: torch.nn.Module, tensors: dict[str, torch.Tensor], source: Path) -> None:
    try:
        model.load_state_dict(tensors)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"The weights in {source} do not fit the model: {first}") from None


# -- training state for --resume -------------------------------------------------------------------


@dataclass
class TrainingState:
    """Everything needed to continue a run exactly where it stopped.

    Attributes:
        epoch: completed epochs.
        model: the model's ``state_dict`` after that epoch.
        optimizer: the optimizer's ``state_dict``.
        rng: random number generator states, see `capture_rng`.
        extra: JSON-ready state of everything else (history, board, callbacks).
    """

    epoch: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    rng: dict[str, torch.Tensor]
    extra: dict[str, Any] = field(default_factory=dict)


def capture_rng(device: torch.device) -> dict[str, torch.Tensor]:
    """The states of torch's CPU generator and, when training there, the accelerator's."""
    rng = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        rng.update({f"cuda.{i}": state for i, state in enumerate(torch.cuda.get_rng_state_all())})
    elif device.type == "mps":
        rng["mps"] = torch.mps.get_rng_state()
    return rng


def restore_rng(rng: dict[str, torch.Tensor]) -> None:
    """Set the generators saved by `capture_rng`."""
    torch.set_rng_state(rng["cpu"])
    cuda = [rng[f"cuda.{i}"] for i in range(len(rng)) if f"cuda.{i}" in rng]
    if cuda:
        torch.cuda.set_rng_state_all(cuda)
    if "mps" in rng:
        torch.mps.set_rng_state(rng["mps"])


def _split_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Optimizer ``state_dict`` -> (tensors, JSON), the tensors named ``optimizer.<param>.<key>``."""
    tensors, per_param = {}, {}
    for index, values in state["state"].items():
        entry = {}
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value
                entry[key] = {"tensor": f"optimizer.{index}.{key}"}
            else:
                entry[key] = value
        per_param[str(index)] = entry
    return tensors, {"state": per_param, "param_groups": state["param_groups"]}


def _join_optimizer(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    def value(v: Any) -> Any:
        return tensors[v["tensor"]] if isinstance(v, dict) and "tensor" in v else v

    state = {int(i): {k: value(v) for k, v in entry.items()} for i, entry in meta["state"].items()}
    return {"state": state, "param_groups": meta["param_groups"]}


def save_training_state(run_dir: Path, state: TrainingState) -> None:
    """Write ``resume.safetensors`` then ``resume.json`` (the commit point) into ``run_dir``."""
    optimizer_tensors, optimizer_meta = _split_optimizer(state.optimizer)
    tensors = {
        **{f"model.{name}": t for name, t in state.model.items()},
        **optimizer_tensors,
        **{f"rng.{name}": t for name, t in state.rng.items()},
    }
    atomic_write_bytes(run_dir / RESUME_TENSORS, _to_bytes(tensors))
    meta = {"format": _FORMAT, "epoch": state.epoch, "optimizer": optimizer_meta, **state.extra}
    atomic_write_json(run_dir / RESUME_STATE, meta)


def load_training_state(run_dir: Path) -> TrainingState:
    """Read what `save_training_state` wrote.

    Raises:
        CheckpointError: the files are missing, damaged or inconsistent.
    """
    meta = read_json(Path(run_dir) / RESUME_STATE, "No epoch of this run was completed, so there is nothing to resume.")
    tensors = load_weights(Path(run_dir) / RESUME_TENSORS)
    try:
        model = {k.removeprefix("model."): t for k, t in tensors.items() if k.startswith("model.")}
        rng = {k.removeprefix("rng."): t for k, t in tensors.items() if k.startswith("rng.")}
        optimizer = _join_optimizer(meta.pop("optimizer"), tensors)
        epoch = int(meta.pop("epoch"))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(
            f"The resume state in {run_dir} is incomplete ({err!r}); the run cannot be resumed."
        ) from None
    if "cpu" not in rng:
        raise CheckpointError(f"The resume state in {run_dir} lacks the random number generator state.")
    meta.pop("format", None)
    return TrainingState(epoch=epoch, model=model, optimizer=optimizer, rng=rng, extra=meta)
