"""``POST /api/predict`` (image files) and ``POST /api/predict/pixels`` (a drawn 28×28 array).

Both prepare images as ``softmaxreg predict`` does and build each result with the same function
(`softmaxreg.runs.inference.classify`), so a result equals what ``predict --json`` prints.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser

from softmaxreg.runs.images import prepare_image_bytes
from softmaxreg.runs.inference import classify
from softmaxreg.serve.dependencies import current_run
from softmaxreg.serve.errors import BadInputError
from softmaxreg.serve.middleware import MAX_BODY
from softmaxreg.serve.schemas import Pixels, Results, error_responses
from softmaxreg.serve.state import ServedRun

router = APIRouter(prefix="/api", tags=["predict"], responses=error_responses(400, 413, 415, 422, 503))
MAX_FILES = 64
BIG_UPLOAD = 256 * 1024  # decode larger uploads (photos) on a worker thread so small requests keep flowing
MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                }
            }
        },
    }
}
TopK = Query(3, ge=1, le=10, description="classes per image, most probable first")
Lang = Query(None, description="language of class names (default: the run's)")
Invert = Query("auto", description="make the image light-on-dark: auto (when its border is light), yes, no")


class _InMemoryParser(MultiPartParser):
    spool_max_size = MAX_BODY + 1  # uploads stay in memory, never on disk: the body limit bounds them


async def _uploads(request: Request) -> list[tuple[str, bytes]]:
    """``(file name, bytes)`` of every field named ``file``, read into memory."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        got = content_type or "no content type"
        raise HTTPException(415, f"Expected multipart/form-data with fields named `file`; got {got!r}. "
                            "E.g. curl -F file=@shoe.jpg URL.")  # fmt: skip
    form = await _InMemoryParser(request.headers, request.stream(), max_files=MAX_FILES, max_fields=MAX_FILES).parse()
    try:
        fields = form.getlist("file")
        if not fields:
            raise BadInputError("Expected at least one form field named `file` holding an image; got none.")
        if any(not isinstance(f, UploadFile) for f in fields):
            raise BadInputError("Expected each `file` field to be a file upload; got a plain text field.")
        return [(_one_line(f.filename or "upload"), await f.read()) for f in fields]  # type: ignore[union-attr]
    finally:
        await form.close()


def _one_line(name: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in name)[:200]


def _results(run: ServedRun, images: list[tuple[str, np.ndarray, bool]], k: int, lang: str | None,
             explain: bool) -> dict[str, Any]:  # fmt: skip
    results = classify(run.model, images, run.class_names(lang), k)
    if explain:
        for result, (_, pixels, _) in zip(results, images):
            result.update(run.explain(pixels))
    return {"results": results}


@router.post("/predict", response_model=Results, response_model_exclude_none=True,
             openapi_extra=MULTIPART_BODY)  # fmt: skip
async def predict(
    request: Request,
    top_k: int = TopK,
    invert: Literal["auto", "yes", "no"] = Invert,
    lang: Literal["en", "vi"] | None = Lang,
    explain: bool = Query(False, description="also return the 28×28 input, all logits and the maps w_c ⊙ x"),
    run: ServedRun = Depends(current_run),
) -> dict[str, Any]:
    """Classify one or more image files (fields named `file`), as `softmaxreg predict --json` does."""
    uploads = await _uploads(request)

    def prepare() -> list[tuple[str, np.ndarray, bool]]:
        return [(name, *prepare_image_bytes(data, name, invert, run.input_size)) for name, data in uploads]

    big = sum(len(data) for _, data in uploads) > BIG_UPLOAD
    images = await run_in_threadpool(prepare) if big else prepare()
    return _results(run, images, top_k, lang, explain)


async def _require_json(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        got = content_type or "no content type"
        raise HTTPException(415, f'Expected application/json with {{"pixels": [[...], ...]}}; got {got!r}.')


def _to_uint8(rows: list[list[float]], size: tuple[int, int]) -> np.ndarray:
    """Pixels in [0, 1] as the 8-bit image the model takes (Fashion-MNIST's own precision)."""
    height, width = size
    widths = sorted({len(row) for row in rows})
    if len(rows) != height or widths != [width]:
        got = f"{len(rows)} row{'s' if len(rows) != 1 else ''} of {'/'.join(map(str, widths[:4])) or 0} numbers"
        raise BadInputError(f"Expected `pixels` to hold {height} rows of {width} numbers; got {got}.")
    x = np.asarray(rows, dtype=np.float64)  # (H, W)
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        bad = x[~(np.isfinite(x) & (x >= 0) & (x <= 1))][0]
        raise BadInputError(f"Expected every pixel in [0, 1] (0 black, 1 white); got {bad}.")
    return np.rint(x * 255).astype(np.uint8)


@router.post("/predict/pixels", response_model=Results, response_model_exclude_none=True,
             dependencies=[Depends(_require_json)])  # fmt: skip
async def predict_pixels(
    body: Pixels,
    top_k: int = TopK,
    lang: Literal["en", "vi"] | None = Lang,
    run: ServedRun = Depends(current_run),
) -> dict[str, Any]:
    """Classify a drawn image, 28×28 numbers in [0, 1], light on black; with the scores and maps the page draws."""
    return _results(run, [("pixels", _to_uint8(body.pixels, run.input_size), False)], top_k, lang, explain=True)
