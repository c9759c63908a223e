"""``softmaxreg predict RUN_DIR IMAGE...``: the most probable classes of your own images."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from softmaxreg.commands._common import say
from softmaxreg.datasets.labels import class_names
from softmaxreg.errors import ConfigError
from softmaxreg.runs import folder
from softmaxreg.runs.inputs import InputSpec
from softmaxreg.runs.prepare import prepare_path


def run(args: argparse.Namespace) -> int:
    """Prepare every image (failing before any output if one cannot be read), then classify them."""
    run_dir = Path(args.run_dir)
    folder.read_config(run_dir)  # a run folder?
    meta = folder.read_model_description(run_dir)
    names = run_class_names(meta, args.lang)
    if args.top_k > len(names):
        raise ConfigError(f"`--top-k` must be at most {len(names)}, the number of classes; got {args.top_k}.")
    spec = InputSpec.from_metadata(meta)
    if spec.kind == "features":
        return _predict_rows(run_dir, args, spec, names)
    prepared = [prepare_path(path, spec, args.invert) for path in args.images]
    from softmaxreg.runs.checkpoint import load_model  # torch: only once every image is known to be readable
    from softmaxreg.runs.inference import LinearScorer, classify

    model, _ = load_model(run_dir)
    images = [(path, pixels, inverted) for path, (pixels, inverted) in zip(args.images, prepared, strict=True)]
    results = classify(LinearScorer(model), images, names, args.top_k)
    if args.save_inputs:
        _save_inputs(Path(args.save_inputs), args.images, [p for p, _ in prepared])
    if args.json:
        say(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for result in results:
            say(_line(result))
    return 0


def run_class_names(meta: dict[str, Any], lang: str | None) -> tuple[str, ...]:
    """The run's class names; Fashion-MNIST's in ``lang`` when asked (your own data's are as trained)."""
    saved = tuple(meta.get("class_names") or class_names("en"))
    if lang and any(saved == class_names(known) for known in ("en", "vi")):
        return class_names(lang)
    return saved


def _predict_rows(run_dir: Path, args: argparse.Namespace, spec: InputSpec, names: tuple[str, ...]) -> int:
    """A run on a table: one prediction per row of each ``.csv``/``.parquet`` file."""
    from softmaxreg.datasets.tables import read_feature_rows

    tables = [(path, read_feature_rows(Path(path), spec.feature_names)) for path in args.images]
    from softmaxreg.runs.checkpoint import load_model
    from softmaxreg.runs.inference import LinearScorer, feature_logits, top_k

    scorer = LinearScorer(load_model(run_dir)[0])
    results = []
    for path, rows in tables:
        for i, row in enumerate(feature_logits(scorer, rows, spec.mean, spec.std).tolist()):
            ranked = top_k(row, args.top_k)
            top = [{"label": k, "class": names[k], "probability": round(p, 6)} for k, p in ranked]
            results.append({"file": path, "row": i + 1, "top_k": top})
    if args.json:
        say(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for result in results:
            say(f"{result['file']} row {result['row']}: "
                + ", ".join(f"{t['class']} {t['probability']:.1%}" for t in result["top_k"]))  # fmt: skip
    return 0


def _line(result: dict[str, Any]) -> str:
    """``shoe.jpg (inverted): sneaker 91.2%, sandal 6.0%, ankle boot 2.1%``."""
    head = result["image"] + (" (inverted)" if result["inverted"] else "")
    return f"{head}: " + ", ".join(f"{t['class']} {t['probability']:.1%}" for t in result["top_k"])


def _save_inputs(out_dir: Path, paths: list[str], pixels: list[np.ndarray]) -> None:
    """Write what the model saw, one PNG per image (the run's input size), named after it."""
    from PIL import Image

    from softmaxreg._atomic import atomic_write_bytes

    out_dir.mkdir(parents=True, exist_ok=True)
    for i, (path, image) in enumerate(zip(paths, pixels, strict=True)):
        buffer = io.BytesIO()
        if image.ndim == 3:  # (C, H, W): your own data's grey or colour image
            image = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
        Image.fromarray(image).save(buffer, format="PNG")
        atomic_write_bytes(out_dir / f"{i:03d}-{Path(path).stem}.png", buffer.getvalue())
