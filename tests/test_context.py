"""Context: cancellation, deadlines and children."""

from __future__ import annotations

import threading
import time

import pytest

from bigopool import Cancelled, Context


def test_context_starts_active_and_cancels_once() -> None:
    ctx = Context()
    assert not ctx.cancelled
    assert not ctx.wait(0.01)

    ctx.cancel()
    ctx.cancel()

    assert ctx.cancelled
    assert ctx.wait()
    assert repr(ctx) == "<Context cancelled>"


def test_context_cancel_wakes_a_waiting_thread() -> None:
    ctx = Context()
    woke = threading.Event()

    def waiter() -> None:
        if ctx.wait(10):
            woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    ctx.cancel()
    thread.join(5)

    assert woke.is_set()


def test_context_timeout_cancels_it() -> None:
    ctx = Context(timeout=0.05)
    assert ctx.deadline is not None

    assert ctx.wait(5)
    assert ctx.cancelled


def test_context_cancelling_a_parent_cancels_its_children() -> None:
    parent = Context()
    child = parent.child()
    grandchild = child.child()

    parent.cancel()

    assert child.cancelled
    assert grandchild.cancelled


def test_context_cancelling_a_child_leaves_the_parent() -> None:
    parent = Context()
    parent.child().cancel()

    assert not parent.cancelled


def test_context_child_of_cancelled_parent_starts_cancelled() -> None:
    parent = Context()
    parent.cancel()

    assert parent.child().cancelled


def test_context_child_keeps_the_earlier_deadline() -> None:
    parent = Context(timeout=100)
    soon = parent.child(timeout=0.01)
    later = parent.child(deadline=time.monotonic() + 1000)

    assert parent.deadline is not None
    assert later.deadline == parent.deadline
    assert soon.deadline is not None and soon.deadline < parent.deadline
    assert soon.wait(5)


def test_context_raise_if_cancelled() -> None:
    ctx = Context()
    ctx.raise_if_cancelled()
    ctx.cancel()

    with pytest.raises(Cancelled, match="cancelled"):
        ctx.raise_if_cancelled()


@pytest.mark.parametrize(
    ("timeout", "error", "match"),
    [(-1, ValueError, "must not be negative"), ("1", TypeError, "must be a number")],
)
def test_context_bad_timeout_is_refused(
    timeout: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Context(timeout=timeout)  # type: ignore[arg-type]
