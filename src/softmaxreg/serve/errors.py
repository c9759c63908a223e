"""Errors as a small JSON document, ``{"error": "<one line>"}``, with one handler per family.

- 400: the content of the request is wrong (not an image, a damaged one, a bad pixel array, a body
  that is not the JSON or multipart form it claims to be);
- 413: the body is over the limit; 415: the wrong content type;
- 422: a bad query or path parameter;
- 404/405: no such route or method; 503: no model or no test set on the server.

Nothing a client sends reaches the last handler, which turns a bug of ours into a 500 without a
traceback (logged on the server). The line is in the language the request asks for (``?lang=vi`` or
``Accept-Language``; English by default): see `softmaxreg.serve.messages`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from softmaxreg.errors import ImageError
from softmaxreg.serve import messages
from softmaxreg.serve.multipart import MultipartError
from softmaxreg.serve.state import NoModelError, NoTestSetError

logger = logging.getLogger(__name__)
DOCS_HINT = "See /docs for the API."
SHOWN = 80  # characters of a value sent by the client that an error message repeats
MAX_MESSAGE = 1000  # characters of any error message: a safety net under `shorten`


class BadInputError(ValueError):
    """The request's content is unusable (a malformed pixel array, a form without files...): 400."""


class BadParameterError(ValueError):
    """A parameter is out of range in a way its declared type cannot say (a test image index): 422."""


def shorten(value: Any, limit: int = SHOWN) -> str:
    """``value`` as text on one line, cut to ``limit`` characters (a 9 MB run name is not sent back).

    Examples:
        >>> shorten("x" * 100, 10)
        'xxxxxxxxx…'
    """
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None, request: Request | None = None
) -> JSONResponse:
    """``{"error": message}``, on one line (cut to `MAX_MESSAGE`), in the language ``request`` asks for
    (English without one)."""
    line = " ".join(message.split())
    if request is not None:
        line = messages.localize(line, request_lang(request))
    return JSONResponse({"error": shorten(line, MAX_MESSAGE)}, status_code=status, headers=headers)


def request_lang(request: Request) -> str:
    """``en`` or ``vi``: the request's ``lang`` query parameter, else its ``Accept-Language``, else English."""
    return messages.pick(request.query_params.get("lang"), request.headers.get("accept-language"))


def _validation_message(err: RequestValidationError) -> tuple[int, str]:
    """422 for a bad parameter, 400 for a body that does not parse or fit: the first problem, one line."""
    first: dict[str, Any] = err.errors()[0]
    where, *path = first.get("loc", ("query",))
    status = 400 if where == "body" else 422
    if first.get("type") == "json_invalid":
        return 400, f"Expected a JSON body; it does not parse ({first.get('ctx', {}).get('error', 'invalid JSON')})."
    name = ".".join(str(p) for p in path) or where
    if first.get("type") == "missing":
        return status, f"`{name}` is required. {DOCS_HINT}"
    message = str(first.get("msg", "is invalid")).replace("Input should be", "must be").replace("Value error, ", "")
    return status, f"`{name}` {message[0].lower()}{message[1:]}; got {_shown(first.get('input'))}. {DOCS_HINT}"


def _shown(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "an object"
    return shorten(repr(value))


async def _on_validation(request: Request, err: Exception) -> JSONResponse:
    status, message = _validation_message(err)  # type: ignore[arg-type]
    return error_response(status, message, request=request)


async def _on_http(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, HTTPException)
    message = str(err.detail)
    if err.status_code == 404 and message == "Not Found":
        message = f"No such page or endpoint: {shorten(request.url.path)}. {DOCS_HINT}"
    elif err.status_code == 405:
        message = f"{shorten(request.method)} is not allowed on {shorten(request.url.path)}. {DOCS_HINT}"
    return error_response(err.status_code, message, headers=getattr(err, "headers", None), request=request)


async def _on_bad_input(request: Request, err: Exception) -> JSONResponse:
    return error_response(400, str(err), request=request)


async def _on_bad_parameter(request: Request, err: Exception) -> JSONResponse:
    return error_response(422, str(err), request=request)


async def _on_multipart(request: Request, err: Exception) -> JSONResponse:
    message = f"Expected a multipart/form-data body with fields named `file`; it does not parse ({err})."
    return error_response(400, message, request=request)


async def _on_unavailable(request: Request, err: Exception) -> JSONResponse:
    message = str(err)
    private = isinstance(err, NoTestSetError) and err.names_server_folders
    if private and not request.scope.get("softmaxreg.authorized"):
        # the places tried are the server's folders: said only to a request with the token (and in the log)
        message = ("The Fashion-MNIST test set is not available on the server: the server's log says where it "
                   "looked; start it with --data-dir DIR.")  # fmt: skip
    return error_response(503, message, request=request)


async def _on_bug(request: Request, err: Exception) -> JSONResponse:
    logger.exception("internal error on %s %s", request.method, request.url.path)
    return error_response(
        500, "Internal server error (a bug in softmaxreg; the server log has the details).", request=request
    )


def add_error_handlers(app: FastAPI) -> None:
    """Map each family of exceptions to its status and one line of JSON."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(ImageError, _on_bad_input)
    app.add_exception_handler(BadInputError, _on_bad_input)
    app.add_exception_handler(BadParameterError, _on_bad_parameter)
    app.add_exception_handler(MultipartError, _on_multipart)
    app.add_exception_handler(NoModelError, _on_unavailable)
    app.add_exception_handler(NoTestSetError, _on_unavailable)
    app.add_exception_handler(Exception, _on_bug)
