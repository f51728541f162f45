"""What a job is: an object with ``execute()``, or a zero-argument callable."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, Union, runtime_checkable

__all__ = ["Job", "JobLike", "job_of", "runner_of"]

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


def job_of(runner: Callable[[], Any]) -> Any:
    """Return the job that :func:`runner_of` turned into ``runner``.

    Queues hold runners rather than jobs so that workers skip one lookup per
    job; the job is only needed again to report it, which is rare.
    """
    if type(runner) is types.MethodType and runner.__name__ == "execute":
        owner = runner.__self__
        # A wrapper of ours (retries, timing) keeps the user's job as .job.
        if getattr(type(owner), "wraps_job", False):
            return owner.job  # type: ignore[attr-defined]
        return owner
    return runner
