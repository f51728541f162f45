"""The Dask backend against plain ``client.map`` and a serial loop.

Run from the repository root:

    python benchmarks/bench_dask.py           # about a minute
    python benchmarks/bench_dask.py --quick   # about twenty seconds

Every peer runs on the same LocalCluster of two single-threaded worker
processes, in the same run, and each figure is the best of a few repeats, so
the ratios hold even on a busy machine where absolute times drift. Prints a
Markdown table and writes it to ``benchmarks/results/dask.md``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import distributed

from bigopool import Dispatcher
from bigopool._backends._dask import QUIET_SCHEDULER
from bigopool.dask import DaskBackend

RESULTS = Path(__file__).parent / "results" / "dask.md"


def trivial(n: int) -> int:
    return n


def cpu_work(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i * i
    return total


def calibrate(seconds: float) -> int:
    """Return the loop count that makes cpu_work take about ``seconds``.

    The fastest of several tries, so that a moment when other programs
    held the cores does not shrink the jobs.
    """
    loops = 1000
    while True:
        took = min(_timed(cpu_work, loops) for _ in range(5))
        if took > 0.02:
            return max(1, int(loops * seconds / took))
        loops *= 2


def _timed(fn: Callable[[int], Any], arg: int) -> float:
    started = time.perf_counter()
    fn(arg)
    return time.perf_counter() - started


def serial(fn: Callable[[int], Any], args: list[int]) -> list[Any]:
    return [fn(arg) for arg in args]


def dask_map(client: Any, fn: Callable[[int], Any], args: list[int]) -> list[Any]:
    # One Dask task per job, as a user without bigopool would write it.
    futures = client.map(fn, args, pure=False)
    return list(client.gather(futures))


def bigopool_dask(client: Any, fn: Callable[[int], Any], args: list[int]) -> list[Any]:
    with Dispatcher(4, 2000, backend=DaskBackend(client)) as pool:
        for arg in args:
            pool.enqueue(functools.partial(fn, arg))
    if pool.errors:
        raise RuntimeError(f"bigopool jobs failed: {pool.errors}")
    return pool.results


def run_many(fn: Callable[[int], Any], args: list[int]) -> list[Any]:
    return [fn(arg) for arg in args]


def one_task_per_worker(
    client: Any, fn: Callable[[int], Any], args: list[int]
) -> list[Any]:
    # The most the cluster can give: the jobs split in two halves, one Dask
    # task each, so there is no scheduling between jobs at all.
    half = len(args) // 2
    futures = [
        client.submit(run_many, fn, part, pure=False)
        for part in (args[:half], args[half:])
    ]
    return [result for part in client.gather(futures) for result in part]


def best_of(
    repeats: int, peers: dict[str, Callable[[], list[Any]]], expected: int
) -> dict[str, float]:
    """Best time of each peer, the peers taking turns round after round.

    Taking turns makes every peer meet the same ups and downs of a machine
    that other people are using at the same time.
    """
    best = dict.fromkeys(peers, float("inf"))
    for _ in range(repeats):
        for name, run in peers.items():
            # Let the scheduler forget the last peer's thousands of tasks
            # first, which it does in the background after they return.
            time.sleep(0.5)
            started = time.perf_counter()
            results = run()
            best[name] = min(best[name], time.perf_counter() - started)
            if len(results) != expected:
                raise RuntimeError(f"{name}: {len(results)} results, not {expected}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    quick = parser.parse_args().quick
    repeats = 3 if quick else 5
    trivial_jobs = 2000 if quick else 5000
    cpu_jobs = 400 if quick else 1000

    loops = calibrate(0.001)
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
        # Warm the workers up: imports and the first pickles of each function.
        bigopool_dask(client, trivial, list(range(200)))
        dask_map(client, trivial, list(range(20)))

        rows = []
        args = list(range(trivial_jobs))
        peers = {
            "serial loop": lambda: serial(trivial, args),
            "client.map, a task per job": lambda: dask_map(client, trivial, args),
            "bigopool DaskBackend": lambda: bigopool_dask(client, trivial, args),
        }
        rows.append(("trivial", trivial_jobs, best_of(repeats, peers, len(args))))

        work = [loops] * cpu_jobs
        peers = {
            "serial loop": lambda: serial(cpu_work, work),
            "client.map, a task per job": lambda: dask_map(client, cpu_work, work),
            "one task per worker (ceiling)": lambda: one_task_per_worker(
                client, cpu_work, work
            ),
            "bigopool DaskBackend": lambda: bigopool_dask(client, cpu_work, work),
        }
        rows.append(("1 ms CPU", cpu_jobs, best_of(repeats, peers, len(work))))
    finally:
        client.close()
        cluster.close()

    table = render(rows)
    print(table)
    command = "python benchmarks/bench_dask.py" + (" --quick" if quick else "")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        "# Dask backend benchmark\n\n"
        f"Reproduce with `{command}`. Machine: nproc={os.cpu_count()}, "
        f"Python {platform.python_version()}, distributed "
        f"{distributed.__version__}; LocalCluster of 2 worker processes with "
        "1 thread each, shared by every peer; best of "
        f"{repeats} runs, the peers taking turns.\n\n{table}\n"
    )


def render(rows: list[tuple[str, int, dict[str, float]]]) -> str:
    lines = [
        "| jobs | count | peer | seconds | µs per job | bigopool speed-up |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for kind, count, times in rows:
        ours = times["bigopool DaskBackend"]
        for peer, seconds in times.items():
            ratio = "" if peer.startswith("bigopool") else f"{seconds / ours:.1f}x"
            lines.append(
                f"| {kind} | {count} | {peer} | {seconds:.3f} | "
                f"{seconds / count * 1e6:.0f} | {ratio} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
