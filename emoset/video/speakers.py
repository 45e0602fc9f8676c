"""Who is speaking: the agreement of each visible mouth with the loudness of the voice.

Speech moves the mouth: over a couple of seconds, the speaker's mouth moves when the voice is
loud and rests in its pauses, while a listener's mouth (or a face seen while someone off screen
speaks) does not follow the voice. :func:`mouth_motion` measures each aligned face's mouth
movement (the mean absolute change of the mouth region of the aligned crop since the same
person's previous frame), :func:`voice_levels` the level of the audio (dBFS) at each video
frame, and :func:`attribute_speech` gives each window of a video with speech to the person
whose mouth motion correlates best with the voice level (the largest correlation over a lag of
up to two frames either way), if that correlation reaches ``min_sync``; speech that no visible
mouth follows is "voice off screen".

Measured on 59 CREMA-D face-crop clips, 2-second windows: the mouth region's motion follows its
own clip's voice (median correlation 0.46, 10th percentile 0.27) better than another clip's
(median 0.32) in 79 % of the windows, and the mouth opening measured from the 68 landmarks
does worse (62 %; its speed 72 %): the region's pixels carry lips, teeth and tongue. Every
CREMA-D sentence has the same shape (a pause, about two seconds of speech, a pause), so
another clip's voice is the hardest case there is for this test: a listener whose mouth rests
is told apart far more easily.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "VOICE_DB",
    "attribute_speech",
    "mouth_change",
    "mouth_motion",
    "mouth_region",
    "voice_levels",
]

#: A frame's voice is loud enough to be speech above this level (dBFS, RMS), as in
#: :func:`emoset.audio.speech.speech_activity`.
VOICE_DB = -45.0

#: The mouth region of an aligned face, as fractions of the crop (rows, then columns).
MOUTH_REGION = ((0.6, 0.9), (0.25, 0.75))


def mouth_region(faces):
    """The mouth region of aligned faces (``(n, s, s)`` or one ``(s, s)``), as float32."""
    faces = np.asarray(faces)
    s = faces.shape[-1]
    (r0, r1), (c0, c1) = MOUTH_REGION
    return faces[..., int(r0 * s) : int(r1 * s), int(c0 * s) : int(c1 * s)].astype(np.float32)


def mouth_change(before, after):
    """How much a mouth region moved between two frames: mean absolute change (gray levels)."""
    return float(np.abs(after - before).mean())


def mouth_motion(faces, person, frame_indices):
    """How much each face's mouth moved since the same person's previous frame.

    Parameters
    ----------
    faces : ndarray of shape (n, s, s), uint8
        Aligned faces (see :class:`~emoset.video.faces.FaceAligner`).
    person : ndarray of shape (n,)
        Whose face each is.
    frame_indices : ndarray of shape (n,)
        The frame each face comes from.

    Returns
    -------
    motion : ndarray of shape (n,)
        Mean absolute change of the mouth region's gray levels; NaN for a person's first face
        and after a frame without their face.
    """
    faces = np.asarray(faces)
    n = len(faces)
    motion = np.full(n, np.nan)
    if n == 0:
        return motion
    mouth = mouth_region(faces)
    last = {}
    for k in range(n):
        p, f = int(person[k]), int(frame_indices[k])
        prev = last.get(p)
        if prev is not None and f - frame_indices[prev] == 1:
            motion[k] = mouth_change(mouth[prev], mouth[k])
        last[p] = k
    return motion


def voice_levels(signal, sampling_rate, times, duration):
    """The audio's level (dBFS, RMS) over ``[t, t + duration)`` for each time ``t``.

    Parameters
    ----------
    signal : ndarray of shape (n_samples,)
        Mono audio in [-1, 1], starting at time 0.
    sampling_rate : int
    times : array-like of shape (m,)
        Start of each span, in seconds (video frame times).
    duration : float
        Length of each span (one video frame).

    Returns
    -------
    levels : ndarray of shape (m,)
        -120 dB where the span holds no samples or silence.
    """
    y = np.asarray(signal, dtype=np.float64).reshape(-1)
    times = np.asarray(times, dtype=np.float64)
    out = np.full(len(times), -120.0)
    for k, t in enumerate(times):
        a = int(round(t * sampling_rate))
        b = int(round((t + duration) * sampling_rate))
        seg = y[max(0, a) : max(0, b)]
        if seg.size:
            rms = float(np.sqrt(np.mean(seg * seg)))
            out[k] = 20 * np.log10(max(rms, 1e-6))
    return out


def _sync(motion, levels, max_lag=2):
    """Largest correlation of two series over lags of up to ``max_lag`` steps (NaN if flat)."""
    best = np.nan
    for lag in range(-max_lag, max_lag + 1):
        a, b = motion, levels
        if lag > 0:
            a, b = a[lag:], b[:-lag]
        elif lag < 0:
            a, b = a[:lag], b[-lag:]
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 5 or a[ok].std() == 0 or b[ok].std() == 0:
            continue
        r = float(np.corrcoef(a[ok], b[ok])[0, 1])
        best = r if not np.isfinite(best) else max(best, r)
    return best


def attribute_speech(
    times,
    levels,
    person,
    frame_indices,
    motion,
    *,
    n_people,
    window=2.0,
    hop=1.0,
    min_voiced=0.2,
    min_sync=0.0,
    min_motion=2.0,
    threshold_db=VOICE_DB,
    floor=None,
):
    """Who speaks in each window of a video: a person, nobody visible, or no speech at all.

    Parameters
    ----------
    times : ndarray of shape (n_frames,)
        The time of every video frame (seconds).
    levels : ndarray of shape (n_frames,)
        The voice level at each frame (:func:`voice_levels`).
    person, frame_indices, motion : ndarray of shape (n_faces,)
        Whose each face is, its frame, its mouth motion (:func:`mouth_motion`).
    n_people : int
    window, hop : float, default=2.0, 1.0
        Seconds; a video shorter than ``window`` is one window.
    min_voiced : float, default=0.2
        Share of a window's frames above ``threshold_db`` for it to hold speech.
    min_sync : float, default=0.0
        Correlation a moving mouth must exceed to be the speaker's.
    min_motion : float, default=2.0
        Median mouth motion (gray levels per frame) over the voiced frames that a person's
        mouth needs to be speaking at all. Measured on scenes built from the CREMA-D face
        crops (26 pairs of actors, each speaker beside a listener at two sizes, and each
        listener alone at two sizes while the other actor is heard): a speaking mouth moves by
        2.6 and more, a listener's (a held face swaying by a pixel, re-aligned every frame) by
        up to about 1.6. With these two defaults the speaker gets the voice in 87 of 88 such
        windows and the listener alone is a voice off screen in 80 of 82 (with ``min_sync``
        0.2: 79 of 88 and 80 of 82). A face that talks without being heard while someone
        unseen speaks (a voice-over of a talking face) is told apart only by the correlation,
        and on CREMA-D, where every sentence has the same shape, it is not: 6 of 82 windows.
    threshold_db : float
        See :data:`VOICE_DB`.
    floor : float or None
        The recording's noise floor (dBFS); ``None``: the 10th percentile of ``levels``. A
        frame is voiced above ``max(threshold_db, floor + 6)``: recordings differ in their
        noise (the CREMA-D face crops' floors lie between -55 and -24 dBFS).

    Returns
    -------
    windows : list of dict
        ``start``, ``end``, ``voiced`` (share of voiced frames), ``speaker`` (index of the
        person speaking, ``-1`` for speech that no visible mouth follows, ``None`` without
        speech) and ``sync`` (each person's correlation, NaN where not visible).
    owner : ndarray of shape (n_frames,), int
        Whose voice each frame belongs to: the speaker of the window whose centre is nearest
        (windows cover the whole video, the last one ending with it); ``-1`` for a voice
        off screen, ``-2`` for a frame of a window without speech.
    voiced : ndarray of shape (n_frames,), bool
        The frames whose sound is loud enough to be speech.
    """
    times = np.asarray(times, dtype=np.float64)
    levels = np.asarray(levels, dtype=np.float64)
    windows = []
    owner = np.full(len(times), -2, dtype=np.int64)
    if not len(times):
        return windows, owner, np.zeros(0, bool)
    dt = float(np.median(np.diff(times))) if len(times) > 1 else 0.04
    floor = float(np.quantile(levels, 0.1)) if floor is None else float(floor)
    loud = levels > max(threshold_db, floor + 6.0)
    face_frames = np.clip(frame_indices, 0, len(times) - 1)
    end_all = float(times[-1] + dt)
    starts = list(np.arange(0.0, max(end_all - window, 0.0) + 1e-9, hop))
    if starts[-1] + window < end_all - 1e-9:  # one more, ending with the video
        starts.append(end_all - window)
    centres = np.array(starts) + window / 2
    nearest = np.argmin(np.abs(times[:, None] + dt / 2 - centres[None, :]), axis=1)
    for w, start in enumerate(starts):
        end = min(start + window, end_all)
        in_win = (times >= start) & (times < end)
        frames = np.flatnonzero(in_win)
        voiced = float(np.mean(loud[frames])) if len(frames) else 0.0
        sync = np.full(n_people, np.nan)
        speaker = None
        if voiced >= min_voiced:
            for p in range(n_people):
                mine = (person == p) & in_win[face_frames]
                if mine.sum() < max(5, len(frames) // 2):
                    continue  # seen in less than half the window: no judgement
                voiced_faces = mine & loud[face_frames]
                if not voiced_faces.any() or np.nanmedian(motion[voiced_faces]) < min_motion:
                    continue  # the mouth rests while the voice speaks: not this person
                sync[p] = _sync(motion[mine], levels[frame_indices[mine]])
            ok = np.isfinite(sync) & (sync >= min_sync)
            speaker = int(np.nanargmax(np.where(ok, sync, -np.inf))) if ok.any() else -1
            owner[nearest == w] = speaker  # the frames nearest this window's centre
        windows.append(
            {
                "start": float(start),
                "end": float(end),
                "voiced": voiced,
                "speaker": speaker,
                "sync": sync,
            }
        )
    return windows, owner, loud
