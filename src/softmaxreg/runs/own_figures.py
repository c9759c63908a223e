"""The weights figure of a run on your own data: templates of any size (grey or colour), or, for a
table of features, each class's largest weights by feature name.

Like `softmaxreg.runs.figures`, each function takes plain numbers and returns a pyplot-free Figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from softmaxreg.book import _display

TOP_FEATURES = 8


def templates_figure(weights: Any, class_names: Sequence[str], ncols: int = 5) -> Any:
    """Each class's weights drawn in the image's shape: ``(K, 1, H, W)`` on one red-blue scale (red:
    evidence for the class); ``(K, 3, H, W)`` as colour images, each class's weights scaled to [0, 1]
    (a colour that is bright in a class's template is evidence for it).
    """
    import numpy as np

    weights = np.asarray(weights, dtype=float)  # (K, C, H, W)
    k, channels = weights.shape[:2]
    ncols = min(ncols, k)
    nrows = math.ceil(k / ncols)
    fig = _display.new_figure((2.3 * ncols + 1, 2.5 * nrows + 0.6))
    limit = float(np.abs(weights).max()) or 1.0
    axes, image = [], None
    for i in range(k):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        if channels == 1:
            image = ax.imshow(weights[i, 0], cmap="RdBu_r", vmin=-limit, vmax=limit)
        else:
            w = weights[i].transpose(1, 2, 0)  # (H, W, 3)
            low, high = w.min(), w.max()
            ax.imshow((w - low) / ((high - low) or 1.0))
        ax.set_title(class_names[i], fontsize=10)
        ax.set_axis_off()
        axes.append(ax)
    if image is not None:
        fig.colorbar(image, ax=axes, fraction=0.025, pad=0.02)
    h, w = weights.shape[2:]
    how = "red: evidence for the class, blue: against" if channels == 1 else "bright: evidence for the class"
    fig.suptitle(
        f"Each class's weights as a {h}×{w} {'grey' if channels == 1 else 'colour'} image ({how})", fontsize=11
    )
    return fig


def feature_weights_figure(weight: Any, feature_names: Sequence[str], class_names: Sequence[str],
                           top: int = TOP_FEATURES, ncols: int = 3) -> Any:  # fmt: skip
    """Per class, the ``top`` features of largest weight (by absolute value) as horizontal bars.

    Weights are per standardised feature (one standard deviation more of the feature adds the weight
    to the class's logit), so they compare across features of different units.

    Args:
        weight: ``(K, F)`` weights.
        feature_names: the ``F`` names.
        class_names: the ``K`` names.
    """
    import numpy as np

    weight = np.asarray(weight, dtype=float)
    k, f = weight.shape
    top = min(top, f)
    ncols = min(ncols, k)
    nrows = math.ceil(k / ncols)
    fig = _display.new_figure((4.2 * ncols, 0.32 * top * nrows + 1.2 * nrows + 0.6))
    limit = float(np.abs(weight).max()) or 1.0
    for i in range(k):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        order = np.argsort(-np.abs(weight[i]), kind="stable")[:top][::-1]  # largest at the top
        values = weight[i, order]
        ax.barh(range(top), values, color=["#b2182b" if v > 0 else "#2166ac" for v in values])
        ax.set_yticks(range(top), [feature_names[j] for j in order], fontsize=8)
        ax.set_xlim(-limit * 1.05, limit * 1.05)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_title(class_names[i], fontsize=10)
    fig.suptitle(f"Each class's {top} largest weights per standardised feature (red: for the class, blue: against)",
                 fontsize=11)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig
