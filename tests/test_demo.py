"""The ``bigopool demo`` command: its site, its job, its run and its CLI.

Everything runs for real: an HTTP server on 127.0.0.1, urllib fetches and a
Dispatcher on threads, in-process and as ``python -m bigopool``.
"""

from __future__ import annotations

import io
import re
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bigopool.__main__ import main
from bigopool._demo import (
    DemoSettings,
    DemoSite,
    FetchFailed,
    Page,
    ScrapeJob,
    format_summary,
    plan_pages,
    run_demo,
)

# A page answers in 20-80 ms and a slow one after four times the timeout
# (at least 2 s). Every slow page costs a run its timeout, so runs whose
# counts are not checked use a short one; tests that compare each page's
# fate with the site's plan wait long enough for a starved machine.
TIMEOUT = 0.5
PATIENT = 2.0

SMALL = DemoSettings(
    pages=30, workers=8, queue_size=4, seed=7, timeout=PATIENT, sequential_sample=4
)


def expected_failures(pages: int, seed: int, timeout: float) -> Counter[str]:
    """What the site's plan says should fail, by the demo's reasons."""
    reason = {
        "error": "HTTP 500 Internal Server Error",
        "missing": "HTTP 404 Not Found",
        "slow": f"timed out after {timeout:g} s",
    }
    plans = plan_pages(pages, seed=seed)
    return Counter(reason[plan.kind] for plan in plans if plan.kind in reason)


@dataclass
class Summary:
    fetched: int
    failed: int
    total: int
    reasons: dict[str, int]


def parse_summary(text: str) -> Summary:
    """Read the numbers back from the demo's printed summary."""

    def count(name: str) -> int:
        found = re.search(rf"^\s+{name}\s+(\d+) pages", text, re.M)
        assert found, f"no {name!r} line in:\n{text}"
        return int(found.group(1))

    reasons = {
        reason: int(number)
        for number, reason in re.findall(r"^\s+(\d+) x (.+)$", text, re.M)
    }
    return Summary(count("fetched"), count("failed"), count("total"), reasons)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bigopool", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# The site.


def test_plan_pages_is_reproducible_and_has_every_failure() -> None:
    first = plan_pages(200, seed=3)

    assert first == plan_pages(200, seed=3)
    assert first != plan_pages(200, seed=4)
    kinds = Counter(plan.kind for plan in first)
    assert kinds == {"ok": 188, "error": 6, "missing": 4, "slow": 2}
    assert all(0.020 <= p.delay <= 0.080 for p in first if p.kind != "slow")


def test_plan_pages_leaves_most_of_a_tiny_site_intact() -> None:
    kinds = Counter(plan.kind for plan in plan_pages(2, seed=1))

    assert kinds["ok"] >= 1
    assert sum(kinds.values()) == 2


def test_site_serves_planned_pages_and_404_for_others() -> None:
    plans = plan_pages(10, seed=1)
    ok_plan = next(plan for plan in plans if plan.kind == "ok")

    with DemoSite(plans) as site:
        assert site.base_url.startswith("http://127.0.0.1:")
        assert len(site.urls) == 10
        page = ScrapeJob(site.base_url + ok_plan.path, PATIENT).execute()
        with pytest.raises(FetchFailed, match=r"/nowhere: HTTP 404 Not Found$"):
            ScrapeJob(site.base_url + "/nowhere", PATIENT).execute()

    assert page.status == 200
    assert abs(page.bytes - ok_plan.size) < 40
    assert page.elapsed >= ok_plan.delay


# The job.


def test_scrape_job_reports_each_failure_with_a_groupable_reason() -> None:
    plans = plan_pages(100, seed=5)
    by_kind = {plan.kind: plan for plan in plans}
    done: list[bool] = []

    with DemoSite(plans) as site:

        def fetch(kind: str, timeout: float = PATIENT) -> Page:
            url = site.base_url + by_kind[kind].path
            return ScrapeJob(url, timeout, done.append).execute()

        with pytest.raises(FetchFailed, match=r"HTTP 500 Internal Server Error$"):
            fetch("error")
        with pytest.raises(FetchFailed, match=r"HTTP 404 Not Found$") as missing:
            fetch("missing")
        with pytest.raises(FetchFailed, match=r"timed out after 0.2 s$"):
            fetch("slow", timeout=0.2)
        assert fetch("ok").status == 200

    assert missing.value.reason == "HTTP 404 Not Found"
    assert missing.value.url.endswith(by_kind["missing"].path)
    assert done == [False, False, False, True]


