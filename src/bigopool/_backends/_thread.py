"""Jobs on a fixed set of threads in this process: the default backend."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .._errors import JobTimeout, WorkerInitFailed
from .._job import EXECUTE_TYPES, as_item, unwrap
from .._queue import DONE, JobQueue
from ._base import Backend, Sink, WorkerOptions

__all__ = ["ThreadBackend"]

logger = logging.getLogger("bigopool")


class ThreadBackend(Backend):
    """One daemon thread per worker, each running jobs one after another.

    Daemon threads, because a job stuck forever must not keep the interpreter
    from exiting after the caller gave up on it (for example on Ctrl-C).

    Timeouts: a thread cannot be stopped, so a job over its ``timeout`` is
    reported as :class:`~bigopool.JobTimeout` at once and its thread is left
    to finish it in the background, its result discarded; a new thread takes
    its place so the pool keeps its size. ``join()`` does not wait for such
    abandoned threads.
    """

    name = "thread"

    # Jobs go into the queue as they are, callables in a small wrapper, so
    # that every item has execute() (see as_item); a set of known job types
    # lets enqueue skip even that call for the common case.
    prepare = staticmethod(as_item)
    job_of = staticmethod(unwrap)
    ready_types = EXECUTE_TYPES

    def __init__(self, *, thread_name_prefix: str = "bigopool") -> None:
        self._prefix = thread_name_prefix
        self._threads: list[threading.Thread] = []
        self._in_slot: list[threading.Thread] = []
        self._abandoned: set[threading.Thread] = set()
        # Set by each worker as it exits. join() waits on these rather than
        # on Thread.join(): on Python < 3.13 a join interrupted by Ctrl-C can
        # mark a thread dead while it still runs (python/cpython#90882), and
        # we join again right after an interrupt.
        self._exited: dict[threading.Thread, threading.Event] = {}
        # One entry per worker: None when idle, else what it runs. With a
        # timeout the entry is a [item, started] ticket the watchdog may
        # claim; the lock decides who reports a job that ends at its limit.
        self._busy: list[Any] = []
        self._claim = threading.Lock()
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None

    def start(
        self, workers: int, queue: JobQueue, sink: Sink, options: WorkerOptions
    ) -> None:
        if options.max_jobs_per_worker is not None:
            # Recycling is for leaks a process can shed; a thread cannot.
            raise ValueError(
                "max_jobs_per_worker needs worker processes: use "
                "backend='process' or leave it unset"
            )
        self._queue = queue
        self._sink = sink
        self._options = options
        self._busy = [None] * workers
        for slot in range(workers):
            self._in_slot.append(self._spawn(slot))

        if options.timeout is not None:
            self._watchdog = threading.Thread(
                target=self._watch,
                args=(options.timeout,),
                name=f"{self._prefix}-watchdog",
                daemon=True,
            )
            self._watchdog.start()

    def join(self) -> None:
        # With a watchdog, the thread being waited for may be abandoned (and
        # a replacement started) meanwhile: wait in short steps, look again.
        step = None if self._watchdog is None else 0.05
        while True:
            pending = [
                exited
                for thread, exited in list(self._exited.items())
                if not exited.is_set() and thread not in self._abandoned
            ]
            if not pending:
                break
            pending[0].wait(step)

        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join()

    def running(self) -> int:
        return sum(entry is not None for entry in self._busy)

    @property
    def threads(self) -> list[threading.Thread]:
        """The worker threads started so far, replacements included."""
        return list(self._threads)

    def _spawn(self, slot: int) -> threading.Thread:
        exited = threading.Event()
        thread = threading.Thread(
            target=self._worker,
            args=(slot, exited),
            name=f"{self._prefix}-worker-{slot}",
            daemon=True,
        )
        self._threads.append(thread)
        self._exited[thread] = exited
        thread.start()
        return thread

    def _worker(self, slot: int, exited: threading.Event) -> None:
        try:
            self._serve(slot)
        finally:
            exited.set()

    def _serve(self, slot: int) -> None:
        options = self._options
        if options.initializer is not None:
            try:
                options.initializer(*options.initargs)
            except BaseException as error:
                _refuse_all(self._queue, self._sink, error)
                return

        try:
            if options.timeout is None:
                _work(self._queue, self._sink, self._busy, slot)
            else:
                self._work_timed(slot)
        finally:
            if options.finalizer is not None:
                try:
                    options.finalizer()
                except Exception:
                    # No job and no caller to hand this to.
                    logger.exception("bigopool: a worker's finalizer failed")

    def _work_timed(self, slot: int) -> None:
        get = self._queue.get
        busy = self._busy
        claim = self._claim
        sink = self._sink
        durations = sink.durations

        while True:
            item = get()
            if item is DONE:
                return

            ticket = [item, time.monotonic()]
            busy[slot] = ticket
            try:
                result = item.execute()
                error = None
            except BaseException as caught:
                error = caught

            with claim:
                mine = busy[slot] is ticket
                if mine:
                    busy[slot] = None
            if not mine:
                # The watchdog reported this job as timed out and gave the
                # slot to a new thread: this one is done.
                return

            if durations is not None:
                durations.append(time.monotonic() - ticket[1])
            if error is not None:
                sink.failure(unwrap(item), error)
            elif sink.results is not None:
                sink.results.append(result)
            else:
                sink.success(unwrap(item), result)

    def _watch(self, timeout: float) -> None:
        interval = min(max(timeout / 4, 0.001), 0.05)
        while not self._stopping.wait(interval):
            now = time.monotonic()
            for slot, ticket in enumerate(self._busy):
                if ticket is None or now - ticket[1] <= timeout:
                    continue
                with self._claim:
                    if self._busy[slot] is not ticket:
                        continue
                    self._busy[slot] = None

                self._abandoned.add(self._in_slot[slot])
                self._sink.failure(
                    unwrap(ticket[0]),
                    JobTimeout(
                        f"job ran longer than {timeout:g}s; its thread cannot "
                        f"be stopped and finishes it in the background"
                    ),
                )
                self._in_slot[slot] = self._spawn(slot)


def _work(queue: JobQueue, sink: Sink, busy: list[Any], slot: int) -> None:
    # This loop is the per-job overhead of the whole library, so it inlines
    # JobQueue.get and binds every name it calls to a local.
    items = queue.items
    popleft = items.popleft
    low_water = queue.low_water
    sleep_until_jobs = queue.sleep_until_jobs
    wake_producers = queue.wake_producers
    failure = sink.failure
    collect = sink.results.append if sink.results is not None else None
    success = sink.success

    if queue.pacer is not None or sink.durations is not None:
        _work_measured(queue, sink, busy, slot)
        return

    while True:
        try:
            item = popleft()
        except IndexError:
            if sleep_until_jobs():
                continue
            return
        if queue.waiting_producers and len(items) <= low_water:
            wake_producers()

        busy[slot] = item
        try:
            result = item.execute()
        except BaseException as error:
            failure(unwrap(item), error)
        else:
            if collect is not None:
                collect(result)
            else:
                success(unwrap(item), result)
        busy[slot] = None


def _work_measured(queue: JobQueue, sink: Sink, busy: list[Any], slot: int) -> None:
    # The slower loop, for pools that pace jobs or record their durations.
    get = queue.get
    durations = sink.durations
    clock = time.monotonic

    while True:
        item = get()
        if item is DONE:
            return

        busy[slot] = item
        started = clock()
        try:
            result = item.execute()
        except BaseException as error:
            sink.failure(unwrap(item), error)
        else:
            if sink.results is not None:
                sink.results.append(result)
            else:
                sink.success(unwrap(item), result)
        if durations is not None:
            durations.append(clock() - started)
        busy[slot] = None


def _refuse_all(queue: JobQueue, sink: Sink, cause: BaseException) -> None:
    # A worker whose set-up failed cannot run jobs, and leaving them queued
    # could hang wait(): like a broken standard pool, fail every job it takes.
    while True:
        item = queue.get()
        if item is DONE:
            return
        error = WorkerInitFailed(f"the worker's initializer failed: {cause!r}")
        error.__cause__ = cause
        sink.failure(unwrap(item), error)
