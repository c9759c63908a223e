"""Checkpoints as safetensors plus a JSON description. Never pickle: loading cannot run code.

A run folder holds two checkpoints:

- ``model.safetensors`` + ``model.json``: the model to use (the last epoch's, or the best one's with
  early stopping), with what is needed to use it: model name and sizes, class names, input shape and
  preprocessing. `load_model` rebuilds it.
- ``resume.safetensors`` + ``resume.json``: the last completed epoch's full training state for
  ``softmaxreg train --resume``: model weights, optimizer state and random number generator state as
  tensors; epoch, optimizer settings, history and callback state as JSON. ``resume.json`` is written
  last, so it never points to a half-written epoch.

Loading trusts nothing: a file that is missing, truncated, not safetensors or not JSON, a tensor
whose name, shape or dtype differs from the model's, a NaN weight, a description with a missing or
odd key, or a safetensors file from another epoch than its JSON (a save cut short between the two)
is a `CheckpointError` saying what was expected, what was found and what to do.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from softmaxreg._atomic import atomic_write_bytes, atomic_write_files, json_bytes
from softmaxreg.errors import CheckpointError
from softmaxreg.runs.folder import (
    MODEL_DESCRIPTION,
    NOTHING_TO_RESUME,
    RESUME_FIX,
    RESUME_STATE,
    WEIGHTS,
    read_json,
    read_model_description,
)

METADATA = MODEL_DESCRIPTION
RESUME_TENSORS = "resume.safetensors"
_FORMAT = 1
MODEL_FIX = "Train the model again (softmaxreg train), or restore the run folder from a backup."


def _to_bytes(tensors: dict[str, torch.Tensor], epoch: int | None = None) -> bytes:
    from safetensors.torch import save

    tags = {"epoch": str(epoch)} if epoch is not None else None  # ties the file to its JSON twin
    return save({name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}, metadata=tags)


def save_weights(model: torch.nn.Module, path: str | os.PathLike[str], epoch: int | None = None) -> Path:
    """Write the model's ``state_dict`` as safetensors, atomically, tagged with ``epoch`` if given."""
    return atomic_write_bytes(path, _to_bytes(model.state_dict(), epoch))


def read_safetensors(
    path: str | os.PathLike[str], fix: str = MODEL_FIX
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors file into CPU tensors, without pickle; also return its metadata tags.

    Raises:
        CheckpointError: the file is missing or not a complete safetensors file (the message ends
            with ``fix``).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"Expected {path.name} in {path.parent}; it does not exist. {fix}") from None
    except OSError as err:
        raise CheckpointError(
            f"Expected a readable file at {path}; got an error: {err.strerror or err}. {fix}"
        ) from None
    try:
        tensors = load(data)
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
    except (SafetensorError, ValueError, OverflowError) as err:
        raise CheckpointError(
            f"Expected a safetensors file in {path}; got {len(data):,} bytes that are not one ({err}): it is "
            f"truncated or damaged. {fix}"
        ) from None
    return tensors, dict(header.get("__metadata__") or {})


def load_weights(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a safetensors file into CPU tensors (see `read_safetensors`)."""
    return read_safetensors(path)[0]


def save_checkpoint(model: torch.nn.Module, run_dir: Path, metadata: dict[str, Any]) -> None:
    """Write ``model.safetensors`` and ``model.json`` into ``run_dir``, both or (on error) neither."""
    weights = _to_bytes(model.state_dict(), metadata.get("epoch"))
    atomic_write_files({run_dir / WEIGHTS: weights, run_dir / METADATA: json_bytes(metadata)})


def load_metadata(run_dir: Path) -> dict[str, Any]:
    """Read ``model.json`` of a run folder.

    Raises:
        CheckpointError: missing, not JSON, or not a model description.
    """
    return read_model_description(run_dir)


def empty_model(metadata: dict[str, Any]) -> Any:
    """The model ``metadata`` (``model.json``) describes, with every layer's shape known.

    Lazy layers are materialised with one forward pass; torch's random generator is left as it was.

    Examples:
        >>> model = empty_model({"model": "concise", "num_inputs": 784, "num_outputs": 10, "lr": 0.1})
        >>> {name: tuple(t.shape) for name, t in model.state_dict().items()}
        {'net.1.weight': (10, 784), 'net.1.bias': (10,)}
    """
    from softmaxreg.models import build_model

    with torch.random.fork_rng(devices=[]), torch.no_grad():
        model = build_model(metadata["model"], metadata["num_inputs"], metadata["num_outputs"], metadata["lr"])
        model(torch.zeros(1, metadata["num_inputs"]))
    return model


def _kind(t: torch.Tensor) -> str:
    """``'(10, 784) float32'``: a tensor's shape and dtype, for messages."""
    return f"{tuple(t.shape)} {str(t.dtype).removeprefix('torch.')}"


def check_tensors(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor], source: Path, fix: str) -> None:
    """Check that ``found`` has exactly ``expected``'s names, shapes and dtypes, and finite values.

    Raises:
        CheckpointError: the first difference, naming ``source`` and ending with ``fix``.
    """
    if set(found) != set(expected):
        raise CheckpointError(
            f"Expected the tensors {', '.join(sorted(expected))} in {source}; got "
            f"{', '.join(sorted(found)) or 'none'}: these weights do not fit the model (another model's checkpoint?). "
            + fix
        )
    for name, want in expected.items():
        got = found[name]
        if got.shape != want.shape or got.dtype != want.dtype:
            raise CheckpointError(
                f"Expected {name} in {source} to be {_kind(want)}; got {_kind(got)}. The file was changed after "
                f"softmaxreg wrote it. {fix}"
            )
        if got.is_floating_point() and not bool(got.isfinite().all()):
            raise CheckpointError(f"Expected finite values in {name} of {source}; got NaN or infinite ones. {fix}")


