"""What handlers ask for with ``Depends``: the app's store, the current run, the test set.

They are ``async`` although they never wait: FastAPI runs a plain ``def`` dependency on a worker
thread, a hop that cost more than the whole prediction of a 28×28 image.
"""

from __future__ import annotations

import asyncio

from fastapi import Request

from softmaxreg.serve.state import ModelStore, ServedRun, TestSet


async def store(request: Request) -> ModelStore:
    """The app's `ModelStore` (set by `create_app`)."""
    return request.app.state.store


async def current_run(request: Request) -> ServedRun:
    """The run served now; a `NoModelError` (503) when there is none."""
    return request.app.state.store.run


async def test_set(request: Request) -> TestSet:
    """The test set of the run served; a `NoTestSetError` (503) when the server has none for it."""
    models: ModelStore = request.app.state.store
    run = models.run if models.has_run else None
    if run is None or run.is_fashion_mnist():
        return models.test_set_of(run)
    return await asyncio.to_thread(models.test_set_of, run)  # a run's own split is read from disk the first time
