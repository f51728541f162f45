"""Streaming benchmarks: per-job cost against a Dispatcher, memory, extras.

``bigopool.stream`` over trivial jobs from a generator, compared in the same
run with a Dispatcher running the same jobs (enqueue in a loop, then wait),
and with itself when a progress bar and latency metrics are on. Memory is
the peak RSS growth of a fresh interpreter streaming a million jobs.

    python benchmarks/bench_stream.py            # about a minute
    python benchmarks/bench_stream.py --quick    # a few seconds

Prints a Markdown table and writes it to ``benchmarks/results/stream.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from bigopool import Dispatcher, stream

RESULTS = Path(__file__).resolve().parent / "results"
WORKERS, QUEUE = 5, 1000


class EchoJob:
    __slots__ = ()

    def execute(self) -> str:
        return "hello"


def best(run: Callable[[], float], repeats: int) -> float:
    return min(run() for _ in range(repeats))


def dispatcher_seconds(n: int) -> float:
    job = EchoJob()
    started = time.perf_counter()
    d: Dispatcher[str] = Dispatcher(WORKERS, QUEUE).run()
    for _ in range(n):
        d.enqueue(job)
    d.wait()
    return time.perf_counter() - started


def stream_seconds(n: int, **options: object) -> float:
    job = EchoJob()
    started = time.perf_counter()
    for _ in stream(
        (job for _ in range(n)), workers=WORKERS, queue_size=QUEUE, **options
    ):  # type: ignore[arg-type]
        pass
    return time.perf_counter() - started


def extras_seconds(n: int) -> float:
    # The bar goes to a string buffer: drawing cost without a terminal's.
    with contextlib.redirect_stderr(io.StringIO()):
        return stream_seconds(n, progress="always", metrics=True)


MEMORY_CHILD = textwrap.dedent(
    """
    import sys
    from bigopool import stream

    def high_water_mb():
        # VmHWM is this process's own peak; ru_maxrss would carry the peak
        # of the parent that started it (Linux keeps it across exec).
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024

    class EchoJob:
        __slots__ = ()
        def execute(self):
            return "hello"

    job = EchoJob()
    n = int(sys.argv[1])
    before = high_water_mb()
    count = 0
    for outcome in stream((job for _ in range(n)), workers=5, queue_size=1000):
        count += 1
    after = high_water_mb()
    assert count == n
    print(after - before)
    """
)


def memory_growth_mb(n: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(n)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    quick = parser.parse_args().quick
    n = 50_000 if quick else 300_000
    repeats = 2 if quick else 3
    memory_jobs = 100_000 if quick else 1_000_000

    base = best(lambda: dispatcher_seconds(n), repeats)
    plain = best(lambda: stream_seconds(n), repeats)
    ordered = best(lambda: stream_seconds(n, ordered=True), repeats)
    extras = best(lambda: extras_seconds(n), repeats)
    grown = memory_growth_mb(memory_jobs)

    def per_job(seconds: float) -> str:
        return f"{seconds / n * 1e9:,.0f}"

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines = [
        "### Streaming",
        "",
        f"{n:,} trivial jobs from a generator, {WORKERS} workers, queue "
        f"{QUEUE}; best of {repeats}.",
        "",
        "| measurement | ns/job | ratio | goal | verdict |",
        "|---|---:|---:|---|---|",
        f"| Dispatcher (enqueue loop + wait) | {per_job(base)} | 1.00 | | |",
        f"| stream | {per_job(plain)} | {plain / base:.2f}× Dispatcher | "
        f"≤ 1.5× | {verdict(plain / base <= 1.5)} |",
        f"| stream, ordered | {per_job(ordered)} | {ordered / base:.2f}× "
        f"Dispatcher | | |",
        f"| stream + progress + metrics | {per_job(extras)} | "
        f"{extras / plain:.2f}× stream | ≤ 1.1× | {verdict(extras / plain <= 1.1)} |",
        "",
        f"Peak RSS growth streaming {memory_jobs:,} jobs: **{grown:.1f} MB** "
        f"(goal ≤ 32 MB: {verdict(grown <= 32)}).",
        "",
        f"_Reproduce: `python benchmarks/bench_stream.py{' --quick' if quick else ''}`"
        f" — {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}._",
    ]
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stream.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
