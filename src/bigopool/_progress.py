"""A live progress bar, drawn by tqdm from a thread that polls the pool.

Polling keeps the bar off the hot path entirely: workers never touch it,
so a pool with a bar runs its jobs at the same speed as one without.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from ._stats import Statistics

__all__ = ["Progress", "check_progress"]

_REFRESH = 0.1


def check_progress(progress: object) -> bool | str:
    """Return ``progress`` if it is a bool or ``"always"``, else raise."""
    if isinstance(progress, bool) or progress == "always":
        return progress
    raise ValueError(f"progress must be True, False or 'always', got {progress!r}")


def wanted(progress: bool | str) -> bool:
    """Whether to draw: always when forced, else only on a terminal."""
    if progress == "always":
        return True
    return bool(progress) and sys.stderr.isatty()


class Progress:
    """Draws count, rate, ETA (when the total is known) and failures."""

    def __init__(
        self,
        snapshot: Callable[[], Statistics],
        *,
        total: int | None = None,
        description: str = "bigopool",
    ) -> None:
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped]
        except ImportError:
            raise ImportError(
                "progress=True draws its bar with tqdm: "
                "pip install 'bigopool[progress]'"
            ) from None

        self._snapshot = snapshot
        self._fixed_total = total
        self._bar: Any = tqdm(
            total=total, desc=description, unit="job", dynamic_ncols=True
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._poll, name="bigopool-progress", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Draw the final numbers and release the terminal line."""
        self._stop.set()
        self._thread.join()
        self._draw()
        self._bar.close()

    def _poll(self) -> None:
        while not self._stop.wait(_REFRESH):
            self._draw()

    def _draw(self) -> None:
        stats = self._snapshot()
        bar = self._bar
        if self._fixed_total is None:
            bar.total = stats.submitted
        bar.n = stats.finished
        bar.set_postfix(failed=stats.failed + stats.cancelled, refresh=False)
        bar.refresh()
