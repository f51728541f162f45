"""Run every ``benchmarks/bench_*.py`` and gather their tables in ALL.md.

    python benchmarks/run.py            # full runs
    python benchmarks/run.py --quick    # short runs (passed on to each)
    python benchmarks/run.py core aio   # only bench_core.py and bench_aio.py

Each benchmark runs in its own interpreter, one after another (never at the
same time: they would slow each other down). A benchmark writes its table to
``benchmarks/results/<topic>.md``; that file, or what it printed if it wrote
none, goes into ``benchmarks/results/ALL.md``. One failing benchmark does not
stop the others; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def topic_of(script: Path) -> str:
    return script.stem.removeprefix("bench_")


def run_one(script: Path, quick: bool) -> tuple[bool, str]:
    """Run ``script``; return whether it succeeded and its Markdown section."""
    table = RESULTS / f"{topic_of(script)}.md"
    command = [sys.executable, str(script)] + (["--quick"] if quick else [])
    started = time.time()
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    took = time.time() - started

    if finished.returncode != 0:
        tail = "\n".join(finished.stderr.strip().splitlines()[-15:])
        body = (
            f"**{script.name} failed** (exit status {finished.returncode}):\n\n"
            f"```\n{tail}\n```"
        )
        return False, body

    # A table written before this run started is stale: use the output.
    if table.exists() and table.stat().st_mtime >= started - 1:
        body = table.read_text().strip()
    else:
        body = f"```\n{finished.stdout.strip()}\n```"
    return True, f"{body}\n\n_{script.name} took {took:.0f} s._"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs")
    parser.add_argument(
        "topics", nargs="*", help="run only these (bench_<topic>.py); default all"
    )
    args = parser.parse_args()

    scripts = sorted(HERE.glob("bench_*.py"))
    if args.topics:
        known = {topic_of(script): script for script in scripts}
        unknown = sorted(set(args.topics) - set(known))
        if unknown:
            parser.error(
                f"no benchmark for {', '.join(unknown)}; known: {', '.join(known)}"
            )
        scripts = [known[topic] for topic in args.topics]

    RESULTS.mkdir(exist_ok=True)
    sections = []
    failed = []
    for script in scripts:
        print(f"running {script.name} ...", flush=True)
        ok, section = run_one(script, args.quick)
        print("  done" if ok else "  FAILED", flush=True)
        if not ok:
            failed.append(script.name)
        sections.append(f"# {topic_of(script)}\n\n{section}")

    command = "python benchmarks/run.py" + (" --quick" if args.quick else "")
    header = (
        "# bigopool benchmarks\n\n"
        f"Reproduce with `{command}`; measured on {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}.\n"
    )
    (RESULTS / "ALL.md").write_text("\n\n".join([header, *sections]) + "\n")
    print(f"wrote {RESULTS / 'ALL.md'}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
