"""The engine under Dispatcher and stream: queue, backend, options, life cycle.

A :class:`Pool` takes jobs, runs them on a backend and reports each outcome
to a sink; what is done with outcomes (kept until ``wait()`` by a
Dispatcher, handed out one by one by ``stream``) is the sink's business.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from ._backends import Backend, Sink, WorkerOptions, resolve
from ._errors import JobCancelled
from ._job import JobLike
from ._progress import Progress, check_progress, wanted
from ._queue import JobQueue, QueueClosed
from ._ratelimit import RateLimiter, check_rate
from ._retry import Retry, Tracked
from ._stats import Statistics, percentiles

__all__ = [
    "Pool",
    "PoolSink",
    "check_callable",
    "check_size",
    "check_timeout",
]

R = TypeVar("R")

NEW, RUNNING, STOPPING, FINISHED = "new", "running", "stopping", "finished"

#: How many recent job durations ``metrics=True`` keeps for percentiles.
LATENCY_WINDOW = 4096


def check_size(name: str, value: object) -> int:
    """Return ``value`` if it is an int of at least 1, else raise clearly."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def check_timeout(timeout: object) -> float | None:
    """Return ``timeout`` as a float of seconds, or None; refuse bad values."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number, got {type(timeout).__name__}")
    if not timeout > 0:
        raise ValueError(f"timeout must be more than 0 seconds, got {timeout}")
    return float(timeout)


def check_callable(name: str, fn: Any) -> Any:
    """Return ``fn`` if it is None or callable, else raise ``TypeError``."""
    if fn is not None and not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    return fn


class PoolSink(Sink, Protocol):
    """A sink that also counts, so that the pool can report statistics."""

    @property
    def succeeded(self) -> int: ...

    @property
    def failed(self) -> int: ...

    @property
    def cancelled(self) -> int: ...

    @property
    def recent(self) -> deque[float] | None:
        """Recent job durations for the latency percentiles, if measured."""

    def cancel(self, job: Any, error: JobCancelled) -> None:
        """Record ``job`` as cancelled before it started."""


class Pool(Generic[R]):
    """Workers behind a bounded queue, reporting to a sink; used once."""

    def __init__(
        self,
        workers: int,
        queue_size: int,
        sink: PoolSink,
        *,
        backend: str | Backend = "thread",
        timeout: float | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        finalizer: Callable[[], object] | None = None,
        max_jobs_per_worker: int | None = None,
        retry: Retry | None = None,
        rate_limit: float | None = None,
        progress: bool | str = False,
        total: int | None = None,
    ) -> None:
        self._workers = check_size("workers", workers)
        check_size("queue_size", queue_size)
        rate = check_rate(rate_limit)
        self._limiter = None if rate is None else RateLimiter(rate)
        self._queue = JobQueue(
            queue_size, None if self._limiter is None else self._limiter.wait
        )
        self._backend = resolve(backend)
        self._options = WorkerOptions(
            timeout=check_timeout(timeout),
            initializer=check_callable("initializer", initializer),
            initargs=tuple(initargs),
            finalizer=check_callable("finalizer", finalizer),
            max_jobs_per_worker=(
                None
                if max_jobs_per_worker is None
                else check_size("max_jobs_per_worker", max_jobs_per_worker)
            ),
        )
        if retry is not None and not isinstance(retry, Retry):
            raise TypeError(
                f"retry must be a bigopool.Retry, got {type(retry).__name__}"
            )
        self._retry = retry
        self._progress_wanted = wanted(check_progress(progress))
        self._progress: Progress | None = None
        self._total = total

        self._sink = sink
        self._state = NEW
        self._state_lock = threading.Lock()
        self._finished = threading.Event()
        self._started_at = 0.0
        self._ended_at: float | None = None

        # Bound once: enqueue() uses them for every job.
        self._ready_types = self._backend.ready_types
        self._prepare: Callable[[Any], Any] = self._backend.prepare
        if retry is not None:
            # Every job must be wrapped: no type may skip prepare().
            self._ready_types = frozenset()
            self._prepare = self._prepare_with_retry

    @property
    def workers(self) -> int:
        """How many workers run jobs."""
        return self._workers

    @property
    def queue_size(self) -> int:
        """How many jobs may wait before ``enqueue`` blocks."""
        return self._queue.maxsize

    @property
    def backend(self) -> Backend:
        """The backend the jobs run on."""
        return self._backend

    def run(self) -> Any:
        """Start the workers and return the pool.

        Raises:
            RuntimeError: ``run()`` was called before.
            ImportError: ``progress`` needs tqdm and it is not installed.
        """
        with self._state_lock:
            if self._state is not NEW:
                raise RuntimeError(
                    f"run() was already called on this dispatcher "
                    f"(it is {self._state}); a dispatcher is used once"
                )
            self._started_at = time.monotonic()
            self._backend.start(self._workers, self._queue, self._sink, self._options)
            if self._progress_wanted:
                try:
                    self._progress = Progress(self.statistics, total=self._total)
                except BaseException:
                    # No tqdm: stop the workers just started, then say so.
                    self._queue.close()
                    self._backend.join()
                    raise
            self._state = RUNNING
        return self

    def enqueue(self, job: JobLike[R], /, *more: JobLike[R]) -> None:
        """Add jobs, waiting while ``queue_size`` jobs are already waiting.

        Every job is checked before any is added, so a bad one adds none.
        Safe to call from several threads at once. Cost: well under a
        microsecond per job when the queue has room.

        Raises:
            TypeError: a job has no ``execute()`` and is not callable, or the
                backend cannot run it (for example it cannot be pickled).
            RuntimeError: ``run()`` was not called yet, or ``wait()`` was.
        """
        if self._state is not RUNNING:
            raise self._not_running("enqueue()")

        if not more:
            # JobQueue.put, inlined: this is the per-job cost of enqueueing.
            item: Any = job
            if type(item) not in self._ready_types:
                item = self._prepare(item)
            queue = self._queue
            items = queue.items
            if len(items) >= queue.maxsize:
                self._wait_for_room()
            items.append(item)
            if queue.closed:
                self._retract(item)
            if queue.sleeping_workers:
                queue.wake_worker()
            return

        put = self._queue.put
        prepare = self._prepare
        try:
            for item in [prepare(one) for one in (job, *more)]:
                put(item)
        except QueueClosed:
            raise self._not_running("enqueue()") from None

    def _wait_for_room(self) -> None:
        try:
            self._queue.wait_for_room()
        except QueueClosed:
            raise self._not_running("enqueue()") from None

    def _retract(self, item: Any) -> None:
        try:
            self._queue.retract(item)
        except QueueClosed:
            raise self._not_running("enqueue()") from None

    def try_enqueue(self, job: JobLike[R]) -> bool:
        """Add ``job`` if there is room and return True; return False if not.

        Never blocks. Raises like :meth:`enqueue`.
        """
        if self._state is not RUNNING:
            raise self._not_running("try_enqueue()")

        item = self._prepare(job)
        try:
            return self._queue.try_put(item)
        except QueueClosed:
            raise self._not_running("try_enqueue()") from None

    def statistics(self) -> Statistics:
        """Return a snapshot of the pool's counters.

        Cost: a few attribute reads; with ``metrics=True`` also a sort of
        the recent durations (at most a few thousand).
        """
        sink = self._sink
        succeeded, failed, cancelled = sink.succeeded, sink.failed, sink.cancelled
        waiting = len(self._queue)
        running = self._backend.running()
        end = time.monotonic() if self._ended_at is None else self._ended_at
        recent = sink.recent
        p50, p90, p99 = (
            percentiles(list(recent)) if recent is not None else (None, None, None)
        )
        return Statistics(
            submitted=succeeded + failed + cancelled + waiting + running,
            waiting=waiting,
            running=running,
            succeeded=succeeded,
            failed=failed,
            cancelled=cancelled,
            elapsed=end - self._started_at if self._started_at else 0.0,
            latency_p50=p50,
            latency_p90=p90,
            latency_p99=p99,
        )

    # Internals shared with the public subclasses.

    def _prepare_with_retry(self, job: Any) -> Any:
        return self._backend.prepare(Tracked(job, self._retry))

    def _finish(self, *, cancel_pending: bool) -> bool:
        """Close, drain or cancel, join; True for the caller that did it.

        Other callers wait for the first one and get False.
        """
        with self._state_lock:
            state = self._state
            if state is NEW:
                raise RuntimeError("wait() needs run() to be called first")
            if state is RUNNING:
                self._state = STOPPING

        if state is not RUNNING:
            self._finished.wait()
            return False

        try:
            self._queue.close()
            if cancel_pending:
                # Nothing new starts; what runs is stopped where the backend
                # can stop it (processes, Dask) and finishes where it cannot.
                self._cancel_pending()
                self._backend.interrupt()
            self._backend.join()
        except BaseException:
            # Interrupted while waiting (Ctrl-C): give up on what has not
            # started, stop what the backend can stop, then let it propagate.
            self._cancel_pending()
            self._backend.interrupt()
            self._backend.join()
            self._set_finished()
            raise

        self._set_finished()
        return True

    def _cancel_pending(self) -> None:
        job_of = self._backend.job_of
        for item in self._queue.drain():
            self._sink.cancel(job_of(item), JobCancelled("the pool shut down first"))

    def _set_finished(self) -> None:
        self._ended_at = time.monotonic()
        if self._progress is not None:
            self._progress.close()
        self._state = FINISHED
        self._finished.set()

    def _not_running(self, call: str) -> RuntimeError:
        if self._state is NEW:
            return RuntimeError(f"{call} needs run() to be called first")
        return RuntimeError(
            f"{call} after wait(): this dispatcher no longer takes jobs"
        )


def recent_durations(metrics: bool) -> deque[float] | None:
    """The bounded buffer a sink offers for durations, if metrics are on."""
    if not isinstance(metrics, bool):
        raise TypeError(f"metrics must be a bool, got {type(metrics).__name__}")
    return deque(maxlen=LATENCY_WINDOW) if metrics else None
