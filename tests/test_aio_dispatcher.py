"""bigopool.aio.Dispatcher on real event loops (asyncio and uvloop)."""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bigopool
from aio_support import loop_fixture, other_tasks
from bigopool import aio

run = loop_fixture()


async def echo(value: object, delay: float = 0.0) -> object:
    await asyncio.sleep(delay)
    return value


class Boom(Exception):
    pass


class Doubler:
    """A job object with an async execute()."""

    def __init__(self, n: int) -> None:
        self.n = n

    async def execute(self) -> int:
        await asyncio.sleep(0)
        return 2 * self.n


# Results and errors.


def test_dispatcher_collects_every_result(run):
    async def main():
        async with aio.Dispatcher(4, 8) as pool:
            for n in range(100):
                await pool.enqueue(lambda n=n: echo(n))
        return pool.results, pool.errors

    results, errors = run(main())
    assert sorted(results) == list(range(100))
    assert not errors


def test_dispatcher_runs_job_objects_with_execute(run):
    async def main():
        pool = aio.Dispatcher(3, 3).run()
        await pool.enqueue(*(Doubler(n) for n in range(10)))
        return await pool.wait()

    results, errors = run(main())
    assert sorted(results) == [2 * n for n in range(10)]
    assert errors.is_empty()


def test_dispatcher_reports_which_job_failed(run):
    async def fail():
        await asyncio.sleep(0)
        raise Boom("bad job")

    async def main():
        pool = aio.Dispatcher(2, 4).run()
        await pool.enqueue(lambda: echo(1), fail, lambda: echo(2))
        return await pool.wait()

    results, errors = run(main())
    assert sorted(results) == [1, 2]
    [(job, error)] = errors.items()
    assert job is fail
    assert isinstance(error, Boom)
    assert str(error) == "bad job"


def test_dispatcher_reports_the_job_object_of_a_failed_execute(run):
    class Failing:
        async def execute(self):
            raise Boom("from execute")

    job = Failing()

    async def main():
        async with aio.Dispatcher(1, 1) as pool:
            await pool.enqueue(job)
        return pool.errors

    errors = run(main())
    assert [(j, type(e)) for j, e in errors.items()] == [(job, Boom)]


def test_dispatcher_results_come_in_completion_order(run):
    async def main():
        async with aio.Dispatcher(3, 3) as pool:
            await pool.enqueue(
                lambda: echo("slow", 0.2),
                lambda: echo("fast", 0.0),
                lambda: echo("middle", 0.05),
            )
        return pool.results

    assert run(main()) == ["fast", "middle", "slow"]


def test_dispatcher_records_a_callable_that_returns_no_awaitable(run):
    def not_async():
        return 42

    async def main():
        async with aio.Dispatcher(1, 1) as pool:
            await pool.enqueue(not_async)
        return pool.errors

    [(job, error)] = run(main()).items()
    assert job is not_async
    assert isinstance(error, TypeError)
    assert "await" in str(error)


def test_dispatcher_prints_nothing(run, capfd):
    async def fail():
        raise Boom("quiet")

    async def main():
        async with aio.Dispatcher(2, 2) as pool:
            await pool.enqueue(fail, fail)
        return pool.errors

    assert len(run(main())) == 2
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


def test_dispatcher_wait_twice_returns_the_same_outcome(run):
    async def main():
        pool = aio.Dispatcher(2, 2).run()
        await pool.enqueue(lambda: echo(1))
        first = await pool.wait()
        second = await pool.wait()
        return first, second

    first, second = run(main())
    assert first[0] is second[0]
    assert first[1] is second[1]
    assert first[0] == [1]


def test_dispatcher_concurrent_waits_share_the_outcome(run):
    async def main():
        pool = aio.Dispatcher(1, 1).run()
        await pool.enqueue(lambda: echo("x", 0.05))
        return await asyncio.gather(pool.wait(), pool.wait())

    (r1, e1), (r2, e2) = run(main())
    assert r1 is r2 and r1 == ["x"]
    assert e1 is e2


# Memory and concurrency bounds.


def test_dispatcher_keeps_tasks_bounded_while_jobs_flow(run):
    workers = 8
    peak = 0

    async def job():
        nonlocal peak
        peak = max(peak, len(other_tasks()))
        await asyncio.sleep(0)

    async def main():
        async with aio.Dispatcher(workers, 16) as pool:
            for _ in range(10_000):
                await pool.enqueue(job)
        return pool.results

    assert len(run(main())) == 10_000
    # Only the worker tasks exist besides the producer: no task per job.
    assert 1 <= peak <= workers


