"""Fixtures shared by the whole suite."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest


@pytest.fixture
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a bigopool thread running after it ends."""
    before = set(threading.enumerate())
    yield
    leaked = [
        thread
        for thread in threading.enumerate()
        if thread not in before and thread.name.startswith("bigopool")
    ]
    assert not leaked, f"threads left running: {leaked}"
