"""The worker pool: a fixed number of workers behind a bounded queue."""

from __future__ import annotations

import threading
from types import TracebackType
from collections.abc import Callable
from typing import Any, Generic, Self, TypeVar

from ._backends import Backend, WorkerOptions, resolve
from ._errors import Errors, JobCancelled
from ._job import JobLike
from ._queue import JobQueue, QueueClosed

__all__ = ["Dispatcher", "check_callable", "check_size", "check_timeout"]

R = TypeVar("R")

_NEW, _RUNNING, _STOPPING, _FINISHED = "new", "running", "stopping", "finished"


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


class Dispatcher(Generic[R]):
    """Run jobs on ``workers`` workers, holding at most ``queue_size`` waiting.

    A job is any object with an ``execute()`` method or any zero-argument
    callable; what it returns is its result and what it raises is its error.
    The life of a dispatcher is ``run()``, any number of ``enqueue()`` calls
    from any threads, then one ``wait()`` that returns ``(results, errors)``.
    A dispatcher is used once.

    ``backend`` chooses where jobs run: ``"thread"`` (the default),
    ``"process"``, or a :class:`~bigopool.Backend` instance such as
    ``bigopool.dask.DaskBackend``.

    Per-worker options: ``timeout`` (seconds per job), ``initializer``
    called with ``initargs`` in each worker before its first job,
    ``finalizer`` after its last, and ``max_jobs_per_worker`` to replace a
    worker after that many jobs (processes only). See
    :class:`~bigopool.Backend` for which backend honours what.

    Raises:
        TypeError: ``workers`` or ``queue_size`` is not an int, or an option
            has the wrong type.
        ValueError: ``workers`` or ``queue_size`` is below 1, ``backend``
            is not a known name, or ``timeout`` is not positive.
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
    ) -> None:
        self._workers = check_size("workers", workers)
        self._queue = JobQueue(check_size("queue_size", queue_size))
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
        self._collector = _Collector()
        self._results: list[R] = self._collector.results
        self._errors = self._collector.errors
        self._state = _NEW
        self._state_lock = threading.Lock()
        self._finished = threading.Event()

        # Bound once: enqueue() calls them for every job.
        self._put = self._queue.put
        self._prepare = self._backend.prepare

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def queue_size(self) -> int:
        return self._queue.maxsize

    @property
    def backend(self) -> Backend:
        return self._backend

    def run(self) -> Self:
        """Start the workers and return the dispatcher.

        Raises:
            RuntimeError: ``run()`` was called before on this dispatcher.
        """
        with self._state_lock:
            if self._state is not _NEW:
                raise RuntimeError(
                    f"run() was already called on this dispatcher "
                    f"(it is {self._state}); a dispatcher is used once"
                )
            self._backend.start(
                self._workers, self._queue, self._collector, self._options
            )
            self._state = _RUNNING
        return self

    def enqueue(self, *jobs: JobLike[R]) -> None:
        """Add jobs, waiting while ``queue_size`` jobs are already waiting.

        Every job is checked before any is added, so a bad one adds none.
        Safe to call from several threads at once.

        Raises:
            TypeError: a job has no ``execute()`` and is not callable, or the
                backend cannot run it (for example it cannot be pickled).
            RuntimeError: ``run()`` was not called yet, or ``wait()`` was.
        """
        if self._state is not _RUNNING:
            raise self._not_running("enqueue()")

        put = self._put
        prepare = self._prepare
        try:
            if len(jobs) == 1:
                put(prepare(jobs[0]))
            else:
                for item in [prepare(job) for job in jobs]:
                    put(item)
        except QueueClosed:
            raise self._not_running("enqueue()") from None

    def try_enqueue(self, job: JobLike[R]) -> bool:
        """Add ``job`` if there is room and return True; return False if not.

        Never blocks. Raises like :meth:`enqueue`.
        """
        if self._state is not _RUNNING:
            raise self._not_running("try_enqueue()")

        item = self._backend.prepare(job)
        try:
            return self._queue.try_put(item)
        except QueueClosed:
            raise self._not_running("try_enqueue()") from None

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
        return self._finish(cancel_pending=False)

    def shutdown(self, *, cancel_pending: bool = False) -> tuple[list[R], Errors]:
        """Like :meth:`wait`, but with ``cancel_pending=True`` the jobs still
        waiting are not run: each is recorded as a :class:`JobCancelled`.
        """
        return self._finish(cancel_pending=cancel_pending)

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
        self._finish(cancel_pending=exc is not None)

    def __repr__(self) -> str:
        return (
            f"<Dispatcher {self._state} workers={self._workers} "
            f"queue_size={self.queue_size} backend={self._backend.name!r}>"
        )

    # Internals.

    def _finish(self, *, cancel_pending: bool) -> tuple[list[R], Errors]:
        with self._state_lock:
            state = self._state
            if state is _NEW:
                raise RuntimeError("wait() needs run() to be called first")
            if state is _RUNNING:
                self._state = _STOPPING

        if state is not _RUNNING:
            # Another call is finishing or has finished: share its outcome.
            self._finished.wait()
            return self._results, self._errors

        try:
            self._queue.close()
            if cancel_pending:
                self._cancel_pending()
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
        _reraise_interrupts(self._errors)
        return self._results, self._errors

    def _cancel_pending(self) -> None:
        for job in self._queue.drain():
            self._errors.add(JobCancelled("the pool shut down first"), job)

    def _set_finished(self) -> None:
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

    def __init__(self) -> None:
        self.results: list[Any] = []
        self.errors = Errors()

    def success(self, job: Any, result: Any) -> None:
        self.results.append(result)

    def failure(self, job: Any, error: BaseException) -> None:
        self.errors.add(error, job)


def _reraise_interrupts(errors: Errors) -> None:
    for error in errors.all():
        if not isinstance(error, Exception):
            raise error
