"""``softmaxreg export RUN_DIR``: the run's model as an ONNX file that ONNX Runtime runs without torch."""

from __future__ import annotations

import argparse
from pathlib import Path

from softmaxreg._extras import require_extra
from softmaxreg.commands._common import say
from softmaxreg.errors import ConfigError
from softmaxreg.runs import folder

ONNX_FILE = "model.onnx"
OPSET = 13  # softmaxreg.interop.onnx_export.OPSET, without importing it before the run folder is checked


def run(args: argparse.Namespace) -> int:
    """Load the run's model (checked as evaluate and predict check it), write it as ONNX, say where."""
    run_dir = Path(args.run_dir)
    folder.read_config(run_dir)  # a run folder?
    require_extra("onnx", "onnx", "`softmaxreg export --format onnx`")
    out = Path(args.out) if args.out else run_dir / ONNX_FILE
    if out.is_dir():
        raise ConfigError(f"`--out` must be a file name; {out} is a folder. Add a name, e.g. {out / ONNX_FILE}.")
    path, props = export_onnx(run_dir, out)
    say(f"wrote {path} (ONNX opset {OPSET}, {path.stat().st_size:,} bytes)")
    say(f"input {props['input']}; outputs {props['outputs']}")
    return 0


def export_onnx(run_dir: str | Path, out: str | Path) -> tuple[Path, dict[str, str]]:
    """Write the model saved in ``run_dir`` as ONNX to ``out``, atomically.

    Returns:
        The path written and the model's ``metadata_props``.

    Raises:
        CheckpointError: the run folder's model is missing or damaged (see `checkpoint.load_model`).
        MissingExtraError: ``onnx`` is not installed.
    """
    import numpy as np

    from softmaxreg import __version__
    from softmaxreg.datasets.labels import class_names
    from softmaxreg.interop import onnx_export
    from softmaxreg.models import linear_parameters
    from softmaxreg.runs.checkpoint import load_model  # torch: only once the run folder is known to exist
    from softmaxreg.runs.inputs import InputSpec

    model, meta = load_model(run_dir)
    meta = {"input_shape": [1, 28, 28], "class_names": list(class_names(meta.get("lang") or "en")), **meta}
    spec = InputSpec.from_metadata(meta)
    weight, bias = linear_parameters(model)
    weight, bias, name = weight.numpy(), bias.numpy(), onnx_export.INPUT
    if spec.kind == "features":  # fold (x - mean) / std into the Gemm: W' = W / std, b' = b - W' mean
        weight = weight.astype(np.float64) / np.asarray(spec.std)  # (num_classes, num_features)
        bias = bias.astype(np.float64) - weight @ np.asarray(spec.mean)
        name = onnx_export.FEATURES
    data = "Fashion-MNIST" if "input" not in meta or spec == InputSpec() else "your own data"
    doc = f"Softmax regression on {data} (d2l §4.5), trained by softmaxreg {__version__} in {Path(run_dir).name}."
    props = onnx_export.run_metadata(meta)
    onnx_model = onnx_export.linear_classifier(weight, bias, meta["input_shape"], props, doc, input_name=name)
    return onnx_export.save(onnx_model, out), props
