"""The bounded queue between producers and worker tasks on one event loop.

Why not :class:`asyncio.Queue`: every ``get`` and ``put`` there is a
coroutine call plus a wake-up of the other side, which costs more than a
job like ``await asyncio.sleep(0)``. Here the queue is a plain deque:

* workers pop with :meth:`collections.deque.popleft` and only await a
  future when the queue is empty;
* producers append directly and only await a future when it is full;
* a blocked producer is woken once the queue has drained to ``low_water``,
  so that one wake-up is paid for by many jobs instead of one.

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
        "_loop",
        "closed",
        "getters",
        "items",
        "low_water",
        "maxsize",
        "putters",
    )

    def __init__(
        self, maxsize: int, loop: asyncio.AbstractEventLoop, workers: int
    ) -> None:
        self.maxsize = maxsize
        #: A blocked producer resumes once the queue is down to this length:
        #: half, so that it refills many slots per wake-up, but no lower
        #: than what the workers may take in one turn of the loop, or they
        #: would run dry before the producer's next turn.
        self.low_water = max(maxsize // 2, min(maxsize - 1, workers))
        #: The jobs. Workers pop from it directly; see the module docstring.
        self.items: deque[Any] = deque()
        #: Producers waiting for room; a worker that sees it non-empty
        #: calls :meth:`wake_putters` once the queue is at ``low_water``.
        self.putters: deque[asyncio.Future[None]] = deque()
        self.closed = False
        #: Workers sleeping until an item arrives; see wake_getter().
        self.getters: deque[asyncio.Future[None]] = deque()
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
        if self.getters:
            self.wake_getter()
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

    async def put_many(self, batch: list[Any]) -> None:
        """Append every item of ``batch`` in order, waiting for room as needed.

        Cost: one ``extend`` for the part that fits at once. If cancelled
        while waiting, the items before the one it waited on stay queued.

        Raises:
            QueueClosed: the queue was closed, before or while waiting.
        """
        if self.closed:
            raise QueueClosed
        items = self.items
        room = self.maxsize - len(items)
        items.extend(batch[:room] if room < len(batch) else batch)
        for _ in range(min(len(self.getters), len(batch), room)):
            self.wake_getter()
        for item in batch[room:] if room < len(batch) else ():
            await self.put(item)

    def wake_getter(self) -> None:
        """Wake one sleeping worker, if any is still waiting."""
        getters = self.getters
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
            self.getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if not waiter.done():
                    self.getters.remove(waiter)
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
        getters = self.getters
        while getters:
            waiter = getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def drain(self) -> list[Any]:
        """Remove and return every item still waiting (for cancellation)."""
        taken = list(self.items)
        self.items.clear()
        return taken
