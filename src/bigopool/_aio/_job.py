"""What an asyncio job is: an object with ``async def execute()``, or a
zero-argument callable returning an awaitable (a coroutine function)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, runtime_checkable

__all__ = ["AsyncJob", "AsyncJobLike"]

R_co = TypeVar("R_co", covariant=True)


@runtime_checkable
class AsyncJob(Protocol[R_co]):
    """Anything with an ``async def execute()`` method is a job.

    The awaited value is the job's result; raising reports its error.
    """

    def execute(self) -> Awaitable[R_co]: ...


#: What :meth:`bigopool.aio.Dispatcher.enqueue` accepts.
AsyncJobLike = AsyncJob[R_co] | Callable[[], Awaitable[R_co]]
