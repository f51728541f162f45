"""The asyncio worker pool: ``workers`` tasks behind a bounded queue."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from .._errors import Errors, JobCancelled
from .._job import job_of, runner_of
from .._pool import check_size, check_timeout
from .._progress import Progress, check_progress, wanted
from .._retry import Retry
from .._stats import Statistics
from ._job import AsyncJobLike, AsyncRetrying, check_retry, runner_for
from ._limits import RateLimiter, check_rate
from ._queue import AsyncJobQueue, QueueClosed
from ._workers import Workers

__all__ = ["Dispatcher", "running_loop"]

R = TypeVar("R")

_NEW, _RUNNING, _STOPPING, _FINISHED = "new", "running", "stopping", "finished"


def running_loop(call: str) -> asyncio.AbstractEventLoop:
    """Return the running loop, or explain that ``call`` needs one.

    Raises:
        RuntimeError: no event loop is running in this thread.
    """
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"{call} must be called from a coroutine running on an event loop"
        ) from None


class Dispatcher(Generic[R]):
    """Run coroutine jobs on ``workers`` tasks, holding at most
    ``queue_size`` waiting.

    A job is an object with an ``async def execute()`` method, or any
    zero-argument callable returning an awaitable, such as a coroutine
    function or a lambda calling one. The awaited value is its result, what
    it raises is its error. The life of a dispatcher is ``run()``, any
    number of ``await enqueue()`` calls, then one ``await wait()`` returning
    ``(results, errors)``; ``async with`` does the first and the last. A
    dispatcher is used once, on the loop that called ``run()``.

    ``timeout`` cancels a job still running after that many seconds and
    records :class:`~bigopool.JobTimeout` for it. ``rate_limit`` starts at
    most that many jobs per second, evenly spaced. ``retry`` awaits a
    failing job again under a :class:`~bigopool.Retry` policy (never on
    cancellation). ``progress`` draws a bar
    as on the thread dispatcher (``True`` on a terminal, ``"always"``), and
    :meth:`statistics` gives the same snapshot.

    Cost: exactly ``workers`` tasks, created by ``run()``; a waiting job
    costs one deque slot, never a task, so memory is bounded by
    ``queue_size`` plus ``workers`` whatever the number of jobs.

    Raises:
        TypeError: ``workers``, ``queue_size``, ``timeout`` or
            ``rate_limit`` has the wrong type.
        ValueError: ``workers`` or ``queue_size`` is below 1, or
            ``timeout`` or ``rate_limit`` is not above 0.
    """

    def __init__(
        self,
        workers: int,
        queue_size: int,
        *,
        timeout: float | None = None,
        rate_limit: float | None = None,
        retry: Retry | None = None,
        progress: bool | str = False,
    ) -> None:
        self._workers = check_size("workers", workers)
        self._retry = check_retry(retry)
        self._queue_size = check_size("queue_size", queue_size)
        self._timeout = check_timeout(timeout)
        self._rate_limit = check_rate(rate_limit)
        self._results: list[R] = []
        self._errors = Errors()
        self._state = _NEW
        self._queue: AsyncJobQueue | None = None
        self._pool: Workers | None = None
        self._finished: asyncio.Event | None = None
        self._progress_wanted = wanted(check_progress(progress))
        self._progress: Progress | None = None
        self._drained = 0
        self._started_at = 0.0
        self._ended_at: float | None = None

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def queue_size(self) -> int:
        return self._queue_size

    def run(self) -> Self:
        """Start the worker tasks on the running loop; return the dispatcher.

        Raises:
            RuntimeError: ``run()`` was called before, or no loop is running.
        """
        if self._state is not _NEW:
            raise RuntimeError(
                f"run() was already called on this dispatcher "
                f"(it is {self._state}); a dispatcher is used once"
            )
        loop = running_loop("run()")
        limiter = None if self._rate_limit is None else RateLimiter(self._rate_limit)
        self._queue = AsyncJobQueue(self._queue_size, loop, self._workers)
        sink = _Collector(self._results, self._errors)
        self._pool = Workers(
            self._workers, self._queue, sink, timeout=self._timeout, limiter=limiter
        )
        self._finished = asyncio.Event()
        self._started_at = time.monotonic()
        if self._progress_wanted:
            self._progress = Progress(self.statistics)
        self._pool.start(loop)
        self._state = _RUNNING
        return self

    def statistics(self) -> Statistics:
        """Return a :class:`~bigopool.Statistics` snapshot of the pool.

        Latency percentiles are not measured here: they stay ``None``.
        Cost: one pass over the errors, to count the cancelled ones.
        """
        errors = self._errors.all()
        cancelled = sum(isinstance(error, JobCancelled) for error in errors)
        succeeded = len(self._results)
        failed = len(errors) - cancelled
        finished = succeeded + failed + cancelled
        waiting = 0 if self._queue is None else len(self._queue)
        taken = 0 if self._pool is None else self._pool.taken
        running = max(0, taken - (finished - self._drained))
        end = time.monotonic() if self._ended_at is None else self._ended_at
        return Statistics(
            submitted=finished + waiting + running,
            waiting=waiting,
            running=running,
            succeeded=succeeded,
            failed=failed,
            cancelled=cancelled,
            elapsed=end - self._started_at if self._started_at else 0.0,
        )

    async def enqueue(self, *jobs: AsyncJobLike[R]) -> None:
        """Add jobs, waiting while ``queue_size`` jobs are already waiting.

        Every job is checked before any is added, so a bad one adds none.
        Cost when there is room: a deque append per job, no suspension. If
        the call is cancelled while it waits for room, the jobs before the
        one it waited on are queued and the others are not.

        Raises:
            TypeError: a job has no ``execute()`` and is not callable.
            RuntimeError: ``run()`` was not called yet, or ``wait()`` was
                (also when ``wait()`` is called while this call waits).
        """
        queue = self._queue
        if self._state is not _RUNNING or queue is None:
            raise self._not_running("enqueue()")

        try:
            if len(jobs) == 1:
                # The common case inlines runner_of() and try_put(); the
                # state check above already rules out a closed queue.
                job = jobs[0]
                runner = getattr(job, "execute", job)
                if not callable(runner):
                    runner = runner_of(job)  # raises the TypeError
                if self._retry is not None:
                    runner = AsyncRetrying(job, runner, self._retry)
                items = queue.items
                if len(items) < self._queue_size:
                    items.append(runner)
                    if queue.getters:
                        queue.wake_getter()
                else:
                    await queue.put(runner)
            else:
                await queue.put_many([runner_for(job, self._retry) for job in jobs])
        except QueueClosed:
            raise self._not_running("enqueue()") from None

    def try_enqueue(self, job: AsyncJobLike[R]) -> bool:
        """Add ``job`` if there is room and return True; return False if not.

        Never waits; call it from the loop's thread. Raises like
        :meth:`enqueue`.
        """
        queue = self._queue
        if self._state is not _RUNNING or queue is None:
            raise self._not_running("try_enqueue()")

        runner = runner_for(job, self._retry)
        try:
            return queue.try_put(runner)
        except QueueClosed:
            raise self._not_running("try_enqueue()") from None

    async def wait(self) -> tuple[list[R], Errors]:
        """Stop taking jobs, wait for every enqueued job, return the outcome.

        ``results`` holds what the successful jobs returned, in the order
        they finished; ``errors`` holds what the others raised, each with
        its job (see :meth:`Errors.items`). Awaiting ``wait()`` again, or
        from another task, returns the same outcome.

        If the task awaiting ``wait()`` is cancelled (Ctrl-C under
        :func:`asyncio.run` cancels the main task), the running jobs are
        cancelled, they and the jobs not yet started are recorded as
        :class:`JobCancelled`, and the cancellation propagates once every
        worker has stopped; :attr:`results` and :attr:`errors` then hold
        the outcome.

        A job that raised ``KeyboardInterrupt`` or ``SystemExit`` has it
        recorded as its error, and it is re-raised here once every job
        has finished.

        Raises:
            RuntimeError: ``run()`` was not called.
        """
        return await self._finish(cancel_pending=False)

    async def shutdown(self, *, cancel_pending: bool = False) -> tuple[list[R], Errors]:
        """Like :meth:`wait`, but with ``cancel_pending=True`` the jobs still
        waiting are not run and the running ones are cancelled: each is
        recorded as a :class:`JobCancelled`.
        """
        return await self._finish(cancel_pending=cancel_pending)

    @property
    def results(self) -> list[R]:
        """The successful jobs' results, once the dispatcher has finished."""
        self._check_finished("results")
        return self._results

    @property
    def errors(self) -> Errors:
        """The failed jobs' errors, once the dispatcher has finished."""
        self._check_finished("errors")
        return self._errors

    async def __aenter__(self) -> Self:
        return self.run()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, asyncio.CancelledError):
            # The body was cancelled: the enclosing task is going away, so
            # stop everything now rather than run the remaining jobs.
            await self._abort()
            return

        # When the body fails, running what is still queued would only
        # delay the caller's error: cancel it, as the thread pool does.
        await self._finish(cancel_pending=exc is not None)

    def __repr__(self) -> str:
        return (
            f"<bigopool.aio.Dispatcher {self._state} workers={self._workers} "
            f"queue_size={self._queue_size}>"
        )

    # Internals.

    async def _finish(self, *, cancel_pending: bool) -> tuple[list[R], Errors]:
        state = self._state
        if state is _NEW:
            raise RuntimeError("wait() needs run() to be called first")
        assert self._queue is not None and self._pool is not None
        assert self._finished is not None

        if state is not _RUNNING:
            # Another call is finishing or has finished: share its outcome.
            await self._finished.wait()
            return self._results, self._errors

        self._state = _STOPPING
        self._queue.close()
        if cancel_pending:
            # Nothing new starts, and what runs is cancelled: a coroutine
            # can be stopped, unlike a thread.
            self._cancel_pending()
            self._pool.cancel()

        try:
            await self._pool.join()
        except asyncio.CancelledError:
            await self._abort()
            raise

        self._set_finished()
        _reraise_interrupts(self._errors)
        return self._results, self._errors

    async def _abort(self) -> None:
        # Give up on what has not started, cancel what runs, and wait for
        # the workers to record it all, so nothing is left pending.
        if self._state is _NEW or self._state is _FINISHED:
            return
        assert self._queue is not None and self._pool is not None
        self._state = _STOPPING
        self._queue.close()
        self._cancel_pending()
        self._pool.cancel()
        try:
            await self._pool.settle()
        finally:
            # settle() waited for every worker even if cancelled again, so
            # the outcome is complete either way.
            self._set_finished()

    def _cancel_pending(self) -> None:
        assert self._queue is not None
        for runner in self._queue.drain():
            self._drained += 1
            self._errors.add(JobCancelled("the pool shut down first"), job_of(runner))

    def _set_finished(self) -> None:
        assert self._finished is not None
        self._ended_at = time.monotonic()
        if self._progress is not None:
            self._progress.close()
        self._state = _FINISHED
        self._finished.set()

    def _not_running(self, call: str) -> RuntimeError:
        if self._state is _NEW:
            return RuntimeError(f"{call} needs run() to be called first")
        return RuntimeError(
            f"{call} after wait(): this dispatcher no longer takes jobs"
        )

    def _check_finished(self, name: str) -> None:
        if self._state is not _FINISHED:
            raise RuntimeError(f"{name} are available once wait() has returned")


class _Collector:
    """The sink of a dispatcher: keeps every result and every error."""

    __slots__ = ("errors", "results")

    timed = False

    def __init__(self, results: list[Any], errors: Errors) -> None:
        self.results = results
        self.errors = errors

    def success(self, item: Any, result: Any, started: float) -> None:
        self.results.append(result)

    def failure(self, item: Any, error: BaseException, started: float) -> None:
        self.errors.add(error, job_of(item))


def _reraise_interrupts(errors: Errors) -> None:
    for error in errors.all():
        if not isinstance(error, Exception):
            raise error