def test_dispatcher_never_runs_more_than_workers_at_once(run):
    running = 0
    most = 0

    async def job():
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        running -= 1

    async def main():
        async with aio.Dispatcher(5, 50) as pool:
            for _ in range(200):
                await pool.enqueue(job)

    run(main())
    assert most == 5


def test_dispatcher_enqueue_waits_while_the_queue_is_full(run):
    async def main():
        gate = asyncio.Event()

        async def blocked():
            await gate.wait()

        pool = aio.Dispatcher(1, 2).run()
        await pool.enqueue(blocked)
        await asyncio.sleep(0.01)  # the worker takes it
        await pool.enqueue(blocked, blocked)  # the queue is now full

        third = asyncio.ensure_future(pool.enqueue(blocked))
        await asyncio.sleep(0.05)
        waited = not third.done()
        gate.set()
        await third
        results, errors = await pool.wait()
        return waited, len(results), errors

    waited, count, errors = run(main())
    assert waited
    assert count == 4
    assert not errors


def test_dispatcher_try_enqueue_says_false_when_full(run):
    async def main():
        pool = aio.Dispatcher(1, 2).run()
        accepted = [pool.try_enqueue(lambda n=n: echo(n)) for n in range(5)]
        results, _ = await pool.wait()
        return accepted, results

    accepted, results = run(main())
    # The worker has not run yet, so only queue_size jobs fit.
    assert accepted == [True, True, False, False, False]
    assert sorted(results) == [0, 1]


# Timeouts and rate limits.


def test_dispatcher_timeout_cancels_the_job_and_records_jobtimeout(run):
    seen = []

    async def sleepy():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def main():
        async with aio.Dispatcher(2, 2, timeout=0.05) as pool:
            await pool.enqueue(sleepy, lambda: echo("quick"))
        return pool.results, pool.errors

    start = time.monotonic()
    results, errors = run(main())
    assert time.monotonic() - start < 5
    assert results == ["quick"]
    [(job, error)] = errors.items()
    assert job is sleepy
    assert isinstance(error, bigopool.JobTimeout)
    assert seen == ["cancelled"]


def test_dispatcher_timeout_keeps_a_jobs_own_timeouterror(run):
    async def own():
        raise TimeoutError("mine")

    async def main():
        async with aio.Dispatcher(1, 1, timeout=5) as pool:
            await pool.enqueue(own)
        return pool.errors

    [error] = run(main()).all()
    assert type(error) is TimeoutError
    assert str(error) == "mine"


