"""The Dask backend on real clusters started here, on 127.0.0.1.

Two clusters, shared by the tests of this module: a LocalCluster of two
single-threaded worker processes, and a scheduler plus two workers started
as separate processes through Dask's own command-line entry points, so that
a test can kill a worker process and watch the job outcomes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.dask

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
psutil = pytest.importorskip("psutil")

from bigopool import Dispatcher, JobCancelled, JobTimeout, WorkerDied  # noqa: E402
from bigopool._backends import WorkerOptions  # noqa: E402
from bigopool._backends._dask import CAN_STOP_JOBS, QUIET_SCHEDULER  # noqa: E402
from bigopool._queue import JobQueue  # noqa: E402
from bigopool.dask import DaskBackend  # noqa: E402

# The CLI workers cannot import this test module (it is not installed), so
# its functions travel by value, as a user's __main__ functions would.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

PYTHON = sys.executable

# Dask gives up on a task whose worker died this many times plus one.
ALLOWED_FAILURES = 1


# Jobs. Module-level so each test reads as what it does.


class Square:
    """A job object: reported back in errors.items() when it fails."""

    def __init__(self, n: int) -> None:
        self.n = n

    def execute(self) -> int:
        if self.n % 7 == 3:
            fail_deep(self.n)
        return self.n * self.n

    def __repr__(self) -> str:
        return f"Square({self.n})"


def fail_deep(n: int) -> None:
    raise ValueError(f"no square for {n}")


class Numbered:
    """A job that returns its number after an optional pause."""

    def __init__(self, n: int, pause: float = 0.0, marker: Path | None = None):
        self.n = n
        self.pause = pause
        self.marker = marker

    def execute(self) -> int:
        if self.marker is not None:
            self.marker.touch()
        time.sleep(self.pause)
        return self.n


def wait_for_file(path: Path, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.01)


def is_resource_tracker(process: Any) -> bool:
    # multiprocessing starts this helper with the first worker process it
    # spawns and keeps it for the life of this interpreter, by design.
    with contextlib.suppress(psutil.Error):
        return "resource_tracker" in " ".join(process.cmdline())
    return False


# Clusters.


@pytest.fixture(scope="module")
def local_client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs=QUIET_SCHEDULER,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


class CliCluster:
    """A scheduler and two nanny-managed workers, each its own process."""

    def __init__(self, directory: Path) -> None:
        self.scheduler_file = directory / "scheduler.json"
        env = dict(os.environ)
        env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = str(ALLOWED_FAILURES)
        env["DASK_LOGGING__DISTRIBUTED"] = "error"
        common = [
            *("--host", "127.0.0.1", "--no-dashboard"),
            *("--scheduler-file", str(self.scheduler_file)),
        ]
        quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.scheduler = subprocess.Popen(
            [PYTHON, "-m", "distributed.cli.dask_scheduler", "--port", "0", *common],
            **quiet,
        )
        wait_for_file(self.scheduler_file)
        self.workers = [
            subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "distributed.cli.dask_worker",
                    "--nthreads",
                    "1",
                    *common,
                ],
                **quiet,
            )
            for _ in range(2)
        ]
        self.client = distributed.Client(
            scheduler_file=str(self.scheduler_file), set_as_default=False
        )
        self.client.wait_for_workers(2, timeout=60)

    @property
    def address(self) -> str:
        return str(self.client.scheduler.address)

    def worker_pids(self) -> list[int]:
        self.client.wait_for_workers(2, timeout=60)
        return sorted(self.client.run(os.getpid).values())

    def close(self) -> list[Any]:
        """Stop every process; return those still alive afterwards."""
        parents = [*self.workers, self.scheduler]
        family = []
        for popen in parents:
            with contextlib.suppress(psutil.NoSuchProcess):
                family.extend(psutil.Process(popen.pid).children(recursive=True))
        # Asking the scheduler to stop everything takes a second or two, but
        # a nanny still restarting a killed worker misses the request: let
        # restarts finish first, and SIGTERM whatever still runs after that.
        self.client.wait_for_workers(2, timeout=60)
        self.client.shutdown()
        for popen in parents:
            try:
                popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                popen.terminate()
                popen.wait()
        _, alive = psutil.wait_procs(family, timeout=10)
        for process in alive:
            process.kill()
        return list(alive)


@pytest.fixture(scope="module")
def cli_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliCluster]:
    cluster = CliCluster(tmp_path_factory.mktemp("dask-cli"))
    try:
        yield cluster
    finally:
        alive = cluster.close()
    assert not alive, f"processes outlived the cluster: {alive}"


# Importing.


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_import_bigopool_does_not_import_dask() -> None:
    done = run_python(
        """
        import sys
        import bigopool
        heavy = [m for m in ("dask", "distributed", "cloudpickle") if m in sys.modules]
        print(heavy)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_import_bigopool_dask_without_distributed_says_how_to_install() -> None:
    done = run_python(
        """
        import sys

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("dask", "distributed"):
                    raise ModuleNotFoundError(f"No module named {name!r}")
                return None

        sys.meta_path.insert(0, Blocker())
        import bigopool
        try:
            import bigopool.dask
        except ImportError as error:
            print(error)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'bigopool[dask]'" in done.stdout


def test_import_bigopool_dask_resolves_the_real_dask() -> None:
    done = run_python(
        """
        import bigopool.dask
        import dask, distributed
        print(dask.__name__, hasattr(dask, "delayed"), distributed.Client)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("dask True")


# Misuse.


def test_backend_rejects_client_of_wrong_type() -> None:
    with pytest.raises(TypeError, match=r"must be a distributed\.Client, a scheduler"):
        DaskBackend(8786)  # type: ignore[arg-type]


def test_backend_rejects_empty_address() -> None:
    with pytest.raises(ValueError, match="must not be an empty string"):
        DaskBackend("")


@pytest.mark.parametrize(
    ("size", "error", "message"),
    [(0, ValueError, "batch_size must be at least 1"), (2.5, TypeError, "an int")],
)
def test_backend_rejects_bad_batch_size(
    size: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        DaskBackend(batch_size=size)


@pytest.mark.parametrize(
    "option",
    [
        {"initializer": print},
        {"finalizer": print},
        {"max_jobs_per_worker": 5},
    ],
)
def test_backend_refuses_worker_options_dask_manages(
    local_client: Any, option: dict[str, Any]
) -> None:
    name = next(iter(option))
    pool = Dispatcher(2, 10, backend=DaskBackend(local_client), **option)
    with pytest.raises(ValueError, match=f"does not support {name}"):
        pool.run()


def test_backend_refuses_second_use(local_client: Any) -> None:
    backend = DaskBackend(local_client)
    with Dispatcher(2, 10, backend=backend) as pool:
        pool.enqueue(lambda: 1)
    with pytest.raises(RuntimeError, match="already used by a dispatcher"):
        Dispatcher(2, 10, backend=backend).run()


def test_backend_refuses_closed_client() -> None:
    client = distributed.Client(
        distributed.LocalCluster(
            n_workers=0,
            processes=False,
            dashboard_address=None,
            scheduler_kwargs=QUIET_SCHEDULER,
        ),
        set_as_default=False,
    )
    cluster = client.cluster
    client.close()
    cluster.close()
    with pytest.raises(ValueError, match="Client given is closed"):
        Dispatcher(2, 10, backend=DaskBackend(client)).run()


def test_backend_with_unreachable_scheduler_fails_run() -> None:
    # Nothing listens on port 1; Dask's connect timeout is cut from 30 s.
    pool = Dispatcher(2, 10, backend=DaskBackend("tcp://127.0.0.1:1"))
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "0.5s"}),
        pytest.raises(OSError, match=r"127\.0\.0\.1:1"),
    ):
        pool.run()
    with pytest.raises(RuntimeError, match="needs run"):
        pool.enqueue(lambda: 1)


