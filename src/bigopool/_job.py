"""What a job is: an object with ``execute()``, or a zero-argument callable."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, Union, runtime_checkable

__all__ = [
    "EXECUTE_TYPES",
    "Call",
    "Job",
    "JobLike",
    "as_item",
    "job_of",
    "runner_of",
    "unwrap",
]

R_co = TypeVar("R_co", covariant=True)


@runtime_checkable
class Job(Protocol[R_co]):
    """Anything with an ``execute()`` method is a job.

    ``execute()`` returns the job's result; raising reports the job's error.
    Subclassing is optional: any object with the method qualifies.
    """

    def execute(self) -> R_co: ...


#: What :meth:`Dispatcher.enqueue` accepts: a :class:`Job` or a callable.
JobLike = Union[Job[R_co], Callable[[], R_co]]  # noqa: UP007 - a runtime alias


def runner_of(job: object) -> Callable[[], Any]:
    """Return what a worker calls to run ``job``: its ``execute`` or itself.

    Raises:
        TypeError: ``job`` has no callable ``execute`` and is not callable.
    """
    execute = getattr(job, "execute", None)
    if execute is None:
        if callable(job):
            return job
        raise TypeError(
            f"a job must have an execute() method or be a zero-argument "
            f"callable, got {type(job).__name__}: {job!r}"
        )
    if not callable(execute):
        raise TypeError(f"job {job!r} has an 'execute' attribute that is not callable")
    return execute  # type: ignore[no-any-return]


class Call:
    """A callable job given an ``execute()``, so that every queued item has
    one and a worker can call ``item.execute()`` without asking first."""

    __slots__ = ("job",)

    #: Tells unwrap() to report ``self.job`` rather than this wrapper.
    wraps_job = True

    def __init__(self, job: Callable[[], Any]) -> None:
        self.job = job

    def execute(self) -> Any:
        return self.job()


#: Types whose instances are queued as they are because their class has a
#: callable ``execute``. Enqueue checks membership instead of calling
#: :func:`as_item`: one set lookup instead of a function call and an
#: attribute lookup, on the path every job takes.
EXECUTE_TYPES: set[type] = set()
_MAX_TYPES = 4096


def as_item(job: Any) -> Any:
    """Return what a thread worker queues for ``job``: the job itself when
    it has ``execute()``, else a :class:`Call` around the callable.

    Raises:
        TypeError: ``job`` has no callable ``execute`` and is not callable.
    """
    runner_of(job)
    kind = type(job)
    if callable(getattr(kind, "execute", None)):
        if len(EXECUTE_TYPES) >= _MAX_TYPES:
            EXECUTE_TYPES.clear()
        EXECUTE_TYPES.add(kind)
        return job
    if getattr(job, "execute", None) is not None:
        return job  # an execute set on the instance: checked, not cached
    return Call(job)


def unwrap(item: Any) -> Any:
    """Return the job behind a queued ``item``: itself, or what a wrapper of
    ours (retries, timing) holds."""
    if getattr(type(item), "wraps_job", False):
        return item.job
    return item


def job_of(runner: Callable[[], Any]) -> Any:
    """Return the job that :func:`runner_of` turned into ``runner``.

    Queues hold runners rather than jobs so that workers skip one lookup per
    job; the job is only needed again to report it, which is rare.
    """
    if type(runner) is types.MethodType and runner.__name__ == "execute":
        return unwrap(runner.__self__)
    return unwrap(runner)
