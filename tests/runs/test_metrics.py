"""Confusion matrix and per-class scores against a plain-Python oracle."""

import pytest
import torch

from softmaxreg.runs.metrics import accuracy_of, classification_report, confusion_matrix, per_class_scores


def oracle(y_true, y_pred, k):
    """Precision, recall and F1 per class, counted one example at a time."""
    out = []
    for c in range(k):
        tp = sum(t == c and p == c for t, p in zip(y_true, y_pred, strict=True))
        predicted = sum(p == c for p in y_pred)
        actual = sum(t == c for t in y_true)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out.append((precision, recall, f1, actual))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_scores_match_the_oracle(seed):
    g = torch.Generator().manual_seed(seed)
    k = 6
    y_true = torch.randint(0, k, (200,), generator=g)
    y_pred = torch.where(torch.rand(200, generator=g) < 0.6, y_true, torch.randint(0, k - 1, (200,), generator=g))
    cm = confusion_matrix(y_true, y_pred, k)
    assert int(cm.sum()) == 200
    assert cm[2, 3] == int(((y_true == 2) & (y_pred == 3)).sum())
    scores = per_class_scores(cm)
    for c, (precision, recall, f1, support) in enumerate(oracle(y_true.tolist(), y_pred.tolist(), k)):
        assert float(scores["precision"][c]) == pytest.approx(precision)
        assert float(scores["recall"][c]) == pytest.approx(recall)
        assert float(scores["f1"][c]) == pytest.approx(f1)
        assert int(scores["support"][c]) == support
    assert accuracy_of(cm) == pytest.approx(float((y_true == y_pred).double().mean()))


def test_a_class_never_predicted_or_never_present_scores_zero_not_nan():
    cm = confusion_matrix(torch.tensor([0, 0, 1]), torch.tensor([0, 0, 0]), num_classes=3)
    report = classification_report(cm, ["a", "b", "c"])
    assert [row["precision"] for row in report["classes"]] == pytest.approx([2 / 3, 0.0, 0.0])
    assert [row["f1"] for row in report["classes"]][1:] == [0.0, 0.0]
    assert report["macro_avg"]["recall"] == pytest.approx((1 + 0 + 0) / 3)


def test_a_class_is_label_and_class_as_in_predict_json():
    """One name for one thing: `evaluate --json` names a class as `predict --json` (and the serve API) do."""
    row = classification_report(torch.tensor([[3, 1], [0, 4]]), ["cat", "dog"])["classes"][1]
    assert {key: row[key] for key in ("label", "class")} == {"label": 1, "class": "dog"}
    assert "name" not in row
