"""``/api/testset``: the 10,000 test images, the model's predictions of them and their confusion matrix."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from softmaxreg.serve.dependencies import current_run, test_set
from softmaxreg.serve.errors import BadInputError, BadParameterError
from softmaxreg.serve.schemas import TestCell, TestImage, TestSetInfo, error_responses
from softmaxreg.serve.state import ServedRun, TestSet

router = APIRouter(prefix="/api/testset", tags=["test set"], responses=error_responses(422, 503))


def _label(what: str) -> object:
    # one object per parameter: FastAPI keeps per-parameter state in it (two sharing one read the same value)
    return Path(ge=0, le=9, description=f"{what} class index, 0..9")


def _checked_index(index: int, test: TestSet) -> int:
    if index >= len(test.labels):  # type: ignore[arg-type]
        last = len(test.labels) - 1  # type: ignore[arg-type]
        raise BadParameterError(f"`index` must be a test image index, 0..{last}; got {index}.")
    return index


@router.get("", response_model=TestSetInfo)
async def info(run: ServedRun = Depends(current_run), test: TestSet = Depends(test_set)) -> dict[str, Any]:
    """Accuracy and confusion matrix (rows: true class, columns: predicted) on the test set."""
    predicted, _ = run.test_predictions(test)
    num_classes = len(run.templates)
    cm = np.bincount(test.labels * num_classes + predicted, minlength=num_classes**2).reshape(num_classes, -1)
    accuracy = float((predicted == test.labels).mean())
    return {"size": len(predicted), "accuracy": accuracy, "confusion_matrix": cm.tolist()}


def _image(index: int, run: ServedRun, test: TestSet) -> dict[str, Any]:
    predicted, confidence = run.test_predictions(test)
    return {"index": index, "label": int(test.labels[index]), "predicted": int(predicted[index]),  # type: ignore[index]
            "confidence": float(confidence[index]), "pixels": test.images[index].tolist()}  # fmt: skip


@router.get("/random", response_model=TestImage)
async def random_image(
    mistake: bool = Query(False, description="only among the images the model gets wrong"),
    run: ServedRun = Depends(current_run),
    test: TestSet = Depends(test_set),
) -> dict[str, Any]:
    """A random test image (or a random mistake) with the model's prediction."""
    predicted, _ = run.test_predictions(test)
    pool = np.flatnonzero(predicted != test.labels) if mistake else np.arange(len(predicted))
    if len(pool) == 0:
        raise BadInputError("The model makes no mistake on the test set; there is none to show.")
    return _image(int(np.random.default_rng().choice(pool)), run, test)


@router.get("/images/{index}.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
async def image_png(
    index: int = Path(ge=0, description="a test image, 0..9999", json_schema_extra={"maximum": 9999}),
    test: TestSet = Depends(test_set),
) -> Response:
    """Test image ``index`` as a 28×28 grey PNG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(test.images[_checked_index(index, test)]).save(buffer, format="PNG")  # type: ignore[index]
    return Response(buffer.getvalue(), media_type="image/png", headers={"cache-control": "max-age=3600"})


@router.get("/images/{index}", response_model=TestImage)
async def image(
    index: int = Path(ge=0, description="a test image, 0..9999", json_schema_extra={"maximum": 9999}),
    run: ServedRun = Depends(current_run),
    test: TestSet = Depends(test_set),
) -> dict[str, Any]:
    """Test image ``index``: its pixels, true class and the model's prediction."""
    return _image(_checked_index(index, test), run, test)


@router.get("/confusion/{label}/{predicted}", response_model=TestCell)
async def cell(
    label: int = _label("true"),
    predicted: int = _label("predicted"),
    limit: int = Query(48, ge=1, le=500, description="at most this many indices"),
    run: ServedRun = Depends(current_run),
    test: TestSet = Depends(test_set),
) -> dict[str, Any]:
    """The test images of one confusion-matrix cell: true class ``label``, predicted ``predicted``."""
    predictions, _ = run.test_predictions(test)
    indices = np.flatnonzero((test.labels == label) & (predictions == predicted))
    return {"label": label, "predicted": predicted, "count": len(indices), "indices": indices[:limit].tolist()}
