"""bigopool.Executor: stdlib semantics, backpressure, misuse, exit, asyncio.

CPython's own executor tests run against it in test_executor_cpython.py;
this file covers what those cannot (backpressure, try_submit, lazy map,
bigopool's own errors, interpreter exit with bigopool in the child) and
checks the drop-in behaviours on every supported Python.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import gc
import itertools
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bigopool
from bigopool import Executor
from bigopool._executor import _light_future_fits

# Generous: only a deadlock or a lost wake-up gets anywhere near it.
LONG = 10.0


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event that blocked calls wait on; always set at the end."""
    event = threading.Event()
    yield event
    event.set()


def _threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def _block_worker(executor: Executor, gate: threading.Event) -> cf.Future[bool]:
    """Occupy one worker until ``gate`` is set; return once it is running."""
    blocker = executor.submit(gate.wait, LONG)
    deadline = time.monotonic() + LONG
    while not blocker.running() and time.monotonic() < deadline:
        time.sleep(0.001)
    assert blocker.running()
    return blocker


def _run_child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# Construction and misuse.


def test_executor_is_a_concurrent_futures_executor() -> None:
    with Executor(2) as executor:
        future = executor.submit(pow, 2, 10)

        assert isinstance(executor, cf.Executor)
        assert isinstance(future, cf.Future)
        assert future.result(LONG) == 1024
        assert repr(future).startswith("<Future at 0x")
        assert "state=finished returned int" in repr(future)


def test_executor_light_futures_fit_this_python() -> None:
    # Fails, rather than silently falling back to slower futures, when a
    # Python release changes the state Future or Condition keep.
    assert _light_future_fits()


def test_future_result_timeout_and_callbacks_across_threads(
    gate: threading.Event,
) -> None:
    seen: list[object] = []

    with Executor(2) as executor:
        future = executor.submit(gate.wait, LONG)
        future.add_done_callback(lambda f: seen.append(f.result()))
        with pytest.raises(TimeoutError):
            future.result(timeout=0.01)
        waiters = [executor.submit(future.result, LONG) for _ in range(1)]
        gate.set()

        assert future.result(LONG) is True
        assert [w.result(LONG) for w in waiters] == [True]
    assert seen == [True]


def test_executor_public_name_is_bigopool_executor() -> None:
    assert "Executor" in bigopool.__all__
    assert Executor.__module__ == "bigopool"


def test_executor_max_workers_defaults_like_thread_pool() -> None:
    count = getattr(os, "process_cpu_count", os.cpu_count)() or 1

    with Executor() as executor:
        assert executor.max_workers == min(32, count + 4)


@pytest.mark.parametrize("workers", [0, -1])
def test_executor_max_workers_below_one_raises(workers: int) -> None:
    with pytest.raises(ValueError, match="max_workers must be greater than 0"):
        Executor(workers)


