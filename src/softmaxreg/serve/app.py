"""`create_app`: the ASGI app serving one run folder.

Routers are mounted from `ROUTERS` (add one to add a concern); the run sits in a `ModelStore` on
``app.state.store`` that handlers reach through `softmaxreg.serve.dependencies`. Middleware, outermost
first: security headers on every response, CORS only when an origin is given, the body limit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from softmaxreg import __version__
from softmaxreg.serve.errors import add_error_handlers
from softmaxreg.serve.middleware import MAX_BODY, BodyLimit, SecurityHeaders
from softmaxreg.serve.routers import health, model, pages, predict, testset, train, v2
from softmaxreg.serve.state import ModelStore, ServedRun, TestSet

ROUTERS: list[APIRouter] = [health.router, predict.router, model.router, testset.router, train.router, pages.router]
ROUTERS.insert(0, v2.router)  # the Open Inference Protocol under /v2: matched first, its routes are the hot ones
SETTINGS_ENV = "SOFTMAXREG_SERVE_SETTINGS"  # how `--workers N` hands the settings to each worker process


def create_app(
    run: ServedRun | str | os.PathLike[str] | None,
    *,
    lang: str = "en",
    data_dir: str | None = None,
    cors: str | None = None,
    max_body: int = MAX_BODY,
    runs_dir: str | None = None,
) -> FastAPI:
    """The app serving ``run``.

    Args:
        run: a loaded run, a run folder to load, or None to start without a model (``/api/health``
            answers; the model's endpoints answer 503 until a run is put in the store).
        lang: the page's default language, ``'en'`` or ``'vi'``.
        data_dir: where to look first for the Fashion-MNIST test set (never downloaded).
        cors: an origin allowed to call the API from its pages (no CORS headers when None).
        max_body: the largest request body accepted, in bytes.
        runs_dir: allow training from the page into this folder (``--allow-training``); None: the
            training routes answer 403.

    Raises:
        ConfigError, CheckpointError: ``run`` is not a usable run folder.
    """
    served = run if isinstance(run, ServedRun) or run is None else ServedRun.load(run)
    if data_dir is None and served is not None:
        data_dir = _run_data_dir(served.run_dir)
    app = FastAPI(title="softmaxreg", version=__version__, description=_DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")  # fmt: skip
    # swagger-ui-bundle ships Swagger UI 4, which refuses to render a document that says 3.1.0
    app.openapi_version = "3.0.3"
    app.state.store = ModelStore(served, TestSet.find(data_dir), lang)
    app.state.training = None if runs_dir is None else _run_manager(runs_dir, data_dir, app)
    for router in ROUTERS:
        app.include_router(router)
    add_error_handlers(app)
    app.mount("/static", StaticFiles(packages=[("softmaxreg.serve", "static")]), name="static")
    app.mount("/docs/assets", StaticFiles(directory=_swagger_ui_dir()), name="swagger-ui")
    app.add_middleware(BodyLimit, max_bytes=max_body)
    if cors:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=[cors], allow_methods=["GET", "POST"], allow_headers=["*"])
    app.add_middleware(SecurityHeaders)  # added last: outermost, so every response gets the headers
    return app


_DESCRIPTION = (
    "Softmax regression on Fashion-MNIST: classify images with a trained run. Errors are "
    '`{"error": "<one line>"}` with status 400 (bad image or body), 413 (body too large), '
    "415 (wrong content type) or 422 (bad parameter)."
)


def _run_data_dir(run_dir: Path) -> str | None:
    """The ``--data-dir`` the run was trained with, where ``evaluate`` looks first too."""
    from softmaxreg.runs import folder

    return folder.read_config(run_dir).get("data_dir")


def _run_manager(runs_dir: str, data_dir: str | None, app: FastAPI) -> Any:
    from softmaxreg.serve.training import RunManager

    manager = RunManager(runs_dir, data_dir, app.state.store)
    app.state.stopping = manager.close_streams  # called by the server on Ctrl-C or SIGTERM
    app.router.add_event_handler("shutdown", manager.shutdown)  # a run stops as on Ctrl-C, its folder resumable
    return manager


def _swagger_ui_dir() -> str:
    from swagger_ui_bundle import swagger_ui_path

    return str(swagger_ui_path)


def settings_to_env(**settings: Any) -> dict[str, str]:
    """`create_app`'s keyword arguments (and ``run``, a path) for `app_from_env` in a worker process."""
    return {SETTINGS_ENV: json.dumps(settings)}


def one_thread_per_process() -> None:
    """Run torch on the serving thread only: one image's inference gains nothing from a thread pool, whose
    idle threads spin and take the cores from the HTTP work (measured: about 2× fewer requests/s)."""
    import torch

    torch.set_num_threads(1)


def app_from_env() -> FastAPI:
    """The app that `settings_to_env` describes: uvicorn's factory for ``--workers N``."""
    one_thread_per_process()
    settings = json.loads(os.environ[SETTINGS_ENV])
    return create_app(settings.pop("run"), **settings)
