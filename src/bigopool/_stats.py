"""Snapshots of a pool's counters, cheap enough to take often."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Statistics", "percentiles"]


@dataclass(frozen=True, slots=True)
class Statistics:
    """A point-in-time view of a pool.

    ``submitted`` counts jobs accepted so far; each is ``waiting`` in the
    queue, ``running``, or finished as ``succeeded``, ``failed`` or
    ``cancelled``. ``throughput`` is finished jobs per second since the pool
    started. The latency percentiles (seconds, over the most recent jobs)
    are ``None`` unless the pool was made with ``metrics=True``.

    Counters are read without stopping the workers, so under load the
    parts of one snapshot can be a job or two apart.
    """

    submitted: int
    waiting: int
    running: int
    succeeded: int
    failed: int
    cancelled: int
    elapsed: float
    latency_p50: float | None = None
    latency_p90: float | None = None
    latency_p99: float | None = None

    @property
    def finished(self) -> int:
        """Jobs that have an outcome: succeeded, failed or cancelled."""
        return self.succeeded + self.failed + self.cancelled

    @property
    def throughput(self) -> float:
        """Finished jobs per second since the pool started."""
        return self.finished / self.elapsed if self.elapsed > 0 else 0.0


def percentiles(
    durations: Iterable[float],
) -> tuple[float | None, float | None, float | None]:
    """Return the 50th, 90th and 99th percentiles (nearest rank), or Nones."""
    ordered = sorted(durations)
    if not ordered:
        return None, None, None
    last = len(ordered) - 1
    return tuple(  # type: ignore[return-value]
        ordered[min(last, round(q * last))] for q in (0.5, 0.9, 0.99)
    )