def test_enqueue_refuses_what_is_not_a_job(local_client: Any) -> None:
    with Dispatcher(2, 10, backend=DaskBackend(local_client)) as pool:
        with pytest.raises(TypeError, match=r"must have an execute\(\) method"):
            pool.enqueue(42)  # type: ignore[arg-type]
        pool.enqueue(lambda: 1)
    assert pool.results == [1]


# Running jobs.


def test_dispatcher_runs_every_job_once_in_adaptive_batches(local_client: Any) -> None:
    backend = DaskBackend(local_client)
    with Dispatcher(4, 500, backend=backend) as pool:
        for n in range(5000):
            pool.enqueue(lambda n=n: n)

    assert sorted(pool.results) == list(range(5000))
    assert not pool.errors
    assert backend.batch_size > 1, "trivial jobs should have grown the batches"


def test_errors_name_their_job_and_keep_the_remote_traceback(
    local_client: Any,
) -> None:
    jobs = [Square(n) for n in range(40)]
    with Dispatcher(2, 100, backend=DaskBackend(local_client, batch_size=8)) as pool:
        pool.enqueue(*jobs)

    failed = [job for job in jobs if job.n % 7 == 3]
    assert sorted(pool.results) == sorted(
        job.n * job.n for job in jobs if job not in failed
    )
    items = pool.errors.items()
    assert sorted((job.n for job, _ in items)) == [job.n for job in failed]
    for job, error in items:
        assert isinstance(error, ValueError)
        assert str(error) == f"no square for {job.n}"
        frames = [frame.name for frame in traceback.extract_tb(error.__traceback__)]
        assert frames[-2:] == ["execute", "fail_deep"]


