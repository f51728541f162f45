"""A :class:`concurrent.futures.Executor` on bigopool's queue and workers.

The executor is a thin layer over the same parts a :class:`Dispatcher` uses:
a :class:`~bigopool._queue.JobQueue` and the thread backend's workers. Each
``submit()`` puts one :class:`_Call` on the queue; a worker calls it, which
claims the future (``set_running_or_notify_cancel``), runs the function and
settles the future, so the sink that receives outcomes only counts them.

Settling the future inside the call rather than in the sink is on purpose:
a worker keeps its last job and result in local variables while it sleeps,
and CPython's own tests (issues 16284 and 14406) require that an executor
hold no reference to a finished call or its result. A call therefore empties
itself and returns ``None``.

Where the time goes: with trivial functions, creating futures and collecting
them as garbage costs more than the pool itself, so futures are a
:class:`concurrent.futures.Future` subclass whose condition variable is
cheaper to build (see :class:`_Condition`).
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures._base import PENDING as _PENDING
from concurrent.futures.thread import BrokenThreadPool, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from ._backends import Backend, WorkerOptions
from ._backends._thread import ThreadBackend
from ._queue import JobQueue, QueueClosed

__all__ = ["Executor"]

P = ParamSpec("P")
T = TypeVar("T")

_log = logging.getLogger("bigopool")

# Worker threads of every executor still running, each with its queue, so
# that interpreter exit can let them finish their work as the standard
# library's pools do (its workers are joined at exit too). Weak keys: a
# thread that ended drops out by itself.
_live: weakref.WeakKeyDictionary[threading.Thread, JobQueue] = (
    weakref.WeakKeyDictionary()
)
_live_lock = threading.Lock()
_interpreter_exiting = False
_counter = itertools.count()
_new_rlock = threading.RLock


def _at_exit() -> None:
    global _interpreter_exiting

    with _live_lock:
        _interpreter_exiting = True
        items = list(_live.items())

    for _, queue in items:
        queue.close()
    for thread, _ in items:
        thread.join()


# The standard library registers its pools' exit hook the same way, so that
# it runs before atexit callbacks and a callback that submits is refused
# (CPython test_submit_after_interpreter_shutdown checks exactly that).
_register = getattr(threading, "_register_atexit", None)
if _register is not None:
    _register(_at_exit)
else:  # pragma: no cover - every supported CPython has it
    import atexit

    atexit.register(_at_exit)


def _check_queue_size(value: object) -> None:
    # The same rule and words as the Dispatcher's own check.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"queue_size must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"queue_size must be at least 1, got {value}")


def _default_workers() -> int:
    # Python 3.13 counts the CPUs this process may use; older ones all CPUs.
    count = getattr(os, "process_cpu_count", os.cpu_count)()
    return min(32, (count or 1) + 4)


class _Condition(threading.Condition):
    """A :class:`threading.Condition` over an RLock, built for less.

    ``Condition.__init__`` stores five bound methods of its lock on every
    instance; a future is created per call and lives as long as the caller
    keeps it, so those objects are most of what the garbage collector
    traverses in a busy pool. Here they are ordinary methods instead; the
    behaviour is Condition's own, which calls them.
    """

    def __init__(self) -> None:  # no super().__init__: it is what we avoid
        self._lock = _new_rlock()
        self._waiters: deque[Any] = deque()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def _release_save(self) -> Any:
        return self._lock._release_save()  # type: ignore[attr-defined]

    def _acquire_restore(self, state: Any) -> None:
        self._lock._acquire_restore(state)  # type: ignore[attr-defined]

    def _is_owned(self) -> bool:
        return self._lock._is_owned()  # type: ignore[attr-defined,no-any-return]


class _Future(Future[Any]):
    """A :class:`concurrent.futures.Future` whose condition is a
    :class:`_Condition`; every method is Future's own."""

    def __init__(self) -> None:  # no super().__init__: it is what we avoid
        self._condition = _Condition()
        self._state = _PENDING
        self._result = None
        self._exception = None
        self._waiters = []
        self._done_callbacks: list[Callable[[Future[Any]], object]] = []


# Reprs and error messages then read like the standard library's.
_Future.__name__ = _Future.__qualname__ = "Future"


