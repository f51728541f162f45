"""The bounded queue between producers and workers.

Why not :class:`queue.Queue`: it takes a lock and signals a condition on every
put and every get, which costs more than a trivial job itself. Here the common
case takes no condition at all:

* workers pop with :meth:`collections.deque.popleft`, which is atomic, and only
  take the lock to go to sleep when the queue is empty;
* producers append without a lock and only take it to wait when the queue is
  full; a put checks for closing after it appended, so closing needs no
  handshake with producers in progress;
* a sleeping party is woken only when it is known to be asleep, and a blocked
  producer is woken once the queue has drained to half, so that one wake-up
  is paid for by many jobs instead of one.

The "announce, then check" order in :meth:`sleep_until_jobs` and
:meth:`wait_for_room` is what makes skipping the lock safe: a party first
says it is about to sleep, then looks at the queue, so the other side either
sees the announcement or left its change where the sleeper will see it.
"""

from __future__ import annotations

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
    """A bounded FIFO of jobs with cheap puts and gets and a two-step close."""

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

        lock = threading.Lock()
        self._lock = lock
        self._not_empty = threading.Condition(lock)
        self._not_full = threading.Condition(lock)

        self.sleeping_workers = 0
        self.waiting_producers = 0
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
        # Like sleep_until_jobs: announce, check, sleep; the waker resets
        # the count, so workers stop calling wake_producers() after one call.
        if self.closed:
            raise QueueClosed
        with self._lock:
            while True:
                if self.closed:
                    raise QueueClosed
                self.waiting_producers += 1
                if len(self.items) <= self.low_water:
                    self.waiting_producers -= 1
                    return
                self._not_full.wait()

    def wake_worker(self) -> None:
        with self._lock:
            if self.sleeping_workers:
                self.sleeping_workers -= 1
                self._not_empty.notify()

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
        with self._lock:
            while True:
                self.sleeping_workers += 1
                if self.items:
                    self.sleeping_workers -= 1
                    return True
                if self.closed:
                    self.sleeping_workers -= 1
                    return False
                self._not_empty.wait()

    def wake_producers(self) -> None:
        """Called by a worker once the queue is down to ``low_water`` while
        ``waiting_producers`` is set, to end the producers' wait."""
        with self._lock:
            if self.waiting_producers:
                self.waiting_producers = 0
                self._not_full.notify_all()

    # Owner.

    def __len__(self) -> int:
        return len(self.items)

    def close(self) -> None:
        """Refuse new jobs; let workers finish what is queued, then stop.

        Every job a put accepted is in the queue or already taken by then:
        puts check for closing after appending and take a job back out if
        no worker took it yet (see retract).
        """
        with self._lock:
            self.closed = True
            self.sleeping_workers = 0
            self._not_full.notify_all()
            self._not_empty.notify_all()

    def drain(self) -> list[Any]:
        """Remove and return every job still waiting (for cancellation)."""
        taken = []
        items = self.items
        while True:
            try:
                taken.append(items.popleft())
            except IndexError:
                return taken
