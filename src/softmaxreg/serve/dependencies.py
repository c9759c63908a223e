"""What handlers ask for with ``Depends``: the app's store, the current run, the test set."""

from __future__ import annotations

from fastapi import Request

from softmaxreg.serve.state import ModelStore, ServedRun, TestSet


def store(request: Request) -> ModelStore:
    """The app's `ModelStore` (set by `create_app`)."""
    return request.app.state.store


def current_run(request: Request) -> ServedRun:
    """The run served now; a `NoModelError` (503) when there is none."""
    return store(request).run


def test_set(request: Request) -> TestSet:
    """The test set; a `NoTestSetError` (503) when the server has none."""
    return store(request).test_set.require()
