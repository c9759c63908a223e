"""``POST /api/predict`` (image files), ``/api/predict/pixels`` (pixel arrays) and ``/api/predict/features``
(table rows).

They prepare inputs as the run was trained (`softmaxreg.serve.inputs`) and build each result with the
same function (`softmaxreg.runs.inference.classify`), so a result equals what ``predict --json`` prints.

The JSON routes read their bodies themselves (``json.loads`` into numpy, checked with numpy): a
Pydantic ``list[list[float]]`` of 784 numbers cost more than the prediction. Their bodies are
documented in ``/openapi.json`` by models used for the documentation only (`PixelsBody`, `FeaturesBody`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from softmaxreg.runs.inference import classify
from softmaxreg.serve.errors import BadInputError, shorten
from softmaxreg.serve.inputs import fast_pixel_images, feature_rows, pixel_images, prepare_upload
from softmaxreg.serve.multipart import MAX_PARTS, TooManyPartsError, boundary, read_parts
from softmaxreg.serve.schemas import (
    FeaturesBody,
    FeaturesQuery,
    PixelsBody,
    PixelsQuery,
    PredictQuery,
    Results,
    error_responses,
    json_body,
    query_parameters,
)
from softmaxreg.serve.state import ServedRun

try:  # 3-5x faster than json for arrays of numbers; optional
    from orjson import dumps as json_dumps
    from orjson import loads as json_loads
except ImportError:  # pragma: no cover
    import json
    from json import loads as json_loads

    def json_dumps(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


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
             explain: bool) -> Response:  # fmt: skip
    """The `Results` document, sent as it is: validating what `classify` built against its own schema
    cost more than the prediction (tests check every response against `Results` instead)."""
    results = classify(run.scorer, images, run.class_names(lang), min(k, run.num_classes))
    if explain:
        for result, (_, pixels, _) in zip(results, images, strict=True):
            result.update(run.explain(pixels))
    return _json_response({"results": results})


def _json_response(document: Any) -> Response:
    return Response(json_dumps(document), media_type="application/json")


def _ranked(logits: np.ndarray, names: tuple[str, ...], k: int, labels: list[str]) -> list[dict[str, Any]]:
    """`classify`'s results for a batch of ``(N, K)`` logits, computed with numpy at once (the same
    probabilities: a float64 softmax of the float32 logits, rounded to 6 decimals; ties by label)."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    order = np.argsort(-z, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(z, order, axis=1).tolist()
    return [
        {"image": label, "inverted": False,
         "top_k": [{"label": c, "class": names[c], "probability": round(p, 6)} for c, p in zip(cs, ps, strict=True)]}
        for label, cs, ps in zip(labels, order.tolist(), top, strict=True)
    ]  # fmt: skip


@router.post("/predict", response_model=Results,
             openapi_extra={**MULTIPART_BODY, "parameters": query_parameters(PredictQuery)})  # fmt: skip
async def predict(request: Request) -> Response:
    """Classify one or more image files (fields named `file`), as `softmaxreg predict --json` does.

    The hot path of the API: it reads its query with `PredictQuery` itself, because FastAPI's
    per-parameter validation cost as much as the HTTP round trip of ``/api/health`` (measured with
    ``benchmarks/bench_serve.py``); the parameters are documented the same, errors are the same 422s.
    """
    run: ServedRun = request.app.state.store.run  # not a dependency: the fast lane calls this handler too
    query = _query(request)
    uploads = await _uploads(request)

    def prepare() -> list[tuple[str, np.ndarray, bool]]:
        return [(name, *prepare_upload(run, data, name, query.invert)) for name, data in uploads]

    images = await request.app.state.decoding.run(uploads, prepare)  # by pixels: large ones on a few threads
    return _results(run, images, query.top_k, query.lang, query.explain)


def _query(request: Request, model: type[PixelsQuery] = PredictQuery) -> Any:
    """The query as a ``model``; a `RequestValidationError` (422, as FastAPI's own) if a value is bad."""
    if not request.scope["query_string"]:
        return _DEFAULT_QUERIES[model]
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as err:
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in err.errors()]) from None


_DEFAULT_QUERIES: dict[type, PixelsQuery] = {m: m() for m in (PredictQuery, PixelsQuery, FeaturesQuery)}


def _require_json(request: Request, example: str) -> None:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        got = shorten(content_type) or "no content type"
        raise HTTPException(415, f"Expected application/json with {example}; got {got!r}.")


async def _json_field(request: Request, key: str, example: str) -> Any:
    """``body[key]`` of a JSON object body; a 400 naming what is wrong otherwise."""
    _require_json(request, example)
    return _field(await request.body(), key, example)


def _field(raw: bytes, key: str, example: str) -> Any:
    try:
        body = json_loads(raw)
    except ValueError as err:
        raise BadInputError(f"Expected a JSON body; it does not parse ({' '.join(str(err).split())[:120]}).") from None
    if not isinstance(body, dict):
        raise BadInputError(f"Expected a JSON object, {example}; got a JSON {type(body).__name__}.")
    if key not in body:
        raise BadInputError(f"`{key}` is required: {example}. See /docs for the API.")
    return body[key]


@router.post("/predict/pixels", response_model=Results,
             openapi_extra={**json_body(PixelsBody), "parameters": query_parameters(PixelsQuery)})  # fmt: skip
async def predict_pixels(request: Request) -> Response:
    """Classify images given as pixels in [0, 1]: one image (`H` rows of `W` numbers; `[r, g, b]` triples for
    a colour run) or a batch of them (at most 256), answers in order. With `explain=true`, also the input,
    all scores and the maps w_c ⊙ x the page draws."""
    run: ServedRun = request.app.state.store.run  # not a dependency: FastAPI's solving cost ~10% of a request
    query: PixelsQuery = _query(request, PixelsQuery)
    example = '{"pixels": [[...], ...]}'
    _require_json(request, example)
    raw = await request.body()
    read = fast_pixel_images(run, raw)  # numbers straight into numpy, when the body's structure is proven
    images, batch = read if read is not None else pixel_images(run, _field(raw, "pixels", example))
    names = [f"pixels[{i}]" for i in range(len(images))] if batch else ["pixels"]
    if query.explain:
        return _results(run, [(n, image, False) for n, image in zip(names, images, strict=True)], query.top_k,
                        query.lang, explain=True)  # fmt: skip
    k = min(query.top_k, run.num_classes)
    return _json_response({"results": _ranked(run.scorer.logits(images), run.class_names(query.lang), k, names)})


@router.post("/predict/features", response_model=Results,
             openapi_extra={**json_body(FeaturesBody), "parameters": query_parameters(FeaturesQuery)})  # fmt: skip
async def predict_features(request: Request) -> Response:
    """Classify table rows of a run trained on features: `{"rows": [{"name": value, ...}, ...]}` or lists of
    values in the training column order; standardised with the training split's mean and std."""
    run: ServedRun = request.app.state.store.run
    query: FeaturesQuery = _query(request, FeaturesQuery)
    rows = feature_rows(run, await _json_field(request, "rows", '{"rows": [{"column": value, ...}, ...]}'))
    labels = [f"rows[{i}]" for i in range(len(rows))]
    k = min(query.top_k, run.num_classes)
    logits = run.logits(rows)
    results = _ranked(logits, run.class_names(query.lang), k, labels)
    if query.explain:
        for result, row in zip(results, rows, strict=True):
            result.update(run.explain_row(row))
    return _json_response({"results": results})
