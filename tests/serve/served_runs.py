"""Small run folders of any input shape for the serving tests, written as `softmaxreg train` writes them.

Each holds ``config.json``, and ``model.json`` (with its ``"input"`` entry) and ``model.safetensors``
written by `softmaxreg.runs.checkpoint.save_checkpoint`, with seeded random weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from softmaxreg.runs.inputs import InputSpec

RGB = InputSpec("images", channels=3, height=8, width=6, light_on_dark=False)
FEATURES = InputSpec(
    "features",
    feature_names=("alcohol", "malic_acid", "ash", "hue"),
    mean=(13.0, 2.3, 2.4, 1.0),
    std=(0.8, 1.1, 0.3, 0.2),
)
GREY = InputSpec()  # Fashion-MNIST's: grey 28×28, light on dark


def make_run(run_dir: Path, spec: InputSpec, class_names: list[str], seed: int = 0) -> Path:
    """A run folder whose model takes ``spec`` and tells ``class_names`` apart (weights ~ N(0, 0.1²))."""
    from softmaxreg.models import build_model
    from softmaxreg.runs.checkpoint import save_checkpoint
    from softmaxreg.runs.config import TrainConfig

    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(TrainConfig().to_dict()))
    meta = {"model": "concise", "num_inputs": spec.num_inputs, "num_outputs": len(class_names), "lr": 0.1,
            "class_names": class_names, "lang": "en", "epoch": 2, "input": spec.to_metadata()}  # fmt: skip
    if spec.kind == "images":
        meta["input_shape"] = list(spec.input_shape)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model = build_model("concise", spec.num_inputs, len(class_names), 0.1)
        model(torch.zeros(1, spec.num_inputs))
        for tensor in model.parameters():
            tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.1)  # a trained run's scale
    save_checkpoint(model, run_dir, meta)
    return run_dir
