"""The Open Inference Protocol (KServe v2 REST), which KServe, Triton, MLServer and their clients speak.

- ``GET /v2``: the server's name and version;
- ``GET /v2/health/live``, ``GET /v2/health/ready`` (ready: a run is loaded);
- ``GET /v2/models/{name}``: the model's input (``input``: ``[-1, C, H, W]`` images or ``[-1, F]``
  features), outputs and class names; ``{name}`` is the served run folder's name;
- ``GET /v2/models/{name}/ready``;
- ``POST /v2/models/{name}/infer``: one input tensor, ``FP32`` (pixels in [0, 1], or raw feature
  values) or ``UINT8`` (pixels 0..255), any batch size up to `MAX_BATCH`, ``data`` flat or nested in
  row-major order; outputs ``probabilities`` ``[N, K]`` and, if asked for in ``outputs``, ``logits``.

Errors are the protocol's ``{"error": "<one line>"}`` with a 4xx status (503 while no run is loaded).
Tensors travel as JSON ``data`` or, with Triton's binary tensor data extension (``tritonclient``'s
default), as raw little-endian bytes after the JSON part (``Inference-Header-Content-Length``), in
and out. The infer handler reads its body itself (into numpy); `InferRequest` documents it in
``/openapi.json``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from softmaxreg import __version__
from softmaxreg.serve import jsonarrays
from softmaxreg.serve.dependencies import store
from softmaxreg.serve.errors import BadInputError
from softmaxreg.serve.schemas import error_responses, json_body
from softmaxreg.serve.state import ModelStore, ServedRun

try:
    from orjson import dumps as _dumps
    from orjson import loads as json_loads
except ImportError:  # pragma: no cover
    import json
    from json import loads as json_loads

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()


router = APIRouter(prefix="/v2", tags=["Open Inference Protocol (v2)"])
INPUT_NAME = "input"
OUTPUTS = ("probabilities", "logits")
MAX_BATCH = 4096  # examples in one infer request (the body limit, 10 MB by default, usually binds first)
ModelName = Annotated[str, Path(min_length=1, max_length=255, description="the served run folder's name")]


# -- the documents ---------------------------------------------------------------------------------


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class Live(BaseModel):
    live: bool


class Ready(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


class TensorMetadata(BaseModel):
    name: str
    datatype: Literal["FP32", "UINT8"]
    shape: list[int] = Field(description="-1: any batch size")


class ModelMetadata(BaseModel):
    name: str = Field(description="the run folder's name")
    versions: list[str] = Field(description="the epoch whose model is served")
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]
    parameters: dict[str, Any] = Field(
        description="class_names (by label), input_kind (images or features), accepted_datatypes, and for "
        "images channels, height, width; for features feature_names"
    )


class InferInputTensor(BaseModel):
    name: Literal["input"]
    shape: Annotated[list[Annotated[int, Field(ge=1, le=1 << 24)]], Field(min_length=2, max_length=4)] = Field(
        description="[N, C, H, W] (or [N, H, W] grey, or [N, C·H·W]) for images; [N, F] for features"
    )
    datatype: Literal["FP32", "UINT8"] = Field(description="FP32: pixels in [0, 1] or feature values; UINT8: 0..255")
    data: list[Any] = Field(description="the values in row-major order, flat or nested as `shape`")


class RequestedOutput(BaseModel):
    name: Literal["probabilities", "logits"]


class InferRequest(BaseModel):
    """The body of ``POST /v2/models/{name}/infer`` (documentation only: the handler checks it with numpy)."""

    id: Annotated[str, Field(max_length=256)] | None = None
    parameters: dict[str, Any] | None = None
    inputs: Annotated[list[InferInputTensor], Field(min_length=1, max_length=1)]
    outputs: Annotated[list[RequestedOutput], Field(max_length=2)] | None = Field(
        None, description="default: probabilities only"
    )


class OutputTensor(BaseModel):
    name: Literal["probabilities", "logits"]
    datatype: Literal["FP32"]
    shape: list[int] = Field(description="[N, K]")
    data: list[float] | None = Field(None, description="row-major (absent when sent as binary tensor data)")
    parameters: dict[str, int] | None = Field(
        None, description="binary tensor data: {binary_data_size: bytes of little-endian float32 after the JSON}"
    )


class InferResponse(BaseModel):
    model_name: str
    model_version: str | None
    id: str | None = None
    outputs: list[OutputTensor]


# -- the routes ------------------------------------------------------------------------------------


@router.get("", response_model=ServerMetadata)
async def server_metadata() -> dict[str, Any]:
    """The server's name and version (no protocol extensions)."""
    return {"name": "softmaxreg", "version": __version__, "extensions": []}


