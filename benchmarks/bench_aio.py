"""bigopool.aio against the floor and its peers, measured in one run.

Run: ``python benchmarks/bench_aio.py [--quick]`` (needs the ``bench``
extra: aiometer, anyio, uvloop). Prints a Markdown table and writes it to
``benchmarks/results/aio.md``. Times are the best of several repeats;
compare the ratios, which are taken within one run, not the absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bigopool import aio

CONCURRENCY = 100


async def tick() -> None:
    await asyncio.sleep(0)


# The contenders for N jobs of `await asyncio.sleep(0)`, 100 at a time.


async def floor(n: int) -> None:
    # No pool at all: 100 coroutines each awaiting its share in a loop.
    async def share(count: int) -> None:
        for _ in range(count):
            await asyncio.sleep(0)

    await asyncio.gather(*(share(n // CONCURRENCY) for _ in range(CONCURRENCY)))


async def floor_job(n: int) -> None:
    # Still no pool, but each step awaits the job coroutine the pools run,
    # so the gap to this row is the pool's own cost.
    async def share(count: int) -> None:
        for _ in range(count):
            await tick()

    await asyncio.gather(*(share(n // CONCURRENCY) for _ in range(CONCURRENCY)))


async def bigopool_dispatcher(n: int) -> None:
    async with aio.Dispatcher(CONCURRENCY, 10 * CONCURRENCY) as pool:
        for _ in range(n):
            await pool.enqueue(tick)
    assert len(pool.results) == n


async def bigopool_batches(n: int) -> None:
    # The same, handing enqueue() a hundred jobs per call.
    jobs = (tick for _ in range(n))
    async with aio.Dispatcher(CONCURRENCY, 10 * CONCURRENCY) as pool:
        while batch := list(itertools.islice(jobs, CONCURRENCY)):
            await pool.enqueue(*batch)
    assert len(pool.results) == n


async def bigopool_stream(n: int) -> None:
    count = 0
    jobs = (tick for _ in range(n))
    async for _ in aio.stream(jobs, workers=CONCURRENCY, queue_size=CONCURRENCY):
        count += 1
    assert count == n


async def gather_semaphore(n: int) -> None:
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def limited() -> None:
        async with semaphore:
            await tick()

    await asyncio.gather(*(limited() for _ in range(n)))


async def aiometer_run(n: int) -> None:
    import aiometer

    async def job(_: int) -> None:
        await tick()

    await aiometer.run_on_each(job, range(n), max_at_once=CONCURRENCY)


async def anyio_limiter(n: int) -> None:
    import anyio

    limiter = anyio.CapacityLimiter(CONCURRENCY)

    async def limited() -> None:
        async with limiter:
            await tick()

    async with anyio.create_task_group() as group:
        for _ in range(n):
            group.start_soon(limited)


async def floor_sleepy(n: int) -> None:
    # What the loop itself manages: 1,000 coroutines sleeping in turn.
    async def share(count: int) -> None:
        for _ in range(count):
            await asyncio.sleep(0.01)

    await asyncio.gather(*(share(n // 1000) for _ in range(1000)))


async def bigopool_sleepy(n: int) -> None:
    async def nap() -> None:
        await asyncio.sleep(0.01)

    async with aio.Dispatcher(1000, 2000) as pool:
        for _ in range(n):
            await pool.enqueue(nap)
    assert len(pool.results) == n


def new_loop(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def best_time(
    fn: Callable[[int], Awaitable[None]], n: int, repeats: int, loop: str = "asyncio"
) -> float:
    best = float("inf")
    for _ in range(repeats):
        with asyncio.Runner(loop_factory=new_loop(loop)) as runner:
            start = time.perf_counter()
            runner.run(fn(n))  # type: ignore[arg-type]
            best = min(best, time.perf_counter() - start)
    return best


# Memory: one fresh process per measurement, so earlier runs cannot skew it.

_MEMORY_CHILD = """
import asyncio, resource, sys
from bigopool import aio

def peak_mb():
    # VmHWM is this process's own peak; ru_maxrss can carry over the
    # parent's peak across fork and exec on Linux.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

async def tick():
    await asyncio.sleep(0)

async def main(n, how):
    if how == "stream":
        jobs = (tick for _ in range(n))
        async for _ in aio.stream(jobs, workers=100, queue_size=1000):
            pass
    else:
        async with aio.Dispatcher(100, 1000) as pool:
            for _ in range(n):
                await pool.enqueue(tick)
        assert len(pool.results) == n

