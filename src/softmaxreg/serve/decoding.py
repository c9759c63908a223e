"""Uploaded images are decoded by pixels, not bytes: small ones at once, large ones on a few worker threads.

A PNG of a few kilobytes can hold 89 million pixels, so the bytes of an upload say nothing of what it
costs. `DecodeSlots.run` reads each image's size from its header first (`image_pixels`: an image over
`UPLOAD_MAX_PIXELS` is refused there, before any decoding), then

- decodes on the event loop when the request holds at most `SMALL_PIXELS` (a 28×28 drawing, a
  thumbnail: the hop to a thread would cost more than the work);
- otherwise decodes on a worker thread, at most `SLOTS` requests at a time, with `QUEUE` more
  waiting their turn; any more are answered 503 with ``Retry-After`` at once.

So ``/api/health`` and small predictions keep flowing while photos are decoded, and memory is bounded
by ``SLOTS`` decodes of at most ``UPLOAD_MAX_PIXELS`` pixels each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from softmaxreg.runs.images import UPLOAD_MAX_PIXELS, image_pixels

T = TypeVar("T")
SMALL_PIXELS = 256 * 256
SLOTS = 2
QUEUE = 8
RETRY_AFTER = 2  # seconds


class Busy(HTTPException):
    def __init__(self) -> None:
        message = f"The server is decoding {SLOTS + QUEUE} large images already; try again in {RETRY_AFTER} seconds."
        super().__init__(503, message, headers={"retry-after": str(RETRY_AFTER)})


class DecodeSlots:
    """At most ``slots`` large decodes at once, ``queue`` more waiting (one per app, on ``app.state``)."""

    def __init__(self, slots: int = SLOTS, queue: int = QUEUE) -> None:
        self.slots = slots
        self.queue = queue
        self._semaphore: asyncio.Semaphore | None = None
        self._taken = 0  # requests decoding or waiting

    async def run(self, uploads: list[tuple[str, bytes]], work: Callable[[], T]) -> T:
        """``work()`` (which decodes ``uploads``) where its pixel count says; `Busy` when too many wait.

        Raises:
            ImageError: an upload has more than `UPLOAD_MAX_PIXELS` pixels (nothing is decoded).
            Busy: every slot and every place in the queue is taken.
        """
        pixels = sum(image_pixels(data, name, UPLOAD_MAX_PIXELS) for name, data in uploads)
        if pixels <= SMALL_PIXELS:
            return work()
        if self._taken >= self.slots + self.queue:
            raise Busy()
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.slots)  # made on the loop that uses it
        self._taken += 1
        try:
            async with self._semaphore:
                return await run_in_threadpool(work)
        finally:
            self._taken -= 1
