"""``/api/train`` (start, stop, watch a run trained by the server) and ``/api/runs`` (serve another run).

Every route answers 403 unless the server was started with ``--allow-training``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from softmaxreg.datasets.labels import LABELS
from softmaxreg.errors import ConfigError
from softmaxreg.runs.recipes import RECIPES
from softmaxreg.serve.errors import BadParameterError, request_lang
from softmaxreg.serve.schemas import error_responses
from softmaxreg.serve.training import (
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    RunManager,
    TrainingConflictError,
    config_from_form,
    list_runs,
    sse,
)

KEEP_ALIVE = 15.0  # seconds between comments on a quiet stream, so proxies and browsers keep it open
OFF = "Training from the page is off on this server; start it with: softmaxreg serve --allow-training [RUN_DIR]."


def training(request: Request) -> RunManager:
    """The app's `RunManager`; a 403 when the server was started without ``--allow-training``."""
    manager = request.app.state.training
    if manager is None:
        raise HTTPException(403, OFF)
    return manager


router = APIRouter(prefix="/api", tags=["training"], dependencies=[Depends(training)],
                   responses=error_responses(400, 401, 403, 422))  # fmt: skip


class TrainRequest(BaseModel):
    """A run to train: the recipe's settings, with any of these given replacing the recipe's.

    The fields take any JSON value: `TrainConfig` checks them as ``softmaxreg train`` checks its
    options, so that a bad value gets the CLI's one-line message (status 422).
    """

    recipe: Any = Field("seed", description="seed (the book's settings) or best", examples=["seed"],
                        json_schema_extra={"enum": ["seed", "best"]})  # fmt: skip
    model: Any = Field(None, description="concise or scratch", examples=["concise"],
                       json_schema_extra={"enum": ["concise", "scratch", None], "nullable": True})  # fmt: skip
    epochs: Any = Field(None, description=f"a whole number from 1 to {MAX_EPOCHS}", examples=[3],
                        json_schema_extra={"type": "integer", "minimum": 1, "maximum": MAX_EPOCHS,
                                           "nullable": True})  # fmt: skip
    lr: Any = Field(None, description="learning rate, a positive number", examples=[0.1],
                    json_schema_extra={"type": "number", "minimum": 0,
                                       "nullable": True})  # fmt: skip
    batch_size: Any = Field(None, description=f"a positive integer, at most {MAX_BATCH_SIZE}", examples=[256],
                            json_schema_extra={"type": "integer", "minimum": 1, "maximum": MAX_BATCH_SIZE,
                                               "nullable": True})  # fmt: skip
    weight_decay: Any = Field(None, description="a non-negative number", examples=[0],
                              json_schema_extra={"type": "number", "minimum": 0,
                                                 "nullable": True})  # fmt: skip


class ServeRequest(BaseModel):
    run: str = Field(description="the name of a run folder of the runs directory (GET /api/runs)",
                     json_schema_extra={"maxLength": 255})  # fmt: skip


def _conflict(err: TrainingConflictError) -> HTTPException:
    return HTTPException(409, str(err))


@router.get("/train")
async def train_state(manager: RunManager = Depends(training)) -> dict[str, Any]:
    """The run trained now or last: status, settings, metrics per epoch, templates; and the recipes' settings."""
    recipes = {name: {k: getattr(config, k) for k in ("epochs", "lr", "batch_size", "weight_decay", "model")}
               for name, config in RECIPES.items()}  # fmt: skip
    classes = {lang: list(names) for lang, names in LABELS.items()}
    return {**manager.snapshot(), "recipes": recipes, "max_epochs": MAX_EPOCHS, "classes": classes}


@router.post("/train", status_code=202, responses=error_responses(409))
async def start(body: TrainRequest, manager: RunManager = Depends(training)) -> dict[str, Any]:
    """Start a run in a worker process (one at a time); watch it on ``GET /api/train/events``."""
    try:
        config = config_from_form(body.recipe, body.model_dump(exclude={"recipe"}))
    except ConfigError as err:
        raise BadParameterError(str(err)) from None
    try:
        return await manager.start(config)
    except TrainingConflictError as err:
        raise _conflict(err) from None


@router.post("/train/stop", responses=error_responses(409))
async def stop(manager: RunManager = Depends(training)) -> dict[str, Any]:
    """Stop the run as Ctrl-C does: after the current step; its folder keeps the completed epochs (resumable)."""
    try:
        return await manager.stop()
    except TrainingConflictError as err:
        raise _conflict(err) from None


@router.get("/train/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})  # fmt: skip
async def events(request: Request, manager: RunManager = Depends(training)) -> StreamingResponse:
    """Server-sent events: ``state`` (the whole state: first, then after every change), ``progress`` (within
    an epoch) and ``point`` (the windowed training loss and the templates, several times an epoch).
    Messages are in the language asked for (``?lang=vi``: an EventSource cannot set headers)."""
    lang = request_lang(request)
    queue = manager.listen(lang)

    async def stream() -> AsyncIterator[str]:
        try:
            yield sse("state", manager.snapshot(lang))
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEP_ALIVE)
                except asyncio.TimeoutError:
                    message = ": keep-alive\n\n"
                if message is None:  # the server is shutting down, or this page fell behind
                    return
                yield message
        finally:
            manager.unlisten(queue)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})  # fmt: skip


@router.get("/runs")
async def runs(manager: RunManager = Depends(training)) -> dict[str, Any]:
    """The run folders of the runs directory that have a model, newest first, and which one is served."""
    listed = await asyncio.to_thread(list_runs, manager.runs_dir)
    return {"runs_dir": str(manager.runs_dir), "serving": manager.snapshot()["serving"], "runs": listed}


@router.post("/runs/serve", responses=error_responses(409))
async def serve(body: ServeRequest, manager: RunManager = Depends(training)) -> dict[str, Any]:
    """Predict with another run folder of the runs directory from now on."""
    try:
        return await manager.serve(body.run)
    except ConfigError as err:
        raise BadParameterError(str(err)) from None
    except TrainingConflictError as err:
        raise _conflict(err) from None
