"""Per-job limits: the start-rate limiter, the timeout and their checks."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .._errors import JobTimeout

__all__ = ["RateLimiter", "call_with_timeout", "check_rate"]


def check_rate(rate_limit: object) -> float | None:
    """Return ``rate_limit`` as jobs per second, or None; refuse bad values.

    Raises:
        TypeError: ``rate_limit`` is not a number.
        ValueError: ``rate_limit`` is not a finite number above 0.
    """
    if rate_limit is None:
        return None
    if isinstance(rate_limit, bool) or not isinstance(rate_limit, (int, float)):
        raise TypeError(
            f"rate_limit must be a number of jobs per second, "
            f"got {type(rate_limit).__name__}"
        )
    if not (rate_limit > 0 and math.isfinite(rate_limit)):
        raise ValueError(
            f"rate_limit must be a finite number above 0, got {rate_limit}"
        )
    return float(rate_limit)


class RateLimiter:
    """Spaces job starts evenly: one every ``1 / per_second`` seconds.

    Each caller reserves the next free slot on a fixed schedule before it
    sleeps, so several workers waiting at once get consecutive slots rather
    than all waking together. A slot is never earlier than now: after an
    idle spell the schedule restarts from the present instead of letting a
    burst catch up on the time that went unused.

    Cost: one clock reading per job, plus one timer while a job must wait.
    """

    __slots__ = ("_interval", "_next")

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0

    async def acquire(self) -> None:
        """Return once the caller may start a job; cancellable while waiting."""
        now = time.monotonic()
        slot = self._next if self._next > now else now
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


async def call_with_timeout(call: Callable[[], Awaitable[Any]], timeout: float) -> Any:
    """Await ``call()``, cancelling it after ``timeout`` seconds.

    Raises:
        JobTimeout: the job was still running after ``timeout`` seconds. A
            ``TimeoutError`` the job raised itself propagates unchanged.
    """
    scope = asyncio.timeout(timeout)
    try:
        async with scope:
            return await call()
    except TimeoutError:
        if scope.expired():
            raise JobTimeout(
                f"the job ran longer than its {timeout:g} s timeout"
            ) from None
        raise
