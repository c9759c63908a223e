"""A linear classifier as an ONNX model, written node by node with ``onnx.helper``.

The graph, for softmax regression on 28×28 images::

    image          (N, 1, 28, 28) float32, pixels in [0, 1]
      Flatten      (N, 784)
      Gemm         logits = pixels · weightᵀ + bias        (N, 10)
      Softmax      probabilities = softmax(logits, axis 1)  (N, 10)

``N`` is a symbolic dimension: any batch size. The class names and the preprocessing go in the
model's ``metadata_props`` (JSON strings), so that a program holding only the ``.onnx`` file knows
what its input must be and what its outputs mean.

Why by hand and not ``torch.onnx.export``: the model is three standard operators, and writing them
takes a dozen lines that depend on ``onnx`` alone. torch 2.9+ exports through ``torch.export`` and
needs the ``onnxscript`` package (and ``onnx-ir``); the older TorchScript exporter still works but
warns that it is deprecated, and either one's graph (node names, opset, extra Reshape/Identity
nodes) changes with the torch version. Here the opset (13, which every ONNX Runtime since 1.6 and
onnxruntime-web run) and the IR version (the lowest that opset allows) are fixed, and the file is
the same for the same weights.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from softmaxreg._atomic import atomic_write_bytes
from softmaxreg._extras import import_extra
from softmaxreg.errors import ConfigError

OPSET = 13
INPUT = "image"
FEATURES = "features"
LOGITS = "logits"
PROBABILITIES = "probabilities"
BATCH = "N"  # the symbolic batch dimension
PURPOSE = "ONNX export"


def linear_classifier(
    weight: Any,
    bias: Any,
    input_shape: Sequence[int],
    metadata: Mapping[str, str] | None = None,
    doc: str = "",
    input_name: str = INPUT,
) -> Any:
    """The ONNX model of ``logits = flatten(image) · weightᵀ + bias`` and its softmax, checked by ``onnx.checker``.

    Args:
        weight: ``(num_outputs, num_inputs)`` array (numpy, or anything ``numpy.asarray`` takes).
        bias: ``(num_outputs,)`` array.
        input_shape: one input's shape, e.g. ``(1, 28, 28)``; its product must be ``num_inputs``.
        metadata: strings for the model's ``metadata_props``.
        doc: the model's ``doc_string``.
        input_name: the graph input's name: ``image``, or ``features`` for a run on a table (its
            standardisation already folded into ``weight`` and ``bias``).

    Returns:
        An ``onnx.ModelProto`` with input ``image`` ``(N, *input_shape)`` and outputs ``logits`` and
        ``probabilities`` ``(N, num_outputs)``, all float32.

    Raises:
        ConfigError: the shapes do not fit together.
        MissingExtraError: ``onnx`` is not installed.

    Examples:
        >>> import numpy as np
        >>> model = linear_classifier(np.eye(2, 4), np.zeros(2), (1, 2, 2), {"class_names": '["a", "b"]'})
        >>> [node.op_type for node in model.graph.node], model.opset_import[0].version
        (['Flatten', 'Gemm', 'Softmax'], 13)
        >>> [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        ['N', 1, 2, 2]
    """
    import numpy as np

    onnx = import_extra("onnx", "onnx", PURPOSE)
    from onnx import TensorProto, helper, numpy_helper

    weight = np.ascontiguousarray(weight, dtype=np.float32)  # (num_outputs, num_inputs)
    bias = np.ascontiguousarray(bias, dtype=np.float32)  # (num_outputs,)
    _check_shapes(weight, bias, input_shape)
    num_outputs = weight.shape[0]
    nodes = [
        helper.make_node("Flatten", [input_name], ["pixels"], axis=1),  # (N, num_inputs)
        helper.make_node("Gemm", ["pixels", "weight", "bias"], [LOGITS], transB=1),  # (N, num_outputs)
        helper.make_node("Softmax", [LOGITS], [PROBABILITIES], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "softmax_regression",
        inputs=[helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [BATCH, *input_shape],
                                              "images, float32 pixels in [0, 1] (uint8 / 255)" if input_name == INPUT
                                              else "raw feature values, float32, in input.feature_names' order")],
        outputs=[helper.make_tensor_value_info(LOGITS, TensorProto.FLOAT, [BATCH, num_outputs], "class scores"),
                 helper.make_tensor_value_info(PROBABILITIES, TensorProto.FLOAT, [BATCH, num_outputs],
                                               "softmax of the logits: each row sums to 1")],
        initializer=[numpy_helper.from_array(weight, "weight"), numpy_helper.from_array(bias, "bias")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="softmaxreg",
                              producer_version=_version(), doc_string=doc)  # fmt: skip
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))  # older runtimes load it too
    helper.set_model_props(model, dict(metadata or {}))
    onnx.checker.check_model(model, full_check=True)  # also infers every shape
    return model


def _check_shapes(weight: Any, bias: Any, input_shape: Sequence[int]) -> None:
    if weight.ndim != 2 or bias.shape != weight.shape[:1] or math.prod(input_shape) != weight.shape[1]:
        raise ConfigError(
            f"Expected a weight (num_outputs, {math.prod(input_shape)}) and a bias (num_outputs,) for inputs of "
            f"shape {tuple(input_shape)}; got {weight.shape} and {bias.shape}."
        )


def _version() -> str:
    from softmaxreg import __version__

    return __version__


def run_metadata(description: Mapping[str, Any]) -> dict[str, str]:
    """``metadata_props`` for a model that ``model.json``'s ``description`` describes: class names and
    preprocessing (JSON), then where the weights came from.

    Examples:
        >>> props = run_metadata({"class_names": ["t-shirt", "trouser"], "preprocessing": {"dtype": "uint8 / 255"},
        ...                       "input_shape": [1, 28, 28], "model": "concise", "epoch": 3, "val_acc": 0.8})
        >>> json.loads(props["class_names"]), json.loads(props["preprocessing"])["dtype"], props["epoch"]
        (['t-shirt', 'trouser'], 'uint8 / 255', '3')
    """
    spec = description.get("input") or {}
    shape = ", ".join(map(str, description["input_shape"]))
    if spec.get("kind") == "features":
        what = f"{FEATURES}: float32 ({BATCH}, {shape}), raw values (the standardisation is in the weights)"
    else:
        what = f"{INPUT}: float32 ({BATCH}, {shape}), pixels in [0, 1]"
    props = {
        "class_names": json.dumps(list(description["class_names"]), ensure_ascii=False),
        "preprocessing": json.dumps(dict(description.get("preprocessing") or {}), ensure_ascii=False),
        "input": what,
        "outputs": f"{LOGITS}: float32 ({BATCH}, {len(description['class_names'])}); {PROBABILITIES}: their softmax",
    }
    if spec:
        props["input_spec"] = json.dumps(spec, ensure_ascii=False)  # softmaxreg.runs.inputs.InputSpec's entry
    for key in ("model", "lang", "epoch", "val_acc", "val_loss"):  # what model.json says of the weights
        if description.get(key) is not None:
            props[key] = str(description[key])
    return props


def save(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write an ``onnx.ModelProto`` to ``path`` atomically: the old file or the new one, never half of one."""
    return atomic_write_bytes(path, model.SerializeToString())
