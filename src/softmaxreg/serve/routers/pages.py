"""``GET /``: the page, and ``GET /docs``: Swagger UI served from the package, with no CDN."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from softmaxreg.serve.security import authorized

router = APIRouter(include_in_schema=False)
STATIC = resources.files("softmaxreg.serve") / "static"


def _page(name: str, body: str = "<body>") -> HTMLResponse:
    text = (STATIC / name).read_text(encoding="utf-8").replace("<body>", body, 1)
    return HTMLResponse(text, headers={"cache-control": "no-cache"})


@router.api_route("/", methods=["GET", "HEAD"])  # HEAD: link checkers, uptime monitors (uvicorn drops the body)
async def index(request: Request) -> HTMLResponse:
    # the Train panel shows only then, and asks nothing otherwise; without the token its requests would get 401
    training = request.app.state.training is not None and authorized(request)
    return _page("index.html", '<body data-training="on">' if training else "<body>")


@router.api_route("/docs", methods=["GET", "HEAD"])
async def docs() -> HTMLResponse:
    return _page("docs.html")
