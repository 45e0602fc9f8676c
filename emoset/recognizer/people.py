"""Each person's emotion in a video: their own image set, and the voice of whoever speaks.

:func:`predict_people` (the recognizer's
:meth:`~emoset.recognizer.system.AudioVisualEmotionRecognizer.predict_people`) tracks every
face of a clip into people (:mod:`emoset.video.people`), scores each person's image set with
the video subsystems, and gives the clip's audio to the person who speaks the most
(:mod:`emoset.video.speakers`); the others are scored from their faces alone, with the reason
"not speaking". Speech that no visible mouth follows gets a row of its own (person ``None``,
reason "voice off screen"), scored from the audio alone: it is never given to a face it does
not match. Each row is decided by the rule of every clip and window
(:func:`~emoset.recognizer.records.decide`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets.corpora import Clip
from ..io.media import load_audio
from ..video.extract import clip_name
from ..video.people import PeopleTracker
from ..video.speakers import attribute_speech, mouth_change, mouth_region
from .subsystems import AUDIO_ABSTAINS, input_reasons

__all__ = [
    "NOT_SPEAKING",
    "OFF_SCREEN",
    "PEOPLE_COLUMNS",
    "WindowPeople",
    "frame_gap_limit",
    "predict_people",
]

#: Why an audio subsystem says nothing about a person.
NOT_SPEAKING = "not speaking"

#: Why the video subsystems say nothing about a row of speech.
OFF_SCREEN = "voice off screen"

#: Seconds of speech that no visible mouth follows before it gets a row of its own.
MIN_OFF_SCREEN = 0.5

#: Rate of the sound cut into each person's voice.
RATE = 16000

#: The columns of a people table before the per-class scores.
PEOPLE_COLUMNS = ["person", "start", "end", "n_frames", "speaking", "box", "label", "reason"]


def _rows_of(people):
    """The rows of one clip: its people, then (with speech no mouth follows) the voice."""
    rows = [dict(p) for p in people["people"]]
    if people["off_screen"] >= MIN_OFF_SCREEN:
        rows.append(
            {"person": None, "start": None, "end": None, "n_frames": 0, "on_screen": None}
            | {"box": None, "speaking": people["off_screen"]}
        )
    return rows


def _voices(rows, people):
    """``{row: [(start, end), ...]}``: the stretches of the clip whose voice is each row's."""
    out = {}
    for start, end, whose in people["turns"]:
        row = len(people["people"]) if whose == -1 else whose
        if row < len(rows):
            out.setdefault(row, []).append((start, end))
    return out


def _audio_of(steps, audio, clip, rows, voices):
    """Each audio subsystem's features of each row: the voice that is theirs, else nothing.

    With one voice in the clip, its row hears the whole clip's sound, as a clip-level answer
    does; with several, each row the stretches (whole windows) given to it. A clip whose
    sound cannot be scored at all (none, silent) says so for every row.
    """
    features, reasons = {}, {}
    signal = None
    if len(voices) > 1:
        signal = load_audio(clip.audio_source if isinstance(clip, Clip) else clip, sr=RATE)
    for name in audio:
        F, info = steps[name].extract([clip])
        features[name] = np.full((len(rows), F.shape[1]), np.nan)
        clip_why = input_reasons("audio", info).get(0)
        reasons[name] = [clip_why or NOT_SPEAKING] * len(rows)
        for row, spans in voices.items():
            if signal is None:
                features[name][row] = F[0]
                reasons[name][row] = clip_why
                continue
            piece = np.concatenate([signal[int(a * RATE) : int(b * RATE)] for a, b in spans])
            values, status, why = steps[name].extract_signal(piece, RATE)
            features[name][row] = values
            reasons[name][row] = why if status in AUDIO_ABSTAINS else None
    return features, reasons


def _people_of(steps, video, clip):
    """Each video subsystem's per-person image sets, and the people (the same for each)."""
    per_person, people, first = {}, None, None
    for name in video:
        sets, info, found = steps[name].extract_people([clip])
        per_person[name] = sets[0]
        if found[0] is None:  # the video could not be read: say why, as a clip would
            raise ValueError(f"{clip_name(clip)}: {info['error'].iloc[0] or 'no video'}")
        if people is not None and found[0]["people"] != people["people"]:
            raise ValueError(
                f"{clip_name(clip)}: the video subsystems {first} and {name} track faces "
                "with different settings and see different people; give them one aligner "
                "and one tracker to tell people apart."
            )
        if people is None:
            people, first = found[0], name
    return per_person, people