def _light_future_fits() -> bool:
    # _Future and _Condition mirror the __init__ of the classes they extend.
    # Should a Python version add state to either, use the real Future.
    future_state = set(vars(Future()))
    condition_state = set(vars(threading.Condition()))
    return (
        future_state == set(vars(_Future()))
        and condition_state - {"acquire", "release"} - _BOUND_LOCK_METHODS
        == {"_lock", "_waiters"}
        and all(hasattr(_new_rlock(), name) for name in _BOUND_LOCK_METHODS)
    )


_BOUND_LOCK_METHODS = {"_release_save", "_acquire_restore", "_is_owned"}
#: What submit() creates for each call.
_new_future: Callable[[], Future[Any]] = _Future if _light_future_fits() else Future


class _Call(list[Any]):
    """One ``submit()``: the list ``[future, fn, args, kwargs, started]``,
    run by a worker through ``execute()`` or a call, like any job.

    A list, so that it is built in C without a Python ``__init__`` and is the
    only object a call adds to the queue; called, it empties itself, so a
    worker that keeps its last runner while it sleeps keeps nothing alive.
    """

    __slots__ = ()

    def __call__(self) -> None:
        if not self:
            return

        future, fn, args, kwargs, started = self
        self.clear()
        next(started)
        if not future.set_running_or_notify_cancel():
            return

        try:
            result = fn(*args, **kwargs)
        except BaseException as error:
            future.set_exception(error)
            # The traceback holds this frame: leave it nothing to keep alive.
            del future, fn, args, kwargs, error
        else:
            future.set_result(result)

    execute = __call__


class _InitCall(_Call):
    """A call of an executor that has an initializer: its sixth element is
    the executor's :class:`_Startup`."""

    __slots__ = ()

    def __call__(self) -> None:
        if not self:
            return

        startup = self.pop()
        if startup.ready():
            super().__call__()
        else:
            _settle(self, BrokenThreadPool(startup.broken))

    execute = __call__


def _settle(cell: list[Any], error: BaseException | None) -> None:
    if not cell:
        return

    future = cell[0]
    cell.clear()
    if error is None:
        future.cancel()
        # Moves it to CANCELLED_AND_NOTIFIED, which wakes wait() and
        # as_completed() callers, unlike cancel() alone.
        future.set_running_or_notify_cancel()
    elif future.set_running_or_notify_cancel():
        future.set_exception(error)


class _Startup:
    """Runs an executor's initializer once in each worker thread.

    The first call each thread takes runs it. A failing initializer breaks
    the whole pool, as in ``ThreadPoolExecutor``: later calls fail with
    ``BrokenThreadPool`` and so does ``submit``. ``WorkerOptions.initializer``
    of the thread backend (where it has one) only fails the jobs of the
    worker whose initializer raised, so the executor does not use it.
    """

    def __init__(
        self,
        initializer: Callable[..., object],
        initargs: tuple[Any, ...],
        on_failure: weakref.WeakMethod[Callable[[], None]],
    ) -> None:
        self.initializer = initializer
        self.initargs = initargs
        self.on_failure = on_failure
        self.local = threading.local()
        self.broken: str | None = None

    def ready(self) -> bool:
        """True when this thread may run jobs; runs the initializer once."""
        local = self.local
        if not getattr(local, "started", False):
            local.started = True
            try:
                self.initializer(*self.initargs)
            except BaseException:
                _log.critical("Exception in initializer:", exc_info=True)
                self.broken = (
                    "A thread initializer failed, the thread pool is not usable anymore"
                )
                on_failure = self.on_failure()
                if on_failure is not None:
                    on_failure()
        return self.broken is None


class _Sink:
    """Work items settle their own futures, so outcomes need no recording;
    the sink only counts finished items, to tell how many workers are idle.

    ``failure`` only sees an error raised by the future itself, for example
    one a caller settled by hand; nobody waits for it, so it is logged.
    """

    __slots__ = ("finished",)

    results: list[Any] | None = None
    durations: Any = None

    def __init__(self) -> None:
        self.finished = itertools.count()

    def success(self, job: Any, result: Any) -> None:
        next(self.finished)

    def failure(self, job: Any, error: BaseException) -> None:
        next(self.finished)
        _log.error("work item %r failed outside its call", job, exc_info=error)


