"""stream(): outcomes as they finish, bounded, closing cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

import bigopool
from bigopool import JobCancelled, Outcome, Retry, stream


def square(n: int):  # type: ignore[no-untyped-def]
    return lambda: n * n


def fail(message: str):  # type: ignore[no-untyped-def]
    def job() -> None:
        raise ValueError(message)

    return job


def test_stream_yields_one_outcome_per_job() -> None:
    jobs = [square(n) for n in range(100)]
    outcomes = list(stream(jobs, workers=4, queue_size=8))

    assert len(outcomes) == 100
    assert sorted(o.unwrap() for o in outcomes) == [n * n for n in range(100)]
    assert {id(o.job) for o in outcomes} == {id(job) for job in jobs}
    assert all(o.ok and o.attempts == 1 for o in outcomes)


def test_stream_outcome_carries_error_and_timing() -> None:
    [outcome] = list(stream([fail("nope")], workers=1, queue_size=1))

    assert not outcome.ok
    assert isinstance(outcome.error, ValueError)
    assert outcome.finished >= outcome.started > 0
    assert outcome.duration >= 0
    with pytest.raises(ValueError, match="nope"):
        outcome.unwrap()
    assert "error=ValueError('nope')" in repr(outcome)


def test_stream_ordered_keeps_input_order_when_finishing_out_of_order() -> None:
    def job(n: int):  # type: ignore[no-untyped-def]
        def run() -> int:
            time.sleep(0.002 * (n % 3))
            return n

        return run

    outcomes = stream(
        [job(n) for n in range(60)], workers=6, queue_size=4, ordered=True
    )

    assert [o.result for o in outcomes] == list(range(60))


def test_stream_pulls_lazily_within_the_bound() -> None:
    pulled = 0
    consumed = 0
    most_ahead = 0

    def jobs() -> Iterator[object]:
        nonlocal pulled, most_ahead
        while True:
            pulled += 1
            most_ahead = max(most_ahead, pulled - consumed)
            yield lambda: None

    for _ in stream(jobs(), workers=3, queue_size=5):
        consumed += 1
        if consumed == 300:
            break

    # queue_size + workers between pulling a job and taking its outcome,
    # plus the one being pulled.
    assert most_ahead <= 5 + 3 + 1
    assert pulled < 320


def test_stream_ordered_stays_bounded_behind_a_slow_job() -> None:
    release = threading.Event()
    pulled = 0

    def jobs() -> Iterator[object]:
        nonlocal pulled
        pulled += 1
        yield lambda: release.wait(10)
        while True:
            pulled += 1
            yield lambda: None

    results = stream(jobs(), workers=2, queue_size=3, ordered=True)
    iterator = iter(results)
    threading.Timer(0.2, release.set).start()
    first = next(iterator)

    assert first.result is True
    assert pulled <= 3 + 2 + 1
    results.close()


def test_stream_break_stops_the_pool_and_its_threads() -> None:
    def endless() -> Iterator[object]:
        while True:
            yield lambda: time.sleep(0.001)

    s = stream(endless(), workers=4, queue_size=16)
    for count, _ in enumerate(s, 1):
        if count == 20:
            break

    stats = s.statistics()
    assert stats.running == 0
    assert stats.waiting == 0
    assert [t for t in threading.enumerate() if t.name.startswith("bigopool")] == []


def test_stream_close_reports_pending_as_cancelled_in_statistics() -> None:
    gate = threading.Event()
    s = stream((lambda: gate.wait(10) for _ in range(50)), workers=1, queue_size=20)
    iterator = iter(s)
    threading.Timer(0.1, gate.set).start()
    next(iterator)
    s.close()

    stats = s.statistics()
    assert stats.cancelled > 0
    assert stats.finished == stats.submitted


def test_stream_context_manager_closes() -> None:
    with stream((lambda: 1 for _ in range(1000)), workers=2, queue_size=4) as s:
        assert next(iter(s)).result == 1

    assert s.statistics().waiting == 0


def test_stream_raises_the_iterables_error_after_taken_outcomes() -> None:
    def jobs() -> Iterator[object]:
        yield lambda: "a"
        yield lambda: "b"
        raise LookupError("the source broke")

    seen: list[object] = []
    with pytest.raises(LookupError, match="the source broke"):
        for outcome in stream(jobs(), workers=2, queue_size=2):
            seen.append(outcome.result)

    assert sorted(seen) == ["a", "b"]  # type: ignore[type-var]


def test_stream_bad_job_is_raised_after_earlier_outcomes() -> None:
    seen: list[object] = []
    with pytest.raises(TypeError, match="must have an execute"):
        for outcome in stream([lambda: 1, 42], workers=1, queue_size=1):
            seen.append(outcome.result)

    assert seen == [1]


def test_stream_retry_counts_attempts() -> None:
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("try again")
        return "ok"

    [outcome] = stream(
        [flaky], workers=1, queue_size=1, retry=Retry(attempts=5, backoff=0.001)
    )

    assert outcome.result == "ok"
    assert outcome.attempts == 3


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"jobs": 5}, TypeError, "jobs must be an iterable of jobs, got int"),
        ({"ordered": "yes"}, TypeError, "ordered must be a bool"),
        ({"workers": 0}, ValueError, "workers must be at least 1"),
        ({"queue_size": 0}, ValueError, "queue_size must be at least 1"),
        ({"retry": 3}, TypeError, "retry must be a bigopool"),
        ({"metrics": "on"}, TypeError, "metrics must be a bool"),
        ({"progress": "sometimes"}, ValueError, "progress must be True"),
    ],
)
def test_stream_bad_arguments_are_refused(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    arguments: dict[str, object] = {"jobs": [], "workers": 1, "queue_size": 1}
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        stream(**arguments)  # type: ignore[arg-type]


def test_stream_iterated_twice_is_an_error() -> None:
    s = stream([lambda: 1], workers=1, queue_size=1)
    assert [o.result for o in s] == [1]

    with pytest.raises(RuntimeError, match="only once"):
        iter(s)


def test_stream_empty_input_ends_at_once() -> None:
    assert list(stream([], workers=2, queue_size=2)) == []


def test_stream_metrics_give_latency_percentiles() -> None:
    s = stream(
        (lambda: time.sleep(0.001) for _ in range(40)),
        workers=4,
        queue_size=4,
        metrics=True,
    )
    for _ in s:
        pass
    stats = s.statistics()

    assert stats.succeeded == 40
    assert stats.latency_p50 is not None and stats.latency_p50 >= 0.0009
    assert stats.latency_p99 is not None and stats.latency_p99 >= stats.latency_p50


def test_stream_outcome_is_exported() -> None:
    outcome: Outcome[int] = Outcome("job", 3)

    assert outcome.ok and outcome.unwrap() == 3
    assert isinstance(JobCancelled("x"), Exception)
    assert bigopool.stream is stream


def test_stream_runs_on_the_process_backend() -> None:
    outcomes = list(
        stream(
            [square(n) for n in range(20)] + [fail("in a child")],
            workers=2,
            queue_size=4,
            backend="process",
            ordered=True,
        )
    )

    assert [o.result for o in outcomes[:20]] == [n * n for n in range(20)]
    assert isinstance(outcomes[20].error, ValueError)
    assert all(o.attempts == 1 and o.finished >= o.started for o in outcomes)