@router.get("/health/live", response_model=Live)
async def live() -> dict[str, Any]:
    """200 while the server answers."""
    return {"live": True}


@router.get("/health/ready", response_model=Ready, responses=error_responses(503))
async def ready(models: ModelStore = Depends(store)) -> dict[str, Any]:
    """200 once a run is loaded; 503 while there is none."""
    models.run  # noqa: B018 (raises NoModelError: 503)
    return {"ready": True}


def _model(models: ModelStore, name: str) -> ServedRun:
    run = models.run
    if name != run.name:
        raise HTTPException(
            404, f"Unknown model {name[:80]!r}; this server serves {run.name!r} (GET /v2/models/{run.name})."
        )
    return run


@router.get("/models/{name}", response_model=ModelMetadata, responses=error_responses(404, 422, 503))
async def model_metadata(name: ModelName, models: ModelStore = Depends(store)) -> dict[str, Any]:
    """The model's input and outputs, with the class names in `parameters`."""
    run = _model(models, name)
    spec = run.spec
    k = run.num_classes
    parameters: dict[str, Any] = {"class_names": list(run.class_names(None)), "input_kind": spec.kind}
    if spec.kind == "images":
        parameters.update(
            accepted_datatypes=["FP32", "UINT8"], channels=spec.channels, height=spec.height, width=spec.width
        )
    else:
        parameters.update(accepted_datatypes=["FP32"], feature_names=list(spec.feature_names))
    return {
        "name": run.name,
        "versions": [str(run.meta["epoch"])] if run.meta.get("epoch") is not None else [],
        "platform": "softmaxreg",
        "inputs": [{"name": INPUT_NAME, "datatype": "FP32", "shape": [-1, *spec.input_shape]}],
        "outputs": [{"name": output, "datatype": "FP32", "shape": [-1, k]} for output in OUTPUTS],
        "parameters": parameters,
    }


@router.get("/models/{name}/ready", response_model=ModelReady, responses=error_responses(404, 422, 503))
async def model_ready(name: ModelName, models: ModelStore = Depends(store)) -> dict[str, Any]:
    """200 when ``name`` is the model served."""
    return {"name": _model(models, name).name, "ready": True}


