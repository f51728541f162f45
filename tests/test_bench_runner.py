"""``benchmarks/run.py``: runs every bench script and gathers their tables.

Runs a copy of the real script next to small stand-in benchmarks in a
temporary directory, so nothing here depends on timings.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RUN_PY = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"

WRITES_TABLE = """\
import sys
from pathlib import Path
quick = "--quick" in sys.argv
results = Path(__file__).parent / "results"
results.mkdir(exist_ok=True)
(results / "alpha.md").write_text(f"| alpha | quick={quick} |\\n")
print("alpha printed this")
"""

PRINTS_ONLY = """\
print("| beta | only printed |")
"""

FAILS = """\
import sys
print("gamma is about to fail", file=sys.stderr)
raise SystemExit(3)
"""


@pytest.fixture
def bench_dir(tmp_path: Path) -> Path:
    shutil.copy(RUN_PY, tmp_path / "run.py")
    (tmp_path / "bench_alpha.py").write_text(WRITES_TABLE)
    (tmp_path / "bench_beta.py").write_text(PRINTS_ONLY)
    return tmp_path


def run(bench_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(bench_dir / "run.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_run_gathers_every_table_into_all_md(bench_dir: Path) -> None:
    finished = run(bench_dir, "--quick")

    all_md = (bench_dir / "results" / "ALL.md").read_text()
    assert finished.returncode == 0, finished.stderr
    assert "| alpha | quick=True |" in all_md
    # A script that writes no table is represented by what it printed.
    assert "| beta | only printed |" in all_md
    assert all_md.index("# alpha") < all_md.index("# beta")
    assert "`python benchmarks/run.py --quick`" in all_md


def test_run_ignores_a_table_left_by_an_earlier_run(bench_dir: Path) -> None:
    stale = bench_dir / "results" / "beta.md"
    stale.parent.mkdir()
    stale.write_text("| beta | stale |\n")
    os.utime(stale, (1_000_000_000, 1_000_000_000))

    run(bench_dir)

    all_md = (bench_dir / "results" / "ALL.md").read_text()
    assert "| beta | only printed |" in all_md
    assert "stale" not in all_md


def test_run_without_quick_passes_no_flag(bench_dir: Path) -> None:
    finished = run(bench_dir)

    assert finished.returncode == 0, finished.stderr
    assert "| alpha | quick=False |" in (bench_dir / "results" / "alpha.md").read_text()


def test_run_reports_a_failing_benchmark_and_runs_the_others(
    bench_dir: Path,
) -> None:
    (bench_dir / "bench_gamma.py").write_text(FAILS)

    finished = run(bench_dir, "--quick")

    all_md = (bench_dir / "results" / "ALL.md").read_text()
    assert finished.returncode == 1
    assert "failed: bench_gamma.py" in finished.stderr
    assert "**bench_gamma.py failed** (exit status 3)" in all_md
    assert "gamma is about to fail" in all_md
    assert "| alpha | quick=True |" in all_md


def test_run_selects_topics_by_name(bench_dir: Path) -> None:
    finished = run(bench_dir, "beta")

    all_md = (bench_dir / "results" / "ALL.md").read_text()
    assert finished.returncode == 0, finished.stderr
    assert "# beta" in all_md
    assert "# alpha" not in all_md


def test_run_refuses_an_unknown_topic(bench_dir: Path) -> None:
    finished = run(bench_dir, "delta")

    assert finished.returncode == 2
    assert "no benchmark for delta; known: alpha, beta" in finished.stderr
