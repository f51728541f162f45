"""What an asyncio job is: an object with ``async def execute()``, or a
zero-argument callable returning an awaitable (a coroutine function)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

from .._job import runner_of
from .._retry import Retry

__all__ = ["AsyncJob", "AsyncJobLike", "AsyncRetrying", "runner_for"]

R_co = TypeVar("R_co", covariant=True)


@runtime_checkable
class AsyncJob(Protocol[R_co]):
    """Anything with an ``async def execute()`` method is a job.

    The awaited value is the job's result; raising reports its error.
    """

    def execute(self) -> Awaitable[R_co]: ...


#: What :meth:`bigopool.aio.Dispatcher.enqueue` accepts.
AsyncJobLike = AsyncJob[R_co] | Callable[[], Awaitable[R_co]]


class AsyncRetrying:
    """Awaits a job again under a :class:`~bigopool.Retry` policy.

    Queued in place of the job's runner; ``job_of`` reports ``job``, and
    ``attempts`` says how many runs the last call took. Cancellation is
    never retried: it is the pool stopping, not the job failing.
    """

    __slots__ = ("attempts", "job", "retry", "runner")

    #: Tells job_of() to report ``self.job`` rather than this wrapper.
    wraps_job = True

    def __init__(self, job: Any, runner: Callable[[], Any], retry: Retry) -> None:
        self.job = job
        self.runner = runner
        self.retry = retry
        self.attempts = 0

    async def __call__(self) -> Any:
        retry = self.retry
        self.attempts = 0
        while True:
            self.attempts += 1
            try:
                return await self.runner()
            except asyncio.CancelledError:
                raise
            except BaseException as error:
                if not isinstance(error, retry.on):
                    raise
                if self.attempts >= retry.attempts:
                    error.add_note(f"bigopool: failed after {self.attempts} attempts")
                    raise
                await asyncio.sleep(retry.delay(self.attempts))


def runner_for(job: Any, retry: Retry | None) -> Callable[[], Any]:
    """The runner of ``job``, wrapped to retry when a policy is given.

    Raises:
        TypeError: ``job`` is not a job, or ``retry`` is not a ``Retry``.
    """
    runner = runner_of(job)
    if retry is None:
        return runner
    return AsyncRetrying(job, runner, retry)


def check_retry(retry: object) -> Retry | None:
    """Return ``retry`` if it is None or a :class:`~bigopool.Retry`."""
    if retry is not None and not isinstance(retry, Retry):
        raise TypeError(f"retry must be a bigopool.Retry, got {type(retry).__name__}")
    return retry
