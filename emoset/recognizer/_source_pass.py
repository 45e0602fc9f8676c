"""One pass over a source for :mod:`emoset.recognizer.timeline`: frames and audio in, window rows out.

:class:`SourcePass` reads a source once (:func:`emoset.io.sources.iter_media`) and turns the windows
``first, first + 1, ...`` (window ``k`` covers ``[k * hop, k * hop + window)`` seconds) into
rows, as :mod:`emoset.recognizer.timeline` describes:

* video frames are kept at the model's frame rate; each kept frame is aligned once (one
  :class:`~emoset.video.faces.FaceTrack` per distinct aligner) and featurised once per frame
  feature, in batches when a window needs them; a window's image set is the feature rows of
  its frames, shared by the overlapping windows;
* the audio is cut into the same windows; the audio subsystems' feature steps analyse 16
  windows at a time (:meth:`~emoset.audio.features.OpenSmileFeatures.extract_windows`) in a
  thread of their own, and reading a file the frames of every 16 windows are featurised in
  another, while the main thread decodes and aligns the next frames;
* a serial pass over a local file (``face_process=True``, not people mode) leaves the video's
  decoding and alignment to a :class:`~emoset.video.face_process.FaceProcess` forked beside
  it (dlib holds Python's lock) and decodes the audio itself: the same faces, the same rows;
* only the frames and samples of windows still open are kept (bounded memory);
* live, a :class:`~emoset.recognizer._readers.LiveReader` thread reads the source at its own
  pace into a bounded buffer and drops the oldest video frames when the machine falls behind.

A pass that starts at window ``first > 0`` seeks there (files only) and starts a new face
track; one with ``stop`` ends after window ``stop - 1``. The rows carry the softmax of the
fused scores, unsmoothed (:class:`emoset.recognizer.timeline.TimelineRun` smooths across passes).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..audio.speech import speech_activity
from ..io.errors import MediaError
from ..io.sources import is_url, iter_media
from ..utils.early import fork_available
from ..video.extract import no_set_reason
from ..video.face_process import (
    FaceProcess,
    aligned_face,
    end_early,
    take_early,
)
from ..video.faces import FaceTrack
from ..video.speakers import voice_levels
from ._readers import LiveReader, beside_faces
from .people import NOT_SPEAKING, OFF_SCREEN, WindowPeople, frame_gap_limit

__all__ = ["AUDIO_RATE", "SPEECH_MIN_ACTIVITY", "STAGES", "SourcePass"]

logger = logging.getLogger("emoset.recognizer.timeline")

#: A window has speech when at least this fraction of its 30 ms frames is voice-loud (see
#: :func:`emoset.audio.speech.speech_activity`).
SPEECH_MIN_ACTIVITY = 0.2

#: Rate of the decoded audio the windows are cut from (the audio steps band-limit and
#: resample each piece as they do a file).
AUDIO_RATE = 16000

#: Windows scored together when reading a file (live sources score each window at once).
_BATCH = 16

#: Faces featurised per call (the frame features' working memory stays the same size).
_FACE_BATCH = 64

#: The stages of a pass's ``stats["seconds"]`` (and of a run's, summed over its passes).
STAGES = (
    "decode",
    "detect_align",
    "faces_wait",
    "features",
    "features_wait",
    "audio",
    "classify",
    "audio_work",
)


def row_columns(classes, live, people=False):
    """The columns of a timeline row, in order."""
    who = ["person"] if people else []
    columns = ["start", "end", *who, "label", "reason", *classes]
    columns += ["n_faces", "speech", "subsystems"]
    return columns + ["latency"] if live else columns


class _Frame:
    __slots__ = ("t", "index", "read", "faces", "rows", "box", "people")

    def __init__(self, t, index, read):
        self.t = t
        self.index = index  # frames kept before this one
        self.read = read
        self.faces = {}  # aligner group -> [(person, face, chip, aligned landmarks), ...]
        self.rows = {}  # video subsystem -> [feature row of each face]
        self.box = None  # the (first) tracked face's box
        self.people = []  # people mode: [(person index, box, mouth motion), ...]


class SourcePass:
    """One pass over a source: iterate for the rows of windows ``first`` to ``stop - 1``.

    Made by :class:`emoset.recognizer.timeline.TimelineRun` (see :func:`emoset.recognizer.timeline.stream_timeline`
    for the parameters; they are validated there).

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
        reading a file, the audio of the windows is analysed in a thread of its own while
        frames are read, ``audio`` is then the time spent waiting for it and ``audio_work``
        the thread's own time; so are the frame features, ``features`` being the time of
        their thread and ``features_wait`` the time spent waiting for it; with the face
        process, ``decode`` and ``detect_align`` are its own time and ``faces_wait`` the
        time spent decoding the audio and waiting for its faces),
        ``faces`` (an ``(n, 5)`` array of ``time, left, top, right, bottom`` of the tracked
        face of every kept frame that had one), ``people_faces`` (people mode: an ``(n, 6)``
        array of ``time, person, left, top, right, bottom`` of every face, ``person`` 0 for
        ``P1``).
    """

    def __init__(self, model, source, options, *, first=0, stop=None, face_process=False):
        self.model = model
        self.source = source
        self.options = options
        self.window = options.window
        self.hop = options.hop
        self.stall_timeout = options.stall_timeout
        self.max_seconds = options.max_seconds
        self.queue_size = options.queue_size
        self.first = int(first)
        self._seek = self.first * self.hop if self.first else None  # s a file is read from
        self.stop = stop
        self.live = options.live
        self.classes = [str(c) for c in model.classes_]
        steps = model.feature_steps()
        self.video = [n for n in steps if model.modalities_[n] == "video"]
        self.audio = [n for n in steps if model.modalities_[n] == "audio"]
        self.steps = steps
        # per-session standardisation of a model trained with ``normalize``: running statistics
        # of this source's windows, applied in window order (the audio threads run out of order)
        self._standardizers = {
            n: steps[n].running_standardizer()
            for n in self.audio
            if getattr(steps[n], "normalize", None) is not None
        }
        self.fps = options.fps
        self.people = bool(options.people) and bool(self.video)
        # a file's video decoded and aligned in a forked process beside this one (see
        # emoset.video.face_process): asked for by serial passes, not in a worker
        self.face_process = bool(
            face_process
            and self.video
            and not self.live
            and not self.people
            and self.max_seconds is None  # (one pass reads the two streams' ends together)
        ) and (not is_url(source) and os.path.isfile(source) and fork_available())
        if not self.face_process:
            end_early()  # the command's early face process: no pass of this run takes it
        self.columns = row_columns(self.classes, self.live, options.people)
        self.stats = {
            "n_windows": 0,
            "n_frames": 0,
            "n_decoded": 0,
            "dropped": {"video": 0, "audio": 0},
            "ended": None,
            "duration": 0.0,
            "has_video": None,
            "has_audio": None,
            "origin": None,
            "fps": self.fps,
            "seconds": dict.fromkeys(STAGES, 0.0),
            "faces": np.zeros((0, 5)),
            "people_faces": np.zeros((0, 6)),
        }

    # ------------------------------------------------------------------ setup
    def _setup_video(self):
        """One face track per distinct aligner; a featurizer per video subsystem."""
        from sklearn.base import clone

        self._groups = {}  # aligner key -> FaceTrack
        self._group_of = {}
        self._featurize = {}

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
        if self.people:  # one tracker for every video subsystem: the same people for each
            self._people = WindowPeople(self.steps, self.video, source=str(self.source))
            self._groups = {key: None for key in self._groups}

    # ------------------------------------------------------------------ per item
    def _max_gap(self, t):
        """The longest gap since the last kept frame that no dropped frame explains (people
        mode; :func:`~emoset.recognizer.people.frame_gap_limit`)."""
        if self._last_kept_t is not None:
            self._gaps.append(t - self._last_kept_t)
        self._last_kept_t = t
        return frame_gap_limit(self.fps, self._report.get("fps"), self._gaps)

    def _add_frame(self, t, frame, read, aligned=None):
        """A kept frame: aligned here, or ``aligned`` by the face process (one per group)."""
        secs = self.stats["seconds"]
        t0 = time.perf_counter()
        fr = _Frame(t, self._n_kept, read)
        self._n_kept += 1
        if self.people:
            faces, fr.people = self._people.track(frame, fr.index, t, self._max_gap(t))
            for key in self._groups:
                fr.faces[key] = faces
            if fr.people:
                fr.box = fr.people[0][1]
            for person, box, _ in fr.people:
                self._people_boxes.append((t, person, *box))
        for i, (key, track) in enumerate(self._groups.items()):
            if self.people:
                break
            found = aligned[i] if aligned is not None else aligned_face(track.update(frame))
            fr.faces[key] = [] if found is None else [(None, *found[:3])]
            if key == self._first_group and found is not None:
                fr.box = found[3]
        if aligned is None:
            secs["detect_align"] += time.perf_counter() - t0
        if fr.box is not None:
            self._boxes.append((t, *fr.box))
        self._frames.append(fr)
        if self.stop is None or t < self.stop * self.hop:  # later ones are the next segment's
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
        audio_start = min(start, self._group[0]["start"]) if self._group else start
        if self._audio_t0 is not None and audio_start > self._audio_t0 and self._chunks:
            start = audio_start
            if len(self._chunks) > 1:
                self._chunks = [np.concatenate(self._chunks)]
            cut = int(round((start - self._audio_t0) * AUDIO_RATE))
            cut = min(cut, self._chunks[0].size)
            self._chunks = [self._chunks[0][cut:]]
            self._audio_t0 += cut / AUDIO_RATE
        while self._audio_reads and self._audio_reads[0][0] < start:
            self._audio_reads.popleft()

    def _take(self, start, end):
        """A window: its frames, the time its last item was read; its audio joins a group."""
        frames = [f for f in self._frames if start <= f.t < end]
        read = max((f.read for f in frames), default=0.0)
        for a_end, a_read in self._audio_reads:  # the chunk that holds the window's end
            if a_end >= end - 1e-9 or a_end == self._audio_reads[-1][0]:
                read = max(read, a_read)
                break
        w = {"start": start, "end": end, "frames": frames, "audio_features": None, "read": read}
        if self.people:
            w["levels"] = self._levels(start, end, frames)
        if self.audio:
            self._group.append(w)
            if self.live or len(self._group) >= _BATCH:
                self._submit_audio()
        if self._feature_pool is not None:
            self._unfeatured.append(w)
            if len(self._unfeatured) >= _BATCH:
                self._submit_features()
        return w

    def _submit_features(self):
        """Featurise the frames of the windows taken so far (in the feature thread, a file)."""
        windows, self._unfeatured = self._unfeatured, []
        if windows:
            job = self._feature_pool.submit(self._featurise, windows)
            for w in windows:
                w["features_job"] = job

    def _features_ready(self, windows):
        """Every frame of ``windows`` featurised: computed here, or awaited from the thread."""
        if self._feature_pool is None:
            self._featurise(windows)
            return
        if any("features_job" not in w for w in windows):
            self._submit_features()
        t0 = time.perf_counter()
        for job in dict.fromkeys(w["features_job"] for w in windows):  # in order, once each
            job.result()
        self.stats["seconds"]["features_wait"] += time.perf_counter() - t0

    def _levels(self, start, end, frames):
        """The voice level at each of a window's frames (people mode; empty without sound)."""
        piece = self._audio_piece(start, end) if self._has_audio else None
        if piece is None or not frames or not piece.size:
            return np.zeros(0)
        dt = 1.0 / self.fps if self.fps else (frames[-1].t - frames[0].t) / max(1, len(frames) - 1)
        lead = max(0.0, self._audio_t0 - start)  # the sound may start after the window
        times = np.array([f.t - start - lead for f in frames])
        levels = voice_levels(piece, AUDIO_RATE, times, dt or 0.04)
        self._level_history.extend(levels.tolist())
        return levels

    def _submit_audio(self):
        """Analyse the audio of the grouped windows (in the audio thread, reading a file)."""
        group, self._group = self._group, []
        if not group:
            return
        t0 = group[0]["start"]
        piece = self._audio_piece(t0, max(w["end"] for w in group)) if self._has_audio else None
        if piece is not None:
            # the buffer is cut while the audio thread works; silence where the audio
            # starts after the group's first window keeps every window on its own samples
            lead = int(round((self._audio_t0 - t0) * AUDIO_RATE))
            piece = np.concatenate([np.zeros(max(0, lead), np.float32), piece])
        bounds = [(w["start"] - t0, w["end"] - t0) for w in group]
        if self._audio_pool is not None:
            job = self._audio_pool.submit(self._audio_features, piece, bounds)
        else:
            job = self._audio_features(piece, bounds)
        for i, w in enumerate(group):
            w["audio_features"] = (job, i)

    def _audio_features(self, y, bounds):
        """Each audio subsystem's features of some windows of a signal, and their speech."""
        t0 = time.perf_counter()
        out = [{"speech": False} for _ in bounds]
        spans = [slice(int(round(a * AUDIO_RATE)), int(round(b * AUDIO_RATE))) for a, b in bounds]
        empty = [y is None or y[sl].size == 0 for sl in spans]
        live = [i for i, e in enumerate(empty) if not e]
        for name in self.audio:
            step = self.steps[name]
            for i, e in enumerate(empty):
                if e:
                    why = "no audio track" if y is None else "no audio samples"
                    out[i][name] = (np.full(int(step.n_features_out_), np.nan), why)
            if not live:
                continue
            lo, hi = spans[live[0]].start, max(spans[i].stop for i in live)
            sub = [
                ((spans[i].start - lo) / AUDIO_RATE, (spans[i].stop - lo) / AUDIO_RATE)
                for i in live
            ]
            kw = {"standardize": False} if name in self._standardizers else {}
            values, status, reason = step.extract_windows(y[lo:hi], AUDIO_RATE, sub, **kw)
            for j, i in enumerate(live):
                why = reason[j] if status[j] in ("silent", "nonfinite") else None
                out[i][name] = (values[j], why)
        for i in live:
            out[i]["speech"] = bool(speech_activity(y[spans[i]], AUDIO_RATE) >= SPEECH_MIN_ACTIVITY)
        with self._audio_lock:  # two audio threads
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
            items = [
                (f, k, face)
                for f in todo.values()
                if name not in f.rows
                for k, face in enumerate(f.faces[key])
            ]
            for f in todo.values():
                if name not in f.rows:
                    f.rows[name] = [None] * len(f.faces[key])
            # each person's faces on their own, in frame order: features that look across
            # frames (the landmarks' motion) never run from one face into another's
            people = {}
            for item in items:
                people.setdefault(item[2][0], []).append(item)
            batches = [
                mine[a : a + _FACE_BATCH]  # bounded batches: bounded memory
                for mine in people.values()
                for a in range(0, len(mine), _FACE_BATCH)
            ]
            for part in batches:
                faces = np.stack([face[1] for _, _, face in part])
                chips = None
                if part[0][2][2] is not None:
                    chips = np.stack([face[2] for _, _, face in part])
                points = np.stack([face[3] for _, _, face in part])
                rows = self._featurize[name](faces, chips, points)
                for (f, k, _), row in zip(part, rows, strict=True):
                    f.rows[name][k] = row
        self.stats["seconds"]["features"] += time.perf_counter() - t0

    def _score(self, windows):
        """Rows of the windows (in order): their features, then the recognizer's decision."""
        if not windows:
            return []
        if any(w["audio_features"] is None for w in windows):
            self._submit_audio()
        if self.video and self._has_video:
            self._features_ready(windows)
        plan = self._plan(windows)
        features, reasons, n_faces = self._video_features(windows, plan)
        t0 = time.perf_counter()  # waiting for the audio thread, or the audio itself
        speech = self._audio_features_of(windows, plan, features, reasons)
        self.stats["seconds"]["audio"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        decisions = self.model.decide_features(features, reasons)
        self.stats["seconds"]["classify"] += time.perf_counter() - t0
        rows = []
        for r, ((i, person, _), decision) in enumerate(zip(plan, decisions, strict=True)):
            w = windows[i]
            row = {"start": w["start"], "end": w["end"], "label": decision.label}
            if self.options.people:
                row["person"] = None if person is None else f"P{person + 1}"
            row.update({c: np.nan if p is None else p for c, p in decision.scores.items()})
            row["reason"] = decision.explain("window")
            row["n_faces"] = int(n_faces[r])
            row["speech"] = bool(speech[i])
            row["subsystems"] = ",".join(decision.subsystems)
            rows.append((row, w["read"]))
        return rows

    def _plan(self, windows):
        """The rows to score: ``(window, person, given the window's audio)`` each.

        One row per window; in people mode one per person seen in it, the audio going to
        whoever speaks, plus a row of person ``None`` for a voice no visible mouth follows
        (or for a window where nobody is seen).
        """
        if not self.people:
            return [(i, None, True) for i in range(len(windows))]
        history = self._level_history
        floor = float(np.quantile(np.asarray(history), 0.1)) if history else None
        plan = []
        for i, w in enumerate(windows):
            seen, speaker = WindowPeople.speaker(w["frames"], w.get("levels", []), floor)
            plan += [(i, k, speaker == j) for j, k in enumerate(seen)]
            if not seen or speaker == -1:
                plan.append((i, None, True))
        return plan

    def _video_features(self, windows, plan):
        """Each video subsystem's image set of each row, why one is empty, faces counted."""
        key = self._first_group
        n_faces = []
        features, reasons = {}, {}
        for r, (i, person, _) in enumerate(plan):
            frames = windows[i]["frames"]
            faces = [face for f in frames for face in (f.faces.get(key) or [])]
            n_faces.append(sum(person is None or face[0] == person for face in faces))
            if self.people and person is None:
                n_faces[r] = 0
        for name in self.video:
            dim = int(self.steps[name].n_features_out_)
            sets, why = [], []
            for i, person, _ in plan:
                w = windows[i]
                rows = [
                    row
                    for f in w["frames"]
                    for face, row in zip(
                        f.faces[self._group_of[name]],
                        f.rows.get(name) or [None] * len(f.faces[self._group_of[name]]),
                        strict=True,
                    )
                    if row is not None and (not self.people or face[0] == person)
                ]
                sets.append(np.stack(rows) if rows else np.zeros((0, dim), np.float32))
                if not self._has_video:
                    why.append("no video stream")
                elif self.people and person is None:
                    why.append(OFF_SCREEN if w["frames"] and self._voiced(plan, i) else None)
                else:
                    n = len(w["frames"])
                    why.append(no_set_reason({"error": "", "n_faces": len(rows), "n_frames": n}))
            features[name] = sets
            reasons[name] = [w or None for w in why]
        return features, reasons, n_faces

    @staticmethod
    def _voiced(plan, i):
        """Whether window ``i`` has people (so its person-less row is a voice off screen)."""
        return any(k is not None for j, k, _ in plan if j == i)

    def _audio_features_of(self, windows, plan, features, reasons):
        """Each audio subsystem's features of each row (into ``features``); speech flags."""
        speech = [False] * len(windows)
        for name in self.audio:
            features[name] = np.full((len(plan), int(self.steps[name].n_features_out_)), np.nan)
            reasons[name] = [None] * len(plan)
        for r, (i, _, heard) in enumerate(plan):
            w = windows[i]
            if w["audio_features"] is None:
                continue
            job, j = w["audio_features"]
            if hasattr(job, "result"):  # computed in the audio thread while frames were read
                job = job.result()
            audio = job[j]
            speech[i] = audio["speech"]
            for name in self.audio:
                if not heard:
                    reasons[name][r] = NOT_SPEAKING
                    continue
                values, why = audio[name]
                if name in self._standardizers:  # once per window, in window order
                    done = w.setdefault("standardized", {})
                    if name not in done:
                        done[name] = self._standardizers[name].update(values[None, :])[0]
                    values = done[name]
                features[name][r] = values
                reasons[name][r] = why or None
        return speech

    def _finish(self, row, read):
        if self.live:
            row["latency"] = max(0.0, time.monotonic() - read) if read else np.nan
        self.stats["n_windows"] += 1
        return {c: row[c] for c in self.columns}

    # ------------------------------------------------------------------ the run
    def _face_process(self):
        """The process that decodes a file's video and aligns its faces for this pass: the
        one the command started early if it is for these settings, else a new one (None: no
        process could be started; the pass aligns the faces itself)."""
        aligners = [track.aligner for track in self._groups.values()]
        media = {
            "color": self._color,
            "fps": self.fps,
            "audio_sr": AUDIO_RATE,
            "audio": bool(self.audio),
            "start": self._seek,
        }
        try:
            faces = take_early(self.source, aligners, **media)
            if faces is not None:
                logger.debug("faces: aligned by the process the command started early")
                return faces
            return FaceProcess(self.source, aligners, load_here=self.first > 0, **media)
        except OSError as exc:  # no process to be had (memory, limits)
            logger.debug("aligning faces in this process: %s", exc)
            return None

    def _items(self):
        """``(kind, t, data, read_time)`` from the source; sets ``stats['ended']``."""
        report = {}
        faces = self._face_process() if self.face_process else None
        items = iter_media(
            self.source,
            color=getattr(self, "_color", "gray"),
            fps=self.fps,
            audio_sr=AUDIO_RATE,
            video=bool(self.video),
            audio=bool(self.audio),
            # FFmpeg gives up later than the reader's own stall check, which says why
            timeout=(self.stall_timeout + 10.0)
            if self.live
            else (self.stall_timeout if is_url(self.source) else None),
            report=report,
            start=self._seek,
            only=None if faces is None else "audio",
        )
        self._report = report
        if faces is not None:
            items = beside_faces(items, faces, report)
        if not self.live:
            secs = self.stats["seconds"]
            wait = "decode" if faces is None else "faces_wait"
            try:
                while True:
                    t0 = time.perf_counter()
                    try:
                        kind, t, data = next(items)
                    except StopIteration:
                        secs[wait] += time.perf_counter() - t0
                        break
                    secs[wait] += time.perf_counter() - t0
                    yield kind, t, data, time.monotonic()
            finally:
                if faces is not None:  # the process's own time (also when the pass stops)
                    items.close()
                    for stage, value in faces.seconds.items():
                        secs[stage] += value
            self.stats["ended"] = (
                "end of stream" if not report.get("error") else f"decoding error: {report['error']}"
            )
            return
        reader = LiveReader(items, self.queue_size)
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
        self._audio_pool = self._feature_pool = None
        if not self.live:
            # reading a file, the work that releases the GIL runs beside the decoding and the
            # face alignment (dlib, which holds it): openSMILE and librosa on the windows'
            # audio (two threads: each group of windows is analysed on its own), OpenCV's
            # SIFT and ONNX Runtime on the aligned faces (one thread: its jobs run in the
            # order they were given, each featurising the frames the earlier ones left).
            if self.audio:
                self._audio_pool = ThreadPoolExecutor(2, thread_name_prefix="emoset-audio")
            if self.video and not self.people:  # (people: featurised in the tracker's order)
                self._feature_pool = ThreadPoolExecutor(1, thread_name_prefix="emoset-features")
        try:
            yield from self._run()
        finally:  # also when the caller stops early or a step raises
            for pool in (self._audio_pool, self._feature_pool):
                if pool is not None:
                    pool.shutdown(wait=False, cancel_futures=True)

    def _reset(self):
        self._frames = deque()
        self._boxes = []
        self._chunks = []
        self._audio_reads = deque()
        self._audio_t0 = self._audio_end = None
        self._video_t = None
        self._group = []  # windows whose audio waits to be analysed together
        self._unfeatured = []  # windows whose frames wait to be featurised together
        self._audio_lock = threading.Lock()
        self._has_video = self._has_audio = None
        self._n_kept = 0  # video frames kept so far
        self._last_kept_t, self._gaps = None, deque(maxlen=25)  # people mode: drops between them
        self._people_boxes = []  # people mode: (time, person, box) of every face
        self._level_history = deque(maxlen=3000)  # people mode: recent voice levels, per frame
        self._k = self.first  # the next window to take
        self._last_t = 0.0  # the end of what was read, in s

    def _first_item(self):
        """What the source holds, learnt from the reader's report with the first item."""
        report = self._report
        self._has_video = bool(report.get("has_video")) and bool(self.video)
        self._has_audio = bool(report.get("has_audio")) and bool(self.audio)
        self.stats["has_video"] = bool(report.get("has_video"))
        self.stats["has_audio"] = bool(report.get("has_audio"))
        self.stats["origin"] = report.get("origin")

    def _add(self, kind, t, data, read):
        if kind in ("video", "faces"):  # a frame, or its faces aligned by the face process
            frame, aligned = (data, None) if kind == "video" else (None, data)
            self._add_frame(t, frame, read, aligned)
            src_fps = self._report.get("fps")
            self._last_t = max(self._last_t, t + (1.0 / src_fps if src_fps else 0.0))
        else:
            self._add_audio(t, data, read)
            self._last_t = max(self._last_t, self._audio_end)

    def _take_complete(self, pending):
        """Take every window whose data has all arrived; forget what no open window needs."""
        while self.stop is None or self._k < self.stop:
            start, end = self._bounds(self._k)
            if not self._complete(end):
                break
            pending.append(self._take(start, end))
            self._k += 1
            self._prune(self._bounds(self._k)[0])

    def _take_rest(self, pending, duration):
        """The windows still open at the end: those that fit, then one more up to the end."""
        while self.stop is None or self._k < self.stop:
            start, end = self._bounds(self._k)
            if end > duration + 1e-6:
                covered = self._bounds(self._k - 1)[1] if self._k else 0.0
                if covered < duration - 1e-6 and start < duration:
                    pending.append(self._take(start, round(duration, 6)))
                break
            pending.append(self._take(start, end))
            self._k += 1

    def _duration(self):
        duration = self._last_t
        if self._has_video and self._report.get("fps") and self._video_t is not None:
            duration = max(duration, self._video_t + 1.0 / self._report["fps"])
        if self.max_seconds is not None:
            duration = min(duration, self.max_seconds)
        return float(duration)

    def _run(self):
        t_start = time.perf_counter()
        self._reset()
        self._setup_video()
        items = self._items()
        pending = []
        try:
            for kind, t, data, read in items:
                if self._has_video is None:
                    self._first_item()
                if self.max_seconds is not None and t >= self.max_seconds:
                    self.stats["ended"] = f"max_seconds={self.max_seconds:g} reached"
                    break
                self._add(kind, t, data, read)
                self._take_complete(pending)
                # a batch is scored once the next one is taken: its audio has had that long
                if pending and (self.live or len(pending) >= 2 * _BATCH):
                    n = len(pending) if self.live else _BATCH
                    for row, r in self._score(pending[:n]):
                        yield self._finish(row, r)
                    pending = pending[n:]
                if self.stop is not None and self._k >= self.stop:
                    self.stats["ended"] = "end of segment"
                    break
        finally:
            items.close()  # a pass that stops early closes the source now
            if self.live and hasattr(self, "_reader"):
                self._reader.stop()
        if self.stats["ended"] is None:
            self.stats["ended"] = "end of stream"
        # nothing read: a stall before the first item, or a segment past the end of the file
        if self._has_video is None and (self.stats["ended"].startswith("stalled") or self.first):
            self.stats["seconds"]["total"] = time.perf_counter() - t_start
            return
        if self._has_video is None:
            why = self._report.get("error") or "nothing decoded"
            raise MediaError(self.source, f"no video frame or audio sample ({why})")
        self.stats["duration"] = self._duration()
        self._take_rest(pending, self.stats["duration"])
        for row, r in self._score(pending):
            yield self._finish(row, r)
        self.stats["n_decoded"] = int(self._report.get("n_decoded", 0))
        if self._boxes:
            self.stats["faces"] = np.asarray(self._boxes, dtype=np.float64)
        if self._people_boxes:
            self.stats["people_faces"] = np.asarray(self._people_boxes, dtype=np.float64)
        self.stats["seconds"]["total"] = time.perf_counter() - t_start
