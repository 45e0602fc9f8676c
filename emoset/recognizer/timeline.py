"""Emotion over time: windows over a long file or a live stream, one row per window.

A fitted :class:`~emoset.recognizer.system.AudioVisualEmotionRecognizer` labels one clip at a time;
:func:`predict_timeline` slides a window (``window`` seconds, every ``hop`` seconds) over a
source and labels each window as if it were a clip:

* **one pass**: the source is demultiplexed once (:func:`emoset.io.sources.iter_media`; a
  local file read by one pass at a time: its video in a forked process that also aligns the
  faces, dlib holding Python's lock, and its audio in this one, the same frames and samples;
  not with ``max_seconds``, whose last window would then get its audio to the end); video
  frames are kept at the model's frame rate, and each kept frame is aligned once (one
  :class:`~emoset.video.faces.FaceTrack` per aligner) and featurised once per frame feature (in
  batches, when a window needs them). A window's image set is the feature rows of the frames
  whose timestamps fall in ``[start, end)``, shared by the overlapping windows; the audio is
  cut into the same windows and the audio subsystems' feature steps analyse them in groups
  (:meth:`~emoset.audio.features.OpenSmileFeatures.extract_windows`: librosa descriptors computed once
  for overlapping windows, openSMILE per window).
* **bounded memory**: only the frames and samples of windows still open are kept, so memory
  does not grow with the length of the source.
* **segments** (files): the windows are cut into segments of ``segment`` seconds; each segment
  is one pass that seeks to its first window and starts its own face track, so segments run
  side by side (``n_jobs``, or on a Dask cluster inside :func:`emoset.app.cluster.dask_cluster`)
  and the rows do not depend on ``n_jobs`` (a process that can fork safely forks its
  workers, which then have its imports and its model; otherwise joblib's workers run them:
  ``emoset/recognizer/_workers.py``). With ``cache_dir`` every finished segment is
  stored (keyed by the file's SHA-256, the model's digest and the parameters), so a run that
  stops part way resumes where it was and a second run of the same file is read back.
* **scoring**: the recognizer decides each window from its features
  (:meth:`~emoset.recognizer.system.AudioVisualEmotionRecognizer.decide_features`) by the
  rule it applies to clips (:func:`~emoset.recognizer.records.decide`): a window with fewer
  aligned faces than a video subsystem's classifier needs is abstained on by that subsystem
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
:func:`emoset.app.overlay.write_overlay` re-encodes a file with the face box and the label
drawn.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from dataclasses import dataclass, replace

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._version import __version__
from ..decision.scoring import scores_to_labels
from ..io.errors import MediaError, TruncatedMediaError
from ..io.media import check_truncation, probe
from ..io.sources import is_url
from ..utils.cache import DiskCache, default_cache_dir, file_sha256, make_key
from ..utils.validation import check_int, check_n_jobs, check_positive
from ..video.face_process import end_early
from ._source_pass import AUDIO_RATE, SPEECH_MIN_ACTIVITY, STAGES, SourcePass, row_columns
from ._workers import in_workers
from .persistence import model_digest

__all__ = [
    "AUDIO_RATE",
    "MIN_HOP",
    "SPEECH_MIN_ACTIVITY",
    "TimelineOptions",
    "TimelineRun",
    "predict_timeline",
    "score_columns",
    "smooth_timeline",
    "stream_timeline",
]

logger = logging.getLogger(__name__)

#: The shortest step between window starts, in seconds: one 10 ms audio frame.
MIN_HOP = 0.01

#: Layout of a cached segment; part of its key.
_SEGMENT_FORMAT = 2

#: The face boxes a run keeps (time first), and their widths.
_BOXES = {"faces": 5, "people_faces": 6}


@dataclass(frozen=True)
class TimelineOptions:
    """How a timeline reads a source: built once, checked once, passed as one object.

    Parameters
    ----------
    window : float, default=2.0
        Window length in seconds.
    hop : float, default=0.5
        Seconds between window starts (windows overlap when ``hop < window``); at least
        ``MIN_HOP`` (0.01 s).
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
        Seconds without data after which a live run ends (``stats["ended"]`` says so), and
        after which reading a URL that is not live gives up (a server that sends nothing).
    queue_size : int, default=256
        Live: items (video frames, audio chunks) the reader may buffer.
    max_seconds : float or None
        Stop after this many seconds of source (e.g. for a camera).
    segment : float, default=60.0
        Files: seconds of window starts per segment (each segment seeks to its first window
        and tracks faces anew; its rows are the same whatever ``n_jobs``).
    n_jobs : int or None
        Files: segments run side by side by joblib (``-1``: every core; on a Dask cluster's
        workers inside :func:`emoset.app.cluster.dask_cluster`). ``None`` or 1: one at a
        time, each row yielded as soon as it is ready.
    cache_dir : str, path-like, True or None
        Files: store every finished segment under ``cache_dir/timeline`` (an ``.npz`` per
        segment, no pickle) and read finished segments back, so an interrupted run resumes;
        ``True``: the default cache folder (``$EMOSET_CACHE``, else ``~/.cache/emoset``).
    allow_partial : bool, default=False
        Files: a file that ends before its header says (an interrupted download) gets no
        timeline, as :meth:`~emoset.recognizer.system.AudioVisualEmotionRecognizer.predict`
        gives such a clip no label (``TruncatedMediaError`` once the rows that decoded are
        out); ``True``: its rows stand, ``stats["partial"]`` says what decoded.
    people : bool, default=False
        One row per (window, person): every face is tracked into people
        (:class:`~emoset.video.people.PeopleTracker`), each person's frames in the window
        are their image set, the window's audio goes to whoever speaks in it and the others
        are scored from their faces with the reason "not speaking"; a voice no visible mouth
        follows gets a row of person ``None`` ("voice off screen"). Adds a ``person`` column.
        A file is then read in one pass (``segment`` and ``n_jobs`` do not cut it: one
        tracker sees the whole file, so a person keeps their id from start to end).

    Raises
    ------
    ValueError
        If a value is out of its range (a bool is not a number).
    """

    window: float = 2.0
    hop: float = 0.5
    smooth: int = 1
    fps: float | None = None
    live: bool = False
    stall_timeout: float = 10.0
    queue_size: int = 256
    max_seconds: float | None = None
    segment: float = 60.0
    n_jobs: int | None = None
    cache_dir: object = None
    allow_partial: bool = False
    people: bool = False

    def __post_init__(self):
        seconds = "number of seconds"
        checked = {
            "window": check_positive(self.window, "window", unit=seconds),
            "hop": check_positive(self.hop, "hop", unit=seconds),
            "stall_timeout": check_positive(self.stall_timeout, "stall_timeout", unit=seconds),
            "max_seconds": check_positive(
                self.max_seconds, "max_seconds", unit=seconds, optional=True
            ),
            "segment": check_positive(self.segment, "segment", unit=seconds),
            "fps": check_positive(self.fps, "fps", optional=True),
            "smooth": check_int(self.smooth, "smooth", min_val=1, what=" (windows)"),
            "queue_size": check_int(self.queue_size, "queue_size", min_val=2),
            "live": bool(self.live),
            "allow_partial": bool(self.allow_partial),
            "people": bool(self.people),
            "n_jobs": check_n_jobs(self.n_jobs),
            "cache_dir": (
                default_cache_dir()
                if self.cache_dir is True
                else None
                if self.cache_dir in (None, False)
                else self.cache_dir
            ),
        }
        if checked["hop"] < MIN_HOP:
            raise ValueError(
                f"hop must be at least {MIN_HOP:g} s (one 10 ms audio frame: closer windows "
                f"repeat each other, and a long source would give millions); got {self.hop!r}."
            )
        for name, value in checked.items():
            object.__setattr__(self, name, value)


def _segmentable(source):
    """A local file (seekable, a known length): the sources that are cut into segments."""
    text = str(source)
    return not is_url(source) and not text.startswith("/dev/") and os.path.isfile(text)


class TimelineRun:
    """One timeline run over a source: iterate for the rows, then read ``stats``.

    Made by :func:`stream_timeline` (see there for the parameters).

    Attributes
    ----------
    columns : list of str
        The columns of every row, in order.
    stats : dict
        Filled as the run goes: ``n_windows``, ``n_frames`` (video frames kept),
        ``n_decoded`` (video frames decoded), ``n_segments`` (passes over the source; files
        are cut into segments), ``from_cache`` (segments read back from ``cache_dir``),
        ``dropped`` (live: ``{"video": n, "audio": n}`` items dropped because the reader's
        buffer was full), ``ended`` (``"end of stream"``, or why the run stopped early),
        ``duration`` (seconds of source read), ``has_video``, ``has_audio``, ``origin`` (the
        source's timestamp, in seconds, that the rows count from), ``fps`` (frames kept per
        second of source), ``seconds`` (time per stage, summed over segments:
        ``decode``, ``detect_align`` (a file read in one process at a time: the face
        process's own time), ``faces_wait`` (then: decoding the audio and waiting for the
        faces), ``features`` (files: the feature thread's own time),
        ``features_wait`` (waiting for it), ``audio`` (waiting for the audio thread),
        ``audio_work`` (the audio thread's own time), ``classify``; and ``total``, the wall
        time of the run), ``faces`` (an ``(n, 5)`` array of ``time, left, top, right,
        bottom`` of the tracked face of every kept frame that had one) and, with ``people``,
        ``people_faces`` (an ``(n, 6)`` array of ``time, left, top, right, bottom, person``:
        every tracked face, ``person`` the index into the ``person`` names of the rows).
    """

    def __init__(self, model, source, options):
        self.model = model
        self.source = source
        fps = options.fps
        if fps is None:
            steps = model.feature_steps()
            rates = [
                s.fps
                for n, s in steps.items()
                if model.modalities_[n] == "video" and s.fps is not None
            ]
            fps = float(max(rates)) if rates else None
        self.options = replace(options, fps=fps)
        self.classes = [str(c) for c in model.classes_]
        self.columns = row_columns(self.classes, self.options.live, self.options.people)
        self.stats = {
            "n_windows": 0,
            "n_frames": 0,
            "n_decoded": 0,
            "n_segments": 0,
            "from_cache": 0,
            "dropped": {"video": 0, "audio": 0},
            "ended": None,
            "duration": 0.0,
            "has_video": None,
            "has_audio": None,
            "origin": None,
            "fps": self.options.fps,
            "seconds": dict.fromkeys(STAGES, 0.0),
            "faces": np.zeros((0, 5)),
            "people_faces": np.zeros((0, 6)),
            "partial": None,
        }

    # ------------------------------------------------------------------ segments
    def _plan(self):
        """``(first, stop)`` window indices of each pass; the last is open-ended."""
        if self.options.live or not _segmentable(self.source):
            return [(0, None)]
        try:
            duration = probe(self.source).duration
        except MediaError:
            return [(0, None)]  # the pass reports what is wrong with the file
        self._promised = duration
        if self.options.people:  # one tracker for the whole file: a person keeps their id
            return [(0, None)]
        if self.options.max_seconds is not None:
            duration = min(duration, self.options.max_seconds)
        per = max(1, int(round(self.options.segment / self.options.hop)))
        n_windows = max(1, math.ceil(duration / self.options.hop))
        n = max(1, math.ceil(n_windows / per))
        return [(j * per, (j + 1) * per) for j in range(n - 1)] + [((n - 1) * per, None)]

    def _pass(self, first, stop, *, face_process=False):
        """The pass over windows ``first`` to ``stop - 1`` (``face_process``: a serial pass,
        which may align a file's faces in a forked process beside it)."""
        return SourcePass(
            self.model, self.source, self.options, first=first, stop=stop, face_process=face_process
        )

    def _keys(self, plan):
        """Cache keys of the segments (None without ``cache_dir``)."""
        if (
            self.options.cache_dir is None
            or self.options.live
            or len(plan) == 0
            or not _segmentable(self.source)
        ):
            return [None] * len(plan)

        common = (
            "timeline-segment",
            _SEGMENT_FORMAT,
            __version__,
            file_sha256(self.source),
            model_digest(self.model),
            {
                "window": self.options.window,
                "hop": self.options.hop,
                "fps": self.options.fps,
                "people": self.options.people,
            },
            self.options.max_seconds,
        )
        return [make_key(*common, first, stop) for first, stop in plan]

    def _rows(self, plan):
        """Every row in order; each segment's statistics are merged as it ends.

        Serial passes yield each row as soon as it is ready; parallel ones (``n_jobs``) one
        segment at a time, in order. With a cache, segments found there are read back and
        every segment that ends normally is stored.
        """
        keys = self._keys(plan)
        cache = None
        if keys[0] is not None:
            cache = DiskCache(os.path.join(self.options.cache_dir, "timeline"))
        check = _segment_check(self.columns)
        cached = [None if k is None else cache.get(k, None, check=check) for k in keys]
        todo = [i for i, rec in enumerate(cached) if rec is None]
        if cached and cached[0] is not None:
            end_early()  # the command's early face process was for the first segment's pass
        computed = None
        if self.options.n_jobs not in (None, 1) and len(todo) >= 2:
            passes = (self._pass(*plan[i]) for i in todo)
            computed = in_workers(passes, self.options.n_jobs, _pass_stats)
        try:
            for i, (first, stop) in enumerate(plan):
                nxt = None if stop is None else stop * self.options.hop
                if cached[i] is not None:
                    rec = cached[i]
                    self.stats["from_cache"] += 1
                    boxes = {k: rec[k] for k in _BOXES if k in rec}
                    self._merge({**rec["stats"], **boxes}, nxt, cached=True)
                    for row in rec["rows"]:
                        yield {c: row[c] for c in self.columns}
                    continue
                if computed is not None:
                    rows, stats = next(computed)
                    self._merge(stats, nxt)
                    yield from rows
                else:
                    one = self._pass(first, stop, face_process=True)
                    rows = []
                    try:
                        for row in one:
                            if cache is not None:
                                rows.append(row)
                            yield row
                    finally:
                        stats = _pass_stats(one)
                        self._merge(stats, nxt)
                if cache is not None:
                    self._store(cache, keys[i], rows, stats)
        finally:
            if computed is not None:
                computed.close()  # the caller stopped early: no other segment starts

    @staticmethod
    def _store(cache, key, rows, stats):
        """Keep a segment that ended normally; a cache that cannot be written is only logged."""
        if stats["ended"] not in ("end of segment", "end of stream"):
            return
        fields = {k: v for k, v in stats.items() if k not in _BOXES}
        try:
            cache.put(key, {"rows": rows, "stats": fields, **{k: stats[k] for k in _BOXES}})
        except OSError as exc:
            logger.warning("Cannot store a timeline segment in %s (%s).", cache.directory, exc)

    # ------------------------------------------------------------------ the run
    def _merge(self, stats, keep_before, *, cached=False):
        """Add one pass's statistics to the run's (a cached pass did no work in this run)."""
        out = self.stats
        for key in ("n_frames", "n_decoded"):
            out[key] += int(stats.get(key, 0))
        out["duration"] = max(out["duration"], float(stats.get("duration", 0.0)))
        for key in ("has_video", "has_audio", "origin"):
            if out.get(key) is None:
                out[key] = stats.get(key)
        if not cached:
            for stage, value in stats.get("seconds", {}).items():
                if stage in out["seconds"]:
                    out["seconds"][stage] += float(value)
        out["dropped"] = dict(stats.get("dropped", out["dropped"]))
        ended = stats.get("ended")
        if ended not in (None, "end of segment") and out["ended"] in (None, "end of stream"):
            out["ended"] = ended  # an error or a stall part way is kept, not overwritten
        for key, width in _BOXES.items():
            faces = np.asarray(stats.get(key, np.zeros((0, width))), dtype=np.float64)
            faces = faces.reshape(-1, width)
            if keep_before is not None:  # the next segment tracks its own frames from there
                faces = faces[faces[:, 0] < keep_before]
            out[key] = np.concatenate([out[key], faces])

    def _smoothed(self, row, history):
        """The row with its scores averaged over the last ``smooth`` scored windows (of the
        same person, with ``people``)."""
        who = row.get("person")
        if who not in history:
            history[who] = deque(maxlen=self.options.smooth)
        recent = history[who]
        if row["label"] is None:
            recent.append(None)
            return row
        proba = np.array([row[c] for c in self.classes], dtype=float)
        recent.append(proba)
        if self.options.smooth > 1:
            proba = np.mean([p for p in recent if p is not None], axis=0)
            row = dict(row, **{c: float(p) for c, p in zip(self.classes, proba, strict=True)})
            row["label"] = str(scores_to_labels(proba[None, :], np.asarray(self.classes))[0])
        return row

    def to_frame(self, rows):
        """The rows of this run as a table: a DataFrame with ``columns``, ``stats`` in attrs."""
        import pandas as pd

        frame = pd.DataFrame(rows, columns=self.columns)
        frame.attrs.update(self.stats)
        return frame

    def __iter__(self):
        t_start = time.perf_counter()
        history = {}  # person (None without people) -> their last scored windows
        plan = self._plan()
        self.stats["n_segments"] = len(plan)
        try:
            for row in self._rows(plan):
                self.stats["n_windows"] += 1
                yield self._smoothed(row, history)
        finally:
            self.stats["seconds"]["total"] = time.perf_counter() - t_start
        if self.stats["ended"] is None:
            self.stats["ended"] = "end of stream"
        self._check_complete()

    def _check_complete(self):
        """Refuse a truncated file (unless ``allow_partial``), as clips are refused."""
        promised = getattr(self, "_promised", None)
        if promised is None or self.options.max_seconds is not None:
            return
        ended = str(self.stats["ended"])
        if "error" not in ended and self.stats["duration"] >= promised - 0.1:
            return  # every second the header promises was read
        check = check_truncation(self.source)  # decodes the file: only when in doubt
        if not check.truncated:
            return
        self.stats["partial"] = check.reason
        if not self.options.allow_partial:
            raise TruncatedMediaError(check)
        logger.warning("%s: %s; the timeline covers what decoded.", self.source, check.reason)


#: What a cached segment's statistics must hold to be merged.
_SEGMENT_STATS = ("n_frames", "n_decoded", "duration", "ended", "seconds", "dropped")


def _segment_check(columns):
    """``check(record)`` of a cached segment: its rows, statistics and face boxes as written.

    An entry that decodes but lacks a field, holds rows of other columns or boxes of another
    shape is refused (:class:`~emoset.utils.cache.DiskCache` names it and it is recomputed).
    """

    def check(record):
        rows, stats = record["rows"], record["stats"]
        if not isinstance(rows, list) or not all(
            isinstance(r, dict) and set(columns) <= set(r) for r in rows
        ):
            raise ValueError(f"its rows are not rows of the columns {columns}")
        if not isinstance(stats, dict) or not all(k in stats for k in _SEGMENT_STATS):
            raise ValueError(f"its statistics lack some of {list(_SEGMENT_STATS)}")
        for key, width in _BOXES.items():
            boxes = record[key]
            if not isinstance(boxes, np.ndarray) or boxes.ndim != 2 or boxes.shape[1] != width:
                raise ValueError(f"its {key} are not an (n, {width}) array")
        return True

    return check


def _pass_stats(one):
    stats = dict(one.stats)
    for key, width in _BOXES.items():
        stats[key] = np.asarray(stats[key], dtype=np.float64).reshape(-1, width)
    return stats


def score_columns(columns):
    """The per-class score columns among the columns of a timeline table, in order.

    Every column a timeline row has besides them (``start``, ``end``, ``person``, ``label``,
    ``reason``, ``n_faces``, ``speech``, ``subsystems``, ``latency``) is left out.

    Examples
    --------
    >>> score_columns(["start", "end", "label", "reason", "anger", "happy", "n_faces"])
    ['anger', 'happy']
    """
    named = set(row_columns([], live=True, people=True))
    return [c for c in columns if c not in named]


def stream_timeline(model, source, options=None, **params):
    """The windows of a source as they complete: iterate the returned run for row dicts.

    Parameters
    ----------
    model : AudioVisualEmotionRecognizer
        Fitted.
    source : str or path-like
        A media file, a URL FFmpeg reads (http(s), rtsp, udp, ...) or a V4L2 device
        (``/dev/video0``).
    options : TimelineOptions or None
        How to read the source; ``None``: ``TimelineOptions(**params)``.
    **params
        The fields of :class:`TimelineOptions` (``window``, ``hop``, ``smooth``, ``fps``,
        ``live``, ``stall_timeout``, ``queue_size``, ``max_seconds``, ``segment``,
        ``n_jobs``, ``cache_dir``, ``allow_partial``, ``people``), when ``options`` is not
        given.

    Returns
    -------
    run : TimelineRun
        Iterate it for one dict per window (keys ``run.columns``); ``run.stats`` afterwards.

    Raises
    ------
    ValueError
        If a parameter is invalid.
    TypeError
        If both ``options`` and ``**params`` are given, or a parameter is unknown.
    emoset.io.MediaError
        When iterated: the source cannot be opened or holds nothing decodable.
    """
    check_is_fitted(model)
    if options is None:
        options = TimelineOptions(**params)
    elif params:
        raise TypeError(f"Give options or parameters, not both; got {sorted(params)} too.")
    return TimelineRun(model, source, options)


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
        The other fields of :class:`TimelineOptions` (``smooth``, ``fps``, ``live``,
        ``stall_timeout``, ``queue_size``, ``max_seconds``, ``segment``, ``n_jobs``,
        ``cache_dir``, ``allow_partial``, ``people``).

    Returns
    -------
    timeline : pandas.DataFrame
        One row per window: ``start``, ``end`` (s), ``label`` (None where no subsystem could
        score the window), ``reason`` (which subsystems abstained and why; ``""`` when all
        scored), one column per class (softmax of the fused scores: a ranking, not calibrated
        probabilities; NaN without a label), ``n_faces`` (aligned faces in the window),
        ``speech`` (voice-loud audio in at least :data:`SPEECH_MIN_ACTIVITY` of it),
        ``subsystems`` (comma-separated, those that scored), ``latency`` (s) when live, and
        with ``people=True`` one row per person per window and a ``person`` column (a name
        stable within the run; None for a voice no visible face speaks, "voice off
        screen"); a person not given the window's voice has the reason "not speaking".
        ``timeline.attrs`` holds the run's ``stats`` (see :class:`TimelineRun`).

    Examples
    --------
    >>> tl = model.predict_timeline("interview.mp4", window=2.0, hop=0.5)  # doctest: +SKIP
    >>> tl[["start", "end", "label", "n_faces", "speech"]].head(2)  # doctest: +SKIP
       start  end    label  n_faces  speech
    0    0.0  2.0  neutral       20    True
    1    0.5  2.5    happy       20    True
    """
    run = stream_timeline(model, source, window=window, hop=hop, **params)
    return run.to_frame(list(run))


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
        none); with a ``person`` column, each person's windows are smoothed on their own.
    """
    k = check_int(k, "k", min_val=1, what=" (windows)")
    out = timeline.copy()
    classes = score_columns(timeline.columns)
    if not classes or k == 1:
        return out
    scored = out["label"].notna()
    lanes = out["person"].fillna("") if "person" in out.columns else None
    for lane in [None] if lanes is None else lanes.unique():  # each person on their own
        rows = scored if lane is None else scored & (lanes == lane)
        if not rows.any():
            continue
        avg = out.loc[rows, classes].rolling(int(k), center=True, min_periods=1).mean()
        out.loc[rows, classes] = avg
        out.loc[rows, "label"] = scores_to_labels(avg.to_numpy(), np.asarray(classes))
    return out
