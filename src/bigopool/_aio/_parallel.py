"""Await a few coroutine functions at once, with or without cancel-on-error."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from .._errors import Errors
from ._dispatcher import running_loop
from ._workers import being_cancelled, outlast

__all__ = ["cancelable_parallel", "parallel"]

AsyncFn = Callable[[], Awaitable[Any]]


async def parallel(*fns: AsyncFn) -> Errors:
    """Run every zero-argument coroutine function as its own task; wait for all.

    Returns the :class:`~bigopool.Errors` they raised, each paired with its
    function; return values are ignored. If the caller is cancelled, every
    function is cancelled and awaited before the cancellation propagates.

    Cost: one task per function, so it suits a handful of calls; use a
    :class:`Dispatcher` for many.

    Raises:
        TypeError: an argument is not callable (before anything runs).
    """
    _check_callables(fns)
    loop = running_loop("parallel()")
    errors = Errors()

    async def call(fn: AsyncFn) -> None:
        try:
            await fn()
        except asyncio.CancelledError as error:
            if being_cancelled():
                raise
            # It raised CancelledError without being cancelled (it awaited
            # something that was): that is its own failure.
            errors.add(error, fn)
        except BaseException as error:  # handed to the caller in Errors
            errors.add(error, fn)

    tasks = [loop.create_task(call(fn)) for fn in fns]
    await _join(tasks)
    return errors


async def cancelable_parallel(*fns: AsyncFn) -> Errors:
    """Run every zero-argument coroutine function as its own task; as soon
    as one fails, cancel the others.

    The others see a real :class:`asyncio.CancelledError` at their current
    ``await``. Returns the :class:`~bigopool.Errors` of the real failures
    only: the cancellations one failure causes are not errors, but an
    exception a cancelled function raises instead of stopping is.

    Honours the caller's own cancellation and :func:`asyncio.timeout`:
    every function is cancelled and awaited, then the cancellation
    propagates (and ``asyncio.timeout`` turns it into ``TimeoutError``).

    Cost: one task per function.

    Raises:
        TypeError: an argument is not callable (before anything runs).
    """
    _check_callables(fns)
    loop = running_loop("cancelable_parallel()")
    errors = Errors()
    tasks: list[asyncio.Task[None]] = []

    def cancel_others() -> None:
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()

    async def call(fn: AsyncFn) -> None:
        try:
            await fn()
        except asyncio.CancelledError as error:
            if being_cancelled():
                # Cancelled by another function's failure or by our own
                # caller: a consequence, not a failure.
                raise
            errors.add(error, fn)
            cancel_others()
        except BaseException as error:  # handed to the caller in Errors
            errors.add(error, fn)
            cancel_others()

    tasks.extend(loop.create_task(call(fn)) for fn in fns)
    await _join(tasks)
    return errors


async def _join(tasks: list[asyncio.Task[None]]) -> None:
    # Wait for every task; if our caller is cancelled, cancel them and wait
    # again so that none outlives the call, then let the cancellation go on.
    if not tasks:
        return
    try:
        await asyncio.wait(tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await outlast(tasks)
        raise


def _check_callables(fns: tuple[Any, ...]) -> None:
    for position, fn in enumerate(fns):
        if not callable(fn):
            raise TypeError(f"argument {position} is not callable: {type(fn).__name__}")