def predict_people(model, source):
    """One row per person of a video (and one for a voice off screen).

    Parameters
    ----------
    model : AudioVisualEmotionRecognizer
        Fitted.
    source : str, path-like or Clip
        A video file (its own sound, or a Clip's audio file).

    Returns
    -------
    people : pandas.DataFrame
        One row per person, in order of first appearance: ``person`` (``"P1"``, ...;
        ``None`` for the voice off screen), ``start``, ``end`` (seconds of their first and
        last frame), ``n_frames``, ``speaking`` (share of their time on screen they speak;
        ``None`` for the voice off screen), ``box`` (median ``[x0, y0, x1, y1]`` in source
        pixels), ``label`` (``None`` where no subsystem could score the person), ``reason``,
        and one score column per class. ``attrs`` holds ``speech`` and ``off_screen``
        (seconds of speech, and of speech no visible mouth follows) and ``main`` (the person
        a clip-level answer labels). A video without a face or speech has no rows.

    Notes
    -----
    Each voice goes to its own row: with one voice in the clip, its speaker's row is
    scored with the clip's audio, as a clip-level answer is; with several (a dialogue, a
    voice off screen beside one on screen), each row with the stretches of sound given to
    it (:func:`~emoset.video.people.summarise_people`).
    """
    clip = source if isinstance(source, Clip) else str(source)
    steps = model.feature_steps(cache=True)
    video = [n for n in steps if model.modalities_[n] == "video"]
    audio = [n for n in steps if model.modalities_[n] == "audio"]
    if not video:
        raise ValueError("predict_people needs a model with video subsystems; it has none.")
    per_person, people = _people_of(steps, video, clip)
    rows = _rows_of(people)
    classes = [str(c) for c in model.classes_]
    out = []
    if rows:
        features, reasons = _audio_of(steps, audio, clip, rows, _voices(rows, people))
        for name in video:
            dim = int(steps[name].n_features_out_)
            empty = [np.zeros((0, dim), np.float32)] * (len(rows) - len(per_person[name]))
            features[name] = list(per_person[name]) + empty
            reasons[name] = [OFF_SCREEN if r["person"] is None else None for r in rows]
        for row, decision in zip(rows, model.decide_features(features, reasons), strict=True):
            seen = row.pop("on_screen")
            share = None if seen is None else min(1.0, row["speaking"] / max(seen, 1e-9))
            record = {**row, "speaking": None if share is None else round(float(share), 4)}
            record["label"] = decision.label
            record["reason"] = decision.explain("person")
            record.update({c: np.nan if s is None else s for c, s in decision.scores.items()})
            out.append(record)
    frame = pd.DataFrame(out, columns=PEOPLE_COLUMNS + classes)
    for column in ("person", "label", "start", "end", "box", "speaking"):  # None, not NaN
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    main = people["main"]
    frame.attrs.update(
        speech=float(people["speech"]),
        off_screen=float(people["off_screen"]),
        main=None if main < 0 else people["people"][main]["person"],
    )
    return frame


def frame_gap_limit(fps, source_fps, recent=()):
    """The longest time (s) between two kept video frames that no dropped frame explains.

    Frames kept on the grid of ``fps`` (see :func:`emoset.io.sources.iter_media`) are up to
    one grid step and one source frame apart; kept frames further apart than that, plus half a
    source frame of jitter, had frames dropped between them. ``recent`` (the last gaps seen)
    covers a live source that delivers fewer frames than the rate it announces: gaps up to 1.5
    times their median are not drops either.

    Parameters
    ----------
    fps : float or None
        The analysis rate (``None``: every frame kept).
    source_fps : float or None
        The rate the source announces (``None``: unknown).
    recent : sequence of float
        The latest gaps between kept frames (used from 5 on).

    Returns
    -------
    limit : float or None
        ``None`` when neither rate is known and too few gaps were seen.

    Examples
    --------
    >>> round(frame_gap_limit(None, 25.0), 3), round(frame_gap_limit(20.0, 25.0), 3)
    (0.06, 0.11)
    >>> round(frame_gap_limit(None, 30.0, [1 / 15] * 10), 3)  # a camera giving half its rate
    0.1
    """
    bounds = []
    if source_fps:
        grid = 1.0 / fps if fps and fps < source_fps else 0.0
        bounds.append(grid + 1.5 / source_fps)
    elif fps:
        bounds.append(1.5 / fps)
    if len(recent) >= 5:
        bounds.append(1.5 * float(np.median(recent)))
    return max(bounds) if bounds else None


