"""Run folders: every training run leaves one folder that tells its whole story.

``config.json`` (options, versions, device), ``metrics.csv`` (one row per epoch), ``summary.json``,
``curves.png`` and the checkpoint. Every file is written atomically, so an interrupted run leaves the
last completed epoch's files intact.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
import platform
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from softmaxreg._atomic import atomic_write_json, atomic_write_text
from softmaxreg.errors import CheckpointError
from softmaxreg.runs.config import MODEL_CHOICES

METRICS_COLUMNS = ("epoch", "train_loss", "val_loss", "val_acc", "seconds")
CONFIG = "config.json"
METRICS = "metrics.csv"
SUMMARY = "summary.json"
CURVES = "curves.png"
MODEL_DESCRIPTION = "model.json"  # written by softmaxreg.runs.checkpoint after each epoch
RESUME_STATE = "resume.json"  # idem
DAMAGED_FIX = "Restore the run folder from a backup, or train a new run (softmaxreg train)."
RESUME_FIX = "This run cannot be resumed; start a new one with softmaxreg train."
NOTHING_TO_RESUME = "No epoch of this run was completed, so there is nothing to resume."


def new_run_dir(base: str | os.PathLike[str] = "runs", prefix: str = "") -> Path:
    """Create and return a fresh ``base/<prefix><timestamp>`` folder; never reuses an existing one.

    Examples:
        >>> import tempfile
        >>> base = tempfile.mkdtemp()
        >>> new_run_dir(base) != new_run_dir(base)
        True
        >>> new_run_dir(base, prefix="sweep-").name.startswith("sweep-")
        True
    """
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    stamp = prefix + datetime.now().strftime("%Y%m%d-%H%M%S")
    for suffix in range(10_000):
        candidate = base / (stamp if suffix == 0 else f"{stamp}-{suffix}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"Could not create a new run folder under {base}.")  # pragma: no cover


def environment() -> dict[str, str]:
    """Versions that make a run reproducible: Python, torch, numpy, softmaxreg, platform."""
    import numpy
    import torch

    from softmaxreg import __version__

    return {
        "softmaxreg": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def metrics_csv(history: list[dict[str, Any]]) -> str:
    """The CSV text of a Trainer's history: header ``epoch,train_loss,val_loss,val_acc,seconds``.

    Examples:
        >>> print(metrics_csv([{"epoch": 1, "train_loss": 0.5, "val_loss": 0.4, "val_acc": 0.8, "seconds": 1.0}]))
        epoch,train_loss,val_loss,val_acc,seconds
        1,0.5,0.4,0.8,1.0
        <BLANKLINE>
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=METRICS_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({key: row.get(key, "") for key in METRICS_COLUMNS})
    return out.getvalue()


def write_metrics(run_dir: Path, history: list[dict[str, Any]]) -> Path:
    """Rewrite ``metrics.csv`` atomically with every completed epoch."""
    return atomic_write_text(run_dir / METRICS, metrics_csv(history))


def read_metrics(run_dir: Path) -> list[dict[str, float]]:
    """The rows of ``metrics.csv`` as numbers (``epoch`` as an int).

    Raises:
        CheckpointError: the file is missing or has other columns.
    """
    path = Path(run_dir) / METRICS
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != METRICS_COLUMNS:
                raise CheckpointError(
                    f"Expected the columns {','.join(METRICS_COLUMNS)} in {path}; got {reader.fieldnames}."
                )
            return [{k: int(v) if k == "epoch" else float(v) for k, v in row.items()} for row in reader]
    except FileNotFoundError:
        raise CheckpointError(f"Expected {METRICS} in {run_dir}; it does not exist. Is this a run folder?") from None


def summarize(history: list[dict[str, Any]]) -> dict[str, Any]:
    """Final and best-epoch numbers of a history (best = lowest ``val_loss``).

    ``total_seconds`` is the training time of all epochs, over every resumed session.

    Examples:
        >>> rows = [{"epoch": 1, "val_loss": 0.6, "val_acc": 0.8, "seconds": 1.0},
        ...         {"epoch": 2, "val_loss": 0.7, "val_acc": 0.81, "seconds": 1.5}]
        >>> s = summarize(rows)
        >>> s["val_acc"], s["best_epoch"], s["total_seconds"]
        (0.81, 1, 2.5)
    """
    if not history:
        return {"epochs": 0, "total_seconds": 0.0}
    best = min(history, key=lambda row: row.get("val_loss", float("inf")))
    last = history[-1]
    return {
        "epochs": len(history),
        "val_loss": last.get("val_loss"),
        "val_acc": last.get("val_acc"),
        "best_epoch": best["epoch"],
        "best_val_loss": best.get("val_loss"),
        "best_val_acc": best.get("val_acc"),
        "total_seconds": sum(row.get("seconds", 0.0) for row in history),
    }


