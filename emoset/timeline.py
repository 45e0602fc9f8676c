"""Emotion over time: windows over a long file or a live stream, one row per window.

A fitted :class:`~emoset.system.AudioVisualEmotionRecognizer` labels one clip at a time;
:func:`predict_timeline` slides a window (``window`` seconds, every ``hop`` seconds) over a
source and labels each window as if it were a clip:

* **one pass**: the source is demultiplexed once (:func:`emoset.media.iter_media`); video
  frames are kept at the model's frame rate, and each kept frame is aligned once (one
  :class:`~emoset.faces.FaceTrack` per aligner) and featurised once per frame feature (in
  batches, when a window needs them). A window's image set is the feature rows of the frames
  whose timestamps fall in ``[start, end)``, shared by the overlapping windows; the audio is
  cut into the same windows and each piece goes through the audio subsystems' feature step
  (:meth:`~emoset.audio.OpenSmileFeatures.extract_signal`).
* **bounded memory**: only the frames and samples of windows still open are kept, so memory
  does not grow with the length of the source.
* **scoring**: the subsystems' classifiers score the windows' features
  (:meth:`~emoset.system.AudioVisualEmotionRecognizer.score_features`) and the model's fitted
  fusion combines them, as for a clip. A window with fewer than
  :data:`~emoset.subsystems.MIN_FACES` aligned faces is abstained on by the video subsystems
  (the ``reason`` column says so) while the audio still scores it; a window no subsystem can
  score gets no label (``None``), never a guess.
* **live sources** (``live=True``): a reader thread reads the source at its own pace into a
  bounded buffer; when the machine falls behind, the oldest video frames are dropped (and
  counted) rather than buffered without bound. Each window is yielded as soon as it is
  complete, with its latency (from the moment the last frame or audio chunk of the window was
  read to the moment its row is ready). A source that stalls for ``stall_timeout`` seconds, or
  ends, ends the run cleanly.

:func:`stream_timeline` yields the rows one by one (what ``emoset timeline --live`` prints as
JSON lines); :func:`predict_timeline` collects them into a pandas DataFrame whose ``attrs``
hold the run's statistics (frames dropped, why it ended, time per stage, face boxes).
:func:`write_overlay` re-encodes a file with the tracked face box and the current label drawn.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from numbers import Real

import numpy as np

from .scoring import scores_to_labels, softmax
from .speech import speech_activity
from .subsystems import MIN_FACES

__all__ = [
    "SPEECH_MIN_ACTIVITY",
    "TimelineRun",
    "predict_timeline",
    "smooth_timeline",
    "stream_timeline",
    "write_overlay",
]

logger = logging.getLogger(__name__)

#: A window has speech when at least this fraction of its 30 ms frames is voice-loud (see
#: :func:`emoset.speech.speech_activity`).
SPEECH_MIN_ACTIVITY = 0.2

#: Rate of the decoded audio the windows are cut from (the audio steps band-limit and
#: resample each piece as they do a file).
AUDIO_RATE = 16000

#: Windows scored together when reading a file (live sources score each window at once).
_BATCH = 16

#: Faces featurised per call (the frame features' working memory stays the same size).
_FACE_BATCH = 64

_STAGES = ("decode", "detect_align", "features", "audio", "classify")


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a positive number of seconds; got {value!r}.")
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds; got {value!r}.")
    return float(value)


class _LiveReader(threading.Thread):
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


class _Frame:
    __slots__ = ("t", "read", "faces", "rows", "box")

    def __init__(self, t, read):
        self.t = t
        self.read = read
        self.faces = {}  # aligner group -> (face, chip) or None
        self.rows = {}  # video subsystem -> feature row
        self.box = None


class TimelineRun:
    """One run of the timeline over a source: iterate for the rows, then read ``stats``.

    Made by :func:`stream_timeline` (see there for the parameters).

    Attributes
    ----------
    columns : list of str
        The columns of every row, in order.
    stats : dict
        Filled as the run goes: ``n_windows``, ``n_frames`` (video frames kept), ``n_decoded``
        (video frames decoded), ``dropped`` (live: ``{"video": n, "audio": n}`` items dropped
        because the reader's buffer was full), ``ended`` (``"end of stream"``, or why the run
        stopped early), ``duration`` (seconds of source read), ``has_video``, ``has_audio``,
        ``fps`` (frames kept per second of source), ``seconds`` (wall time per stage:
        ``decode``, ``detect_align``, ``features``, ``audio``, ``classify``, and ``total``;
        reading a file, the audio of the windows is analysed in a second thread while frames
        are read, ``audio`` is then the time spent waiting for it and ``audio_work`` the
        thread's own time),
        ``faces`` (an ``(n, 5)`` array of ``time, left, top, right, bottom`` of the tracked
        face of every kept frame that had one).
    """

    def __init__(
        self,
        model,
        source,
        *,
        window,
        hop,
        smooth,
        fps,
        live,
        stall_timeout,
        queue_size,
        max_seconds,
    ):
        self.model = model
        self.source = source
        self.window = _check_positive("window", window)
        self.hop = _check_positive("hop", hop)
        self.stall_timeout = _check_positive("stall_timeout", stall_timeout)
        if max_seconds is not None:
            max_seconds = _check_positive("max_seconds", max_seconds)
        self.max_seconds = max_seconds
        if isinstance(smooth, bool) or not isinstance(smooth, (int, np.integer)) or smooth < 1:
            raise ValueError(f"smooth must be an integer >= 1 (windows); got {smooth!r}.")
        self.smooth = int(smooth)
        if isinstance(queue_size, bool) or not isinstance(queue_size, (int, np.integer)):
            raise ValueError(f"queue_size must be an integer >= 2; got {queue_size!r}.")
        if queue_size < 2:
            raise ValueError(f"queue_size must be an integer >= 2; got {queue_size!r}.")
        self.queue_size = int(queue_size)
        self.live = bool(live)
        self.classes = [str(c) for c in model.classes_]
        steps = model.feature_steps()
        self.video = [n for n in steps if model.modalities_[n] == "video"]
        self.audio = [n for n in steps if model.modalities_[n] == "audio"]
        self.steps = steps
        if fps is None:
            rates = [steps[n].fps for n in self.video if steps[n].fps is not None]
            fps = max(rates) if rates else None
        elif not (isinstance(fps, Real) and np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number or None; got {fps!r}.")
        self.fps = None if fps is None else float(fps)
        self.columns = ["start", "end", "label", "reason", *self.classes]
        self.columns += ["n_faces", "speech", "subsystems"]
        if self.live:
            self.columns.append("latency")
        self.stats = {
            "n_windows": 0,
            "n_frames": 0,
            "n_decoded": 0,
            "dropped": {"video": 0, "audio": 0},
            "ended": None,
            "duration": 0.0,
            "has_video": None,
            "has_audio": None,
            "fps": self.fps,
            "seconds": dict.fromkeys(_STAGES + ("audio_work",), 0.0),
            "faces": np.zeros((0, 5)),
        }

    # ------------------------------------------------------------------ setup
    def _setup_video(self):
        """One face track per distinct aligner; a featurizer per video subsystem."""
        from sklearn.base import clone

        self._groups = {}  # aligner key -> FaceTrack
        self._group_of = {}
        self._featurize = {}
        from .faces import FaceTrack

        for name in self.video:
            step = self.steps[name]
            aligner = step.make_aligner()
            key = repr(sorted(clone(aligner).get_params().items()))
            if key not in self._groups:
                self._groups[key] = FaceTrack(aligner)
            self._group_of[name] = key
            self._featurize[name] = step.frame_featurizer()
        self._first_group = next(iter(self._groups), None)
        self._color = "rgb" if any(t.aligner.chips for t in self._groups.values()) else "gray"

    # ------------------------------------------------------------------ per item
    def _add_frame(self, t, frame, read):
        secs = self.stats["seconds"]
        t0 = time.perf_counter()
        fr = _Frame(t, read)
        for key, track in self._groups.items():
            found = track.update(frame)
            fr.faces[key] = (
                None if found is None else (found.face, found.chip, found.aligned_landmarks)
            )
            if key == self._first_group and found is not None:
                fr.box = found.box
        secs["detect_align"] += time.perf_counter() - t0
        if fr.box is not None:
            self._boxes.append((t, *fr.box))
        self._frames.append(fr)
        self.stats["n_frames"] += 1
        self._video_t = t

    def _add_audio(self, t, y, read):
        if self._audio_t0 is None:
            self._audio_t0 = t
            self._audio_end = t
        gap = int(round((t - self._audio_end) * AUDIO_RATE))
        if gap > 0:  # samples dropped or missing: silence keeps the time axis right
            self._chunks.append(np.zeros(gap, np.float32))
            self._audio_end += gap / AUDIO_RATE
        self._chunks.append(y)
        self._audio_end += y.size / AUDIO_RATE
        self._audio_reads.append((self._audio_end, read))

    # ------------------------------------------------------------------ windows
    def _bounds(self, k):
        start = round(k * self.hop, 6)
        return start, round(start + self.window, 6)

    def _complete(self, end):
        """Whether every stream has delivered data up to ``end``."""
        if self._has_video and (self._video_t is None or self._video_t < end):
            return False
        return not (self._has_audio and (self._audio_end is None or self._audio_end < end))

    def _audio_piece(self, start, end):
        if self._audio_t0 is None:
            return None
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        y = self._chunks[0] if self._chunks else np.zeros(0, np.float32)
        a = max(0, int(round((start - self._audio_t0) * AUDIO_RATE)))
        b = max(a, int(round((end - self._audio_t0) * AUDIO_RATE)))
        return y[a:b]

    def _prune(self, start):
        """Forget frames and samples before ``start`` (no open window needs them)."""
        while self._frames and self._frames[0].t < start:
            self._frames.popleft()
        if self._audio_t0 is not None and start > self._audio_t0 and self._chunks:
            if len(self._chunks) > 1:
                self._chunks = [np.concatenate(self._chunks)]
            cut = int(round((start - self._audio_t0) * AUDIO_RATE))
            cut = min(cut, self._chunks[0].size)
            self._chunks = [self._chunks[0][cut:]]
            self._audio_t0 += cut / AUDIO_RATE
        while self._audio_reads and self._audio_reads[0][0] < start:
            self._audio_reads.popleft()

    def _take(self, start, end):
        """A window's frames, its audio and the time its last item was read."""
        frames = [f for f in self._frames if start <= f.t < end]
        read = max((f.read for f in frames), default=0.0)
        piece = self._audio_piece(start, end) if self._has_audio else None
        if piece is not None:
            piece = piece.copy()  # the buffer is cut while the audio thread works
        for a_end, a_read in self._audio_reads:  # the chunk that holds the window's end
            if a_end >= end - 1e-9 or a_end == self._audio_reads[-1][0]:
                read = max(read, a_read)
                break
        audio = None
        if self.audio:
            if self._audio_pool is not None:
                audio = self._audio_pool.submit(self._audio_features, piece)
            else:
                audio = self._audio_features(piece)
        return {"start": start, "end": end, "frames": frames, "audio_features": audio, "read": read}

    def _audio_features(self, y):
        """Each audio subsystem's features of one window's signal, and whether it has speech."""
        t0 = time.perf_counter()
        out = {"speech": False}
        for name in self.audio:
            step = self.steps[name]
            values = np.full(int(step.n_features_out_), np.nan)
            why = None
            if y is None or y.size == 0:
                why = "no audio track" if y is None else "no audio samples"
            else:
                values, status, reason = step.extract_signal(y, AUDIO_RATE)
                if status in ("silent", "nonfinite"):
                    why = reason
            out[name] = (values, why)
        if y is not None and y.size:
            out["speech"] = bool(speech_activity(y, AUDIO_RATE) >= SPEECH_MIN_ACTIVITY)
        self.stats["seconds"]["audio_work"] += time.perf_counter() - t0
        return out

    def _featurise(self, windows):
        """Feature rows of the frames of ``windows`` not featurised yet (one batch each)."""
        t0 = time.perf_counter()
        todo = {}
        for w in windows:
            for f in w["frames"]:
                todo[id(f)] = f
        for name in self.video:
            key = self._group_of[name]
            frames = [f for f in todo.values() if name not in f.rows and f.faces[key] is not None]
            if not frames:
                continue
            for a in range(0, len(frames), _FACE_BATCH):  # bounded batches: bounded memory
                part = frames[a : a + _FACE_BATCH]
                faces = np.stack([f.faces[key][0] for f in part])
                chips = None
                if part[0].faces[key][1] is not None:
                    chips = np.stack([f.faces[key][1] for f in part])
                points = np.stack([f.faces[key][2] for f in part])
                rows = self._featurize[name](faces, chips, points)
                for f, row in zip(part, rows, strict=True):
                    f.rows[name] = row
        self.stats["seconds"]["features"] += time.perf_counter() - t0

    def _score(self, windows):
        """Rows of the windows (in order)."""
        if not windows:
            return []
        model = self.model
        secs = self.stats["seconds"]
        if self.video and self._has_video:
            self._featurise(windows)
        features = {}
        reasons = {name: [None] * len(windows) for name in self.video + self.audio}
        n_faces = []
        for w in windows:
            key = self._first_group
            n_faces.append(
                sum(f.faces[key] is not None for f in w["frames"]) if key is not None else 0
            )
        for name in self.video:
            dim = int(self.steps[name].n_features_out_)
            sets = []
            for w in windows:
                rows = [f.rows[name] for f in w["frames"] if name in f.rows]
                sets.append(np.stack(rows) if rows else np.zeros((0, dim), np.float32))
            features[name] = sets
        t0 = time.perf_counter()  # waiting for the audio thread, or the audio itself
        speech = [False] * len(windows)
        for name in self.audio:
            features[name] = np.full((len(windows), int(self.steps[name].n_features_out_)), np.nan)
        for i, w in enumerate(windows):
            audio = w["audio_features"]
            if audio is None:
                continue
            if hasattr(audio, "result"):  # computed in the audio thread while frames were read
                audio = audio.result()
            speech[i] = audio["speech"]
            for name in self.audio:
                values, why = audio[name]
                features[name][i] = values
                if why:
                    reasons[name][i] = why
        secs["audio"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        results = model.score_features(features)
        scores = {name: r[0] for name, r in results.items()}
        fused = model.fusion_.decision_function(scores)
        secs["classify"] += time.perf_counter() - t0
        for name, (_, why) in results.items():
            for i, w in enumerate(why):
                if w is None or reasons[name][i] is not None:
                    continue
                if name in self.video and not self._has_video:
                    reasons[name][i] = "no video stream"
                elif name in self.video and n_faces[i] < MIN_FACES:
                    reasons[name][i] = (
                        f"{n_faces[i]} aligned face(s) in the window; at least {MIN_FACES} needed"
                    )
                else:
                    reasons[name][i] = w
        rows = []
        for i, w in enumerate(windows):
            used = [n for n in scores if not np.isnan(scores[n][i]).any()]
            said = {n: reasons[n][i] for n in reasons if reasons[n][i] is not None}
            row = {"start": w["start"], "end": w["end"]}
            row.update(self._decide(fused[i]))
            why = "; ".join(f"{n}: {r}" for n, r in said.items())
            if row["label"] is None:
                why = "no subsystem could score this window" + (f": {why}" if why else "")
            row["reason"] = why
            row["n_faces"] = int(n_faces[i])
            row["speech"] = bool(speech[i])
            row["subsystems"] = ",".join(used)
            rows.append((row, w["read"]))
        return rows

    def _decide(self, fused_row):
        """Label and per-class scores of one window (smoothed over the last windows)."""
        if np.isnan(fused_row).any():
            self._recent.append(None)
            return {"label": None, **dict.fromkeys(self.classes, np.nan)}
        proba = softmax(fused_row[None, :], axis=1)[0]
        self._recent.append(proba)
        if self.smooth > 1:
            kept = [p for p in self._recent if p is not None]
            proba = np.mean(kept, axis=0)
        label = scores_to_labels(proba[None, :], np.asarray(self.classes))[0]
        return {
            "label": str(label),
            **{c: float(p) for c, p in zip(self.classes, proba, strict=True)},
        }

    def _finish(self, row, read):
        if self.live:
            row["latency"] = max(0.0, time.monotonic() - read) if read else np.nan
        self.stats["n_windows"] += 1
        return {c: row[c] for c in self.columns}

    # ------------------------------------------------------------------ the run
    def _items(self):
        """``(kind, t, data, read_time)`` from the source; sets ``stats['ended']``."""
        from .media import iter_media

        report = {}
        items = iter_media(
            self.source,
            color=getattr(self, "_color", "gray"),
            fps=self.fps,
            audio_sr=AUDIO_RATE,
            video=bool(self.video),
            audio=bool(self.audio),
            # FFmpeg gives up later than the reader's own stall check, which says why
            timeout=self.stall_timeout + 10.0 if self.live else None,
            report=report,
        )
        self._report = report
        if not self.live:
            secs = self.stats["seconds"]
            while True:
                t0 = time.perf_counter()
                try:
                    kind, t, data = next(items)
                except StopIteration:
                    secs["decode"] += time.perf_counter() - t0
                    break
                secs["decode"] += time.perf_counter() - t0
                yield kind, t, data, time.monotonic()
            self.stats["ended"] = (
                "end of stream" if not report.get("error") else f"decoding error: {report['error']}"
            )
            return
        reader = _LiveReader(items, self.queue_size)
        self._reader = reader
        reader.start()
        try:
            while True:
                got = reader.get(self.stall_timeout)
                err = report.get("error")
                if got == "end" and err and "exit requested" in err.lower():
                    got = "stall"  # FFmpeg's read timeout ended the reader first
                if got == "stall":
                    self.stats["ended"] = (
                        f"stalled: no data from {self.source} for {self.stall_timeout:g} s"
                    )
                    logger.warning("%s; ending the timeline.", self.stats["ended"])
                    break
                if got == "end":
                    if reader.error is not None:
                        raise reader.error
                    if err and "://" in str(self.source) and self.stats["n_frames"]:
                        # FFmpeg reads a connection closed without a length as an I/O error
                        self.stats["ended"] = f"end of stream (the connection ended: {err})"
                    else:
                        self.stats["ended"] = "end of stream" if not err else f"error: {err}"
                    break
                yield got
        finally:
            reader.stop()
            self.stats["dropped"] = dict(reader.dropped)

    def __iter__(self):
        t_start = time.perf_counter()
        self._frames = deque()
        self._boxes = []
        self._chunks = []
        self._audio_reads = deque()
        self._audio_t0 = self._audio_end = None
        self._video_t = None
        self._recent = deque(maxlen=self.smooth)
        self._setup_video()
        self._audio_pool = None
        if self.audio and not self.live:
            from concurrent.futures import ThreadPoolExecutor

            # openSMILE and librosa release the GIL for much of their work: the audio of the
            # windows taken is analysed while the next frames are decoded and aligned
            self._audio_pool = ThreadPoolExecutor(1, thread_name_prefix="emoset-timeline-audio")
        items = self._items()
        self._has_video = self._has_audio = None
        k = 0
        pending = []
        last_t = 0.0
        try:
            for kind, t, data, read in items:
                if self._has_video is None:
                    self._has_video = bool(self._report.get("has_video")) and bool(self.video)
                    self._has_audio = bool(self._report.get("has_audio")) and bool(self.audio)
                    self.stats["has_video"] = bool(self._report.get("has_video"))
                    self.stats["has_audio"] = bool(self._report.get("has_audio"))
                if self.max_seconds is not None and t >= self.max_seconds:
                    self.stats["ended"] = f"max_seconds={self.max_seconds:g} reached"
                    break
                if kind == "video":
                    self._add_frame(t, data, read)
                    src_fps = self._report.get("fps")
                    last_t = max(last_t, t + (1.0 / src_fps if src_fps else 0.0))
                else:
                    self._add_audio(t, data, read)
                    last_t = max(last_t, self._audio_end)
                while True:
                    start, end = self._bounds(k)
                    if not self._complete(end):
                        break
                    pending.append(self._take(start, end))
                    k += 1
                    self._prune(self._bounds(k)[0])
                if pending and (self.live or len(pending) >= _BATCH):
                    for row, r in self._score(pending):
                        yield self._finish(row, r)
                    pending = []
        finally:
            if self.live and hasattr(self, "_reader"):
                self._reader.stop()
            if self._audio_pool is not None and self.stats["ended"] is None:
                self._audio_pool.shutdown(wait=False, cancel_futures=True)
        if self.stats["ended"] is None:
            self.stats["ended"] = "end of stream"
        if self._has_video is None and self.stats["ended"].startswith("stalled"):
            self.stats["seconds"]["total"] = time.perf_counter() - t_start
            return
        if self._has_video is None:
            raise_empty = self._report.get("error") or "nothing decoded"
            from .media import MediaError

            raise MediaError(self.source, f"no video frame or audio sample ({raise_empty})")
        duration = last_t
        if self._has_video and self._report.get("fps") and self._video_t is not None:
            duration = max(duration, self._video_t + 1.0 / self._report["fps"])
        if self.max_seconds is not None:
            duration = min(duration, self.max_seconds)
        self.stats["duration"] = float(duration)
        # the windows still open: those that fit, then one more up to the end if uncovered
        while True:
            start, end = self._bounds(k)
            if end > duration + 1e-6:
                covered = self._bounds(k - 1)[1] if k else 0.0
                if covered < duration - 1e-6 and start < duration:
                    pending.append(self._take(start, round(duration, 6)))
                break
            pending.append(self._take(start, end))
            k += 1
        for row, r in self._score(pending):
            yield self._finish(row, r)
        if self._audio_pool is not None:
            self._audio_pool.shutdown()
        self.stats["n_decoded"] = int(self._report.get("n_decoded", 0))
        if self._boxes:
            self.stats["faces"] = np.asarray(self._boxes, dtype=np.float64)
        self.stats["seconds"]["total"] = time.perf_counter() - t_start


def stream_timeline(
    model,
    source,
    *,
    window=2.0,
    hop=0.5,
    smooth=1,
    fps=None,
    live=False,
    stall_timeout=10.0,
    queue_size=256,
    max_seconds=None,
):
    """The windows of a source as they complete: iterate the returned run for row dicts.

    Parameters
    ----------
    model : AudioVisualEmotionRecognizer
        Fitted.
    source : str or path-like
        A media file, a URL FFmpeg reads (http(s), rtsp, udp, ...) or a V4L2 device
        (``/dev/video0``).
    window : float, default=2.0
        Window length in seconds.
    hop : float, default=0.5
        Seconds between window starts (windows overlap when ``hop < window``).
    smooth : int, default=1
        Average the per-class scores over the last ``smooth`` scored windows (a trailing
        moving average, so live rows need no future windows); 1: no smoothing.
    fps : float or None
        Video frames kept per second; ``None``: the frame rate of the model's video
        subsystems (their ``fps``, or the recognizer's), else every frame.
    live : bool, default=False
        Read in a thread into a bounded buffer (oldest video frames dropped when full), score
        each window as soon as it completes, add its ``latency``, and end after
        ``stall_timeout`` seconds without data.
    stall_timeout : float, default=10.0
        Live: seconds without data after which the run ends (``stats["ended"]`` says so).
    queue_size : int, default=256
        Live: items (video frames, audio chunks) the reader may buffer.
    max_seconds : float or None
        Stop after this many seconds of source (e.g. for a camera).

    Returns
    -------
    run : TimelineRun
        Iterate it for one dict per window (keys ``run.columns``); ``run.stats`` afterwards.

    Raises
    ------
    ValueError
        If a parameter is invalid.
    emoset.media.MediaError
        When iterated: the source cannot be opened or holds nothing decodable.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    return TimelineRun(
        model,
        source,
        window=window,
        hop=hop,
        smooth=smooth,
        fps=fps,
        live=live,
        stall_timeout=stall_timeout,
        queue_size=queue_size,
        max_seconds=max_seconds,
    )


def predict_timeline(model, source, *, window=2.0, hop=0.5, **params):
    """Emotion over time: one row per window of a long file or a live stream.

    Parameters
    ----------
    model : AudioVisualEmotionRecognizer
        Fitted.
    source : str or path-like
        See :func:`stream_timeline`.
    window, hop : float
        Window length and the step between window starts, in seconds.
    **params
        ``smooth``, ``fps``, ``live``, ``stall_timeout``, ``queue_size``, ``max_seconds`` of
        :func:`stream_timeline`.

    Returns
    -------
    timeline : pandas.DataFrame
        One row per window: ``start``, ``end`` (s), ``label`` (None where no subsystem could
        score the window), ``reason`` (which subsystems abstained and why; ``""`` when all
        scored), one column per class (softmax of the fused scores: a ranking, not calibrated
        probabilities; NaN without a label), ``n_faces`` (aligned faces in the window),
        ``speech`` (voice-loud audio in at least :data:`SPEECH_MIN_ACTIVITY` of it),
        ``subsystems`` (comma-separated, those that scored), and ``latency`` (s) when live.
        ``timeline.attrs`` holds the run's ``stats`` (see :class:`TimelineRun`).

    Examples
    --------
    >>> tl = model.predict_timeline("interview.mp4", window=2.0, hop=0.5)  # doctest: +SKIP
    >>> tl[["start", "end", "label", "n_faces", "speech"]].head(2)  # doctest: +SKIP
       start  end    label  n_faces  speech
    0    0.0  2.0  neutral       20    True
    1    0.5  2.5    happy       20    True
    """
    import pandas as pd

    run = stream_timeline(model, source, window=window, hop=hop, **params)
    rows = list(run)
    frame = pd.DataFrame(rows, columns=run.columns)
    frame.attrs.update(run.stats)
    return frame


def smooth_timeline(timeline, k):
    """Centred moving average of the score columns over ``k`` windows (offline smoothing).

    Parameters
    ----------
    timeline : pandas.DataFrame
        From :func:`predict_timeline`.
    k : int
        Windows averaged (odd values keep the average centred).

    Returns
    -------
    smoothed : pandas.DataFrame
        A copy with smoothed scores and the labels they give (windows without a label keep
        none).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1 (windows); got {k!r}.")
    out = timeline.copy()
    classes = [c for c in timeline.columns if c not in _NON_SCORE]
    if not classes or k == 1:
        return out
    scored = out["label"].notna()
    avg = out.loc[scored, classes].rolling(int(k), center=True, min_periods=1).mean()
    out.loc[scored, classes] = avg
    out.loc[scored, "label"] = scores_to_labels(avg.to_numpy(), np.asarray(classes))
    return out


_NON_SCORE = {"start", "end", "label", "reason", "n_faces", "speech", "subsystems", "latency"}


def write_overlay(timeline, source, path, *, crf=23):
    """Re-encode a video file with the tracked face box and the current label drawn on it.

    Parameters
    ----------
    timeline : pandas.DataFrame
        From :func:`predict_timeline` on ``source`` (its ``attrs["faces"]`` gives the boxes).
    source : str or path-like
        The video file the timeline was made from.
    path : str or path-like
        Output file (H.264 in the container its extension names, e.g. ``.mp4``); the audio is
        not copied.
    crf : int, default=23
        H.264 quality (lower is better).

    Returns
    -------
    path : pathlib.Path
    """
    from fractions import Fraction
    from pathlib import Path

    import av
    import cv2

    from .media import iter_media

    path = Path(path)
    boxes = np.asarray(timeline.attrs.get("faces", np.zeros((0, 5))), dtype=np.float64)
    starts = timeline["start"].to_numpy(dtype=float)
    ends = timeline["end"].to_numpy(dtype=float)
    labels = timeline["label"].tolist()
    report = {}
    frames = iter_media(source, color="rgb", audio=False, report=report)
    out = None
    stream = None
    try:
        for _, t, img in frames:
            if out is None:
                rate = report.get("fps") or 25.0
                out = av.open(str(path), mode="w")
                stream = out.add_stream("libx264", rate=Fraction(rate).limit_denominator(1001))
                stream.width, stream.height = img.shape[1] // 2 * 2, img.shape[0] // 2 * 2
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(int(crf)), "preset": "veryfast"}
            img = np.ascontiguousarray(img[: stream.height, : stream.width])
            if len(boxes):
                j = int(np.argmin(np.abs(boxes[:, 0] - t)))
                if abs(boxes[j, 0] - t) <= 0.25:
                    x0, y0, x1, y1 = (int(round(v)) for v in boxes[j, 1:])
                    cv2.rectangle(img, (x0, y0), (x1, y1), (40, 220, 40), 2)
            # the label of the latest window ending by now (the first one until then)
            done = np.flatnonzero(ends <= t + 1e-6)
            i = done[-1] if len(done) else (0 if len(starts) else None)
            text = "" if i is None else (labels[i] or "no label")
            if text:
                cv2.rectangle(img, (0, 0), (10 + 14 * len(text), 34), (0, 0, 0), -1)
                cv2.putText(img, text, (6, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        if out is not None:
            for packet in stream.encode(None):
                out.mux(packet)
    finally:
        if out is not None:
            out.close()
    return path
