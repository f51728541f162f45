"""The worker pool: a fixed number of workers behind a bounded queue."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from ._backends import Backend
from ._errors import Errors, JobCancelled
from ._pool import (  # noqa: F401 - the checks are shared from here too
    Pool,
    check_callable,
    check_size,
    check_timeout,
    recent_durations,
)
from ._retry import Retry

__all__ = ["Dispatcher"]

R = TypeVar("R")


class Dispatcher(Pool[R]):
    """Run jobs on ``workers`` workers, holding at most ``queue_size`` waiting.

    A job is any object with an ``execute()`` method or any zero-argument
    callable; what it returns is its result and what it raises is its error.
    The life of a dispatcher is ``run()``, any number of ``enqueue()`` calls
    from any threads, then one ``wait()`` that returns ``(results, errors)``.
    A dispatcher is used once.

    ``backend`` chooses where jobs run: ``"thread"`` (the default),
    ``"process"``, or a :class:`~bigopool.Backend` instance such as
    ``bigopool.dask.DaskBackend``.

    Options, all off by default:

    - ``timeout``: seconds a job may run. Processes stop the job; threads
      cannot, so the job is reported as :class:`JobTimeout` and its thread
      finishes it in the background while a new thread takes its place.
    - ``initializer(*initargs)`` runs in each worker before its first job
      and ``finalizer()`` after its last (for example one HTTP session per
      worker thread). ``max_jobs_per_worker`` replaces a worker process
      after that many jobs.
    - ``retry``: a :class:`Retry` policy; a retried job still ends as one
      result or one error.
    - ``rate_limit``: jobs started per second across all workers, evenly
      spaced.
    - ``progress``: ``True`` draws a bar (with tqdm, ``bigopool[progress]``)
      when standard error is a terminal, ``"always"`` draws it anyway.
    - ``metrics``: time every job so :meth:`statistics` can give latency
      percentiles (costs two clock readings a job).

    Raises:
        TypeError: ``workers`` or ``queue_size`` is not an int, or an option
            has the wrong type.
        ValueError: ``workers`` or ``queue_size`` is below 1, ``backend``
            is not a known name, or a number option is out of range.
    """

    def __init__(
        self,
        workers: int,
        queue_size: int,
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
        metrics: bool = False,
    ) -> None:
        self._collector = _Collector(recent_durations(metrics))
        super().__init__(
            workers,
            queue_size,
            self._collector,
            backend=backend,
            timeout=timeout,
            initializer=initializer,
            initargs=initargs,
            finalizer=finalizer,
            max_jobs_per_worker=max_jobs_per_worker,
            retry=retry,
            rate_limit=rate_limit,
            progress=progress,
        )

    def run(self) -> Self:
        """Start the workers and return the dispatcher.

        Raises:
            RuntimeError: ``run()`` was called before on this dispatcher.
            ImportError: ``progress`` needs tqdm and it is not installed.
        """
        super().run()
        return self

    def wait(self) -> tuple[list[R], Errors]:
        """Stop taking jobs, wait for every enqueued job, return the outcome.

        ``results`` holds the return values of the jobs that succeeded, in
        the order they finished; ``errors`` holds what the others raised,
        each with its job (see :meth:`Errors.items`). Calling ``wait()``
        again returns the same outcome.

        If a job raised ``KeyboardInterrupt`` or ``SystemExit``, it is
        recorded as that job's error like any other, and re-raised here once
        every job has finished; ``results`` and ``errors`` are then read
        from the dispatcher's attributes of the same names.

        On ``KeyboardInterrupt`` while waiting, the jobs not yet started are
        recorded as :class:`JobCancelled` errors, running jobs are stopped
        where the backend can (threads cannot: they finish), and the
        interrupt propagates.

        Raises:
            RuntimeError: ``run()`` was not called.
        """
        return self.shutdown(cancel_pending=False)

    def shutdown(self, *, cancel_pending: bool = False) -> tuple[list[R], Errors]:
        """Like :meth:`wait`, but with ``cancel_pending=True`` the jobs still
        waiting are not run: each is recorded as a :class:`JobCancelled`.
        """
        if self._finish(cancel_pending=cancel_pending):
            _reraise_interrupts(self._collector.errors)
        return self._collector.results, self._collector.errors

    @property
    def results(self) -> list[R]:
        """The successful jobs' results, once the dispatcher has finished."""
        self._check_finished("results")
        return self._collector.results

    @property
    def errors(self) -> Errors:
        """The failed jobs' errors, once the dispatcher has finished."""
        self._check_finished("errors")
        return self._collector.errors

    def __enter__(self) -> Self:
        return self.run()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # When the body fails, running what is still queued would only delay
        # the caller's error: cancel it, as Ctrl-C would.
        self.shutdown(cancel_pending=exc is not None)

    def __repr__(self) -> str:
        return (
            f"<Dispatcher {self._state} workers={self._workers} "
            f"queue_size={self.queue_size} backend={self._backend.name!r}>"
        )

    def _check_finished(self, name: str) -> None:
        if not self._finished.is_set():
            raise RuntimeError(f"{name} are available once wait() has returned")


class _Collector:
    """The sink of a dispatcher: keeps every result and every error."""

    __slots__ = ("cancelled", "durations", "errors", "results")

    def __init__(self, durations: deque[float] | None) -> None:
        self.results: list[Any] = []
        self.errors = Errors()
        self.durations = durations
        self.cancelled = 0

    @property
    def recent(self) -> deque[float] | None:
        return self.durations

    @property
    def succeeded(self) -> int:
        return len(self.results)

    @property
    def failed(self) -> int:
        return len(self.errors) - self.cancelled

    def success(self, job: Any, result: Any) -> None:
        self.results.append(result)

    def failure(self, job: Any, error: BaseException) -> None:
        self.errors.add(error, job)

    def cancel(self, job: Any, error: JobCancelled) -> None:
        # Only the thread that finishes the pool cancels, so the count is
        # not raced.
        self.cancelled += 1
        self.errors.add(error, job)


def _reraise_interrupts(errors: Errors) -> None:
    for error in errors.all():
        if not isinstance(error, Exception):
            raise error