def write_summary(run_dir: Path, summary: dict[str, Any]) -> Path:
    """Write ``summary.json`` atomically."""
    return atomic_write_json(run_dir / SUMMARY, summary)


def write_config(run_dir: Path, options: dict[str, Any]) -> Path:
    """Write ``config.json``: the options plus the software environment."""
    return atomic_write_json(run_dir / CONFIG, {**options, "environment": environment()})


def read_json(path: Path, hint: str, fix: str = DAMAGED_FIX) -> dict[str, Any]:
    """Read a run folder's JSON object.

    Args:
        path: the file.
        hint: what to say when the file does not exist.
        fix: what to say when it is not a JSON object.

    Raises:
        CheckpointError: missing, unreadable, not JSON, or JSON but not an object.
    """
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"Expected {path.name} in {path.parent}; it does not exist. {hint}") from None
    except IsADirectoryError:
        raise CheckpointError(f"Expected a file at {path}; got a folder. {fix}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"Expected JSON in {path}; got a damaged file ({err}). {fix}") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"Expected a JSON object in {path}; got {_json_type(value)}. {fix}")
    return value


def _json_type(value: Any) -> str:
    """``'a list'``, ``'a string'``...: what a JSON value is, for messages."""
    names = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def read_config(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``config.json`` of a run folder.

    Raises:
        CheckpointError: the folder or the file is missing, or the file is not JSON.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(
            f"Expected a run folder at {run_dir}; it does not exist. Pass a folder made by `softmaxreg train`."
        )
    return read_json(run_dir / CONFIG, "Is this a run folder?")


def read_model_description(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``model.json`` of a run folder (what `softmaxreg.runs.checkpoint` saved with the weights).

    Raises:
        CheckpointError: missing, not JSON, or not a description of a softmaxreg model (see
            `check_model_description`).
    """
    path = Path(run_dir) / MODEL_DESCRIPTION
    meta = check_model_description(read_json(path, _missing_model_hint(Path(run_dir))), path)
    _check_fits_weights(meta, path, path.with_name(WEIGHTS))
    return meta


def _missing_model_hint(run_dir: Path) -> str:
    """What to say when ``model.json`` is missing: a run with no epoch yet, or a damaged folder."""
    try:
        done = completed_epochs(run_dir)
    except CheckpointError:
        return "Is this a run folder with a completed epoch?"
    return (
        f"{RESUME_STATE} records {done} completed epoch{'s' * (done != 1)}, so softmaxreg wrote it: it was deleted or "
        f"moved since. {DAMAGED_FIX}"
    )


_REQUIRED = ("model", "num_inputs", "num_outputs", "lr")
WEIGHTS = "model.safetensors"  # written by softmaxreg.runs.checkpoint, next to model.json
# Sane bounds on what model.json may describe: 4096 x 4096 pixels, 65,536 classes.
MAX_INPUTS, MAX_OUTPUTS = 1 << 24, 1 << 16
_MAX_HEADER = 100_000_000  # safetensors' own limit on its JSON header


def safetensors_size(path: Path) -> int | None:
    """How many numbers a safetensors file holds, from its JSON header alone (no torch, nothing allocated).

    ``None`` when the file is missing or its header is not one whose tensors fit in the file: the
    full reader (`softmaxreg.runs.checkpoint.read_safetensors`) then says what is wrong.

    Examples:
        >>> import tempfile
        >>> header = b'{"w": {"dtype": "F32", "shape": [10, 784], "data_offsets": [0, 31360]}}'
        >>> path = Path(tempfile.mkdtemp()) / "m.safetensors"
        >>> _ = path.write_bytes(len(header).to_bytes(8, "little") + header + bytes(31360))
        >>> safetensors_size(path)
        7840
    """
    try:
        with path.open("rb") as f:
            length = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(length)) if 0 < length <= _MAX_HEADER else None
        file_size = path.stat().st_size
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict):
        return None
    tensors = [t for name, t in header.items() if name != "__metadata__"]
    try:
        ends = [int(t["data_offsets"][1]) for t in tensors]
        sizes = [math.prod(int(n) for n in t["shape"]) for t in tensors]
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return sum(sizes) if max(ends, default=0) <= file_size - 8 - length else None


def _check_fits_weights(meta: dict[str, Any], path: Path, weights: Path) -> None:
    """Refuse a description of a model larger than its weights file holds, before anything is built.

    A softmax regression has ``(num_inputs + 1) * num_outputs`` numbers. Fewer in the file (a
    different shape) is left to the tensor-by-tensor check, which names the tensor.
    """
    claimed = (meta["num_inputs"] + 1) * meta["num_outputs"]
    held = safetensors_size(weights)
    if held is not None and claimed > held:
        raise CheckpointError(
            f"Expected {path.name} to describe the model in {weights.name}, which holds {held:,} numbers; got "
            f"num_inputs {meta['num_inputs']:,} and num_outputs {meta['num_outputs']:,}, a model of {claimed:,}. "
            f"One of the two files was changed after softmaxreg wrote it. {DAMAGED_FIX}"
        )


def _is_count(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _is_names(value: Any, count: int) -> bool:
    return isinstance(value, list) and len(value) == count and all(isinstance(n, str) for n in value)


def _is_shape(value: Any, size: int) -> bool:
    """(features,) or at least (height, width), of positive sizes whose product is ``size``."""
    return isinstance(value, list) and len(value) >= 1 and all(map(_is_count, value)) and math.prod(value) == size


def _description_problem(meta: dict[str, Any]) -> tuple[str, str, Any] | None:
    """The first ``(key, what it should be, what it is)`` that is wrong in a model description."""
    checks = [
        ("model", f"one of {', '.join(MODEL_CHOICES)}", lambda v: v in MODEL_CHOICES),
        ("num_inputs", f"a positive integer up to {MAX_INPUTS:,}", lambda v: _is_count(v) and v <= MAX_INPUTS),
        ("num_outputs", f"a positive integer up to {MAX_OUTPUTS:,}", lambda v: _is_count(v) and v <= MAX_OUTPUTS),
        ("lr", "a positive number",
         lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0),
    ]  # fmt: skip
    if "class_names" in meta:
        count = meta["num_outputs"]
        checks.append(("class_names", f"a list of {count} names", lambda v: _is_names(v, count)))
    if "input_shape" in meta:
        checks.append(("input_shape", f"a list of sizes whose product is num_inputs ({meta['num_inputs']})",
                       lambda v: _is_shape(v, meta["num_inputs"])))  # fmt: skip
    if "epoch" in meta:
        checks.append(("epoch", "a positive integer", _is_count))
    for key, expected, ok in checks:
        if not ok(meta[key]):
            return key, expected, meta[key]
    return None


def check_model_description(meta: dict[str, Any], path: Path) -> dict[str, Any]:
    """Return ``model.json``'s content ``meta`` if it describes a model softmaxreg can rebuild.

    Required: ``model``, ``num_inputs``, ``num_outputs``, ``lr``; checked when present:
    ``class_names``, ``input_shape``, ``epoch``.

    Raises:
        CheckpointError: a key is missing or has a value of the wrong kind.

    Examples:
        >>> meta = {"model": "concise", "num_inputs": 784, "num_outputs": 10, "lr": 0.1}
        >>> check_model_description(meta, Path("m.json"))["lr"]
        0.1
        >>> check_model_description({**meta, "lr": None}, Path("m.json"))
        Traceback (most recent call last):
        ...
        softmaxreg.errors.CheckpointError: Expected `lr` in m.json to be a positive number; got None. ...
    """
    missing = [key for key in _REQUIRED if key not in meta]
    if missing:
        raise CheckpointError(
            f"Expected the keys {', '.join(_REQUIRED)} in {path}; {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing. It was not written by softmaxreg, or was edited. "
            + DAMAGED_FIX
        )
    problem = _description_problem(meta)
    if problem is not None:
        key, expected, value = problem
        raise CheckpointError(
            f"Expected `{key}` in {path} to be {expected}; got {value!r}. It was not written by softmaxreg, "
            f"or was edited. {DAMAGED_FIX}"
        )
    return meta


def completed_epochs(run_dir: str | os.PathLike[str]) -> int:
    """How many epochs a run folder's resume state holds (read without loading any tensor).

    Raises:
        CheckpointError: no epoch was completed, or the file is damaged.
    """
    path = Path(run_dir) / RESUME_STATE
    epoch = read_json(path, NOTHING_TO_RESUME, RESUME_FIX).get("epoch")
    if not _is_count(epoch):
        raise CheckpointError(
            f"Expected `epoch` in {path} to be a positive integer; got {epoch!r}. It was not written by softmaxreg, "
            f"or was edited. {RESUME_FIX}"
        )
    return int(epoch)