class _RemoteCall:
    """One ``submit()`` on the process backend.

    What crosses to the worker process is only ``fn``, ``args`` and
    ``kwargs`` (see ``__reduce__``); the future stays here, and the sink
    settles it when the worker's answer comes back.
    """

    __slots__ = ("args", "fn", "future", "kwargs")

    def __init__(
        self,
        future: Future[Any] | None,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def execute(self) -> Any:
        return self.fn(*self.args, **self.kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_RemoteCall, (None, self.fn, self.args, self.kwargs))

    def settle(self, result: Any, error: BaseException | None) -> None:
        future = self.future
        if future is None or not future.set_running_or_notify_cancel():
            return  # cancelled while it waited or ran: nobody wants it
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


class _ProcessSink:
    """Settles each remote call's future as its answer comes back."""

    __slots__ = ()

    results: list[Any] | None = None
    durations: Any = None

    def success(self, job: _RemoteCall, result: Any) -> None:
        job.settle(result, None)

    def failure(self, job: _RemoteCall, error: BaseException) -> None:
        job.settle(None, error)

    def cancel(self, job: _RemoteCall, error: BaseException) -> None:
        job.settle(None, error)


class Executor(ThreadPoolExecutor):
    """A drop-in :class:`concurrent.futures.ThreadPoolExecutor` that can push
    back on fast producers.

    It subclasses ``ThreadPoolExecutor`` only to be accepted where one is
    required by type (``loop.set_default_executor`` since Python 3.11);
    none of that class's code or state is used.

    ``max_workers`` threads run the calls; ``None`` means ``min(32, CPUs +
    4)`` as in the standard library. With ``queue_size=None`` the queue of
    calls waiting to start is unbounded, exactly like ``ThreadPoolExecutor``.
    With an integer, :meth:`submit` blocks while that many calls are waiting
    (and resumes once half of them have started), :meth:`try_submit`
    returns ``None`` instead of blocking, and :meth:`map` reads its inputs
    lazily, holding at most ``queue_size + max_workers`` calls in flight.

    ``initializer(*initargs)`` runs in each worker thread before the first
    call it runs; if it raises, the pool is broken: pending futures fail
    with :class:`~concurrent.futures.thread.BrokenThreadPool` and so does
    any later ``submit``.

    ``backend="process"`` runs the calls in ``max_workers`` worker processes
    instead (see :class:`~bigopool.ProcessBackend`): ``fn`` and its
    arguments must be picklable (``submit`` raises ``TypeError`` if not), a
    worker that dies fails only its call's future with
    :class:`~bigopool.WorkerDied`, and a failing initializer fails the
    calls of that worker with :class:`~bigopool.WorkerInitFailed`. A future
    stays cancellable until its answer comes back.

    Raises:
        ValueError: ``max_workers`` or ``queue_size`` is below 1, or
            ``backend`` is not ``"thread"`` or ``"process"``.
        TypeError: ``max_workers`` or ``queue_size`` is not an int, or
            ``initializer`` is not callable.
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        queue_size: int | None = None,
        backend: str = "thread",
        thread_name_prefix: str = "",
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        if max_workers is None:
            max_workers = _default_workers()
        elif isinstance(max_workers, bool) or not isinstance(max_workers, int):
            raise TypeError(
                f"max_workers must be an int, got {type(max_workers).__name__}"
            )
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if queue_size is not None:
            _check_queue_size(queue_size)
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")

        self._max_workers = max_workers
        self._queue_size = queue_size
        self._backend = _backend_for(backend, thread_name_prefix)
        self._queue = JobQueue(sys.maxsize if queue_size is None else queue_size)
        self._startup = (
            None
            if initializer is None
            # Weak: a worker keeps its last runner, and so this, while it
            # sleeps; a strong reference would keep the executor alive.
            else _Startup(initializer, tuple(initargs), weakref.WeakMethod(self._break))
        )
        self._lock = threading.Lock()
        self._accepting = True
        self._broken_reason: str | None = None
        self._joined = False

        self._started = itertools.count()

        # Bound once: submit() calls it for every call. A _Call goes into
        # the queue as is: it is what ThreadBackend.prepare() would return
        # for it, and skipping that call is measurable.
        self._put = self._queue.put

        self._remote = self._backend.name == "process"
        if self._remote:
            # Worker processes run the initializer themselves.
            self._startup = None
            self._sink: Any = _ProcessSink()
            options = WorkerOptions(initializer=initializer, initargs=tuple(initargs))
        else:
            self._sink = _Sink()
            options = WorkerOptions()
        self._backend.start(max_workers, self._queue, self._sink, options)
        threads = getattr(self._backend, "threads", ())
        with _live_lock:
            for thread in threads:
                _live[thread] = self._queue

        # Dropped without shutdown(): let the workers finish what is queued
        # and stop, as ThreadPoolExecutor does, instead of idling forever.
        weakref.finalize(self, self._queue.close).atexit = False

    @property
    def max_workers(self) -> int:
        """How many calls run at once."""
        return self._max_workers

    @property
    def queue_size(self) -> int | None:
        """How many calls may wait to start, or ``None`` for no limit."""
        return self._queue_size

    def submit(
        self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)`` and return its future.

        With a ``queue_size``, blocks while ``queue_size`` calls wait to
        start. Costs one future and one small work item.

        Raises:
            RuntimeError: the executor was shut down, or the interpreter is
                exiting.
            BrokenThreadPool: an initializer failed.
        """
        if not self._accepting:
            raise self._refusal()

        future: Future[T] = _new_future()
        if self._startup is None and not self._remote:
            # Inlined _call(): this is the hot path.
            call: Any = _Call((future, fn, args, kwargs, self._started))
        else:
            call = self._call(future, fn, args, kwargs)
        try:
            self._put(call)
        except QueueClosed:
            raise self._refusal() from None
        return future

    def try_submit(
        self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Future[T] | None:
        """Like :meth:`submit`, but return ``None`` instead of blocking when
        ``queue_size`` calls are already waiting. Never blocks.

        Raises like :meth:`submit`.
        """
        if not self._accepting:
            raise self._refusal()

        future: Future[T] = _new_future()
        try:
            if self._queue.try_put(self._call(future, fn, args, kwargs)):
                return future
        except QueueClosed:
            raise self._refusal() from None
        return None

    def map(
        self,
        fn: Callable[..., T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[T]:
        """Return an iterator of ``fn`` applied to the items of
        ``iterables``, in order, like the built-in :func:`map`.

        Without ``queue_size`` every call is submitted before this returns,
        as in the standard library. With it, at most ``queue_size +
        max_workers`` calls are in flight: the inputs are read as results
        are consumed, so an endless generator is fine. ``chunksize`` is
        accepted and ignored, as by ``ThreadPoolExecutor``.

        Raises:
            RuntimeError: the executor was shut down (when called).
            TimeoutError: ``timeout`` seconds after the call, the next
                result was not ready (when iterating).
            Exception: whatever ``fn`` raised for the next item (when
                iterating); the calls not yet started are then cancelled.
        """
        end = None if timeout is None else time.monotonic() + timeout
        inputs = zip(*iterables, strict=False)
        if self._queue_size is None:
            return _drain_ordered(deque(self.submit(fn, *a) for a in inputs), end)
        return self._map_lazily(fn, inputs, end)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking calls; run those already submitted, then stop workers.

        With ``cancel_futures=True`` the calls that have not started are
        cancelled instead. With ``wait=True`` this returns once every
        worker thread has ended. Calling it again is harmless.
        """
        with self._lock:
            self._accepting = False
        self._queue.close()

        if cancel_futures:
            self._cancel_waiting()
        if wait:
            self._backend.join()

    def __repr__(self) -> str:
        state = "open" if self._accepting else "shut down"
        if self._broken_reason is not None:
            state = "broken"
        return (
            f"<bigopool.Executor {state} max_workers={self._max_workers} "
            f"queue_size={self._queue_size} backend={self._backend.name!r}>"
        )

    # Internals.

    def _refusal(self) -> RuntimeError:
        if self._broken_reason is not None:
            return BrokenThreadPool(self._broken_reason)
        if _interpreter_exiting:
            return RuntimeError(
                "cannot schedule new futures after interpreter shutdown"
            )
        return RuntimeError("cannot schedule new futures after shutdown")

    def _call(
        self,
        future: Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        if self._remote:
            # Pickled here, so that a call that cannot be sent fails now.
            return self._backend.prepare(_RemoteCall(future, fn, args, kwargs))
        if self._startup is None:
            return _Call((future, fn, args, kwargs, self._started))
        return _InitCall((future, fn, args, kwargs, self._started, self._startup))

    def _cancel_waiting(self) -> None:
        if self._remote:
            # Calls a worker's feeder took are on their way to a process:
            # cancel only what is still queued.
            for item in self._queue.drain():
                future = self._backend.job_of(item).future
                future.cancel()
                future.set_running_or_notify_cancel()
            return

        # A call submitted to an idle worker counts as started, as it does
        # in ThreadPoolExecutor, where an idle thread takes it at once; here
        # the woken worker may not have popped it yet, so leave as many
        # calls at the head of the queue as there are idle workers. Popping
        # from the tail leaves the head to the workers popping concurrently.
        running = _peek(self._started) - _peek(self._sink.finished)
        keep = self._max_workers - min(max(running, 0), self._max_workers)
        items = self._queue.items
        tail: list[Any] = []
        while len(items) > keep:
            try:
                tail.append(items.pop())
            except IndexError:
                break
        for runner in reversed(tail):
            _settle(runner, None)

    def _break(self) -> None:
        # Called from a worker whose initializer raised: refuse new calls
        # and fail the queued ones, as ThreadPoolExecutor does.
        startup = self._startup
        assert startup is not None
        with self._lock:
            self._broken_reason = startup.broken
            self._accepting = False
        self._queue.close()

        error = BrokenThreadPool(startup.broken)
        for runner in self._queue.drain():
            _settle(runner, error)

    def _map_lazily(
        self,
        fn: Callable[..., T],
        inputs: Iterator[tuple[Any, ...]],
        end: float | None,
    ) -> Iterator[T]:
        window = (self._queue_size or 1) + self._max_workers
        pending: deque[Future[T]] = deque()
        spare: list[tuple[Any, ...]] = []

        def top_up() -> None:
            # Submit without blocking while the window has room, so that a
            # full queue never delays map() itself or a result that is ready.
            # Only with nothing in flight is blocking the way to progress.
            while len(pending) < window:
                args = spare.pop() if spare else next(inputs, None)
                if args is None:
                    return
                future = self.try_submit(fn, *args)
                if future is None:
                    if pending:
                        spare.append(args)
                        return
                    future = self.submit(fn, *args)
                pending.append(future)

        # A first window now, so that work starts before the first next()
        # and a shut-down executor fails here, as in the standard library.
        top_up()
        return _drain_ordered(pending, end, top_up)


def _drain_ordered(
    pending: deque[Future[T]],
    end: float | None,
    refill: Callable[[], None] | None = None,
) -> Iterator[T]:
    # The iterator is a separate generator so that map() submits before the
    # first next(), as the standard library's does.
    try:
        while True:
            # Refill first: with a full queue, inputs may be held back
            # while pending is already empty.
            if refill is not None:
                refill()
            if not pending:
                return
            # Popped inside the call: this frame must not hold the future
            # (and so the result) while the caller holds the value.
            if end is None:
                yield _result_or_cancel(pending.popleft(), None)
            else:
                yield _result_or_cancel(pending.popleft(), end - time.monotonic())
    finally:
        for future in pending:
            future.cancel()


def _result_or_cancel(future: Future[T], timeout: float | None) -> T:
    try:
        return future.result(timeout)
    finally:
        # After a timeout the call must not start any more.
        future.cancel()
        # The future holds the traceback of an error, whose frames hold
        # this one: break the cycle.
        del future


def _peek(counter: itertools.count[int]) -> int:
    # The next value of an itertools.count without taking it. count is used
    # because next() on it is atomic, unlike += on an attribute.
    return int(repr(counter)[len("count(") : -1])


def _backend_for(spec: object, thread_name_prefix: str) -> Backend:
    if spec == "thread":
        prefix = thread_name_prefix or f"bigopool.Executor-{next(_counter)}"
        return ThreadBackend(thread_name_prefix=prefix)
    if spec == "process":
        from ._backends._process import ProcessBackend

        return ProcessBackend()
    raise ValueError(f"backend must be 'thread' or 'process', got {spec!r}")
