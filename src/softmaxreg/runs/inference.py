"""Using a trained model: logits of uint8 images, top-k classes, and a linear model's templates."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


@torch.no_grad()
def predict_logits(model: Any, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Logits of uint8 images, computed in eval mode in batches.

    Args:
        model: a classifier taking float images in [0, 1].
        images: ``(N, 1, H, W)`` uint8 tensor (pixels 0..255, light object on dark).
        batch_size: images per forward pass.

    Returns:
        ``(N, num_classes)`` float32 logits.

    Examples:
        >>> from softmaxreg.models import SoftmaxRegression
        >>> predict_logits(SoftmaxRegression(10, 0.1), torch.zeros(3, 1, 28, 28, dtype=torch.uint8)).shape
        torch.Size([3, 10])
    """
    model.eval()
    chunks = [model(chunk.float().div_(255)) for chunk in images.split(batch_size)]  # each (batch, num_classes)
    return torch.cat(chunks)


def top_k(logits: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` most probable classes of each row and their softmax probabilities.

    Returns:
        ``(probabilities, labels)``, both ``(N, k)``, most probable first.

    Examples:
        >>> probs, labels = top_k(torch.tensor([[0.0, 2.0, 1.0]]), 2)
        >>> labels.tolist(), [round(p, 3) for p in probs[0].tolist()]
        ([[1, 2]], [0.665, 0.245])
    """
    probabilities = torch.softmax(logits.double(), dim=-1)  # (N, num_classes)
    return probabilities.topk(min(k, logits.shape[-1]), dim=-1)


def classify(
    model: Any, images: Sequence[tuple[str, np.ndarray, bool]], names: Sequence[str], k: int
) -> list[dict[str, Any]]:
    """What ``softmaxreg predict --json`` prints and ``POST /api/predict`` returns, one object per image.

    Args:
        model: a classifier taking float images in [0, 1].
        images: ``(name, pixels, inverted)`` per image, ``pixels`` a ``(H, W)`` uint8 array as
            `softmaxreg.runs.images.prepare_image` makes it.
        names: the class names, indexed by label.
        k: classes per image, most probable first.

    Returns:
        ``{"image": name, "inverted": bool, "top_k": [{"label", "class", "probability"}, ...]}`` per
        image, probabilities rounded to 6 decimals.

    Examples:
        >>> from softmaxreg.models import SoftmaxRegression
        >>> black = np.zeros((28, 28), dtype=np.uint8)
        >>> result = classify(SoftmaxRegression(10, 0.1), [("black.png", black, False)], "abcdefghij", 2)
        >>> result[0]["image"], len(result[0]["top_k"]), sorted(result[0]["top_k"][0])
        ('black.png', 2, ['class', 'label', 'probability'])
    """
    pixels = torch.from_numpy(np.stack([p for _, p, _ in images])).unsqueeze(1)  # (N, 1, H, W) uint8
    probabilities, labels = top_k(predict_logits(model, pixels), k)  # each (N, k)
    return [
        {"image": name, "inverted": inverted, "top_k": _top(probs.tolist(), labs.tolist(), names)}
        for (name, _, inverted), probs, labs in zip(images, probabilities, labels)
    ]


def _top(probabilities: list[float], labels: list[int], names: Sequence[str]) -> list[dict[str, Any]]:
    return [{"label": k, "class": names[k], "probability": round(p, 6)} for p, k in zip(probabilities, labels)]


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
