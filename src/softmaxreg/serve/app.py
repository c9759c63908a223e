"""`create_app`: the ASGI app serving one run folder.

Routers are mounted from `ROUTERS` (add one to add a concern); the run sits in a `ModelStore` on
``app.state.store`` that handlers reach through `softmaxreg.serve.dependencies`. Middleware, outermost
first: security headers on every response, the `Guard` (Host, Origin and token checks, before any
handler), CORS only when origins are given (never on the training routes), the body limit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from softmaxreg import __version__
from softmaxreg.serve import fastlane
from softmaxreg.serve.decoding import DecodeSlots
from softmaxreg.serve.errors import add_error_handlers
from softmaxreg.serve.middleware import MAX_BODY, BodyLimit, SecurityHeaders
from softmaxreg.serve.routers import health, model, pages, predict, testset, train, v2
from softmaxreg.serve.security import Access, Guard, is_training, new_token
from softmaxreg.serve.state import ModelStore, ServedRun, TestSet

ROUTERS: list[APIRouter] = [health.router, predict.router, model.router, testset.router, train.router, pages.router]
ROUTERS.insert(0, v2.router)  # the Open Inference Protocol under /v2: matched first, its routes are the hot ones
SETTINGS_ENV = "SOFTMAXREG_SERVE_SETTINGS"  # how `--workers N` hands the settings to each worker process


def create_app(
    run: ServedRun | str | os.PathLike[str] | None,
    *,
    lang: str = "en",
    data_dir: str | None = None,
    cors: str | Sequence[str] | None = None,
    max_body: int = MAX_BODY,
    runs_dir: str | None = None,
    allowed_hosts: Sequence[str] = (),
    token: str | None = None,
    token_for_all: bool = False,
) -> FastAPI:
    """The app serving ``run``.

    Args:
        run: a loaded run, a run folder to load, or None to start without a model (``/api/health``
            answers; the model's endpoints answer 503 until a run is put in the store).
        lang: the page's default language, ``'en'`` or ``'vi'``.
        data_dir: where to look first for the Fashion-MNIST test set (never downloaded).
        cors: origins allowed to call the prediction API from their pages (no CORS headers when None);
            never ``*``, and never the training routes.
        max_body: the largest request body accepted, in bytes.
        runs_dir: allow training from the page into this folder (``--allow-training``); None: the
            training routes answer 403.
        allowed_hosts: names the ``Host`` header may carry besides the loopback ones.
        token: the token of the training routes (of every route with ``token_for_all``); made here
            when training is on and none is given (``app.state.access.token``).
        token_for_all: the token for every route but the static files and ``/api/health``.

    Raises:
        ConfigError, CheckpointError: ``run`` is not a usable run folder, or a setting is refused
            (``cors='*'``, a short token).
    """
    origins = [cors] if isinstance(cors, str) else list(cors or ())
    if token is None and (runs_dir is not None or token_for_all):
        token = new_token()
    access = Access.build(allowed_hosts, token, token_for_all, origins)
    served = run if isinstance(run, ServedRun) or run is None else ServedRun.load(run)
    if data_dir is None and served is not None:
        data_dir = _run_data_dir(served.run_dir)
    app = FastAPI(title="softmaxreg", version=__version__, description=_DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")  # fmt: skip
    # swagger-ui-bundle ships Swagger UI 4, which refuses to render a document that says 3.1.0
    app.openapi_version = "3.0.3"
    app.state.access = access
    app.state.decoding = DecodeSlots()  # uploads decoded by pixels, large ones a few at a time
    app.state.store = ModelStore(served, TestSet.find(data_dir), lang)
    app.state.training = None if runs_dir is None else _run_manager(runs_dir, data_dir, app)
    for router in ROUTERS:
        app.include_router(router)
    fastlane.install(app)  # the hot routes, called without FastAPI's routing
    add_error_handlers(app)
    app.mount("/static", StaticFiles(packages=[("softmaxreg.serve", "static")]), name="static")
    app.mount("/docs/assets", StaticFiles(directory=_swagger_ui_dir()), name="swagger-ui")
    app.add_middleware(BodyLimit, max_bytes=max_body)
    if access.cors:
        app.add_middleware(_CorsOutsideTraining, origins=list(access.cors))
    app.add_middleware(Guard, access=access)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so every response gets the headers
    return app


class _CorsOutsideTraining:
    """Starlette's CORS for every route but the training ones (whose pages are the server's own only)."""

    def __init__(self, app: Any, origins: list[str]) -> None:
        from starlette.middleware.cors import CORSMiddleware

        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=["GET", "POST"],
                                   allow_headers=["content-type", "authorization"])  # fmt: skip

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        inner = self.app if scope["type"] == "http" and is_training(scope["path"]) else self.cors
        await inner(scope, receive, send)


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
    from softmaxreg.serve.server import settle_heap

    one_thread_per_process()
    settings = json.loads(os.environ[SETTINGS_ENV])
    app = create_app(settings.pop("run"), **settings)
    settle_heap()
    return app