def test_executor_max_workers_not_int_raises() -> None:
    with pytest.raises(TypeError, match="max_workers must be an int, got str"):
        Executor("4")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("queue_size", "error", "message"),
    [
        (0, ValueError, "queue_size must be at least 1, got 0"),
        (-5, ValueError, "queue_size must be at least 1, got -5"),
        (2.5, TypeError, "queue_size must be an int, got float"),
        (True, TypeError, "queue_size must be an int, got bool"),
    ],
)
def test_executor_bad_queue_size_raises(
    queue_size: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Executor(2, queue_size=queue_size)  # type: ignore[arg-type]


def test_executor_initializer_not_callable_raises() -> None:
    with pytest.raises(TypeError, match="initializer must be a callable"):
        Executor(2, initializer=42)  # type: ignore[arg-type]


def test_executor_unknown_backend_raises() -> None:
    with pytest.raises(
        ValueError, match="backend must be 'thread' or 'process', got 'fibers'"
    ):
        Executor(2, backend="fibers")


def test_executor_bad_construction_starts_no_thread() -> None:
    with pytest.raises(ValueError, match="queue_size must be at least 1"):
        Executor(2, queue_size=0, thread_name_prefix="never-started")
    with pytest.raises(ValueError, match="backend"):
        Executor(2, backend="fibers", thread_name_prefix="never-started")

    assert not _threads_named("never-started")


def test_executor_repr_shows_state() -> None:
    executor = Executor(3, queue_size=7)
    assert repr(executor) == (
        "<bigopool.Executor open max_workers=3 queue_size=7 backend='thread'>"
    )

    executor.shutdown()
    assert "shut down" in repr(executor)


# submit and try_submit.


def test_submit_passes_args_and_keywords() -> None:
    def capture(*args: object, **kwargs: object) -> object:
        return args, kwargs

    with Executor(2) as executor:
        future = executor.submit(capture, 1, fn=2, self=3)

        assert future.result(LONG) == ((1,), {"fn": 2, "self": 3})


def test_submit_delivers_exception_through_future() -> None:
    with Executor(2) as executor:
        future = executor.submit(divmod, 1, 0)

        with pytest.raises(ZeroDivisionError):
            future.result(LONG)
        assert isinstance(future.exception(), ZeroDivisionError)


def test_submit_delivers_base_exception_through_future() -> None:
    def leave() -> None:
        raise SystemExit(3)

    with Executor(1) as executor:
        failed = executor.submit(leave)
        after = executor.submit(pow, 3, 2)

        with pytest.raises(SystemExit):
            failed.result(LONG)
        # The worker survives and runs the next call.
        assert after.result(LONG) == 9


def test_submit_after_shutdown_raises() -> None:
    executor = Executor(2)
    executor.shutdown()

    with pytest.raises(
        RuntimeError, match="cannot schedule new futures after shutdown"
    ):
        executor.submit(pow, 2, 2)


def test_try_submit_after_shutdown_raises() -> None:
    executor = Executor(2, queue_size=4)
    executor.shutdown()

    with pytest.raises(
        RuntimeError, match="cannot schedule new futures after shutdown"
    ):
        executor.try_submit(pow, 2, 2)


def test_submit_cancelled_before_start_never_runs(gate: threading.Event) -> None:
    ran: list[int] = []

    with Executor(1) as executor:
        blocker = executor.submit(gate.wait, LONG)
        waiting = executor.submit(ran.append, 1)

        assert waiting.cancel()
        gate.set()
        assert blocker.result(LONG) is True

    assert waiting.cancelled()
    assert ran == []


def test_submit_blocks_while_queue_is_full(gate: threading.Event) -> None:
    with Executor(1, queue_size=2) as executor:
        _block_worker(executor, gate)
        while executor.try_submit(int) is not None:
            pass
        submitted = threading.Event()

        def produce() -> None:
            executor.submit(int)
            submitted.set()

        producer = threading.Thread(target=produce)
        producer.start()

        assert not submitted.wait(0.2), "submit() did not block on a full queue"
        gate.set()
        assert submitted.wait(LONG), "submit() did not resume once there was room"
        producer.join(LONG)


def test_try_submit_returns_none_when_full(gate: threading.Event) -> None:
    with Executor(1, queue_size=3) as executor:
        _block_worker(executor, gate)
        accepted = []
        for _ in range(10):
            future = executor.try_submit(pow, 2, 3)
            if future is None:
                break
            accepted.append(future)

        assert len(accepted) == 3
        assert executor.try_submit(pow, 2, 3) is None
        gate.set()
        assert [f.result(LONG) for f in accepted] == [8] * len(accepted)


def test_try_submit_unbounded_always_accepts() -> None:
    with Executor(1) as executor:
        futures = [executor.try_submit(abs, -n) for n in range(1000)]

        assert all(f is not None for f in futures)
        assert [f.result(LONG) for f in futures if f is not None] == list(range(1000))


def test_submit_keeps_no_reference_to_a_finished_call() -> None:
    class Payload:
        def method(self) -> None:
            pass

    with Executor(2) as executor:
        payload = Payload()
        collected = threading.Event()
        weakref.finalize(payload, collected.set)
        executor.submit(payload.method).result(LONG)
        del payload
        gc.collect()

        assert collected.wait(LONG)


# map.


def test_map_matches_builtin_map_in_order() -> None:
    with Executor(4) as executor:
        assert list(executor.map(pow, range(50), range(50))) == list(
            map(pow, range(50), range(50))
        )


@pytest.mark.parametrize("queue_size", [None, 3])
def test_map_reraises_in_order(queue_size: int | None) -> None:
    with Executor(2, queue_size=queue_size) as executor:
        results = executor.map(divmod, [1, 1, 1, 1], [2, 3, 0, 5])

        assert next(results) == (0, 1)
        assert next(results) == (0, 1)
        with pytest.raises(ZeroDivisionError):
            next(results)


def test_map_bounded_reads_inputs_lazily() -> None:
    taken = itertools.count()

    def inputs() -> Iterator[int]:
        for n in itertools.count():
            next(taken)
            yield n

    with Executor(2, queue_size=5) as executor:
        results = executor.map(abs, inputs())
        first = list(itertools.islice(results, 100))
        read = next(taken)
        results.close()  # type: ignore[attr-defined]

    assert first == list(range(100))
    # 100 consumed plus at most one window of queue_size + max_workers ahead.
    assert read <= 100 + 5 + 2 + 1


def test_map_bounded_handles_uneven_iterables() -> None:
    with Executor(2, queue_size=4) as executor:
        assert list(executor.map(pow, range(100), [2, 3])) == [0, 1]
        assert list(executor.map(pow, [], [])) == []


def test_map_unbounded_submits_before_iteration() -> None:
    done: list[int] = []

    with Executor(2) as executor:
        executor.map(done.append, range(10))

    assert sorted(done) == list(range(10))


@pytest.mark.parametrize("queue_size", [None, 4])
def test_map_timeout_raises_and_cancels_the_rest(
    queue_size: int | None, gate: threading.Event
) -> None:
    started: list[int] = []

    def wait_for_gate(n: int) -> int:
        started.append(n)
        gate.wait(LONG)
        return n

    with Executor(1, queue_size=queue_size) as executor:
        results = executor.map(wait_for_gate, range(5), timeout=0.05)

        with pytest.raises(TimeoutError):
            next(results)
        gate.set()

    assert started == [0]


@pytest.mark.parametrize("queue_size", [None, 4])
def test_map_after_shutdown_raises_at_call(queue_size: int | None) -> None:
    executor = Executor(2, queue_size=queue_size)
    executor.shutdown()

    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.map(abs, range(3))


def test_map_accepts_chunksize_like_thread_pool() -> None:
    with Executor(2, queue_size=8) as executor:
        assert list(executor.map(abs, range(-5, 5), chunksize=3)) == [
            5,
            4,
            3,
            2,
            1,
            0,
            1,
            2,
            3,
            4,
        ]


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.integers(), max_size=60),
    queue_size=st.one_of(st.none(), st.integers(1, 8)),
    workers=st.integers(1, 4),
)
def test_map_equals_builtin_map_for_any_input(
    values: list[int], queue_size: int | None, workers: int
) -> None:
    with Executor(workers, queue_size=queue_size) as executor:
        assert list(executor.map(str, iter(values))) == list(map(str, values))


