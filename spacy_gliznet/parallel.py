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
"""

import os
from typing import Optional

import torch

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
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")
    _threads_after_fork = threads


def _after_fork_in_child() -> None:
    threads = _threads_after_fork
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def register_fork_handler() -> bool:
    """Register the fork handler once per process; True if it is registered.

    Called when :mod:`spacy_gliznet` is imported; calling it again does nothing.
    Platforms without ``os.register_at_fork`` (Windows) never fork, so they need
    no handler and this returns False.
    """
    global _registered
    if not _registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _registered = True
    return _registered


register_fork_handler()
