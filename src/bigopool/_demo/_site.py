"""A small local web site with realistic latency and failures, for the demo.

Every page's fate is drawn once from a seeded random generator, so a run is
reproducible: how long it takes to answer (20 to 80 ms by default), how big
it is, and whether it answers with a page, a 500, a 404 or too late.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

__all__ = ["DemoSite", "PagePlan", "plan_pages"]

OK, ERROR, MISSING, SLOW = "ok", "error", "missing", "slow"

_WORDS = (
    "worker",
    "pool",
    "queue",
    "backpressure",
    "job",
    "result",
    "error",
    "thread",
    "dispatcher",
    "latency",
    "throughput",
    "enqueue",
    "wait",
)


@dataclass(frozen=True, slots=True)
class PagePlan:
    """How the site answers one page: after ``delay`` seconds, with ``kind``."""

    path: str
    kind: str
    delay: float
    size: int


def plan_pages(
    pages: int,
    *,
    seed: int,
    latency: tuple[float, float] = (0.020, 0.080),
    slow_delay: float = 2.0,
) -> list[PagePlan]:
    """Draw the plan of ``pages`` pages from ``seed``.

    About 3% of the pages answer 500, 2% answer 404 and 1% answer only after
    ``slow_delay`` seconds, with at least one of each once there are enough
    pages, so every run of the demo shows each kind of failure.
    """
    rng = random.Random(seed)
    kinds = [OK] * pages
    numbers = list(range(pages))
    rng.shuffle(numbers)
    wanted = (
        (ERROR, max(1, pages * 3 // 100)),
        (MISSING, max(1, pages * 2 // 100)),
        (SLOW, max(1, pages // 100)),
    )
    for kind, count in wanted:
        for _ in range(count):
            # Leave most of a tiny site intact: failures are the exception.
            if len(numbers) <= pages // 2:
                break
            kinds[numbers.pop()] = kind

    low, high = latency
    plans = []
    for number, kind in enumerate(kinds):
        delay = slow_delay if kind == SLOW else rng.uniform(low, high)
        size = rng.randint(2_000, 40_000)
        plans.append(PagePlan(f"/page/{number}", kind, delay, size))
    return plans


class DemoSite:
    """An HTTP server on 127.0.0.1, on a port the OS picks, in a thread.

    Use it as a context manager; ``urls`` lists every page it serves. Each
    request is answered on its own thread, so it serves any number at once.

    Raises:
        OSError: the socket cannot be bound.
    """

    def __init__(self, plans: list[PagePlan]) -> None:
        self._plans = {plan.path: plan for plan in plans}
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="bigopool-demo-site",
            daemon=True,
        )
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        self.urls = [self.base_url + plan.path for plan in plans]

    def start(self) -> Self:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; slow answers still pending give up at once."""
        self._stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # Used by the request handler.

    def plan_for(self, path: str) -> PagePlan | None:
        return self._plans.get(path)

    def pause(self, seconds: float) -> bool:
        """Sleep like a busy server; False if the site closed meanwhile."""
        return not self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 makes the kernel drop connections when a pool
    # opens dozens at once, and a dropped SYN is retried only after a second.
    request_queue_size = 256
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out has closed its socket before the slow
        # answer is written; that is the point of slow pages, not an error.
        return


def _handler_for(site: DemoSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        server_version = "bigopool-demo/1.0"

        def do_GET(self) -> None:
            plan = site.plan_for(self.path)
            if plan is None:
                self._answer(HTTPStatus.NOT_FOUND, b"no such page\n")
                return

            if not site.pause(plan.delay):
                return
            if plan.kind == ERROR:
                self._answer(HTTPStatus.INTERNAL_SERVER_ERROR, b"it broke\n")
            elif plan.kind == MISSING:
                self._answer(HTTPStatus.NOT_FOUND, b"gone\n")
            else:
                self._answer(HTTPStatus.OK, _body(plan))

        def _answer(self, status: HTTPStatus, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            # The demo's output is its summary; a line per request would
            # bury it.
            return

    return Handler


def _body(plan: PagePlan) -> bytes:
    rng = random.Random(plan.path)
    title = f"<html><head><title>{plan.path}</title></head><body><p>"
    words: list[str] = []
    length = len(title)
    while length < plan.size - 20:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    text = title + " ".join(words) + "</p></body></html>\n"
    return text.encode()
