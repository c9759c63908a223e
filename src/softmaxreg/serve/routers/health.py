"""``GET /api/health``: is the server up, and what does it serve."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from softmaxreg.serve.dependencies import store
from softmaxreg.serve.schemas import Health
from softmaxreg.serve.security import shown_path
from softmaxreg.serve.state import ModelStore

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health)
async def health(request: Request, models: ModelStore = Depends(store)) -> dict[str, Any]:
    """The run served, its model's epoch and last validation accuracy (nulls while no run is loaded)."""
    if not models.has_run:
        return {"status": "ok", "run": None, "model_epoch": None, "val_acc": None}
    run = models.run
    return {"status": "ok", "run": shown_path(request, run.run_dir), "model_epoch": run.meta.get("epoch"),
            "val_acc": run.summary.get("val_acc")}  # fmt: skip
