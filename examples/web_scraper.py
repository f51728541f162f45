"""A web scraper on a worker pool: the Go article's web-scraping example.

So that it runs anywhere, the example serves its own small site on
127.0.0.1 first: 20 pages that take 50 ms each, two of which are missing.
Ten workers fetch them, so the scrape takes about a tenth of the time one
loop would. (``bigopool demo`` is the bigger version of this example.)

    python examples/web_scraper.py
"""

# What tests/test_examples.py checks the output for (one regex a line):
# expect: ^Fetched 18 pages, 2 errors$
# expect: ^✗ Error: failed to fetch http://127\.0\.0\.1:\d+/page/13: HTTP 404$

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bigopool import Dispatcher


@dataclass
class WebScrapingResult:
    url: str
    status_code: int
    body_size: int
    content: str
    fetched_at: datetime


@dataclass
class WebScrapingJob:
    url: str
    timeout: float
    user_agent: str

    def execute(self) -> WebScrapingResult:
        request = urllib.request.Request(
            self.url, headers={"User-Agent": self.user_agent}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            error.close()
            raise RuntimeError(
                f"failed to fetch {self.url}: HTTP {error.code}"
            ) from None
        except OSError as error:
            raise RuntimeError(f"failed to fetch {self.url}: {error}") from error

        return WebScrapingResult(
            url=self.url,
            status_code=status,
            body_size=len(body),
            content=body.decode(),
            fetched_at=datetime.now(),
        )


def scrape_websites(urls: list[str]) -> None:
    # 10 concurrent fetches, and up to 500 jobs waiting for a worker.
    dispatcher: Dispatcher[WebScrapingResult] = Dispatcher(10, 500)
    dispatcher.run()

    for url in urls:
        dispatcher.enqueue(
            WebScrapingJob(url, timeout=30.0, user_agent="bigopool-scraper/1.0")
        )

    results, errors = dispatcher.wait()

    for result in sorted(results, key=lambda r: r.fetched_at):
        print(
            f"✓ {result.url} ({result.body_size} bytes, status: {result.status_code})"
        )
    for error in errors.all():
        print(f"✗ Error: {error}")
    print(f"Fetched {len(results)} pages, {len(errors)} errors")


# The local site that stands in for the web.


class Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(0.05)  # a realistic round trip
        number = int(self.path.rsplit("/", 1)[-1])
        if number % 10 == 3:
            self.send_error(404)
            return

        body = f"<html><body>page {number}</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the example's output to the scraper's lines


class Site(ThreadingHTTPServer):
    # The default listen backlog of 5 drops connections when ten workers
    # connect at once, and the kernel retries a dropped one after a second.
    request_queue_size = 64


def main() -> None:
    server = Site(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    try:
        started = time.perf_counter()
        scrape_websites([f"http://{host!s}:{port}/page/{n}" for n in range(20)])
        print(f"Took {time.perf_counter() - started:.2f} s for 20 pages of 50 ms")
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