# shutdown.


def test_shutdown_wait_ends_every_worker_thread() -> None:
    executor = Executor(3, thread_name_prefix="ends-every")
    assert len(_threads_named("ends-every")) == 3

    executor.submit(time.sleep, 0.05)
    executor.shutdown(wait=True)

    assert _threads_named("ends-every") == []


def test_shutdown_without_wait_still_runs_submitted_calls() -> None:
    done: list[int] = []
    executor = Executor(2, thread_name_prefix="no-wait")
    futures = [executor.submit(done.append, n) for n in range(20)]

    executor.shutdown(wait=False)
    cf.wait(futures, timeout=LONG)

    assert sorted(done) == list(range(20))
    for thread in _threads_named("no-wait"):
        thread.join(LONG)


def test_shutdown_cancel_futures_cancels_waiting_calls(gate: threading.Event) -> None:
    executor = Executor(1)
    blocker = _block_worker(executor, gate)
    waiting = [executor.submit(int) for _ in range(10)]

    executor.shutdown(wait=False, cancel_futures=True)
    gate.set()
    executor.shutdown(wait=True)

    assert blocker.result(LONG) is True
    assert all(f.cancelled() for f in waiting)
    # Cancelled ones count as done for wait(), without waiting for anything.
    _, not_done = cf.wait(waiting, timeout=0)
    assert not not_done


