"""Ctrl-C: a real SIGINT to a child Python process mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

DISPATCHER = """
import sys, time
from bigopool import Dispatcher, JobCancelled

d = Dispatcher(2, 100).run()
d.enqueue(*[lambda: time.sleep(0.05) for _ in range(100)])
print("READY", flush=True)
try:
    d.wait()
except KeyboardInterrupt:
    stats = d.statistics()
    cancelled = sum(isinstance(e, JobCancelled) for e in d.errors)
    print("INTERRUPTED", stats.finished, stats.submitted, cancelled, flush=True)
    sys.exit(3)
"""

STREAM = """
import sys, time
from bigopool import stream

def endless():
    while True:
        yield lambda: time.sleep(0.02)

s = stream(endless(), workers=3, queue_size=10)
try:
    for n, outcome in enumerate(s):
        if n == 5:
            print("READY", flush=True)
except KeyboardInterrupt:
    stats = s.statistics()
    print("INTERRUPTED", stats.finished, stats.submitted, stats.running, flush=True)
    sys.exit(3)
"""


def interrupt(script: str, *, presses: int = 1) -> tuple[int, str, float]:
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "READY"
    time.sleep(0.1)

    sent = time.monotonic()
    for _ in range(presses):
        os.kill(child.pid, signal.SIGINT)
    try:
        out, _ = child.communicate(timeout=20)
    finally:
        child.kill()
    elapsed = time.monotonic() - sent

    assert not psutil.pid_exists(child.pid) or psutil.Process(child.pid).status() == (
        psutil.STATUS_ZOMBIE
    )
    return child.returncode, out, elapsed


def test_interrupt_during_wait_cancels_pending_and_returns_fast() -> None:
    code, out, elapsed = interrupt(DISPATCHER)

    assert code == 3, out
    _, finished, submitted, cancelled = out.split()
    assert int(finished) == int(submitted) == 100
    assert int(cancelled) > 0
    assert elapsed < 5  # well under a second when idle; generous for CI


def test_interrupt_pressed_twice_never_hangs() -> None:
    # The second press may land anywhere, even in the script's own handler;
    # all that is promised is a prompt exit.
    code, out, elapsed = interrupt(DISPATCHER, presses=2)

    assert code != 0, out
    assert elapsed < 5


def test_interrupt_while_iterating_a_stream_stops_it() -> None:
    code, out, elapsed = interrupt(STREAM)

    assert code == 3, out
    _, finished, submitted, running = out.split()
    assert int(finished) == int(submitted)
    assert int(running) == 0
    assert elapsed < 5
