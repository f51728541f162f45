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
    from test.test_concurrent_futures.executor import ExecutorTest
    from test.test_concurrent_futures.test_as_completed import AsCompletedTests
    from test.test_concurrent_futures.test_init import InitializerMixin
    from test.test_concurrent_futures.test_shutdown import ExecutorShutdownTest
    from test.test_concurrent_futures.test_thread_pool import ThreadPoolExecutorTest
    from test.test_concurrent_futures.test_wait import ThreadPoolWaitTests, WaitTests
    from test.test_concurrent_futures.util import BaseTestCase, ExecutorMixin
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


class Unbounded(ExecutorMixin):
    """The drop-in configuration: no queue_size, like ThreadPoolExecutor."""

    executor_type = bigopool.Executor


class Bounded(ExecutorMixin):
    """With backpressure; larger than any test's burst of submissions, so
    the tests' expectations about how many calls were queued still hold."""

    executor_type = bigopool.Executor
    executor_kwargs = {"queue_size": 64}  # noqa: RUF012 - CPython's own shape


class BigopoolExecutorTest(Unbounded, ExecutorTest, BaseTestCase):
    pass


class BigopoolBoundedExecutorTest(Bounded, ExecutorTest, BaseTestCase):
    pass


class BigopoolThreadFlavourTest(Unbounded, ThreadPoolExecutorTest):
    """ThreadPoolExecutor's own extra tests, where they are about behaviour."""

    test_saturation = _PRIVATE_THREADS
    test_idle_thread_reuse = _PRIVATE_THREADS
    test_hang_global_shutdown_lock = _skip(
        "exercises only concurrent.futures' own pools (bpo-45021 fork lock)"
    )


class BigopoolWaitTests(Unbounded, ThreadPoolWaitTests):
    pass


class BigopoolBoundedWaitTests(Bounded, WaitTests, BaseTestCase):
    pass


class BigopoolAsCompletedTests(Unbounded, AsCompletedTests, BaseTestCase):
    pass


class BigopoolShutdownTest(Unbounded, ExecutorShutdownTest, BaseTestCase):
    test_interpreter_shutdown = _CHILD_IMPORT
    test_submit_after_interpreter_shutdown = _CHILD_IMPORT
    test_hang_gh83386 = _CHILD_IMPORT


class BigopoolBoundedShutdownTest(Bounded, ExecutorShutdownTest, BaseTestCase):
    test_interpreter_shutdown = _CHILD_IMPORT
    test_submit_after_interpreter_shutdown = _CHILD_IMPORT
    test_hang_gh83386 = _CHILD_IMPORT


class BigopoolInitializerTest(InitializerMixin, BaseTestCase):
    executor_type = bigopool.Executor
