"""Two pure-ASGI middlewares (cheaper than Starlette's ``BaseHTTPMiddleware`` on every request).

`SecurityHeaders` adds the same headers to every response of ours, errors included. `BodyLimit`
refuses a body over the limit with a 413: at once from its ``Content-Length``, and, for a chunked
body (no length), as soon as the bytes received pass the limit, without reading the rest.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from softmaxreg.serve.errors import error_response

# No source but this origin; no inline script (the page's JS is in files); no framing, no plugins.
# Styles may be inline only for Swagger UI, which sets them from script.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
MAX_BODY = 10 * 1000 * 1000  # 10 MB


class SecurityHeaders:
    """Add `SECURITY_HEADERS` to every HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in SECURITY_HEADERS if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int, got: str) -> None:
        super().__init__(413, f"Expected a request body of at most {limit:,} bytes; got {got}. Send a smaller image.")


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with a 413, reading no more than the limit."""

    def __init__(self, app: Any, max_bytes: int = MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"")  # the server has checked it is a number
        if length.isdigit() and int(length) > self.max_bytes:  # refused before reading a byte of it
            too_large = BodyTooLarge(self.max_bytes, f"{int(length):,} bytes")
            return await error_response(413, too_large.detail)(scope, receive, send)
        received = 0

        async def counting_receive() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:  # a chunked body: stop here, the rest is never read
                raise BodyTooLarge(self.max_bytes, f"more than {self.max_bytes:,} bytes")
            return message

        await self.app(scope, counting_receive, send)
