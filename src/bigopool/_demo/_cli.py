"""The ``demo`` subcommand: its options and its summary."""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
from typing import TextIO

from ._run import DemoReport, DemoSettings, ProgressUnavailable, run_demo

__all__ = ["add_demo_parser", "format_summary", "run_from_args"]

_DEFAULTS = DemoSettings()

DESCRIPTION = """\
Scrape a web site through a bigopool.Dispatcher and see what a pool buys.

The site is served by this process on 127.0.0.1 (a port the OS picks), so
nothing leaves the machine. Each page answers after 20-80 ms; about 3% answer
500, 2% answer 404 and 1% answer too late, so the summary has failures to
show. A sample of the pages is then fetched again one at a time, and the
pool's time is compared with that sequential loop."""


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = _whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return value


def add_demo_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add the ``demo`` subcommand and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "demo",
        help="scrape a local web site through a worker pool",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--pages",
        type=_positive_int,
        default=_DEFAULTS.pages,
        metavar="N",
        help="how many pages the site serves and the pool fetches "
        "(default: %(default)s)",
    )
    add(
        "--workers",
        type=_positive_int,
        default=_DEFAULTS.workers,
        metavar="N",
        help="fetches running at once (default: %(default)s)",
    )
    add(
        "--queue-size",
        type=_positive_int,
        default=_DEFAULTS.queue_size,
        metavar="N",
        help="jobs that may wait for a worker before enqueue() blocks "
        "(default: %(default)s)",
    )
    add(
        "--seed",
        type=_whole_number,
        default=_DEFAULTS.seed,
        help="draws each page's latency, size and failure (default: %(default)s)",
    )
    add(
        "--timeout",
        type=_positive_float,
        default=_DEFAULTS.timeout,
        metavar="SECONDS",
        help="give up on a page after this long (default: %(default)s)",
    )
    add(
        "--sequential-sample",
        type=_non_negative_int,
        default=_DEFAULTS.sequential_sample,
        metavar="N",
        help="pages fetched one at a time to measure the speed-up; the time "
        "for all pages is extrapolated from them unless N >= --pages; "
        "0 skips the comparison (default: %(default)s)",
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="draw progress bars on stderr even when stdout is not a terminal",
    )
    shown.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="never draw progress bars",
    )
    parser.set_defaults(run=run_from_args)
    return parser


def run_from_args(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the demo as the parsed ``args`` say; print its summary on ``out``.

    Returns the exit status: 0 once the summary is printed (failed pages are
    part of the demo), 1 if a progress bar was forced without tqdm, 130 on
    Ctrl-C.
    """
    out = sys.stdout if out is None else out
    settings = DemoSettings(
        pages=args.pages,
        workers=args.workers,
        queue_size=args.queue_size,
        seed=args.seed,
        timeout=args.timeout,
        sequential_sample=args.sequential_sample,
    )

    progress = args.progress
    if progress is None:
        progress = out.isatty() and _has_tqdm()
    try:
        report = run_demo(settings, progress=progress)
    except ProgressUnavailable as error:
        print(f"bigopool demo: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # The pool has already cancelled what had not started and the site
        # has shut down; a traceback would add nothing.
        print("bigopool demo: interrupted", file=sys.stderr)
        return 130

    out.write(format_summary(report))
    out.flush()
    return 0


def format_summary(report: DemoReport) -> str:
    """Return the summary of ``report`` as lines of text."""
    settings = report.settings
    lines = [
        f"Scraped {settings.pages} pages from {report.base_url} with "
        f"{settings.workers} workers (queue size {settings.queue_size}, "
        f"seed {settings.seed})",
        "",
        f"  fetched  {report.fetched:>6} pages  ({report.fetched_bytes / 1e6:.1f} MB"
        f"{_fetch_times(report.fetch_times)})",
        f"  failed   {report.failed:>6} pages",
    ]
    lines += [
        f"           {count:>6} x {reason}" for reason, count in report.failures.items()
    ]
    lines += [
        f"  total    {settings.pages:>6} pages in {report.elapsed:.2f} s "
        f"= {report.throughput:.0f} pages/s",
        "",
    ]
    lines += _comparison(report)
    return "\n".join(lines) + "\n"


def _fetch_times(times: tuple[float, ...]) -> str:
    if not times:
        return ""
    median = times[len(times) // 2] * 1000
    return f", {median:.0f} ms median fetch, {times[-1] * 1000:.0f} ms slowest"


def _comparison(report: DemoReport) -> list[str]:
    estimate = report.sequential_estimate
    speedup = report.speedup
    if estimate is None or speedup is None:
        return ["  Sequential comparison skipped (--sequential-sample 0)."]

    each = report.sample_elapsed / report.sample_size * 1000
    measured = (
        f"  Sequential loop: {report.sample_size} pages one at a time took "
        f"{report.sample_elapsed:.2f} s ({each:.0f} ms per page)."
    )
    if report.sample_is_whole:
        return [measured, f"  Speed-up of the pool: {speedup:.1f}x (measured)."]
    return [
        measured,
        f"  All {report.settings.pages} pages would take about {estimate:.1f} s "
        f"(extrapolated from that",
        "  evenly spaced sample, not measured; --sequential-sample "
        f"{report.settings.pages} measures it).",
        f"  Speed-up of the pool: about {speedup:.1f}x.",
    ]


def _has_tqdm() -> bool:
    # Without tqdm the demo runs without bars unless they were asked for.
    return importlib.util.find_spec("tqdm") is not None
