"""The run folder's description of its data, and reading a run's data again.

``data.json`` (written before the first epoch, next to ``config.json``)::

    {"format": 1,
     "source": {"kind": "image-folder" | "idx" | "table" | "fashion-mnist", "path": "/abs/path", ...},
     "kind": "images" | "features",
     "input_shape": [C, H, W] | [F], "channels": C (images),
     "class_names": [...], "feature_names": [...] (features),
     "light_on_dark": bool (images),
     "split": {"method": "folders" | "files" | "stratified" | "test table" | ..., "train": N, "test": M, ...},
     "preprocessing": {...},
     "options": {...DataOptions...},
     "fingerprint": "sha256:..." (Fashion-MNIST: "md5:" + the four files' official MD5s),
     "skipped": K}

``split.json`` (when softmaxreg drew the split): ``{"train": [ids], "test": [ids]}``, the ids being
file paths relative to the image folder or row numbers (from 0) of the table. ``skipped.txt`` (with
``--skip-bad-files``): one line per file left out, and why.

`load_run_data` and `load_test_split` read the recorded source again with the recorded options and
split, and refuse data whose fingerprint is not the recorded one: what `evaluate`, ``--resume`` and
the page's test-set browser use. Everything else (predict, serve, export) needs only ``model.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from softmaxreg._atomic import atomic_write_json, atomic_write_text
from softmaxreg.errors import CheckpointError, DataError

DATA = "data.json"
SPLIT = "split.json"
SKIPPED = "skipped.txt"
FORMAT = 1
FASHION_MNIST = "fashion-mnist"


def fashion_mnist_fingerprint() -> str:
    """The fingerprint of the (verified, official) Fashion-MNIST files: their MD5s."""
    from softmaxreg.datasets.sources import FILES

    return "md5:" + ",".join(f.md5 for f in FILES)


def describe(data: Any) -> dict[str, Any]:
    """``data.json``'s content for a data module: a `FashionMNIST` or an `OwnDataModule`."""
    own = getattr(data, "own", None)
    if own is None:
        from softmaxreg.datasets.labels import class_names

        return {
            "format": FORMAT, "source": {"kind": FASHION_MNIST, "path": str(data.source)}, "kind": "images",
            "input_shape": list(data.train.images.shape[1:]), "channels": 1, "class_names": list(class_names("en")),
            "light_on_dark": True, "split": {"method": "files", "train": len(data.train), "test": len(data.val)},
            "preprocessing": {"color": "grey", "size": list(data.train.images.shape[2:]), "scaling": "uint8 / 255"},
            "options": {}, "fingerprint": fashion_mnist_fingerprint(), "skipped": 0,
        }  # fmt: skip
    entry: dict[str, Any] = {
        "format": FORMAT, "source": own.source, "kind": own.kind, "input_shape": list(own.input_shape),
        "class_names": list(own.class_names), "split": own.split,
    }  # fmt: skip
    if own.kind == "images":
        entry.update(channels=own.input_shape[0], light_on_dark=bool(own.light_on_dark))
        entry["preprocessing"] = {**own.preprocessing, "scaling": "uint8 / 255"}
    else:
        entry.update(feature_names=list(own.feature_names))
        entry["preprocessing"] = {**own.preprocessing, "mean": list(data.mean), "std": list(data.std)}
    entry.update(options=data.options.to_dict(), fingerprint=own.fingerprint(), skipped=len(own.skipped))
    return entry


def write_data_description(run_dir: Path, data: Any) -> dict[str, Any]:
    """Write ``data.json`` (and ``split.json``, ``skipped.txt`` where they apply) into ``run_dir``."""
    entry = describe(data)
    own = getattr(data, "own", None)
    if own is not None and own.assignment is not None:
        atomic_write_json(run_dir / SPLIT, own.assignment)
    if own is not None and own.skipped:
        atomic_write_text(run_dir / SKIPPED, "".join(line + "\n" for line in own.skipped))
    atomic_write_json(run_dir / DATA, entry)
    return entry


