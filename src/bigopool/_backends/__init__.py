"""Ways of running jobs. Only the thread backend is imported eagerly."""

from __future__ import annotations

from typing import Any

from ._base import Backend, Sink, WorkerOptions
from ._thread import ThreadBackend

__all__ = ["Backend", "Sink", "ThreadBackend", "WorkerOptions", "resolve"]

_NAMES = ("thread", "process")


def resolve(spec: Any) -> Backend:
    """Turn ``"thread"``, ``"process"`` or a :class:`Backend` into a backend."""
    if isinstance(spec, Backend):
        return spec
    if spec == "thread":
        return ThreadBackend()
    if spec == "process":
        from ._process import ProcessBackend

        backend: Backend = ProcessBackend()
        return backend
    raise ValueError(
        f"backend must be one of {', '.join(map(repr, _NAMES))} or a Backend "
        f"instance, got {spec!r}"
    )