BINARY_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON; or, when binary outputs are asked for, the JSON (its length in the "
        "Inference-Header-Content-Length header) followed by the tensors' bytes",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post("/models/{name}/infer", response_model=InferResponse, openapi_extra=json_body(InferRequest),
             responses={**BINARY_ANSWER, **error_responses(400, 404, 413, 415, 422, 503)})  # fmt: skip
async def infer(name: ModelName, request: Request) -> Response:
    """Classify a batch: one input tensor in, `probabilities` (and `logits` if asked for) out, [N, K] each.

    Tensors travel as JSON `data`, or as raw little-endian bytes after the JSON (Triton's binary tensor
    data extension, ``Inference-Header-Content-Length``: what ``tritonclient`` sends by default)."""
    run = _model(request.app.state.store, name)  # the store is not a dependency: solving it cost ~10% of a request
    body, binary, data = await _body(request)
    x = _input(run, body, binary, data)
    wanted, binary_out = _outputs(body)
    logits = run.logits(x)  # (N, K) float32
    n, k = logits.shape
    epoch = run.meta.get("epoch")
    answer: dict[str, Any] = {"model_name": run.name, "model_version": None if epoch is None else str(epoch)}
    if isinstance(body.get("id"), str):
        answer["id"] = body["id"]
    outputs, blobs = [], []
    for output in wanted:
        values = logits if output == "logits" else _softmax(logits)
        tensor: dict[str, Any] = {"name": output, "datatype": "FP32", "shape": [n, k]}
        if output in binary_out:
            blobs.append(values.astype("<f4").tobytes())
            tensor["parameters"] = {"binary_data_size": len(blobs[-1])}
        else:
            tensor["data"] = values.ravel().tolist()
        outputs.append(tensor)
    answer["outputs"] = outputs
    head = _dumps(answer)
    if not blobs:
        return Response(head, media_type="application/json")
    headers = {"inference-header-content-length": str(len(head))}
    return Response(head + b"".join(blobs), media_type="application/octet-stream", headers=headers)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


async def _body(request: Request) -> tuple[dict[str, Any], bytes, np.ndarray | None]:
    """The JSON part of the body, the binary tensor data after it (empty without the extension), and the
    input's flat JSON ``data`` when it was read straight into numpy (then left out of the JSON part)."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media not in ("application/json", "application/octet-stream", ""):  # tritonclient sends no content type
        raise HTTPException(415, f"Expected application/json (an inference request); got {content_type!r}.")
    raw = await request.body()
    header = request.headers.get("inference-header-content-length")
    size = len(raw)
    if header is not None:
        size = int(header) if header.isdigit() else -1
        if not 0 < size <= len(raw):
            raise BadInputError(
                f"Expected Inference-Header-Content-Length to be the JSON part's length, 1..{len(raw)} bytes; "
                f"got {header[:20]!r}."
            )
    if header is None:
        fast = jsonarrays.infer_body(raw)  # a flat `data` read without a Python float per number
        if fast is not None:
            return fast[0], b"", fast[1]
    try:
        body = json_loads(raw[:size])
    except ValueError as err:
        raise BadInputError(f"Expected a JSON body; it does not parse ({' '.join(str(err).split())[:120]}).") from None
    if not isinstance(body, dict):
        raise BadInputError(f'Expected a JSON object {{"inputs": [...]}}; got a JSON {type(body).__name__}.')
    return body, raw[size:], None


def _input(run: ServedRun, body: dict[str, Any], binary: bytes, data: np.ndarray | None) -> np.ndarray:
    """The one input tensor as the model's batch: ``(N, C, H, W)`` uint8 or float32 images, ``(N, F)`` features."""
    spec = run.spec
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise BadInputError(f'Expected `inputs` to be a list of one tensor named "{INPUT_NAME}"; got {_what(inputs)}.')
    tensor = inputs[0]
    if tensor.get("name") != INPUT_NAME:
        raise BadInputError(f'Expected the input tensor to be named "{INPUT_NAME}"; got {_what(tensor.get("name"))}.')
    datatype = tensor.get("datatype")
    allowed = ("FP32", "UINT8") if spec.kind == "images" else ("FP32",)
    if datatype not in allowed:
        raise BadInputError(f"Expected `datatype` {' or '.join(allowed)}; got {_what(datatype)}.")
    shape = tensor.get("shape")
    example = [-1, *spec.input_shape]
    if (not isinstance(shape, list) or not 2 <= len(shape) <= 4
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape)):  # fmt: skip
        raise BadInputError(f"Expected `shape` to be [N, ...] of positive integers, as {example}; got {_what(shape)}.")
    n, one = shape[0], tuple(shape[1:])
    fits = {spec.input_shape, (spec.num_inputs,)} | (
        {spec.input_shape[1:]} if spec.kind == "images" and spec.channels == 1 else set()
    )
    if one not in fits:
        raise BadInputError(f"Expected `shape` [N, {', '.join(map(str, spec.input_shape))}]; got {shape}.")
    if n > MAX_BATCH:
        raise BadInputError(f"Expected at most {MAX_BATCH} examples in one request; got {n}. Send several requests.")
    count = math.prod(shape)
    parameters = tensor.get("parameters")
    binary_size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    if binary_size is not None or binary:
        x = _binary_tensor(binary, binary_size, datatype, count)
    elif data is not None:
        if data.size != count:
            raise BadInputError(f"Expected {count} values in `data` for shape {shape}; got {data.size}.")
        x = data
    else:
        x = _json_tensor(tensor.get("data"), count, shape)
    x = x.reshape(n, *spec.input_shape)
    if datatype == "UINT8":
        if x.dtype != np.uint8:
            if x.min() < 0 or x.max() > 255 or (x != np.rint(x)).any():
                bad = x[(x < 0) | (x > 255) | (x != np.rint(x))].ravel()[0]
                raise BadInputError(f"Expected UINT8 values, integers 0..255; got {bad}.")
            x = x.astype(np.uint8)
        return x
    if not np.isfinite(x).all():  # a JSON null reads as NaN
        raise BadInputError(f"Expected finite numbers in `data`; got {x[~np.isfinite(x)].ravel()[0]} (or null).")
    if spec.kind == "images":
        if x.min() < 0 or x.max() > 1:
            bad = x[(x < 0) | (x > 1)].ravel()[0]
            raise BadInputError(f"Expected FP32 pixels in [0, 1] (or UINT8 0..255); got {bad}.")
        x = x.astype(np.float32, copy=False)
    return x


