"""The demo's job: fetch one URL and describe what came back."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["FetchFailed", "Page", "ScrapeJob"]

USER_AGENT = "bigopool-demo/1.0"


@dataclass(frozen=True, slots=True)
class Page:
    """A page that was fetched: its status, its size in bytes, and how long
    the fetch took in seconds."""

    url: str
    status: int
    bytes: int
    elapsed: float


class FetchFailed(Exception):
    """A page could not be fetched; ``reason`` says why in a few words, the
    same words for every page that failed the same way."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(slots=True)
class ScrapeJob:
    """Fetch ``url`` with ``urllib``, giving up after ``timeout`` seconds.

    ``on_done`` (optional) is called with True or False once the fetch
    succeeded or failed; the demo uses it to move its progress bar.
    """

    url: str
    timeout: float = 1.0
    on_done: Callable[[bool], object] | None = field(default=None, repr=False)

    def execute(self) -> Page:
        """Return the fetched :class:`Page`.

        Costs one connection and one thread blocked on it for up to
        ``timeout`` seconds per read.

        Raises:
            FetchFailed: the server answered with an error status or a
                malformed answer, the connection failed, or no answer came
                within ``timeout``.
        """
        ok = False
        try:
            page = self._fetch()
            ok = True
            return page
        finally:
            if self.on_done is not None:
                self.on_done(ok)

    def _fetch(self) -> Page:
        request = urllib.request.Request(self.url, headers={"User-Agent": USER_AGENT})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            error.close()
            raise FetchFailed(self.url, f"HTTP {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            raise FetchFailed(self.url, self._describe(error.reason)) from error
        except OSError as error:
            raise FetchFailed(self.url, self._describe(error)) from error
        except http.client.HTTPException as error:
            # A malformed or cut-short answer, such as IncompleteRead.
            raise FetchFailed(self.url, type(error).__name__) from error

        return Page(self.url, status, len(body), time.perf_counter() - started)

    def _describe(self, reason: object) -> str:
        # A timeout can surface while connecting (wrapped in URLError) or
        # while reading (raised bare); both are grouped under one reason.
        if isinstance(reason, TimeoutError):
            return f"timed out after {self.timeout:g} s"
        if isinstance(reason, OSError) and reason.strerror:
            return reason.strerror
        return str(reason) or type(reason).__name__