def read_data_description(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """``data.json`` of a run folder; a run older than it is a Fashion-MNIST run.

    Raises:
        CheckpointError: the file is damaged.
    """
    from softmaxreg.runs import folder

    path = Path(run_dir) / DATA
    if not path.exists():
        return {"format": FORMAT, "source": {"kind": FASHION_MNIST}, "kind": "images", "options": {}}
    return folder.read_json(path, "")


def load_own(path: str | os.PathLike[str], options: Any, batch_size: int, assignment: Any = None) -> Any:
    """Read your own data at ``path`` (`softmaxreg.datasets.own.load_source`) as an `OwnDataModule`."""
    from softmaxreg.datasets.own import load_source
    from softmaxreg.datasets.own_module import OwnDataModule

    return OwnDataModule(load_source(path, options, assignment), batch_size, options)


def load_run_data(run_dir: str | os.PathLike[str], batch_size: int, data_dir: str | None = None,
                  offline: bool = False) -> Any:  # fmt: skip
    """The data a run was trained on, read again from its source and checked against its fingerprint.

    Args:
        run_dir: the run folder.
        batch_size: for the data module.
        data_dir: where the data is now, if it moved (Fashion-MNIST: the folder holding it).
        offline: Fashion-MNIST: never download.

    Returns:
        A `FashionMNIST` or an `OwnDataModule` whose splits are the run's.

    Raises:
        DataError: the source is gone, or its content is not the run's (another fingerprint).
    """
    from softmaxreg.datasets.own import DataOptions

    entry = read_data_description(run_dir)
    source = entry.get("source") or {}
    if source.get("kind") == FASHION_MNIST:
        from softmaxreg.datasets.fashion_mnist import FashionMNIST
        from softmaxreg.runs import folder

        root = data_dir or folder.read_config(run_dir).get("data_dir")  # where the run found it, if told
        return FashionMNIST(batch_size=batch_size, root=root, offline=True if offline else None)
    path = Path(data_dir or source.get("path") or "")
    if not path.exists():
        raise DataError(
            f"Expected the data of {run_dir} at {path} (its data.json says so); it does not exist. "
            "Pass --data PATH where it is now."
        )
    assignment = None
    if (Path(run_dir) / SPLIT).exists():
        from softmaxreg.runs import folder

        assignment = folder.read_json(Path(run_dir) / SPLIT, "")
    data = load_own(path, DataOptions.from_dict(entry.get("options") or {}), batch_size, assignment)
    found = data.own.fingerprint()
    if found != entry.get("fingerprint"):
        raise DataError(
            f"Expected the data {run_dir} was trained on in {path}; its content changed since (fingerprint "
            f"{str(entry.get('fingerprint'))[:19]}..., now {found[:19]}...). Train a new run on it."
        )
    return data


def load_test_split(
    run_dir: str | os.PathLike[str], data_dir: str | None = None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """A run's own test split, read again from the source its run folder records (fingerprint checked).

    For the page's test-set browser and ``evaluate``. Fashion-MNIST runs give the 10,000 test images.

    Args:
        run_dir: the run folder.
        data_dir: where the data is now, if it moved (Fashion-MNIST: a folder holding it; never downloaded).

    Returns:
        ``(x, y, class_names)``: ``x`` uint8 images ``(N, C, H, W)`` for image runs, or float32
        features ``(N, F)`` for feature runs, **raw** (not standardised: apply ``model.json``'s
        ``input`` mean and std, as predicting a row does); ``y`` int64 labels ``(N,)``; the class
        names in label order.

    Raises:
        DataError: the data is gone or changed since the run was trained.
        CheckpointError: the run folder's ``data.json`` is damaged.
    """
    data = load_run_data(run_dir, 256, data_dir, offline=True)
    own = getattr(data, "own", None)
    if own is None:
        from softmaxreg.datasets.labels import class_names

        return data.val.images.numpy(), data.val.labels.numpy(), class_names("en")
    return own.test_x, own.test_y.astype(np.int64), tuple(own.class_names)


def check_resume_data(run_dir: Path, data: Any) -> None:
    """Refuse to resume ``run_dir`` on data other than its own (another fingerprint).

    Raises:
        CheckpointError: the fingerprint differs.
    """
    entry = read_data_description(run_dir)
    recorded = entry.get("fingerprint")
    if recorded is None:
        return
    found = describe(data)["fingerprint"]
    if found != recorded:
        raise CheckpointError(
            f"Expected the data {run_dir} was trained on; got data with another fingerprint ({found[:19]}..., "
            f"the run's {recorded[:19]}...). Resume with the run's own data, or start a new run."
        )
