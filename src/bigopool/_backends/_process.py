"""Jobs in worker processes: the backend for CPU-bound Python code.

Design. Each worker is a pair: a *feeder* thread in this process and the
child process it owns. The feeder takes a batch of jobs from the queue,
writes it down a pipe, and reads the child's answers, one per job and in
order. Because the answers come in order, the feeder always knows which job
the child is running: the oldest one sent and not yet answered. That is what
lets a crash, a kill or a timeout cost exactly one job: the feeder blames
that job, starts a new child and sends it the rest of the batch.

Jobs are pickled in the producer's thread (``prepare``), so a job that
cannot be pickled is refused by ``enqueue`` instead of failing later. Batch
sizes follow the measured job durations (about ``_TARGET_BATCH_SECONDS`` of
work per batch) and one more batch is sent ahead while the child works, so
neither side waits for the other on short jobs.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pickle
import reprlib
import select
import signal
import threading
import time
import weakref
from collections import deque
from typing import Any

from .. import _errors
from .._errors import JobCancelled, JobTimeout, WorkerDied
from .._job import job_of, runner_of
from .._queue import JobQueue
from . import _process_worker as _wire
from ._base import Backend, Sink, WorkerOptions
from ._process_worker import RemoteError

__all__ = ["ProcessBackend", "RemoteError"]

_log = logging.getLogger("bigopool")

#: How much work one batch should hold, from the measured job durations.
_TARGET_BATCH_SECONDS = 0.02
#: The largest adaptive batch, whatever the jobs cost.
_MAX_BATCH = 512
#: A batch sent ahead must fit in the pipe's buffer, so that writing it never
#: blocks while the child is blocked writing answers. Pipes hold 64 KiB by
#: default on Linux; we ask for _PIPE_BYTES and take half of what we get.
_PIPE_BYTES = 1 << 20
_DEFAULT_PIPE_BYTES = 64 * 1024

#: The longest a feeder lets answers pile up before reading them.
_MAX_PAUSE = 0.002
_NO_LIMIT = float("inf")

# The error for jobs of a worker whose initializer raised: the library's own
# class where it has one, else its base class.
_InitFailed: type[RuntimeError] = getattr(_errors, "WorkerInitFailed", RuntimeError)
_UNLIMITED = 1 << 30

# Children of every backend still running, killed at exit: multiprocessing
# joins non-daemon children at exit, which would wait forever for a worker
# whose dispatcher was never waited for. Registered on first start, after
# multiprocessing registered its own exit hook, so that it runs first.
_live_backends: weakref.WeakSet[ProcessBackend] = weakref.WeakSet()
_exit_hook: list[bool] = []


def _kill_leftovers() -> None:
    backends = list(_live_backends)
    for backend in backends:
        backend.interrupt()

    # Let the feeders reap what was killed before multiprocessing's own
    # hook looks at the same processes.
    deadline = time.monotonic() + 5
    while any(backend.pids for backend in backends):
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)


def _default_start_method(available: list[str]) -> str:
    # forkserver: fast to start a worker once the server runs, and unlike
    # fork it does not copy this process's threads and locks (the feeders
    # run while workers are replaced). Python 3.14 made it the default on
    # Linux too. Where it does not exist (macOS has it, Windows does not),
    # spawn.
    return "forkserver" if "forkserver" in available else "spawn"


def _preload_worker(context: Any) -> None:
    # Workers forked from a server that already imported their module start
    # in a few milliseconds instead of importing bigopool each. This only
    # takes effect if the server is not running yet, and keeps the default
    # preload of __main__.
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    running = getattr(server, "_forkserver_pid", None) is not None
    if not running:
        context.set_forkserver_preload(["__main__", _wire.__name__])


def _import_cloudpickle() -> Any:
    try:
        import cloudpickle  # type: ignore[import-untyped]
    except ImportError as error:
        raise ImportError(
            "the process backend sends jobs with cloudpickle, which is not "
            "installed: pip install bigopool[process]"
        ) from error
    return cloudpickle


class ProcessBackend(Backend):
    """Run jobs in worker processes, one job at a time per process.

    ``start_method`` is ``"forkserver"`` (the default where it exists),
    ``"spawn"`` (the default elsewhere) or ``"fork"``. ``batch_size``
    fixes how many jobs go to a worker at once; by default it adapts to
    about 5 ms of work per batch.

    Jobs, results and exceptions travel by cloudpickle, so lambdas, closures
    and classes defined in ``__main__`` work. A worker process that dies
    costs only the job it was running (recorded as :class:`WorkerDied`) and
    is replaced; a job over the dispatcher's ``timeout`` is killed with its
    process and recorded as :class:`JobTimeout`.

    Raises:
        ImportError: cloudpickle is not installed.
        ValueError: an unknown or unavailable ``start_method``, a
            ``batch_size`` below 1, or a platform without ``select.poll``.
        TypeError: ``batch_size`` is not an int.
    """

    name = "process"

    def __init__(
        self, *, start_method: str | None = None, batch_size: int | None = None
    ) -> None:
        self._cloudpickle = _import_cloudpickle()
        if not hasattr(select, "poll"):
            raise ValueError("the process backend needs select.poll (POSIX only)")

        # Imported here: multiprocessing costs more to import than the rest
        # of bigopool, and only this backend needs it.
        import multiprocessing

        available = multiprocessing.get_all_start_methods()
        if start_method is None:
            start_method = _default_start_method(available)
        elif start_method not in available:
            raise ValueError(
                f"start_method must be one of {', '.join(map(repr, available))} "
                f"on this platform, got {start_method!r}"
            )
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, int):
                raise TypeError(
                    f"batch_size must be an int, got {type(batch_size).__name__}"
                )
            if batch_size < 1:
                raise ValueError(f"batch_size must be at least 1, got {batch_size}")

        self.start_method = start_method
        self.batch_size = batch_size
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            _preload_worker(self._context)
        self._lock = threading.Lock()
        self._cancel_lock = threading.Lock()
        self._children: set[_Child] = set()
        self._feeders: list[tuple[_Feeder, threading.Thread]] = []
        self._interrupted = False
        self._started = False

    def prepare(self, job: Any) -> Any:
        """Pickle ``job`` for a worker process; the queue holds the bytes.

        Costs one cloudpickle call in the caller's thread (a few
        microseconds for a function and its arguments, more for big data).

        Raises:
            TypeError: ``job`` is not a job, or cannot be pickled.
        """
        runner = runner_of(job)
        try:
            payload = self._dumps(runner)
        except Exception as error:
            raise TypeError(
                f"job {reprlib.repr(job)} cannot be sent to a worker process: "
                f"{type(error).__name__}: {error}"
            ) from error
        # The job as reported: job_of unwraps what the pool may have wrapped.
        return (job_of(runner), payload)

    def job_of(self, item: Any) -> Any:
        """Return the job that :meth:`prepare` turned into queue ``item``."""
        return item[0]

    def running(self) -> int:
        """How many jobs worker processes are running now (a snapshot)."""
        return sum(1 for feeder, _ in self._feeders if feeder.inflight)

    def _dumps(self, runner: Any) -> bytes:
        # The C pickler is five times faster than cloudpickle, and gives the
        # same bytes for what it can pickle by reference, except things in
        # __main__ (a worker may not have the same __main__) and modules
        # registered with cloudpickle.register_pickle_by_value. Looking for
        # b"__main__" in the bytes is crude but safe: a false alarm only
        # costs the slower path.
        cloudpickle = self._cloudpickle
        # Unknown (a cloudpickle that renamed it) counts as registered.
        registered = getattr(
            cloudpickle.cloudpickle, "_PICKLE_BY_VALUE_MODULES", (None,)
        )
        if not registered:
            try:
                payload = pickle.dumps(runner, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # lambdas, closures: by value below
                pass
            else:
                if b"__main__" not in payload:
                    return payload
        data: bytes = cloudpickle.dumps(runner, protocol=pickle.HIGHEST_PROTOCOL)
        return data

    def start(
        self, workers: int, queue: JobQueue, sink: Sink, options: WorkerOptions
    ) -> None:
        """Start ``workers`` feeder threads; each starts its worker process.

        Raises:
            RuntimeError: the backend was started before.
            TypeError: the initializer, its arguments or the finalizer cannot
                be pickled.
        """
        if self._started:
            raise RuntimeError("a ProcessBackend runs one dispatcher only")
        try:
            setup = self._cloudpickle.dumps(
                (
                    options.initializer,
                    options.initargs,
                    options.finalizer,
                    options.timeout is not None,
                ),
                protocol=pickle.HIGHEST_PROTOCOL,
            )
        except Exception as error:
            raise TypeError(
                f"the initializer, initargs or finalizer cannot be sent to a "
                f"worker process: {type(error).__name__}: {error}"
            ) from error

        self._started = True
        _live_backends.add(self)
        if not _exit_hook:
            _exit_hook.append(True)
            atexit.register(_kill_leftovers)
        for number in range(workers):
            feeder = _Feeder(self, queue, sink, options, setup, workers, number)
            thread = threading.Thread(
                target=feeder.run, name=f"bigopool-feeder-{number}", daemon=True
            )
            thread.start()
            self._feeders.append((feeder, thread))

    def join(self) -> None:
        """Wait until every job is reported and every worker process has exited.

        Each worker runs the finalizer after its last job, then exits.
        """
        # Events rather than Thread.join: before Python 3.13, a join that
        # Ctrl-C interrupts can mark its thread as stopped while it still
        # runs (the bpo-45274 change to Thread._wait_for_tstate_lock), and
        # the next join returns before the feeder has reported its jobs.
        for feeder, thread in self._feeders:
            feeder.finished.wait()
            thread.join()
        _live_backends.discard(self)

    def interrupt(self) -> None:
        """Kill every worker process; their running jobs end as JobCancelled."""
        with self._lock:
            self._interrupted = True
            children = list(self._children)
        for child in children:
            child.kill()

    @property
    def pids(self) -> list[int]:
        """The process ids of the worker processes alive right now."""
        with self._lock:
            return [child.pid for child in self._children]

    # Used by feeders.

    def _spawn(self, setup: bytes, name: str) -> _Child | None:
        with self._lock:
            if self._interrupted:
                return None
            child = _Child(self._context, setup, name)
            self._children.add(child)
            return child

    def _forget(self, child: _Child) -> None:
        with self._lock:
            self._children.discard(child)


class _Child:
    """This process's end of one worker process: two pipes and a poller."""

    def __init__(self, context: Any, setup: bytes, name: str) -> None:
        job_reader, job_writer = context.Pipe(duplex=False)
        result_reader, result_writer = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_wire.serve,
            args=(job_reader, result_writer, setup),
            name=name,
        )
        self.process.start()

        # Only the child may hold these ends, so that its death reads as
        # end-of-file here.
        job_reader.close()
        result_writer.close()
        self._job_writer = job_writer
        self._result_reader = result_reader

        self.pid: int = self.process.pid
        self.out = job_writer.fileno()
        self.inp = result_reader.fileno()
        os.set_blocking(self.inp, False)
        self.ahead_bytes = _widen(self.out) // 2
        _widen(self.inp)
        self._poll = select.poll()
        self._poll.register(self.inp, select.POLLIN)
        self._poll.register(self.process.sentinel, select.POLLIN)
        self._buffer = bytearray()
        self.sent = 0
        self.dead = False
        self.hung_up = False

    def send(self, items: list[tuple[Any, bytes]]) -> None:
        """Write one batch; a child that died meanwhile is found by ``wait``."""
        pack = _wire.LENGTH.pack
        parts: list[bytes] = []
        for _, payload in items:
            parts.append(pack(len(payload)))
            parts.append(payload)
        body = b"".join(parts)
        frame = memoryview(pack(len(body)) + body)
        self.sent += len(items)
        try:
            while frame:
                frame = frame[os.write(self.out, frame) :]
        except OSError:
            self.dead = True

    def wait(self, deadline: float | None) -> list[bytes] | None:
        """Return the answers that arrived by ``deadline``; None if none did.

        Sets ``dead`` once the process has exited and everything it wrote
        has been read.
        """
        if self.dead:
            return self._read()
        timeout = None
        if deadline is not None:
            timeout = max(0, int((deadline - time.monotonic()) * 1000) + 1)
        events = self._poll.poll(timeout)
        if not events:
            return None
        frames = self._read()
        sentinel = self.process.sentinel
        if any(fd == sentinel for fd, _ in events):
            # Exited: what it wrote before is all in the pipe by now.
            frames += self._read()
            self.dead = True
        return frames

    def drain(self) -> list[bytes]:
        """Return the whole answers already written, without waiting."""
        return self._read()

    def _read(self) -> list[bytes]:
        buffer = self._buffer
        while True:
            try:
                chunk = os.read(self.inp, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                self.dead = True
                break
            buffer += chunk

        frames = []
        unpack = _wire.LENGTH.unpack_from
        offset = 0
        end = len(buffer)
        while end - offset >= 4:
            (size,) = unpack(buffer, offset)
            if end - offset - 4 < size:
                break
            frames.append(bytes(buffer[offset + 4 : offset + 4 + size]))
            offset += 4 + size
        del buffer[:offset]
        return frames

    def hang_up(self) -> None:
        """Tell the child no more jobs come: it runs its finalizer and exits."""
        if not self.hung_up:
            self.hung_up = True
            self._job_writer.close()

    def kill(self) -> None:
        # Already reaped raises ValueError; already gone, OSError.
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()

    def reap(self) -> int | None:
        """Wait for the process to exit, release everything, return its code."""
        self.hang_up()
        self.process.join()
        code: int | None = self.process.exitcode
        self._result_reader.close()
        self.process.close()
        return code


def _widen(fd: int) -> int:
    """Ask for a bigger pipe buffer (Linux); return the buffer's size.

    More room lets the child queue answers while its feeder sleeps, and the
    feeder send batches ahead, which matters most on a busy machine where a
    sleeping thread may wake many milliseconds late.
    """
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        return int(fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ))
    except (ImportError, AttributeError, OSError):
        return _DEFAULT_PIPE_BYTES