def test_keyboard_interrupt_in_a_job_is_reraised_by_wait(local_client: Any) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt("from the job")

    pool = Dispatcher(2, 10, backend=DaskBackend(local_client)).run()
    pool.enqueue(lambda: 1, interrupt)
    with pytest.raises(KeyboardInterrupt, match="from the job"):
        pool.wait()
    assert pool.results == [1]
    assert [job for job, _ in pool.errors.items()] == [interrupt]


def test_unpicklable_job_fails_alone(local_client: Any) -> None:
    lock = threading.Lock()

    def holds_lock() -> bool:
        return lock.locked()

    with Dispatcher(2, 10, backend=DaskBackend(local_client, batch_size=4)) as pool:
        pool.enqueue(lambda: 1, holds_lock, lambda: 2)

    assert sorted(pool.results) == [1, 2]
    [(job, error)] = pool.errors.items()
    assert job is holds_lock
    assert isinstance(error, TypeError)
    assert "cannot be pickled to send it to the Dask cluster" in str(error)


def test_unpicklable_result_fails_alone(local_client: Any) -> None:
    def returns_lock() -> Any:
        return threading.Lock()

    with Dispatcher(2, 10, backend=DaskBackend(local_client, batch_size=4)) as pool:
        pool.enqueue(lambda: 1, returns_lock, lambda: 2)

    assert sorted(pool.results) == [1, 2]
    [(job, error)] = pool.errors.items()
    assert job is returns_lock
    assert isinstance(error, TypeError)
    assert "result <unlocked _thread.lock" in str(error)


def test_timeout_stops_the_job_and_reports_job_timeout(
    local_client: Any, tmp_path: Path
) -> None:
    left = tmp_path / "left"

    def spins() -> None:
        # Leaves through the finally clause early only if stopped.
        try:
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                pass
        finally:
            if time.monotonic() < deadline:
                left.touch()

    backend = DaskBackend(local_client, batch_size=2)
    with Dispatcher(2, 10, backend=backend, timeout=1.0) as pool:
        pool.enqueue(lambda: "quick", spins, lambda: "after")

    assert sorted(pool.results) == ["after", "quick"]
    [(job, error)] = pool.errors.items()
    assert job is spins
    assert isinstance(error, JobTimeout)
    assert "1 s timeout" in str(error)
    if CAN_STOP_JOBS:
        wait_for_file(left, limit=5)
    else:
        assert "left running" in str(error)


def test_full_cluster_and_queue_refuse_more_jobs(
    local_client: Any, tmp_path: Path
) -> None:
    # workers=1 and batch_size=1: one job on the cluster, two in the queue,
    # and no room for a fourth until the first finishes.
    go = tmp_path / "go"
    started = tmp_path / "started"

    def first() -> str:
        started.touch()
        wait_for_file(go)
        return "first"

    backend = DaskBackend(local_client, batch_size=1)
    with Dispatcher(1, 2, backend=backend) as pool:
        pool.enqueue(first, lambda: "second", lambda: "third")
        wait_for_file(started)
        refused = pool.try_enqueue(lambda: "fourth")
        running = backend.running()
        go.touch()

    assert refused is False
    assert running == 1
    assert backend.running() == 0
    assert sorted(pool.results) == ["first", "second", "third"]


class RecordingSink:
    """A sink that, like newer dispatchers' sinks, asks for job durations."""

    def __init__(self) -> None:
        self.results: list[Any] = []
        self.errors: list[tuple[Any, BaseException]] = []
        self.durations: deque[float] = deque(maxlen=100)

    def success(self, job: Any, result: Any) -> None:
        self.results.append(result)

    def failure(self, job: Any, error: BaseException) -> None:
        self.errors.append((job, error))


def test_backend_reports_job_durations_when_the_sink_asks(local_client: Any) -> None:
    sink = RecordingSink()
    queue = JobQueue(10)
    backend = DaskBackend(local_client, batch_size=2)
    backend.start(2, queue, sink, WorkerOptions())
    for n, pause in enumerate((0.2, 0.0, 0.2)):
        queue.put(Numbered(n, pause).execute)
    queue.close()
    backend.join()

    assert sorted(sink.results) == [0, 1, 2]
    fast, *slow = sorted(sink.durations)
    assert fast < 0.2 <= min(slow)
    assert len(slow) == 2