def test_scrape_job_fails_clearly_when_nothing_listens() -> None:
    with DemoSite(plan_pages(1, seed=1)) as site:
        url = site.urls[0]

    with pytest.raises(FetchFailed, match=r"^http://127\.0\.0\.1:\d+/page/0: "):
        ScrapeJob(url, PATIENT).execute()


def test_scrape_job_reports_an_answer_cut_short() -> None:
    # A raw socket server promising 100 bytes and sending 5.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer_badly() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nshort")

    server = threading.Thread(target=answer_badly, daemon=True)
    server.start()
    try:
        with pytest.raises(FetchFailed, match=r"/cut: IncompleteRead$"):
            ScrapeJob(f"http://127.0.0.1:{port}/cut", PATIENT).execute()
    finally:
        server.join(timeout=10)
        listener.close()


# The run.


def test_run_demo_accounts_for_every_page() -> None:
    report = run_demo(SMALL)

    expected = expected_failures(SMALL.pages, SMALL.seed, SMALL.timeout)
    assert report.fetched + report.failed == SMALL.pages
    assert report.failures == dict(expected)
    assert report.fetched == SMALL.pages - sum(expected.values())
    assert report.fetched_bytes > 2_000 * report.fetched
    assert len(report.fetch_times) == report.fetched
    assert list(report.fetch_times) == sorted(report.fetch_times)
    assert report.fetch_times[0] >= 0.020
    assert report.sample_size == 4
    assert not report.sample_is_whole
    assert report.speedup is not None and report.speedup > 0


def test_run_demo_draws_progress_bars_on_the_given_stream() -> None:
    stream = io.StringIO()

    run_demo(replace(SMALL, timeout=TIMEOUT), progress=True, stream=stream)

    drawn = stream.getvalue()
    assert "pool: 100%" in drawn
    assert "30/30" in drawn
    assert "sequential: 100%" in drawn
    assert "failed" in drawn


