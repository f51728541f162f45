"""The public surface of bigopool.aio: names, modules, lazy import, docs."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import bigopool
from bigopool import aio
from bigopool._outcome import Outcome


def test_aio_all_is_sorted_complete_and_public():
    assert aio.__all__ == sorted(aio.__all__)
    public = {
        name
        for name, value in vars(aio).items()
        if not name.startswith("_")
        and not isinstance(value, type(sys))
        and name != "annotations"
    }
    assert public == set(aio.__all__)


def test_aio_names_report_the_public_module():
    assert aio.Dispatcher.__module__ == "bigopool.aio"
    assert aio.stream.__module__ == "bigopool.aio"
    assert aio.Stream.__module__ == "bigopool.aio"
    assert aio.parallel.__module__ == "bigopool.aio"
    assert aio.run_sync.__module__ == "bigopool.aio"


def test_aio_shares_the_thread_pools_types():
    assert aio.Errors is bigopool.Errors
    assert aio.JobTimeout is bigopool.JobTimeout
    assert aio.JobCancelled is bigopool.JobCancelled
    assert aio.Outcome is Outcome


def test_aio_import_bigopool_does_not_import_aio_or_uvloop():
    code = (
        "import sys, bigopool; "
        "print('bigopool.aio' in sys.modules, 'uvloop' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    assert out.stdout.split() == ["False", "False"]


def test_aio_module_example_runs():
    failures, tried = doctest.testmod(aio, verbose=False)
    assert tried > 0
    assert failures == 0


def test_aio_docs_first_example_runs():
    # The page's first example is complete; running it keeps it honest.
    page = Path(__file__).parent.parent / "docs" / "asyncio.md"
    first = page.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(first, str(page), "exec"), {"__name__": "docs_example"})
