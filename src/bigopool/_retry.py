"""Retry policy, and the wrapper that runs a job under it and times it."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from ._job import EXECUTE_TYPES, as_item

__all__ = ["Retry", "Tracked"]


@dataclass(frozen=True, slots=True)
class Retry:
    """When and how often to run a failing job again.

    ``attempts`` counts every run, the first included. Only exceptions that
    are instances of ``on`` are retried. The wait before attempt ``n + 1``
    is ``backoff * multiplier ** (n - 1)``, capped at ``max_backoff``, then
    spread by ``jitter`` (0.1 means up to 10% either way) so that jobs that
    failed together do not retry together.

    A retried job is still one job: it ends as one result or one error, and
    its error notes how many attempts it took. The worker waits out the
    backoff, so a long backoff occupies it.

    Raises:
        TypeError, ValueError: a field has the wrong type or range.
    """

    attempts: int = 3
    on: type[BaseException] | tuple[type[BaseException], ...] = Exception
    backoff: float = 0.1
    multiplier: float = 2.0
    max_backoff: float = 30.0
    jitter: float = 0.1
    _random: random.Random = field(
        default_factory=random.Random, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise TypeError(
                f"attempts must be an int, got {type(self.attempts).__name__}"
            )
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")

        kinds = self.on if isinstance(self.on, tuple) else (self.on,)
        if not kinds or not all(
            isinstance(kind, type) and issubclass(kind, BaseException) for kind in kinds
        ):
            raise TypeError(
                f"on must be an exception type or a tuple of them, got {self.on!r}"
            )

        for name in ("backoff", "multiplier", "max_backoff", "jitter"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a number, got {type(value).__name__}")
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        if self.jitter > 1:
            raise ValueError(f"jitter must be at most 1, got {self.jitter}")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (from 1)."""
        base = min(self.backoff * self.multiplier ** (attempt - 1), self.max_backoff)
        spread = 1 + self.jitter * (2 * self._random.random() - 1)
        return max(0.0, base * spread)


class Tracked:
    """One job as the pool runs it when it needs more than its result.

    Records when the job started and how many attempts it took, and runs
    it again under a :class:`Retry` policy. Pools put the bound
    ``execute`` of this wrapper in their queue; ``job_of`` unwraps it.
    """

    __slots__ = ("attempts", "job", "retry", "started", "target")

    #: Tells job_of() to report ``self.job`` rather than the wrapper.
    wraps_job = True

    def __init__(self, job: Any, retry: Retry | None = None) -> None:
        self.job = job
        self.target = job if type(job) in EXECUTE_TYPES else as_item(job)
        self.retry = retry
        # Stays the hand-over time where execute() runs in another process.
        self.started = time.monotonic()
        self.attempts = 0

    def execute(self) -> Any:
        self.started = time.monotonic()
        retry = self.retry
        if retry is None:
            self.attempts = 1
            return self.target.execute()

        self.attempts = 0
        while True:
            self.attempts += 1
            try:
                return self.target.execute()
            except BaseException as error:
                if retry is None or not isinstance(error, retry.on):
                    raise
                if self.attempts >= retry.attempts:
                    error.add_note(f"bigopool: failed after {self.attempts} attempts")
                    raise
                time.sleep(retry.delay(self.attempts))

    def __repr__(self) -> str:
        return f"<Tracked {self.job!r}>"
