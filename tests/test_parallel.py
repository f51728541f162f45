"""parallel and cancelable_parallel."""

from __future__ import annotations

import threading
import time

import pytest

from bigopool import Cancelled, Context, cancelable_parallel, parallel


def test_parallel_runs_every_succeeding_function() -> None:
    done: list[str] = []
    barrier = threading.Barrier(3, timeout=5)

    def make(name: str):  # type: ignore[no-untyped-def]
        def fn() -> None:
            barrier.wait()  # proves the three run at the same time
            done.append(name)

        return fn

    errors = parallel(make("user"), make("posts"), make("followers"))

    assert errors.is_empty()
    assert sorted(done) == ["followers", "posts", "user"]


def test_parallel_collects_three_failures() -> None:
    def fail(message: str):  # type: ignore[no-untyped-def]
        def fn() -> None:
            raise ValueError(message)

        return fn

    fns = [fail("a"), fail("b"), fail("c")]
    errors = parallel(*fns)

    assert len(errors) == 3
    assert sorted(str(e) for e in errors) == ["a", "b", "c"]
    assert {id(fn) for fn, _ in errors.items()} == {id(fn) for fn in fns}


def test_parallel_with_nothing_returns_no_errors() -> None:
    assert parallel().is_empty()


def test_parallel_refuses_a_non_callable_before_running_anything() -> None:
    ran: list[int] = []
    with pytest.raises(TypeError, match="argument 1 is not callable: int"):
        parallel(lambda: ran.append(1), 5)  # type: ignore[arg-type]

    assert ran == []


def test_cancelable_parallel_failure_cancels_waiting_sibling_fast() -> None:
    woke_after: list[float] = []

    def sibling(ctx: Context) -> None:
        start = time.monotonic()
        assert ctx.wait(10)
        woke_after.append(time.monotonic() - start)

    def failing(ctx: Context) -> None:
        time.sleep(0.02)
        raise RuntimeError("critical operation failed")

    errors = cancelable_parallel(sibling, failing)

    assert [str(e) for e in errors] == ["critical operation failed"]
    assert woke_after and woke_after[0] < 0.1 + 0.02 + 0.5  # generous


def test_cancelable_parallel_does_not_count_consequent_cancellation() -> None:
    def sibling(ctx: Context) -> None:
        ctx.wait(10)
        ctx.raise_if_cancelled()

    def failing(ctx: Context) -> None:
        raise KeyError("first")

    errors = cancelable_parallel(sibling, failing)

    assert len(errors) == 1
    assert isinstance(errors.all()[0], KeyError)


def test_cancelable_parallel_counts_cancelled_raised_while_active() -> None:
    def odd(ctx: Context) -> None:
        raise Cancelled("raised by hand")

    errors = cancelable_parallel(odd)

    assert [str(e) for e in errors] == ["raised by hand"]


def test_cancelable_parallel_all_succeed() -> None:
    seen: list[bool] = []
    errors = cancelable_parallel(
        lambda ctx: seen.append(ctx.cancelled), lambda ctx: seen.append(ctx.cancelled)
    )

    assert errors.is_empty()
    assert seen == [False, False]


def test_cancelable_parallel_parent_cancellation_reaches_functions() -> None:
    parent = Context()
    started = threading.Barrier(3, timeout=5)

    def worker(ctx: Context) -> None:
        started.wait()
        assert ctx.wait(10)
        ctx.raise_if_cancelled()

    threading.Thread(target=lambda: (started.wait(), parent.cancel())).start()
    errors = cancelable_parallel(worker, worker, context=parent)

    assert errors.is_empty()


def test_cancelable_parallel_parent_deadline_applies() -> None:
    parent = Context(timeout=0.05)

    errors = cancelable_parallel(lambda ctx: ctx.wait(10), context=parent)

    assert errors.is_empty()


def test_cancelable_parallel_refuses_bad_context() -> None:
    with pytest.raises(TypeError, match=r"context must be a bigopool\.Context"):
        cancelable_parallel(lambda ctx: None, context="nope")  # type: ignore[arg-type]
