"""A cancellation signal shared by the functions of one parallel call."""

from __future__ import annotations

import threading
import time
import weakref

from ._errors import Cancelled

__all__ = ["Context"]


class Context:
    """A thread-safe cancellation flag with an optional deadline and children.

    Cancelling a context cancels every child made from it, and a child's
    deadline is never later than its parent's. A deadline is checked when it
    is looked at (``cancelled``, ``wait``), so a context costs no thread.

    Threads cannot be killed: a function that never looks at its context
    runs to completion even after the context is cancelled.
    """

    __slots__ = ("_event", "_deadline", "_children", "_lock", "__weakref__")

    def __init__(self, *, timeout: float | None = None) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._children: weakref.WeakSet[Context] = weakref.WeakSet()
        self._deadline: float | None = None
        if timeout is not None:
            self._deadline = time.monotonic() + _check_timeout(timeout)

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called here or on a parent, or the
        deadline has passed."""
        if self._event.is_set():
            return True
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self.cancel()
            return True
        return False

    @property
    def deadline(self) -> float | None:
        """The :func:`time.monotonic` time this context expires at, if any."""
        return self._deadline

    def cancel(self) -> None:
        """Cancel this context and all its children; later calls do nothing."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            children = list(self._children)
        for child in children:
            child.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled or ``timeout`` seconds pass; True if cancelled."""
        limit = None if timeout is None else time.monotonic() + timeout
        if self._deadline is not None:
            limit = self._deadline if limit is None else min(limit, self._deadline)

        remaining = None if limit is None else max(0.0, limit - time.monotonic())
        self._event.wait(remaining)
        return self.cancelled

    def raise_if_cancelled(self) -> None:
        """Raise :class:`Cancelled` if the context is cancelled."""
        if self.cancelled:
            raise Cancelled("the context was cancelled")

    def child(
        self, *, timeout: float | None = None, deadline: float | None = None
    ) -> Context:
        """Make a context cancelled with this one, or sooner.

        ``timeout`` is in seconds from now; ``deadline`` is a
        :func:`time.monotonic` time. Given both, the earlier one wins.
        """
        child = Context(timeout=timeout)
        for limit in (deadline, self._deadline):
            if limit is not None and (
                child._deadline is None or limit < child._deadline
            ):
                child._deadline = limit

        with self._lock:
            if not self._event.is_set():
                self._children.add(child)
                return child
        child.cancel()
        return child

    def __repr__(self) -> str:
        state = "cancelled" if self.cancelled else "active"
        return f"<Context {state}>"


def _check_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number, got {type(timeout).__name__}")
    if timeout < 0:
        raise ValueError(f"timeout must not be negative, got {timeout}")
    return float(timeout)
