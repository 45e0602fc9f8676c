"""A file's video decoded and its faces aligned in a process of its own.

dlib's detector and shape predictor hold Python's lock while they work, so in one process the
decoding and alignment of a timeline's frames cannot share a core with anything written in
Python (the frame features' and the audio's threads need the lock between their native
calls). Reading a file, a timeline's pass (:mod:`emoset.recognizer.timeline`) therefore runs
a :class:`FaceProcess`: a child forked from the running process (nothing is imported again)
that decodes the video stream (:func:`emoset.io.sources.iter_media` with ``only="video"``,
timed as a pass reading both streams) in a thread of its own, a few frames ahead (FFmpeg's
decoder releases the lock), and runs one :class:`~emoset.video.faces.FaceTrack` per aligner
over the kept frames, exactly as the pass does itself; it sends each kept frame's time
and its aligned faces back in order (from a third thread, so that the alignment goes on
while a parent that is still starting reads nothing), while the parent decodes the audio
(``only="audio"``), featurises the faces and analyses the audio. The faces are the same
arrays the pass computes in its own process (tested), so the rows are too.

This module imports no estimator and not scikit-learn (only :mod:`emoset.video.tracking`,
``emoset.io`` and ``emoset.utils``): the ``emoset timeline`` command starts a face process
before it imports the estimators and loads the model (:func:`start_early`), with the
settings of the default models (every frame, the default aligner), so that the faces are
aligned while the command starts. The pass takes it (:func:`take_early`) only if it asks for
exactly those settings; otherwise it is ended and the pass starts its own.

``emoset predict`` on one video clip does the same for the clip's faces, features and speech
(:mod:`emoset.utils.early`, :mod:`emoset.video.clip_faces`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time

from ..io.errors import MediaError
from ..io.sources import iter_media
from ..utils.early import in_child, start_child, stop_child
from .tracking import FaceTrack, alignment_key

__all__ = [
    "FaceProcess",
    "aligned_face",
    "end_early",
    "start_early",
    "take_early",
]


logger = logging.getLogger(__name__)

#: Kept frames sent back per message.
_SEND_EVERY = 8

#: Decoded frames the decoder thread may hold ahead of the alignment.
_AHEAD = 16

#: Messages the sending thread may hold for a parent that is not reading (a command importing
#: the estimators and loading its model): about 2 s of alignment, 1,024 frames (5.6 MB per
#: aligner of 64x64 faces and their landmarks; with dlib's 150x150 face chips, about 70 MB),
#: instead of the 64 kB a pipe holds, so that the alignment does not wait for it.
_BACKLOG = 128


def aligned_face(found):
    """What a pass keeps of a :class:`~emoset.video.faces.TrackedFace`: ``(face, chip,
    aligned_landmarks, box)``, or None (no face)."""
    if found is None:
        return None
    return found.face, found.chip, found.aligned_landmarks, found.box


def _decode_ahead(source, report, media, seconds, out):
    """The decoder thread: each kept frame's item with the count of frames decoded so far
    into ``out``, then None (or the exception that stopped it). PyAV's decoder releases
    Python's lock, so it decodes the next frames while dlib aligns this one."""
    try:
        items = iter_media(source, report=report, only="video", **media)
        try:
            while True:
                t0 = time.perf_counter()
                item = next(items, None)
                seconds["decode"] += time.perf_counter() - t0
                if item is None:
                    break
                out.put((item, report["n_decoded"]))
        finally:
            items.close()
        out.put(None)
    except BaseException as exc:
        out.put(exc)


def _send_all(conn, outbox, failed):
    """The sending thread: each message of ``outbox`` to the parent in turn, until None. A
    send that fails (the parent gone, or anything else) sets ``failed``, so that the alignment
    stops at its next message, and takes the rest of ``outbox`` unsent: the alignment never
    waits on a full queue, and the parent, its pipe closed, is told the child ended. A
    failure that is not the pipe's (a message that cannot be pickled) is sent as the error."""
    try:
        while (message := outbox.get()) is not None:
            conn.send(message)
    except BaseException as exc:
        failed.set()
        if not isinstance(exc, OSError):
            try:
                conn.send(("error", None, f"sending the faces failed: {type(exc).__name__}: {exc}"))
            except BaseException:
                pass  # the parent gets the end of the pipe instead
        while outbox.get() is not None:
            pass


