"""The bounded queue between producers and workers.

Why not :class:`queue.Queue`: it takes a lock and signals a condition on every
put and every get, which costs more than a trivial job itself. Here the common
case takes no lock at all:

* workers pop with :meth:`collections.deque.popleft` and producers append,
  both atomic; a put checks for closing after it appended, so closing needs
  no handshake with producers in progress;
* a party that must wait (a worker on an empty queue, a producer on a full
  one) sleeps on a lock of its own, made locked for that one wait, after
  putting it in a deque the other side looks at; the other side releases
  it. That is two C calls where :class:`threading.Condition` runs a page of
  Python, which shows wherever every job is a hand-off (a queue of one);
* a sleeping party is woken only when it is known to be asleep, and a blocked
  producer is woken once the queue has drained to half, so that one wake-up
  is paid for by many jobs instead of one.

The "announce, then check" order in :meth:`sleep_until_jobs` and
:meth:`wait_for_room` is what makes this safe without a shared lock: a party
first puts its lock where the other side will look, then looks at the queue,
so the other side either finds the lock or left its change where the sleeper
sees it. A sleeper that found what it waited for after announcing takes its
lock back; if the other side already took it, the release that follows wakes
nobody, since each lock serves a single wait.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Final

__all__ = ["DONE", "JobQueue", "QueueClosed"]


class QueueClosed(RuntimeError):
    """Raised to a producer when the queue stopped taking jobs."""


#: What :meth:`JobQueue.get` returns once the queue is closed and empty.
DONE: Final[Any] = object()


class JobQueue:
    """A bounded FIFO of jobs with cheap puts and gets; see the module notes."""

    def __init__(self, maxsize: int, pacer: Callable[[], None] | None = None) -> None:
        self.maxsize = maxsize
        #: Called before each job is handed out by get() and get_batch(),
        #: e.g. a rate limiter's wait(). Batches shrink to one job with it.
        self.pacer = pacer
        #: A blocked producer resumes once the queue is down to this length.
        self.low_water = maxsize // 2
        #: The jobs themselves. Workers that inline the fast path of get()
        #: pop from it directly: popleft() is atomic and never blocks.
        self.items: deque[Any] = deque()

        #: The locks of the workers asleep on an empty queue, and of the
        #: producers asleep on a full one. Both are only ever non-empty
        #: while someone waits, so the hot paths test them for truth.
        self.sleeping_workers: deque[Any] = deque()
        self.waiting_producers: deque[Any] = deque()
        #: True once close() was called. Read by producers after appending.
        self.closed = False

    # Producers.

    def put(self, job: Any) -> None:
        """Append ``job``, waiting while the queue is full."""
        items = self.items
        if len(items) >= self.maxsize:
            self.wait_for_room()
        items.append(job)
        if self.closed:
            self.retract(job)

        if self.sleeping_workers:
            self.wake_worker()

    def try_put(self, job: Any) -> bool:
        """Append ``job`` and return True, or return False if the queue is full."""
        items = self.items
        if len(items) >= self.maxsize:
            if self.closed:
                raise QueueClosed
            return False
        items.append(job)
        if self.closed:
            self.retract(job)

        if self.sleeping_workers:
            self.wake_worker()
        return True

    def retract(self, job: Any) -> None:
        # The queue closed while this job went in. If a worker already took
        # it, it was accepted and will run; otherwise take it back out and
        # refuse it. Either way no job is both refused and run, or lost.
        # deque.remove() is atomic against the workers' pops; it matches by
        # identity first, and an equal job taken instead is the same job.
        try:
            self.items.remove(job)
        except ValueError:
            return
        raise QueueClosed

    def wait_for_room(self) -> None:
        """Sleep until the queue is down to ``low_water``.

        Raises:
            QueueClosed: the queue was closed, before or while waiting.
        """
        items = self.items
        waiting = self.waiting_producers
        while True:
            if self.closed:
                raise QueueClosed
            if len(items) <= self.low_water:
                return
            gate = _locked()
            waiting.append(gate)
            if len(items) <= self.low_water or self.closed:
                _withdraw(waiting, gate)
                continue
            gate.acquire()

    def wake_worker(self) -> None:
        """Wake one sleeping worker, if any."""
        try:
            gate = self.sleeping_workers.popleft()
        except IndexError:
            return
        gate.release()

    # Workers.

    def get(self) -> Any:
        """Pop the oldest job, sleeping while empty; ``DONE`` once drained."""
        items = self.items
        while True:
            try:
                job = items.popleft()
            except IndexError:
                if not self.sleep_until_jobs():
                    return DONE
                continue

            if self.waiting_producers and len(items) <= self.low_water:
                self.wake_producers()
            if self.pacer is not None:
                self.pacer()
            return job

    def get_batch(self, limit: int) -> list[Any]:
        """Pop up to ``limit`` jobs, sleeping until there is at least one.

        An empty list means the queue is closed and drained.
        """
        items = self.items
        if self.pacer is not None:
            limit = 1
        while True:
            batch: list[Any] = []
            try:
                for _ in range(limit):
                    batch.append(items.popleft())
            except IndexError:
                if not batch:
                    if not self.sleep_until_jobs():
                        return batch
                    continue

            if self.waiting_producers and len(items) <= self.low_water:
                self.wake_producers()
            if self.pacer is not None:
                self.pacer()
            return batch

    def sleep_until_jobs(self) -> bool:
        """Sleep while the queue is empty; False once it is closed and drained."""
        items = self.items
        sleeping = self.sleeping_workers
        while True:
            if items:
                return True
            if self.closed:
                return False
            gate = _locked()
            sleeping.append(gate)
            if items or self.closed:
                _withdraw(sleeping, gate)
                continue
            gate.acquire()

    def wake_producers(self) -> None:
        """Called by a worker once the queue is down to ``low_water`` while
        ``waiting_producers`` is not empty, to end the producers' wait."""
        _release_all(self.waiting_producers)

    # Owner.

    def __len__(self) -> int:
        return len(self.items)

    def close(self) -> None:
        """Refuse new jobs; let workers finish what is queued, then stop.

        Every job a put accepted is in the queue or already taken by then:
        puts check for closing after appending and take a job back out if
        no worker took it yet (see retract).
        """
        self.closed = True
        _release_all(self.waiting_producers)
        _release_all(self.sleeping_workers)

    def drain(self) -> list[Any]:
        """Remove and return every job still waiting (for cancellation)."""
        taken = []
        items = self.items
        while True:
            try:
                taken.append(items.popleft())
            except IndexError:
                return taken


def _locked() -> Any:
    # A fresh lock, already held: its one acquire() blocks until release().
    gate = threading.Lock()
    gate.acquire()
    return gate


def _withdraw(sleepers: deque[Any], gate: Any) -> None:
    # Take back an announcement that turned out unnecessary. If a waker
    # popped it first, its release() goes to a lock nobody will wait on.
    with contextlib.suppress(ValueError):
        sleepers.remove(gate)


def _release_all(sleepers: deque[Any]) -> None:
    while True:
        try:
            gate = sleepers.popleft()
        except IndexError:
            return
        gate.release()
