"""How :mod:`._source_pass` reads a source beside its main thread.

* :class:`LiveReader`: a thread that reads a live source at its own pace into a bounded
  buffer and drops the oldest video frames when the machine falls behind.
* :func:`beside_faces`: a file's audio, decoded in the pass, merged with the frames and faces
  of a :class:`~emoset.video.face_process.FaceProcess` (its video decoded and its faces
  aligned in a forked process).
"""

from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["LiveReader", "beside_faces"]


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


def beside_faces(audio, faces, report):
    """The items of an ``only="audio"`` pass and the frames of a
    :class:`~emoset.video.face_process.FaceProcess`, merged in time order as
    ``("audio", t, samples)`` and ``("faces", t, faces)``.

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
