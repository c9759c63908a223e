"""Who may call what, checked before any handler runs: Jupyter Server's defences, in one ASGI middleware.

`Guard` refuses, in this order:

1. a ``Host`` that is not one of the server's names (403): a page whose name an attacker rebinds to
   127.0.0.1 (DNS rebinding) sends its own name, so it never reaches a handler;
2. a state-changing request (any method but GET, HEAD, OPTIONS) sent by a page of another origin
   (403), whatever its content type: its ``Origin`` (or, without one, its ``Sec-Fetch-Site``) must be
   the server's own, or an origin given with ``--cors`` for the routes CORS applies to (never training);
3. a request without the server's token (401) or with a wrong one (403) to a route that needs it:
   ``/api/train*`` and ``/api/runs*``, or every route but the static files and ``/api/health`` with
   ``--token-for-all``.

The token comes as ``Authorization: Bearer TOKEN`` (programs), or as a cookie the browser keeps: a
``GET`` with ``?token=TOKEN`` (the address the server prints) sets it (``HttpOnly``,
``SameSite=Strict``) and redirects to the same address without the token. Tokens are compared in
constant time. Whether the request carried the token is left in the scope for handlers
(`authorized`): only then may a response name absolute paths of the server.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from softmaxreg.errors import ConfigError
from softmaxreg.serve.errors import error_response, shorten

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TRAINING_PREFIXES = ("/api/train", "/api/runs")  # the routes that change what the server does or show its folders
OPEN_PREFIXES = ("/static/", "/docs/assets/")  # the package's own files: open even with --token-for-all
OPEN_PATHS = ("/api/health",)
AUTHORIZED = "softmaxreg.authorized"  # the scope's key: did this request carry the token?
TOKEN_ENV = "SOFTMAXREG_TOKEN"
COOKIE = "softmaxreg-token"
HOW = (
    "open the address `softmaxreg serve` printed (http://HOST:PORT/?token=...) "
    "or send the header `Authorization: Bearer TOKEN`"
)


def new_token() -> str:
    """A fresh token: 32 random bytes, URL-safe (as Jupyter's, it goes in an address)."""
    return secrets.token_urlsafe(32)


def check_origin(origin: str) -> str:
    """``origin`` if it is one explicit origin (``scheme://host[:port]``), for ``--cors``.

    Raises:
        ConfigError: ``*``, a path, or not an http(s) origin.

    Examples:
        >>> check_origin("http://localhost:3000")
        'http://localhost:3000'
        >>> check_origin("*")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        softmaxreg.errors.ConfigError: `--cors` must be an explicit origin such as http://localhost:3000; got '*'...
    """
    if origin == "*":
        raise ConfigError(f"`--cors` must be an explicit origin such as http://localhost:3000; got {origin!r}. "
                          "Any site would then pass the browser's checks.")  # fmt: skip
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        raise ConfigError(f"`--cors` must be an origin, scheme://host[:port] with no path, such as "
                          f"http://localhost:3000; got {shorten(origin)!r}.")  # fmt: skip
    return origin.lower()


def host_name(value: str) -> str:
    """The name of a ``Host`` header (or of an origin's ``host[:port]``), lower-case, without port or brackets.

    Examples:
        >>> [host_name(h) for h in ("LocalHost:8000", "[::1]:8000", "127.0.0.1", "example.org.")]
        ['localhost', '::1', '127.0.0.1', 'example.org']
    """
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    name, colon, port = value.rpartition(":")
    return (name if colon and port.isdigit() else value).rstrip(".")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address to bind, or a name) is this machine only."""
    if host_name(host) == "localhost":
        return True
    try:
        return ipaddress.ip_address(host_name(host)).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    """Who may call what (see the module docstring).

    Args:
        hosts: the names a ``Host`` header may carry (lower-case, no port); the loopback names always.
        token: the server's token; None: no route needs one (training is off and so is ``token_for_all``).
        token_for_all: the token for every route but the static files and ``/api/health``.
        cors: origins whose pages may call the prediction routes (never the training ones).
    """

    hosts: frozenset[str] = frozenset(LOOPBACK_NAMES)
    token: str | None = None
    token_for_all: bool = False
    cors: tuple[str, ...] = field(default=())

    @classmethod
    def build(cls, allowed_hosts: Iterable[str] = (), token: str | None = None, token_for_all: bool = False,
              cors: Iterable[str] = ()) -> Access:  # fmt: skip
        """Checked settings: the loopback names plus ``allowed_hosts``, explicit CORS origins only."""
        if token_for_all and not token:
            raise ConfigError("`--token-for-all` needs a token; one is made at start unless --token gives it.")
        if token is not None and len(token) < 16:
            raise ConfigError(f"The token must be at least 16 characters long; got {len(token)}. "
                              "Leave it out and the server makes one.")  # fmt: skip
        hosts = {*LOOPBACK_NAMES, *(host_name(h) for h in allowed_hosts)}
        return cls(frozenset(hosts), token, token_for_all, tuple(check_origin(o) for o in cors))

    def needs_token(self, path: str) -> bool:
        if self.token is None:
            return False
        if is_training(path):
            return True
        return self.token_for_all and not (path in OPEN_PATHS or path.startswith(OPEN_PREFIXES))

    def matches(self, given: str | None) -> bool:
        """Constant-time comparison with the server's token."""
        return self.token is not None and given is not None and hmac.compare_digest(given.encode(), self.token.encode())


