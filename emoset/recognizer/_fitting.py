"""Helpers of the recognizer's ``fit``: labels and speakers, the speaker-grouped inner folds,
augmented training rows (mirrored faces, augmented speech), candidate lists and feature-step
keys, warnings summarised once."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold, StratifiedKFold

from ..audio.augment import AUGMENTATIONS
from ..audio.speech import require_librosa
from ..datasets.corpora import Clip
from ..decision.abstain import AbstainingClassifier
from ..utils.cache import make_key
from ..utils.messages import summarise, warn_caller


def _labels_and_groups(X, y, groups):
    if y is None:
        if not all(isinstance(c, Clip) for c in X):
            raise ValueError("y is needed unless X is a list of labelled Clip records.")
        y = [c.label for c in X]
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} clips but y has {len(y)} labels.")
    if groups is None and all(isinstance(c, Clip) and c.speaker is not None for c in X):
        groups = np.array([c.corpus + ":" + c.speaker for c in X], dtype=object)
    if groups is None:
        warn_caller(
            "No speakers known (pass groups=..., or Clip records with a speaker): the inner "
            "cross-validation that picks candidates and fusion weights is not speaker-grouped, "
            "so it favours what works on speakers seen in training."
        )
    return y, None if groups is None else np.asarray(groups)


def _splits(y, groups, n_splits, random_state):
    """The inner folds, and whether they keep each speaker's clips together."""
    if groups is not None and len(set(groups.tolist())) >= n_splits:
        return list(GroupKFold(n_splits=n_splits).split(y, y, groups)), True
    if groups is not None:
        warn_caller(
            f"Fewer than {n_splits} speakers: the inner cross-validation is not speaker-grouped."
        )
    classes, counts = np.unique(y, return_counts=True)
    if counts.max() < 2:  # no fold could hold out a clip of a class the others still have
        raise ValueError(
            "The inner cross-validation that picks candidates and fusion weights needs at "
            f"least 2 training clips of some class; each of {summarise(classes)} has one."
        )
    k = int(max(2, min(n_splits, counts.min())))
    folds = StratifiedKFold(k, shuffle=True, random_state=random_state).split(y, y)
    return list(folds), False


def _with_copies(F, copies, y, splits):
    """``(X, y, folds)`` to fit a subsystem on: its features, plus augmented copies when given.

    ``copies`` is a list of feature sets of the same clips (mirrored image sets, augmented
    speech); copy ``j`` of clip ``i`` is row ``(j + 1) * n + i`` with clip ``i``'s label. In
    every fold it trains exactly when clip ``i`` trains (it carries the clip's speaker) and it
    is never held out: out-of-fold scores exist for rows ``0 .. n - 1`` only, the original
    clips.
    """
    if not copies:
        return F, y, splits
    n = len(y)
    for copy in copies:
        if len(copy) != n:
            raise RuntimeError(f"{len(copy)} augmented copies for {n} clips.")
    k = len(copies)
    folds = [
        (np.concatenate([np.asarray(tr) + j * n for j in range(k + 1)]), np.asarray(te))
        for tr, te in splits
    ]
    if isinstance(F, np.ndarray):
        X = np.vstack([F, *copies])
    else:
        X = list(F) + [s for copy in copies for s in copy]
    return X, np.concatenate([y] * (k + 1)), folds


def _fit_params(pipe, n, n_copies, groups):
    """Fit parameters of an abstaining classifier: which rows are augmented copies (they train
    it but stay out of its distance check: a copy's nearest neighbour is its original), and
    each row's speaker (the distance check is calibrated on distances to other speakers)."""
    name, clf = pipe.steps[-1]
    if not isinstance(clf, AbstainingClassifier):
        return {}
    params = {}
    if n_copies:  # rows 0 .. n - 1 are the clips, the rest their copies (see _with_copies)
        params[f"{name}__augmented"] = np.concatenate([np.zeros(n, bool), np.ones(n_copies, bool)])
    if groups is not None:
        params[f"{name}__groups"] = np.concatenate([groups] * (1 + n_copies // n))
    return params


def _check_speech_options(specs, augment):
    """``augment`` (kinds of augmented speech) and the optional packages the audio candidates
    need (librosa for pYIN and pitch-shifted copies), checked before any clip is read."""
    if isinstance(augment, str) or not all(k in AUGMENTATIONS for k in augment or ()):
        raise ValueError(f"augment must be a list of {list(AUGMENTATIONS)}; got {augment!r}.")
    audio = [
        (name, c.steps[0][1])
        for name, (modality, cands) in specs.items()
        if modality == "audio"
        for c in cands
    ]
    for name, step in audio:
        if augment and "augmentation" not in step.get_params(deep=False):
            raise TypeError(
                f"Subsystem {name!r}: augment needs a feature step that can augment "
                f"speech (OpenSmileFeatures, LibrosaFeatures); got {type(step).__name__}."
            )
        if hasattr(step, "_check_dependencies"):
            step._check_dependencies()
    if audio and "pitch" in (augment or ()):
        require_librosa("augment=['pitch']")


def _candidates(spec):
    """A subsystem's candidates: a list or tuple of estimators, or one estimator."""
    return list(spec) if isinstance(spec, (list, tuple)) else [spec]


def _step_key(step):
    """Identity of a feature step: class, parameters (minus run-time ones), fitted band."""
    params = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in step.get_params(deep=False).items()
        if k not in ("cache_dir", "n_jobs", "verbose")
    }
    return make_key(type(step).__qualname__, params, getattr(step, "band_rate_", None))


def _warn_once_each(caught):
    """Re-emit warnings caught during ``fit`` once each (per-fold repeats counted, not shown).

    Repeats differ only in numbers (fold sizes, set indices), so messages are grouped with
    their digits masked. Unusable training rows are left out: ``fit`` summarises those itself.
    """
    groups = {}
    for w in caught:
        message = str(w.message)
        if message.startswith("Dropping ") and "training rows" in message:
            continue
        key = (w.category, re.sub(r"\d+", "#", message))
        groups.setdefault(key, [w, 0])[1] += 1
    for (category, _), (w, count) in groups.items():
        suffix = f" (seen in {count} of the inner fits)" if count > 1 else ""
        warn_caller(f"{w.message}{suffix}", category)
