"""bigopool: a small, fast worker pool with backpressure.

>>> from bigopool import Dispatcher
>>> with Dispatcher(workers=4, queue_size=100) as pool:
...     for n in range(10):
...         pool.enqueue(lambda n=n: n * n)
>>> sorted(pool.results)
[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]

The public names live here; the modules behind them are private. Optional
parts are submodules imported on demand: ``bigopool.aio`` for asyncio and
``bigopool.dask`` for a Dask cluster.
"""

from __future__ import annotations

import contextlib

from ._backends import Backend
from ._backends._process import ProcessBackend
from ._backends._process_worker import RemoteError
from ._context import Context
from ._dispatcher import Dispatcher
from ._errors import (
    Cancelled,
    Errors,
    JobCancelled,
    JobTimeout,
    WorkerDied,
    WorkerInitFailed,
)
from ._executor import Executor
from ._job import Job, JobLike
from ._outcome import Outcome
from ._parallel import cancelable_parallel, parallel
from ._retry import Retry
from ._stats import Statistics
from ._stream import Stream, stream

__version__ = "0.1.0"

__all__ = [
    "Backend",
    "Cancelled",
    "Context",
    "Dispatcher",
    "Errors",
    "Executor",
    "Job",
    "JobCancelled",
    "JobLike",
    "JobTimeout",
    "Outcome",
    "ProcessBackend",
    "RemoteError",
    "Retry",
    "Statistics",
    "Stream",
    "WorkerDied",
    "WorkerInitFailed",
    "cancelable_parallel",
    "parallel",
    "stream",
]


def _publish() -> None:
    # Tracebacks and reprs then say bigopool.Dispatcher, the name users
    # import, not the private module it happens to live in.
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith(__name__ + "._"):
            with contextlib.suppress(AttributeError, TypeError):
                obj.__module__ = __name__


_publish()
