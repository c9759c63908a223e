"""Classification metrics as pure functions: confusion matrix, per-class precision, recall and F1.

For class :math:`k` with confusion matrix :math:`C` (rows: true class, columns: predicted class):

.. math::
    \\text{precision}_k = \\frac{C_{kk}}{\\sum_i C_{ik}}, \\quad
    \\text{recall}_k = \\frac{C_{kk}}{\\sum_j C_{kj}}, \\quad
    F_1 = \\frac{2\\,\\text{precision}\\cdot\\text{recall}}{\\text{precision} + \\text{recall}},

each defined as 0 where its denominator is 0 (scikit-learn's ``zero_division=0``).

Examples:
    >>> cm = confusion_matrix(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 1]), num_classes=3)
    >>> cm.tolist()
    [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    >>> scores = per_class_scores(cm)
    >>> [round(v, 3) for v in scores["precision"].tolist()], scores["recall"].tolist()
    ([1.0, 0.333, 0.0], [0.5, 1.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts of (true class, predicted class) pairs.

    Args:
        y_true: ``(N,)`` integer labels in ``0..num_classes-1``.
        y_pred: ``(N,)`` integer predictions, same range.
        num_classes: number of classes.

    Returns:
        ``(num_classes, num_classes)`` int64 tensor; entry ``[i, j]`` counts examples of class ``i``
        predicted as ``j``.
    """
    index = y_true.reshape(-1).long() * num_classes + y_pred.reshape(-1).long()  # (N,)
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _safe_divide(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den > 0, num / den.clamp(min=1e-300), torch.zeros_like(num))


def per_class_scores(cm: torch.Tensor) -> dict[str, torch.Tensor]:
    """Precision, recall, F1 and support of every class of a confusion matrix.

    Returns:
        ``precision``, ``recall``, ``f1`` (float64, shape ``(num_classes,)``) and ``support`` (int64:
        true examples per class).
    """
    cm = cm.to(torch.float64)
    correct = cm.diagonal()
    precision = _safe_divide(correct, cm.sum(0))
    recall = _safe_divide(correct, cm.sum(1))
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "support": cm.sum(1).long()}


def accuracy_of(cm: torch.Tensor) -> float:
    """Fraction of examples on the diagonal.

    Examples:
        >>> accuracy_of(torch.tensor([[3, 1], [0, 4]]))
        0.875
    """
    return float(cm.diagonal().sum()) / max(int(cm.sum()), 1)


def classification_report(cm: torch.Tensor, class_names: Sequence[str]) -> dict[str, Any]:
    """JSON-ready report: accuracy, one entry per class, and the macro averages.

    Examples:
        >>> report = classification_report(torch.tensor([[3, 1], [0, 4]]), ["cat", "dog"])
        >>> report["accuracy"], report["classes"][1]
        (0.875, {'label': 1, 'class': 'dog', 'precision': 0.8, 'recall': 1.0, 'f1': 0.888888888889, 'support': 4})
    """
    scores = per_class_scores(cm)
    rows = [
        {
            "label": k,
            "class": name,  # predict --json's (and the serve API's) name for it
            **{key: round(float(scores[key][k]), 12) for key in ("precision", "recall", "f1")},
            "support": int(scores["support"][k]),
        }
        for k, name in enumerate(class_names)
    ]
    macro = {key: round(float(scores[key].mean()), 12) for key in ("precision", "recall", "f1")}
    return {"accuracy": accuracy_of(cm), "num_examples": int(cm.sum()), "classes": rows, "macro_avg": macro}


def format_report(report: dict[str, Any]) -> str:
    """The per-class table of a `classification_report`, for a terminal.

    Examples:
        >>> print(format_report(classification_report(torch.tensor([[3, 1], [0, 4]]), ["cat", "dog"])))
        class      precision  recall     f1  support
        cat            1.000   0.750  0.857        4
        dog            0.800   1.000  0.889        4
        macro avg      0.900   0.875  0.873        8
    """
    width = max(len("macro avg"), *(len(row["class"]) for row in report["classes"]))
    lines = [f"{'class':<{width}}  precision  recall     f1  support"]
    for row in report["classes"]:
        lines.append(
            f"{row['class']:<{width}}  {row['precision']:9.3f}  {row['recall']:6.3f}  "
            f"{row['f1']:5.3f}  {row['support']:7d}"
        )
    macro = report["macro_avg"]
    lines.append(
        f"{'macro avg':<{width}}  {macro['precision']:9.3f}  {macro['recall']:6.3f}  "
        f"{macro['f1']:5.3f}  {report['num_examples']:7d}"
    )
    return "\n".join(lines)
