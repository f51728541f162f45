"""``bigopool demo``: a web scraper on a local site, run through a pool.

Private: the command line is the interface. Nothing here is imported by
``import bigopool``.
"""

from __future__ import annotations

from ._cli import add_demo_parser, format_summary, run_from_args
from ._run import DemoReport, DemoSettings, ProgressUnavailable, run_demo
from ._scraper import FetchFailed, Page, ScrapeJob
from ._site import DemoSite, PagePlan, plan_pages

__all__ = [
    "DemoReport",
    "DemoSettings",
    "DemoSite",
    "FetchFailed",
    "Page",
    "PagePlan",
    "ProgressUnavailable",
    "ScrapeJob",
    "add_demo_parser",
    "format_summary",
    "plan_pages",
    "run_demo",
    "run_from_args",
]
