"""The thread Dispatcher: the Go original's behaviours, then ours."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bigopool
from bigopool import Dispatcher, Errors, JobCancelled


class EchoJob:
    def __init__(self, value: object = "hello") -> None:
        self.value = value

    def execute(self) -> object:
        return self.value


class FailingJob:
    def __init__(self, message: str = "boom") -> None:
        self.message = message

    def execute(self) -> object:
        raise ValueError(self.message)


class BlockingJob:
    """Runs until released, telling the test when it has started."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def execute(self) -> str:
        self.started.set()
        assert self.release.wait(10), "the test never released the job"
        return "released"


def bigopool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("bigopool")]


# The Go original's own suite, in Python.


def test_dispatcher_ten_jobs_two_workers_queue_two_all_finish() -> None:
    d: Dispatcher[object] = Dispatcher(2, 2).run()
    for n in range(10):
        d.enqueue(EchoJob(n))
    results, errors = d.wait()

    assert sorted(results) == list(range(10))  # type: ignore[type-var]
    assert errors.is_empty()


def test_dispatcher_one_failing_job_gives_exactly_one_error() -> None:
    d: Dispatcher[object] = Dispatcher(2, 2).run()
    job = FailingJob("it broke")
    d.enqueue(job)
    results, errors = d.wait()

    assert results == []
    assert len(errors) == 1
    [(failed_job, error)] = errors.items()
    assert failed_job is job
    assert isinstance(error, ValueError)
    assert str(error) == "it broke"


def test_dispatcher_two_failures_among_ten_successes() -> None:
    d: Dispatcher[object] = Dispatcher(3, 4).run()
    for n in range(10):
        d.enqueue(EchoJob(n))
    d.enqueue(FailingJob("one"), FailingJob("two"))
    results, errors = d.wait()

    assert len(results) == 10
    assert len(errors) == 2
    assert sorted(str(e) for e in errors) == ["one", "two"]


def test_dispatcher_thousand_jobs_give_thousand_results() -> None:
    d: Dispatcher[object] = Dispatcher(5, 10).run()
    for n in range(1000):
        d.enqueue(EchoJob(n))
    results, errors = d.wait()

    assert sorted(results) == list(range(1000))  # type: ignore[type-var]
    assert not errors


@pytest.mark.parametrize(
    ("workers", "queue_size", "error", "match"),
    [
        (0, 1, ValueError, "workers must be at least 1, got 0"),
        (1, 0, ValueError, "queue_size must be at least 1, got 0"),
        (-3, 1, ValueError, "workers must be at least 1, got -3"),
        (1.5, 1, TypeError, "workers must be an int, got float"),
        (1, "10", TypeError, "queue_size must be an int, got str"),
        (True, 1, TypeError, "workers must be an int, got bool"),
        (None, 1, TypeError, "workers must be an int, got NoneType"),
    ],
)
def test_dispatcher_bad_sizes_are_refused(
    workers: object, queue_size: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Dispatcher(workers, queue_size)  # type: ignore[arg-type]


def test_dispatcher_leaves_no_worker_thread_after_wait() -> None:
    d: Dispatcher[object] = Dispatcher(8, 4).run()
    assert len(bigopool_threads()) >= 8
    for n in range(50):
        d.enqueue(EchoJob(n))
    d.wait()

    assert bigopool_threads() == []


# Our own API.


def test_dispatcher_accepts_keyword_sizes_and_callables() -> None:
    d: Dispatcher[int] = Dispatcher(workers=2, queue_size=3).run()
    d.enqueue(lambda: 1, lambda: 2)
    results, _ = d.wait()

    assert sorted(results) == [1, 2]


def test_dispatcher_prefers_execute_over_call() -> None:
    class Both:
        def execute(self) -> str:
            return "execute"

        def __call__(self) -> str:
            return "call"

    d: Dispatcher[str] = Dispatcher(1, 1).run()
    d.enqueue(Both())

    assert d.wait()[0] == ["execute"]


def test_dispatcher_wait_with_no_jobs_returns_empty() -> None:
    results, errors = Dispatcher(3, 3).run().wait()

    assert results == []
    assert isinstance(errors, Errors)
    assert errors.is_empty()


def test_dispatcher_context_manager_runs_and_waits() -> None:
    with Dispatcher(2, 5) as d:
        d.enqueue(EchoJob("a"), FailingJob("b"))

    assert d.results == ["a"]
    assert [str(e) for e in d.errors] == ["b"]


def test_dispatcher_context_manager_cancels_pending_when_body_raises() -> None:
    blocker = BlockingJob()
    with pytest.raises(KeyError), Dispatcher(1, 10) as d:
        d.enqueue(blocker)
        assert blocker.started.wait(5)
        d.enqueue(*(EchoJob(n) for n in range(5)))
        blocker.release.set()
        raise KeyError("the body failed")

    assert len(d.results) + len(d.errors) == 6
    cancelled = [e for e in d.errors if isinstance(e, JobCancelled)]
    assert len(cancelled) == len(d.errors)


def test_dispatcher_results_before_wait_is_an_error() -> None:
    d: Dispatcher[object] = Dispatcher(1, 1)
    with pytest.raises(RuntimeError, match="once wait"):
        _ = d.results
    with pytest.raises(RuntimeError, match="once wait"):
        _ = d.errors


def test_dispatcher_enqueue_before_run_is_an_error() -> None:
    d: Dispatcher[object] = Dispatcher(1, 1)
    with pytest.raises(RuntimeError, match=r"enqueue\(\) needs run\(\)"):
        d.enqueue(EchoJob())
    with pytest.raises(RuntimeError, match=r"try_enqueue\(\) needs run\(\)"):
        d.try_enqueue(EchoJob())


def test_dispatcher_enqueue_after_wait_is_an_error() -> None:
    d: Dispatcher[object] = Dispatcher(1, 1).run()
    d.wait()
    with pytest.raises(RuntimeError, match=r"enqueue\(\) after wait\(\)"):
        d.enqueue(EchoJob())
    with pytest.raises(RuntimeError, match=r"try_enqueue\(\) after wait\(\)"):
        d.try_enqueue(EchoJob())


def test_dispatcher_run_twice_is_an_error() -> None:
    d: Dispatcher[object] = Dispatcher(1, 1).run()
    with pytest.raises(RuntimeError, match="already called"):
        d.run()
    d.wait()
    with pytest.raises(RuntimeError, match="used once"):
        d.run()


def test_dispatcher_wait_before_run_is_an_error() -> None:
    with pytest.raises(RuntimeError, match=r"wait\(\) needs run\(\)"):
        Dispatcher(1, 1).wait()


def test_dispatcher_second_wait_returns_the_same_outcome() -> None:
    d: Dispatcher[object] = Dispatcher(1, 1).run()
    d.enqueue(EchoJob(1))
    first = d.wait()

    assert d.wait() == first


@pytest.mark.parametrize(
    ("job", "match"),
    [
        (42, "must have an execute"),
        ("text", "must have an execute"),
        (None, "must have an execute"),
        (type("NotCallable", (), {"execute": 3})(), "not callable"),
    ],
)
def test_dispatcher_enqueue_refuses_non_jobs(job: object, match: str) -> None:
    d: Dispatcher[object] = Dispatcher(1, 1).run()
    with pytest.raises(TypeError, match=match):
        d.enqueue(job)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=match):
        d.try_enqueue(job)  # type: ignore[arg-type]

    assert d.wait() == ([], d.errors)
    assert d.errors.is_empty()