def test_shutdown_cancel_pending_reports_queued_and_running_jobs(
    local_client: Any, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    jobs = [Numbered(0, 0.5, started), *(Numbered(n) for n in range(1, 20))]
    pool = Dispatcher(1, 50, backend=DaskBackend(local_client, batch_size=1)).run()
    pool.enqueue(*jobs)
    wait_for_file(started)
    results, errors = pool.shutdown(cancel_pending=True)

    cancelled = [error for error in errors if isinstance(error, JobCancelled)]
    assert len(results) + len(cancelled) == len(jobs) == len(results) + len(errors)
    # The running batch is cancelled on the cluster too, not waited for.
    assert 0 not in results
    assert cancelled


def test_interrupt_cancels_batches_in_flight(local_client: Any, tmp_path: Path) -> None:
    started = tmp_path / "started"
    backend = DaskBackend(local_client, batch_size=1)
    pool = Dispatcher(2, 10, backend=backend).run()
    pool.enqueue(Numbered(0, 5, started), Numbered(1, 5, started))
    wait_for_file(started)
    backend.interrupt()
    results, errors = pool.wait()

    assert len(results) + len(errors) == 2
    assert all(isinstance(error, JobCancelled) for error in errors)
    assert errors


def test_ctrl_c_in_wait_cancels_queued_and_running_jobs(
    local_client: Any, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    jobs = [Numbered(n, 3, started) for n in range(6)]
    pool = Dispatcher(2, 10, backend=DaskBackend(local_client, batch_size=1)).run()
    pool.enqueue(*jobs)
    wait_for_file(started)
    # A real SIGINT, as Ctrl-C sends: it wakes the main thread from its wait.
    main = threading.main_thread().ident
    assert main is not None
    threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        pool.wait()

    # The two running jobs had seconds left and the rest never started.
    assert pool.results == []
    assert len(pool.errors) == len(jobs)
    assert all(isinstance(error, JobCancelled) for error in pool.errors)


def test_backend_without_client_starts_and_closes_a_local_cluster() -> None:
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    backend = DaskBackend()
    with Dispatcher(2, 10, backend=backend) as pool:
        client = backend.client
        assert client is not None
        pool.enqueue(*(lambda n=n: n + 1 for n in range(10)))

    assert sorted(pool.results) == list(range(1, 11))
    assert client.status == "closed"
    _, alive = psutil.wait_procs(
        [
            child
            for child in psutil.Process().children(recursive=True)
            if child.pid not in before and not is_resource_tracker(child)
        ],
        timeout=10,
    )
    assert not alive


# A cluster of separate processes.


def test_address_backend_makes_and_closes_its_own_client(
    cli_cluster: CliCluster,
) -> None:
    backend = DaskBackend(cli_cluster.address)
    with Dispatcher(4, 100, backend=backend) as pool:
        client = backend.client
        pool.enqueue(*(Square(n) for n in range(1, 3)))

    assert sorted(pool.results) == [1, 4]
    assert client is not None and client.status == "closed"
    assert cli_cluster.client.status == "running"


def test_given_client_is_left_open(cli_cluster: CliCluster) -> None:
    with Dispatcher(2, 10, backend=DaskBackend(cli_cluster.client)) as pool:
        pool.enqueue(lambda: os.getpid())

    assert pool.results[0] in cli_cluster.worker_pids()
    assert cli_cluster.client.status == "running"


def test_killed_worker_leaves_every_job_reported_once(
    cli_cluster: CliCluster, tmp_path: Path
) -> None:
    victim = cli_cluster.worker_pids()[0]
    started = tmp_path / "started"
    jobs = [Numbered(n, 0.02, started) for n in range(300)]
    backend = DaskBackend(cli_cluster.client, batch_size=3)
    pool = Dispatcher(4, 50, backend=backend).run()

    feeder = threading.Thread(target=pool.enqueue, args=jobs)
    feeder.start()
    wait_for_file(started)
    time.sleep(0.3)
    os.kill(victim, signal.SIGKILL)
    feeder.join()
    results, errors = pool.wait()

    reported = results + [job.n for job, _ in errors.items()]
    assert sorted(reported) == list(range(300))
    assert all(isinstance(error, WorkerDied) for error in errors)
    assert victim not in cli_cluster.worker_pids()


def test_job_that_keeps_killing_workers_ends_as_worker_died(
    cli_cluster: CliCluster,
) -> None:
    def dies() -> None:
        os._exit(3)

    backend = DaskBackend(cli_cluster.client, batch_size=1)
    with Dispatcher(2, 10, backend=backend) as pool:
        pool.enqueue(lambda: "fine", dies)

    assert pool.results == ["fine"]
    [(job, error)] = pool.errors.items()
    assert job is dies
    assert isinstance(error, WorkerDied)
    assert isinstance(error.__cause__, distributed.KilledWorker)