def test_run_demo_measures_instead_of_extrapolating_for_a_whole_sample() -> None:
    settings = DemoSettings(
        pages=12, workers=4, queue_size=2, seed=2, timeout=TIMEOUT, sequential_sample=50
    )

    report = run_demo(settings)

    assert report.sample_size == 12
    assert report.sample_is_whole
    assert "(measured)" in format_summary(report)
    assert "extrapolated" not in format_summary(report)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pages": 0}, r"^pages must be at least 1, got 0$"),
        ({"workers": -1}, r"^workers must be at least 1, got -1$"),
        ({"queue_size": 0}, r"^queue_size must be at least 1, got 0$"),
        ({"sequential_sample": -2}, r"^sequential_sample must be 0 or more"),
        ({"timeout": 0}, r"^timeout must be a positive number of seconds, got 0$"),
        ({"timeout": float("nan")}, r"^timeout must be a positive number"),
    ],
)
def test_demo_settings_refuse_bad_values(
    change: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        replace(SMALL, **change)


def test_format_summary_without_a_sample_says_it_was_skipped() -> None:
    settings = DemoSettings(
        pages=5, workers=2, queue_size=1, seed=2, timeout=TIMEOUT, sequential_sample=0
    )

    report = run_demo(settings)

    assert report.speedup is None
    assert "comparison skipped" in format_summary(report)


# The command line.


def test_main_prints_a_summary_that_adds_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(
        [
            "demo",
            "--pages",
            "25",
            "--workers",
            "5",
            "--queue-size",
            "3",
            "--seed",
            "11",
            "--timeout",
            str(PATIENT),
            "--sequential-sample",
            "3",
            "--no-progress",
        ]
    )

    out, err = capsys.readouterr()
    summary = parse_summary(out)
    assert status == 0
    assert err == ""
    assert summary.fetched + summary.failed == summary.total == 25
    assert summary.reasons == dict(expected_failures(25, 11, PATIENT))
    assert "extrapolated" in out


def test_cli_demo_runs_as_a_module_and_adds_up() -> None:
    finished = run_cli(
        "demo", "--pages", "40", "--timeout", str(TIMEOUT), "--sequential-sample", "5"
    )

    summary = parse_summary(finished.stdout)
    assert finished.returncode == 0, finished.stderr
    # stdout is a pipe here, so no bar unless asked for.
    assert finished.stderr == ""
    assert summary.total == 40
    assert summary.fetched + summary.failed == 40
    assert sum(summary.reasons.values()) == summary.failed
    assert re.search(r"Speed-up of the pool: about \d+\.\dx", finished.stdout)


def test_cli_progress_forces_bars_when_stdout_is_a_pipe() -> None:
    finished = run_cli(
        "demo",
        "--pages",
        "10",
        "--timeout",
        str(TIMEOUT),
        "--sequential-sample",
        "2",
        "--progress",
    )

    assert finished.returncode == 0, finished.stderr
    assert "10/10" in finished.stderr
    assert "pool" in finished.stderr


def test_cli_ctrl_c_stops_the_demo_quietly_with_status_130() -> None:
    # Slow pages keep the pool busy for the whole timeout, so the interrupt
    # lands while the demo waits for them.
    command = [sys.executable, "-m", "bigopool", "demo", "--pages", "200"]
    command += ["--timeout", "2", "--progress"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        # tqdm draws the empty bar before the first job is enqueued.
        assert process.stderr.read(5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)

    assert process.returncode == 130
    assert "bigopool demo: interrupted" in err
    assert "Traceback" not in err
    assert out == ""


def test_cli_progress_without_tqdm_fails_clearly() -> None:
    # A None entry in sys.modules makes ``import tqdm`` raise ImportError.
    code = (
        "import sys; sys.modules['tqdm'] = None\n"
        "from bigopool.__main__ import main\n"
        "raise SystemExit(main(['demo', '--pages', '3', '--progress']))\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 1
    assert "the progress bar needs tqdm" in finished.stderr
    assert finished.stdout == ""


def test_cli_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["demo", "--help"])

    out = capsys.readouterr().out
    assert exited.value.code == 0
    for option in (
        "--pages",
        "--workers",
        "--queue-size",
        "--seed",
        "--timeout",
        "--sequential-sample",
        "--progress",
        "--no-progress",
    ):
        assert option in out
    assert "extrapolated" in out


def test_cli_top_level_help_lists_the_demo(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])

    assert exited.value.code == 0
    assert "demo" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], r"the following arguments are required: COMMAND"),
        (["scrape"], r"invalid choice: 'scrape'"),
        (["demo", "--bogus"], r"unrecognized arguments: --bogus"),
        (["demo", "--pages", "0"], r"--pages: must be at least 1, got 0"),
        (["demo", "--workers", "two"], r"--workers: not a whole number: 'two'"),
        (["demo", "--queue-size", "-3"], r"--queue-size: must be at least 1"),
        (["demo", "--timeout", "0"], r"--timeout: must be more than 0"),
        (["demo", "--timeout", "inf"], r"--timeout: must be more than 0, got inf"),
        (["demo", "--timeout", "soon"], r"--timeout: not a number: 'soon'"),
        (["demo", "--seed", "1.5"], r"--seed: not a whole number: '1.5'"),
        (["demo", "--sequential-sample", "-1"], r"must be 0 or more, got -1"),
        (["demo", "--progress", "--no-progress"], r"not allowed with argument"),
    ],
)
def test_cli_bad_options_exit_2_with_argparse_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert re.search(message, err), err


def test_cli_bad_option_in_a_subprocess_exits_2() -> None:
    finished = run_cli("demo", "--pages", "many")

    assert finished.returncode == 2
    assert "usage: bigopool demo" in finished.stderr
    assert "--pages: not a whole number: 'many'" in finished.stderr


def test_console_script_is_installed_and_runs() -> None:
    script = Path(sys.executable).parent / "bigopool"
    if not script.exists():
        pytest.skip("the package is not installed with its console script")

    finished = subprocess.run(
        [str(script), "demo", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 0
    assert "usage: bigopool demo" in finished.stdout


def test_import_bigopool_loads_neither_the_demo_nor_tqdm() -> None:
    code = (
        "import sys, bigopool\n"
        "print(sorted(m for m in sys.modules "
        "if m.startswith(('tqdm', 'bigopool._demo', 'http.server'))))\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert finished.stdout.strip() == "[]"
