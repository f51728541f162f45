"""The worker tasks: exactly ``count`` of them, each draining the queue.

A worker runs one job at a time: it pops the next item, awaits it, and
reports the outcome to its :class:`Sink`. Pending jobs are never tasks of
their own, so memory stays bounded by the queue and the workers however
many jobs flow through.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, Protocol

from .._errors import JobCancelled
from ._limits import RateLimiter, call_with_timeout
from ._queue import AsyncJobQueue

__all__ = ["Sink", "Workers", "being_cancelled", "outlast"]


class Sink(Protocol):
    """Where workers report outcomes; ``item`` is what the queue held.

    ``results``, when not None, is a list that successful results are
    appended to directly instead of calling :meth:`success`: the fast path
    of a dispatcher that only collects results. ``started`` is a
    :func:`time.monotonic` reading when the sink asked for times
    (``timed``), else 0.0.
    """

    @property
    def results(self) -> list[Any] | None: ...

    @property
    def timed(self) -> bool: ...

    def success(self, item: Any, result: Any, started: float) -> None: ...

    def failure(self, item: Any, error: BaseException, started: float) -> None: ...


class Workers:
    """A fixed set of worker tasks draining one :class:`AsyncJobQueue`."""

    def __init__(
        self,
        count: int,
        queue: AsyncJobQueue,
        sink: Sink,
        *,
        timeout: float | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._count = count
        self._queue = queue
        self._sink = sink
        self._timeout = timeout
        self._limiter = limiter
        self.tasks: list[asyncio.Task[None]] = []
        #: Jobs taken from the queue so far, for statistics. Only the loop's
        #: thread writes it, so a plain counter is exact.
        self.taken = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Create the worker tasks; they start at the loop's next turn."""
        self.tasks = [
            loop.create_task(self._worker(), name=f"bigopool-aio-worker-{n}")
            for n in range(self._count)
        ]

    async def join(self) -> None:
        """Wait until every worker has stopped; the queue must be closed.

        Cancelling the caller does not cancel the workers.
        """
        pending = [task for task in self.tasks if not task.done()]
        if pending:
            await asyncio.wait(pending)

    def cancel(self) -> None:
        """Ask every worker to stop now; running jobs get ``CancelledError``.

        Each job a worker held is reported as :class:`JobCancelled`.
        """
        for task in self.tasks:
            task.cancel()

    async def settle(self) -> None:
        """Wait for the workers after :meth:`cancel`; see :func:`outlast`."""
        await outlast(self.tasks)

    def _worker(self) -> Coroutine[Any, Any, None]:
        results = self._sink.results
        limited = self._timeout is not None or self._limiter is not None
        if results is None or self._sink.timed or limited:
            return self._work()
        return self._work_plain(results)

    async def _work_plain(self, results: list[Any]) -> None:
        # _work() without a rate limit, a timeout or times: the dispatcher's
        # common case, where every check left out is paid once per job.
        queue = self._queue
        items = queue.items
        putters = queue.putters
        low_water = queue.low_water
        sink = self._sink

        while True:
            try:
                item = items.popleft()
            except IndexError:
                if await queue.wait_for_items():
                    continue
                return

            self.taken += 1
            if putters and len(items) <= low_water:
                queue.wake_putters()

            try:
                result = await item()
            except asyncio.CancelledError as error:
                if being_cancelled():
                    sink.failure(item, JobCancelled("cancelled while running"), 0.0)
                    raise
                sink.failure(item, _cancelled_itself(error), 0.0)
            except BaseException as error:  # the job's error, for the caller
                sink.failure(item, error, 0.0)
            else:
                results.append(result)

    async def _work(self) -> None:
        queue = self._queue
        items = queue.items
        putters = queue.putters
        low_water = queue.low_water
        sink = self._sink
        results = sink.results
        timed = sink.timed
        timeout = self._timeout
        limiter = self._limiter

        while True:
            try:
                item = items.popleft()
            except IndexError:
                if await queue.wait_for_items():
                    continue
                return

            self.taken += 1
            if putters and len(items) <= low_water:
                queue.wake_putters()

            if limiter is not None:
                try:
                    await limiter.acquire()
                except asyncio.CancelledError:
                    sink.failure(item, JobCancelled("cancelled before it started"), 0.0)
                    raise

            started = time.monotonic() if timed else 0.0
            try:
                if timeout is None:
                    result = await item()
                else:
                    result = await call_with_timeout(item, timeout)
            except asyncio.CancelledError as error:
                if being_cancelled():
                    cancelled = JobCancelled("cancelled while running")
                    sink.failure(item, cancelled, started)
                    raise
                # The job raised CancelledError of its own (it awaited
                # something that was cancelled): that is its failure.
                sink.failure(item, _cancelled_itself(error), started)
            except BaseException as error:
                sink.failure(item, error, started)
            else:
                if results is not None:
                    results.append(result)
                else:
                    sink.success(item, result, started)


async def outlast(tasks: list[asyncio.Task[Any]]) -> None:
    """Wait until every task is done, even if the caller is cancelled
    meanwhile: returning early would leave them running unseen. A
    cancellation received while waiting is raised once they are done.
    """
    cancelled = False
    while pending := [task for task in tasks if not task.done()]:
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


def being_cancelled() -> bool:
    """True when the current task has a cancellation request pending."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _cancelled_itself(error: asyncio.CancelledError) -> JobCancelled:
    wrapped = JobCancelled("the job raised CancelledError without being cancelled")
    wrapped.__cause__ = error
    return wrapped
