"""Work a command does ahead on one file, in a forked child, while it imports the estimators.

``emoset predict`` on one local clip spends most of a second importing scikit-learn and
loading its model before it asks for the clip's features. It forks a child first
(:func:`start_early_clip`) that works on the clip meanwhile, and the clip's extraction takes
what the child made (:func:`take_early_clip`) only where it asks for exactly what the child
made.

The child's work is a generator. It yields first its *plan*: the list of the parts it will
send, each a plain description of what the part is and of every setting it depends on, the
file's identity included (:func:`file_state`); then each part's value, in the plan's order
(None for a part it could not make, or made with a warning: the caller then makes it itself,
and the warning reaches the user). A caller asks for a part by its description: a part the
plan does not list, equal in every setting, is not taken (the caller makes it), and a listed
part is waited for. The features taken are the numbers the caller would compute (tested for
each kind of part).

This module imports nothing heavy and no estimator: the child must be working before the
command's imports begin. A forked process is Linux-only here (:func:`fork_available`).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import warnings

__all__ = [
    "early_clip_waiting",
    "end_early_clip",
    "end_with_parent",
    "file_state",
    "fork_available",
    "in_child",
    "start_child",
    "start_early_clip",
    "stop_child",
    "stop_early_clip",
    "take_early_clip",
]

logger = logging.getLogger(__name__)


def fork_available():
    """Whether this process can fork a helper: Linux (forking a threaded process is unsafe on
    macOS), from the main thread of a process that is no pool's worker."""
    return (
        sys.platform.startswith("linux")
        and threading.current_thread() is threading.main_thread()
        and not multiprocessing.current_process().daemon
    )


def file_state(path):
    """A file as work done ahead on it is compared on: where it is, its size and its times,
    the change time included (a file copied over it with its times kept changes it); None if
    it cannot be read (then nothing is taken, and the caller says what is wrong)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


#: ``prctl``'s option that signals a process when its parent ends (Linux).
_PR_SET_PDEATHSIG = 1


def end_with_parent(parent):
    """In a forked child: be killed when the process ``parent`` (which forked it, from its
    main thread) ends, even killed outright, instead of working on for nobody (Linux's
    ``PR_SET_PDEATHSIG``); exit at once if it has already ended."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:  # pragma: no cover
        logger.debug("prctl(PR_SET_PDEATHSIG): errno %d", ctypes.get_errno())
    if os.getppid() != parent:  # the parent ended before the line above
        os._exit(1)


def in_child(parent_end):
    """What a forked child does first: leave Ctrl-C to the parent (which ends the child), end
    when it is ended, and close its copy of the parent's end of the pipe, so that a send
    fails once the parent is gone instead of waiting forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not a handler of the parent's
    parent_end.close()


def start_child(process, conn, child):
    """Fork ``process``, then close this process's copy of the child's end of the pipe."""
    try:
        with warnings.catch_warnings():
            # Python 3.12+ on any fork from a process with threads (BLAS, ONNX Runtime); the
            # children run emoset's own work on one file and leave with os._exit
            warnings.filterwarnings("ignore", "This process .* is multi-threaded")
            process.start()
    except BaseException:
        conn.close()
        raise
    finally:
        child.close()


def stop_child(conn, process):
    """End a child (if it still runs) and close this process's end of its pipe."""
    if process.is_alive():
        process.terminate()
    process.join()
    conn.close()


# ---------------------------------------------------------------------- one clip (predict)


class _EarlyClip:
    """A child :func:`start_early_clip` started, and what it has sent so far.

    A thread of this process receives the child's messages as they come (so the child's
    sends never wait for the command, and it ends as soon as it has made everything); the
    callers of :func:`take_early_clip` wait on a condition for the part they ask for."""

    def __init__(self, file, conn, process):
        self.file = file  # the clip's real path
        self.conn = conn  # this process's end of the pipe
        self.process = process
        self.pid = os.getpid()  # a forked worker's inherited copy is not its
        self.changed = threading.Condition()
        self.plan = None  # the parts the child makes, once it has said
        self.values = {}  # index in the plan -> value, received and not yet taken
        self.taken = set()
        self.over = False  # nothing more will come (everything sent, or the pipe ended)
        self.receiver = threading.Thread(
            target=self._receive_all, name="emoset-early-receiver", daemon=True
        )
        self.receiver.start()

    def _receive_all(self):
        try:
            plan = self.conn.recv()
            with self.changed:
                self.plan = plan if isinstance(plan, list) else []
                self.changed.notify_all()
            for _ in self.plan:
                index, value = self.conn.recv()
                if not (isinstance(index, int) and 0 <= index < len(self.plan)):
                    break  # not what the child sends: nothing more is taken
                with self.changed:
                    self.values[index] = value
                    self.changed.notify_all()
        except Exception as exc:  # EOF (the child ended or gave up), a message that does not load
            logger.debug("%s: the early process sends nothing more (%r)", self.file, exc)
        finally:
            with self.changed:
                self.over = True
                self.changed.notify_all()

    def take(self, part):
        """``part``'s value, None if it could not be made (or was taken), or :data:`_NOT_MADE`
        if the child does not make it."""
        with self.changed:
            self.changed.wait_for(lambda: self.plan is not None or self.over)
            plan = self.plan or []
            if part not in plan:
                return _NOT_MADE
            index = plan.index(part)
            self.changed.wait_for(lambda: index in self.values or self.over)
            if index in self.taken or index not in self.values:
                return None
            self.taken.add(index)
            return self.values.pop(index)

    def done(self):
        """Whether nothing is left to take."""
        with self.changed:
            return self.over and not self.values