def _check_epoch(tags: dict[str, str], epoch: Any, tensors: Path, description: Path, fix: str) -> None:
    """A safetensors file and its JSON twin must come from the same epoch (when both say which)."""
    if "epoch" in tags and epoch is not None and tags["epoch"] != str(epoch):
        raise CheckpointError(
            f"Expected {tensors.name} and {description.name} of the same epoch in {tensors.parent}; got epochs "
            f"{tags['epoch']} and {epoch}: a save was cut short between the two files. {fix}"
        )


def load_model(run_dir: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """Rebuild the model saved in a run folder, in eval mode on the CPU.

    Returns:
        ``(model, metadata)``, the metadata being ``model.json``'s content.

    Raises:
        CheckpointError: the folder, ``model.json`` or ``model.safetensors`` is missing, damaged,
            or does not fit the model ``model.json`` describes.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(
            f"Expected a run folder at {run_dir}; it does not exist. Pass a folder made by `softmaxreg train`."
        )
    metadata = load_metadata(run_dir)
    model = empty_model(metadata)
    tensors, tags = read_safetensors(run_dir / WEIGHTS)
    check_tensors(model.state_dict(), tensors, run_dir / WEIGHTS, MODEL_FIX)
    _check_epoch(tags, metadata.get("epoch"), run_dir / WEIGHTS, run_dir / METADATA, MODEL_FIX)
    model.load_state_dict(tensors)
    return model.eval(), metadata


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
    """Write ``resume.safetensors`` then ``resume.json`` (the commit point), both or (on error) neither."""
    optimizer_tensors, optimizer_meta = _split_optimizer(state.optimizer)
    tensors = {
        **{f"model.{name}": t for name, t in state.model.items()},
        **optimizer_tensors,
        **{f"rng.{name}": t for name, t in state.rng.items()},
    }
    meta = {"format": _FORMAT, "epoch": state.epoch, "optimizer": optimizer_meta, **state.extra}
    atomic_write_files(
        {run_dir / RESUME_TENSORS: _to_bytes(tensors, state.epoch), run_dir / RESUME_STATE: json_bytes(meta)}
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_optimizer(v: Any) -> bool:
    groups = v.get("param_groups") if isinstance(v, dict) else None
    return (
        isinstance(v.get("state") if isinstance(v, dict) else None, dict)
        and isinstance(groups, list)
        and all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups)
    )


def _is_history(v: Any, epochs: Any) -> bool:
    """Rows of numbers for epochs 1, 2, ..., ``epochs``."""
    return (
        isinstance(v, list)
        and len(v) == epochs
        and all(
            isinstance(row, dict) and row.get("epoch") == i and all(_is_number(x) for x in row.values())
            for i, row in enumerate(v, start=1)
        )
    )


def _is_board(v: Any) -> bool:
    """Label -> list of ``[x, y]`` points."""
    points = [p for line in v.values() for p in line] if isinstance(v, dict) and all(
        isinstance(line, list) for line in v.values()) else None  # fmt: skip
    return points is not None and all(isinstance(p, list) and len(p) == 2 and all(map(_is_number, p)) for p in points)


def _is_early_stopping(v: Any) -> bool:
    return v is None or (
        isinstance(v, dict)
        and (v.get("best") is None or _is_number(v.get("best")))
        and isinstance(v.get("best_epoch"), int)
        and isinstance(v.get("wait"), int)
    )


def _resume_json_problem(meta: dict[str, Any]) -> tuple[str, str] | None:
    """The first ``(key, what it should be)`` that ``resume.json``'s content gets wrong."""
    epoch = meta.get("epoch")
    checks = [  # (key, required, what it should be, test)
        ("epoch", True, "a positive integer", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1),
        ("optimizer", True, 'an object with "state" and "param_groups"', _is_optimizer),
        ("history", False, f"a list of {epoch} rows of numbers, epochs 1 to {epoch}", lambda v: _is_history(v, epoch)),
        ("board", False, "an object of lists of [x, y] points", _is_board),
        ("early_stopping", False, 'null or an object with "best", "best_epoch" and "wait"', _is_early_stopping),
    ]
    for key, required, expected, ok in checks:
        if (required and key not in meta) or (key in meta and not ok(meta[key])):
            return key, expected
    return None


def _describe(value: Any) -> str:
    """A short description of a JSON value, for messages.

    Examples:
        >>> _describe([{"epoch": 1}]), _describe({"b": 1, "a": 2}), _describe("2")
        ('a list of 1 item', 'an object with keys a, b', "'2'")
    """
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return f"an object with keys {', '.join(sorted(map(str, value)))}" if value else "an empty object"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_rng(rng: dict[str, torch.Tensor], source: Path) -> None:
    cpu = torch.get_rng_state()
    if "cpu" not in rng:
        raise CheckpointError(
            f"Expected the tensor rng.cpu (the random generator's state) in {source}; it is missing. {RESUME_FIX}"
        )
    if rng["cpu"].shape != cpu.shape or rng["cpu"].dtype != cpu.dtype:
        raise CheckpointError(
            f"Expected rng.cpu in {source} to be {_kind(cpu)}; got {_kind(rng['cpu'])}. The file was changed after "
            f"softmaxreg wrote it. {RESUME_FIX}"
        )


def load_training_state(run_dir: Path) -> TrainingState:
    """Read what `save_training_state` wrote, checking both files and that they belong together.

    `check_training_state` then checks that the state fits the model to train.

    Raises:
        CheckpointError: the files are missing, damaged, inconsistent, or not written by softmaxreg.
    """
    run_dir = Path(run_dir)
    meta = read_json(run_dir / RESUME_STATE, NOTHING_TO_RESUME, RESUME_FIX)
    problem = _resume_json_problem(meta)
    if problem is not None:
        key, expected = problem
        found = "nothing" if key not in meta else _describe(meta[key])
        raise CheckpointError(
            f"Expected `{key}` in {run_dir / RESUME_STATE} to be {expected}; got {found}. It was not written by "
            f"softmaxreg, or was edited. {RESUME_FIX}"
        )
    tensors, tags = read_safetensors(run_dir / RESUME_TENSORS, RESUME_FIX)
    _check_epoch(tags, meta["epoch"], run_dir / RESUME_TENSORS, run_dir / RESUME_STATE, RESUME_FIX)
    strays = sorted(k for k in tensors if not k.startswith(("model.", "optimizer.", "rng.")))
    if strays:
        raise CheckpointError(
            f"Expected tensors named model.*, optimizer.* and rng.* in {run_dir / RESUME_TENSORS}; got "
            f"{', '.join(sorted(tensors)[:6]) or 'none'}: it is not a resume state (a model.safetensors?). {RESUME_FIX}"
        )
    model = {k.removeprefix("model."): t for k, t in tensors.items() if k.startswith("model.")}
    rng = {k.removeprefix("rng."): t for k, t in tensors.items() if k.startswith("rng.")}
    _check_rng(rng, run_dir / RESUME_TENSORS)
    try:
        optimizer = _join_optimizer(meta.pop("optimizer"), tensors)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CheckpointError(
            f"Expected the optimizer tensors that {run_dir / RESUME_STATE} names in {run_dir / RESUME_TENSORS}; "
            f"{err!r} is missing or wrong. {RESUME_FIX}"
        ) from None
    epoch = meta.pop("epoch")
    meta.pop("format", None)
    return TrainingState(epoch=epoch, model=model, optimizer=optimizer, rng=rng, extra=meta)


def check_training_state(state: TrainingState, model: torch.nn.Module, run_dir: Path) -> None:
    """Check that ``state`` fits ``model`` (an `empty_model` of the run) and its SGD optimizer.

    Raises:
        CheckpointError: a tensor's name, shape or dtype differs, or the optimizer state is for
            other parameters.
    """
    source = Path(run_dir) / RESUME_TENSORS
    expected = {f"model.{k}": t for k, t in model.state_dict().items()}
    check_tensors(expected, {f"model.{k}": t for k, t in state.model.items()}, source, RESUME_FIX)
    params = list(model.parameters())
    indices = [i for group in state.optimizer["param_groups"] for i in group["params"]]
    if sorted(indices, key=str) != list(range(len(params))) or not set(state.optimizer["state"]) <= set(indices):
        raise CheckpointError(
            f"Expected an optimizer state for the model's {len(params)} parameters in {run_dir / RESUME_STATE}; "
            f"got one for parameters {indices}. {RESUME_FIX}"
        )
    for i, entry in state.optimizer["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0:  # per-parameter buffers, e.g. momentum
                name = f"optimizer.{i}.{key}"
                check_tensors({name: params[i].detach()}, {name: value}, source, RESUME_FIX)
