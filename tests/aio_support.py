"""Shared by the tests of bigopool.aio: run a coroutine on a real loop.

Each test module binds :func:`loop_fixture` to a name, so every test that
takes ``run`` runs once on the default asyncio loop and once on uvloop
(skipped when uvloop is not installed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

Run = Callable[[Coroutine[Any, Any, Any]], Any]

LOOPS = ["asyncio", "uvloop"]


def make_runner(kind: str) -> Run:
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        factory = uvloop.new_event_loop

    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(coro)

    return run


def loop_fixture() -> Any:
    @pytest.fixture(params=LOOPS)
    def run(request: pytest.FixtureRequest) -> Run:
        return make_runner(request.param)

    return run


def other_tasks() -> set[asyncio.Task[Any]]:
    """The tasks alive on this loop besides the calling one."""
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]
