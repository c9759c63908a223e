"""``GET /api/model`` (class names, templates, biases) and ``GET /api/run`` (summary and curves)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request

from softmaxreg.datasets.labels import LABELS
from softmaxreg.runs import folder
from softmaxreg.serve.dependencies import current_run, store, test_set
from softmaxreg.serve.schemas import ModelInfo, RunSummary, error_responses
from softmaxreg.serve.security import shown_path
from softmaxreg.serve.state import ModelStore, NoTestSetError, ServedRun

router = APIRouter(prefix="/api", tags=["model"], responses=error_responses(503))


@router.get("/model", response_model=ModelInfo)
async def model_info(
    request: Request, run: ServedRun = Depends(current_run), models: ModelStore = Depends(store)
) -> dict[str, Any]:
    """What the model is and takes: its input, and per class its weights (its template) and its bias.

    Templates are drawn in the input's shape: ``(H, W)`` per class for grey images (what the page
    draws), ``(3, H, W)`` for colour images, ``(F,)`` (one weight per feature) for features.
    """
    spec = run.spec
    templates = run.templates
    if run.is_images and spec.channels == 1:
        templates = templates[:, 0]  # (num_classes, H, W)
    own = list(run.class_names(None))
    classes = (
        {lang: list(names) for lang, names in LABELS.items()} if run.is_fashion_mnist() else {"en": own, "vi": own}
    )
    return {
        "run": shown_path(request, run.run_dir),
        "name": run.name,
        "model": run.meta.get("model"),
        "model_epoch": run.meta.get("epoch"),
        "input_shape": list(spec.input_shape),
        "input": input_info(run),
        "lang": models.lang,
        "classes": classes,
        "templates": templates.round(5).tolist(),
        "biases": run.biases.tolist(),
    }


def input_info(run: ServedRun) -> dict[str, Any]:
    """What the page and programs need to know of the model's input (`InputInfo`)."""
    spec = run.spec
    if spec.kind == "features":
        return {"kind": "features", "shape": list(spec.input_shape), "feature_names": list(spec.feature_names)}
    small_grey = spec.channels == 1 and spec.height <= 64 and spec.width <= 64
    return {"kind": "images", "shape": list(spec.input_shape), "channels": spec.channels, "height": spec.height,
            "width": spec.width, "light_on_dark": spec.light_on_dark, "drawing_pad": small_grey}  # fmt: skip


@router.get("/run", response_model=RunSummary)
async def run_summary(request: Request, run: ServedRun = Depends(current_run)) -> dict[str, Any]:
    """The run's training: epochs, accuracies, one row of metrics.csv per epoch, the training loss as the
    board drew it (several points an epoch), and the test accuracy."""
    try:
        test = await test_set(request)
    except NoTestSetError:
        test_accuracy = None
    else:
        predicted, _ = run.test_predictions(test)
        test_accuracy = float((predicted == test.labels).mean())
    run_name = shown_path(request, run.run_dir)
    return {"run": run_name, "summary": run.summary, "test_accuracy": test_accuracy, "history": run.history,
            "train_points": board_points(run.run_dir)}  # fmt: skip


def board_points(run_dir: Path) -> list[list[float]]:
    """The board's ``train_loss`` points ``[epoch, loss]`` (fractional epochs) that the run folder keeps in
    its resume state; none when it has none (e.g. a folder copied without it): the page plots per epoch."""
    try:
        state = json.loads((Path(run_dir) / folder.RESUME_STATE).read_text(encoding="utf-8"))
        points = state["board"]["train_loss"]
        return [[float(x), float(y)] for x, y in points]
    except (OSError, ValueError, KeyError, TypeError):
        return []
