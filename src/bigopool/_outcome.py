"""One job's outcome, as streaming hands it out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["Outcome"]

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[R]):
    """What became of one job: its result or its error, and when it ran.

    ``started`` and ``finished`` are :func:`time.monotonic` readings (both
    equal for a job cancelled before it started); ``attempts`` counts runs,
    above 1 only when a retry policy ran the job again.
    """

    job: Any
    result: R | None
    error: BaseException | None
    started: float
    finished: float
    attempts: int = 1

    @property
    def ok(self) -> bool:
        """True when the job returned instead of raising."""
        return self.error is None

    @property
    def duration(self) -> float:
        """Seconds from the start of the first attempt to the end of the last."""
        return self.finished - self.started

    def unwrap(self) -> R:
        """Return the result, or raise the job's error."""
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]