def _work(conn, parent_end, source, aligners, media):
    """The child: decode (a thread of its own, :data:`_AHEAD` frames ahead), align, and send
    (a thread of its own, up to :data:`_BACKLOG` messages behind) ``("frames", [(t, faces),
    ...], n_decoded, seconds)`` batches, then ``("end", error, n_decoded, seconds)``."""
    in_child(parent_end)
    report = {}
    seconds = {"decode": 0.0, "detect_align": 0.0}
    outbox, failed = queue.Queue(maxsize=_BACKLOG), threading.Event()
    sender = threading.Thread(target=_send_all, args=(conn, outbox, failed), daemon=True)
    sender.start()

    def send(message):
        if failed.is_set():
            raise BrokenPipeError("the parent is gone")
        outbox.put(message)

    try:
        tracks = [FaceTrack(a) for a in aligners]
        decoded = queue.Queue(maxsize=_AHEAD)
        args = (source, report, media, seconds, decoded)
        threading.Thread(target=_decode_ahead, args=args, daemon=True).start()
        batch, n_decoded = [], 0
        while True:
            got = decoded.get()
            if isinstance(got, BaseException):
                raise got
            if got is None:
                break
            (_, t, frame), n_decoded = got
            t1 = time.perf_counter()
            batch.append((t, [aligned_face(track.update(frame)) for track in tracks]))
            seconds["detect_align"] += time.perf_counter() - t1
            if len(batch) >= _SEND_EVERY:
                send(("frames", batch, n_decoded, dict(seconds)))
                batch = []
        n_decoded = report.get("n_decoded") or 0  # the decoder has ended: every frame
        if batch:
            send(("frames", batch, n_decoded, dict(seconds)))
        send(("end", report.get("error"), n_decoded, dict(seconds)))
    except BaseException as exc:
        what = (os.fspath(exc.path), exc.reason) if isinstance(exc, MediaError) else None
        if not failed.is_set():
            outbox.put(("error", what, f"{type(exc).__name__}: {exc}"))
    finally:
        outbox.put(None)
        sender.join()
        conn.close()


class FaceProcess:
    """The kept video frames of a file and their aligned faces, from a forked child.

    Parameters
    ----------
    source : str or path-like
        A local file.
    aligners : list of FaceAligner or AlignerSettings
        One face track each, in this order.
    load_here : bool, default=False
        Load the aligners' dlib models in this process before the fork (a run's later
        segments: then they are loaded once, not by every child; the first child loads them
        itself, so a one-pass run does not hold them in both processes).
    **media
        ``color``, ``fps``, ``audio_sr``, ``audio`` and ``start`` as the pass gives them to
        :func:`emoset.io.sources.iter_media` (the child decodes with ``only="video"``).

    Iterating yields ``(t, faces)``: a kept frame's time and, per aligner, ``None`` or
    ``(face, chip, aligned_landmarks, box)``. ``n_decoded`` (video frames decoded up to the
    last frame received), ``error`` (the decoding error that ended the video early, or None)
    and ``seconds`` (the child's ``decode`` and ``detect_align`` time; the decoding thread's
    includes its waits for Python's lock) follow it. An error in
    the child is raised here (a :class:`~emoset.io.errors.MediaError` as itself).
    :meth:`close` ends the child (also when the caller stops early).

    Raises
    ------
    OSError
        If the child cannot be started (the pass then aligns in its own process).
    """

    def __init__(self, source, aligners, *, load_here=False, **media):
        for aligner in aligners if load_here else ():
            aligner.load_models()
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe(duplex=False)
        self._process = ctx.Process(
            target=_work,
            args=(child, self._conn, os.fspath(source), list(aligners), media),
            name="emoset-faces",
            daemon=True,
        )
        start_child(self._process, self._conn, child)
        self.n_decoded = 0
        self.error = None
        self.seconds = {"decode": 0.0, "detect_align": 0.0}

    def __iter__(self):
        while True:
            try:
                kind, *rest = self._conn.recv()
            except EOFError:
                self._process.join(5)
                raise RuntimeError(
                    f"the face alignment process ended without a result "
                    f"(exit code {self._process.exitcode})"
                ) from None
            if kind == "frames":
                (*head, last), n_decoded, self.seconds = rest
                yield from head
                # counted once the caller takes the batch's last frame (it may stop before)
                self.n_decoded = n_decoded
                yield last
            elif kind == "end":
                self.error, self.n_decoded, self.seconds = rest
                return
            else:
                media, message = rest
                if media is not None:
                    raise MediaError(*media)
                raise RuntimeError(f"face alignment failed: {message}")

    def close(self):
        """End the child (at once if it is still working) and release the pipe."""
        stop_child(self._conn, self._process)


#: ``(settings, FaceProcess)`` started by :func:`start_early`, waiting for its pass.
_early = None


def _settings(source, aligners, media):
    """What a process is compared on: the file, each aligner's parameters and whether it
    aligns with the plain building blocks (a subclass may not), and the decoding settings."""
    aligners = tuple(alignment_key(a) for a in aligners)
    return os.path.realpath(source), aligners, tuple(sorted(media.items()))


def start_early(source, aligners, **media):
    """Start a :class:`FaceProcess` for a pass that does not exist yet (the ``emoset timeline``
    command, before it loads the model); :func:`take_early` gives it to that pass."""
    global _early
    end_early()
    _early = (_settings(source, aligners, media), FaceProcess(source, aligners, **media))


def take_early(source, aligners, **media):
    """The process :func:`start_early` started, if it was started for exactly these
    settings (else it is ended); None when there is none."""
    global _early
    early, _early = _early, None
    if early is None:
        return None
    if early[0] == _settings(source, aligners, media):
        return early[1]
    early[1].close()
    return None


def end_early():
    """End a process :func:`start_early` started that no pass took."""
    global _early
    early, _early = _early, None
    if early is not None:
        early[1].close()