def test_shutdown_cancel_futures_runs_calls_handed_to_idle_workers() -> None:
    executor = Executor(2)
    futures = [executor.submit(time.sleep, 0.05) for _ in range(10)]

    executor.shutdown(wait=True, cancel_futures=True)

    ran = [f for f in futures if not f.cancelled()]
    # Both idle workers had been handed a call, as in ThreadPoolExecutor.
    assert len(ran) >= 2
    assert all(f.done() and f.exception() is None for f in ran)
    assert all(f.cancelled() for f in futures[len(ran) :])


def test_shutdown_racing_producers_loses_nothing() -> None:
    executor = Executor(2, queue_size=8)
    accepted: list[cf.Future[int]] = []
    refused: list[RuntimeError] = []
    lock = threading.Lock()
    halfway = threading.Event()

    def produce() -> None:
        for n in range(300):
            if n == 150:
                halfway.set()
            try:
                future = executor.submit(abs, -n)
            except RuntimeError as error:
                with lock:
                    refused.append(error)
            else:
                with lock:
                    accepted.append(future)

    producers = [threading.Thread(target=produce) for _ in range(4)]
    for producer in producers:
        producer.start()
    halfway.wait(LONG)
    executor.shutdown(wait=True, cancel_futures=True)
    for producer in producers:
        producer.join(LONG)

    assert len(accepted) + len(refused) == 4 * 300
    done, not_done = cf.wait(accepted, timeout=LONG)
    assert not not_done
    assert all(f.cancelled() or f.result() >= 0 for f in done)
    assert all("after shutdown" in str(error) for error in refused)


def test_shutdown_is_idempotent() -> None:
    executor = Executor(2)
    future = executor.submit(pow, 2, 5)

    executor.shutdown()
    executor.shutdown(wait=False, cancel_futures=True)
    executor.shutdown()

    assert future.result(0) == 32


def test_context_manager_waits_for_calls() -> None:
    with Executor(2, thread_name_prefix="ctx-waits") as executor:
        futures = [executor.submit(time.sleep, 0.01) for _ in range(6)]

    assert all(f.done() for f in futures)
    assert _threads_named("ctx-waits") == []


@pytest.mark.parametrize("initializer", [None, int])
def test_executor_dropped_without_shutdown_stops_its_threads(
    initializer: type[int] | None,
) -> None:
    executor = Executor(2, thread_name_prefix="dropped", initializer=initializer)
    results = executor.map(abs, range(-5, 5))
    threads = _threads_named("dropped")
    del executor
    gc.collect()

    for thread in threads:
        thread.join(LONG)
        assert not thread.is_alive()
    assert list(results) == [abs(n) for n in range(-5, 5)]


# Interpreter exit, checked in a child interpreter.


def test_interpreter_exit_waits_for_submitted_calls() -> None:
    child = _run_child(
        """
        import time
        import bigopool

        def late(message):
            time.sleep(0.3)
            print(message, flush=True)

        executor = bigopool.Executor(3)
        executor.submit(late, "apple")
        """
    )

    assert child.returncode == 0, child.stderr
    assert child.stderr == ""
    assert child.stdout.strip() == "apple"


def test_interpreter_exit_after_shutdown_without_wait_does_not_hang() -> None:
    child = _run_child(
        """
        import time
        import bigopool

        def late(message):
            time.sleep(0.3)
            print(message, flush=True)

        executor = bigopool.Executor(3)
        executor.submit(late, "apple")
        executor.shutdown(wait=False)
        """
    )

    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "apple"