#: What :meth:`_EarlyClip.take` gives for a part the child does not make.
_NOT_MADE = object()

_early_clip = None


def _clip_work(conn, parent_end, work, path, parent):
    """The child of :func:`start_early_clip`: send ``work(path)``'s plan, then each part.
    Whatever stops it, the parent meets the end of the pipe and makes the rest itself.

    The parts go from a thread of their own (a part larger than the pipe holds waits there
    while the next is made); the child ends with its parent, and stops making parts once the
    parent cannot take them."""
    in_child(parent_end)
    end_with_parent(parent)
    logging.disable(logging.CRITICAL)  # the parent tells what happened, making it anew
    outbox, gone = queue.SimpleQueue(), threading.Event()
    sender = threading.Thread(target=_send_all, args=(conn, outbox, gone), daemon=True)
    sender.start()
    try:
        parts = work(path)
        outbox.put(list(next(parts)))
        for index, value in enumerate(parts):
            if gone.is_set():
                break
            outbox.put((index, value))
    except BaseException:
        pass  # the parent makes what it did not get, and meets the error there
    finally:
        outbox.put(None)
        sender.join()
        conn.close()


def _send_all(conn, outbox, gone):
    """The child's sending thread: each message of ``outbox`` in turn, until None or until
    the parent is gone (then ``gone`` is set)."""
    try:
        for message in iter(outbox.get, None):
            conn.send(message)
    except (OSError, ValueError):
        gone.set()  # the parent is gone, or ended the child


def start_early_clip(path, work):
    """Run ``work(path)`` in a forked child while this process imports the estimators and
    loads a model (``emoset predict`` on one clip; see the module's description).

    ``work`` is a generator function: it yields the plan (a list of part descriptions,
    compared with ``==``), then each part's value in order (None: not made). Its parts are
    taken with :func:`take_early_clip`; one child at a time (starting another ends the first).
    """
    global _early_clip
    end_early_clip()
    ctx = multiprocessing.get_context("fork")
    conn, child = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_clip_work,
        args=(child, conn, work, os.fspath(path), os.getpid()),
        name="emoset-clip-early",
        daemon=True,
    )
    start_child(process, conn, child)
    _early_clip = _EarlyClip(os.path.realpath(path), conn, process)


def early_clip_waiting(path):
    """Whether :func:`start_early_clip` started a child for the file ``path`` that may still
    have something to take."""
    early = _early_clip
    return (
        early is not None
        and early.pid == os.getpid()
        and early.file == os.path.realpath(path)
        and not early.done()
    )


def take_early_clip(path, part, *, needed=False):
    """The value the child of :func:`start_early_clip` made for ``part`` of the file
    ``path``, waiting for it if need be; None if the child does not make exactly this part
    (or could not, or it was taken already): the caller then makes it itself.

    ``needed``: the child's later parts are of use only with this one (a clip's faces, which
    the child's frame features are of), so a child that does not make it stops
    (:func:`stop_early_clip`); what it sent before stays to be taken.
    """
    early = _early_clip
    if not early_clip_waiting(path):
        return None
    value = early.take(part)
    if value is _NOT_MADE:
        if needed:
            stop_early_clip(path)
        return None
    if early.done():
        _end(early)
    if value is not None:
        logger.debug("%s of %s: made by the process the command started early", part[0], path)
    return value


def stop_early_clip(path):
    """Stop the child of :func:`start_early_clip` making parts of the file ``path`` (the
    caller needs no more of them: e.g. the clip's faces were cached); the parts it has sent
    stay to be taken."""
    early = _early_clip
    if early_clip_waiting(path) and early.process.is_alive():
        early.process.terminate()  # what is in the pipe is still received


def end_early_clip():
    """End the child :func:`start_early_clip` started; what it sent and nobody took is let
    go."""
    early = _early_clip
    if early is not None and early.pid == os.getpid():
        _end(early)


def _end(early):
    global _early_clip
    if _early_clip is early:
        _early_clip = None
    if early.process.is_alive():
        early.process.terminate()  # the receiving thread then meets the end of the pipe
    early.process.join()
    early.receiver.join()
    early.conn.close()
