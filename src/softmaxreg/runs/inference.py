"""Using a trained model: logits of uint8 images, top-k classes, and a linear model's templates."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


@torch.no_grad()
def predict_logits(model: Any, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Logits of uint8 images (or of float features, used as they are), computed in eval mode in batches.

    Args:
        model: a classifier taking float images in [0, 1] (or standardised features).
        images: ``(N, C, H, W)`` uint8 tensor (pixels 0..255), or ``(N, F)`` float32 features.
        batch_size: images per forward pass.

    Returns:
        ``(N, num_classes)`` float32 logits.

    Examples:
        >>> from softmaxreg.models import SoftmaxRegression
        >>> predict_logits(SoftmaxRegression(10, 0.1), torch.zeros(3, 1, 28, 28, dtype=torch.uint8)).shape
        torch.Size([3, 10])
    """
    model.eval()
    scale = 255 if images.dtype == torch.uint8 else 1
    chunks = [model(chunk.float().div_(scale)) for chunk in images.split(batch_size)]  # each (batch, num_classes)
    return chunks[0] if len(chunks) == 1 else torch.cat(chunks)


class LinearScorer:
    """A trained linear model's logits of uint8 images, in numpy: ``x Wᵀ + b`` with ``x = pixels / 255``.

    What ``softmaxreg predict`` and ``softmaxreg serve`` classify with, so they print the same
    probabilities. For the one image a request holds, torch's fixed cost per call (``eval``,
    ``no_grad``, three modules, six operators: ~40 µs) is most of the work; this is one matrix
    product. The logits equal the torch model's up to float32 rounding (another summation order).

    Raises:
        ConfigError: ``model`` is not one of softmaxreg's linear models, trained.

    Examples:
        >>> from softmaxreg.models import SoftmaxRegressionScratch
        >>> model = SoftmaxRegressionScratch(num_inputs=4, num_outputs=3, lr=0.1)
        >>> scores = LinearScorer(model).logits(np.full((1, 2, 2), 255, dtype=np.uint8))
        >>> np.allclose(scores, model(torch.ones(1, 4)).detach().numpy(), atol=1e-6)
        True
    """

    def __init__(self, model: Any) -> None:
        from softmaxreg.models import linear_parameters

        weight, bias = linear_parameters(model)  # (num_classes, num_inputs), (num_classes,)
        self.weight_t = np.ascontiguousarray(weight.numpy().T, dtype=np.float32)  # (num_inputs, num_classes)
        self.bias = bias.numpy().astype(np.float32)
        self._per_level = self.weight_t / np.float32(255)  # W for pixels 0..255: (x / 255) W = x (W / 255)

    def logits(self, pixels: np.ndarray) -> np.ndarray:
        """``(N, num_classes)`` float32 logits of ``(N, H, W)`` uint8 images (light object on dark)."""
        return pixels.reshape(len(pixels), -1) @ self._per_level + self.bias  # uint8 times float32: float32


def feature_logits(
    scorer: LinearScorer, features: np.ndarray, mean: Sequence[float], std: Sequence[float]
) -> np.ndarray:
    """``(N, num_classes)`` float32 logits of raw ``(N, F)`` features, standardised as the run was trained:
    ``((x - mean) / std) Wᵀ + b``."""
    x = ((features.astype(np.float64) - np.asarray(mean)) / np.asarray(std)).astype(np.float32)  # (N, F)
    return x @ scorer.weight_t + scorer.bias


def softmax(logits: Sequence[float]) -> list[float]:
    """The probabilities of one row of logits, stable (the largest logit is shifted to 0).

    Plain Python floats (float64), not torch or numpy: for the ten scores of the one image a request
    holds, every array call costs more than the arithmetic.

    Examples:
        >>> [round(p, 3) for p in softmax([0.0, 2.0, 1000.0])]
        [0.0, 0.0, 1.0]
    """
    largest = max(logits)
    exps = [math.exp(logit - largest) for logit in logits]  # the largest is 1: no overflow
    total = math.fsum(exps)
    return [e / total for e in exps]


