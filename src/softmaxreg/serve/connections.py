"""Slow clients cannot hold the server: a deadline for the request headers, and a cap on connections waiting for them.

uvicorn bounds the connections it serves (``limit_concurrency``: more get a 503) and closes idle
keep-alive connections, but a connection that never finishes its headers (slow-loris) has no
deadline, and it holds a file descriptor: a few hundred of them exhaust the open-file limit (``EMFILE``)
and nothing is accepted any more. `HeaderDeadline`, mixed into uvicorn's own HTTP protocol,

- answers ``408`` and closes a connection whose headers have not all arrived within
  `HEADER_TIMEOUT` seconds (of the connection, or of the end of its previous response);
- closes a connection whose headers pass `MAX_HEADER_BYTES` (``431``);
- keeps at most a quarter of ``limit_concurrency`` connections waiting for their headers: a new one
  closes the one that has waited longest, so a well-behaved client always gets in.

`Limits.for_this_process` keeps ``limit_concurrency`` under the process's open-file limit, and the
listening backlog (which is also how many connections asyncio accepts at once) at half of it.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

HEADER_TIMEOUT = 10.0  # seconds for a request's headers (nginx's client_header_timeout is 60 s; this is one machine)
MAX_HEADER_BYTES = 64 * 1024
DEFAULT_CONCURRENCY = 256
RESERVED_FILES = 64  # descriptors the process keeps for itself: libraries, the model, the training worker's pipes
TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
TOO_LARGE_RESPONSE = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


@dataclass(frozen=True)
class Limits:
    """How many connections at once (``limit_concurrency``), and the seconds an idle keep-alive connection stays."""

    concurrency: int = DEFAULT_CONCURRENCY
    keep_alive: int = 5

    @classmethod
    def for_this_process(cls, requested: int | None) -> Limits:
        """``requested`` (default `DEFAULT_CONCURRENCY`), lowered to fit the open-file limit (``ulimit -n``)."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        room = soft - RESERVED_FILES if soft != resource.RLIM_INFINITY else DEFAULT_CONCURRENCY * 64
        return cls(concurrency=max(8, min(requested or DEFAULT_CONCURRENCY, room)))

    def uvicorn_options(self) -> dict[str, Any]:
        # backlog: also how many connections asyncio accepts in one go, before any of them is looked at; at
        # uvicorn's 2048 a burst of slow clients takes every descriptor at once (EMFILE, logged once per accept)
        # loop: asyncio's, even where uvloop is installed: with 64 keep-alive clients uvloop served some
        # connections ~20x later than others (p99 0.5-1.4 s against asyncio's 34 ms, benchmarks/bench_serve.py)
        return {"limit_concurrency": self.concurrency, "timeout_keep_alive": self.keep_alive, "http": GuardedHTTP,
                "backlog": max(16, self.concurrency // 2), "loop": "asyncio"}  # fmt: skip


class HeaderDeadline:
    """Mixed into a uvicorn HTTP protocol (h11 or httptools): see the module docstring.

    A request's headers are complete once the protocol has made a new request cycle (``self.cycle``).
    """

    _deadline: Any = None
    _waiting_for: Any = None
    _header_bytes = 0

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self._deadline is None:
            return
        if self.cycle is not self._waiting_for:  # type: ignore[attr-defined]
            self._disarm()
            return
        self._header_bytes += len(data)
        if self._header_bytes > MAX_HEADER_BYTES:
            self._close(TOO_LARGE_RESPONSE)

    def on_response_complete(self) -> None:
        self._arm()  # the next request's headers have the same deadline
        super().on_response_complete()  # type: ignore[misc]  # may start a pipelined request at once
        if self.transport.is_closing() or self.cycle is not self._waiting_for:  # type: ignore[attr-defined]
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        self._disarm()
        self._waiting_for = self.cycle  # type: ignore[attr-defined]
        self._header_bytes = 0
        self._deadline = self.loop.call_later(HEADER_TIMEOUT, self._close, TIMEOUT_RESPONSE)  # type: ignore[attr-defined]
        waiting = _waiting(self.server_state)  # type: ignore[attr-defined]
        waiting[self] = None
        limit = max(4, (self.limit_concurrency or DEFAULT_CONCURRENCY) // 4)  # type: ignore[attr-defined]
        while len(waiting) > limit:  # the longest waiting goes first (a dict keeps insertion order)
            next(iter(waiting))._close(TIMEOUT_RESPONSE)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        _waiting(self.server_state).pop(self, None)  # type: ignore[attr-defined]

    def _close(self, response: bytes) -> None:
        self._disarm()
        transport = self.transport  # type: ignore[attr-defined]
        if not transport.is_closing():
            transport.write(response)
            transport.close()


def _waiting(server_state: Any) -> dict[Any, None]:
    """The server's connections still waiting for their headers, oldest first."""
    waiting = getattr(server_state, "softmaxreg_waiting", None)
    if waiting is None:
        waiting = server_state.softmaxreg_waiting = {}
    return waiting


class GuardedHTTP(HeaderDeadline, AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP/1.1 protocol (httptools when installed, else h11) with `HeaderDeadline`."""
