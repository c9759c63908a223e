"""Running the app under uvicorn: one process, or ``--workers N`` processes sharing one socket.

The socket is bound here, before uvicorn starts, so that ``--port 0`` can say which port it got
and every worker accepts on the same one.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from softmaxreg.serve.connections import Limits

FACTORY = "softmaxreg.serve.app:app_from_env"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one).

    Raises:
        OSError: the address is in use or cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP said explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say it, and
    # with Nagle on, a response written in two parts waits for the client's delayed ACK (~40 ms each)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def settle_heap() -> None:
    """Take what the process has made so far (torch, the app, the model: ~200,000 objects that live as long
    as it does) out of the garbage collector's sight (`gc.freeze`), so that a full collection, which
    walks them all (60-150 ms measured on 2 cores), never pauses a request: the tail of the latency."""
    import gc

    gc.collect()
    gc.freeze()


def url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """A uvicorn server that calls ``on_started`` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            settle_heap()
            self._on_started()

    def handle_exit(self, sig: int, frame: Any) -> None:
        """Ctrl-C or SIGTERM: also end the app's endless responses (the training events), which the
        graceful shutdown would otherwise wait for, then cancel with a traceback."""
        super().handle_exit(sig, frame)
        stopping = getattr(getattr(self.config.app, "state", None), "stopping", None)
        if stopping is not None:
            stopping()


def run(
    app: Any, sock: socket.socket, workers: int, on_started: Callable[[], None], limits: Limits | None = None
) -> None:
    """Serve until Ctrl-C or SIGTERM: ``app`` in this process, or `FACTORY` in ``workers`` processes.

    With several workers, ``on_started`` is called once one of them answers ``/api/health``. ``limits``:
    the connections served at once and the deadlines of slow clients (`softmaxreg.serve.connections`).
    """
    options: dict[str, Any] = {"log_level": "warning", "access_log": False, "timeout_graceful_shutdown": 5,
                               **(limits or Limits.for_this_process(None)).uvicorn_options()}  # fmt: skip
    if workers == 1:
        _Server(uvicorn.Config(app, **options), on_started).run(sockets=[sock])
        return
    import inspect

    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(FACTORY, factory=True, workers=workers, **options)
    if "target" in inspect.signature(Multiprocess).parameters:  # uvicorn < 0.30 takes the worker's function
        supervisor = Multiprocess(config, target=uvicorn.Server(config).run, sockets=[sock])
    else:
        supervisor = Multiprocess(config, sockets=[sock])
    threading.Thread(target=_when_answering, args=(url(sock), on_started), daemon=True).start()
    supervisor.run()


def _when_answering(address: str, then: Callable[[], None], timeout: float = 300) -> None:
    """Call ``then`` once ``address`` answers ``GET /api/health`` (the workers load the model first)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(address + "/api/health", timeout=5) as response:
                if response.status == 200:
                    then()
                    return
        except OSError:
            time.sleep(0.05)
