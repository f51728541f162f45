"""Start jobs at a steady rate, shared by every worker of a pool."""

from __future__ import annotations

import threading
import time

__all__ = ["RateLimiter", "check_rate"]


def check_rate(rate: object) -> float | None:
    """Return ``rate`` (jobs per second) as a float, or None; refuse bad values."""
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise TypeError(f"rate_limit must be a number, got {type(rate).__name__}")
    if not rate > 0:
        raise ValueError(f"rate_limit must be more than 0 jobs per second, got {rate}")
    return float(rate)


class RateLimiter:
    """Hands out start times spaced ``1 / rate`` seconds apart.

    Smooth rather than bursty: each caller reserves the next free slot and
    sleeps until it, so jobs start evenly spaced instead of in bursts at
    the top of each second. An idle limiter does not save up slots.

    Cost: one lock and one clock reading per job, plus the sleep.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._interval = 1.0 / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this caller's slot comes."""
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self._interval

        delay = slot - now
        if delay > 0:
            time.sleep(delay)