def _within(before, t, limit):
    """Whether ``t`` follows ``before`` by at most ``limit`` s (True when one is unknown)."""
    if before is None or t is None or not limit:
        return True
    return 0.0 < t - before <= limit


class WindowPeople:
    """The people of a timeline, frame by frame, and who speaks in each window.

    One :class:`~emoset.video.people.PeopleTracker` for every video subsystem (so a person is
    the same person for each of them); each face's mouth motion is measured as it comes, and
    :meth:`speaker` gives a window's voice to the person whose mouth follows it.

    Parameters
    ----------
    steps : dict
        The recognizer's feature steps (:meth:`feature_steps`).
    video : list of str
        The video subsystems among them.
    source : str or None
        For messages.

    Raises
    ------
    ValueError
        If the video subsystems align faces differently (they would see different people).
    """

    def __init__(self, steps, video, *, source=None):
        aligners = [steps[n].make_aligner() for n in video]
        params = [{k: v for k, v in a.get_params().items() if k != "chips"} for a in aligners]
        if any(p != params[0] for p in params[1:]):
            raise ValueError(
                "people=True needs one face aligner for every video subsystem (apart from "
                f"its chips); this model's subsystems {video} align faces differently."
            )
        first = steps[video[0]]
        aligner = aligners[0].set_params(chips=any(a.chips for a in aligners))
        self.tracker = PeopleTracker(
            aligner,
            min_face_size=first.min_face_size,
            identity_threshold=first.identity_threshold,
            source=source,
        )
        self._last = {}  # person -> (frame index, time, mouth region)

    def track(self, frame, index, t=None, max_gap=None):
        """The faces of a frame: ``([(person, face, chip, aligned landmarks)], [(person, box,
        mouth motion)])``, people as indices (``P1`` is 0).

        A mouth's motion is measured against the same person's face in the previous kept frame
        (``index - 1``); with the frame's time ``t`` (s) and ``max_gap`` (s, see
        :func:`frame_gap_limit`), also only when no more than ``max_gap`` passed since, so
        frames a live source dropped do not count as consecutive.
        """
        faces, people = [], []
        for pid, _, found in self.tracker.update(frame):
            k = int(pid[1:]) - 1
            mouth = mouth_region(found.face)
            prev = self._last.get(k)
            motion = np.nan
            if prev is not None and prev[0] == index - 1 and _within(prev[1], t, max_gap):
                motion = mouth_change(prev[2], mouth)
            self._last[k] = (index, t, mouth)
            faces.append((k, found.face, found.chip, found.aligned_landmarks))
            people.append((k, found.box, motion))
        return faces, people

    @staticmethod
    def speaker(frames, levels, floor):
        """Who is seen in a window's frames and who speaks: ``(people, speaker)``.

        ``people`` lists the person indices seen, in order of first appearance; ``speaker``
        is the position of the speaker among them, ``-1`` for speech no visible mouth
        follows, ``None`` without speech (or without sound).
        """
        seen = []
        for f in frames:
            for person, _, _ in f.people:
                if person not in seen:
                    seen.append(person)
        if not len(levels) or not frames:
            return seen, None
        times = np.array([f.t for f in frames]) - frames[0].t
        person, where, motion = [], [], []
        for i, f in enumerate(frames):
            for k, _, m in f.people:
                person.append(seen.index(k))
                where.append(i)
                motion.append(m)
        span = float(times[-1] + (times[1] - times[0] if len(times) > 1 else 0.1))
        windows, _, _ = attribute_speech(
            times,
            levels,
            np.asarray(person, dtype=np.int64),
            np.asarray(where, dtype=np.int64),
            np.asarray(motion, dtype=np.float64),
            n_people=len(seen),
            window=span,
            hop=span,
            floor=floor,
        )
        return seen, windows[0]["speaker"]
