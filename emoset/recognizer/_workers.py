"""A timeline's segments side by side in worker processes (``n_jobs``).

joblib's default workers are new interpreters: each imports the estimators (0.8 s) and is
sent the model. From a process that can fork safely (Linux, its main thread the only one,
not a daemon) under joblib's default backend, the segments run instead in workers forked from
it (a ``ProcessPoolExecutor`` with the fork context), which have its imports, its model and
the passes themselves: only a pass's number and its rows cross the pipe. Otherwise, and
under another joblib backend (Dask's, or one the caller chose), joblib runs them. The rows are
the same either way.

A forked worker ends when its parent does (``PR_SET_PDEATHSIG``: it holds the pool's queue
open, so it would otherwise wait for work forever), leaves Ctrl-C to the parent, and a worker
that dies ends the run with an error; a run stopped early ends its workers.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import threading
from concurrent import futures

from ..video.face_process import face_process_available

__all__ = ["in_workers"]

logger = logging.getLogger(__name__)

#: ``(run, passes)`` of the forked pool running now: what its workers read (set only while
#: it runs, in the process that forked it; the workers have their own copy).
_inherited = None

#: ``prctl``'s option that signals a process when its parent ends (Linux).
_PR_SET_PDEATHSIG = 1


def in_workers(run, passes, n_jobs):
    """``run(one)`` for each pass of ``passes``, in order, in ``n_jobs`` worker processes.

    Forked or joblib's is decided when the first result is asked for, just before the
    workers start (module doc). Closing the generator early starts no other pass.
    """
    if _can_fork():
        yield from _forked(run, list(passes), n_jobs)
        return
    from joblib import Parallel, delayed

    yield from Parallel(n_jobs=n_jobs, return_as="generator")(delayed(run)(p) for p in passes)


def _can_fork():
    """Linux, the main thread this process's only one (forking while another thread may
    hold a library's lock is unsafe), not a daemon, and joblib's default process backend
    active (``joblib.parallel.get_active_backend``: another backend is the caller's
    choice)."""
    from joblib.parallel import get_active_backend

    return (
        face_process_available()
        and threading.active_count() == 1
        and type(get_active_backend()[0]).__name__ == "LokyBackend"
    )


def _forked(run, passes, n_jobs):
    global _inherited
    from joblib import effective_n_jobs

    n = max(1, min(effective_n_jobs(n_jobs), len(passes)))
    logger.debug("%d segments in %d worker processes forked from this one", len(passes), n)
    pool = futures.ProcessPoolExecutor(
        n,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(os.getpid(),),
    )
    before = set(multiprocessing.active_children())
    workers, finished = set(), False
    _inherited = (run, passes)
    try:
        results = pool.map(_run_inherited, range(len(passes)))  # forks the workers
        workers = set(multiprocessing.active_children()) - before
        yield from results
        finished = True
    except futures.process.BrokenProcessPool as exc:
        raise RuntimeError(
            "a worker process running the timeline's segments ended abruptly (killed, or out "
            f"of memory?); run again with fewer --n-jobs ({exc})"
        ) from None
    finally:
        _inherited = None
        if not finished:  # stopped early, interrupted or failed: its workers end now
            for worker in workers:
                worker.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(parent):
    """In a forked worker: end with the parent, and leave Ctrl-C to it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux's C library
        pass
    if os.getppid() != parent:  # the parent ended before the line above
        os._exit(1)


def _run_inherited(i):
    run, passes = _inherited
    return run(passes[i])
