"""The demo itself: scrape the local site through a pool, then without one."""

from __future__ import annotations

import contextlib
import importlib
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Self, TextIO

from .._dispatcher import Dispatcher
from ._scraper import FetchFailed, Page, ScrapeJob
from ._site import DemoSite, plan_pages

__all__ = ["DemoReport", "DemoSettings", "ProgressUnavailable", "run_demo"]


class ProgressUnavailable(RuntimeError):
    """A progress bar was asked for but tqdm is not installed."""


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """What the demo scrapes and how; see ``bigopool demo --help``.

    Raises:
        ValueError: a count is below its minimum (1, or 0 for
            ``sequential_sample``) or ``timeout`` is not a positive number
            of seconds.
    """

    pages: int = 300
    workers: int = 20
    queue_size: int = 100
    seed: int = 2024
    timeout: float = 0.5
    sequential_sample: int = 30

    def __post_init__(self) -> None:
        for name in ("pages", "workers", "queue_size"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"{name} must be at least 1, got {getattr(self, name)}"
                )
        if self.sequential_sample < 0:
            raise ValueError(
                f"sequential_sample must be 0 or more, got {self.sequential_sample}"
            )
        if not 0 < self.timeout < math.inf:
            raise ValueError(
                f"timeout must be a positive number of seconds, got {self.timeout}"
            )


@dataclass(frozen=True, slots=True)
class DemoReport:
    """What one run of the demo measured.

    ``failures`` maps each reason to how many pages failed for it, most
    common first; ``fetch_times`` are the seconds each fetched page took,
    shortest first. ``sample_size`` pages were also fetched one after another,
    in ``sample_elapsed`` seconds, to compare against the pool.
    """

    settings: DemoSettings
    base_url: str
    fetched: int
    fetched_bytes: int
    fetch_times: tuple[float, ...]
    failures: dict[str, int]
    elapsed: float
    sample_size: int
    sample_elapsed: float

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def throughput(self) -> float:
        """Pages per second through the pool, failures included."""
        return self.settings.pages / self.elapsed if self.elapsed else 0.0

    @property
    def sample_is_whole(self) -> bool:
        """True when every page was fetched sequentially too: no estimate."""
        return self.sample_size >= self.settings.pages

    @property
    def sequential_estimate(self) -> float | None:
        """Seconds a sequential loop takes for every page, measured when the
        sample is whole, else extrapolated from the sample; None without one.
        """
        if not self.sample_size:
            return None
        return self.sample_elapsed / self.sample_size * self.settings.pages

    @property
    def speedup(self) -> float | None:
        estimate = self.sequential_estimate
        if estimate is None or not self.elapsed:
            return None
        return estimate / self.elapsed


def run_demo(
    settings: DemoSettings, *, progress: bool = False, stream: TextIO | None = None
) -> DemoReport:
    """Serve ``settings.pages`` pages locally, scrape them, and measure.

    With ``progress``, tqdm bars are drawn on ``stream`` (stderr by default).
    Takes about ``pages / workers * 50 ms`` for the pool plus
    ``sequential_sample * 50 ms`` for the sequential comparison.

    Raises:
        ProgressUnavailable: ``progress`` is set and tqdm is not installed.
        OSError: the local server cannot bind a port on 127.0.0.1.
        RuntimeError: the pool lost track of a page (a bug in bigopool).
    """
    tqdm = _load_tqdm() if progress else None
    plans = plan_pages(
        settings.pages, seed=settings.seed, slow_delay=max(2.0, settings.timeout * 4)
    )

    with DemoSite(plans) as site:
        with _Ticker(tqdm, settings.pages, "pool", stream) as ticker:
            jobs = [ScrapeJob(url, settings.timeout, ticker.tick) for url in site.urls]

            started = time.perf_counter()
            pool: Dispatcher[Page] = Dispatcher(settings.workers, settings.queue_size)
            pool.run()
            for job in jobs:
                pool.enqueue(job)
            pages, errors = pool.wait()
            elapsed = time.perf_counter() - started

        sample = _every_nth(site.urls, settings.sequential_sample)
        with _Ticker(tqdm, len(sample), "sequential", stream) as ticker:
            sample_elapsed = _fetch_one_by_one(sample, settings.timeout, ticker)

    reasons: Counter[str] = Counter()
    for error in errors:
        if isinstance(error, FetchFailed):
            reasons[error.reason] += 1
        else:
            reasons[f"{type(error).__name__}: {error}"] += 1

    if len(pages) + len(errors) != settings.pages:
        raise RuntimeError(
            f"{settings.pages} pages were enqueued but {len(pages)} results and "
            f"{len(errors)} errors came back"
        )

    return DemoReport(
        settings=settings,
        base_url=site.base_url,
        fetched=len(pages),
        fetched_bytes=sum(page.bytes for page in pages),
        fetch_times=tuple(sorted(page.elapsed for page in pages)),
        failures=dict(reasons.most_common()),
        elapsed=elapsed,
        sample_size=len(sample),
        sample_elapsed=sample_elapsed,
    )


def _every_nth(urls: list[str], size: int) -> list[str]:
    # Evenly spaced rather than the first few, so the sample meets failures
    # and slow pages about as often as the whole run does.
    if size >= len(urls):
        return list(urls)
    if size <= 0:
        return []
    step = len(urls) / size
    return [urls[int(index * step)] for index in range(size)]


def _fetch_one_by_one(urls: list[str], timeout: float, ticker: _Ticker) -> float:
    started = time.perf_counter()
    for url in urls:
        # Failures cost time too, so they stay in the sample.
        with contextlib.suppress(FetchFailed):
            ScrapeJob(url, timeout, ticker.tick).execute()
    return time.perf_counter() - started


class _Ticker:
    """Moves a tqdm bar as jobs finish, from whichever thread ran them.

    The jobs report here themselves (``ScrapeJob.on_done``) rather than
    through ``Dispatcher(progress=True)``, because the demo draws two bars
    that must match: the pool's and the sequential loop's, which is no
    pool; and both go to the stream the caller chose.
    """

    def __init__(self, tqdm: Any, total: int, label: str, stream: TextIO | None):
        self._lock = threading.Lock()
        self._failed = 0
        self._bar = (
            None
            if tqdm is None
            else tqdm(total=total, desc=f"{label:>10}", unit="page", file=stream)
        )

    def tick(self, ok: bool) -> None:
        if self._bar is None:
            return
        with self._lock:
            if not ok:
                self._failed += 1
                self._bar.set_postfix_str(f"failed {self._failed}", refresh=False)
            self._bar.update(1)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.close()


def _load_tqdm() -> Any:
    # Imported here, not at the top: tqdm is an optional extra and
    # ``import bigopool`` must not need it.
    try:
        return importlib.import_module("tqdm").tqdm
    except ImportError:
        raise ProgressUnavailable(
            "the progress bar needs tqdm: pip install 'bigopool[demo]' "
            "(or pass --no-progress)"
        ) from None