def test_dispatcher_bad_job_among_many_adds_none() -> None:
    d: Dispatcher[object] = Dispatcher(1, 5).run()
    with pytest.raises(TypeError):
        d.enqueue(EchoJob(1), 7, EchoJob(2))  # type: ignore[arg-type]
    results, errors = d.wait()

    assert results == []
    assert errors.is_empty()


@pytest.mark.parametrize(
    ("option", "value", "error", "match"),
    [
        ("timeout", 0, ValueError, "more than 0"),
        ("timeout", "1", TypeError, "timeout must be a number"),
        ("initializer", 3, TypeError, "initializer must be callable"),
        ("finalizer", "x", TypeError, "finalizer must be callable"),
        ("max_jobs_per_worker", 0, ValueError, "at least 1"),
        ("backend", "gpu", ValueError, "backend must be one of"),
    ],
)
def test_dispatcher_bad_options_are_refused(
    option: str, value: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Dispatcher(1, 1, **{option: value})  # type: ignore[arg-type]


def test_dispatcher_failing_job_keeps_its_traceback() -> None:
    def explode() -> None:
        raise RuntimeError("deep")

    d: Dispatcher[None] = Dispatcher(1, 1).run()
    d.enqueue(explode)
    [error] = d.wait()[1].all()

    assert error.__traceback__ is not None
    frames = []
    tb = error.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "explode" in frames


def test_dispatcher_failing_job_does_not_stop_its_worker() -> None:
    d: Dispatcher[object] = Dispatcher(1, 100).run()
    for n in range(20):
        d.enqueue(FailingJob(str(n)) if n % 2 else EchoJob(n))
    results, errors = d.wait()

    assert len(results) == 10
    assert len(errors) == 10


def test_dispatcher_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    d: Dispatcher[object] = Dispatcher(2, 2).run()
    d.enqueue(FailingJob(), EchoJob())
    d.wait()

    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_dispatcher_job_raising_interrupt_is_recorded_and_reraised(
    interrupt: type[BaseException],
) -> None:
    def stop() -> None:
        raise interrupt("from a job")

    d: Dispatcher[object] = Dispatcher(2, 4).run()
    d.enqueue(stop, EchoJob(1), EchoJob(2))
    with pytest.raises(interrupt, match="from a job"):
        d.wait()

    assert sorted(d.results) == [1, 2]  # type: ignore[type-var]
    [error] = d.errors.all()
    assert isinstance(error, interrupt)
    assert bigopool_threads() == []


def test_dispatcher_results_are_in_completion_order() -> None:
    slow, fast = BlockingJob(), EchoJob("fast")
    d: Dispatcher[object] = Dispatcher(2, 2).run()
    d.enqueue(slow)
    assert slow.started.wait(5)
    d.enqueue(fast)
    deadline = time.monotonic() + 5
    while not d._collector.results and time.monotonic() < deadline:
        time.sleep(0.001)
    slow.release.set()

    assert d.wait()[0] == ["fast", "released"]


# Backpressure.


def test_dispatcher_enqueue_blocks_while_queue_is_full() -> None:
    blocker = BlockingJob()
    d: Dispatcher[object] = Dispatcher(1, 2).run()
    d.enqueue(blocker)
    assert blocker.started.wait(5)
    d.enqueue(EchoJob(1), EchoJob(2))

    entered = threading.Event()
    returned = threading.Event()

    def producer() -> None:
        entered.set()
        d.enqueue(EchoJob(3))
        returned.set()

    thread = threading.Thread(target=producer)
    thread.start()
    assert entered.wait(5)
    assert not returned.wait(0.2), "enqueue returned although the queue was full"

    blocker.release.set()
    assert returned.wait(5)
    thread.join()
    assert sorted(map(str, d.wait()[0])) == ["1", "2", "3", "released"]


def test_dispatcher_try_enqueue_returns_false_when_full() -> None:
    blocker = BlockingJob()
    d: Dispatcher[object] = Dispatcher(1, 2).run()
    assert d.try_enqueue(blocker)
    assert blocker.started.wait(5)

    assert d.try_enqueue(EchoJob(1))
    assert d.try_enqueue(EchoJob(2))
    assert not d.try_enqueue(EchoJob(3))

    blocker.release.set()
    results, errors = d.wait()
    assert sorted(map(str, results)) == ["1", "2", "released"]
    assert not errors


def test_dispatcher_queue_never_holds_more_than_queue_size() -> None:
    seen: list[int] = []
    d: Dispatcher[None] = Dispatcher(2, 7).run()

    def observe() -> None:
        seen.append(len(d._queue))
        time.sleep(0.0005)

    for _ in range(300):
        d.enqueue(observe)
    d.wait()

    assert max(seen) <= 7


def test_dispatcher_shutdown_cancel_pending_reports_every_job() -> None:
    blocker = BlockingJob()
    d: Dispatcher[object] = Dispatcher(1, 50).run()
    d.enqueue(blocker)
    assert blocker.started.wait(5)
    jobs = [EchoJob(n) for n in range(20)]
    d.enqueue(*jobs)

    timer = threading.Timer(0.1, blocker.release.set)
    timer.start()
    results, errors = d.shutdown(cancel_pending=True)
    timer.join()

    assert results == ["released"]
    assert len(errors) == 20
    assert {id(job) for job, _ in errors.items()} == {id(job) for job in jobs}
    assert all(isinstance(e, JobCancelled) for e in errors)


# Safety under concurrency: nothing lost.


@settings(max_examples=30, deadline=None)
@given(
    plan=st.lists(st.lists(st.booleans(), max_size=40), min_size=1, max_size=6),
    workers=st.integers(1, 8),
    queue_size=st.integers(1, 16),
)
def test_dispatcher_loses_nothing_from_many_producers(
    plan: list[list[bool]], workers: int, queue_size: int
) -> None:
    d: Dispatcher[object] = Dispatcher(workers, queue_size).run()

    def produce(index: int, outcomes: list[bool]) -> None:
        for position, ok in enumerate(outcomes):
            tag = f"{index}-{position}"
            d.enqueue(EchoJob(tag) if ok else FailingJob(tag))

    producers = [
        threading.Thread(target=produce, args=(i, outcomes))
        for i, outcomes in enumerate(plan)
    ]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    results, errors = d.wait()

    tags = [(f"{i}-{p}", ok) for i, o in enumerate(plan) for p, ok in enumerate(o)]
    expected_ok = {tag for tag, ok in tags if ok}
    expected_bad = {tag for tag, ok in tags if not ok}
    assert sorted(results) == sorted(expected_ok)  # type: ignore[type-var]
    assert sorted(str(e) for e in errors) == sorted(expected_bad)
    assert bigopool_threads() == []


def test_dispatcher_concurrent_wait_calls_share_one_outcome() -> None:
    d: Dispatcher[object] = Dispatcher(2, 2).run()
    d.enqueue(*(EchoJob(n) for n in range(10)))
    outcomes: list[object] = []
    waiters = [
        threading.Thread(target=lambda: outcomes.append(d.wait())) for _ in range(4)
    ]
    for thread in waiters:
        thread.start()
    for thread in waiters:
        thread.join()

    assert len(outcomes) == 4
    assert all(outcome == outcomes[0] for outcome in outcomes)
    assert len(d.results) == 10


def test_dispatcher_repr_names_state_and_backend() -> None:
    d: Dispatcher[object] = Dispatcher(3, 9)

    assert repr(d) == "<Dispatcher new workers=3 queue_size=9 backend='thread'>"
    assert bigopool.Dispatcher.__module__ == "bigopool"


def test_dispatcher_enqueue_needs_at_least_one_job() -> None:
    d: Dispatcher[object] = Dispatcher(1, 1).run()
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        d.enqueue()  # type: ignore[call-arg]
    d.wait()
