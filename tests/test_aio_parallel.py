"""bigopool.aio.parallel, cancelable_parallel and run_sync on real loops."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from aio_support import loop_fixture, other_tasks
from bigopool import aio

run = loop_fixture()


class Boom(Exception):
    pass


# parallel


def test_parallel_runs_every_function_concurrently(run):
    done = []

    def sleeper(n):
        async def fn():
            await asyncio.sleep(0.1)
            done.append(n)

        return fn

    async def main():
        start = time.monotonic()
        errors = await aio.parallel(*(sleeper(n) for n in range(20)))
        return errors, time.monotonic() - start

    errors, elapsed = run(main())
    assert not errors
    assert sorted(done) == list(range(20))
    # Sequentially this would take 2 s.
    assert elapsed < 1.5


def test_parallel_collects_every_error_with_its_function(run):
    finished = []

    async def bad():
        raise Boom("one")

    async def slow_ok():
        await asyncio.sleep(0.05)
        finished.append("slow")

    async def also_bad():
        await asyncio.sleep(0.01)
        raise ValueError("two")

    errors = run(aio.parallel(bad, slow_ok, also_bad))
    assert finished == ["slow"]  # one failure does not stop the others
    pairs = {fn.__name__: type(error) for fn, error in errors.items()}
    assert pairs == {"bad": Boom, "also_bad": ValueError}


def test_parallel_of_nothing_returns_no_errors(run):
    assert run(aio.parallel()).is_empty()


def test_parallel_caller_cancellation_cancels_the_functions(run):
    observed = []

    async def forever():
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            observed.append("cancelled")
            raise

    async def main():
        task = asyncio.ensure_future(aio.parallel(forever, forever))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return other_tasks()

    assert run(main()) == set()
    assert observed == ["cancelled", "cancelled"]


def test_parallel_refuses_a_non_callable(run):
    async def fine():
        pass

    with pytest.raises(TypeError, match="argument 1 is not callable: int"):
        run(aio.parallel(fine, 3))  # type: ignore[arg-type]


# cancelable_parallel


def test_cancelable_parallel_cancels_the_others_on_first_failure(run):
    observed = []

    async def fail():
        await asyncio.sleep(0.02)
        raise Boom("first")

    async def patient():
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            observed.append("cancelled")
            raise

    async def main():
        start = time.monotonic()
        errors = await aio.cancelable_parallel(fail, patient, patient)
        return errors, time.monotonic() - start, other_tasks()

    errors, elapsed, left = run(main())
    assert elapsed < 5
    assert observed == ["cancelled", "cancelled"]
    [(fn, error)] = errors.items()
    assert fn is fail
    assert isinstance(error, Boom)
    assert left == set()


def test_cancelable_parallel_counts_errors_raised_while_cancelled(run):
    async def fail():
        await asyncio.sleep(0)  # bad_cleanup is now at its await
        raise Boom("cause")

    async def bad_cleanup():
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            raise ValueError("cleanup failed") from None

    errors = run(aio.cancelable_parallel(fail, bad_cleanup))
    assert sorted(type(e).__name__ for e in errors) == ["Boom", "ValueError"]


def test_cancelable_parallel_without_failure_runs_all(run):
    done = []

    def worker(n):
        async def fn():
            await asyncio.sleep(0.01)
            done.append(n)

        return fn

    errors = run(aio.cancelable_parallel(*(worker(n) for n in range(5))))
    assert errors.is_empty()
    assert sorted(done) == list(range(5))


def test_cancelable_parallel_honours_asyncio_timeout(run):
    observed = []

    async def forever():
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            observed.append("cancelled")
            raise

    async def main():
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await aio.cancelable_parallel(forever, forever, forever)
        return other_tasks()

    assert run(main()) == set()
    assert observed == ["cancelled"] * 3


def test_cancelable_parallel_honours_caller_cancellation(run):
    async def forever():
        await asyncio.sleep(100)

    async def main():
        task = asyncio.ensure_future(aio.cancelable_parallel(forever, forever))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return other_tasks()

    assert run(main()) == set()


def test_cancelable_parallel_refuses_a_non_callable(run):
    with pytest.raises(TypeError, match="argument 0 is not callable: str"):
        run(aio.cancelable_parallel("nope"))  # type: ignore[arg-type]


def test_parallel_needs_a_running_loop():
    coro = aio.parallel()
    with pytest.raises(RuntimeError, match="must be called from a coroutine"):
        coro.send(None)


# run_sync: blocking jobs on threads, awaited from the loop.


def test_run_sync_runs_blocking_jobs_without_blocking_the_loop(run):
    ticks = 0

    def blocking(n):
        time.sleep(0.05)
        return n

    async def ticker(stop):
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    async def main():
        stop = asyncio.Event()
        tick_task = asyncio.ensure_future(ticker(stop))
        results, errors = await aio.run_sync(
            (lambda n=n: blocking(n) for n in range(8)), workers=4
        )
        stop.set()
        await tick_task
        return results, errors

    results, errors = run(main())
    assert sorted(results) == list(range(8))
    assert errors.is_empty()
    # The loop kept turning during about 0.1 s of blocking work.
    assert ticks >= 5


def test_run_sync_reports_errors_with_their_jobs(run):
    def bad():
        raise Boom("thread")

    results, errors = run(aio.run_sync([lambda: 1, bad], workers=2))
    assert results == [1]
    [(job, error)] = errors.items()
    assert job is bad
    assert isinstance(error, Boom)


def test_run_sync_cancellation_cancels_queued_jobs(run):
    started = []
    release = threading.Event()

    def blocking(n):
        started.append(n)
        release.wait(5)
        return n

    async def main():
        task = asyncio.ensure_future(
            aio.run_sync(
                [lambda n=n: blocking(n) for n in range(6)],
                workers=1,
                queue_size=10,
            )
        )
        while not started:  # the first job is running in its thread
            await asyncio.sleep(0.005)
        task.cancel()
        await asyncio.sleep(0.01)
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    # Only the job already running ran; the queued ones were given up.
    assert started == [0]


def test_run_sync_refuses_bad_sizes_and_jobs(run):
    with pytest.raises(ValueError, match="workers must be at least 1"):
        run(aio.run_sync([], workers=0))
    with pytest.raises(TypeError, match="a job must have an execute"):
        run(aio.run_sync([42], workers=1))
