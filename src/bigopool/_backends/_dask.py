"""Jobs on a Dask cluster: batches of jobs as Dask tasks, with backpressure.

The shape of the backend, and why:

* Dask charges a few milliseconds of scheduler work per task, far more than a
  small job costs. So one Dask task runs a *batch* of jobs, and the batch
  size adapts so that a batch takes about :data:`TARGET_BATCH_SECONDS` on a
  worker, from the job durations the workers measure and send back.
* ``Client.submit`` never blocks (dask/distributed#864), so nothing stops a
  producer from flooding the scheduler. Here a semaphore of ``workers``
  slots bounds the batches in flight and the dispatcher's bounded queue
  bounds the jobs waiting locally: backpressure holds end to end.
* Two threads in the caller's process: the *submitter* takes a batch from
  the queue whenever a slot is free and submits it; the *collector* receives
  finished batches (via done callbacks), gathers their outcomes in one round
  trip and reports them to the sink. One thread could not do both, because
  taking from an empty queue blocks.
* A batch task catches each job's exception separately and returns one
  outcome per job, so a failing job does not fail its batch mates. Jobs,
  results and errors travel pickled by cloudpickle, as Dask ships them, and a
  job's traceback travels with it (through tblib, which Dask itself uses).
"""

from __future__ import annotations

import ctypes
import logging
import pickle
import queue as queue_module
import sys
import threading
import time
from collections.abc import Callable, MutableSequence
from types import TracebackType
from typing import Any, Final

import cloudpickle  # type: ignore[import-untyped]
import distributed
from tblib import Traceback  # type: ignore[import-untyped]

from .._errors import JobCancelled, JobTimeout, WorkerDied
from .._job import job_of
from .._pool import check_size
from .._queue import JobQueue
from ._base import Backend, Sink, WorkerOptions

__all__ = ["MAX_BATCH", "QUIET_SCHEDULER", "TARGET_BATCH_SECONDS", "DaskBackend"]

logger = logging.getLogger("bigopool")

#: What an adaptive batch aims to last on a worker, in seconds: long enough
#: that the scheduler's few milliseconds per task are a small share of it,
#: short enough that the last batches of a run end close together.
TARGET_BATCH_SECONDS: Final = 0.05

#: The most jobs an adaptive batch holds, whatever their speed: it bounds the
#: jobs (and their results) held by one task, and so the memory in flight.
MAX_BATCH: Final = 1024

#: The shortest batch, in seconds, worth splitting the last jobs of a run
#: into: below this, one more task costs the scheduler more than it saves.
MIN_SPLIT_SECONDS: Final = 0.01

#: How many times larger than the last measured batch the next may be.
GROWTH: Final = 16

# How much a new batch's measurement moves the running estimate of the time
# a job takes; a little smoothing keeps one odd batch from swinging the size.
_SMOOTHING: Final = 0.5

#: Scheduler options for a LocalCluster without a dashboard. The scheduler
#: serves HTTP (health, metrics) even then, on port 8787 unless told
#: otherwise, and warns when another cluster holds that port; port 0 takes
#: any free one instead.
QUIET_SCHEDULER: Final = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}

# What the submitter hands the collector when it has submitted its last batch.
_END: Final[Any] = object()


