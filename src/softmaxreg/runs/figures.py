"""The figures of a run folder: confusion matrix, mistakes, weight templates, learning-rate sweep.

Each function takes plain numbers (tensors or arrays, class names) and returns a pyplot-free
matplotlib Figure; `save` writes one atomically. Words in the figures follow ``lang`` (``'en'`` or
``'vi'``), like the class names passed in.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from softmaxreg.book import _display

WORDS = {
    "en": {
        "confusion": "Confusion matrix: test accuracy {acc:.1%} ({n:,} images)",
        "true_class": "true class",
        "predicted_class": "predicted class",
        "mistakes": "The {k} most confident mistakes of {n:,} on the test set",
        "true": "true",
        "predicted": "predicted",
        "weights": "Each class's weights as a 28×28 image (red: evidence for the class, blue: against)",
        "train_loss": "train loss",
        "val_loss": "val loss",
        "val_acc": "val accuracy",
        "epoch": "epoch",
        "sweep": "Learning-rate sweep ({epochs} epoch{plural}, batch size {batch_size})",
    },
    "vi": {
        "confusion": "Ma trận nhầm lẫn: độ chính xác trên tập kiểm tra {acc:.1%} ({n:,} ảnh)",
        "true_class": "lớp thật",
        "predicted_class": "lớp dự đoán",
        "mistakes": "{k} lỗi mà mô hình tự tin nhất, trong {n:,} lỗi trên tập kiểm tra",
        "true": "thật",
        "predicted": "dự đoán",
        "weights": "Trọng số của từng lớp dưới dạng ảnh 28×28 (đỏ: ủng hộ lớp đó, xanh: chống lại)",
        "train_loss": "mất mát huấn luyện",
        "val_loss": "mất mát kiểm định",
        "val_acc": "độ chính xác kiểm định",
        "epoch": "epoch",
        "sweep": "Quét tốc độ học ({epochs} epoch, kích thước batch {batch_size})",
    },
}


def _words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["en"])


def save(fig: Any, path: str | os.PathLike[str], dpi: int = 100) -> Path:
    """Write ``fig`` atomically (format from the suffix)."""
    return _display.save_figure(fig, path, dpi=dpi)


def confusion_matrix_figure(cm: Any, class_names: Sequence[str], lang: str = "en") -> Any:
    """A heat map of the confusion matrix with every count written in its cell.

    Args:
        cm: ``(K, K)`` counts, rows true class, columns predicted class.
        class_names: the ``K`` class names.
        lang: language of the titles.
    """
    import numpy as np

    cm = np.asarray(cm)
    words, k = _words(lang), len(class_names)
    fig = _display.new_figure((8.5, 7.5))
    ax = fig.add_subplot()
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)  # colour by the share of the true class
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            colour = "white" if share[i, j] > 0.5 else "black"
            ax.text(j, i, f"{cm[i, j]:d}", ha="center", va="center", color=colour, fontsize=8)
    ax.set_xticks(range(k), class_names, rotation=40, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel(words["predicted_class"])
    ax.set_ylabel(words["true_class"])
    acc = float(np.trace(cm)) / max(int(cm.sum()), 1)
    ax.set_title(words["confusion"].format(acc=acc, n=int(cm.sum())))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return fig


def mistakes_figure(
    images: Any, true: Sequence[int], predicted: Sequence[int], confidence: Sequence[float],
    class_names: Sequence[str], total: int, lang: str = "en", ncols: int = 6,
) -> Any:  # fmt: skip
    """A grid of misclassified images, each titled with its true and predicted class.

    Args:
        images: ``(M, H, W)`` grey images, pixels 0..255, in the order to show.
        true: the ``M`` true labels.
        predicted: the ``M`` predicted labels.
        confidence: the ``M`` predicted classes' probabilities.
        class_names: names of the labels.
        total: how many mistakes there were in all (for the title).
        lang: language of the titles.
        ncols: images per row.
    """
    words, m = _words(lang), len(true)
    nrows = max(math.ceil(m / ncols), 1)
    fig = _display.new_figure((2.6 * ncols, 2.9 * nrows + 0.5))
    fig.set_layout_engine("constrained")  # room for the two-line titles
    for i in range(nrows * ncols):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ax.set_axis_off()
        if i >= m:
            continue
        ax.imshow(images[i], cmap="gray", vmin=0, vmax=255)
        ax.set_title(
            f"{words['true']}: {class_names[true[i]]}\n"
            f"{words['predicted']}: {class_names[predicted[i]]} ({confidence[i]:.0%})",
            fontsize=9,
        )
    fig.suptitle(words["mistakes"].format(k=m, n=total), fontsize=12)
    return fig


def weights_figure(weights: Any, class_names: Sequence[str], lang: str = "en", ncols: int = 5) -> Any:
    """Each class's weight vector drawn as an image: the templates a linear classifier has learned.

    Args:
        weights: ``(K, H, W)`` weights of the ``K`` classes (logit = sum of weights × pixels + bias).
        class_names: the ``K`` class names.
        lang: language of the title.
        ncols: classes per row.
    """
    import numpy as np

    weights = np.asarray(weights, dtype=float)
    k = len(weights)
    nrows = math.ceil(k / ncols)
    limit = float(np.abs(weights).max()) or 1.0  # one symmetric colour scale: 0 is white
    fig = _display.new_figure((2.3 * ncols + 1, 2.5 * nrows + 0.5))
    axes = []
    for i in range(k):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        image = ax.imshow(weights[i], cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(class_names[i], fontsize=10)
        ax.set_axis_off()
        axes.append(ax)
    fig.colorbar(image, ax=axes, fraction=0.025, pad=0.02)
    fig.suptitle(_words(lang)["weights"], fontsize=11)
    return fig


def sweep_figure(
    histories: Mapping[str, Sequence[Mapping[str, float]]],
    lang: str = "en",
    title_args: Mapping[str, Any] | None = None,
) -> Any:
    """Train loss, val loss and val accuracy per epoch of several runs, overlaid in three panels.

    Args:
        histories: run label (e.g. ``'lr 0.1'``) -> its per-epoch metrics rows.
        lang: language of the labels.
        title_args: ``epochs`` and ``batch_size`` for the title (no title without them).
    """
    words = _words(lang)
    fig = _display.new_figure((14, 4.2))
    fig.set_layout_engine("constrained")
    keys = ("train_loss", "val_loss", "val_acc")
    axes = [fig.add_subplot(1, 3, i + 1) for i in range(3)]
    for n, (label, rows) in enumerate(histories.items()):
        epochs = [row["epoch"] for row in rows]
        for ax, key in zip(axes, keys, strict=True):
            ax.plot(epochs, [row[key] for row in rows], marker="o", markersize=3, color=f"C{n % 10}", label=label)
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    seen = {row["epoch"] for rows in histories.values() for row in rows}
    for ax, key in zip(axes, keys, strict=True):
        ax.set_title(words[key])
        ax.set_xlabel(words["epoch"])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3, which="both")
        if len(seen) == 1:  # a single epoch: a whole-number x axis around it
            (only,) = seen
            ax.set_xlim(only - 0.5, only + 0.5)
            ax.set_xticks([only])
    for ax, key in zip(axes[:2], keys[:2], strict=True):
        if _spans_a_decade([row[key] for rows in histories.values() for row in rows]):
            # losses of different learning rates can differ by orders of magnitude
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(FuncFormatter(_minor_log_label))
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right center")
    if title_args:
        fig.suptitle(words["sweep"].format(plural="" if title_args["epochs"] == 1 else "s", **title_args))
    return fig


def _spans_a_decade(values: Sequence[float]) -> bool:
    """Whether the positive finite ``values`` differ by a factor of 10 or more (a log axis helps).

    Examples:
        >>> _spans_a_decade([0.79, 0.99]), _spans_a_decade([0.4, 12.0, float("nan")])
        (False, True)
    """
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    return bool(positive) and max(positive) >= 10 * min(positive)


def _minor_log_label(value: float, _: Any) -> str:
    """Label the 2×, 3×, 4× and 6× minor ticks of a log axis with plain numbers (``0.3``, not ``3e-01``)."""
    if value <= 0:
        return ""
    mantissa = round(value / 10 ** math.floor(math.log10(value)), 6)
    return f"{value:g}" if mantissa in (2, 3, 4, 6) else ""
