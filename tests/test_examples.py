"""Every script in ``examples/`` runs, exits 0 and prints what it promises.

Each example lists the lines it must print as ``# expect: <regex>`` comments
(matched against whole lines), so the examples in the README cannot rot.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def expected_lines(script: Path) -> list[str]:
    return re.findall(r"^# expect: (.+)$", script.read_text(encoding="utf-8"), re.M)


def test_examples_directory_has_the_quickstart_examples() -> None:
    names = {script.name for script in SCRIPTS}

    assert {
        "image_jobs.py",
        "web_scraper.py",
        "user_profile.py",
        "cancelable.py",
    } <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.name for script in SCRIPTS])
def test_example_runs_and_prints_its_expected_lines(script: Path) -> None:
    patterns = expected_lines(script)
    assert patterns, f"{script.name} has no '# expect: <regex>' line to check"

    finished = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
        cwd=EXAMPLES.parent,
    )

    assert finished.returncode == 0, finished.stderr
    for pattern in patterns:
        assert re.search(pattern, finished.stdout, re.M), (
            f"{script.name} did not print a line matching {pattern!r}:\n"
            f"{finished.stdout}"
        )
