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
from softmaxreg.runs.images import prepare_image


def run(args: argparse.Namespace) -> int:
    """Prepare every image (failing before any output if one cannot be read), then classify them."""
    run_dir = Path(args.run_dir)
    folder.read_config(run_dir)  # a run folder?
    meta = folder.read_model_description(run_dir)
    names = class_names(args.lang) if args.lang else tuple(meta.get("class_names") or class_names("en"))
    if args.top_k > len(names):
        raise ConfigError(f"`--top-k` must be at most {len(names)}, the number of classes; got {args.top_k}.")
    size = tuple(meta.get("input_shape", (1, 28, 28))[-2:])
    prepared = [prepare_image(path, args.invert, size) for path in args.images]
    from softmaxreg.runs.checkpoint import load_model  # torch: only once every image is known to be readable
    from softmaxreg.runs.inference import LinearScorer, classify

    model, _ = load_model(run_dir)
    images = [(path, pixels, inverted) for path, (pixels, inverted) in zip(args.images, prepared)]
    results = classify(LinearScorer(model), images, names, args.top_k)
    if args.save_inputs:
        _save_inputs(Path(args.save_inputs), args.images, [p for p, _ in prepared])
    if args.json:
        say(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for result in results:
            say(_line(result))
    return 0


def _line(result: dict[str, Any]) -> str:
    """``shoe.jpg (inverted): sneaker 91.2%, sandal 6.0%, ankle boot 2.1%``."""
    head = result["image"] + (" (inverted)" if result["inverted"] else "")
    return f"{head}: " + ", ".join(f"{t['class']} {t['probability']:.1%}" for t in result["top_k"])


def _save_inputs(out_dir: Path, paths: list[str], pixels: list[np.ndarray]) -> None:
    """Write what the model saw, one 28×28 PNG per image, named after it."""
    from PIL import Image

    from softmaxreg._atomic import atomic_write_bytes

    out_dir.mkdir(parents=True, exist_ok=True)
    for i, (path, image) in enumerate(zip(paths, pixels)):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        atomic_write_bytes(out_dir / f"{i:03d}-{Path(path).stem}.png", buffer.getvalue())
