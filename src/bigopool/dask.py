"""Run a dispatcher's jobs on a Dask cluster: ``DaskBackend``.

>>> from bigopool import Dispatcher
>>> from bigopool.dask import DaskBackend
>>> pool = Dispatcher(8, 1000, backend=DaskBackend("tcp://scheduler:8786"))

This module needs Dask's ``distributed`` package (``pip install
'bigopool[dask]'``); ``import bigopool`` alone never imports it. See
``docs/dask.md``.
"""

# Absolute imports only: this module is named "dask", and the real Dask
# must win over it everywhere.
from __future__ import annotations

try:
    import cloudpickle  # type: ignore[import-untyped]  # noqa: F401
    import distributed  # noqa: F401
except ImportError as error:
    raise ImportError(
        "bigopool.dask needs Dask's distributed package and cloudpickle: "
        "pip install 'bigopool[dask]'"
    ) from error

from bigopool._backends._dask import MAX_BATCH, TARGET_BATCH_SECONDS, DaskBackend

__all__ = ["MAX_BATCH", "TARGET_BATCH_SECONDS", "DaskBackend"]

DaskBackend.__module__ = __name__
