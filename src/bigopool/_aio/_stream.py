"""Streaming: run jobs pulled lazily from an iterable, hand out outcomes.

One feeder task pulls jobs from the source only while fewer than
``queue_size + 2 * workers`` jobs are admitted and not yet handed out. That
one count bounds everything at once: the queue, the running jobs and the
outcomes waiting for the consumer, including the reorder buffer of an
ordered stream. When the consumer is slow, or an early job is slow in an
ordered stream, the feeder stops pulling until outcomes are taken.

Why twice ``workers``: the consumer takes outcomes once per turn of the
loop, so up to one round of finished outcomes sits between the workers and
the consumer. Counted against the queue's share, they would leave workers
idle whenever ``queue_size`` is close to ``workers``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from .._errors import JobCancelled
from .._outcome import Outcome
from .._pool import check_size, check_timeout
from .._progress import Progress, check_progress, wanted
from .._retry import Retry
from .._stats import Statistics
from ._dispatcher import running_loop
from ._job import AsyncJobLike, check_retry, runner_for
from ._limits import RateLimiter, check_rate
from ._queue import AsyncJobQueue
from ._workers import Workers, outlast

__all__ = ["Stream", "stream"]

R = TypeVar("R")


def stream(
    jobs: Iterable[AsyncJobLike[R]] | AsyncIterable[AsyncJobLike[R]],
    *,
    workers: int,
    queue_size: int,
    ordered: bool = False,
    timeout: float | None = None,
    rate_limit: float | None = None,
    retry: Retry | None = None,
    progress: bool | str = False,
) -> Stream[R]:
    """Run ``jobs`` on ``workers`` tasks and iterate over their outcomes.

    ``jobs`` is any iterable or async iterable of jobs (see
    :class:`Dispatcher`); it is pulled from only as capacity frees, so a
    generator of millions of jobs is fine. Each
    :class:`~bigopool.Outcome` is yielded as its job finishes or, with
    ``ordered=True``, in input order. Breaking out of ``async for``, or
    :meth:`Stream.aclose`, stops the stream and cancels what runs.
    ``progress`` draws a bar as on the thread dispatcher, and
    :meth:`Stream.statistics` gives the same snapshot.

    If the source raises, or yields something that is not a job, no more
    jobs are pulled; the outcomes of the jobs already taken are yielded,
    then that error is raised from the iterator.

    Cost: ``workers`` tasks plus one feeder task; at most
    ``queue_size + 2 * workers`` jobs (queued, running, or finished and
    not yet handed out) are held at any time, whatever the source's length.

    Raises:
        TypeError: ``jobs`` is not iterable, or an option has the wrong type.
        ValueError: ``workers`` or ``queue_size`` is below 1, or
            ``timeout`` or ``rate_limit`` is not above 0.
    """
    source: Iterator[Any] | AsyncIterator[Any]
    if hasattr(type(jobs), "__aiter__"):
        source = aiter(jobs)  # type: ignore[arg-type]
    else:
        try:
            source = iter(jobs)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(
                f"jobs must be an iterable or async iterable of jobs, "
                f"got {type(jobs).__name__}"
            ) from None

    return Stream(
        _Flow(
            source,
            workers=check_size("workers", workers),
            queue_size=check_size("queue_size", queue_size),
            ordered=bool(ordered),
            timeout=check_timeout(timeout),
            rate_limit=check_rate(rate_limit),
            progress=wanted(check_progress(progress)),
            retry=check_retry(retry),
        )
    )


class Stream(AsyncIterator[Outcome[R]], Generic[R]):
    """The async iterator :func:`stream` returns; also an async context
    manager that closes it on exit.

    It starts on the first ``__anext__``, on the loop running it.
    """

    def __init__(self, flow: _Flow) -> None:
        # The tasks reference the flow, never this object, so dropping the
        # iterator (``break`` in ``async for``) finalises it at once.
        self._flow = flow

    def statistics(self) -> Statistics:
        """A :class:`~bigopool.Statistics` snapshot (no latency percentiles)."""
        return self._flow.statistics()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Outcome[R]:
        outcome = self._flow.take()
        if outcome is not None:
            return outcome
        return await self._flow.next()

    async def aclose(self) -> None:
        """Stop pulling jobs, cancel the running ones and wait for them.

        Outcomes not yet handed out are dropped. Calling it again, or
        after the stream ended, does nothing.
        """
        await self._flow.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Abandoned without aclose(): cancel what runs. The tasks finish on
        # the loop's next turns; nothing here may await.
        self._flow.abandon()


class _Entry:
    """A queued job of a stream: callable like a runner, with its index."""

    __slots__ = ("index", "job", "runner")

    def __init__(self, index: int, job: Any, runner: Any) -> None:
        self.index = index
        self.job = job
        self.runner = runner

    def __call__(self) -> Any:
        return self.runner()


class _Flow:
    """The state of one stream, shared by its feeder, workers and consumer."""

    # The sink protocol of Workers: outcomes need their start times.
    results = None
    timed = True

    def __init__(
        self,
        source: Iterator[Any] | AsyncIterator[Any],
        *,
        workers: int,
        queue_size: int,
        ordered: bool,
        timeout: float | None,
        rate_limit: float | None,
        progress: bool = False,
        retry: Retry | None = None,
    ) -> None:
        self._source = source
        self._retry = retry
        self._workers = workers
        self._queue_size = queue_size
        self._ordered = ordered
        self._timeout = timeout
        self._rate_limit = rate_limit

        # See the module docstring for the second helping of workers.
        self._capacity = queue_size + 2 * workers
        # The feeder resumes once this many admissions are free, so one
        # wake-up of the feeder admits a batch of jobs.
        self._resume_below = self._capacity - max(1, queue_size // 2)
        self._pulled = 0
        self._admitted = 0
        self._ready: deque[Outcome[Any]] = deque()
        self._reorder: dict[int, Outcome[Any]] = {}
        self._next_index = 0

        self._started = False
        self._closed = False
        self._source_done = False
        self._source_error: BaseException | None = None
        self._consumer: asyncio.Future[None] | None = None
        self._feeder_waiter: asyncio.Future[None] | None = None
        self._queue: AsyncJobQueue | None = None
        self._pool: Workers | None = None
        self._feeder: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

        # For statistics() and the progress bar, which reads them from its
        # own thread: each is written by the loop's thread only.
        self._progress_wanted = progress
        self._progress: Progress | None = None
        self._handed = 0
        self._failed = 0
        self._cancelled = 0
        self._started_at = 0.0
        self._ended_at: float | None = None

    # Consumer side.

    async def next(self) -> Outcome[Any]:
        if not self._started:
            self._start()

        while True:
            if self._closed:
                raise StopAsyncIteration

            outcome = self.take()
            if outcome is not None:
                return outcome

            if self._source_done and self._admitted == 0:
                await self._finish()
                error, self._source_error = self._source_error, None
                if error is not None:
                    raise error
                raise StopAsyncIteration

            assert self._loop is not None
            waiter = self._loop.create_future()
            self._consumer = waiter
            try:
                await waiter
            finally:
                self._consumer = None

    def take(self) -> Outcome[Any] | None:
        """Hand out the next outcome if it is ready, else return None."""
        if self._ordered:
            outcome = self._reorder.pop(self._next_index, None)
            if outcome is None:
                return None
            self._next_index += 1
        elif self._ready:
            outcome = self._ready.popleft()
        else:
            return None

        self._handed += 1
        self._admitted -= 1
        waiter = self._feeder_waiter
        if waiter is not None and self._admitted <= self._resume_below:
            self._feeder_waiter = None
            if not waiter.done():
                waiter.set_result(None)
        return outcome

    def _start(self) -> None:
        loop = running_loop("iterating a bigopool.aio.stream")
        limiter = None if self._rate_limit is None else RateLimiter(self._rate_limit)
        self._loop = loop
        self._queue = AsyncJobQueue(self._queue_size, loop, self._workers)
        self._pool = Workers(
            self._workers, self._queue, self, timeout=self._timeout, limiter=limiter
        )
        self._pool.start(loop)
        self._feeder = loop.create_task(self._feed(), name="bigopool-aio-feeder")
        self._started = True
        self._started_at = time.monotonic()
        if self._progress_wanted:
            self._progress = Progress(self.statistics)

    def statistics(self) -> Statistics:
        finished = self._handed + len(self._ready) + len(self._reorder)
        waiting = 0 if self._queue is None else len(self._queue)
        submitted = self._pulled
        end = time.monotonic() if self._ended_at is None else self._ended_at
        return Statistics(
            submitted=submitted,
            waiting=waiting,
            running=max(0, submitted - waiting - finished),
            succeeded=finished - self._failed - self._cancelled,
            failed=self._failed,
            cancelled=self._cancelled,
            elapsed=end - self._started_at if self._started_at else 0.0,
        )

    def _stop_progress(self) -> None:
        if self._ended_at is None:
            self._ended_at = time.monotonic()
        if self._progress is not None:
            self._progress.close()
            self._progress = None

    async def _finish(self) -> None:
        # The source is exhausted and every outcome handed out: the workers
        # are leaving their loops; wait so that none outlives the stream.
        self._closed = True
        assert self._pool is not None
        await self._pool.settle()
        self._stop_progress()

    async def close(self) -> None:
        if self._closed or not self._started:
            self._closed = True
            return
        self.abandon()
        assert self._pool is not None and self._feeder is not None
        await outlast([*self._pool.tasks, self._feeder])

    def abandon(self) -> None:
        """Cancel the feeder and the workers without waiting for them."""
        if self._closed or not self._started:
            self._closed = True
            return
        self._closed = True
        assert self._queue is not None and self._pool is not None
        assert self._feeder is not None
        try:
            self._feeder.cancel()
            self._queue.close()
            self._queue.drain()
            self._pool.cancel()
        except RuntimeError:
            # The loop is already closed: its tasks are gone with it.
            pass
        self._stop_progress()
        self._ready.clear()
        self._reorder.clear()

    # Feeder side.

    async def _feed(self) -> None:
        # Both loops inline the common case: room to admit and to queue,
        # so a job costs no suspension of the feeder.
        queue = self._queue
        assert queue is not None
        capacity = self._capacity
        try:
            if isinstance(self._source, AsyncIterator):
                async for job in self._source:
                    if self._admitted >= capacity:
                        await self._room()
                    entry = self._entry(job)
                    if not queue.try_put(entry):
                        await queue.put(entry)
            else:
                for job in self._source:
                    if self._admitted >= capacity:
                        await self._room()
                    entry = self._entry(job)
                    if not queue.try_put(entry):
                        await queue.put(entry)
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # raised to the consumer at the end
            self._source_error = error

        self._source_done = True
        assert self._queue is not None
        self._queue.close()
        self._wake_consumer()

    async def _room(self) -> None:
        # Sleep until the consumer has taken enough outcomes; see take().
        assert self._loop is not None
        while self._admitted >= self._capacity:
            waiter = self._loop.create_future()
            self._feeder_waiter = waiter
            await waiter

    def _entry(self, job: Any) -> _Entry:
        """Count ``job`` as admitted and wrap it for the queue.

        Raises:
            TypeError: ``job`` is not a job (see :func:`runner_of`).
        """
        entry = _Entry(self._pulled, job, runner_for(job, self._retry))
        self._pulled += 1
        self._admitted += 1
        return entry

    # Worker side: the Sink protocol.

    def success(self, item: _Entry, result: Any, started: float) -> None:
        if self._closed:
            return
        outcome = Outcome(
            item.job, result, None, started, time.monotonic(), _attempts(item)
        )
        if self._ordered:
            self._reorder[item.index] = outcome
        else:
            self._ready.append(outcome)
        waiter = self._consumer
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def failure(self, item: _Entry, error: BaseException, started: float) -> None:
        if isinstance(error, JobCancelled):
            self._cancelled += 1
        else:
            self._failed += 1
        finished = time.monotonic()
        if not started:
            # Cancelled before it started: it ran for no time at all.
            started = finished
        self._deliver(
            item, Outcome(item.job, None, error, started, finished, _attempts(item))
        )

    def _deliver(self, item: _Entry, outcome: Outcome[Any]) -> None:
        if self._closed:
            return
        if self._ordered:
            self._reorder[item.index] = outcome
        else:
            self._ready.append(outcome)
        self._wake_consumer()

    def _wake_consumer(self) -> None:
        waiter = self._consumer
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _attempts(item: _Entry) -> int:
    return getattr(item.runner, "attempts", 1) or 1
