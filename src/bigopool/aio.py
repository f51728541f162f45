"""bigopool for asyncio: the same dispatcher and helpers for coroutines.

>>> import asyncio
>>> from bigopool import aio
>>> async def main():
...     async with aio.Dispatcher(workers=4, queue_size=100) as pool:
...         for n in range(10):
...             async def square(n=n):
...                 await asyncio.sleep(0)
...                 return n * n
...             await pool.enqueue(square)
...     return sorted(pool.results)
>>> asyncio.run(main())
[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]

Imported on demand: ``import bigopool`` does not import this module.
"""

from __future__ import annotations

import contextlib

from ._aio._dispatcher import Dispatcher
from ._aio._job import AsyncJob, AsyncJobLike
from ._aio._parallel import cancelable_parallel, parallel
from ._aio._stream import Stream, stream
from ._aio._sync import run_sync
from ._errors import Errors, JobCancelled, JobTimeout
from ._outcome import Outcome

__all__ = [
    "AsyncJob",
    "AsyncJobLike",
    "Dispatcher",
    "Errors",
    "JobCancelled",
    "JobTimeout",
    "Outcome",
    "Stream",
    "cancelable_parallel",
    "parallel",
    "run_sync",
    "stream",
]


def _publish() -> None:
    # Reprs and tracebacks then name bigopool.aio.Dispatcher, the name users
    # import. Shared types (Errors, Outcome) keep the module bigopool gives
    # them, so only what lives in the private _aio package is renamed.
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith("bigopool._aio."):
            with contextlib.suppress(AttributeError, TypeError):
                obj.__module__ = __name__


_publish()
