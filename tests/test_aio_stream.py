"""bigopool.aio.stream on real event loops (asyncio and uvloop)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bigopool
from aio_support import loop_fixture, other_tasks
from bigopool import aio
from bigopool._outcome import Outcome

run = loop_fixture()


class Boom(Exception):
    pass


def job_returning(value, delay=0.0):
    async def job():
        await asyncio.sleep(delay)
        return value

    return job


async def collect(iterator):
    return [outcome async for outcome in iterator]


def test_stream_yields_an_outcome_per_job(run):
    jobs = [job_returning(n) for n in range(50)]
    outcomes = run(collect(aio.stream(jobs, workers=4, queue_size=4)))

    assert all(isinstance(o, Outcome) for o in outcomes)
    assert sorted(o.result for o in outcomes) == list(range(50))
    assert {id(o.job) for o in outcomes} == {id(j) for j in jobs}
    assert all(o.ok and o.attempts == 1 for o in outcomes)
    assert all(o.started <= o.finished for o in outcomes)


def test_stream_unordered_yields_in_completion_order(run):
    jobs = [job_returning("slow", 0.2), job_returning("fast")]
    outcomes = run(collect(aio.stream(jobs, workers=2, queue_size=2)))
    assert [o.result for o in outcomes] == ["fast", "slow"]


def test_stream_ordered_yields_in_input_order(run):
    delays = [0.03, 0.0, 0.02, 0.0, 0.01, 0.0] * 3
    jobs = [job_returning(n, d) for n, d in enumerate(delays)]
    outcomes = run(collect(aio.stream(jobs, workers=4, queue_size=2, ordered=True)))
    assert [o.result for o in outcomes] == list(range(len(delays)))


def test_stream_reports_failures_as_outcomes(run):
    async def fail():
        raise Boom("no")

    jobs = [job_returning(1), fail, job_returning(2)]
    outcomes = run(collect(aio.stream(jobs, workers=2, queue_size=2, ordered=True)))

    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].job is fail
    assert isinstance(outcomes[1].error, Boom)
    with pytest.raises(Boom, match="no"):
        outcomes[1].unwrap()


def test_stream_takes_an_async_iterable(run):
    async def source():
        for n in range(20):
            await asyncio.sleep(0)
            yield job_returning(n)

    outcomes = run(collect(aio.stream(source(), workers=3, queue_size=3)))
    assert sorted(o.result for o in outcomes) == list(range(20))


def test_stream_pulls_from_the_source_only_as_capacity_frees(run):
    pulled = 0
    workers, queue_size = 3, 4

    def source():
        nonlocal pulled
        for n in itertools.count():
            pulled += 1
            yield job_returning(n)

    async def main():
        stream = aio.stream(source(), workers=workers, queue_size=queue_size)
        seen = []
        async for outcome in stream:
            seen.append(outcome.result)
            # Never more than the bound held ahead of what was handed out.
            assert pulled - len(seen) <= queue_size + 2 * workers + 1
            if len(seen) == 200:
                break
        await stream.aclose()
        return seen

    assert len(run(main())) == 200


def test_stream_ordered_buffer_stays_bounded_behind_a_slow_job(run):
    pulled = 0

    def source():
        nonlocal pulled
        pulled += 1
        yield job_returning("slow", 0.2)
        for n in range(1000):
            pulled += 1
            yield job_returning(n)

    async def main():
        stream = aio.stream(source(), workers=4, queue_size=4, ordered=True)
        first = await anext(stream)
        at_first = pulled
        rest = [o.result async for o in stream]
        return first.result, at_first, rest

    first, at_first, rest = run(main())
    assert first == "slow"
    # While the first job ran, at most queue_size + 2 * workers were taken.
    assert at_first <= 4 + 2 * 4 + 1
    assert rest == list(range(1000))


def test_stream_handles_a_huge_generator_lazily(run):
    # Ten million jobs are offered; taking a few must not touch the rest.
    jobs = (job_returning(n) for n in range(10_000_000))

    async def main():
        stream = aio.stream(jobs, workers=8, queue_size=8, ordered=True)
        taken = []
        async for outcome in stream:
            taken.append(outcome.result)
            if len(taken) == 100:
                break
        await stream.aclose()
        return taken

    assert run(main()) == list(range(100))
    assert next(jobs) is not None  # the generator is still mostly unread


def test_stream_keeps_tasks_bounded(run):
    workers = 5
    peak = 0

    async def job():
        nonlocal peak
        peak = max(peak, len(other_tasks()))
        await asyncio.sleep(0)

    async def main():
        count = 0
        async for _ in aio.stream(
            (job for _ in range(10_000)), workers=workers, queue_size=10
        ):
            count += 1
        return count, other_tasks()

    count, left = run(main())
    assert count == 10_000
    assert peak <= workers + 1  # the workers and the feeder
    assert left == set()


def test_stream_break_cancels_running_jobs(run):
    observed = []

    async def forever():
        observed.append("started")
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            observed.append("cancelled")
            raise

    async def main():
        jobs = [job_returning("quick")] + [forever] * 5
        async for outcome in aio.stream(jobs, workers=3, queue_size=3):
            assert outcome.result == "quick"
            break
        # The iterator was dropped: its tasks are cancelled, give them a turn.
        for _ in range(5):
            await asyncio.sleep(0)
        return other_tasks()

    left = run(main())
    # Every job that had started was cancelled; none was left running.
    assert observed.count("started") >= 1
    assert observed.count("cancelled") == observed.count("started")
    assert left == set()


def test_stream_aclose_cancels_and_waits(run):
    observed = []

    async def forever():
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            observed.append("cancelled")
            raise

    async def main():
        async with aio.stream([forever] * 4, workers=2, queue_size=2) as stream:
            task = asyncio.ensure_future(anext(stream))
            await asyncio.sleep(0.02)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        after_close = list(observed)
        with pytest.raises(StopAsyncIteration):
            await anext(stream)
        return after_close, other_tasks()

    after_close, left = run(main())
    assert after_close == ["cancelled", "cancelled"]
    assert left == set()


def test_stream_timeout_records_jobtimeout(run):
    jobs = [job_returning("late", 10), job_returning("quick")]
    outcomes = run(
        collect(aio.stream(jobs, workers=2, queue_size=2, ordered=True, timeout=0.05))
    )
    assert isinstance(outcomes[0].error, bigopool.JobTimeout)
    assert outcomes[1].result == "quick"


def test_stream_rate_limit_spaces_starts(run):
    jobs = [job_returning(n) for n in range(11)]
    outcomes = run(collect(aio.stream(jobs, workers=4, queue_size=4, rate_limit=40)))
    starts = sorted(o.started for o in outcomes)
    # Ten intervals of 25 ms; generous bounds, but a burst would be ~0.
    assert 0.2 <= starts[-1] - starts[0] <= 3.0


def test_stream_raises_the_source_error_after_the_taken_jobs(run):
    def source():
        yield job_returning(1)
        yield job_returning(2)
        raise Boom("source broke")

    async def main():
        seen = []
        with pytest.raises(Boom, match="source broke"):
            async for outcome in aio.stream(source(), workers=2, queue_size=2):
                seen.append(outcome.result)
        return seen

    assert sorted(run(main())) == [1, 2]


def test_stream_raises_typeerror_for_a_non_job(run):
    async def main():
        seen = []
        with pytest.raises(TypeError, match="a job must have an execute"):
            async for outcome in aio.stream(
                [job_returning(1), 42, job_returning(3)], workers=1, queue_size=1
            ):
                seen.append(outcome.result)
        return seen

    assert run(main()) == [1]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"workers": 0, "queue_size": 1}, ValueError, "workers must be at least 1"),
        ({"workers": 1, "queue_size": 0}, ValueError, "queue_size must be at least"),
        ({"workers": 1.0, "queue_size": 1}, TypeError, "workers must be an int"),
        (
            {"workers": 1, "queue_size": 1, "timeout": -1},
            ValueError,
            "timeout must be more than 0",
        ),
        (
            {"workers": 1, "queue_size": 1, "rate_limit": -5},
            ValueError,
            "rate_limit must be a finite number above 0",
        ),
    ],
)
def test_stream_refuses_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        aio.stream([], **kwargs)


def test_stream_refuses_a_non_iterable():
    with pytest.raises(TypeError, match="jobs must be an iterable or async iterable"):
        aio.stream(42, workers=1, queue_size=1)  # type: ignore[arg-type]


def test_stream_iteration_needs_a_running_loop():
    stream = aio.stream([], workers=1, queue_size=1)
    coro = stream.__anext__()
    with pytest.raises(RuntimeError, match="must be called from a coroutine"):
        coro.send(None)


def test_stream_of_nothing_ends_at_once(run):
    assert run(collect(aio.stream([], workers=2, queue_size=2))) == []


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    outcomes=st.lists(st.booleans(), max_size=60),
    workers=st.integers(1, 5),
    queue_size=st.integers(1, 5),
    ordered=st.booleans(),
)
def test_stream_loses_no_job(run, outcomes, workers, queue_size, ordered):
    async def bad():
        await asyncio.sleep(0)
        raise Boom

    jobs = [job_returning(n) if good else bad for n, good in enumerate(outcomes)]
    got = run(
        collect(
            aio.stream(jobs, workers=workers, queue_size=queue_size, ordered=ordered)
        )
    )
    assert len(got) == len(jobs)
    if ordered:
        assert [o.job for o in got] == jobs
    assert sorted(o.result for o in got if o.ok) == [
        n for n, good in enumerate(outcomes) if good
    ]
    assert sum(not o.ok for o in got) == outcomes.count(False)


def test_stream_aclose_cancelled_meanwhile_still_waits_for_cleanup(run):
    cleaned = []

    async def slow_to_stop():
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)
            cleaned.append(True)
            raise

    async def main():
        stream = aio.stream([slow_to_stop] * 2, workers=2, queue_size=2)
        pending = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.01)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        closing = asyncio.ensure_future(stream.aclose())
        await asyncio.sleep(0.01)
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        return list(cleaned), other_tasks()

    cleaned_at_close, left = run(main())
    assert cleaned_at_close == [True, True]
    assert left == set()


def test_aio_stream_statistics_and_progress(capfd: pytest.CaptureFixture[str]) -> None:
    async def broken() -> None:
        raise ValueError("no")

    async def scenario() -> bigopool.Statistics:
        jobs = [lambda: asyncio.sleep(0)] * 20 + [broken]
        s = aio.stream(jobs, workers=3, queue_size=4, progress="always")
        async for _ in s:
            pass
        return s.statistics()

    stats = asyncio.run(scenario())

    assert (stats.submitted, stats.succeeded, stats.failed) == (21, 20, 1)
    assert (stats.waiting, stats.running, stats.cancelled) == (0, 0, 0)
    assert "21/21" in capfd.readouterr().err


def test_aio_stream_retry_reports_attempts() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 2:
            raise ConnectionError("try again")
        return "ok"

    async def scenario() -> list[Outcome[object]]:
        policy = bigopool.Retry(attempts=3, backoff=0)
        return [
            o async for o in aio.stream([flaky], workers=1, queue_size=1, retry=policy)
        ]

    [outcome] = asyncio.run(scenario())

    assert outcome.result == "ok"
    assert outcome.attempts == 2
