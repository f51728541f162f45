"""The bounded queue between producers and worker tasks on one event loop.

Why not :class:`asyncio.Queue`: every ``get`` and ``put`` there is a
coroutine call plus a wake-up of the other side, which costs more than a
job like ``await asyncio.sleep(0)``. Here the queue is a plain deque:

* workers pop with :meth:`collections.deque.popleft` and only await a
  future when the queue is empty;
* producers append directly and only await a future when it is full;
* a blocked producer is woken once the queue has drained to half, so that
  one wake-up is paid for by many jobs instead of one.

Everything runs on the loop's thread, so no lock is needed: between two
``await`` points nothing else touches the queue.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from .._queue import QueueClosed

__all__ = ["AsyncJobQueue", "QueueClosed"]


class AsyncJobQueue:
    """A bounded FIFO for one event loop, closed once and then drained."""

    __slots__ = (
        "_getters",
        "_loop",
        "closed",
        "items",
        "low_water",
        "maxsize",
        "putters",
    )

    def __init__(self, maxsize: int, loop: asyncio.AbstractEventLoop) -> None:
        self.maxsize = maxsize
        #: A blocked producer resumes once the queue is down to this length.
        self.low_water = maxsize // 2
        #: The jobs. Workers pop from it directly; see the module docstring.
        self.items: deque[Any] = deque()
        #: Producers waiting for room; a worker that sees it non-empty
        #: calls :meth:`wake_putters` once the queue is at ``low_water``.
        self.putters: deque[asyncio.Future[None]] = deque()
        self.closed = False
        self._getters: deque[asyncio.Future[None]] = deque()
        self._loop = loop

    # Producers.

    def try_put(self, item: Any) -> bool:
        """Append ``item`` and return True, or return False when full.

        Raises:
            QueueClosed: the queue was closed.
        """
        if self.closed:
            raise QueueClosed
        if len(self.items) >= self.maxsize:
            return False
        self.items.append(item)
        if self._getters:
            self._wake_getter()
        return True

    async def put(self, item: Any) -> None:
        """Append ``item``, waiting while the queue is full.

        Raises:
            QueueClosed: the queue was closed, before or while waiting.
        """
        while not self.try_put(item):
            waiter = self._loop.create_future()
            self.putters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if not waiter.done():
                    self.putters.remove(waiter)
                raise

    def _wake_getter(self) -> None:
        getters = self._getters
        while getters:
            waiter = getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    # Workers.

    async def wait_for_items(self) -> bool:
        """Sleep while the queue is empty; False once closed and drained."""
        while not self.items:
            if self.closed:
                return False
            waiter = self._loop.create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if not waiter.done():
                    self._getters.remove(waiter)
                raise
        return True

    def wake_putters(self) -> None:
        """Wake every waiting producer; each re-checks for room itself."""
        putters = self.putters
        while putters:
            waiter = putters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    # Owner.

    def __len__(self) -> int:
        return len(self.items)

    def close(self) -> None:
        """Refuse new items; workers finish what is queued, then stop."""
        self.closed = True
        self.wake_putters()
        getters = self._getters
        while getters:
            waiter = getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def drain(self) -> list[Any]:
        """Remove and return every item still waiting (for cancellation)."""
        taken = list(self.items)
        self.items.clear()
        return taken
