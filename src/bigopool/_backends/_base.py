"""The one interface every way of running jobs implements.

A :class:`Backend` owns the workers. The dispatcher owns everything else: it
checks jobs, holds the bounded :class:`~bigopool._queue.JobQueue` and hands
each outcome to a :class:`Sink`. A backend takes jobs from the queue until
:meth:`JobQueue.get` returns ``DONE`` and reports each job to the sink exactly
once, as a success or a failure, whatever happens to its workers.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, MutableSequence
from dataclasses import dataclass
from typing import Any, Protocol

from .._job import job_of, runner_of
from .._queue import JobQueue

__all__ = ["Backend", "Sink", "WorkerOptions"]


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """Per-worker settings a dispatcher passes to its backend's ``start``.

    ``timeout`` is per job, in seconds: a backend that can stop a job stops
    it; one that cannot (threads) reports it as timed out and says so.
    ``initializer(*initargs)`` runs once in each worker before its first
    job and ``finalizer()`` once after its last. ``max_jobs_per_worker``
    replaces a worker after that many jobs where the backend can (processes).
    """

    timeout: float | None = None
    initializer: Callable[..., object] | None = None
    initargs: tuple[Any, ...] = ()
    finalizer: Callable[[], object] | None = None
    max_jobs_per_worker: int | None = None


class Sink(Protocol):
    """Where a backend reports outcomes. Both methods are thread-safe.

    ``results``, when not None, is a list the sink wants successful results
    appended to directly instead of a call to :meth:`success`: the thread
    backend's shortcut for the common case of collecting them all.
    ``durations``, when not None, asks for each job's run time.
    """

    @property
    def results(self) -> list[Any] | None: ...

    @property
    def durations(self) -> MutableSequence[float] | None:
        """When not None, backends that time jobs append each one's
        duration in seconds here (a bounded deque)."""

    def success(self, job: Any, result: Any) -> None: ...

    def failure(self, job: Any, error: BaseException) -> None: ...


class Backend(abc.ABC):
    """Runs the jobs of one dispatcher; used once, like the dispatcher."""

    #: Short name shown in reprs and errors ("thread", "process", ...).
    name: str = "backend"

    #: ``prepare(job)`` returns what goes into the queue for ``job``, or
    #: raises ``TypeError`` if the backend cannot run it. It is called by
    #: ``enqueue`` in the producer's thread, so a bad job fails where it was
    #: submitted instead of inside a worker. The default is the job's runner
    #: (see :func:`~bigopool._job.runner_of`), as a plain function rather
    #: than a method: it runs once per job, and one call is cheaper than two.
    prepare: Callable[[Any], Any] = staticmethod(runner_of)

    #: Types whose instances ``prepare`` would return unchanged, so that
    #: enqueue can skip calling it; empty unless a backend keeps such a set.
    ready_types: set[type] | frozenset[type] = frozenset()

    def job_of(self, item: Any) -> Any:
        """Return the job that :meth:`prepare` turned into queue ``item``."""
        return job_of(item)

    @abc.abstractmethod
    def start(
        self, workers: int, queue: JobQueue, sink: Sink, options: WorkerOptions
    ) -> None:
        """Start ``workers`` workers that drain ``queue`` into ``sink``.

        Raises:
            ValueError: an option this backend cannot honour.
        """

    @abc.abstractmethod
    def join(self) -> None:
        """Block until every worker has stopped and released its resources.

        The queue has been closed before this is called, so workers stop
        once it is drained.
        """

    def running(self) -> int:
        """How many jobs are running now (a snapshot, for statistics)."""
        return 0

    def interrupt(self) -> None:  # noqa: B027 - optional, most backends need none
        """Stop running jobs if this backend can (threads cannot).

        Called after the queue was drained for cancellation; jobs stopped
        here must still be reported to the sink.
        """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
