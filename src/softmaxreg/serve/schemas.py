"""The API's JSON bodies. They are the contract documented at ``/openapi.json``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """Every error: one line saying what was expected, what came, and what to do."""

    error: str


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for our errors (FastAPI would otherwise document its own 422 body)."""
    return {status: {"model": ErrorBody, "description": ERROR_MEANINGS[status]} for status in statuses}


ERROR_MEANINGS = {
    400: "not an image, a damaged or truncated image, an image of more than 16,000,000 pixels, a malformed pixel "
    "array or body",
    401: "this route needs the server's token (Authorization: Bearer TOKEN, or the page's cookie)",
    403: "a wrong token, a Host that is not the server's, a page of another origin, or training is off",
    404: "no such model (the Open Inference Protocol: the served run folder's name)",
    409: "a run is training already (start, serve it), or none is (stop)",
    413: "request body over the limit (10 MB by default)",
    415: "wrong content type",
    422: "bad parameter",
    503: "no model loaded, no test set on the server, or too many large images being decoded (see Retry-After)",
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
    """One image's (or table row's) prediction: exactly what ``softmaxreg predict --json`` prints for it.

    With ``explain=true`` it also holds what the page draws.
    """

    image: str = Field(
        description="the uploaded file's name; `pixels` or `pixels[i]` for pixel arrays, `rows[i]` for table rows"
    )
    inverted: bool = Field(description="whether the image was inverted to light-on-dark")
    top_k: list[TopClass]
    input: list[Any] | None = Field(
        None,
        description="the image the model saw, 0..255: H×W (grey) or 3×H×W (colour; 28×28 for Fashion-MNIST); "
        "a row's standardised values (F)",
    )
    logits: list[float] | None = Field(None, description="all class scores w_c · x + b_c")
    probabilities: list[float] | None = Field(None, description="softmax of the logits, all classes")
    contributions: list[list[Any]] | None = Field(
        None, description="per class, the map w_c ⊙ x in the input's shape (its sum plus b_c is the class's logit)"
    )


class Results(BaseModel):
    results: list[Result] = Field(description="one per file, image or row, in the order sent")


class FeaturesQuery(BaseModel):
    """The query parameters of ``POST /api/predict/features``, read by the handler itself."""

    top_k: int = Field(3, ge=1, le=10, description="classes per example, most probable first (at most all classes)")
    lang: Literal["en", "vi"] | None = Field(
        None, description="language of Fashion-MNIST's class names (default: the run's own names)"
    )
    explain: bool = Field(
        False,
        description="also return the input, all logits and w_c ⊙ x per class (images: maps, large; "
        "rows: the standardised values and each feature's contribution)",
    )


class PixelsQuery(FeaturesQuery):
    """The query parameters of ``POST /api/predict/pixels``, read by the handler itself."""


class PredictQuery(PixelsQuery):
    """The query parameters of ``POST /api/predict``, read by the handler itself (see `query_parameters`)."""

    invert: Literal["auto", "yes", "no"] = Field(
        "auto",
        description="make the image light-on-dark: auto (when its border is light, for runs trained light on dark), "
        "yes, no",
    )


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON request body with ``model`` for a handler that reads its body itself
    (into numpy: validating a large array with Pydantic cost more than the prediction). The schema is inlined."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[1]])
            return {key: inline(value) for key, value in node.items()}
        return [inline(item) for item in node] if isinstance(node, list) else node

    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inline(schema)}}}}


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI entries for query parameters validated with ``model`` inside a handler."""
    schema = model.model_json_schema()
    return [
        {"name": name, "in": "query", "required": False, "description": field.pop("description", ""), "schema": field}
        for name, field in schema["properties"].items()
    ]


Unit = Annotated[float, Field(ge=0, le=1)]
GreyImage = Annotated[
    list[Annotated[list[Unit], Field(min_length=1, max_length=4096)]], Field(min_length=1, max_length=4096)
]
ColourImage = Annotated[
    list[Annotated[list[Annotated[list[Unit], Field(min_length=3, max_length=3)]], Field(max_length=4096)]],
    Field(min_length=1, max_length=4096),
]


class PixelsBody(BaseModel):
    """The body of ``POST /api/predict/pixels`` (documentation only: the handler checks it with numpy)."""

    pixels: (
        GreyImage
        | Annotated[list[GreyImage], Field(min_length=1, max_length=256)]
        | ColourImage
        | Annotated[list[ColourImage], Field(min_length=1, max_length=256)]
    ) = Field(
        description="one image, H rows of W numbers in [0, 1] (a colour run: W [r, g, b] triples), or a batch of "
        "1 to 256 such images; Fashion-MNIST runs: 28×28, a light object on black"
    )


class FeaturesBody(BaseModel):
    """The body of ``POST /api/predict/features`` (documentation only: the handler checks it itself)."""

    rows: Annotated[
        list[dict[str, float] | Annotated[list[float], Field(max_length=100_000)]], Field(min_length=1, max_length=4096)
    ] = Field(description="1 to 4096 rows: objects by column name, or lists of values in the training column order")


class InputInfo(BaseModel):
    """What the model takes (model.json's ``input`` entry): images ``(C, H, W)`` or named features ``(F,)``."""

    kind: Literal["images", "features"]
    shape: list[int] = Field(description="one example's shape: [C, H, W] for images, [F] for features")
    channels: int | None = Field(None, description="images: 1 (grey) or 3 (RGB)")
    height: int | None = Field(None, description="images: rows of pixels")
    width: int | None = Field(None, description="images: columns of pixels")
    light_on_dark: bool | None = Field(
        None, description="images: trained on light objects on dark, so `invert=auto` inverts light-background uploads"
    )
    drawing_pad: bool | None = Field(None, description="images: small and grey, so drawing one makes sense")
    feature_names: list[str] | None = Field(None, description="features: the columns, in the model's order")


class ModelInfo(BaseModel):
    run: str
    name: str = Field(description="the run folder's name: the model's name under /v2/models/")
    model: str | None
    model_epoch: int | None
    input_shape: list[int]
    input: InputInfo
    lang: str = Field(description="the page's default language")
    classes: dict[str, list[str]] = Field(description="class names by language")
    templates: list[list[Any]] = Field(
        description="per class, its weights w_c in the input's shape: H×W (grey), 3×H×W (colour), F (features)"
    )
    biases: list[float]


class RunSummary(BaseModel):
    run: str
    summary: dict[str, float | int | None] = Field(description="summary of metrics.csv: epochs, val_acc, best epoch...")
    test_accuracy: float | None = Field(
        description="accuracy on the test set the browser shows (Fashion-MNIST's 10,000 images, or the run's "
        "own test split), when the server has it"
    )
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
    pixels: list[list[int]] | list[list[list[int]]] | None = Field(
        None, description="an image run's pixels 0..255: H rows of W values (grey) or of W [r, g, b] triples (colour)"
    )
    features: dict[str, float] | None = Field(
        None,
        description="a feature run's raw values by name, in training column order, as a row of "
        "`POST /api/predict/features`",
    )


class TestCell(BaseModel):
    label: int
    predicted: int
    count: int
    indices: list[int] = Field(description="the first test images of this cell (at most `limit`)")
