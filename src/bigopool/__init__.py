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

from ._backends import Backend
from ._context import Context
from ._dispatcher import Dispatcher
from ._errors import Cancelled, Errors, JobCancelled, JobTimeout, WorkerDied
from ._executor import Executor
from ._job import Job, JobLike
from ._parallel import cancelable_parallel, parallel

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
    "WorkerDied",
    "cancelable_parallel",
    "parallel",
]


def _publish() -> None:
    # Tracebacks and reprs then say bigopool.Dispatcher, the name users
    # import, not the private module it happens to live in.
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith(__name__ + "._"):
            try:
                obj.__module__ = __name__
            except (AttributeError, TypeError):
                pass


_publish()
