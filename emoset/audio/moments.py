"""Speech as an image set: the moments of a clip's openSMILE frame descriptors.

The pure-function layer under :class:`emoset.audio.features.OpenSmileDescriptorMoments`, as
:mod:`emoset.audio.speech` is under the functionals: a clip's frame-level descriptors
(:func:`~emoset.audio.speech.opensmile_descriptors`, 25 per 10 ms frame for eGeMAPSv02) are a
set of frames, summarised by what a Gaussian of them needs.

* :func:`frame_moments` -- the frame count, mean and covariance of a set of frames, as one row
  (:class:`emoset.sets.imagesets.GaussianMomentEmbedding` turns such rows into log-Euclidean
  vectors);
* :func:`descriptor_window_moments` -- the same for the windows of a long signal, its
  descriptors computed once.
"""

from __future__ import annotations

import numpy as np

from .speech import OPENSMILE_DESCRIPTOR_SETS, opensmile_descriptors

__all__ = [
    "DESCRIPTOR_HOP",
    "DESCRIPTOR_SPAN",
    "descriptor_window_moments",
    "frame_moment_names",
    "frame_moments",
]


def frame_moments(frames):
    """The frame count, mean and covariance of a set of frames, as one row.

    What a Gaussian of the frames needs (:class:`emoset.sets.imagesets.GaussianMomentEmbedding`
    turns such rows into log-Euclidean vectors): ``[n, mean (d), upper triangle of the
    covariance (d (d + 1) / 2, row by row, divided by n)]``. Frames with a non-finite value are
    left out.

    Parameters
    ----------
    frames : array-like of shape (n_frames, d)

    Raises
    ------
    ValueError
        If ``frames`` is not 2-D.

    Returns
    -------
    moments : ndarray of float32, shape (1 + d + d (d + 1) / 2,)
        All NaN when fewer than two frames are finite.

    Examples
    --------
    >>> frame_moments([[0.0, 1.0], [2.0, 3.0]]).tolist()
    [2.0, 1.0, 2.0, 1.0, 1.0, 1.0]
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2:
        raise ValueError(f"frames must be 2-D (n_frames, n_features); got shape {frames.shape}.")
    d = frames.shape[1]
    frames = frames[np.all(np.isfinite(frames), axis=1)]
    out = np.full(1 + d + d * (d + 1) // 2, np.nan, dtype=np.float32)
    if len(frames) < 2:
        return out
    mean = frames.mean(axis=0)
    centred = frames - mean
    cov = centred.T @ centred / len(frames)
    out[0] = len(frames)
    out[1 : 1 + d] = mean
    out[1 + d :] = cov[np.triu_indices(d)]
    return out


#: openSMILE's descriptor frames: one every 10 ms; a signal of ``L >= 0.06`` seconds has
#: ``floor((L - 0.05) / 0.01) + 1`` of them (measured on eGeMAPSv02; shorter signals have none).
DESCRIPTOR_HOP = 0.01
DESCRIPTOR_SPAN = 0.05


def descriptor_window_moments(signal, sampling_rate, spans, *, feature_set="eGeMAPSv02"):
    """:func:`frame_moments` of windows of one signal, its descriptors computed once.

    What a timeline's overlapping windows need: openSMILE analyses the whole signal once and
    each window takes the frames that fit in it (as many as analysing the window alone gives;
    only the frames at its edges, whose smoothing sees the samples around the window, differ
    from that).

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
    sampling_rate : int
    spans : sequence of (start, stop)
        Sample indices of each window in ``signal``.
    feature_set : {"eGeMAPSv02"}, default="eGeMAPSv02"

    Returns
    -------
    moments : ndarray of float32, shape (n_windows, 1 + d + d (d + 1) / 2)
        NaN rows where a window holds fewer than two frames.
    """
    frames = opensmile_descriptors(signal, sampling_rate, feature_set=feature_set)
    hop = DESCRIPTOR_HOP * sampling_rate
    span = DESCRIPTOR_SPAN * sampling_rate
    out = []
    for a, b in spans:
        # the window alone has frames from its own first sample on: the nearest of the signal's
        # (within half a hop when the window does not start on the 10 ms grid), as many
        first = int(round(a / hop))
        count = int(np.floor((b - a - span) / hop + 1e-9)) + 1 if b - a >= span + hop else 0
        out.append(frame_moments(frames[first : first + max(count, 0)]))
    n = OPENSMILE_DESCRIPTOR_SETS[feature_set]
    return np.array(out, dtype=np.float32).reshape(len(out), 1 + n + n * (n + 1) // 2)


def frame_moment_names(names):
    """The names of :func:`frame_moments`'s values for frames of descriptors ``names``."""
    rows, cols = np.triu_indices(len(names))
    return (
        ["n_frames"]
        + [f"mean_{n}" for n in names]
        + [f"cov_{names[i]}__{names[j]}" for i, j in zip(rows, cols, strict=True)]
    )