def is_training(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in TRAINING_PREFIXES)


def authorized(request: Any) -> bool:
    """Whether ``request`` (a Starlette request) carried the server's token."""
    return bool(request.scope.get(AUTHORIZED))


def shown_path(request: Any, path: Any) -> str:
    """``path`` as a response may show it: whole when the request carried the token; else as the
    server was given it when relative (to its working folder), and only its last part when absolute.

    Examples:
        >>> from types import SimpleNamespace
        >>> anyone = SimpleNamespace(scope={})
        >>> shown_path(anyone, "runs/book"), shown_path(anyone, "/home/ana/runs/book")
        ('runs/book', 'book')
    """
    from pathlib import PurePath

    path = PurePath(path)
    return str(path) if authorized(request) or not path.is_absolute() else path.name


class Guard:
    """The pure-ASGI middleware that applies an `Access` (see the module docstring)."""

    def __init__(self, app: Any, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        refusal = self._host_refused(headers) or self._origin_refused(scope, headers)
        if refusal is not None:
            return await refusal(scope, receive, send)
        given, from_query = _token(scope, headers, self.access.token)
        scope[AUTHORIZED] = self.access.matches(given)
        if from_query is not None and scope.get("method") == "GET":
            return await self._keep_in_cookie(scope, headers, given, from_query)(scope, receive, send)
        if self.access.needs_token(scope["path"]) and not scope[AUTHORIZED]:
            if given is None:
                message = f"{shorten(scope['path'])} needs this server's token: {HOW}."
                return await error_response(401, message, {"www-authenticate": 'Bearer realm="softmaxreg"'})(
                    scope, receive, send
                )
            return await error_response(403, f"The token sent is not this server's token: {HOW}.")(scope, receive, send)
        await self.app(scope, receive, send)

    def _host_refused(self, headers: dict[str, str]) -> Any:
        host = headers.get("host")
        if host is not None and host_name(host) in self.access.hosts:
            return None
        got = f"`Host: {shorten(host)}`" if host is not None else "no Host header"
        names = ", ".join(sorted(f"[{h}]" if ":" in h else h for h in self.access.hosts))
        return error_response(403, f"Expected a request addressed to this server ({names}); got {got}, as a page "
                              "whose name points at this machine (DNS rebinding) sends. Start the server with "
                              "--allowed-host NAME to accept another name.")  # fmt: skip

    def _origin_refused(self, scope: dict, headers: dict[str, str]) -> Any:
        if scope.get("method", "GET") in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        site = headers.get("sec-fetch-site")
        if origin is None and site in (None, "same-origin", "none"):
            return None  # a program (no Origin), or the server's own page
        if origin is not None and origin != "null":
            parts = urlsplit(origin)
            if parts.netloc.lower() == headers.get("host", "").lower() and site in (None, "same-origin", "none"):
                return None  # the server's own page (as the browser reached it: directly or through a proxy)
            if origin.lower() in self.access.cors and not is_training(scope["path"]):
                return None
        return error_response(403, f"Expected {scope['method']} {shorten(scope['path'])} from this server's own "
                              f"page; got one from a page of {shorten(origin or 'another site')}, which may not "
                              "change this server's state. Use the server's page, or a program.")  # fmt: skip

    def _keep_in_cookie(self, scope: dict, headers: dict[str, str], given: str | None, query: list) -> Any:
        """``?token=``: keep a right token in a cookie and send the browser to the address without it."""
        if not self.access.matches(given):
            return error_response(403, f"The token in the address is not this server's token: {HOW}.")
        location = scope["path"] + (f"?{urlencode(query)}" if query else "")
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        cookie = f"{_cookie_name(headers)}={given}; Path=/; HttpOnly; SameSite=Strict{secure}"
        return _Redirect(location, cookie)


class _Redirect:
    def __init__(self, location: str, cookie: str) -> None:
        self.headers = [(b"location", location.encode("latin-1")), (b"set-cookie", cookie.encode("latin-1")),
                        (b"cache-control", b"no-store"), (b"content-length", b"0")]  # fmt: skip

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 303, "headers": self.headers})
        await send({"type": "http.response.body", "body": b""})


def _headers(scope: dict) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", [])}


def _cookie_name(headers: dict[str, str]) -> str:
    """One cookie per port: browsers share cookies between the ports of a host (two servers on one machine)."""
    host = headers.get("host", "")
    port = host.rpartition(":")[2] if not host.endswith("]") and ":" in host else ""
    return f"{COOKIE}-{port}" if port.isdigit() else COOKIE


def _token(scope: dict, headers: dict[str, str], token: str | None) -> tuple[str | None, list | None]:
    """The token the request carries (header, cookie, or ``?token=``), and the rest of the query when it
    came in the query (None otherwise)."""
    if token is None:
        return None, None
    query = scope.get("query_string", b"")
    if b"token=" in query:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        given = [value for name, value in pairs if name == "token"]
        if given:
            return given[-1], [(name, value) for name, value in pairs if name != "token"]
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), None
    name = _cookie_name(headers)
    for item in headers.get("cookie", "").split(";"):
        key, _, value = item.strip().partition("=")
        if key == name:
            return value, None
    return None, None
