"""The process backend, on real worker processes: no mocks.

Most tests use the forkserver start method (the default), whose workers start
in milliseconds once the server runs; the core behaviours also run on spawn.
Every test checks that it leaves no worker process behind.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bigopool
from bigopool import (
    Dispatcher,
    JobCancelled,
    JobTimeout,
    ProcessBackend,
    RemoteError,
    WorkerDied,
)

METHODS = ["forkserver", "spawn"]


# Jobs. Module-level so that workers import them by reference.


def square(number: int) -> int:
    return number * number


def exit_with(code: int) -> None:
    os._exit(code)


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def sleep_for(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


def wait_for_file(path: str) -> str:
    while not os.path.exists(path):
        time.sleep(0.01)
    return "released"


def return_lock() -> object:
    return threading.Lock()


def fail(message: str) -> None:
    raise ValueError(message)


class NeedsTwoArguments(Exception):
    """Pickles but does not unpickle: its __init__ does not take its .args."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first} and {second}")


def raise_unpicklable() -> None:
    raise NeedsTwoArguments("this", "that")


class HoldsLock(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def raise_holding_lock() -> None:
    raise HoldsLock


def remember(value: str) -> None:
    # Jobs travel by value here (see _jobs_by_value), each with its own copy
    # of this module's globals, so the state lives in the process instead.
    os.environ["BIGOPOOL_TEST_STATE"] = value


def recall() -> str | None:
    return os.environ.get("BIGOPOOL_TEST_STATE")


def fail_setup() -> None:
    raise ValueError("no database")


def write_pid_file(folder: str) -> None:
    Path(folder, f"{os.getpid()}.final").write_text("done")


def failing_finalizer() -> None:
    raise RuntimeError("cleanup went wrong")


class Multiply:
    """A job with an execute() method."""

    def __init__(self, a: int, b: int) -> None:
        self.a, self.b = a, b

    def execute(self) -> int:
        return self.a * self.b


# Fixtures.


def _descendants() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


@pytest.fixture(scope="module", autouse=True)
def _jobs_by_value() -> Iterator[None]:
    # Send this module's jobs by value: otherwise every worker process
    # imports this module, hence pytest and hypothesis, which would make
    # this file several times slower.
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    yield
    cloudpickle.unregister_pickle_by_value(module)


@pytest.fixture(scope="module", autouse=True)
def _warm_forkserver(_jobs_by_value: None) -> None:
    # The forkserver (and multiprocessing's resource tracker) live as long as
    # the test process by design; start them once so that the orphan check
    # below sees only what each test started.
    with Dispatcher(1, 1, backend="process") as pool:
        pool.enqueue(int)


@pytest.fixture(autouse=True)
def no_orphans() -> Iterator[None]:
    """Fail a test that leaves a process of its own behind."""
    before = _descendants()
    yield
    deadline = time.monotonic() + 5
    while (left := _descendants() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"processes left behind: {left}"


def run_all(jobs: list[Any], **options: Any) -> bigopool.Dispatcher[Any]:
    options.setdefault("backend", "process")
    workers = options.pop("workers", 2)
    with Dispatcher(workers, 64, **options) as pool:
        pool.enqueue(*jobs)
    return pool


def errors_by_type(pool: Dispatcher[Any]) -> dict[type, list[BaseException]]:
    grouped: dict[type, list[BaseException]] = {}
    for error in pool.errors:
        grouped.setdefault(type(error), []).append(error)
    return grouped


# What jobs can be.


@pytest.mark.parametrize("method", METHODS)
def test_process_runs_functions_lambdas_closures_and_job_objects(method: str) -> None:
    offset = 10

    def closure() -> int:
        return offset + 1

    jobs: list[Any] = [
        lambda: square(3),
        closure,
        Multiply(6, 7),
        lambda: os.getpid(),
    ]
    pool = run_all(jobs, backend=ProcessBackend(start_method=method))

    assert not pool.errors
    assert {9, 11, 42} <= set(pool.results)
    assert os.getpid() not in pool.results


@contextlib.contextmanager
def plain_pickling() -> Iterator[None]:
    """Undo _jobs_by_value for a while, so the fast path is taken."""
    module = sys.modules[__name__]
    cloudpickle.unregister_pickle_by_value(module)
    try:
        yield
    finally:
        cloudpickle.register_pickle_by_value(module)


def test_process_sends_importable_jobs_with_the_plain_pickler() -> None:
    job = functools.partial(divmod, 7, 2)
    with plain_pickling():
        backend = ProcessBackend()
        _, payload = backend.prepare(job)
        pool = run_all([job], backend=backend)

    assert payload == pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
    assert pool.results == [(3, 1)]


def test_process_sends_main_module_functions_by_value() -> None:
    # A function the plain pickler would send by reference to __main__,
    # where a worker process would not find it.
    def helper() -> int:
        return 5

    helper.__module__ = "__main__"
    helper.__qualname__ = helper.__name__ = "bigopool_test_helper"
    main = sys.modules["__main__"]
    main.bigopool_test_helper = helper  # type: ignore[attr-defined]
    try:
        with plain_pickling():
            backend = ProcessBackend()
            _, payload = backend.prepare(helper)
            pool = run_all([helper], backend=backend)
        by_reference = pickle.dumps(helper)
    finally:
        del main.bigopool_test_helper  # type: ignore[attr-defined]

    assert b"bigopool_test_helper" in by_reference
    assert payload != by_reference
    assert b"cloudpickle" in payload
    assert pool.results == [5]


def test_process_refuses_an_unpicklable_job_at_enqueue() -> None:
    lock = threading.Lock()
    with Dispatcher(1, 4, backend="process") as pool:
        with pytest.raises(TypeError, match=r"cannot be sent to a worker process"):
            pool.enqueue(lambda: lock.locked())
        with pytest.raises(TypeError, match=r"execute\(\) method or be a zero"):
            pool.enqueue(42)  # type: ignore[arg-type]
        pool.enqueue(lambda: 1)

    assert pool.results == [1]
    assert not pool.errors


def test_process_refuses_a_batch_with_one_bad_job_whole() -> None:
    lock = threading.Lock()
    with (
        Dispatcher(1, 4, backend="process") as pool,
        pytest.raises(TypeError, match=r"cannot be sent"),
    ):
        pool.enqueue(lambda: 1, lambda: lock)

    assert pool.results == []


def test_process_reports_an_unpicklable_result_as_that_jobs_error() -> None:
    pool = run_all([return_lock, lambda: 5])

    assert pool.results == [5]
    [(job, error)] = pool.errors.items()
    assert job is return_lock
    assert isinstance(error, TypeError)
    assert "could not be pickled" in str(error)


def test_process_returns_unpicklable_exceptions_as_remote_errors() -> None:
    pool = run_all([raise_unpicklable, raise_holding_lock, lambda: 5])

    assert pool.results == [5]
    errors = {job: error for job, error in pool.errors.items()}
    for job, name in [
        (raise_unpicklable, "NeedsTwoArguments"),
        (raise_holding_lock, "HoldsLock"),
    ]:
        error = errors[job]
        assert isinstance(error, RemoteError)
        assert error.type_name.endswith(name)
        assert f"{name}" in error.remote_traceback
        assert any("Traceback in worker process" in n for n in error.__notes__)


def test_process_errors_keep_the_remote_traceback() -> None:
    pool = run_all([lambda: fail("bad input")])

    [error] = pool.errors.all()
    assert isinstance(error, ValueError)
    assert str(error) == "bad input"
    [note] = error.__notes__
    assert "Traceback in worker process" in note
    assert "in fail" in note


def test_process_carries_megabytes_both_ways() -> None:
    data = b"x" * 2_000_000
    jobs = [lambda n=n: data[:-n] * 2 for n in range(1, 5)] + [lambda: 0]
    pool = run_all(jobs)

    lengths = sorted(len(r) if isinstance(r, bytes) else r for r in pool.results)
    assert lengths == [0, *sorted(2 * (2_000_000 - n) for n in range(1, 5))]


# Faults.


@pytest.mark.parametrize("method", METHODS)
def test_process_worker_exit_costs_only_its_job(method: str) -> None:
    jobs: list[Any] = [lambda n=n: square(n) for n in range(20)]
    dying = lambda: exit_with(3)  # noqa: E731
    jobs.insert(5, dying)
    backend = ProcessBackend(start_method=method, batch_size=8)
    pool = run_all(jobs, backend=backend, workers=1)

    assert sorted(pool.results) == [n * n for n in range(20)]
    [(job, error)] = pool.errors.items()
    assert job is dying
    assert isinstance(error, WorkerDied)
    assert error.exitcode == 3
    assert "exited with code 3" in str(error)


def test_process_worker_killed_by_its_own_signal_costs_only_its_job() -> None:
    jobs: list[Any] = [lambda n=n: n for n in range(10)]
    jobs.insert(3, kill_self)
    pool = run_all(jobs, backend=ProcessBackend(batch_size=4), workers=1)

    assert sorted(pool.results) == list(range(10))
    [error] = pool.errors.all()
    assert isinstance(error, WorkerDied)
    assert error.exitcode == -signal.SIGKILL
    assert "SIGKILL" in str(error)


def test_process_worker_killed_from_outside_mid_job_is_replaced(
    tmp_path: Path,
) -> None:
    backend = ProcessBackend()
    with Dispatcher(1, 8, backend=backend) as pool:
        pool.enqueue(lambda: sleep_for(60))
        pool.enqueue(*[lambda n=n: n for n in range(5)])
        deadline = time.monotonic() + 10
        while not backend.pids and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # let it start the sleep
        os.kill(backend.pids[0], signal.SIGKILL)

    assert sorted(pool.results) == list(range(5))
    [error] = pool.errors.all()
    assert isinstance(error, WorkerDied)
    assert "SIGKILL" in str(error)


def test_process_timeout_kills_the_job_and_the_pool_goes_on() -> None:
    started = time.monotonic()
    slow = lambda: sleep_for(60)  # noqa: E731
    jobs: list[Any] = [slow] + [lambda n=n: n for n in range(10)]
    pool = run_all(jobs, timeout=0.5)

    assert time.monotonic() - started < 30
    assert sorted(pool.results) == list(range(10))
    [(job, error)] = pool.errors.items()
    assert job is slow
    assert isinstance(error, JobTimeout)
    assert "0.5 s timeout" in str(error)


def test_process_timeout_spares_jobs_that_finish_in_time() -> None:
    pool = run_all([lambda: sleep_for(0.05)] * 4, timeout=5)

    assert pool.results == ["slept"] * 4


# Worker life cycle.


def test_process_initializer_state_is_seen_by_jobs() -> None:
    pool = run_all(
        [recall] * 10, initializer=remember, initargs=("configured",), workers=2
    )

    assert pool.results == ["configured"] * 10
    assert "BIGOPOOL_TEST_STATE" not in os.environ  # it ran in the workers


def test_process_failing_initializer_fails_every_job_with_its_reason() -> None:
    pool = run_all([lambda: 1] * 5, initializer=fail_setup)

    assert pool.results == []
    assert len(pool.errors) == 5
    for error in pool.errors:
        assert isinstance(error, RuntimeError)  # WorkerInitFailed, where it exists
        assert "could not be set up" in str(error)
        assert isinstance(error.__cause__, ValueError)


def test_process_finalizer_runs_once_per_worker_process(tmp_path: Path) -> None:
    pool = run_all(
        [os.getpid] * 6,
        finalizer=lambda: write_pid_file(str(tmp_path)),
        max_jobs_per_worker=2,
        workers=1,
    )

    pids = set(pool.results)
    assert len(pids) == 3
    assert {int(path.stem) for path in tmp_path.glob("*.final")} == pids


def test_process_failing_finalizer_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="bigopool"):
        pool = run_all([lambda: 1], finalizer=failing_finalizer, workers=1)

    assert pool.results == [1]
    assert "cleanup went wrong" in caplog.text


def test_process_recycles_workers_after_max_jobs() -> None:
    pool = run_all([os.getpid] * 10, max_jobs_per_worker=3, workers=1)

    counts = {pid: pool.results.count(pid) for pid in set(pool.results)}
    assert len(pool.results) == 10
    assert sorted(counts.values()) == [1, 3, 3, 3]


def test_process_unpicklable_initializer_is_refused_at_run() -> None:
    lock = threading.Lock()
    pool = Dispatcher(1, 1, backend="process", initializer=lambda: lock)
    with pytest.raises(TypeError, match=r"initializer, initargs or finalizer"):
        pool.run()


# Backpressure and stopping.


def test_process_backpressure_bounds_jobs_out_of_the_queue(tmp_path: Path) -> None:
    release = str(tmp_path / "release")
    with Dispatcher(1, 2, backend="process") as pool:
        pool.enqueue(lambda: wait_for_file(release))
        accepted = 1
        deadline = time.monotonic() + 5
        # Workers take what they can; once they hold all they may, the queue
        # fills and try_enqueue refuses.
        while time.monotonic() < deadline:
            if pool.try_enqueue(lambda: "later"):
                accepted += 1
            elif len(pool._queue) == 2:
                break
            else:
                time.sleep(0.01)
        assert accepted <= 2 + 3, "more jobs left the queue than batches allow"
        assert not pool.try_enqueue(lambda: "refused")
        Path(release).touch()

    assert sorted(pool.results) == ["later"] * (accepted - 1) + ["released"]


def test_process_interrupt_kills_running_jobs_as_cancelled() -> None:
    backend = ProcessBackend()
    pool = Dispatcher(2, 4, backend=backend).run()
    pool.enqueue(*[lambda: sleep_for(60)] * 2)
    while len(backend.pids) < 2:
        time.sleep(0.01)
    time.sleep(0.2)
    assert backend.running() == 2

    started = time.monotonic()
    threading.Timer(0.1, backend.interrupt).start()
    pool.wait()

    assert time.monotonic() - started < 10
    assert len(pool.errors) == 2
    assert all(isinstance(error, JobCancelled) for error in pool.errors)


def test_process_shutdown_cancel_pending_stops_running_jobs() -> None:
    backend = ProcessBackend()
    pool = Dispatcher(2, 10, backend=backend).run()
    pool.enqueue(*[lambda: sleep_for(60)] * 2, *[lambda: square(3)] * 5)
    while backend.running() < 2:
        time.sleep(0.01)

    started = time.monotonic()
    results, errors = pool.shutdown(cancel_pending=True)

    assert time.monotonic() - started < 10  # the 60 s jobs were stopped
    assert len(results) + len(errors) == 7
    assert len(errors) >= 2
    assert all(isinstance(error, JobCancelled) for error in errors)


@pytest.mark.parametrize("to_group", [False, True], ids=["process", "group"])
def test_process_ctrl_c_during_wait_stops_everything(
    tmp_path: Path, to_group: bool
) -> None:
    # to_group sends SIGINT to the whole process group, workers included,
    # the way a terminal does on Ctrl-C.
    script = tmp_path / "ctrl_c.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, time
            from bigopool import Dispatcher

            class Sleeper:  # defined in __main__: travels by value
                def execute(self):
                    time.sleep(60)

            if __name__ == "__main__":
                pool = Dispatcher(2, 10, backend="process").run()
                pool.enqueue(*[Sleeper() for _ in range(6)])
                while len(pool.backend.pids) < 2:
                    time.sleep(0.01)
                print("ready", flush=True)
                try:
                    pool.wait()
                except KeyboardInterrupt:
                    print("interrupted", len(pool.errors), flush=True)
                    raise
            """
        )
    )
    with subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            time.sleep(0.3)
            family = psutil.Process(child.pid).children(recursive=True)
            assert len(family) >= 2

            if to_group:
                os.killpg(child.pid, signal.SIGINT)
            else:
                child.send_signal(signal.SIGINT)
            child.wait(timeout=20)
            output = child.stdout.read()
        finally:
            child.kill()

    assert "interrupted 6" in output
    _, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, f"left behind: {alive}"


def test_process_exit_without_wait_does_not_hang(tmp_path: Path) -> None:
    script = tmp_path / "no_wait.py"
    script.write_text(
        textwrap.dedent(
            """
            import time
            from bigopool import Dispatcher

            if __name__ == "__main__":
                pool = Dispatcher(2, 10, backend="process").run()
                pool.enqueue(lambda: 1, lambda: time.sleep(60))
                time.sleep(0.5)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


# Everything at once.

KINDS = ["ok", "raise", "exit", "bad_result", "bad_error"]


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=25))
def test_process_every_job_ends_once_under_faults(kinds: list[str]) -> None:
    makers: dict[str, Callable[[int], Any]] = {
        "ok": lambda n: lambda: n,
        "raise": lambda n: lambda: fail(str(n)),
        "exit": lambda n: lambda: exit_with(n % 5 + 1),
        "bad_result": lambda n: lambda: threading.Lock(),
        "bad_error": lambda n: raise_holding_lock,
    }
    jobs = [makers[kind](n) for n, kind in enumerate(kinds)]
    pool = run_all(jobs, backend=ProcessBackend(batch_size=3))

    expected_ok = [n for n, kind in enumerate(kinds) if kind == "ok"]
    assert sorted(pool.results) == expected_ok
    assert len(pool.errors) == len(kinds) - len(expected_ok)
    grouped = errors_by_type(pool)
    assert len(grouped.get(WorkerDied, [])) == kinds.count("exit")
    assert len(grouped.get(ValueError, [])) == kinds.count("raise")
    assert len(grouped.get(TypeError, [])) == kinds.count("bad_result")
    assert len(grouped.get(RemoteError, [])) == kinds.count("bad_error")


