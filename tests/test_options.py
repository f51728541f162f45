"""Dispatcher options on threads: retry, rate limit, timeout, worker set-up,
statistics."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from bigopool import (
    Dispatcher,
    JobTimeout,
    Retry,
    Statistics,
    WorkerInitFailed,
)

# Retry.


def test_retry_runs_a_flaky_job_until_it_succeeds() -> None:
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("try again")
        return "done"

    d: Dispatcher[str] = Dispatcher(1, 1, retry=Retry(attempts=3, backoff=0.001))
    d.run().enqueue(flaky)
    results, errors = d.wait()

    assert results == ["done"]
    assert errors.is_empty()
    assert calls == 3


def test_retry_gives_up_and_counts_the_job_once() -> None:
    calls = 0

    def broken() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError(f"attempt {calls}")

    d: Dispatcher[None] = Dispatcher(2, 2, retry=Retry(attempts=4, backoff=0.001))
    d.run().enqueue(broken)
    results, errors = d.wait()

    assert results == []
    [(job, error)] = errors.items()
    assert job is broken
    assert str(error) == "attempt 4"
    assert error.__notes__ == ["bigopool: failed after 4 attempts"]


def test_retry_applies_to_job_objects_too() -> None:
    class FailsOnce:
        def __init__(self) -> None:
            self.calls = 0

        def execute(self) -> int:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("first call")
            return self.calls

    # Run this type once without retry first, so that enqueue's fast path
    # already knows it: retry must wrap it all the same.
    plain: Dispatcher[int] = Dispatcher(1, 1).run()
    plain.enqueue(FailsOnce())
    assert len(plain.wait()[1]) == 1

    d: Dispatcher[int] = Dispatcher(1, 1, retry=Retry(attempts=2, backoff=0))
    d.run().enqueue(FailsOnce())
    results, errors = d.wait()

    assert results == [2]
    assert errors.is_empty()


def test_retry_skips_exceptions_it_does_not_cover() -> None:
    calls = 0

    def wrong() -> None:
        nonlocal calls
        calls += 1
        raise KeyError("not retried")

    d: Dispatcher[None] = Dispatcher(
        1, 1, retry=Retry(attempts=5, on=ConnectionError, backoff=0)
    )
    d.run().enqueue(wrong)
    d.wait()

    assert calls == 1


def test_retry_backoff_grows_and_is_capped_with_jitter() -> None:
    policy = Retry(backoff=0.1, multiplier=2, max_backoff=0.3, jitter=0.5)

    for attempt, base in [(1, 0.1), (2, 0.2), (3, 0.3), (6, 0.3)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(base * 0.5 <= d <= base * 1.5 for d in delays)
        assert max(delays) - min(delays) > base * 0.1  # jitter spreads them


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"attempts": 0}, ValueError, "attempts must be at least 1"),
        ({"attempts": 2.5}, TypeError, "attempts must be an int"),
        ({"on": "boom"}, TypeError, "on must be an exception type"),
        ({"on": (ValueError, int)}, TypeError, "on must be an exception type"),
        ({"backoff": -1}, ValueError, "backoff must not be negative"),
        ({"multiplier": "2"}, TypeError, "multiplier must be a number"),
        ({"jitter": 2}, ValueError, "jitter must be at most 1"),
    ],
)
def test_retry_bad_policy_is_refused(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Retry(**kwargs)  # type: ignore[arg-type]


def test_retry_option_must_be_a_policy() -> None:
    with pytest.raises(TypeError, match=r"retry must be a bigopool\.Retry, got int"):
        Dispatcher(1, 1, retry=3)  # type: ignore[arg-type]


# Rate limit.


def test_rate_limit_spaces_job_starts_evenly() -> None:
    starts: list[float] = []
    lock = threading.Lock()

    def job() -> None:
        with lock:
            starts.append(time.monotonic())

    d: Dispatcher[None] = Dispatcher(4, 50, rate_limit=100)
    d.run().enqueue(*[job] * 30)
    d.wait()

    starts.sort()
    span = starts[-1] - starts[0]
    # 30 jobs at 100/s take at least 0.29 s however many workers there are,
    # and they come evenly, not in bursts: a 50 ms window holds 5 slots
    # (slack for sleeps that overshoot on a busy machine).
    busiest = max(
        sum(1 for t in starts if first <= t < first + 0.05) for first in starts
    )
    assert span >= 0.29 * 0.95
    assert busiest <= 7


@pytest.mark.parametrize(
    ("rate", "error", "match"),
    [
        (0, ValueError, "more than 0 jobs per second"),
        (-5, ValueError, "more than 0 jobs per second"),
        ("10", TypeError, "rate_limit must be a number"),
    ],
)
def test_rate_limit_bad_value_is_refused(
    rate: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Dispatcher(1, 1, rate_limit=rate)  # type: ignore[arg-type]


# Timeouts on threads.


def test_timeout_reports_a_job_over_time_and_keeps_the_pool_going() -> None:
    release = threading.Event()

    def stuck() -> str:
        release.wait(10)
        return "late"

    d: Dispatcher[object] = Dispatcher(1, 10, timeout=0.05).run()
    d.enqueue(stuck, lambda: "quick", lambda: "also quick")
    results, errors = d.wait()
    release.set()

    assert sorted(results) == ["also quick", "quick"]  # type: ignore[type-var]
    [(job, error)] = errors.items()
    assert job is stuck
    assert isinstance(error, JobTimeout)
    assert isinstance(error, TimeoutError)
    assert "finishes it in the background" in str(error)


def test_timeout_discards_the_late_result() -> None:
    def slow() -> str:
        time.sleep(0.2)
        return "late"

    d: Dispatcher[object] = Dispatcher(2, 2, timeout=0.05).run()
    d.enqueue(slow)
    results, errors = d.wait()
    time.sleep(0.3)  # let the abandoned thread finish its job

    assert results == []
    assert len(errors) == 1
    assert d.results == []


# Per-worker set-up.


def test_initializer_and_finalizer_run_once_per_worker_thread() -> None:
    local = threading.local()
    started: list[str] = []
    finished: list[str] = []
    lock = threading.Lock()

    def setup(prefix: str) -> None:
        local.session = f"{prefix}-{threading.current_thread().name}"
        with lock:
            started.append(local.session)

    def teardown() -> None:
        with lock:
            finished.append(local.session)

    d: Dispatcher[str] = Dispatcher(
        3, 10, initializer=setup, initargs=("session",), finalizer=teardown
    )
    d.run().enqueue(*[lambda: local.session] * 30)
    results, errors = d.wait()

    assert errors.is_empty()
    assert len(started) == 3
    assert sorted(started) == sorted(finished)
    assert set(results) <= set(started)


def test_initializer_failure_fails_jobs_instead_of_hanging() -> None:
    def setup() -> None:
        raise OSError("no database")

    d: Dispatcher[int] = Dispatcher(2, 5, initializer=setup).run()
    d.enqueue(*[lambda: 1] * 6)
    results, errors = d.wait()

    assert results == []
    assert len(errors) == 6
    for error in errors:
        assert isinstance(error, WorkerInitFailed)
        assert isinstance(error.__cause__, OSError)


def test_finalizer_failure_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def teardown() -> None:
        raise RuntimeError("cleanup broke")

    d: Dispatcher[int] = Dispatcher(1, 1, finalizer=teardown).run()
    d.enqueue(lambda: 1)
    with caplog.at_level(logging.ERROR, logger="bigopool"):
        results, _ = d.wait()

    assert results == [1]
    assert "finalizer failed" in caplog.text
    assert caplog.records[0].name == "bigopool"


# Statistics.


def test_statistics_count_every_state() -> None:
    gate = threading.Event()
    started = threading.Event()

    def blocker() -> None:
        started.set()
        gate.wait(10)

    d: Dispatcher[object] = Dispatcher(1, 10).run()
    d.enqueue(blocker)
    assert started.wait(5)
    d.enqueue(lambda: 1, lambda: 2)
    stats = d.statistics()

    assert isinstance(stats, Statistics)
    assert (stats.waiting, stats.running, stats.submitted) == (2, 1, 3)
    assert stats.finished == 0

    gate.set()
    d.enqueue(lambda: 1 / 0)
    d.wait()
    stats = d.statistics()
    assert (stats.succeeded, stats.failed, stats.cancelled) == (3, 1, 0)
    assert (stats.waiting, stats.running, stats.submitted) == (0, 0, 4)
    assert stats.throughput > 0
    assert stats.latency_p50 is None


def test_statistics_count_cancelled_jobs() -> None:
    gate = threading.Event()
    d: Dispatcher[object] = Dispatcher(1, 10).run()
    d.enqueue(lambda: gate.wait(10))
    d.enqueue(*[lambda: 1] * 5)
    threading.Timer(0.05, gate.set).start()
    d.shutdown(cancel_pending=True)
    stats = d.statistics()

    assert stats.cancelled + stats.succeeded == 6
    assert stats.cancelled >= 1
    assert stats.failed == 0


def test_statistics_latency_with_metrics() -> None:
    d: Dispatcher[None] = Dispatcher(2, 10, metrics=True).run()
    d.enqueue(*[lambda: time.sleep(0.002)] * 20)
    d.wait()
    stats = d.statistics()

    assert stats.latency_p50 is not None and stats.latency_p50 >= 0.0018
    assert stats.latency_p90 is not None and stats.latency_p90 >= stats.latency_p50
    assert stats.latency_p99 is not None and stats.latency_p99 >= stats.latency_p90


def test_statistics_is_frozen() -> None:
    stats = Dispatcher(1, 1).statistics()

    with pytest.raises(AttributeError):
        stats.submitted = 5  # type: ignore[misc]
    assert stats.elapsed == 0.0


def test_max_jobs_per_worker_is_refused_on_threads() -> None:
    d: Dispatcher[None] = Dispatcher(1, 1, max_jobs_per_worker=10)

    with pytest.raises(ValueError, match="max_jobs_per_worker needs worker processes"):
        d.run()
