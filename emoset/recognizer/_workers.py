"""A timeline's segments side by side in worker processes (``n_jobs``).

joblib's default workers are new interpreters: each imports the estimators (0.8 s) and is
sent the model with its segment. From a process that can fork safely (Linux, no Python
thread but its main one, not a daemon) under joblib's default backend, the segments run
instead in workers forked from it (a ``ProcessPoolExecutor`` with the fork context), which
have its imports, its model and the passes themselves: a segment's number goes to a worker,
its rows and statistics come back. Otherwise, and under another joblib backend (Dask's, or
one the caller chose), joblib runs them. The rows are the same either way.

A run stopped early (the caller stops reading, Ctrl-C, an error) asks its forked workers to
stop: each ends its segment at the next row and takes no other, so the run ends within a
row's time (a worker is not killed: one killed while it sends its rows would leave the pool
waiting for the rest of them). A forked worker ends when its parent does
(``PR_SET_PDEATHSIG``: it holds the pool's queue open, so it would otherwise wait for work
forever) and leaves Ctrl-C to the parent; a worker that dies ends the run with an error.
A forked run whose generator is still open when the interpreter exits (a script that read
the first rows and ended) is stopped the same way before the pool's own exit handler would
wait for every queued segment (joblib's workers are still waited for).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import signal
import threading
from concurrent import futures

from ..utils.early import end_with_parent, fork_available

__all__ = ["in_workers"]

logger = logging.getLogger(__name__)

#: ``(passes, stats, stop)`` of the forked pool running now: what its workers read (set only
#: while it runs, in the process that forked it; the workers have their own copy).
_inherited = None

#: ``(stop, pool)`` of the forked pools running now, stopped at the interpreter's exit (a
#: process forked from this one, a worker or any other, starts with none: the stop event is
#: shared, so a child that stopped them at its own exit would stop this process's run).
_running = {}
_exit_hook = []
os.register_at_fork(after_in_child=_running.clear)


class _Stopped(Exception):
    """A forked worker's segment, ended because the run stopped."""


def in_workers(passes, n_jobs, stats):
    """``(rows, stats(one))`` for each pass of ``passes`` (an iterable of rows), in order, in
    ``n_jobs`` worker processes.

    Forked or joblib's is decided when the first result is asked for, just before the
    workers start (module doc). Closing the generator early starts no other pass.
    """
    if _can_fork():
        yield from _forked(list(passes), n_jobs, stats)
        return
    from joblib import Parallel, delayed

    yield from Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_collect)(one, stats) for one in passes
    )


def _collect(one, stats, stop=None):
    rows = []
    for row in one:
        if stop is not None and stop.is_set():
            raise _Stopped
        rows.append(row)
    return rows, stats(one)


def _can_fork():
    """Linux, no Python thread but the main one (forking while another thread may hold a
    library's lock is unsafe), not a daemon, and joblib's default process backend active
    (``joblib.parallel.get_active_backend``: another backend is the caller's choice)."""
    from joblib.parallel import get_active_backend

    return (
        fork_available()
        and threading.active_count() == 1
        and type(get_active_backend()[0]).__name__ == "LokyBackend"
    )


def _forked(passes, n_jobs, stats):
    global _inherited
    from joblib import effective_n_jobs

    n = max(1, min(effective_n_jobs(n_jobs), len(passes)))
    logger.debug("%d segments in %d worker processes forked from this one", len(passes), n)
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    pool = futures.ProcessPoolExecutor(
        n, mp_context=ctx, initializer=_start_worker, initargs=(os.getpid(),)
    )
    _inherited = (passes, stats, stop)
    _running[id(pool)] = (stop, pool)
    _stop_at_exit()
    try:
        yield from pool.map(_run_inherited, range(len(passes)))  # the first call forks
    except futures.process.BrokenProcessPool as exc:
        raise RuntimeError(
            "a worker process running the timeline's segments ended abruptly (killed, or out "
            f"of memory?): {exc}; run again with fewer --n-jobs"
        ) from exc
    finally:
        _stop(_running.pop(id(pool), (stop, pool)), wait=True)
        _inherited = None


def _stop(run, *, wait):
    """Stop a forked pool: each worker ends its segment at the next row, none is started."""
    stop, pool = run
    stop.set()
    pool.shutdown(wait=wait, cancel_futures=True)


def _stop_all():
    for run in list(_running.values()):
        try:
            _stop(run, wait=False)
        except Exception:  # the interpreter's other exit hooks must still run
            logger.exception("could not stop a timeline's worker processes at exit")


def _stop_at_exit():
    """Stop the pools still running when the interpreter exits, once registered.

    ``concurrent.futures`` waits for a pool's queued work in a hook that runs when the
    interpreter's threads are joined, before :mod:`atexit`'s handlers; the hooks of that stage
    run newest first, so one registered there after it (:mod:`concurrent.futures.process` is
    imported by now) runs before it. Python exposes that stage only as
    ``threading._register_atexit`` (what ``concurrent.futures`` uses); without it, the
    :mod:`atexit` handler is the fallback (it runs after the wait).
    """
    if _exit_hook:
        return
    register = getattr(threading, "_register_atexit", None)
    try:
        (register or atexit.register)(_stop_all)
    except RuntimeError:  # already shutting down: nothing left to stop early
        return
    _exit_hook.append(_stop_all)


def _start_worker(parent):
    """In a forked worker: end with the parent, leave Ctrl-C to it, and end when asked."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not a handler of the parent's
    end_with_parent(parent)


def _run_inherited(i):
    passes, stats, stop = _inherited
    if stop.is_set():
        raise _Stopped
    return _collect(passes[i], stats, stop)
