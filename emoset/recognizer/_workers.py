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
A run still open when the interpreter exits (a script that read the first rows and ended)
is closed as the caller would close it, before the pool's own exit handler would wait for
every queued segment: forked workers stop as above, joblib's are cancelled. A run another
live thread is reading is left to that thread. A forked run waits for each result in short
steps, so Ctrl-C is raised however the signal arrives.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
import warnings
import weakref
from concurrent import futures

from ..utils.early import end_with_parent, fork_available, leave_signals_to_parent

__all__ = ["in_workers"]

logger = logging.getLogger(__name__)

#: ``(passes, stats, stop)`` of the forked pool running now: what its workers read (set only
#: while it runs, in the process that forked it; the workers have their own copy).
_inherited = None

#: The runs open now (:class:`_Run`), closed when the interpreter exits (a process forked
#: from this one, a worker or any other, starts with none: a forked run's stop event is
#: shared, so a child that closed its copy at its own exit would stop this process's run).
_open = weakref.WeakSet()
os.register_at_fork(after_in_child=_open.clear)

#: The :mod:`atexit` handler, once registered (where Python has no thread-exit hooks).
_hooked = []


class _Stopped(Exception):
    """A forked worker's segment, ended because the run stopped."""


def in_workers(passes, n_jobs, stats):
    """``(rows, stats(one))`` for each pass of ``passes`` (an iterable of rows), in order, in
    ``n_jobs`` worker processes.

    Forked or joblib's is decided when the first result is asked for, just before the
    workers start (module doc). Closing the run early starts no other pass.
    """
    run = _Run(_run(passes, n_jobs, stats))
    _open.add(run)
    return run


class _Run:
    """An open run: its results in order, and the thread that last asked for one."""

    def __init__(self, results):
        self._results = results
        self.reader = None

    def __iter__(self):
        return self

    def __next__(self):
        if not self._results.gi_running:  # else next() refuses this thread
            self.reader = threading.current_thread()
        return next(self._results)

    def close(self):
        self._results.close()

    def read_elsewhere(self):
        """Being read now, or last read by a live thread other than the main one. The
        interpreter joins such a thread after the exit hooks, and it may read the run to its
        end, so the run is left open (the pools' own exit hooks then wait for its segments,
        as they did before these hooks; a thread that will not read on, e.g. an idle
        ``ThreadPoolExecutor`` worker, makes the exit wait for them too)."""
        reader = self.reader
        return self._results.gi_running or (
            reader is not None and reader is not threading.main_thread() and reader.is_alive()
        )


def _run(passes, n_jobs, stats):
    if _can_fork():
        yield from _forked(list(passes), n_jobs, stats)
        return
    from joblib import Parallel, delayed

    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_collect)(one, stats) for one in passes
    )
    try:
        for k, result in enumerate(results):
            if k == 0:  # loky registers its exit handler when a new pool starts
                _close_at_exit()
            yield result
    finally:
        with warnings.catch_warnings():  # the caller stopped the run: not joblib's to warn of
            warnings.filterwarnings("ignore", "(?s).*adjusting the input task iterator")
            results.close()  # as `yield from` would: joblib cancels what is left


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
    _close_at_exit()
    try:
        pending = [pool.submit(_run_inherited, i) for i in range(len(passes))]  # forks
        for one in pending:
            yield _result(one)
    except futures.process.BrokenProcessPool as exc:
        raise RuntimeError(
            "a worker process running the timeline's segments ended abruptly (killed, or out "
            f"of memory?): {exc}; run again with fewer --n-jobs"
        ) from exc
    finally:
        stop.set()  # a stopped run: each worker ends its segment at the next row
        pool.shutdown(wait=True, cancel_futures=True)
        _inherited = None


#: Seconds between the checks of a waiting run for Ctrl-C.
_POLL = 0.25


def _result(future):
    """The future's result, waited for in short steps: a wait without a time-out may go on
    after Ctrl-C (a signal that comes just before the wait starts, or that another thread
    receives, leaves it waiting), while each step returns to Python, which raises it. (Not
    ``result(timeout=...)``: a ``TimeoutError`` the pass itself raised would read as "not
    yet".)"""
    while not futures.wait([future], timeout=_POLL).done:
        pass
    return future.result()


def _close_all():
    for run in list(_open):
        if run.read_elsewhere():  # that thread reads on; the pool's own exit waits for it
            continue
        try:
            run.close()
        except Exception:  # the interpreter's other exit hooks must still run
            logger.exception("could not stop a timeline's worker processes at exit")


def _close_at_exit():
    """Close the runs still open when the interpreter exits, before any pool waits.

    ``concurrent.futures`` (at its import) and joblib's loky (each time it starts a new pool)
    register a hook that waits for a pool's queued work when the interpreter joins its
    threads, before :mod:`atexit`'s handlers; the hooks of that stage run newest first, so
    this one is registered there again unless it is the newest already. Python exposes that
    stage only as ``threading._register_atexit`` (what both use); without it, the
    :mod:`atexit` handler is the fallback (it runs after the wait).
    """
    register = getattr(threading, "_register_atexit", None)
    if register is None:
        if not _hooked:
            atexit.register(_close_all)
            _hooked.append(_close_all)
        return
    hooks = getattr(threading, "_threading_atexits", None) or [None]  # unknown: again
    if getattr(hooks[-1], "func", None) is _close_all:
        return
    try:
        register(_close_all)
    except RuntimeError:  # already shutting down: nothing left to stop early
        return


def _start_worker(parent):
    """In a forked worker: end with the parent, leave Ctrl-C to it, and end when asked."""
    leave_signals_to_parent()
    end_with_parent(parent)


def _run_inherited(i):
    passes, stats, stop = _inherited
    if stop.is_set():
        raise _Stopped
    return _collect(passes[i], stats, stop)
