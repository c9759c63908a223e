"""The hot routes, called without FastAPI's routing: ``POST /api/predict`` (image files),
``POST /api/predict/pixels`` and ``POST /v2/models/{name}/infer``.

FastAPI finds a request's route by trying each route's pattern in turn, then wraps the handler in its
dependency solving and response machinery: for a request whose prediction takes ~100 µs, that was
more than half of the time inside the app (``benchmarks/profile_serve.py``: ``GET /api/health``, a
handler that does nothing, cost the app ~60% of what a one-image prediction did).

`FastLane` sits just outside the router, inside every middleware and exception handler: the Host,
Origin and token checks, the body limit, the security headers and the errors' JSON are the same for
a request it takes. It takes only a request whose route is certain (the method and the exact path;
for ``/v2``, a model name of 1..255 characters with no ``/``); anything else goes on to the router,
which also answers what the fast lane never sees (a wrong method, an unknown path). The handlers are
the routers' own functions, which read their query and body themselves, so the OpenAPI document
describes both lanes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

V2_PREFIX, V2_SUFFIX = "/v2/models/", "/infer"


class FastLane:
    """ASGI: ``POST`` to an exact hot path goes straight to its handler; the rest to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        exact: dict[str, Callable[[Request], Awaitable[Response]]],
        infer: Callable[[str, Request], Awaitable[Response]],
    ) -> None:
        self.app = app
        self.exact = exact
        self.infer = infer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            handler = self.exact.get(path)
            if handler is not None:
                response = await handler(Request(scope, receive))
                await response(scope, receive, send)
                return
            if path.startswith(V2_PREFIX) and path.endswith(V2_SUFFIX):
                name = path[len(V2_PREFIX) : -len(V2_SUFFIX)]
                if 1 <= len(name) <= 255 and "/" not in name:
                    response = await self.infer(name, Request(scope, receive))
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> bool:
    """Put the fast lane in front of ``app``'s router; False (and the router alone) if this Starlette's
    router has no middleware stack to put it in."""
    from softmaxreg.serve.routers import predict, v2

    router: Any = app.router
    if not hasattr(router, "middleware_stack"):
        return False
    exact = {"/api/predict": predict.predict, "/api/predict/pixels": predict.predict_pixels}
    router.middleware_stack = FastLane(router.middleware_stack, exact, v2.infer)
    return True
