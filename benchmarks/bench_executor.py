"""bigopool.Executor against concurrent.futures.ThreadPoolExecutor.

Two measurements, each run in a fresh child process per attempt so that one
run's garbage and threads cannot slow the next:

* throughput: submit 100,000 trivial calls, then wait for every result;
* memory: ``map`` over a generator, reporting how much the child's peak RSS
  grew. ``bigopool.Executor(queue_size=1000)`` maps 1,000,000 items; the
  standard pool materialises every future up front, so it maps fewer items
  and its growth is extrapolated linearly to 1,000,000.

Attempts alternate between the contenders and the best is kept, because on
a shared machine the absolute times drift; the ratios come from one run.

Usage: python benchmarks/bench_executor.py [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

WORKERS = 4
CALLS = 100_000
MAP_ITEMS = 1_000_000
STDLIB_MAP_ITEMS = 100_000
QUEUE_SIZE = 1000
GOAL_SPEEDUP = 1.5
GOAL_MAP_MB = 32.0

RESULTS = Path(__file__).resolve().parent / "results" / "executor.md"


def _make(kind: str) -> object:
    if kind == "stdlib":
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(WORKERS)

    import bigopool

    queue_size = QUEUE_SIZE if kind == "bigopool-bounded" else None
    return bigopool.Executor(WORKERS, queue_size=queue_size)


def _child_throughput(kind: str, calls: int) -> None:
    with _make(kind) as executor:  # type: ignore[attr-defined]
        executor.submit(int).result()
        start = time.perf_counter()
        cpu = time.process_time()
        futures = [executor.submit(int) for _ in range(calls)]
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
    print(elapsed, cpu)


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child_map(kind: str, items: int) -> None:
    with _make(kind) as executor:  # type: ignore[attr-defined]
        list(executor.map(abs, range(100)))
        before = _peak_rss_mb()
        total = 0
        for value in executor.map(abs, (n for n in range(items))):
            total += value
        grown = _peak_rss_mb() - before
    assert total == items * (items - 1) // 2
    print(grown)


def _run_child(*args: str) -> list[float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return [float(word) for word in out.stdout.split()]


def _best(
    kinds: list[str], repeat: int, *args: str, column: int = 0
) -> dict[str, list[float]]:
    """Best (lowest) of each printed figure per kind, attempts interleaved."""
    best: dict[str, list[float]] = {}
    for _ in range(repeat):
        for kind in kinds:
            figures = _run_child(args[0], kind, *args[1:])
            old = best.get(kind, [float("inf")] * len(figures))
            best[kind] = [min(a, b) for a, b in zip(old, figures, strict=True)]
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer items")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        what, kind, count = args.child
        if what == "throughput":
            _child_throughput(kind, int(count))
        else:
            _child_map(kind, int(count))
        return

    repeat = 3 if args.quick else args.repeat
    map_items = 200_000 if args.quick else MAP_ITEMS
    stdlib_items = 20_000 if args.quick else STDLIB_MAP_ITEMS

    kinds = ["stdlib", "bigopool", "bigopool-bounded"]
    timed = _best(kinds, repeat, "throughput", str(CALLS))
    seconds = {kind: figures[0] for kind, figures in timed.items()}
    cpu = {kind: figures[1] for kind, figures in timed.items()}
    grown = {
        "stdlib": _best(["stdlib"], 1, "map", str(stdlib_items))["stdlib"][0],
        "bigopool-bounded": _best(["bigopool-bounded"], 1, "map", str(map_items))[
            "bigopool-bounded"
        ][0],
    }
    stdlib_per_million = grown["stdlib"] * MAP_ITEMS / stdlib_items
    ours_per_million = grown["bigopool-bounded"] * MAP_ITEMS / map_items

    names = {
        "stdlib": "`ThreadPoolExecutor`",
        "bigopool": "`bigopool.Executor`",
        "bigopool-bounded": f"`bigopool.Executor(queue_size={QUEUE_SIZE})`",
    }
    lines = [
        f"### submit + result of {CALLS:,} trivial calls, {WORKERS} workers",
        "",
        "| executor | best wall s | calls/s | vs stdlib (wall) "
        "| best CPU s | vs stdlib (CPU) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind in kinds:
        lines.append(
            f"| {names[kind]} | {seconds[kind]:.3f} | "
            f"{CALLS / seconds[kind]:,.0f} | "
            f"{seconds['stdlib'] / seconds[kind]:.2f}x | {cpu[kind]:.3f} | "
            f"{cpu['stdlib'] / cpu[kind]:.2f}x |"
        )
    speedup = seconds["stdlib"] / seconds["bigopool"]
    verdict = "met" if speedup >= GOAL_SPEEDUP else "MISSED"
    lines += [
        "",
        f"Goal: >= {GOAL_SPEEDUP}x ThreadPoolExecutor's throughput: {verdict} "
        f"({speedup:.2f}x unbounded, "
        f"{seconds['stdlib'] / seconds['bigopool-bounded']:.2f}x bounded; "
        f"CPU time {cpu['stdlib'] / cpu['bigopool']:.2f}x less).",
        "",
        "### peak RSS growth of `map` over a generator",
        "",
        "| executor | items mapped | RSS growth (MB) | per 1,000,000 items (MB) |",
        "| --- | ---: | ---: | ---: |",
        f"| {names['stdlib']} | {stdlib_items:,} | {grown['stdlib']:.1f} | "
        f"{stdlib_per_million:,.0f} (extrapolated) |",
        f"| {names['bigopool-bounded']} | {map_items:,} | "
        f"{grown['bigopool-bounded']:.1f} | "
        f"{ours_per_million:.1f}"
        f"{' (extrapolated)' if map_items != MAP_ITEMS else ''} |",
        "",
        f"Goal: <= {GOAL_MAP_MB:.0f} MB for 1,000,000 items with queue_size="
        f"{QUEUE_SIZE}: "
        f"{'met' if grown['bigopool-bounded'] <= GOAL_MAP_MB else 'MISSED'}"
        f"{' (quick run: fewer items)' if map_items != MAP_ITEMS else ''}.",
        "",
        f"Reproduce: `python benchmarks/bench_executor.py"
        f"{' --quick' if args.quick else ''}` "
        f"(best of {repeat}; machine: {os.cpu_count()} CPUs (`nproc`), "
        f"Python {platform.python_version()}, {platform.system()}, load "
        f"average {os.getloadavg()[0]:.1f} at the end).",
    ]
    table = "\n".join(lines)
    print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("# bigopool.Executor benchmark\n\n" + table + "\n")


if __name__ == "__main__":
    main()
