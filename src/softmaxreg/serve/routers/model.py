"""``GET /api/model`` (class names, templates, biases) and ``GET /api/run`` (summary and curves)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends

from softmaxreg.datasets.labels import LABELS
from softmaxreg.runs import folder
from softmaxreg.serve.dependencies import current_run, store
from softmaxreg.serve.schemas import ModelInfo, RunSummary, error_responses
from softmaxreg.serve.state import ModelStore, ServedRun

router = APIRouter(prefix="/api", tags=["model"], responses=error_responses(503))


@router.get("/model", response_model=ModelInfo)
async def model_info(run: ServedRun = Depends(current_run), models: ModelStore = Depends(store)) -> dict[str, Any]:
    """What the model is: per class, its weights as a 28×28 image (its template) and its bias."""
    return {
        "run": str(run.run_dir),
        "model": run.meta.get("model"),
        "model_epoch": run.meta.get("epoch"),
        "input_shape": list(run.meta.get("input_shape", (1, 28, 28))),
        "lang": models.lang,
        "classes": {lang: list(names) for lang, names in LABELS.items()},
        "templates": run.templates.round(5).tolist(),
        "biases": run.biases.tolist(),
    }


@router.get("/run", response_model=RunSummary)
async def run_summary(run: ServedRun = Depends(current_run), models: ModelStore = Depends(store)) -> dict[str, Any]:
    """The run's training: epochs, accuracies, one row of metrics.csv per epoch, the training loss as the
    board drew it (several points an epoch), and the test accuracy."""
    test_accuracy = None
    if models.test_set.images is not None:
        predicted, _ = run.test_predictions(models.test_set)
        test_accuracy = float((predicted == models.test_set.labels).mean())
    return {"run": str(run.run_dir), "summary": run.summary, "test_accuracy": test_accuracy, "history": run.history,
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
