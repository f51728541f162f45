"""Outcomes one at a time, as jobs finish, with memory bounded end to end.

The consumer iterating a :class:`Stream` also feeds it: each time it asks
for an outcome it first pulls jobs from the caller's iterable, keeping at
most ``queue_size + workers`` jobs between pulling them and taking their
outcomes. So neither the queue, the finished outcomes nor the reorder
buffer of ``ordered=True`` can grow with the number of jobs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from typing import Any, Generic, TypeVar

from ._backends import Backend
from ._errors import JobCancelled
from ._job import EXECUTE_TYPES, as_item
from ._outcome import Outcome
from ._pool import Pool, check_size, recent_durations
from ._retry import Retry, Tracked

__all__ = ["Stream", "stream"]

R = TypeVar("R")


class _Item(Outcome[Any]):
    """A job in a stream, which becomes its own outcome once it has run.

    Reusing one object per job for both keeps the per-job cost of a stream
    close to a Dispatcher's. It is what the pool reports back (not the bare
    job, hence ``wraps_job`` false), so the sink can fill it in.
    """

    __slots__ = ("index", "retry", "target")

    wraps_job = False

    def __init__(self, job: Any, retry: Retry | None, index: int) -> None:
        self.job = job
        self.target = job if type(job) in EXECUTE_TYPES else as_item(job)
        self.retry = retry
        self.index = index
        self.result = None
        self.error = None
        # Where execute() runs in another process, this copy keeps the
        # hand-over time and one attempt: the remote copy's are not sent back.
        self.started = self.finished = time.monotonic()
        self.attempts = 1

    execute = Tracked.execute


class _Signal:
    """Lets one party sleep until another changed what it waits for.

    The sleeper says it sleeps before it looks, and the other side looks at
    that flag after its change, so a wake-up is never lost and the common
    case (nobody asleep) costs the waking side one attribute read.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self.sleeping = False

    def sleep_until(self, ready: Callable[[], bool]) -> None:
        with self._condition:
            while True:
                self.sleeping = True
                if ready():
                    self.sleeping = False
                    return
                self._condition.wait()

    def wake(self) -> None:
        if self.sleeping:
            with self._condition:
                self.sleeping = False
                self._condition.notify_all()


class _StreamSink:
    """Fills in each item as workers report it and hands it to the consumer.

    Only failures and cancellations are counted under a lock: successes are
    what remains of the outcomes delivered, which the consumer side knows.
    Items carry their own start and end times, so with ``metrics=True``
    durations come from them and the workers need no clock of their own.
    """

    # The backend sees no durations buffer; see above.
    durations = None
    results = None

    def __init__(self, ordered: bool, durations: deque[float] | None) -> None:
        self.ordered = ordered
        self.recent = durations
        self.ready: deque[_Item] = deque()
        self.by_index: dict[int, _Item] = {}
        self.consumer = _Signal()
        self.consumed = 0
        self.failed = 0
        self.cancelled = 0
        self._count_lock = threading.Lock()

    @property
    def succeeded(self) -> int:
        buffered = len(self.by_index) if self.ordered else len(self.ready)
        return self.consumed + buffered - self.failed - self.cancelled

    def success(self, item: _Item, result: Any) -> None:
        item.result = result
        item.finished = time.monotonic()
        if self.recent is not None:
            self.recent.append(item.finished - item.started)

        if self.ordered:
            self.by_index[item.index] = item
        else:
            self.ready.append(item)
        if self.consumer.sleeping:
            self.consumer.wake()

    def failure(self, item: _Item, error: BaseException) -> None:
        with self._count_lock:
            self.failed += 1
        item.error = error
        self.success(item, None)

    def cancel(self, item: _Item, error: JobCancelled) -> None:
        with self._count_lock:
            self.cancelled += 1
        item.error = error
        item.started = time.monotonic()
        self.success(item, None)


