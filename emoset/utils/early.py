"""Work a command does ahead on one file, in a forked child, while it imports the estimators.

``emoset predict`` on one local clip spends most of a second importing scikit-learn and
loading its model before it asks for the clip's features. It forks a child first
(:func:`start_early_clip`) that works on the clip meanwhile, and the clip's extraction takes
what the child made (:func:`take_early_clip`) only where it asks for exactly what the child
made.

The child's work gives first its *plan*: the list of the parts it will make, each a plain
description of what the part is and of every setting it depends on, the file's identity
included (:func:`file_state`); then it makes each part in turn, saying when it starts one
and sending its value (None for a part it could not make, or made with a warning: the caller
then makes it itself, and the warning reaches the user). A caller asks for a part by its
description. A part the plan does not list, equal in every setting, is not taken (the
caller makes it); a listed part the child is making, or has made, is waited for; a listed
part the child has not started yet is left to the caller, and the child does not make it
(so a long piece of work the child would reach late is done beside it instead). Which
parts are taken therefore depends on how far the child has got; the values never do: those
taken are the numbers the caller would compute (tested for each kind of part).

This module imports nothing heavy and no estimator: the child must be working before the
command's imports begin. A forked process is Linux-only here (:func:`fork_available`).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import warnings
from typing import NamedTuple

__all__ = [
    "early_clip_waiting",
    "end_early_clip",
    "end_with_parent",
    "file_state",
    "fork_available",
    "in_child",
    "leave_signals_to_parent",
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


def leave_signals_to_parent():
    """In a forked child: leave Ctrl-C to the parent (which ends the child), and end when it
    is ended (SIGTERM's default, not a handler of the parent's)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def in_child(parent_end):
    """What a forked child does first: :func:`leave_signals_to_parent`, and close its copy of
    the parent's end of the pipe, so that a send fails once the parent is gone instead of
    waiting forever."""
    leave_signals_to_parent()
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


class _EarlyChild:
    """The child :func:`start_early_clip` started, and what it has said so far.

    A thread of this process receives the child's messages as they come (so the child's
    sends never wait for the command, and it ends as soon as it has made everything): its
    plan, then for each part that it starts making, and its value once made. The callers
    of :func:`take_early_clip` wait on a condition for a part the child has started; a part
    it has not started yet they make themselves, and tell the child not to."""

    def __init__(self, conn, process):
        self.conn = conn  # this process's end of the pipe (both ways)
        self.sending = threading.Lock()
        self.process = process
        self.changed = threading.Condition()
        self.plan = None  # the parts the child makes, once it has said
        self.started = set()  # the parts it has started making
        self.values = {}  # index in the plan -> value, received and not yet taken
        self.taken = set()  # taken, or being waited for
        self.left = set()  # left to the caller, which makes them itself
        self.settled = set()  # taken, left, or found not made: nothing more to give
        self.over = False  # nothing more will come (everything sent, or the pipe ended)
        self.ended = False
        self.receiver = threading.Thread(
            target=self._receive_all, name="emoset-early-receiver", daemon=True
        )
        self.receiver.start()

    def _receive_all(self):
        try:
            kind, plan = self.conn.recv()
            with self.changed:
                self.plan = plan if kind == "plan" and isinstance(plan, list) else []
                if self.plan:
                    self.started.add(0)  # the child starts with it: never left to the caller
                self.changed.notify_all()
            while self.plan:
                message = self.conn.recv()
                index = message[1]
                if not (isinstance(index, int) and 0 <= index < len(self.plan)):
                    break  # not what the child sends: nothing more is taken
                with self.changed:
                    if message[0] == "start":
                        self.started.add(index)
                    elif index not in self.left:
                        self.values[index] = message[2]
                    self.changed.notify_all()
        except Exception as exc:  # EOF (the child ended or gave up), a message that does not load
            logger.debug("the early process %s sends nothing more (%r)", self.process.pid, exc)
        finally:
            with self.changed:
                self.over = True
                self.changed.notify_all()

    def makes(self, kind):
        """Whether the child makes a part of this kind (once it has said what it makes)."""
        with self.changed:
            self.changed.wait_for(lambda: self.plan is not None or self.over)
            return any(p[0] == kind for p in self.plan or [])

    def take(self, part):
        """``part``'s value, None if the caller is to make it (the child could not, has not
        started it, or it was taken), or :data:`_NOT_MADE` if the child does not make it."""
        with self.changed:
            self.changed.wait_for(lambda: self.plan is not None or self.over)
            plan = self.plan or []
            if part not in plan:
                return _NOT_MADE
            index = plan.index(part)
            if index in self.taken:
                return None
            self.taken.add(index)
            leave = index not in self.values and index not in self.started and not self.over
            if not leave:
                self.changed.wait_for(lambda: index in self.values or self.over)
                self.settled.add(index)
                return self.values.pop(index, None)
            self.left.add(index)  # not started: the caller makes it, the child does not
            self.settled.add(index)
        self._leave(index)
        return None

    def _leave(self, index):
        with self.sending:
            try:
                self.conn.send(index)
            except (OSError, ValueError):
                pass  # the child has ended

    def done(self):
        """Whether nothing is left to take (everything came and was taken, or every part was
        taken or left)."""
        with self.changed:
            if self.plan is not None and len(self.settled) == len(self.plan):
                return True
            return self.over and not self.values

    def stop(self):
        """Stop the child; what it sent is still received."""
        with self.changed:
            if self.ended:
                return
        if self.process.is_alive():
            self.process.terminate()

    def end(self):
        with self.changed:
            if self.ended:
                return
            self.ended = True
        if self.process.is_alive():
            self.process.terminate()  # the receiving thread then meets the end of the pipe
        self.process.join()
        self.receiver.join()
        with self.sending:
            self.conn.close()


