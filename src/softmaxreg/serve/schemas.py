"""The API's JSON bodies. They are the contract documented at ``/openapi.json``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """Every error: one line saying what was expected, what came, and what to do."""

    error: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for our errors (FastAPI would otherwise document its own 422 body)."""
    return {status: {"model": ErrorBody, "description": ERROR_MEANINGS[status]} for status in statuses}


ERROR_MEANINGS = {
    400: "not an image, a damaged or truncated image, a decompression bomb, a malformed pixel array or body",
    413: "request body over the limit (10 MB by default)",
    415: "wrong content type",
    422: "bad parameter",
    503: "no model loaded, or no test set on the server",
}


class Health(BaseModel):
    status: Literal["ok"]
    run: str | None = Field(description="the run folder being served")
    model_epoch: int | None = Field(description="the epoch whose model is served")
    val_acc: float | None = Field(description="the run's last validation (test-set) accuracy")


class TopClass(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    label: int = Field(description="class index, 0..9")
    class_: str = Field(alias="class", description="class name in the language asked for")
    probability: float


class Result(BaseModel):
    """One image's prediction: exactly what ``softmaxreg predict --json`` prints for it.

    With ``explain=true`` (always for ``/api/predict/pixels``) it also holds what the page draws.
    """

    image: str = Field(description="the uploaded file's name")
    inverted: bool = Field(description="whether the image was inverted to light-on-dark")
    top_k: list[TopClass]
    input: list[list[int]] | None = Field(None, description="the 28×28 image the model saw, 0..255")
    logits: list[float] | None = Field(None, description="all class scores w_c · x + b_c")
    probabilities: list[float] | None = Field(None, description="softmax of the logits, all classes")
    contributions: list[list[list[float]]] | None = Field(
        None, description="per class, the 28×28 map w_c ⊙ x (its sum plus b_c is the class's logit)"
    )


class Results(BaseModel):
    results: list[Result] = Field(description="one per file, in the order sent")


class PixelsQuery(BaseModel):
    """The query parameters of ``POST /api/predict/pixels``."""

    top_k: int = Field(3, ge=1, le=10, description="classes per image, most probable first")
    lang: Literal["en", "vi"] | None = Field(None, description="language of class names (default: the run's)")


class PredictQuery(PixelsQuery):
    """The query parameters of ``POST /api/predict``, read by the handler itself (see `query_parameters`)."""

    invert: Literal["auto", "yes", "no"] = Field(
        "auto", description="make the image light-on-dark: auto (when its border is light), yes, no"
    )
    explain: bool = Field(False, description="also return the 28×28 input, all logits and the maps w_c ⊙ x")


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI entries for query parameters validated with ``model`` inside a handler."""
    schema = model.model_json_schema()
    return [
        {"name": name, "in": "query", "required": False, "description": field.pop("description", ""), "schema": field}
        for name, field in schema["properties"].items()
    ]


class Pixels(BaseModel):
    pixels: list[list[float]] = Field(
        description="28 rows of 28 numbers in [0, 1]: a light object on black, as in Fashion-MNIST"
    )


class ModelInfo(BaseModel):
    run: str
    model: str | None
    model_epoch: int | None
    input_shape: list[int]
    lang: str = Field(description="the page's default language")
    classes: dict[str, list[str]] = Field(description="class names by language")
    templates: list[list[list[float]]] = Field(description="per class, its weights w_c as a 28×28 image")
    biases: list[float]


class RunSummary(BaseModel):
    run: str
    summary: dict[str, float | int | None] = Field(description="summary of metrics.csv: epochs, val_acc, best epoch...")
    test_accuracy: float | None = Field(description="accuracy on the 10,000 test images, when the server has them")
    history: list[dict[str, float]] = Field(description="metrics.csv: one row per epoch")
    train_points: list[list[float]] = Field(
        default_factory=list, description="the training loss as [epoch, loss] points, several per epoch (may be empty)"
    )


class TestSetInfo(BaseModel):
    size: int
    accuracy: float
    confusion_matrix: list[list[int]] = Field(description="rows: true class; columns: predicted class")


class TestImage(BaseModel):
    index: int
    label: int
    predicted: int
    confidence: float = Field(description="the predicted class's probability")
    pixels: list[list[int]]


class TestCell(BaseModel):
    label: int
    predicted: int
    count: int
    indices: list[int] = Field(description="the first test images of this cell (at most `limit`)")