# Options and misuse.


def test_process_backend_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match=r"start_method must be one of"):
        ProcessBackend(start_method="thread")
    with pytest.raises(ValueError, match=r"batch_size must be at least 1, got 0"):
        ProcessBackend(batch_size=0)
    with pytest.raises(TypeError, match=r"batch_size must be an int, got str"):
        ProcessBackend(batch_size="4")  # type: ignore[arg-type]


def test_process_backend_runs_one_dispatcher_only() -> None:
    backend = ProcessBackend()
    with Dispatcher(1, 1, backend=backend) as pool:
        pool.enqueue(int)
    with pytest.raises(RuntimeError, match=r"runs one dispatcher only"):
        Dispatcher(1, 1, backend=backend).run()


def test_process_backend_default_start_method_is_forkserver_on_linux() -> None:
    backend = ProcessBackend()

    assert backend.name == "process"
    if sys.platform == "linux":
        assert backend.start_method == "forkserver"


def test_process_backend_reports_the_job_it_was_given() -> None:
    backend = ProcessBackend()
    job = Multiply(2, 3)

    assert backend.job_of(backend.prepare(job)) is job
    assert backend.job_of(backend.prepare(square)) is square
    assert backend.running() == 0


def test_process_backend_is_exported() -> None:
    assert "ProcessBackend" in bigopool.__all__
    assert "RemoteError" in bigopool.__all__
    assert ProcessBackend.__module__ == "bigopool"


def test_process_backend_without_cloudpickle_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['cloudpickle'] = None\n"
        "from bigopool import ProcessBackend\n"
        "ProcessBackend()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 1
    assert "pip install bigopool[process]" in done.stderr


def test_process_import_bigopool_does_not_import_multiprocessing() -> None:
    code = "import sys, bigopool; print('multiprocessing' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )

    assert done.stdout.strip() == "False"
