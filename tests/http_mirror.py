"""A real HTTP server on 127.0.0.1 for the download tests: each URL prefix is a mirror with one behaviour.

``http://127.0.0.1:PORT/<mode>/<file>.gz`` where ``mode`` is one of:

- ``good``: the file; ``wrong``: another file of the right format (digit-MNIST-like content);
- ``404``, ``503``: that status; ``flaky``: 503 the first time each file is asked for, then good;
- ``truncated``: announces the full Content-Length, sends half the body and closes;
- ``slow``: answers only after ``slow_seconds`` (the client's timeout fires first);
- ``stall``: sends the headers and half the body, then stalls;
- ``html``: 200 with a proxy's HTML error page; ``hold``: waits for ``release`` before answering.

A request in proxy form (``GET http://host/...``) is served the same way and recorded in
``proxied``, so a test can point ``http_proxy`` here and use an unresolvable mirror host.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit


class MirrorServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, files: dict[str, bytes], wrong: dict[str, bytes] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files = files
        self.wrong = wrong or {}
        self.requests: Counter[str] = Counter()  # "mode/name" -> count
        self.proxied: list[str] = []
        self.slow_seconds = 5.0
        self.release = threading.Event()  # frees "slow", "stall" and "hold" answers
        self.first_request = threading.Event()
        self.lock = threading.Lock()

    def url(self, mode: str) -> str:
        """The base URL of the mirror with behaviour ``mode``."""
        return f"http://127.0.0.1:{self.server_port}/{mode}/"

    def count(self, mode: str) -> int:
        """How many requests the ``mode`` mirror received."""
        return sum(n for key, n in self.requests.items() if key.startswith(mode + "/"))


class _Handler(http.server.BaseHTTPRequestHandler):
    server: MirrorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path
        if path.startswith("http://"):
            self.server.proxied.append(path)
            path = urlsplit(path).path
        mode, _, name = path.lstrip("/").partition("/")
        with self.server.lock:
            self.server.requests[f"{mode}/{name}"] += 1
            seen = self.server.requests[f"{mode}/{name}"]
        self.server.first_request.set()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout):
            self._answer(mode, name, seen)  # that is the point of "slow" and "stall"

    def _answer(self, mode: str, name: str, seen: int) -> None:
        body = self.server.files.get(name)
        if mode in ("404", "503") or body is None or (mode == "flaky" and seen == 1):
            code = 503 if mode in ("503", "flaky") else 404
            self.send_error(code)
            return
        if mode == "wrong":
            body = self.server.wrong[name]
        elif mode == "html":
            body = b"<!DOCTYPE html><html><body>Access denied by proxy</body></html>"
        elif mode == "slow" or mode == "hold":
            self.server.release.wait(self.server.slow_seconds if mode == "slow" else 60)
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if mode in ("truncated", "stall"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if mode == "stall":
                self.server.release.wait(self.server.slow_seconds)
            self.close_connection = True
            return
        self.wfile.write(body)


@contextlib.contextmanager
def serve(files: dict[str, bytes], wrong: dict[str, bytes] | None = None) -> Iterator[MirrorServer]:
    """Run a `MirrorServer` in a thread for the duration of the ``with`` block."""
    server = MirrorServer(files, wrong)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
