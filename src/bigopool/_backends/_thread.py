"""Jobs on a fixed set of threads in this process: the default backend."""

from __future__ import annotations

import threading
from typing import Any

from .._job import job_of
from .._queue import JobQueue
from ._base import Backend, Sink, WorkerOptions

__all__ = ["ThreadBackend"]


class ThreadBackend(Backend):
    """One daemon thread per worker, each running jobs one after another.

    Daemon threads, because a job stuck forever must not keep the interpreter
    from exiting after the caller gave up on it (for example on Ctrl-C).
    """

    name = "thread"

    def __init__(self, *, thread_name_prefix: str = "bigopool") -> None:
        self._prefix = thread_name_prefix
        self._threads: list[threading.Thread] = []

    def start(
        self, workers: int, queue: JobQueue, sink: Sink, options: WorkerOptions
    ) -> None:
        for number in range(workers):
            thread = threading.Thread(
                target=_work,
                args=(queue, sink),
                name=f"{self._prefix}-worker-{number}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()

    @property
    def threads(self) -> list[threading.Thread]:
        return list(self._threads)


def _work(queue: JobQueue, sink: Sink) -> None:
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

    while True:
        try:
            runner = popleft()
        except IndexError:
            if sleep_until_jobs():
                continue
            return
        if queue.waiting_producers and len(items) <= low_water:
            wake_producers()

        try:
            result = runner()
        except BaseException as error:  # noqa: BLE001 - reported to the caller
            failure(job_of(runner), error)
        else:
            if collect is not None:
                collect(result)
            else:
                success(job_of(runner), result)
