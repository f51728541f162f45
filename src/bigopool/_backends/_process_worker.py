"""The child side of the process backend: what runs inside a worker process.

Kept apart from ``_process`` and light on imports, because every worker
process imports it before its first job and spawn start-up is paid per
process.

The wire format, in both directions, is a stream of frames: a 4-byte
little-endian length, then that many bytes. The parent sends one frame per
batch, holding the batch's pickled jobs, each prefixed with its own length.
The child answers with one frame per job, in order, so the parent always
knows which job is running: the first one it has no answer for. A result
frame starts with one tag byte and, for job outcomes, the job's duration in
seconds as a double (the parent sizes its batches from it).
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import time
import traceback
from typing import Any

__all__ = ["RemoteError", "serve"]

#: Frame tags, child to parent.
OK = 0  # a job returned; payload: its pickled result
ERROR = 1  # a job raised; payload: the pickled exception
INIT_FAILED = 2  # the initializer raised; payload: the pickled exception
FINAL = 3  # the finalizer ran; payload: b"" or its traceback text (utf-8)
STARTED = 4  # the next job starts now (sent only when jobs have a timeout)

LENGTH = struct.Struct("<I")
OUTCOME = struct.Struct("<Bd")  # tag and duration
ANSWER = struct.Struct("<IBd")  # a frame's length, then an OUTCOME


class RemoteError(Exception):
    """A worker's exception that could not travel back to this process.

    Raised in place of an exception that failed to pickle or unpickle, so the
    job still ends as an error. ``type_name`` is the original exception's
    qualified type name and ``remote_traceback`` its traceback text from
    the worker process.
    """

    def __init__(self, type_name: str, message: str, remote_traceback: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.remote_traceback = remote_traceback
        self.add_note(remote_traceback)

    def __reduce__(self) -> tuple[Any, ...]:
        message = str(self).partition(": ")[2]
        return (type(self), (self.type_name, message, self.remote_traceback))


def serve(job_conn: Any, result_conn: Any, setup: bytes) -> None:
    """Run an initializer, then batches of jobs until the parent hangs up.

    ``job_conn`` and ``result_conn`` are multiprocessing connections used only
    to carry their file descriptors here; ``setup`` is the pickled
    ``(initializer, initargs, finalizer, announce)``; with ``announce``
    the child says when each job starts, for the parent's timeout.
    """
    # Ctrl-C reaches the whole process group; the parent decides what it
    # means and kills its workers, so a worker must not die half-way first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = result_conn.fileno()
    jobs = os.fdopen(job_conn.fileno(), "rb", closefd=False)
    initializer, initargs, finalizer, announce = pickle.loads(setup)

    if initializer is not None:
        try:
            initializer(*initargs)
        except BaseException as error:  # sent to the parent
            _write(out, bytes((INIT_FAILED,)) + _pickle_error(error))
            return

    try:
        _run_batches(jobs, out, announce)
    except BrokenPipeError:
        return  # the parent is gone: nobody to answer or to finalize for

    detail = b""
    if finalizer is not None:
        try:
            finalizer()
        except BaseException:  # the parent logs it
            detail = traceback.format_exc().encode("utf-8", "replace")
    _write(out, bytes((FINAL,)) + detail)


def _run_batches(jobs: Any, out: int, announce: bool) -> None:
    # The per-job path: one loads, one call, one dumps, one write. The write
    # is per job on purpose: once an answer is in the pipe it survives this
    # process's death, so a crash never loses a finished job's result.
    read = jobs.read
    loads = pickle.loads
    clock = time.perf_counter
    pack = ANSWER.pack
    length = LENGTH.unpack_from
    write = os.write
    started_frame = LENGTH.pack(1) + bytes((STARTED,))

    while True:
        header = read(4)
        if len(header) < 4:
            return
        (size,) = length(header)
        body = read(size)
        if len(body) < size:
            return

        view = memoryview(body)
        offset = 0
        while offset < size:
            (item_size,) = length(view, offset)
            offset += 4
            payload = view[offset : offset + item_size]
            offset += item_size

            started = clock()
            try:
                runner = loads(payload)
                if announce:
                    write(out, started_frame)
                result = runner()
            except BaseException as error:  # sent to the parent
                tag, pickled = ERROR, _pickle_error(error)
            else:
                tag, pickled = _pickle_result(result)
            frame = pack(len(pickled) + OUTCOME.size, tag, clock() - started)
            frame += pickled
            done = write(out, frame)
            if done < len(frame):
                _write_rest(out, frame, done)


def _pickle_result(result: Any) -> tuple[int, bytes]:
    try:
        return OK, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # by value, then give up below
        pass
    try:
        data: bytes = _cloudpickle().dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        return OK, data
    except Exception as error:  # reported as the job's error
        refusal = TypeError(
            f"the job's result, a {type(result).__qualname__}, could not be "
            f"pickled to return it from the worker process: "
            f"{type(error).__name__}: {error}"
        )
        return ERROR, _pickle_error(refusal)


def _pickle_error(error: BaseException) -> bytes:
    text = "".join(traceback.format_exception(error))
    remote = f"Traceback in worker process {os.getpid()}:\n{text}"
    try:
        error.add_note(remote)
        data: bytes = _cloudpickle().dumps(error, protocol=pickle.HIGHEST_PROTOCOL)
        # Many exceptions pickle but do not unpickle (an __init__ whose
        # arguments differ from .args); find out here, where the stand-in
        # can still be made.
        pickle.loads(data)
        return data
    except Exception:  # replaced by a stand-in
        standin = RemoteError(_type_name(error), str(error), remote)
        return pickle.dumps(standin, protocol=pickle.HIGHEST_PROTOCOL)


def _type_name(error: BaseException) -> str:
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}"


def _write(fd: int, data: bytes) -> None:
    frame = LENGTH.pack(len(data)) + data
    _write_rest(fd, frame, os.write(fd, frame))


def _write_rest(fd: int, frame: bytes, done: int = 0) -> None:
    # A pipe takes a large write in pieces; the parent reads meanwhile.
    view = memoryview(frame)[done:]
    while view:
        view = view[os.write(fd, view) :]


def _cloudpickle() -> Any:
    import cloudpickle  # type: ignore[import-untyped]

    return cloudpickle