before = peak_mb()
asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
print(peak_mb() - before)
"""


def peak_memory_mb(n: int, how: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(n), how],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    n = 100_000

    # Every round measures every contender once, so drift in the machine's
    # load hits them alike; each keeps its best round. The peers that make
    # a task per job are slow, so they get at most two rounds.
    contenders: list[tuple[str, Any, str, bool]] = [
        ("floor: 100 coroutines looping", floor, "asyncio", True),
        ("floor awaiting the job coroutine (reference)", floor_job, "asyncio", True),
        ("bigopool.aio.Dispatcher", bigopool_dispatcher, "asyncio", True),
        (
            "bigopool.aio.Dispatcher, enqueue(*100 jobs)",
            bigopool_batches,
            "asyncio",
            True,
        ),
        ("bigopool.aio.stream", bigopool_stream, "asyncio", True),
        ("asyncio.gather + Semaphore(100)", gather_semaphore, "asyncio", False),
        ("aiometer.run_on_each", aiometer_run, "asyncio", False),
        ("anyio task group + CapacityLimiter", anyio_limiter, "asyncio", False),
        ("floor on uvloop", floor, "uvloop", True),
        ("bigopool.aio.Dispatcher on uvloop", bigopool_dispatcher, "uvloop", True),
        (
            "bigopool.aio.Dispatcher, enqueue(*100 jobs), on uvloop",
            bigopool_batches,
            "uvloop",
            True,
        ),
    ]
    times: dict[str, float] = {}
    for round_ in range(repeats):
        for name, fn, loop, fast in contenders:
            if fast or round_ < 2:
                seconds = best_time(fn, n, 1, loop)
                times[name] = min(times.get(name, seconds), seconds)

    floor_time = times["floor: 100 coroutines looping"]
    uv_floor = times["floor on uvloop"]
    rows: list[tuple[str, str, str]] = []
    for name, _, loop, _ in contenders:
        seconds = times[name]
        ratio = f"{seconds / floor_time:.2f}x"
        if loop == "uvloop":
            ratio += f" ({seconds / uv_floor:.2f}x the uvloop floor)"
        rows.append((name, f"{seconds:.3f} s", ratio))

    sleepy_floor = sleepy = float("inf")
    for _ in range(repeats):
        sleepy_floor = min(sleepy_floor, best_time(floor_sleepy, 10_000, 1))
        sleepy = min(sleepy, best_time(bigopool_sleepy, 10_000, 1))
    memory_n = 1_000_000
    stream_mb = min(peak_memory_mb(memory_n, "stream") for _ in range(1))
    dispatcher_mb = min(peak_memory_mb(memory_n, "dispatcher") for _ in range(1))

    pool_time = times["bigopool.aio.Dispatcher"]
    gather_ratio = times["asyncio.gather + Semaphore(100)"] / pool_time
    lines = [
        "# bigopool.aio benchmarks",
        "",
        f"Command: `python benchmarks/bench_aio.py{' --quick' if args.quick else ''}`"
        f" on {os.cpu_count()} CPUs (nproc), Python {platform.python_version()},"
        f" best of {repeats}.",
        "",
        f"## {n:,} jobs of `await asyncio.sleep(0)`, 100 at a time",
        "",
        "| contender | time | vs floor |",
        "|---|---|---|",
        *(f"| {name} | {t} | {r} |" for name, t, r in rows),
        "",
        f"bigopool.aio.Dispatcher is {gather_ratio:.1f}x faster than"
        " asyncio.gather over a Semaphore(100).",
        "",
        "## Other goals",
        "",
        "| measurement | result | goal |",
        "|---|---|---|",
        f"| 10,000 jobs of `await asyncio.sleep(0.01)`, 1,000 at a time |"
        f" {sleepy:.3f} s ({sleepy / 0.1:.2f}x the 0.1 s ideal) | ≤ 1.3x |",
        f"| the same with 1,000 bare coroutines (what the loop allows) |"
        f" {sleepy_floor:.3f} s ({sleepy_floor / 0.1:.2f}x) | |",
        f"| peak memory, {memory_n:,} jobs from a generator via stream |"
        f" +{stream_mb:.1f} MB | ≤ 64 MB |",
        f"| peak memory, {memory_n:,} jobs enqueued on a Dispatcher |"
        f" +{dispatcher_mb:.1f} MB | ≤ 64 MB |",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    out = Path(__file__).parent / "results" / "aio.md"
    out.write_text(table)


if __name__ == "__main__":
    main()
