"""``POST /api/predict`` (image files) and ``POST /api/predict/pixels`` (a drawn 28×28 array).

Both prepare images as ``softmaxreg predict`` does and build each result with the same function
(`softmaxreg.runs.inference.classify`), so a result equals what ``predict --json`` prints.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from softmaxreg.runs.images import prepare_image_bytes
from softmaxreg.runs.inference import classify
from softmaxreg.serve.dependencies import current_run
from softmaxreg.serve.errors import BadInputError, shorten
from softmaxreg.serve.multipart import MAX_PARTS, TooManyPartsError, boundary, read_parts
from softmaxreg.serve.schemas import Pixels, PixelsQuery, PredictQuery, Results, error_responses, query_parameters
from softmaxreg.serve.state import ServedRun

router = APIRouter(prefix="/api", tags=["predict"], responses=error_responses(400, 413, 415, 422, 503))
MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": 1,
                            "maxItems": MAX_PARTS,
                        }
                    },
                }
            }
        },
    }
}


async def _uploads(request: Request) -> list[tuple[str, bytes]]:
    """``(file name, bytes)`` of every field named ``file``, read into memory (never onto disk)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        got = shorten(content_type) or "no content type"
        raise HTTPException(415, f"Expected multipart/form-data with fields named `file`; got {got!r}. "
                            "E.g. curl -F file=@shoe.jpg URL.")  # fmt: skip
    try:
        parts = read_parts(await request.body(), boundary(content_type))
    except TooManyPartsError:
        message = f"Expected at most {MAX_PARTS} files in one request; got more. Send them in several requests."
        raise BadInputError(message) from None
    fields = [part for part in parts if part.name == "file"]
    if not fields:
        raise BadInputError("Expected at least one form field named `file` holding an image; got none.")
    if any(part.filename is None for part in fields):
        raise BadInputError("Expected each `file` field to be a file upload; got a plain text field.")
    return [(_one_line(part.filename or "upload"), part.data) for part in fields]


def _one_line(name: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in name)[:200]


def _results(run: ServedRun, images: list[tuple[str, np.ndarray, bool]], k: int, lang: str | None,
             explain: bool) -> JSONResponse:  # fmt: skip
    """The `Results` document, sent as it is: validating what `classify` built against its own schema
    cost more than the prediction (tests check every response against `Results` instead)."""
    results = classify(run.scorer, images, run.class_names(lang), k)
    if explain:
        for result, (_, pixels, _) in zip(results, images):
            result.update(run.explain(pixels))
    return JSONResponse({"results": results})


@router.post("/predict", response_model=Results,
             openapi_extra={**MULTIPART_BODY, "parameters": query_parameters(PredictQuery)})  # fmt: skip
async def predict(request: Request, run: ServedRun = Depends(current_run)) -> JSONResponse:
    """Classify one or more image files (fields named `file`), as `softmaxreg predict --json` does.

    The hot path of the API: it reads its query with `PredictQuery` itself, because FastAPI's
    per-parameter validation cost as much as the HTTP round trip of ``/api/health`` (measured with
    ``benchmarks/bench_serve.py``); the parameters are documented the same, errors are the same 422s.
    """
    query = _query(request)
    uploads = await _uploads(request)

    def prepare() -> list[tuple[str, np.ndarray, bool]]:
        return [(name, *prepare_image_bytes(data, name, query.invert, run.input_size)) for name, data in uploads]

    images = await request.app.state.decoding.run(uploads, prepare)  # by pixels: large ones on a few threads
    return _results(run, images, query.top_k, query.lang, query.explain)


def _query(request: Request) -> PredictQuery:
    """The query as a `PredictQuery`; a `RequestValidationError` (422, as FastAPI's own) if a value is bad."""
    if not request.scope["query_string"]:
        return _DEFAULT_QUERY
    try:
        return PredictQuery.model_validate(dict(request.query_params))
    except ValidationError as err:
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in err.errors()]) from None


_DEFAULT_QUERY = PredictQuery()


async def _require_json(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        got = shorten(content_type) or "no content type"
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


@router.post("/predict/pixels", response_model=Results, dependencies=[Depends(_require_json)])
async def predict_pixels(
    body: Pixels,
    query: Annotated[PixelsQuery, Query()],
    run: ServedRun = Depends(current_run),
) -> JSONResponse:
    """Classify a drawn image, 28×28 numbers in [0, 1], light on black; with the scores and maps the page draws."""
    pixels = _to_uint8(body.pixels, run.input_size)
    return _results(run, [("pixels", pixels, False)], query.top_k, query.lang, explain=True)