def _describe_exit(pid: int, code: int | None) -> str:
    if code is None:
        return f"worker process {pid} stopped"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"worker process {pid} was killed by {name}"
    return f"worker process {pid} exited with code {code}"


class _Feeder:
    """One worker: feeds a child process from the queue, one batch at a time."""

    def __init__(
        self,
        backend: ProcessBackend,
        queue: JobQueue,
        sink: Sink,
        options: WorkerOptions,
        setup: bytes,
        workers: int,
        number: int,
    ) -> None:
        self.backend = backend
        self.queue = queue
        self.sink = sink
        self.collect = sink.results.append if sink.results is not None else None
        # Optional parts of a sink: a count of cancellations kept apart from
        # failures, and recent job durations for statistics.
        self.cancel = getattr(sink, "cancel", sink.failure)
        self.durations = getattr(sink, "durations", None)
        self.timeout = options.timeout
        self.max_jobs = options.max_jobs_per_worker
        self.setup = setup
        self.name = f"bigopool-worker-{number}"

        # Jobs sent to the child and not answered yet, oldest (running) first.
        self.inflight: deque[tuple[Any, bytes]] = deque()
        # Jobs taken from the queue and not sent yet.
        self.pending: deque[tuple[Any, bytes]] = deque()
        # Sizes of the batches in flight, to send one ahead and no more.
        self.batches: deque[int] = deque()
        self.child: _Child | None = None
        # When the child said it started the oldest job in flight (only
        # with a timeout: the child announces each job then), else None.
        self.head_started: float | None = None
        self.per_job = 0.0
        self.broken: BaseException | None = None
        self.finished = threading.Event()

        if backend.batch_size is not None:
            self.fixed = backend.batch_size
            self.cap = backend.batch_size
        else:
            self.fixed = 0
            self.cap = max(1, min(_MAX_BATCH, queue.maxsize // workers))

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as error:  # kept as the jobs' error
            # A bug here or a process that cannot start: never lose a job,
            # fail this worker's and every later one with the reason.
            _log.exception("bigopool process worker failed")
            self.broken = error
            self._fail_all()
            while batch := self.queue.get_batch(self.cap):
                for job, _ in batch:
                    self.sink.failure(job, self._reason())
        finally:
            try:
                if self.child is not None:
                    self._retire()
            finally:
                self.finished.set()

    # The loop.

    def _loop(self) -> None:
        while True:
            if not self.inflight and not self.pending:
                batch = self.queue.get_batch(self._limit())
                if not batch:
                    return
                self.pending.extend(batch)

            if self.backend._interrupted or self.broken is not None:
                self._fail_all()
                continue

            if self.child is None:
                self.child = self.backend._spawn(self.setup, self.name)
                if self.child is None:
                    continue  # interrupted: the next turn fails the jobs

            self._send()
            self._receive()

    def _limit(self) -> int:
        if self.fixed:
            return self.fixed
        if self.per_job <= 0:
            return 1
        return max(1, min(self.cap, int(_TARGET_BATCH_SECONDS / self.per_job)))

    def _send(self) -> None:
        child = self.child
        assert child is not None
        room = self._room(child)
        if not room:
            return

        if not self.inflight:
            batch = self._take(min(room, self._limit()), child.ahead_bytes)
        elif len(self.batches) == 1:
            # Send one batch ahead, so the child never waits for us.
            if not self.pending:
                self.pending.extend(_take_now(self.queue, self._limit()))
            if not self.pending or len(self.pending[0][1]) > child.ahead_bytes:
                return
            batch = self._take(min(room, self._limit()), child.ahead_bytes)
        else:
            return

        if batch:
            child.send(batch)
            self.inflight.extend(batch)
            self.batches.append(len(batch))

    def _room(self, child: _Child) -> int:
        if self.max_jobs is None:
            return _UNLIMITED
        return self.max_jobs - child.sent

    def _take(self, count: int, limit: int) -> list[tuple[Any, bytes]]:
        # At most ``limit`` bytes unless a single job is bigger: a batch
        # sent ahead must fit in the pipe's buffer, so that writing it never
        # blocks while the child is blocked writing answers to us.
        pending = self.pending
        batch = [pending.popleft()]
        size = len(batch[0][1])
        while pending and len(batch) < count:
            size += len(pending[0][1]) + 4
            if size > limit:
                break
            batch.append(pending.popleft())
        return batch

    def _receive(self) -> None:
        child = self.child
        assert child is not None
        deadline = None
        if self.timeout is not None and self.head_started is not None:
            # From when the job started, not when it was sent: a new worker
            # may take a while to start and to import what the job needs.
            deadline = self.head_started + self.timeout

        if len(self.batches) > 1:
            # The child has a batch queued behind the one it runs: let its
            # answers pile up in the pipe and read them in one go, instead
            # of waking up (and taking the GIL) for every short job.
            pause = min(_MAX_PAUSE, self.per_job * len(self.inflight) / 2)
            if deadline is not None:
                pause = min(pause, deadline - time.monotonic())
            if pause > 0:
                time.sleep(pause)

        frames = child.wait(deadline) if self.inflight else []
        if frames is None:
            self._stop_overdue(child)
            return

        self._handle(frames)
        if child.dead:
            self._lost(child)
        elif not self.inflight and child.sent >= (self.max_jobs or _NO_LIMIT):
            self._retire()

    def _handle(self, frames: list[bytes]) -> None:
        inflight = self.inflight
        batches = self.batches
        sink = self.sink
        collect = self.collect
        unpack = _wire.OUTCOME.unpack_from
        skip = _wire.OUTCOME.size
        loads = pickle.loads
        per_job = self.per_job
        durations = self.durations

        for frame in frames:
            tag = frame[0]
            if tag == _wire.STARTED:
                self.head_started = time.monotonic()
                continue
            if tag == _wire.INIT_FAILED:
                self._initializer_failed(frame[1:])
                continue

            self.head_started = None
            tag, seconds = unpack(frame)
            if durations is not None:
                durations.append(seconds)
            per_job = seconds if per_job <= 0 else per_job * 0.8 + seconds * 0.2
            job, _ = inflight.popleft()
            batches[0] -= 1
            if not batches[0]:
                batches.popleft()

            if tag == _wire.OK:
                try:
                    result = loads(memoryview(frame)[skip:])
                except Exception as error:  # the job's error
                    sink.failure(job, _unloadable("result", error))
                    continue
                if collect is not None:
                    collect(result)
                else:
                    sink.success(job, result)
            else:
                sink.failure(job, _load_error(memoryview(frame)[skip:]))

        self.per_job = per_job

    # When things go wrong.

    def _stop_overdue(self, child: _Child) -> None:
        overdue = self.inflight[0]
        child.kill()
        child.process.join()
        self._handle(child.drain())
        child.reap()
        self._end_child()

        if self.inflight and self.inflight[0] is overdue:
            self.inflight.popleft()
            error = JobTimeout(
                f"the job ran longer than the {self.timeout:g} s timeout; its "
                f"worker process {child.pid} was killed"
            )
            self.sink.failure(overdue[0], error)
        self._requeue_inflight()

    def _lost(self, child: _Child) -> None:
        code = child.reap()
        self._end_child()
        if self.backend._interrupted or self.broken is not None:
            self._fail_all()
            return

        if self.inflight:
            job, _ = self.inflight.popleft()
            error = WorkerDied(
                f"{_describe_exit(child.pid, code)} while running this job", code
            )
            self.sink.failure(job, error)
        self._requeue_inflight()

    def _initializer_failed(self, payload: bytes) -> None:
        self.broken = _load_error(payload)

    def _requeue_inflight(self) -> None:
        self.head_started = None
        self.pending.extendleft(reversed(self.inflight))
        self.inflight.clear()
        self.batches.clear()

    def _fail_all(self) -> None:
        jobs = [job for job, _ in self.inflight] + [job for job, _ in self.pending]
        self.inflight.clear()
        self.pending.clear()
        self.batches.clear()
        if self.broken is not None:
            for job in jobs:
                self.sink.failure(job, self._reason())
            return

        # Feeders cancel only after interrupt(), once the dispatcher is done
        # cancelling the queue; the lock keeps them from racing each other
        # on a sink whose cancel() counts.
        with self.backend._cancel_lock:
            for job in jobs:
                self.cancel(job, self._reason())

    def _reason(self) -> BaseException:
        if self.broken is None:
            return JobCancelled("the pool was interrupted before this job finished")
        error = _InitFailed(
            f"this job did not run: its worker process could not be set up "
            f"({type(self.broken).__name__}: {self.broken})"
        )
        error.__cause__ = self.broken
        return error

    def _retire(self) -> None:
        child = self.child
        assert child is not None
        child.hang_up()
        while not child.dead:
            frames = child.wait(None)
            for frame in frames or []:
                if frame[:1] == bytes((_wire.FINAL,)) and len(frame) > 1:
                    _log.error(
                        "the finalizer failed in worker process %s:\n%s",
                        child.pid,
                        frame[1:].decode("utf-8", "replace"),
                    )
        code = child.reap()
        self._end_child()
        if code and not self.backend._interrupted:
            _log.warning("%s after its last job", _describe_exit(child.pid, code))

    def _end_child(self) -> None:
        child = self.child
        if child is not None:
            self.backend._forget(child)
            self.child = None


def _take_now(queue: JobQueue, limit: int) -> list[Any]:
    """Pop up to ``limit`` jobs without waiting for any."""
    items = queue.items
    popleft = items.popleft
    batch: list[Any] = []
    try:
        for _ in range(limit):
            batch.append(popleft())
    except IndexError:
        pass
    if batch and queue.waiting_producers and len(items) <= queue.low_water:
        queue.wake_producers()
    return batch


def _load_error(payload: Any) -> BaseException:
    try:
        error = pickle.loads(payload)
    except Exception as failure:  # replaced below
        return _unloadable("exception", failure)
    if not isinstance(error, BaseException):
        return RemoteError(type(error).__qualname__, repr(error), "")
    return error


def _unloadable(what: str, failure: BaseException) -> BaseException:
    return RemoteError(
        f"{type(failure).__module__}.{type(failure).__qualname__}",
        f"the job's {what} arrived from its worker process but could not be "
        f"unpickled here: {failure}",
        "",
    )
