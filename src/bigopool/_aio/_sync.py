"""Blocking jobs from async code: a thread dispatcher awaited off the loop."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Iterable
from typing import Any, TypeVar

from .._dispatcher import Dispatcher as ThreadDispatcher
from .._errors import Errors
from .._job import JobLike
from ._dispatcher import running_loop

__all__ = ["run_sync"]

R = TypeVar("R")


async def run_sync(
    jobs: Iterable[JobLike[R]],
    *,
    workers: int,
    queue_size: int | None = None,
) -> tuple[list[R], Errors]:
    """Run blocking jobs on a thread :class:`bigopool.Dispatcher` and await
    its ``(results, errors)`` without blocking the event loop.

    ``jobs`` is iterated, enqueued and waited for in one helper thread, so
    the loop keeps running other tasks meanwhile; a generator is pulled
    only as the pool takes jobs. ``queue_size`` defaults to twice
    ``workers``. If the awaiting task is cancelled, no more jobs are
    pulled, the queued ones are recorded as :class:`~bigopool.JobCancelled`,
    and the cancellation propagates once the running jobs have returned:
    threads cannot be stopped, so a job that never returns holds it up.

    Cost: ``workers`` threads plus one helper thread from the loop's
    default executor for the duration of the call.

    Raises:
        TypeError: a job is neither callable nor has ``execute()``, or a
            size has the wrong type. The jobs already enqueued run first.
        ValueError: ``workers`` or ``queue_size`` is below 1.
    """
    pool: ThreadDispatcher[R] = ThreadDispatcher(
        workers, 2 * workers if queue_size is None else queue_size
    )
    loop = running_loop("run_sync()")
    stop = threading.Event()

    def drive() -> tuple[list[R], Errors]:
        pool.run()
        try:
            for job in jobs:
                if stop.is_set():
                    break
                pool.enqueue(job)
        finally:
            outcome = pool.shutdown(cancel_pending=stop.is_set())
        return outcome

    # copy_context: the jobs see the caller's context variables, as
    # asyncio.to_thread would give them.
    done = loop.run_in_executor(None, contextvars.copy_context().run, drive)
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        # Stop pulling, and give up on what is queued even if the helper
        # thread is already past enqueueing and inside wait().
        stop.set()
        pool._cancel_pending()
        await _settle(done)
        raise


async def _settle(done: asyncio.Future[Any]) -> None:
    # Wait for the helper thread even if cancelled again: returning while
    # it still runs jobs would hide work from the caller.
    while not done.done():
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            continue
        except BaseException:
            # The helper thread failed; the caller's cancellation wins.
            return
    if not done.cancelled():
        done.exception()
