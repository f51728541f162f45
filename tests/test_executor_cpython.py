"""CPython's own executor tests, run against ``bigopool.Executor``.

The generic test classes of ``test.test_concurrent_futures`` (the ones every
standard executor must pass) are imported from the installed standard
library at test time and mixed with an executor type of ours, the same way
CPython mixes them with ``ThreadPoolExecutor``. Nothing of CPython's code is
copied here. Python 3.13 ships the package in the layout used below; older
versions or builds without the ``test`` package skip this module.

Each skipped test is named with its reason: they check a private attribute
of ``ThreadPoolExecutor`` or start a child interpreter that can only import
executors from ``concurrent.futures``. ``tests/test_executor.py`` covers the
behaviour behind each of them with ``bigopool.Executor``.
"""

from __future__ import annotations

import sys
import unittest
from typing import Any

import pytest

import bigopool

if sys.version_info < (3, 13):
    pytest.skip(
        "CPython's executor test package has this layout from Python 3.13 on",
        allow_module_level=True,
    )

try:
    # Modules, not classes: a TestCase imported by name into this module
    # would be collected and run with ThreadPoolExecutor itself.
    from test.test_concurrent_futures import executor as cf_executor
    from test.test_concurrent_futures import test_as_completed as cf_as_completed
    from test.test_concurrent_futures import test_init as cf_init
    from test.test_concurrent_futures import test_shutdown as cf_shutdown
    from test.test_concurrent_futures import test_thread_pool as cf_thread_pool
    from test.test_concurrent_futures import test_wait as cf_wait
    from test.test_concurrent_futures import util as cf_util
except ImportError as error:  # pragma: no cover - depends on the build
    pytest.skip(
        f"the standard library's test package is not installed ({error})",
        allow_module_level=True,
    )


def _skip(reason: str) -> Any:
    @unittest.skip(reason)
    def skipped(self: object) -> None:
        """Skipped: see the reason."""

    return skipped


_PRIVATE_THREADS = _skip(
    "reads ThreadPoolExecutor._threads, a private attribute; bigopool starts "
    "all max_workers threads up front instead of one per submit"
)
_CHILD_IMPORT = _skip(
    "its child interpreter runs 'from concurrent.futures import <name>', "
    "which cannot name bigopool.Executor; test_executor.py runs the same "
    "scenario with bigopool"
)


class Unbounded(cf_util.ExecutorMixin):
    """The drop-in configuration: no queue_size, like ThreadPoolExecutor."""

    executor_type = bigopool.Executor


class Bounded(cf_util.ExecutorMixin):
    """With backpressure; larger than any test's burst of submissions, so
    the tests' expectations about how many calls were queued still hold."""

    executor_type = bigopool.Executor
    executor_kwargs = {"queue_size": 64}  # noqa: RUF012 - CPython's own shape


class BigopoolExecutorTest(Unbounded, cf_thread_pool.ThreadPoolExecutorTest):
    """The generic ExecutorTest plus ThreadPoolExecutor's behavioural extras."""

    test_saturation = _PRIVATE_THREADS
    test_idle_thread_reuse = _PRIVATE_THREADS
    test_hang_global_shutdown_lock = _skip(
        "exercises only concurrent.futures' own pools (bpo-45021 fork lock)"
    )


class BigopoolBoundedExecutorTest(
    Bounded, cf_executor.ExecutorTest, cf_util.BaseTestCase
):
    """map() takes its lazy path when queue_size is set."""


class BigopoolWaitTests(Unbounded, cf_wait.ThreadPoolWaitTests):
    pass


class BigopoolAsCompletedTests(
    Unbounded, cf_as_completed.AsCompletedTests, cf_util.BaseTestCase
):
    pass


class BigopoolShutdownTest(
    Unbounded, cf_shutdown.ExecutorShutdownTest, cf_util.BaseTestCase
):
    test_interpreter_shutdown = _CHILD_IMPORT
    test_submit_after_interpreter_shutdown = _CHILD_IMPORT
    test_hang_gh83386 = _CHILD_IMPORT


class BigopoolBoundedShutdownTest(
    Bounded, cf_shutdown.ExecutorShutdownTest, cf_util.BaseTestCase
):
    test_interpreter_shutdown = _CHILD_IMPORT
    test_submit_after_interpreter_shutdown = _CHILD_IMPORT
    test_hang_gh83386 = _CHILD_IMPORT


class BigopoolInitializerTest(cf_init.InitializerMixin, cf_util.BaseTestCase):
    executor_type = bigopool.Executor
