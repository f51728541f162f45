"""Run a few functions at once: the helpers for when a pool is too much."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ._context import Context
from ._errors import Cancelled, Errors

__all__ = ["cancelable_parallel", "parallel"]


def parallel(*fns: Callable[[], Any]) -> Errors:
    """Call every zero-argument function on its own thread and wait for all.

    Returns the :class:`Errors` they raised, each paired with its function.
    Return values are ignored: assign what you need from inside the function.

    Cost: one thread per function, so it suits a handful of calls; use a
    :class:`Dispatcher` for many.

    Raises:
        TypeError: an argument is not callable (before anything runs).
    """
    _check_callables(fns)
    errors = Errors()

    def call(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            errors.add(error, fn)

    _run_all(call, fns)
    return errors


def cancelable_parallel(
    *fns: Callable[[Context], Any], context: Context | None = None
) -> Errors:
    """Call every function with a shared :class:`Context`; cancel it on the
    first error.

    Each function receives the context and should check ``ctx.cancelled``,
    ``ctx.wait()`` or ``ctx.raise_if_cancelled()`` to stop early; threads
    cannot be killed, so one that ignores it runs to the end. When
    ``context`` is given, the shared context is its child: cancelling the
    parent (or its deadline passing) cancels these functions too.

    Returns the :class:`Errors` of the real failures. A :class:`Cancelled`
    raised once the context was already cancelled is the consequence of
    another failure (or of the parent), not a failure, and is not counted.

    Raises:
        TypeError: an argument is not callable (before anything runs).
    """
    _check_callables(fns)
    if context is not None and not isinstance(context, Context):
        raise TypeError(
            f"context must be a bigopool.Context, got {type(context).__name__}"
        )

    shared = Context() if context is None else context.child()
    errors = Errors()

    def call(fn: Callable[[Context], Any]) -> None:
        try:
            fn(shared)
        except Cancelled as error:
            if not shared.cancelled:
                errors.add(error, fn)
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            errors.add(error, fn)
            shared.cancel()

    try:
        _run_all(call, fns)
    except BaseException:
        # The caller was interrupted: tell the functions to stop.
        shared.cancel()
        raise
    return errors


def _run_all(call: Callable[[Any], None], fns: tuple[Any, ...]) -> None:
    threads = [
        threading.Thread(target=call, args=(fn,), name="bigopool-parallel", daemon=True)
        for fn in fns
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _check_callables(fns: tuple[Any, ...]) -> None:
    for position, fn in enumerate(fns):
        if not callable(fn):
            raise TypeError(
                f"argument {position} is not callable: {type(fn).__name__}"
            )
