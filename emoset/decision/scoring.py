"""Per-class score matrices: labels, accuracy and column alignment — one home each.

Every subsystem and every fusion in emoset answers with a score matrix of shape
``(n_clips, n_classes)`` whose columns follow a ``classes`` array; a row of NaN is an
abstention (the subsystem had no basis to score that clip). These helpers are what the
classifiers, the fusions, the recognizer, the reports and the command line share.
"""

from __future__ import annotations

import numpy as np

__all__ = ["aligned_scores", "scores_accuracy", "scores_in_order", "scores_to_labels"]


def scores_to_labels(scores, classes):
    """The class of the largest score of each row; ``None`` for an all-NaN (abstained) row.

    Parameters
    ----------
    scores : ndarray of shape (n_clips, n_classes)
    classes : array-like of shape (n_classes,)

    Returns
    -------
    labels : ndarray of shape (n_clips,), dtype object
    """
    scores, classes = np.asarray(scores, dtype=float), np.asarray(classes)
    out = np.full(len(scores), None, dtype=object)
    ok = ~np.isnan(scores).any(axis=1)
    out[ok] = classes[np.argmax(scores[ok], axis=1)]
    return out


def scores_accuracy(scores, y, classes):
    """Accuracy of per-class scores (argmax), counting an abstention (NaN row) as wrong.

    Parameters
    ----------
    scores : ndarray of shape (n_clips, n_classes)
    y : array-like of shape (n_clips,)
    classes : array-like of shape (n_classes,)
        The class of each score column.

    Returns
    -------
    accuracy : float
    """
    y = np.asarray(y)
    if not len(y):
        return 0.0
    return float(np.mean(scores_to_labels(scores, classes) == y))


def aligned_scores(estimator, X, classes, *, method="decision_function"):
    """Scores of a fitted classifier with its columns in ``classes`` order.

    A binary ``decision_function`` (one column) becomes ``[-s, s]``. A class the classifier
    never saw (absent from its training clips) gets the row's lowest score, so it never wins.

    Parameters
    ----------
    estimator : fitted classifier
    X : input of ``estimator``
    classes : array-like of shape (n_classes,)
    method : {"decision_function", "predict_proba"}

    Returns
    -------
    scores : ndarray of shape (n_clips, len(classes))
        NaN rows where the classifier abstains.
    """
    scores = getattr(estimator, method)(X)
    return scores_in_order(scores, estimator.classes_, classes)


def scores_in_order(scores, own_classes, classes):
    """A classifier's scores (columns in ``own_classes`` order) in ``classes`` order, as
    :func:`aligned_scores` returns them.

    Parameters
    ----------
    scores : array-like of shape (n_clips, n_own) or (n_clips,)
        A binary ``decision_function`` (one column) becomes ``[-s, s]``.
    own_classes : array-like of shape (n_own,)
    classes : array-like of shape (n_classes,)

    Returns
    -------
    scores : ndarray of shape (n_clips, len(classes))
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        scores = np.column_stack([-scores, scores])
    own = list(own_classes)
    out = np.full((len(scores), len(classes)), np.nan)
    for j, c in enumerate(classes):
        if c in own:
            out[:, j] = scores[:, own.index(c)]
    missing = [j for j, c in enumerate(classes) if c not in own]
    if missing:
        rows = ~np.isnan(scores).any(axis=1)
        low = np.full(len(scores), np.nan)
        low[rows] = np.nanmin(out[rows], axis=1)
        out[:, missing] = low[:, None]
    return out
