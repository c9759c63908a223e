"""``GET /``: the page, and ``GET /docs``: Swagger UI served from the package, with no CDN."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
STATIC = resources.files("softmaxreg.serve") / "static"


def _page(name: str) -> HTMLResponse:
    return HTMLResponse((STATIC / name).read_text(encoding="utf-8"), headers={"cache-control": "no-cache"})


@router.get("/")
async def index() -> HTMLResponse:
    return _page("index.html")


@router.get("/docs")
async def docs() -> HTMLResponse:
    return _page("docs.html")