class DaskBackend(Backend):
    """Run a dispatcher's jobs as Dask tasks on a Dask cluster.

    ``client_or_address`` is where the jobs go:

    * a ``distributed.Client``: used as is and left open;
    * an address such as ``"tcp://10.0.0.5:8786"``: a Client is made for it
      and closed once the dispatcher has finished;
    * ``None``: a ``LocalCluster`` of worker processes on 127.0.0.1 is
      started for trying things out, and closed with its Client at the end.

    The dispatcher's ``workers`` is the number of *batches* in flight on the
    cluster at once (submitted and not yet reported); its ``queue_size``
    bounds the jobs waiting locally. So at most
    ``workers * batch_size + queue_size`` jobs are held anywhere at a time.
    Give ``workers`` about twice the cluster's worker threads, so each one
    has its next batch waiting when it finishes one.

    ``batch_size`` fixes the number of jobs per Dask task. Left ``None``, the
    first batches hold one job and later ones are sized from the measured
    job durations to last about :data:`TARGET_BATCH_SECONDS`, capped at
    :data:`MAX_BATCH` jobs. A batch never waits to fill up: it takes what is
    queued, up to the size.

    ``timeout`` is honoured: each job then runs on a thread of its own inside
    the task, and one still running at the limit is reported as
    :class:`~bigopool.JobTimeout` and stopped by an exception raised in its
    thread (left running on Python 3.13, see :data:`CAN_STOP_JOBS`). The
    ``initializer``, ``finalizer`` and ``max_jobs_per_worker`` options are
    refused: a cluster's workers are Dask's to manage (see the docs).

    A batch whose worker dies is run again by Dask (its jobs may run twice,
    and are reported once); once Dask gives up with ``KilledWorker``, every
    job of that batch is reported as :class:`~bigopool.WorkerDied`.

    Cost: one Dask task (milliseconds of scheduler time) and one cloudpickle
    round trip per batch, not per job; with a ``timeout``, also one thread
    start per job on the worker.

    Raises:
        TypeError: ``client_or_address`` is not a Client, a string or None,
            or ``batch_size`` is not an int.
        ValueError: ``client_or_address`` is an empty string, or
            ``batch_size`` is below 1.
    """

    name = "dask"

    def __init__(
        self,
        client_or_address: distributed.Client | str | None = None,
        *,
        batch_size: int | None = None,
    ) -> None:
        if not (
            client_or_address is None
            or isinstance(client_or_address, (str, distributed.Client))
        ):
            raise TypeError(
                "client_or_address must be a distributed.Client, a scheduler "
                f"address string or None, got {type(client_or_address).__name__}"
            )
        if isinstance(client_or_address, str) and not client_or_address:
            raise ValueError("client_or_address must not be an empty string")
        self._target = client_or_address
        self._fixed_size = (
            None if batch_size is None else check_size("batch_size", batch_size)
        )

        # Typed Any: distributed's own annotations are partial, and these
        # are only called, never inspected.
        self._client: Any = None
        self._cluster: Any = None
        self._owns_client = False
        self._started = False
        self._threads: list[threading.Thread] = []

        # Set by start().
        self._queue: JobQueue | None = None
        self._sink: Sink | None = None
        self._timeout: float | None = None
        self._durations: MutableSequence[float] | None = None
        self._slots = threading.Semaphore(0)
        self._workers = 1
        self._done: queue_module.SimpleQueue[Any] = queue_module.SimpleQueue()
        # Batches submitted and not yet reported: key -> (future, runners).
        self._inflight: dict[Any, tuple[Any, list[Any]]] = {}
        self._inflight_lock = threading.Lock()
        self._interrupted = False

        # Adaptive sizing: the running estimate of a job's seconds on a worker.
        self._job_seconds: float | None = None
        self._batch_size = self._fixed_size or 1

    @property
    def client(self) -> distributed.Client | None:
        """The Client in use once started (None before ``run()``)."""
        client: distributed.Client | None = self._client
        return client

    @property
    def batch_size(self) -> int:
        """The number of jobs the next batch may hold."""
        return self._batch_size

    def start(
        self, workers: int, queue: JobQueue, sink: Sink, options: WorkerOptions
    ) -> None:
        """Connect (or start a LocalCluster) and start feeding the cluster.

        Raises:
            RuntimeError: this backend was started before.
            ValueError: ``initializer``, ``finalizer`` or
                ``max_jobs_per_worker`` was given.
            OSError: the scheduler at the given address cannot be reached
                (whatever Dask raises, typically a ``TimeoutError``).
        """
        if self._started:
            raise RuntimeError(
                "this DaskBackend was already used by a dispatcher; make a new "
                "one for each dispatcher"
            )
        _refuse_unsupported(options)
        self._started = True
        self._connect()

        self._queue = queue
        self._sink = sink
        self._timeout = options.timeout
        # Newer sinks may ask for each job's duration (for statistics).
        self._durations = getattr(sink, "durations", None)
        self._slots = threading.Semaphore(workers)
        self._workers = workers
        for name, target in (("submit", self._submit_all), ("collect", self._collect)):
            thread = threading.Thread(
                target=target, name=f"bigopool-dask-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def join(self) -> None:
        """Wait until every batch is reported, then close what we opened.

        Closing a LocalCluster we started takes a second or two.
        """
        try:
            for thread in self._threads:
                thread.join()
        finally:
            self._close()

    def interrupt(self) -> None:
        """Cancel the batches in flight; their jobs end as ``JobCancelled``.

        Dask does not stop a task already running on a worker: it finishes
        there, and its outcome is dropped.
        """
        self._interrupted = True
        with self._inflight_lock:
            futures = [future for future, _ in self._inflight.values()]
        if futures and self._client is not None:
            self._client.cancel(futures)

    def running(self) -> int:
        """How many jobs are on the cluster now, in batches not yet reported.

        A snapshot for statistics: it counts the jobs of batches still
        queued in Dask's scheduler as well as those running.
        """
        with self._inflight_lock:
            return sum(len(runners) for _, runners in self._inflight.values())

    # Set-up and tear-down.

    def _connect(self) -> None:
        target: Any = self._target
        if isinstance(target, distributed.Client):
            if target.status in ("closing", "closed"):
                raise ValueError("the distributed.Client given is closed")
            self._client = target
            return

        self._owns_client = True
        if target is None:
            make_cluster: Any = distributed.LocalCluster
            self._cluster = make_cluster(
                host="127.0.0.1",
                processes=True,
                dashboard_address=None,
                scheduler_kwargs=QUIET_SCHEDULER,
            )
            target = self._cluster
        try:
            make_client: Any = distributed.Client
            self._client = make_client(target, set_as_default=False)
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        if not self._owns_client:
            return
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    # The submitter thread.

    def _submit_all(self) -> None:
        assert self._queue is not None
        queue = self._queue
        get_batch = queue.get_batch
        acquire = self._slots.acquire
        try:
            while True:
                acquire()
                runners = get_batch(self._next_size(queue))
                if not runners:
                    return
                self._submit(runners)
        finally:
            self._done.put(_END)

    def _next_size(self, queue: JobQueue) -> int:
        size = self._batch_size
        job_seconds = self._job_seconds
        if queue.closed and job_seconds is not None and self._fixed_size is None:
            # No more jobs are coming: share what is left between the slots,
            # so the last batches end together instead of one long one last;
            # but never below a batch worth the scheduler's cost of a task.
            fair = -(-len(queue) // self._workers)
            floor = int(MIN_SPLIT_SECONDS / max(job_seconds, 1e-9))
            size = min(size, max(fair, floor, 1))
        return size

    def _submit(self, runners: list[Any]) -> None:
        assert self._client is not None and self._sink is not None
        try:
            payload = cloudpickle.dumps(runners)
        except Exception:
            runners = self._drop_unpicklable(runners)
            if not runners:
                self._slots.release()
                return
            payload = cloudpickle.dumps(runners)

        try:
            future = self._client.submit(
                _run_batch,
                payload,
                self._timeout,
                self._durations is not None,
                pure=False,
            )
        except BaseException as error:  # reported per job
            self._fail_all(runners, error)
            self._slots.release()
            return

        with self._inflight_lock:
            self._inflight[future.key] = (future, runners)
        future.add_done_callback(self._done.put)

    def _drop_unpicklable(self, runners: list[Any]) -> list[Any]:
        # Rare path: find which jobs cannot be pickled, report each as its
        # own error, and keep the rest of the batch.
        assert self._sink is not None
        kept = []
        for runner in runners:
            try:
                cloudpickle.dumps(runner)
            except Exception as error:
                failure = TypeError(
                    f"job {job_of(runner)!r} cannot be pickled to send it to the "
                    f"Dask cluster: {error}"
                )
                failure.__cause__ = error
                self._sink.failure(job_of(runner), failure)
            else:
                kept.append(runner)
        return kept

    # The collector thread.

    def _collect(self) -> None:
        done = self._done
        submitting = True
        while True:
            with self._inflight_lock:
                if not submitting and not self._inflight:
                    return
            finished = [done.get()]
            while True:
                try:
                    finished.append(done.get_nowait())
                except queue_module.Empty:
                    break
            if _END in finished:
                submitting = False
                finished = [future for future in finished if future is not _END]
            if not finished:
                continue
            try:
                self._report(finished)
            except Exception:
                # A bug of ours; no caller is waiting on this thread to hear
                # of it, and stopping here would hang the dispatcher.
                logger.exception("bigopool: reporting Dask batches failed")

    def _report(self, futures: list[Any]) -> None:
        assert self._client is not None
        with self._inflight_lock:
            batches = [self._inflight.pop(future.key) for future in futures]

        try:
            self._report_batches(batches)
        finally:
            # The futures are released here, as the last references go.
            for _ in batches:
                self._slots.release()

    def _report_batches(self, batches: list[tuple[Any, list[Any]]]) -> None:
        ok = [
            (future, runners)
            for future, runners in batches
            if future.status == "finished"
        ]
        if ok:
            try:
                outcomes = self._client.gather([future for future, _ in ok])
            except BaseException as error:  # reported per job
                for _, runners in ok:
                    self._fail_all(runners, error)
            else:
                for (_, runners), outcome in zip(ok, outcomes, strict=True):
                    self._report_batch(runners, outcome)

        for future, runners in batches:
            if future.status != "finished":
                self._report_lost(future, runners)

    def _report_batch(
        self, runners: list[Any], outcome: tuple[float, bytes, list[float] | None]
    ) -> None:
        assert self._sink is not None
        seconds, payload, durations = outcome
        try:
            values, failures = pickle.loads(payload)
        except BaseException as error:  # reported per job
            self._fail_all(runners, error)
            return
        self._learn(seconds, len(runners))
        if durations is not None and self._durations is not None:
            self._durations.extend(durations)

        sink = self._sink
        if not failures and sink.results is not None:
            sink.results.extend(values)
            return
        for index, runner in enumerate(runners):
            failure = failures.get(index)
            if failure is None:
                sink.success(job_of(runner), values[index])
            else:
                sink.failure(job_of(runner), _rebuild(*failure))

    def _report_lost(self, future: Any, runners: list[Any]) -> None:
        error: BaseException
        if future.status == "cancelled" or self._interrupted:
            error = JobCancelled(
                "this job's batch was cancelled on the Dask cluster (the "
                "dispatcher was interrupted, or the Client lost its scheduler)"
            )
        else:
            try:
                cause = future.exception()
            except BaseException as problem:  # cancelled meanwhile, for one
                cause = problem
            if isinstance(cause, distributed.KilledWorker):
                error = WorkerDied(
                    "the Dask workers running this job's batch died until Dask "
                    f"gave up on it ({cause})"
                )
                error.__cause__ = cause
            else:
                error = cause
        self._fail_all(runners, error)

    def _fail_all(self, runners: list[Any], error: BaseException) -> None:
        assert self._sink is not None
        for runner in runners:
            self._sink.failure(job_of(runner), error)

    def _learn(self, seconds: float, jobs: int) -> None:
        # Size the next batches to last about TARGET_BATCH_SECONDS each, but
        # grow at most GROWTH times past the batch just measured: the first
        # jobs of a run (imports, caches, a worker alone on its core) often
        # run faster than the rest, and a batch sized from them alone could
        # run for many times the target.
        if self._fixed_size is not None:
            return
        per_job = seconds / jobs
        estimate = self._job_seconds
        estimate = (
            per_job
            if estimate is None
            else estimate + _SMOOTHING * (per_job - estimate)
        )
        self._job_seconds = estimate
        size = int(TARGET_BATCH_SECONDS / max(estimate, 1e-9))
        self._batch_size = max(1, min(MAX_BATCH, GROWTH * jobs, size))


def _refuse_unsupported(options: WorkerOptions) -> None:
    refused = [
        name
        for name in ("initializer", "finalizer", "max_jobs_per_worker")
        if getattr(options, name) is not None
    ]
    if refused:
        raise ValueError(
            f"the dask backend does not support {', '.join(refused)}: Dask "
            "manages its workers (use a Dask WorkerPlugin for set-up and "
            "tear-down, and 'dask worker --lifetime' to recycle workers)"
        )


# What runs on the Dask workers.

#: Whether a job past its timeout can be stopped on this worker's Python.
#: On 3.13, PyThreadState_SetAsyncExc may raise the exception past the
#: job's handlers or in another thread (python/cpython#139622), which could
#: take down the worker's own threads; there the job is left to finish.
CAN_STOP_JOBS: Final = sys.version_info < (3, 13)


class _Stop(BaseException):
    """Raised inside a job's thread to stop it at its timeout.

    A BaseException so that a job's ``except Exception`` does not swallow it.
    """


def _run_batch(
    payload: bytes, timeout: float | None, timed: bool = False
) -> tuple[float, bytes, list[float] | None]:
    """Run the pickled list of job runners; return time, outcomes, durations.

    The durations, one per job in seconds, only when ``timed``.

    The outcomes are ``(values, failures)`` pickled: ``values[i]`` is job
    ``i``'s result (None if it failed) and ``failures`` maps the index of
    each failed job to ``(exception, traceback as a dict)``. Pickled here so
    that a result or an exception that cannot be pickled fails its own job
    only.
    """
    started = time.perf_counter()
    runners = pickle.loads(payload)
    values: list[Any] = []
    failures: dict[int, tuple[BaseException, dict[str, Any] | None]] = {}

    durations: list[float] | None = None
    if timeout is None and not timed:
        for index, runner in enumerate(runners):
            try:
                values.append(runner())
            except BaseException as error:  # sent to the caller
                values.append(None)
                failures[index] = _capture(error)
    else:
        durations = []
        for index, runner in enumerate(runners):
            began = time.perf_counter()
            ok, value = (
                _attempt(runner)
                if timeout is None
                else _run_with_limit(runner, timeout)
            )
            durations.append(time.perf_counter() - began)
            if ok:
                values.append(value)
            else:
                values.append(None)
                failures[index] = value

    seconds = time.perf_counter() - started
    return seconds, _dump_outcomes(values, failures), durations


def _attempt(runner: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, runner()
    except BaseException as error:  # sent to the caller
        return False, _capture(error)


def _capture(error: BaseException) -> tuple[BaseException, dict[str, Any] | None]:
    tb = error.__traceback__
    return error, (None if tb is None else Traceback(tb).to_dict())


def _run_with_limit(runner: Callable[[], Any], limit: float) -> tuple[bool, Any]:
    # The job runs on a thread of its own so that this task's thread can stop
    # waiting at the limit. The job's thread is then sent _Stop, which it
    # raises at its next Python bytecode; a job blocked inside a C call
    # (time.sleep, a socket read) only stops once that call returns.
    box: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            box.append((True, runner()))
        except _Stop:
            pass
        except BaseException as error:  # sent to the caller
            box.append((False, _capture(error)))

    thread = threading.Thread(target=run, name="bigopool-dask-job", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive() or not box:
        message = f"the job ran longer than its {limit:g} s timeout"
        if CAN_STOP_JOBS:
            _raise_in(thread, _Stop)
        else:
            message += " (left running: this Python cannot stop it safely)"
        return False, (JobTimeout(message), None)
    return box[0]


def _raise_in(thread: threading.Thread, error: type[BaseException]) -> None:
    # If the thread finished in the meantime this finds no thread: harmless.
    ident = thread.ident
    if ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(ident), ctypes.py_object(error)
        )


def _dump_outcomes(
    values: list[Any],
    failures: dict[int, tuple[BaseException, dict[str, Any] | None]],
) -> bytes:
    try:
        payload: bytes = cloudpickle.dumps((values, failures))
    except Exception:
        pass
    else:
        return payload

    # Rare path: replace each result or exception that cannot be pickled by
    # an error of its own job, saying why.
    for index, value in enumerate(values):
        item = failures.get(index, value)
        try:
            cloudpickle.dumps(item)
        except Exception as error:
            what = "error" if index in failures else "result"
            values[index] = None
            failures[index] = (
                TypeError(
                    f"the job's {what} {_safe_repr(item)} cannot be pickled to "
                    f"send it back from the Dask worker: {error}"
                ),
                None,
            )
    payload = cloudpickle.dumps((values, failures))
    return payload


def _safe_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def _rebuild(error: BaseException, tb: dict[str, Any] | None) -> BaseException:
    # Give the exception its remote frames back, as Future.result() does.
    if tb is not None:
        try:
            traceback: TracebackType | None = Traceback.from_dict(tb).as_traceback()
        except Exception:
            # A frame tblib cannot rebuild costs the traceback, not the error.
            return error
        error = error.with_traceback(traceback)
    return error
