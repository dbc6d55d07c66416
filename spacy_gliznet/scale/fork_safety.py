"""Safe multiprocessing for torch models: ``nlp.pipe(texts, n_process=N)`` must never hang.

PyTorch's CPU wheels run their parallel kernels on an OpenMP thread pool (GNU
libgomp). Once the parent process has run one parallel kernel with two or more
threads, a child made by ``fork()`` (spaCy's ``n_process`` on Linux) inherits
the pool's bookkeeping but not its threads: the first parallel kernel in the
child waits forever for threads that do not exist. With one thread a kernel
never enters the pool, so the child is safe.

Importing :mod:`spacy_gliznet` registers :func:`_after_fork_in_child` with
:func:`os.register_at_fork`: every child forked from a process that imported the
package starts with ``torch.set_num_threads(threads_after_fork())`` (1 by
default). The parent's own thread count is never touched, and ``n_process``
children of one thread each use ``n_process`` cores without oversubscription.
Children started with ``spawn`` or ``forkserver`` begin from a fresh torch and
need nothing.

The same handler closes, in a forked ``nlp.pipe(n_process=N)`` worker, the ends
of spaCy's result pipes that the worker inherited but never uses (the read ends
of every result pipe, the write ends of the other workers'). spaCy creates all
pipes before it forks, so each worker holds copies of them: when a worker's
error stops the parent, the parent closes its read ends, yet a worker blocked
sending a large batch waits forever (the copies keep the pipe open) and the
parent waits forever in ``proc.join()`` (spaCy issue 7934). With the copies
closed, the blocked send fails with ``BrokenPipeError``, the worker exits and
the error reaches the caller.
"""

import os
import sys
from typing import Any, Iterator, Optional

import torch

from ..errors import GliZNetInputError

_threads_after_fork: Optional[int] = 1
_registered = False


def threads_after_fork() -> Optional[int]:
    """The torch thread count that forked children start with (None: left alone)."""
    return _threads_after_fork


def set_threads_after_fork(threads: Optional[int]) -> None:
    """Set the torch thread count of children forked from now on.

    ``None`` leaves forked children alone (for code that sets threads itself).
    More than 1 is only safe when this process has not yet run a parallel torch
    kernel with more than one thread; otherwise the child hangs (see the module
    docstring).
    """
    global _threads_after_fork
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise GliZNetInputError(f"threads must be a positive int or None, got {threads!r}")
    _threads_after_fork = threads


def _after_fork_in_child() -> None:
    threads = _threads_after_fork
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    close_inherited_pipe_ends()


def _before_fork_in_parent() -> None:
    frame = _spacy_pipe_frame()
    if frame is not None:
        for queue in frame.f_locals.get("texts_q", ()):
            if hasattr(queue, "cancel_join_thread"):
                queue.cancel_join_thread()


def _frames() -> Iterator[Any]:
    frame = sys._getframe(1)
    while frame is not None:
        yield frame
        frame = frame.f_back


def _is_spacy_pipe(frame: Any) -> bool:
    code = frame.f_code
    return code.co_name == "_multiprocessing_pipe" and "spacy" in code.co_filename


def _spacy_pipe_frame() -> Optional[Any]:
    return next((f for f in _frames() if _is_spacy_pipe(f)), None)


def close_inherited_pipe_ends() -> int:
    """In a child forked by spaCy's ``Language._multiprocessing_pipe``, close the
    result-pipe ends that the child inherited and does not use; returns how many
    were closed (0 in any other process). Called by the fork handler; it reads
    the forking frames (spaCy 3.x's local names) and does nothing if they differ."""
    pipe_frame = worker = None
    for frame in _frames():
        if worker is None and frame.f_code.co_name == "_launch" and "process_obj" in frame.f_locals:
            worker = frame.f_locals["process_obj"]
        if _is_spacy_pipe(frame):
            pipe_frame = frame
            break
    if pipe_frame is None or worker is None:
        return 0
    own = {id(arg) for arg in getattr(worker, "_args", ())}
    closed = 0
    for name in ("bytedocs_recv_ch", "bytedocs_send_ch"):
        for conn in pipe_frame.f_locals.get(name, ()):
            if id(conn) in own or not hasattr(conn, "close") or getattr(conn, "closed", True):
                continue
            try:
                conn.close()
                closed += 1
            except OSError:
                pass
    return closed


def register_fork_handler() -> bool:
    """Register the fork handler once per process; True if it is registered.

    Called when :mod:`spacy_gliznet` is imported; calling it again does nothing.
    Platforms without ``os.register_at_fork`` (Windows) never fork, so they need
    no handler and this returns False.
    """
    global _registered
    if not _registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork_in_parent, after_in_child=_after_fork_in_child)
        _registered = True
    return _registered


register_fork_handler()