def test_dispatcher_rate_limit_spaces_job_starts(run):
    starts: list[float] = []

    async def job():
        starts.append(time.monotonic())

    async def main():
        async with aio.Dispatcher(10, 100, rate_limit=50) as pool:
            for _ in range(26):
                await pool.enqueue(job)

    run(main())
    span = starts[-1] - starts[0]
    # 25 intervals of 20 ms: 0.5 s. Generous bounds: a burst would take ~0.
    assert 0.4 <= span <= 3.0
    # Smooth, not bursty: the typical gap is near the 20 ms interval (a
    # loop stalled by a busy machine may bunch a few, hence the median).
    gaps = sorted(b - a for a, b in itertools.pairwise(starts))
    assert gaps[len(gaps) // 2] >= 0.01
    assert len(starts) == 26


# Cancellation.


def test_dispatcher_cancelled_wait_cancels_running_and_pending(run):
    observed = []

    async def forever():
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            observed.append("cancelled")
            raise

    async def main():
        pool = aio.Dispatcher(2, 10).run()
        for _ in range(6):
            await pool.enqueue(forever)
        waiter = asyncio.ensure_future(pool.wait())
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        return pool.results, pool.errors, other_tasks()

    start = time.monotonic()
    results, errors, left = run(main())
    assert time.monotonic() - start < 5
    assert results == []
    assert len(errors) == 6
    assert all(isinstance(e, bigopool.JobCancelled) for e in errors)
    messages = sorted(str(e) for e in errors)
    assert messages.count("cancelled while running") == 2
    assert observed == ["cancelled", "cancelled"]
    assert left == set()


def test_dispatcher_cancelled_wait_cancels_jobs_waiting_for_the_rate_limit(run):
    async def main():
        pool = aio.Dispatcher(3, 10, rate_limit=2).run()
        for _ in range(6):
            await pool.enqueue(lambda: asyncio.sleep(100))
        waiter = asyncio.ensure_future(pool.wait())
        await asyncio.sleep(0.05)  # one job runs, two workers wait for slots
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        return pool.errors, other_tasks()

    errors, left = run(main())
    messages = sorted(str(e) for e in errors)
    assert len(errors) == 6
    assert messages.count("cancelled while running") == 1
    assert messages.count("cancelled before it started") == 2
    assert messages.count("the pool shut down first") == 3
    assert left == set()


def test_dispatcher_timeout_around_wait_cancels_everything(run):
    async def main():
        pool = aio.Dispatcher(3, 3).run()
        for _ in range(5):
            await pool.enqueue(lambda: asyncio.sleep(100))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await pool.wait()
        return pool.errors, other_tasks()

    errors, left = run(main())
    assert len(errors) == 5
    assert left == set()


def test_dispatcher_context_cancels_pending_when_the_body_raises(run):
    started = []

    async def job(n):
        started.append(n)
        await asyncio.sleep(0.01)

    async def main():
        pool = aio.Dispatcher(1, 10)
        with pytest.raises(Boom):
            async with pool:
                for n in range(5):
                    await pool.enqueue(lambda n=n: job(n))
                await asyncio.sleep(0)  # the worker starts job 0
                raise Boom("body failed")
        return pool.results, pool.errors

    results, errors = run(main())
    # Every job ended as exactly one error: the queued ones were dropped and
    # the running one (if it had started) cancelled.
    assert results == []
    assert len(errors) == 5
    assert len(started) <= 1
    assert all(isinstance(e, bigopool.JobCancelled) for e in errors)


def test_dispatcher_context_stops_everything_when_the_task_is_cancelled(run):
    async def main():
        pool = aio.Dispatcher(2, 10)

        async def body():
            async with pool:
                for _ in range(5):
                    await pool.enqueue(lambda: asyncio.sleep(100))
                await asyncio.sleep(100)

        task = asyncio.ensure_future(body())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return pool.errors, other_tasks()

    errors, left = run(main())
    assert len(errors) == 5
    assert left == set()


def test_dispatcher_shutdown_cancel_pending_cancels_queued_and_running_jobs(run):
    ran = []

    async def job(n):
        ran.append(n)
        await asyncio.sleep(0.02)
        return n

    async def main():
        pool = aio.Dispatcher(1, 10).run()
        for n in range(5):
            await pool.enqueue(lambda n=n: job(n))
        await asyncio.sleep(0.005)  # job 0 is running
        return await pool.shutdown(cancel_pending=True)

    results, errors = run(main())
    assert ran == [0]  # started, then cancelled: not waited for
    assert results == []
    assert len(errors) == 5
    assert all(isinstance(e, bigopool.JobCancelled) for e in errors)


def test_dispatcher_reraises_keyboardinterrupt_after_all_jobs(run):
    async def interrupt():
        raise KeyboardInterrupt

    async def main():
        pool = aio.Dispatcher(2, 4).run()
        await pool.enqueue(interrupt, lambda: echo(1, 0.02))
        with pytest.raises(KeyboardInterrupt):
            await pool.wait()
        return pool.results, pool.errors

    results, errors = run(main())
    assert results == [1]
    assert [type(e) for e in errors] == [KeyboardInterrupt]


# Misuse.


@pytest.mark.parametrize(
    ("workers", "queue_size", "error", "match"),
    [
        (0, 1, ValueError, "workers must be at least 1, got 0"),
        (1, 0, ValueError, "queue_size must be at least 1, got 0"),
        (-3, 1, ValueError, "workers must be at least 1"),
        (1.5, 1, TypeError, "workers must be an int, got float"),
        (1, "2", TypeError, "queue_size must be an int, got str"),
        (True, 1, TypeError, "workers must be an int, got bool"),
    ],
)
def test_dispatcher_refuses_bad_sizes(workers, queue_size, error, match):
    with pytest.raises(error, match=match):
        aio.Dispatcher(workers, queue_size)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"timeout": 0}, ValueError, "timeout must be more than 0"),
        ({"timeout": "1"}, TypeError, "timeout must be a number"),
        ({"rate_limit": 0}, ValueError, "rate_limit must be a finite number above 0"),
        ({"rate_limit": float("inf")}, ValueError, "finite number above 0"),
        ({"rate_limit": "fast"}, TypeError, "rate_limit must be a number"),
    ],
)
def test_dispatcher_refuses_bad_options(options, error, match):
    with pytest.raises(error, match=match):
        aio.Dispatcher(1, 1, **options)


def test_dispatcher_refuses_enqueue_before_run(run):
    async def main():
        pool = aio.Dispatcher(1, 1)
        with pytest.raises(RuntimeError, match=r"enqueue\(\) needs run\(\)"):
            await pool.enqueue(lambda: echo(1))
        with pytest.raises(RuntimeError, match=r"try_enqueue\(\) needs run\(\)"):
            pool.try_enqueue(lambda: echo(1))
        with pytest.raises(RuntimeError, match=r"wait\(\) needs run\(\)"):
            await pool.wait()

    run(main())


