"""One job's outcome, as streaming hands it out."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

__all__ = ["Outcome"]

R = TypeVar("R")


class Outcome(Generic[R]):
    """What became of one job: its result or its error, and when it ran.

    ``started`` and ``finished`` are :func:`time.monotonic` readings (equal
    for a job cancelled before it started); ``attempts`` counts runs, above
    1 only when a retry policy ran the job again. Treat it as read-only.

    A plain slotted class rather than a frozen dataclass: streams make one
    per job, and a frozen dataclass costs several times more to build.
    """

    __slots__ = ("attempts", "error", "finished", "job", "result", "started")

    def __init__(
        self,
        job: Any,
        result: R | None = None,
        error: BaseException | None = None,
        started: float = 0.0,
        finished: float = 0.0,
        attempts: int = 1,
    ) -> None:
        self.job = job
        self.result = result
        self.error = error
        self.started = started
        self.finished = finished
        self.attempts = attempts

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

    def __repr__(self) -> str:
        if self.error is None:
            told = f"result={self.result!r}"
        else:
            told = f"error={self.error!r}"
        return f"<Outcome {self.job!r} {told} attempts={self.attempts}>"
