"""How :mod:`._source_pass` reads a source beside its main thread.

* :class:`LiveReader`: a thread that reads a live source at its own pace into a bounded
  buffer and drops the oldest video frames when the machine falls behind.
* :class:`FaceProcess`: a file's video decoded and its faces aligned in a process of its own.

dlib's detector and shape predictor hold Python's lock while they work, so in one process the
decoding and alignment of a timeline's frames cannot share a core with anything written in
Python (the frame features' and the audio's threads need the lock between their native
calls). Reading a file, :class:`~emoset.recognizer._source_pass.SourcePass` therefore starts a
:class:`FaceProcess`: a child forked from the running process (nothing is imported or loaded
again) that decodes the video stream (:func:`emoset.io.sources.iter_media` with
``only="video"``, timed as a pass reading both streams) and runs one
:class:`~emoset.video.faces.FaceTrack` per aligner over the kept frames, exactly as the pass
does itself; it sends each kept frame's time and its aligned faces back in order, while the
parent decodes the audio (``only="audio"``), featurises the faces and analyses the audio. The
faces are the same arrays the pass computes in its own process (tested), so the rows are too.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections import deque

from ..io.errors import MediaError
from ..io.sources import iter_media
from ..video.faces import FaceTrack

__all__ = [
    "FaceProcess",
    "LiveReader",
    "aligned_face",
    "beside_faces",
    "face_process_available",
]


class LiveReader(threading.Thread):
    """Reads a source into a bounded buffer; drops the oldest video frame when it is full."""

    def __init__(self, items, maxsize):
        super().__init__(name="emoset-timeline-reader", daemon=True)
        self._items = items
        self._maxsize = int(maxsize)
        self._buf = deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self.done = False
        self.error = None
        self.dropped = {"video": 0, "audio": 0}

    def run(self):
        try:
            for kind, t, data in self._items:
                if self._stop.is_set():
                    break
                item = (kind, t, data, time.monotonic())
                with self._cond:
                    if len(self._buf) >= self._maxsize:
                        self._drop_oldest()
                    self._buf.append(item)
                    self._cond.notify()
        except Exception as exc:  # reported by the consumer, which owns the run
            self.error = exc
        finally:
            with self._cond:
                self.done = True
                self._cond.notify()

    def _drop_oldest(self):
        for i, item in enumerate(self._buf):
            if item[0] == "video":
                del self._buf[i]
                self.dropped["video"] += 1
                return
        self._buf.popleft()
        self.dropped["audio"] += 1

    def get(self, timeout):
        """The next item; ``"end"`` when the source ended, ``"stall"`` after ``timeout`` s."""
        with self._cond:
            if not self._buf and not self.done:
                self._cond.wait(timeout)
            if self._buf:
                return self._buf.popleft()
            return "end" if self.done else "stall"

    def stop(self):
        self._stop.set()


#: Kept frames sent back per message.
_SEND_EVERY = 8


def face_process_available():
    """Whether this process can fork a :class:`FaceProcess`: Linux (forking a threaded
    process is unsafe on macOS), from the main thread of a process that is no pool's worker."""
    return (
        sys.platform.startswith("linux")
        and threading.current_thread() is threading.main_thread()
        and not multiprocessing.current_process().daemon
    )


def aligned_face(found):
    """What a pass keeps of a :class:`~emoset.video.faces.TrackedFace`: ``(face, chip,
    aligned_landmarks, box)``, or None (no face)."""
    if found is None:
        return None
    return found.face, found.chip, found.aligned_landmarks, found.box


def _work(conn, source, aligners, media):
    """The child: decode, align, send ``("frames", [(t, faces), ...], n_decoded, seconds)``
    batches, then ``("end", error, n_decoded, seconds)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's, which ends this
    report = {}
    seconds = {"decode": 0.0, "detect_align": 0.0}
    try:
        tracks = [FaceTrack(a) for a in aligners]
        items = iter_media(source, report=report, only="video", **media)
        batch = []
        while True:
            t0 = time.perf_counter()
            item = next(items, None)
            t1 = time.perf_counter()
            seconds["decode"] += t1 - t0
            if item is None:
                break
            _, t, frame = item
            batch.append((t, [aligned_face(track.update(frame)) for track in tracks]))
            seconds["detect_align"] += time.perf_counter() - t1
            if len(batch) >= _SEND_EVERY:
                conn.send(("frames", batch, report["n_decoded"], seconds))
                batch = []
        if batch:
            conn.send(("frames", batch, report["n_decoded"], seconds))
        conn.send(("end", report.get("error"), report.get("n_decoded") or 0, seconds))
    except BaseException as exc:
        what = (os.fspath(exc.path), exc.reason) if isinstance(exc, MediaError) else None
        try:
            conn.send(("error", what, f"{type(exc).__name__}: {exc}"))
        except (OSError, ValueError):
            pass  # the parent is gone
    finally:
        conn.close()


class FaceProcess:
    """The kept video frames of a file and their aligned faces, from a forked child.

    Parameters
    ----------
    source : str or path-like
        A local file.
    aligners : list of FaceAligner
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
    and ``seconds`` (the child's ``decode`` and ``detect_align`` time) follow it. An error in
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
            args=(child, os.fspath(source), list(aligners), media),
            name="emoset-faces",
            daemon=True,
        )
        try:
            with warnings.catch_warnings():
                # Python 3.12+ on any fork from a process with threads (BLAS, ONNX Runtime);
                # the child runs nothing but the decoder and dlib, and leaves with os._exit
                warnings.filterwarnings("ignore", "This process .* is multi-threaded")
                self._process.start()
        except BaseException:
            self._conn.close()
            raise
        finally:
            child.close()
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
                batch, n_decoded, self.seconds = rest
                for i, item in enumerate(batch):
                    # frames the caller took (it may stop at any one): those decoded up to it
                    self.n_decoded = n_decoded if i == len(batch) - 1 else self.n_decoded
                    yield item
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
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._conn.close()


def beside_faces(audio, faces, report):
    """The items of an ``only="audio"`` pass and a :class:`FaceProcess`'s frames, merged in
    time order as ``("audio", t, samples)`` and ``("faces", t, faces)``.

    A decoding error ends both streams where the failing one stopped, as it ends a pass that
    demultiplexes both (to within the items one holds ahead of the other); ``report`` (the
    audio pass's) gets the process's ``n_decoded`` and the error. The process is closed when
    the items end or the caller stops.
    """
    try:
        frames = iter(faces)
        a, v = next(audio, None), next(frames, None)
        last_a = last_v = None
        while a is not None or v is not None:
            if v is None and faces.error is not None and last_v is not None and a[1] > last_v:
                break  # the video ended at an error: no sound after its last frame
            if a is None and report.get("error") and last_a is not None and v[0] > last_a:
                break  # the audio ended at an error: no frame after its last sound
            if v is None or (a is not None and a[1] < v[0]):
                yield a
                last_a = a[1]
                a = next(audio, None)
            else:
                yield ("faces", *v)
                last_v = v[0]
                v = next(frames, None)
    finally:
        report["n_decoded"] = faces.n_decoded
        report["error"] = report.get("error") or faces.error
        audio.close()
        faces.close()