def test_dispatcher_refuses_enqueue_after_wait(run):
    async def main():
        pool = aio.Dispatcher(1, 1).run()
        await pool.wait()
        with pytest.raises(RuntimeError, match=r"enqueue\(\) after wait\(\)"):
            await pool.enqueue(lambda: echo(1))
        with pytest.raises(RuntimeError, match=r"try_enqueue\(\) after wait\(\)"):
            pool.try_enqueue(lambda: echo(1))

    run(main())


def test_dispatcher_blocked_enqueue_fails_when_wait_is_called(run):
    async def main():
        pool = aio.Dispatcher(1, 1).run()
        await pool.enqueue(lambda: asyncio.sleep(0.05))
        await asyncio.sleep(0.01)
        await pool.enqueue(lambda: asyncio.sleep(0.05))
        blocked = asyncio.ensure_future(pool.enqueue(lambda: echo(3)))
        await asyncio.sleep(0)
        results, _ = await pool.wait()
        with pytest.raises(RuntimeError, match=r"enqueue\(\) after wait\(\)"):
            await blocked
        return results

    assert len(run(main())) == 2


def test_dispatcher_refuses_run_twice(run):
    async def main():
        pool = aio.Dispatcher(1, 1).run()
        with pytest.raises(RuntimeError, match="already called"):
            pool.run()
        await pool.wait()

    run(main())


def test_dispatcher_run_needs_a_running_loop():
    with pytest.raises(RuntimeError, match="must be called from a coroutine"):
        aio.Dispatcher(1, 1).run()


def test_dispatcher_refuses_a_non_job_and_adds_none_of_the_batch(run):
    async def main():
        pool = aio.Dispatcher(1, 10).run()
        with pytest.raises(TypeError, match="a job must have an execute"):
            await pool.enqueue(lambda: echo(1), 42)
        with pytest.raises(TypeError, match="a job must have an execute"):
            pool.try_enqueue("text")
        return await pool.wait()

    results, errors = run(main())
    assert results == []
    assert not errors


def test_dispatcher_results_before_wait_is_an_error(run):
    async def main():
        pool = aio.Dispatcher(1, 1).run()
        with pytest.raises(RuntimeError, match="results are available once"):
            _ = pool.results
        with pytest.raises(RuntimeError, match="errors are available once"):
            _ = pool.errors
        await pool.wait()

    run(main())


# Nothing is lost.


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    outcomes=st.lists(st.booleans(), max_size=60),
    workers=st.integers(1, 6),
    queue_size=st.integers(1, 6),
    cancel=st.booleans(),
    options=st.sampled_from([{}, {"timeout": 5.0}, {"rate_limit": 100_000}]),
)
def test_dispatcher_loses_no_job(run, outcomes, workers, queue_size, cancel, options):
    async def ok(n):
        await asyncio.sleep(0)
        return n

    async def bad(n):
        await asyncio.sleep(0)
        raise Boom(n)

    async def main():
        # The options route jobs through the worker loop that enforces
        # limits, the others through the plain one.
        pool = aio.Dispatcher(workers, queue_size, **options).run()
        jobs = []
        for n, good in enumerate(outcomes):
            job = (lambda n=n: ok(n)) if good else (lambda n=n: bad(n))
            jobs.append(job)
            await pool.enqueue(job)
        return jobs, await pool.shutdown(cancel_pending=cancel)

    jobs, (results, errors) = run(main())
    assert len(results) + len(errors) == len(jobs)
    failed = {id(job) for job, _ in errors.items()}
    assert len(failed) == len(errors)
    assert failed <= {id(job) for job in jobs}
    expected_ok = {n for n, good in enumerate(outcomes) if good}
    assert set(results) <= expected_ok
    if not cancel:
        assert set(results) == expected_ok


_CTRL_C_SCRIPT = """
import asyncio, sys
from bigopool import aio

pool = aio.Dispatcher(2, 10)

async def forever():
    await asyncio.sleep(100)

async def main():
    pool.run()
    for _ in range(5):
        await pool.enqueue(forever)
    print("ready", flush=True)
    await pool.wait()

try:
    asyncio.run(main())
except KeyboardInterrupt:
    kinds = sorted(type(e).__name__ for e in pool.errors)
    print(len(pool.results), len(pool.errors), set(kinds), flush=True)
"""