class Stream(Generic[R]):
    """An iterator of :class:`Outcome` objects; see :func:`stream`.

    Iterate it once. Leaving the loop early (``break``, an exception, Ctrl-C)
    closes it: jobs not started are cancelled, running ones finish (threads)
    or are stopped (processes), and no worker is left behind. It is also a
    context manager that closes on exit.
    """

    def __init__(
        self,
        jobs: Iterable[Any],
        *,
        workers: int,
        queue_size: int,
        ordered: bool = False,
        backend: str | Backend = "thread",
        timeout: float | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        finalizer: Callable[[], object] | None = None,
        max_jobs_per_worker: int | None = None,
        retry: Retry | None = None,
        rate_limit: float | None = None,
        progress: bool | str = False,
        metrics: bool = False,
    ) -> None:
        try:
            self._jobs = iter(jobs)
        except TypeError:
            raise TypeError(
                f"jobs must be an iterable of jobs, got {type(jobs).__name__}"
            ) from None
        if not isinstance(ordered, bool):
            raise TypeError(f"ordered must be a bool, got {type(ordered).__name__}")

        # A sized input gives the progress bar its total, and so an ETA.
        total = len(jobs) if isinstance(jobs, Sized) else None
        self._sink = _StreamSink(ordered, recent_durations(metrics))
        self._pool: Pool[R] = Pool(
            workers,
            queue_size,
            self._sink,
            backend=backend,
            timeout=timeout,
            initializer=initializer,
            initargs=initargs,
            finalizer=finalizer,
            max_jobs_per_worker=max_jobs_per_worker,
            rate_limit=rate_limit,
            progress=progress,
            total=total,
        )
        # Retries are run by each _Item, which also counts the attempts.
        if retry is not None and not isinstance(retry, Retry):
            raise TypeError(
                f"retry must be a bigopool.Retry, got {type(retry).__name__}"
            )
        self._retry = retry
        self._in_flight_limit = check_size("queue_size", queue_size) + workers

        self._iterated = False
        self._closed = False

    def statistics(self) -> Any:
        """A :class:`~bigopool.Statistics` snapshot of the stream's pool."""
        return self._pool.statistics()

    def __iter__(self) -> Iterator[Outcome[R]]:
        if self._iterated:
            raise RuntimeError("a stream can be iterated only once")
        self._iterated = True
        return self._outcomes()

    def __enter__(self) -> Stream[R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop: cancel jobs not started, wait for running ones, stop threads.

        Safe to call more than once and after the stream was exhausted.
        """
        if self._closed:
            return
        self._closed = True
        if self._iterated:
            self._pool._finish(cancel_pending=True)

    # Internals.

    def _outcomes(self) -> Iterator[Outcome[R]]:
        # The consumer's own thread pulls jobs from the iterable, topping the
        # pool up each time it asks for an outcome: no feeder thread to wake,
        # and an iterable that is not thread-safe is only used by its owner.
        # Per-job names are bound to locals: this loop is the stream's cost.
        pool = self._pool
        pool.run()
        sink = self._sink
        ready = sink.ready
        by_index = sink.by_index
        ordered = sink.ordered
        jobs = self._jobs
        limit = self._in_flight_limit
        retry = self._retry
        queue = pool._queue
        items = queue.items
        prepare = pool._prepare
        ready_types = pool._ready_types
        exhausted = False
        feed_error: BaseException | None = None
        fed = 0

        try:
            while True:
                while not exhausted and fed - sink.consumed < limit:
                    try:
                        item = _Item(next(jobs), retry, fed)
                        if type(item) not in ready_types:
                            item = prepare(item)
                        # JobQueue.put, inlined as in Pool.enqueue. This loop
                        # is the queue's only producer and closes it only
                        # after leaving, so no close can race this put.
                        if len(items) >= queue.maxsize:
                            queue.wait_for_room()
                        items.append(item)
                        if queue.sleeping_workers:
                            queue.wake_worker()
                    except StopIteration:
                        exhausted = True
                    except Exception as error:
                        # The iterable or a job is bad: finish what was
                        # taken, then raise it.
                        exhausted = True
                        feed_error = error
                    else:
                        fed += 1

                if exhausted and sink.consumed == fed:
                    break

                if ordered:
                    if sink.consumed not in by_index:
                        sink.consumer.sleep_until(self._available)
                    item = by_index.pop(sink.consumed)
                else:
                    if not ready:
                        sink.consumer.sleep_until(self._available)
                    item = ready.popleft()
                sink.consumed += 1
                yield item

            if feed_error is not None:
                raise feed_error
        finally:
            self.close()

    def _available(self) -> bool:
        sink = self._sink
        if sink.ordered:
            return sink.consumed in sink.by_index
        return bool(sink.ready)


def stream(
    jobs: Iterable[Any],
    *,
    workers: int,
    queue_size: int,
    ordered: bool = False,
    backend: str | Backend = "thread",
    timeout: float | None = None,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    finalizer: Callable[[], object] | None = None,
    max_jobs_per_worker: int | None = None,
    retry: Retry | None = None,
    rate_limit: float | None = None,
    progress: bool | str = False,
    metrics: bool = False,
) -> Stream[Any]:
    """Run ``jobs`` and yield each one's :class:`Outcome` as it finishes.

    ``jobs`` is any iterable (a generator of millions is fine): it is pulled
    only as capacity frees, so at most ``queue_size + workers`` jobs are
    between the iterable and the consumer at any time. With
    ``ordered=True`` outcomes come in input order, still within that bound
    (a slow job holds back the ones after it). Every option means what it
    means on :class:`Dispatcher`.

    An exception raised by the iterable itself, or a bad job, ends the
    stream: the outcomes of jobs already taken are yielded first, then it
    is raised.

    Cost: about one and a half times a Dispatcher's per-job overhead; every
    outcome is timed.

    Raises:
        TypeError, ValueError: as :class:`Dispatcher` does for bad options,
            and ``TypeError`` for a non-iterable ``jobs``. A bad job is
            raised from the loop once it is reached.
    """
    return Stream(
        jobs,
        workers=workers,
        queue_size=queue_size,
        ordered=ordered,
        backend=backend,
        timeout=timeout,
        initializer=initializer,
        initargs=initargs,
        finalizer=finalizer,
        max_jobs_per_worker=max_jobs_per_worker,
        retry=retry,
        rate_limit=rate_limit,
        progress=progress,
        metrics=metrics,
    )
