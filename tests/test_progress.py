"""The progress bar: drawn on a terminal, quiet elsewhere unless forced."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import textwrap
import time

import pytest

from bigopool import Dispatcher, stream

SCRIPT = textwrap.dedent(
    """
    import time
    from bigopool import Dispatcher

    with Dispatcher(4, 20, progress=True) as d:
        for n in range(200):
            d.enqueue(lambda: time.sleep(0.002))
        d.enqueue(lambda: 1 / 0)
    print("DONE", len(d.results), len(d.errors))
    """
)


def test_progress_draws_a_bar_on_a_real_terminal() -> None:
    controller, terminal = pty.openpty()
    # A fresh pseudo-terminal reports 0 rows and 0 columns; give it the size
    # a real terminal window has.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
    )
    os.close(terminal)

    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1)
        if not ready:
            if child.poll() is not None:
                break
            continue
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    text = output.decode(errors="replace")

    assert child.wait(10) == 0, text
    assert "DONE 200 1" in text
    assert "201/201" in text
    assert "job/s" in text
    assert "failed=1" in text


def test_progress_is_quiet_when_not_a_terminal(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with Dispatcher(2, 4, progress=True) as d:
        d.enqueue(*[lambda: None] * 10)
    for _ in stream([lambda: None] * 10, workers=2, queue_size=2, progress=True):
        pass

    assert capfd.readouterr() == ("", "")


def test_progress_always_draws_even_without_a_terminal(
    capfd: pytest.CaptureFixture[str],
) -> None:
    outcomes = stream([lambda: None] * 25, workers=2, queue_size=2, progress="always")
    assert len(list(outcomes)) == 25

    err = capfd.readouterr().err
    assert "25/25" in err


def test_progress_without_tqdm_says_what_to_install() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["tqdm"] = None  # makes "import tqdm" fail
        sys.modules["tqdm.auto"] = None
        from bigopool import Dispatcher
        try:
            Dispatcher(1, 1, progress="always").run()
        except ImportError as error:
            print(error)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    ).stdout

    assert "pip install 'bigopool[progress]'" in out


def test_progress_bad_value_is_refused() -> None:
    with pytest.raises(ValueError, match="progress must be True, False or 'always'"):
        Dispatcher(1, 1, progress="loud")