def test_dispatcher_ctrl_c_under_asyncio_run_stops_promptly():
    # A real SIGINT to a real process: asyncio.run turns it into the
    # cancellation of the task awaiting wait().
    child = subprocess.Popen(
        [sys.executable, "-c", _CTRL_C_SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        start = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert time.monotonic() - start < 10
    assert out.strip() == "0 5 {'JobCancelled'}"
    assert err == ""


def test_dispatcher_cancelled_twice_still_waits_for_cleanup(run):
    cleaned = []

    async def slow_to_stop():
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # cleanup that takes a while
            cleaned.append(True)
            raise

    async def main():
        pool = aio.Dispatcher(2, 2).run()
        await pool.enqueue(slow_to_stop, slow_to_stop)
        waiter = asyncio.ensure_future(pool.wait())
        await asyncio.sleep(0.01)
        waiter.cancel()
        await asyncio.sleep(0.01)
        waiter.cancel()  # again, while the jobs clean up
        with pytest.raises(asyncio.CancelledError):
            await waiter
        # A later wait() shares the finished outcome instead of hanging.
        return await pool.wait(), other_tasks()

    (results, errors), left = run(main())
    assert cleaned == [True, True]
    assert results == []
    assert len(errors) == 2
    assert left == set()


def test_aio_statistics_count_every_state() -> None:
    async def scenario() -> tuple[bigopool.Statistics, bigopool.Statistics]:
        gate = asyncio.Event()

        async def blocked() -> None:
            await gate.wait()

        async def broken() -> None:
            raise ValueError("no")

        d: aio.Dispatcher[object] = aio.Dispatcher(2, 10).run()
        await d.enqueue(blocked, blocked, blocked, broken)
        await asyncio.sleep(0.05)
        during = d.statistics()
        gate.set()
        await d.wait()
        return during, d.statistics()

    during, after = asyncio.run(scenario())

    assert (during.running, during.waiting, during.submitted) == (2, 2, 4)
    assert (after.succeeded, after.failed, after.cancelled) == (3, 1, 0)
    assert (after.running, after.waiting, after.submitted) == (0, 0, 4)
    assert after.latency_p50 is None


def test_aio_statistics_count_cancelled_jobs() -> None:
    async def scenario() -> bigopool.Statistics:
        d: aio.Dispatcher[object] = aio.Dispatcher(1, 10).run()
        await d.enqueue(*[lambda: asyncio.sleep(10)] * 4)
        await asyncio.sleep(0.05)
        await d.shutdown(cancel_pending=True)
        return d.statistics()

    stats = asyncio.run(scenario())

    # One was running and is cancelled too, not waited for.
    assert (stats.cancelled, stats.running, stats.submitted) == (4, 0, 4)
    assert stats.elapsed < 5


def test_aio_progress_always_draws(capfd: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        async with aio.Dispatcher(4, 8, progress="always") as d:
            for _ in range(30):
                await d.enqueue(lambda: asyncio.sleep(0))

    asyncio.run(scenario())

    assert "30/30" in capfd.readouterr().err


def test_aio_progress_bad_value_is_refused() -> None:
    with pytest.raises(ValueError, match="progress must be True, False or 'always'"):
        aio.Dispatcher(1, 1, progress="loud")


def test_aio_retry_awaits_a_flaky_job_again_and_counts_it_once() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("try again")
        return "ok"

    async def broken() -> None:
        raise KeyError("not retried")

    async def scenario() -> tuple[list[object], bigopool.Errors]:
        policy = bigopool.Retry(attempts=4, on=ConnectionError, backoff=0.001)
        async with aio.Dispatcher(2, 4, retry=policy) as d:
            await d.enqueue(flaky, broken)
        return d.results, d.errors

    results, errors = asyncio.run(scenario())

    assert results == ["ok"]
    assert calls == 3
    [(job, error)] = errors.items()
    assert job is broken
    assert isinstance(error, KeyError)


def test_aio_retry_gives_up_with_a_note() -> None:
    async def down() -> None:
        raise ConnectionError("down")

    async def scenario() -> bigopool.Errors:
        policy = bigopool.Retry(attempts=2, backoff=0)
        d: aio.Dispatcher[None] = aio.Dispatcher(1, 1, retry=policy).run()
        assert d.try_enqueue(down)
        return (await d.wait())[1]

    [(job, error)] = asyncio.run(scenario()).items()

    assert job is down
    assert error.__notes__ == ["bigopool: failed after 2 attempts"]


def test_aio_retry_option_must_be_a_policy() -> None:
    with pytest.raises(TypeError, match=r"retry must be a bigopool\.Retry, got int"):
        aio.Dispatcher(1, 1, retry=3)  # type: ignore[arg-type]
