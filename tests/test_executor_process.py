"""bigopool.Executor on worker processes: futures settled in the parent."""

from __future__ import annotations

import concurrent.futures as cf
import os
import sys
import threading
import time
from collections.abc import Iterator

import cloudpickle
import psutil
import pytest

import bigopool
from bigopool import Executor, JobCancelled, WorkerDied


def square(n: int) -> int:
    return n * n


def pid_of_worker() -> int:
    return os.getpid()


def fail(message: str) -> None:
    raise ValueError(message)


def die() -> None:
    os._exit(7)


def remember(value: str) -> None:
    # Process-wide state: jobs sent by value each carry their own globals.
    os.environ["BIGOPOOL_TEST_INITIALIZED"] = value


def recall() -> str | None:
    return os.environ.get("BIGOPOOL_TEST_INITIALIZED")


def _descendants() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


@pytest.fixture(scope="module", autouse=True)
def _jobs_by_value() -> Iterator[None]:
    # Workers then need not import this module (and pytest with it).
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    yield
    cloudpickle.unregister_pickle_by_value(module)


@pytest.fixture(scope="module", autouse=True)
def _warm_forkserver(_jobs_by_value: None) -> None:
    # The forkserver and the resource tracker outlive every pool by design:
    # start them first, so that the orphan check sees only each test's own.
    with Executor(1, backend="process") as pool:
        pool.submit(int).result()


@pytest.fixture(autouse=True)
def _no_orphans(_warm_forkserver: None) -> Iterator[None]:
    before = _descendants()
    yield
    deadline = time.monotonic() + 10
    while _descendants() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _descendants() - before == set(), "worker processes left behind"


def test_executor_process_submit_map_and_errors() -> None:
    with Executor(2, backend="process") as pool:
        futures = [pool.submit(square, n) for n in range(20)]
        failing = pool.submit(fail, "remote")
        mapped = list(pool.map(square, range(10)))
        pids = {pool.submit(pid_of_worker).result() for _ in range(10)}

    assert [f.result() for f in futures] == [n * n for n in range(20)]
    assert mapped == [n * n for n in range(10)]
    with pytest.raises(ValueError, match="remote"):
        failing.result()
    assert os.getpid() not in pids


def test_executor_process_lambdas_and_bounded_map() -> None:
    offset = 3
    with Executor(2, queue_size=4, backend="process") as pool:
        results = list(pool.map(lambda n: n + offset, iter(range(200))))
        assert pool.try_submit(square, 2) is not None

    assert results == [n + 3 for n in range(200)]


def test_executor_process_unpicklable_call_is_refused_at_submit() -> None:
    with (
        Executor(1, backend="process") as pool,
        pytest.raises(TypeError, match="cannot be sent to a worker process"),
    ):
        pool.submit(square, threading.Lock())


def test_executor_process_dead_worker_fails_only_its_future() -> None:
    with Executor(2, backend="process") as pool:
        dead = pool.submit(die)
        alive = [pool.submit(square, n) for n in range(10)]

    with pytest.raises(WorkerDied, match="7"):
        dead.result()
    assert [f.result() for f in alive] == [n * n for n in range(10)]


def test_executor_process_initializer_runs_in_each_worker() -> None:
    with Executor(
        2, backend="process", initializer=remember, initargs=("set",)
    ) as pool:
        seen = {pool.submit(recall).result() for _ in range(8)}

    assert seen == {"set"}


def test_executor_process_shutdown_cancels_waiting_futures() -> None:
    pool = Executor(1, queue_size=50, backend="process")
    futures = [pool.submit(time.sleep, 0.2)] + [
        pool.submit(square, n) for n in range(20)
    ]
    pool.shutdown(wait=True, cancel_futures=True)

    assert all(f.done() for f in futures)
    cancelled = [f for f in futures if f.cancelled()]
    finished = [f for f in futures if not f.cancelled()]
    assert cancelled, "nothing was left to cancel"
    assert len(cancelled) + len(finished) == 21
    assert all(f.exception() is None for f in finished)
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(square, 1)


def test_executor_process_works_with_concurrent_futures_helpers() -> None:
    with Executor(2, backend="process") as pool:
        futures = [pool.submit(square, n) for n in range(6)]
        done, not_done = cf.wait(futures, timeout=60)
        ordered = sorted(f.result() for f in cf.as_completed(futures))

    assert not not_done
    assert len(done) == 6
    assert ordered == sorted(n * n for n in range(6))
    assert isinstance(JobCancelled("x"), Exception)
    assert bigopool.Executor is Executor