def top_k(logits: Sequence[float], k: int) -> list[tuple[int, float]]:
    """The ``k`` most probable classes of one row of logits, with their `softmax` probabilities.

    Returns:
        ``[(label, probability), ...]``, most probable first (of equal ones, the lower label first).

    Examples:
        >>> [(label, round(p, 3)) for label, p in top_k([0.0, 2.0, 1.0], 2)]
        [(1, 0.665), (2, 0.245)]
    """
    probabilities = softmax(logits)
    ranked = sorted(range(len(probabilities)), key=probabilities.__getitem__, reverse=True)  # stable: ties by label
    return [(label, probabilities[label]) for label in ranked[:k]]


def classify(
    scorer: LinearScorer, images: Sequence[tuple[str, np.ndarray, bool]], names: Sequence[str], k: int
) -> list[dict[str, Any]]:
    """What ``softmaxreg predict --json`` prints and ``POST /api/predict`` returns, one object per image.

    Args:
        scorer: the run's model, as a `LinearScorer`.
        images: ``(name, pixels, inverted)`` per image, ``pixels`` a ``(H, W)`` uint8 array as
            `softmaxreg.runs.images.prepare_image` makes it.
        names: the class names, indexed by label.
        k: classes per image, most probable first.

    Returns:
        ``{"image": name, "inverted": bool, "top_k": [{"label", "class", "probability"}, ...]}`` per
        image, probabilities rounded to 6 decimals.

    Examples:
        >>> from softmaxreg.models import SoftmaxRegressionScratch
        >>> black = np.zeros((28, 28), dtype=np.uint8)
        >>> scorer = LinearScorer(SoftmaxRegressionScratch(784, 10, lr=0.1))
        >>> result = classify(scorer, [("black.png", black, False)], "abcdefghij", 2)
        >>> result[0]["image"], len(result[0]["top_k"]), sorted(result[0]["top_k"][0])
        ('black.png', 2, ['class', 'label', 'probability'])
    """
    pixels = images[0][1][None] if len(images) == 1 else np.stack([p for _, p, _ in images])  # (N, H, W)
    logits = scorer.logits(pixels).tolist()  # (N, num_classes)
    return [
        {"image": name, "inverted": inverted, "top_k": _top(top_k(row, k), names)}
        for (name, _, inverted), row in zip(images, logits, strict=True)
    ]


def _top(ranked: list[tuple[int, float]], names: Sequence[str]) -> list[dict[str, Any]]:
    return [{"label": k, "class": names[k], "probability": round(p, 6)} for k, p in ranked]


@torch.no_grad()
def class_templates(model: Any, input_shape: Sequence[int]) -> torch.Tensor:
    """What each class's logit weighs every pixel by, for a linear model, drawn in the input's shape.

    For logits :math:`o = W x + b` this is :math:`W`, found without knowing how the model stores
    it: the logits of each one-pixel image minus those of the black image.

    Args:
        model: a linear classifier.
        input_shape: one input's shape, e.g. ``(1, 28, 28)``.

    Returns:
        ``(num_classes, H, W)`` float32 weights.

    Examples:
        >>> from softmaxreg.models import SoftmaxRegressionScratch
        >>> model = SoftmaxRegressionScratch(4, 3, lr=0.1)
        >>> torch.allclose(class_templates(model, (1, 2, 2)).reshape(3, 4), model.W.T, atol=1e-6)
        True
    """
    model.eval()
    size = math.prod(input_shape)
    basis = torch.eye(size).reshape(size, *input_shape)  # one image per pixel
    weights = model(basis) - model(torch.zeros(1, *input_shape))  # (size, num_classes)
    return weights.T.reshape(-1, *input_shape[-2:])