def _json_tensor(data: Any, count: int, shape: list[int]) -> np.ndarray:
    if not isinstance(data, list):
        raise BadInputError(f"Expected `data` to be a list of numbers in row-major order; got {_what(data)}.")
    try:
        x = np.asarray(data, dtype=np.float64)
    except (ValueError, TypeError):
        raise BadInputError(
            "Expected `data` to hold numbers only, flat or nested as `shape`; got a non-number or ragged nesting."
        ) from None
    if x.size != count:
        raise BadInputError(f"Expected {count} values in `data` for shape {shape}; got {x.size}.")
    return x


def _binary_tensor(binary: bytes, size: Any, datatype: str, count: int) -> np.ndarray:
    dtype = np.dtype(np.uint8 if datatype == "UINT8" else "<f4")
    expected = count * dtype.itemsize
    if size != expected or len(binary) != expected:
        raise BadInputError(
            f"Expected binary tensor data of {expected} bytes ({datatype}, parameters.binary_data_size); "
            f"got binary_data_size {_what(size)} and {len(binary)} bytes after the JSON."
        )
    return np.frombuffer(binary, dtype=dtype)


def _outputs(body: dict[str, Any]) -> tuple[list[str], set[str]]:
    """The outputs asked for (default: probabilities), and those to send as binary tensor data."""
    outputs = body.get("outputs")
    parameters = body.get("parameters")
    all_binary = isinstance(parameters, dict) and parameters.get("binary_data_output") is True
    if outputs is None:
        return ["probabilities"], {"probabilities"} if all_binary else set()
    if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
        raise BadInputError(f'Expected `outputs` to be a list of {{"name": ...}}; got {_what(outputs)}.')
    names = [o.get("name") for o in outputs]
    unknown = [name for name in names if name not in OUTPUTS]
    if unknown or not names:
        raise BadInputError(
            f"Expected outputs named probabilities or logits; got {_what(unknown[0] if unknown else names)}."
        )
    binary = {o["name"] for o in outputs if all_binary or _binary_asked(o.get("parameters"))}
    return [name for name in OUTPUTS if name in names], binary


def _binary_asked(parameters: Any) -> bool:
    return isinstance(parameters, dict) and parameters.get("binary_data") is True


def _what(value: Any) -> str:
    if isinstance(value, list):
        return (
            f"a list of {len(value)}"
            if len(value) > 8 or not all(isinstance(v, (int, str)) for v in value)
            else repr(value)
        )
    if isinstance(value, dict):
        return "an object"
    return "nothing" if value is None else repr(value)[:60]
