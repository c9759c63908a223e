"""``/api/testset``: the served run's test split, the model's predictions of it and their confusion matrix.

Fashion-MNIST's 10,000 images for a run trained on it; otherwise the run's own test split (the files or
rows its run folder records), grey or colour images, or rows of named features.
"""

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
    return Path(ge=0, description=f"{what} class index, 0..K-1 (K: the run's classes, 10 for Fashion-MNIST)")


def _checked_index(index: int, test: TestSet) -> int:
    if index >= len(test.labels):  # type: ignore[arg-type]
        last = len(test.labels) - 1  # type: ignore[arg-type]
        noun = "row" if test.is_features else "image"
        raise BadParameterError(f"`index` must be a test {noun} index, 0..{last}; got {index}.")
    return index


def _checked_class(name: str, value: int, run: ServedRun) -> int:
    if value >= run.num_classes:
        raise BadParameterError(f"`{name}` must be a class index, 0..{run.num_classes - 1}; got {value}.")
    return value


def _channels_last(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` grey as it is, ``(3, H, W)`` colour as ``(H, W, 3)``: how PNGs and `/api/predict/pixels` hold it."""
    return image.transpose(1, 2, 0) if image.ndim == 3 else image


_INDEX = "a test example, 0..N-1 (N: `GET /api/testset`'s `size`, 10,000 for Fashion-MNIST)"


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
    example = test.examples[index]  # type: ignore[index]
    found = {"index": index, "label": int(test.labels[index]), "predicted": int(predicted[index]),  # type: ignore[index]
             "confidence": float(confidence[index])}  # fmt: skip
    if test.is_features:  # raw values by name, as `POST /api/predict/features` takes a row (float32's shortest digits)
        return found | {"features": {name: float(str(v)) for name, v in zip(test.feature_names, example, strict=True)}}
    return found | {"pixels": _channels_last(example).tolist()}


@router.get("/random", response_model=TestImage, response_model_exclude_none=True)
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
    index: int = Path(ge=0, description=_INDEX),
    test: TestSet = Depends(test_set),
) -> Response:
    """Test image ``index`` as a PNG of the run's size, grey or colour (28×28 grey for Fashion-MNIST)."""
    from PIL import Image

    example = test.examples[_checked_index(index, test)]  # type: ignore[index]
    if test.is_features:
        raise BadInputError(f"Test row {index} is a row of features, not an image: GET /api/testset/images/{index}.")
    buffer = io.BytesIO()
    Image.fromarray(_channels_last(example)).save(buffer, format="PNG")
    return Response(buffer.getvalue(), media_type="image/png", headers={"cache-control": "max-age=3600"})


@router.get("/images/{index}", response_model=TestImage, response_model_exclude_none=True)
async def image(
    index: int = Path(ge=0, description=_INDEX),
    run: ServedRun = Depends(current_run),
    test: TestSet = Depends(test_set),
) -> dict[str, Any]:
    """Test example ``index``: its pixels (or a feature run's values by name), true class and the model's prediction."""
    return _image(_checked_index(index, test), run, test)


@router.get("/confusion/{label}/{predicted}", response_model=TestCell)
async def cell(
    label: int = _label("true"),
    predicted: int = _label("predicted"),
    limit: int = Query(48, ge=1, le=500, description="at most this many indices"),
    run: ServedRun = Depends(current_run),
    test: TestSet = Depends(test_set),
) -> dict[str, Any]:
    """The test examples of one confusion-matrix cell: true class ``label``, predicted ``predicted``."""
    _checked_class("label", label, run)
    _checked_class("predicted", predicted, run)
    predictions, _ = run.test_predictions(test)
    indices = np.flatnonzero((test.labels == label) & (predictions == predicted))
    return {"label": label, "predicted": predicted, "count": len(indices), "indices": indices[:limit].tolist()}
