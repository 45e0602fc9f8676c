"""Standardising speech features per speaker or recording session (unsupervised, transductive).

Much of what separates two corpora, or two users' recordings, is not emotion: another
microphone, room, loudness, language and other voices move every clip of a recording session
the same way. Z-scoring each speaker's (or each session's) features with that group's own mean
and standard deviation removes that shift; what is left is how a clip differs from the others
of its speaker, which is what a speaker's emotions change. It uses no labels, so it is
legitimate for test speakers in a speaker-independent evaluation, but it is *transductive*: a
clip's features depend on the other, unlabelled clips of its group, so it needs several clips
of one speaker or session at once (:data:`MIN_GROUP_CLIPS`), which a system labelling one new
clip does not have. emoset therefore never applies it by default; results with it are
reported apart.

* :func:`standardize_per_speaker` -- z-score the rows of each speaker (the experiment of
  ``python -m pipelines.audio_results --per-speaker-norm``);
* :func:`normalization_groups` -- which group each clip of a batch is standardised with: its
  speaker where known and with enough clips, else its recording session
  (:func:`recording_session`: a manifest's ``session`` column, else the corpus and folder of
  its audio file);
* :func:`standardize_groups` -- z-score by group, small groups with reference statistics (the
  training clips');
* :class:`RunningStandardizer` -- the same over a stream (a timeline's windows): running
  statistics of the windows seen so far.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from ..utils.messages import warn_caller

__all__ = [
    "MIN_GROUP_CLIPS",
    "NORMALIZATIONS",
    "RunningStandardizer",
    "normalization_groups",
    "recording_session",
    "standardize_groups",
    "standardize_per_speaker",
]

#: How features can be standardised per group (``None``: not at all, the default).
NORMALIZATIONS = ("speaker", "session")

#: Fewest clips of a speaker or session standardised with the group's own statistics; smaller
#: groups use the training clips' statistics. Measured on unseen RAVDESS actors (README, "Speech
#: across corpora"): standardised in batches of 5 clips of a speaker no better than not at all
#: (50.6 %), of 10 clips 55.6 %, of 20 59.1 %, of all 60 59.3 % (2 clips: 35.9 %).
MIN_GROUP_CLIPS = 10

_SCALE_FLOOR = 1e-12


def _zscore(rows, mean, scale):
    return (rows - mean) / scale


def _stats(rows):
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale < _SCALE_FLOOR] = 1.0
    return mean, scale


def standardize_per_speaker(X, speakers, *, min_clips=2):
    """Z-normalise features within each speaker (NaN-aware).

    Each speaker's rows are centred and scaled with that speaker's own mean
    and standard deviation, removing much of the between-speaker variation.
    It uses no labels, so in speaker-independent evaluation it is legitimate
    for test speakers too -- but it is *transductive*: it needs several
    (unlabelled) clips of the test speaker at once.

    Parameters
    ----------
    X : array-like of shape (n_clips, n_features)
        May hold NaN rows (abstentions), which stay NaN and are ignored in
        the statistics.
    speakers : array-like of shape (n_clips,)
    min_clips : int, default=2
        Speakers with fewer finite rows are standardised with the statistics
        of all clips instead (with a warning).

    Returns
    -------
    Xs : ndarray of float64, shape (n_clips, n_features)
    """
    X, speakers = np.asarray(X, dtype=float), np.asarray(speakers)
    if X.ndim != 2 or len(speakers) != len(X):
        raise ValueError(
            f"X must be 2-D with one speaker per row; got X {X.shape} and {len(speakers)} speakers."
        )
    Xs, small = standardize_groups(X, speakers, min_clips=min_clips)
    few = sorted({str(s) for s in speakers[small]})
    if few:
        warn_caller(
            f"{len(few)} speaker(s) have fewer than {min_clips} usable clips and were "
            f"standardised with global statistics: {', '.join(few[:5])}"
        )
    return Xs


def standardize_groups(X, groups, *, min_clips=MIN_GROUP_CLIPS, reference=None):
    """Z-score the rows of each group with the group's own statistics (NaN rows stay NaN).

    Parameters
    ----------
    X : array-like of shape (n_clips, n_features)
        May hold NaN rows (clips without features), ignored in the statistics.
    groups : array-like of shape (n_clips,)
        The group of each row (speaker or session keys, :func:`normalization_groups`).
    min_clips : int, default=MIN_GROUP_CLIPS
        Groups with fewer finite rows are standardised with ``reference`` instead.
    reference : (mean, scale) or None
        Statistics for rows of small groups (the training clips'); ``None``: those of all
        finite rows of ``X``.

    Returns
    -------
    Xs : ndarray of float64, shape (n_clips, n_features)
    small : ndarray of bool, shape (n_clips,)
        Rows standardised with ``reference`` (their group was too small).

    Examples
    --------
    >>> X = np.array([[1.0], [3.0], [10.0], [14.0]])
    >>> standardize_groups(X, ["a", "a", "b", "b"], min_clips=2)[0].ravel().tolist()
    [-1.0, 1.0, -1.0, 1.0]
    """
    X = np.asarray(X, dtype=float)
    groups = np.asarray(groups)
    if X.ndim != 2 or len(groups) != len(X):
        raise ValueError(
            f"X must be 2-D with one group per row; got X {X.shape} and {len(groups)} groups."
        )
    finite = np.all(np.isfinite(X), axis=1)
    out = np.full_like(X, np.nan)
    small = np.zeros(len(X), dtype=bool)
    if reference is None:
        reference = _stats(X[finite]) if finite.any() else (0.0, 1.0)
    for key in np.unique(groups.astype(str)):
        rows = (groups.astype(str) == key) & finite
        if not rows.any():
            continue
        if rows.sum() < min_clips:
            small[rows] = True
            out[rows] = _zscore(X[rows], *reference)
        else:
            out[rows] = _zscore(X[rows], *_stats(X[rows]))
    return out, small


def recording_session(clip):
    """The recording session of a clip: what its recording conditions are shared with.

    A manifest's ``session`` column (``Clip.meta["session"]``) when given, else the corpus and
    the folder of the clip's audio file (for a path: its folder).

    Parameters
    ----------
    clip : Clip or path-like

    Returns
    -------
    session : str
    """
    if isinstance(clip, (str, os.PathLike)):
        return f"folder:{Path(clip).parent}"
    meta = getattr(clip, "meta", None) or {}
    corpus = getattr(clip, "corpus", None) or ""
    if meta.get("session"):
        return f"{corpus}:session:{meta['session']}"
    source = getattr(clip, "audio", None) or getattr(clip, "video", None)
    return f"{corpus}:folder:{Path(source).parent}" if source is not None else f"{corpus}:"


def normalization_groups(clips, how="speaker", *, min_clips=MIN_GROUP_CLIPS):
    """The group each clip of a batch is standardised with.

    With ``how="speaker"``: the clip's speaker (``corpus:speaker``) when it is known and has
    at least ``min_clips`` clips in the batch, else its recording session
    (:func:`recording_session`); with ``how="session"``: always the session.

    Parameters
    ----------
    clips : sequence of Clip or path-like
    how : {"speaker", "session"}, default="speaker"
    min_clips : int, default=MIN_GROUP_CLIPS

    Returns
    -------
    groups : ndarray of str, shape (n_clips,)
    """
    if how not in NORMALIZATIONS:
        raise ValueError(f"how must be one of {list(NORMALIZATIONS)}; got {how!r}.")
    speakers = [
        None
        if how != "speaker" or getattr(c, "speaker", None) is None
        else f"{getattr(c, 'corpus', '')}:speaker:{c.speaker}"
        for c in clips
    ]
    counts = Counter(s for s in speakers if s is not None)
    return np.array(
        [
            s if s is not None and counts[s] >= min_clips else recording_session(c)
            for s, c in zip(speakers, clips, strict=True)
        ],
        dtype=object,
    )


class RunningStandardizer:
    """Z-scores feature rows of a stream with the running statistics of the rows seen so far.

    What per-session standardisation is for a timeline: each window's features are centred and
    scaled with the mean and standard deviation of every window of the source up to and
    including it (Welford's update; causal, so a live stream and a file give the same rows).
    Until ``min_count`` finite rows have been seen, rows are standardised with ``reference``
    (the training clips' statistics).

    Parameters
    ----------
    reference : (mean, scale)
        Statistics used before ``min_count`` rows.
    min_count : int, default=MIN_GROUP_CLIPS

    Examples
    --------
    >>> r = RunningStandardizer((np.zeros(1), np.ones(1)), min_count=2)
    >>> [round(float(r.update(np.array([[v]]))[0, 0]), 3) for v in (5.0, 1.0, 3.0)]
    [5.0, -1.0, 0.0]
    """

    def __init__(self, reference, *, min_count=MIN_GROUP_CLIPS):
        self.reference = reference
        self.min_count = min_count
        self.count_ = 0
        self._mean = None
        self._m2 = None

    def update(self, rows):
        """Add rows (in stream order) to the statistics and return them standardised.

        Each row is standardised with the statistics including itself and the rows before it;
        NaN rows stay NaN and are not counted.

        Parameters
        ----------
        rows : ndarray of shape (n_rows, n_features)

        Returns
        -------
        standardised : ndarray of shape (n_rows, n_features)
        """
        rows = np.asarray(rows, dtype=float)
        out = np.full_like(rows, np.nan)
        for i, row in enumerate(rows):
            if not np.all(np.isfinite(row)):
                continue
            if self._mean is None:
                self._mean, self._m2 = np.zeros_like(row), np.zeros_like(row)
            self.count_ += 1
            delta = row - self._mean
            self._mean = self._mean + delta / self.count_
            self._m2 = self._m2 + delta * (row - self._mean)
            if self.count_ < self.min_count:
                out[i] = _zscore(row, *self.reference)
            else:
                scale = np.sqrt(self._m2 / self.count_)
                scale[scale < _SCALE_FLOOR] = 1.0
                out[i] = _zscore(row, self._mean, scale)
        return out
