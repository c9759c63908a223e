"""Checkpoints as safetensors plus a JSON description. Never pickle: loading cannot run code.

``model.safetensors`` holds the tensors; ``model.json`` says what they are for (model class and
hyperparameters, class names, input shape, preprocessing), so a run folder is usable on its own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from softmaxreg._atomic import atomic_write_bytes, atomic_write_json
from softmaxreg.errors import CheckpointError

WEIGHTS = "model.safetensors"
METADATA = "model.json"


def save_weights(model: torch.nn.Module, path: str | os.PathLike[str]) -> Path:
    """Write the model's ``state_dict`` as safetensors, atomically."""
    from safetensors.torch import save

    tensors = {name: t.detach().to("cpu").contiguous() for name, t in model.state_dict().items()}
    return atomic_write_bytes(path, save(tensors))


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
    path = Path(run_dir) / METADATA
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"Expected {METADATA} in {run_dir}; it does not exist. Is this a run folder?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"Expected JSON in {path}; it cannot be parsed ({err}).") from err
