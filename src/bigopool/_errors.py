"""The thread-safe error collection and the exceptions bigopool raises itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

__all__ = [
    "Cancelled",
    "Errors",
    "JobCancelled",
    "JobTimeout",
    "WorkerDied",
    "WorkerInitFailed",
]


class Cancelled(Exception):
    """Raised by :meth:`Context.raise_if_cancelled` once the context is cancelled.

    :func:`cancelable_parallel` does not count it as a failure when the context
    was already cancelled by another function's error: it is the consequence,
    not the cause.
    """


class JobCancelled(Exception):
    """Recorded for a job that never started because the pool was shut down."""


class JobTimeout(TimeoutError):
    """Recorded for a job that ran longer than the dispatcher's ``timeout``."""


class WorkerDied(Exception):
    """Recorded for the job a worker process was running when that process died.

    ``exitcode`` is the process's exit code; a negative value ``-N`` means it
    was killed by signal ``N``.
    """

    def __init__(self, message: str, exitcode: int | None = None) -> None:
        super().__init__(message)
        self.exitcode = exitcode


class WorkerInitFailed(RuntimeError):
    """Recorded for each job taken by a worker whose initializer raised.

    The initializer's exception is the ``__cause__``. Like a broken standard
    pool, such a worker fails the jobs it takes rather than leave them
    waiting forever.
    """


_NO_JOB: Any = object()


class Errors:
    """A thread-safe, append-only collection of the errors of a run.

    Every error is kept with the job that raised it, with its traceback, in the
    order recorded. ``bool(errors)`` is true when at least one error is held,
    ``len(errors)`` counts them and iterating yields the exceptions.

    Cost: recording an error takes one uncontended lock; reading methods copy
    the list under the same lock, so they are safe while workers still record.
    """

    __slots__ = ("_items", "_lock")

    def __init__(self) -> None:
        self._items: list[tuple[Any, BaseException]] = []
        self._lock = threading.Lock()

    def add(self, error: BaseException, job: Any = _NO_JOB) -> None:
        """Record ``error``, optionally with the ``job`` that raised it."""
        if not isinstance(error, BaseException):
            raise TypeError(
                f"Errors.add() takes an exception, not {type(error).__name__}"
            )
        with self._lock:
            self._items.append((None if job is _NO_JOB else job, error))

    def all(self) -> list[BaseException]:
        """Return a new list of the recorded exceptions, oldest first."""
        with self._lock:
            return [error for _, error in self._items]

    def items(self) -> list[tuple[Any, BaseException]]:
        """Return a new list of ``(job, exception)`` pairs, oldest first.

        ``job`` is the object that was enqueued, or ``None`` for an error that
        belongs to no job (for example one added by hand).
        """
        with self._lock:
            return list(self._items)

    def is_empty(self) -> bool:
        """Return True when no error has been recorded."""
        return not self._items

    def to_error(self) -> BaseExceptionGroup[BaseException] | None:
        """Return ``None`` when empty, else one exception group holding them all.

        The group is an :class:`ExceptionGroup` whenever every member is an
        :class:`Exception`, so ``except*`` can match each collected type.
        """
        errors = self.all()
        if not errors:
            return None
        noun = "error" if len(errors) == 1 else "errors"
        return BaseExceptionGroup(f"{len(errors)} {noun}: {self}", errors)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __iter__(self) -> Iterator[BaseException]:
        return iter(self.all())

    def __str__(self) -> str:
        return "; ".join(_describe(error) for error in self.all())

    def __repr__(self) -> str:
        return f"<Errors: {len(self)} recorded>"


def _describe(error: BaseException) -> str:
    # An exception without a message would otherwise vanish from the joined
    # string; its type name is better than nothing.
    return str(error) or type(error).__name__