def test_submit_during_interpreter_exit_raises() -> None:
    child = _run_child(
        """
        import atexit
        import bigopool

        @atexit.register
        def submit_late():
            try:
                executor.submit(id, None)
            except RuntimeError as error:
                print(error, flush=True)

        executor = bigopool.Executor(2)
        """
    )

    assert child.returncode == 0, child.stderr
    assert (
        child.stdout.strip() == "cannot schedule new futures after interpreter shutdown"
    )


# Initializer.


_seen_by_initializer: list[str] = []
_local = threading.local()


def _remember(tag: str) -> None:
    _local.tag = tag
    _seen_by_initializer.append(threading.current_thread().name)


def _tag() -> str:
    return str(getattr(_local, "tag", "missing"))


def test_initializer_runs_once_per_worker_before_its_calls() -> None:
    _seen_by_initializer.clear()

    with Executor(
        3, thread_name_prefix="init-once", initializer=_remember, initargs=("x",)
    ) as executor:
        tags = list(executor.map(lambda _: _tag(), range(200)))

    assert tags == ["x"] * 200
    assert 1 <= len(_seen_by_initializer) <= 3
    assert len(set(_seen_by_initializer)) == len(_seen_by_initializer)


def _fail_to_start() -> None:
    raise ValueError("no database")


def test_initializer_failure_breaks_the_pool(caplog: pytest.LogCaptureFixture) -> None:
    executor = Executor(1, initializer=_fail_to_start)
    with caplog.at_level(logging.CRITICAL, logger="bigopool"):
        first = executor.submit(pow, 2, 2)

        with pytest.raises(cf.BrokenExecutor, match="initializer failed"):
            first.result(LONG)

    with pytest.raises(cf.thread.BrokenThreadPool, match="A thread initializer failed"):
        executor.submit(pow, 2, 2)
    assert "broken" in repr(executor)
    assert any("Exception in initializer" in r.message for r in caplog.records)
    executor.shutdown()


def test_initializer_failure_fails_queued_calls(gate: threading.Event) -> None:
    def slow_failure() -> None:
        gate.wait(LONG)
        raise ValueError("late failure")

    executor = Executor(1, initializer=slow_failure)
    futures = [executor.submit(pow, 2, n) for n in range(5)]
    gate.set()

    for future in futures:
        with pytest.raises(cf.thread.BrokenThreadPool):
            future.result(LONG)
    executor.shutdown()


# Working with the rest of concurrent.futures and asyncio.


def test_futures_work_with_wait_and_as_completed() -> None:
    with Executor(4, queue_size=16) as executor:
        futures = [executor.submit(pow, n, 2) for n in range(100)]
        done, not_done = cf.wait(futures, timeout=LONG)
        finished = {f.result() for f in cf.as_completed(futures, timeout=LONG)}

    assert len(done) == 100
    assert not not_done
    assert finished == {n * n for n in range(100)}


@pytest.mark.parametrize("queue_size", [None, 50])
def test_run_in_executor_under_load(queue_size: int | None) -> None:
    def work(n: int) -> int:
        time.sleep(0)
        return n * 3

    async def main(executor: Executor) -> list[int]:
        loop = asyncio.get_running_loop()
        calls = [loop.run_in_executor(executor, work, n) for n in range(2000)]
        wrapped = asyncio.wrap_future(executor.submit(work, -1))
        return [*await asyncio.gather(*calls), await wrapped]

    with Executor(4, queue_size=queue_size) as executor:
        results = asyncio.run(asyncio.wait_for(main(executor), LONG * 3))

    assert results == [n * 3 for n in range(2000)] + [-3]


def test_asyncio_default_executor_can_be_bigopool() -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(Executor(2, thread_name_prefix="aio-default"))
        return await loop.run_in_executor(None, lambda: threading.current_thread().name)

    name = asyncio.run(main())

    assert name.startswith("aio-default")
    # asyncio.run() shut the default executor down and waited for it.
    assert _threads_named("aio-default") == []