class _EarlyClip(NamedTuple):
    """The child :func:`start_early_clip` started for one file."""

    file: str  # its real path
    child: _EarlyChild
    scratch: str  # the child's temporary folder, removed with it
    pid: int  # the process that started it (a forked worker's inherited copy is not its)


#: What :meth:`_EarlyChild.take` gives for a part the child does not make.
_NOT_MADE = object()

_early_clip = None


def _clip_work(conn, parent_end, work, path, parent, scratch):
    """The child of :func:`start_early_clip`: send ``work(path)``'s plan, then make each part
    the parent has not left to itself, saying when it starts one and sending its value.
    Whatever stops it, the parent meets the end of the pipe and makes the rest itself.

    The messages go from a thread of their own (a part larger than the pipe holds waits
    there while the next is made); the child ends with its parent, stops making parts once
    the parent cannot take them, and keeps its temporary files in ``scratch``, which the
    parent removes however the child ended."""
    in_child(parent_end)
    end_with_parent(parent)
    logging.disable(logging.CRITICAL)  # the parent tells what happened, making it anew
    tempfile.tempdir = scratch
    outbox, gone = queue.SimpleQueue(), threading.Event()
    sender = threading.Thread(target=_send_all, args=(conn, outbox, gone), daemon=True)
    sender.start()
    try:
        plan, makers = work(path)
        outbox.put(("plan", list(plan)))
        left = set()  # the parts the parent makes itself
        for index, make in enumerate(makers):
            while conn.poll():
                left.add(conn.recv())
            if gone.is_set():
                break
            if index not in left:
                outbox.put(("start", index))
                outbox.put(("made", index, make()))
    except BaseException:
        pass  # the parent makes what it did not get, and meets the error there
    finally:
        outbox.put(None)
        sender.join()
        conn.close()


def _send_all(conn, outbox, gone):
    """The child's sending thread: each message of ``outbox`` in turn, until None or until the
    parent is gone (then ``gone`` is set)."""
    try:
        for message in iter(outbox.get, None):
            conn.send(message)
    except Exception:  # the parent is gone or ended the child, or a value does not pickle
        gone.set()


def start_early_clip(path, work):
    """Run ``work`` on ``path`` in a forked child while this process imports the estimators
    and loads a model (``emoset predict`` on one clip; see the module's description).

    ``work`` is a function of the path that returns its plan (a list of part descriptions,
    tuples whose first item names the part's kind, compared with ``==``) and, for each part,
    a function without arguments that makes its value (None: not made); the child makes
    them in order. The parts are taken with :func:`take_early_clip`; one file at a time
    (starting again ends the child before). Linux only, from the main thread
    (:func:`fork_available`): a child ends with the thread that forked it.
    """
    global _early_clip
    if not fork_available():
        raise RuntimeError("start_early_clip forks: Linux only, from the main thread")
    end_early_clip()
    scratch = tempfile.mkdtemp(prefix="emoset-early-")
    try:
        child = _start_child_of(work, os.fspath(path), scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    _early_clip = _EarlyClip(os.path.realpath(path), child, scratch, os.getpid())


def _start_child_of(work, path, scratch):
    ctx = multiprocessing.get_context("fork")
    conn, child = ctx.Pipe()  # both ways: the parent says which parts it makes itself
    process = ctx.Process(
        target=_clip_work,
        args=(child, conn, work, path, os.getpid(), scratch),
        name="emoset-clip-early",
        daemon=True,
    )
    start_child(process, conn, child)
    try:
        return _EarlyChild(conn, process)
    except BaseException:
        stop_child(conn, process)
        raise


def early_clip_waiting(path):
    """Whether :func:`start_early_clip` started a child for the file ``path`` that may still
    have something to take."""
    early = _early_clip
    return (
        early is not None
        and early.pid == os.getpid()
        and early.file == os.path.realpath(path)
        and not early.child.done()
    )


def take_early_clip(path, part, *, needed=False):
    """The value the child of :func:`start_early_clip` made for ``part`` of the file
    ``path``, waiting for it if the child is making it; None if the child does not make
    exactly this part, or could not, or has not started it yet (it then leaves it), or it
    was taken already: the caller then makes it itself.

    ``needed``: the child's other parts of this kind are of use only with this one (a
    clip's faces, which the child's frame features are of), so a child that makes parts of
    this kind but not this one is stopped (:func:`stop_early_clip`).
    """
    early = _early_clip
    if not early_clip_waiting(path):
        return None
    value = early.child.take(part)
    if value is _NOT_MADE:
        if needed:
            stop_early_clip(path, part[0])
        return None
    if not early_clip_waiting(path):
        end_early_clip()  # everything taken
    if value is not None:
        logger.debug("%s of %s: made by the process the command started early", part[0], path)
    return value


def stop_early_clip(path, kind):
    """Stop the child of :func:`start_early_clip` if it makes parts of this kind for the
    file ``path`` (the caller needs none of them: e.g. the clip's faces were cached); the
    parts it has sent stay to be taken."""
    early = _early_clip
    if early_clip_waiting(path) and early.child.makes(kind):
        early.child.stop()


def end_early_clip():
    """End the child :func:`start_early_clip` started and remove its temporary folder; what
    it sent and nobody took is let go."""
    global _early_clip
    early, _early_clip = _early_clip, None
    if early is not None and early.pid == os.getpid():
        early.child.end()
        shutil.rmtree(early.scratch, ignore_errors=True)
