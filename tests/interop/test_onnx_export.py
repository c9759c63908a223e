"""The ONNX graph of a linear classifier: what ONNX Runtime computes from it, its metadata, its checks."""

import json

import numpy as np
import pytest
import torch

from softmaxreg.errors import ConfigError
from softmaxreg.interop import onnx_export
from softmaxreg.models import SoftmaxRegression, SoftmaxRegressionScratch, linear_parameters

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run_onnx(model, images):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": images})


@pytest.mark.parametrize("model_class", [SoftmaxRegression, SoftmaxRegressionScratch])
def test_onnx_runtime_computes_what_the_torch_model_computes(model_class):
    torch.manual_seed(0)
    model = SoftmaxRegression(10, 0.1) if model_class is SoftmaxRegression else SoftmaxRegressionScratch(784, 10, 0.1)
    images = torch.rand(64, 1, 28, 28)
    with torch.no_grad():
        expected = model(images)  # also materialises the lazy layer
        torch.nn.init.normal_(next(model.parameters()), std=0.05)  # logits of a few units, like a trained model's
        expected = model(images)
    weight, bias = linear_parameters(model)
    graph = onnx_export.linear_classifier(weight.numpy(), bias.numpy(), (1, 28, 28))
    logits, probabilities = run_onnx(graph, images.numpy())
    assert logits.dtype == probabilities.dtype == np.float32 and logits.shape == (64, 10)
    np.testing.assert_allclose(logits, expected.numpy(), rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(probabilities, torch.softmax(expected.double(), 1).numpy(), atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-6)


def test_the_graph_is_three_standard_nodes_with_a_symbolic_batch_and_checked_metadata():
    meta = {"class_names": ["t-shirt", "trouser"], "preprocessing": {"dtype": "uint8 / 255"}, "input_shape": [1, 2, 2],
            "model": "concise", "epoch": 3, "val_acc": 0.75, "val_loss": None}  # fmt: skip
    graph = onnx_export.linear_classifier(np.ones((2, 4)), np.zeros(2), (1, 2, 2), onnx_export.run_metadata(meta))
    onnx.checker.check_model(graph, full_check=True)
    assert [n.op_type for n in graph.graph.node] == ["Flatten", "Gemm", "Softmax"]
    assert [
        (i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]) for i in graph.graph.input
    ] == [("image", ["N", 1, 2, 2])]
    assert [o.name for o in graph.graph.output] == ["logits", "probabilities"]
    assert graph.opset_import[0].version == 13 and graph.ir_version == 7  # loadable by old runtimes too
    props = {p.key: p.value for p in graph.metadata_props}
    assert json.loads(props["class_names"]) == ["t-shirt", "trouser"]
    assert json.loads(props["preprocessing"]) == {"dtype": "uint8 / 255"}
    assert (props["epoch"], props["val_acc"], "val_loss" in props) == ("3", "0.75", False)
    for batch in (1, 7):  # any batch size
        logits, probabilities = run_onnx(graph, np.full((batch, 1, 2, 2), 0.5, dtype=np.float32))
        assert logits.shape == probabilities.shape == (batch, 2)


def test_the_same_weights_give_the_same_file():
    weight, bias = np.arange(8, dtype=np.float32).reshape(2, 4), np.ones(2)
    first = onnx_export.linear_classifier(weight, bias, (1, 2, 2)).SerializeToString()
    assert onnx_export.linear_classifier(weight, bias, (1, 2, 2)).SerializeToString() == first


def test_shapes_that_do_not_fit_are_refused_with_one_line():
    with pytest.raises(ConfigError, match=r"^Expected a weight \(num_outputs, 784\) .* got \(10, 100\) and \(10,\)\.$"):
        onnx_export.linear_classifier(np.zeros((10, 100)), np.zeros(10), (1, 28, 28))


def test_a_model_that_never_saw_an_input_has_no_weights_to_export():
    with pytest.raises(ConfigError, match="weights are not known yet"):
        linear_parameters(SoftmaxRegression(10, 0.1))
