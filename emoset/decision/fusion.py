"""Late fusion of per-class scores from several subsystems.

Each subsystem (e.g. DenseSIFT-PLS, CNN-PLS, audio-SVM) gives a score matrix of shape
``(n_clips, n_classes)`` with its columns in the order of ``classes_``. Fusion input is these
matrices stacked as ``S`` of shape ``(n_clips, n_subsystems, n_classes)`` (or a list or a dict of
the 2-D matrices). A subsystem that abstains for a clip (no face found, no audio track) has a row
of NaN there and drops out of that clip's fusion.

:class:`WeightedScoreFusion` computes ``F[i, c] = sum_m w[m, c] * Z[i, m, c]`` over the subsystems
``m`` available for clip ``i`` (divided by the sum of their weights, so a clip with a missing
subsystem keeps the same scale), where ``Z`` are the scores after per-subsystem normalisation.
The weights are chosen on the data given to ``fit`` — out-of-fold scores of the training clips,
never the test clips (see :func:`out_of_fold_scores`). :class:`StackingFusion` trains a classifier
on the concatenated normalised scores instead.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..utils.messages import warn_caller
from .scoring import aligned_scores, scores_to_labels

__all__ = [
    "WeightedScoreFusion",
    "StackingFusion",
    "normalize_scores",
    "stack_scores",
    "out_of_fold_scores",
]

logger = logging.getLogger(__name__)

_NORMALIZERS = ("zscore", "minmax", "softmax", None)
_SCHEMES = ("global", "per_class")
_PROBA_FLOOR = 1e-12


def stack_scores(scores):
    """Turn subsystem scores into one array ``(n_clips, n_subsystems, n_classes)``.

    Parameters
    ----------
    scores : ndarray of shape (n, m, c), sequence of (n, c) arrays, or mapping name -> (n, c)

    Returns
    -------
    S : ndarray of float64, shape (n_clips, n_subsystems, n_classes)
    names : list of str
        Subsystem names (the mapping's keys, else ``"s0", "s1", ...``).

    Raises
    ------
    ValueError
        If the matrices disagree in shape, are not 2-D, or hold infinite values.
    TypeError
        If ``scores`` is none of the accepted containers.
    """
    if isinstance(scores, Mapping):
        names = [str(k) for k in scores]
        mats = list(scores.values())
    elif isinstance(scores, np.ndarray) and scores.ndim == 3:
        names = [f"s{m}" for m in range(scores.shape[1])]
        mats = [scores[:, m, :] for m in range(scores.shape[1])]
    elif isinstance(scores, (list, tuple)):
        names = [f"s{m}" for m in range(len(scores))]
        mats = list(scores)
    else:
        raise TypeError(
            "Scores must be an array (n_clips, n_subsystems, n_classes), a list of "
            f"(n_clips, n_classes) arrays, or a dict of them; got {type(scores).__name__}."
        )
    if not mats:
        raise ValueError("Fusion needs at least one subsystem; got none.")
    arrays = []
    for name, mat in zip(names, mats, strict=True):
        mat = np.asarray(mat, dtype=np.float64)
        if mat.ndim != 2:
            raise ValueError(
                f"Subsystem {name!r}: scores must be 2-D (n_clips, n_classes); "
                f"got shape {mat.shape}."
            )
        if np.isinf(mat).any():
            raise ValueError(f"Subsystem {name!r}: scores hold infinite values.")
        if arrays and mat.shape != arrays[0].shape:
            raise ValueError(
                f"Subsystem {name!r}: scores have shape {mat.shape}; subsystem "
                f"{names[0]!r} has {arrays[0].shape}."
            )
        arrays.append(mat)
    return np.stack(arrays, axis=1), names


def normalize_scores(S, method="zscore", *, stats=None):
    """Normalise each subsystem's scores so that they are comparable.

    Parameters
    ----------
    S : ndarray of shape (n_clips, n_subsystems, n_classes)
        NaN rows (abstentions) are ignored in the statistics and stay NaN.
    method : {"zscore", "minmax", "softmax", None}
        ``"zscore"``: subtract the subsystem's mean score and divide by its standard deviation
        (over all clips and classes of the data the statistics come from); ``"minmax"``: map the
        subsystem's score range to [0, 1]; ``"softmax"``: per clip, turn the subsystem's row into
        probabilities (no statistics needed); ``None``: unchanged.
    stats : tuple of ndarray or None
        Statistics from an earlier call (e.g. on training scores) to apply to new scores.

    Returns
    -------
    Z : ndarray, same shape as S
    stats : tuple of ndarray
        ``(location, scale)`` per subsystem, to pass back in for new data.
    """
    if method not in _NORMALIZERS:
        raise ValueError(f"normalize must be one of {_NORMALIZERS}; got {method!r}.")
    n_sub = S.shape[1]
    if method is None:
        return S.copy(), (np.zeros(n_sub), np.ones(n_sub))
    if method == "softmax":
        return softmax(S, axis=2), (np.zeros(n_sub), np.ones(n_sub))
    if stats is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN subsystem
            flat = S.transpose(1, 0, 2).reshape(n_sub, -1)
            if method == "zscore":
                loc, scale = np.nanmean(flat, axis=1), np.nanstd(flat, axis=1)
            else:
                loc = np.nanmin(flat, axis=1)
                scale = np.nanmax(flat, axis=1) - loc
        loc = np.where(np.isfinite(loc), loc, 0.0)
        scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
        stats = (loc, scale)
    loc, scale = stats
    return (S - loc[None, :, None]) / scale[None, :, None], stats


def _fuse(Z, weights):
    """Weighted mean over the subsystems available for each clip."""
    avail = ~np.isnan(Z).any(axis=2)  # (n, m)
    Zf = np.where(avail[:, :, None], Z, 0.0)
    W = weights[None, :, :] * avail[:, :, None]  # (n, m, c)
    num = (W * Zf).sum(axis=1)
    den = W.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fused = num / den
    # a clip whose available subsystems all have weight 0 for a class: plain mean for that class
    fallback = Zf.sum(axis=1) / np.maximum(avail.sum(axis=1), 1)[:, None]
    fused = np.where(den > 0, fused, fallback)
    fused[~avail.any(axis=1)] = np.nan
    return fused


def _compositions(n, k):
    """The ``n``-tuples of non-negative integers summing to ``k``, in lexicographic order."""
    if n == 1:
        yield (k,)
        return
    for c in range(k + 1):
        for rest in _compositions(n - 1, k - c):
            yield (c, *rest)


def _simplex_grid(n_sub, step):
    """All weight vectors on the simplex with the given step (e.g. 0, 0.1, ..., 1).

    Built directly (``C(k + n - 1, n - 1)`` points) rather than by filtering the ``(k + 1) ** n``
    grid, so that many subsystems (e.g. one per frame feature x kernel) stay cheap.
    """
    k = int(round(1.0 / step))
    return np.array(list(_compositions(int(n_sub), k)), dtype=np.float64).reshape(-1, n_sub) / k


def _objective(fused, y_idx, n_classes):
    """Accuracy, then unweighted average recall as a tie breaker."""
    ok = ~np.isnan(fused).any(axis=1)
    if not ok.any():
        return (0.0, 0.0)
    pred = np.argmax(fused[ok], axis=1)
    yy = y_idx[ok]
    acc = float(np.mean(pred == yy))
    recalls = [np.mean(pred[yy == c] == c) for c in range(n_classes) if np.any(yy == c)]
    return (acc, float(np.mean(recalls)))


def _check_scores_and_target(est, S, y=None, *, fitting):
    if not fitting and isinstance(S, Mapping):
        # a dict is matched by name, whatever its order
        missing = [n for n in est.subsystem_names_ if n not in S]
        extra = [str(n) for n in S if n not in est.subsystem_names_]
        if missing or extra:
            raise ValueError(
                f"Scores name subsystems {sorted(map(str, S))}; the fusion was fitted on "
                f"{est.subsystem_names_} (missing {missing}, unexpected {extra})."
            )
        S = {n: S[n] for n in est.subsystem_names_}
    S, names = stack_scores(S)
    if fitting:
        est.n_subsystems_, est.subsystem_names_ = S.shape[1], names
    else:
        if S.shape[1] != est.n_subsystems_ or S.shape[2] != len(est.classes_):
            raise ValueError(
                f"Scores have {S.shape[1]} subsystems x {S.shape[2]} classes; the fusion was "
                f"fitted on {est.n_subsystems_} x {len(est.classes_)}."
            )
    if y is None:
        return S, None
    y = np.asarray(y)
    if len(y) != len(S):
        raise ValueError(f"Scores cover {len(S)} clips but y has {len(y)} labels.")
    check_classification_targets(y)
    return S, y


class _BaseFusion(ClassifierMixin, BaseEstimator):
    def _setup_classes(self, S, y):
        classes = np.unique(y) if self.classes is None else np.asarray(self.classes)
        if len(classes) != S.shape[2]:
            raise ValueError(
                f"Scores have {S.shape[2]} class columns but there are {len(classes)} classes "
                f"({list(classes)}); pass classes=... in the subsystems' column order."
            )
        unknown = set(np.unique(y).tolist()) - set(classes.tolist())
        if unknown:
            raise ValueError(f"Labels {sorted(unknown)} are not among classes {classes.tolist()}.")
        self.classes_ = classes
        index = {c: i for i, c in enumerate(classes.tolist())}
        return np.array([index[v] for v in y.tolist()])

    def predict(self, S):
        """Predict the class of each clip; ``None`` for a clip no subsystem scored.

        Parameters
        ----------
        S : array-like of shape (n_clips, n_subsystems, n_classes), list or dict

        Returns
        -------
        y_pred : ndarray of shape (n_clips,)
            Of ``classes_``'s dtype when every clip is scored, else of dtype object with
            ``None`` for the unscored clips (never a made-up class).
        """
        check_is_fitted(self)
        pred = scores_to_labels(self.decision_function(S), self.classes_)
        missing = np.array([p is None for p in pred], dtype=bool)
        if missing.any():
            warn_caller(
                f"{int(missing.sum())} clip(s) have no score from any subsystem; they get no "
                "label (None)."
            )
            return pred
        return pred.astype(self.classes_.dtype)


class WeightedScoreFusion(_BaseFusion):
    """Per-class weighted late fusion of subsystem scores (Ding et al., 2016).

    Parameters
    ----------
    scheme : {"global", "per_class"}, default="per_class"
        ``"global"``: one weight per subsystem, the same for every class (the weights sum to 1 and
        are searched on a grid over the simplex). ``"per_class"``: a weight per subsystem and
        class, ``w[m, c]``; starting from the best global weights, each class's column is
        searched on the grid in turn (coordinate ascent, ``n_rounds`` sweeps) — with two
        subsystems this is "one weight per class", with more it is the per-class weighting over
        several subsystems.
    normalize : {"zscore", "minmax", "softmax", None}, default="zscore"
        Per-subsystem score normalisation, its statistics taken from the data given to ``fit``.
    step : float, default=0.1
        Grid step of the weights.
    n_rounds : int, default=2
        Coordinate-ascent sweeps over the classes (``scheme="per_class"``).
    weights : array-like or None, default=None
        Fixed weights, shape ``(n_subsystems,)`` or ``(n_subsystems, n_classes)``: no search.
    classes : array-like or None, default=None
        The class of each score column; default: the sorted labels seen in ``fit`` (the order
        scikit-learn classifiers use for ``decision_function``).

    Attributes
    ----------
    weights_ : ndarray of shape (n_subsystems, n_classes)
    classes_ : ndarray of shape (n_classes,)
    n_subsystems_ : int
    subsystem_names_ : list of str
    norm_stats_ : tuple of ndarray
    train_score_ : float
        Accuracy of the fused scores on the data used to choose the weights (optimistic).
    prior_class_ : int
        Index of the most frequent training class (recorded; never used as an answer).

    Notes
    -----
    The objective is accuracy on the fitting data, ties broken by unweighted average recall and
    then by the grid order: the weight vectors in lexicographic order, so among equal scores
    the one with the smallest weight on the first subsystem (the most on the last) is kept.
    Fit it on out-of-fold scores of the training clips (:func:`out_of_fold_scores`), never on
    test clips.

    References
    ----------
    .. [1] W. Ding, M. Xu, D. Huang, W. Lin, M. Dong, X. Yu, H. Li, "Audio and face video emotion
       recognition in the wild using deep neural networks and small datasets", ICMI 2016.
    .. [2] M. Liu, R. Wang, S. Li, S. Shan, Z. Huang, X. Chen, "Combining multiple kernel methods
       on Riemannian manifold for emotion recognition in the wild", ICMI 2014.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 60)
    >>> video = np.eye(3)[y] + rng.normal(0, 0.8, (60, 3))
    >>> audio = np.eye(3)[y] + rng.normal(0, 1.5, (60, 3))
    >>> fusion = WeightedScoreFusion(scheme="global").fit({"video": video, "audio": audio}, y)
    >>> fusion.weights_.shape
    (2, 3)
    """

    def __init__(
        self,
        scheme="per_class",
        *,
        normalize="zscore",
        step=0.1,
        n_rounds=2,
        weights=None,
        classes=None,
    ):
        self.scheme = scheme
        self.normalize = normalize
        self.step = step
        self.n_rounds = n_rounds
        self.weights = weights
        self.classes = classes

    def _validate_params(self):
        if self.scheme not in _SCHEMES:
            raise ValueError(f"scheme must be one of {_SCHEMES}; got {self.scheme!r}.")
        if self.normalize not in _NORMALIZERS:
            raise ValueError(f"normalize must be one of {_NORMALIZERS}; got {self.normalize!r}.")
        if not (0 < float(self.step) <= 1) or abs(1 / self.step - round(1 / self.step)) > 1e-9:
            raise ValueError(f"step must divide 1 (e.g. 0.1, 0.05, 0.25); got {self.step!r}.")
        if int(self.n_rounds) != self.n_rounds or self.n_rounds < 1:
            raise ValueError(f"n_rounds must be a positive integer; got {self.n_rounds!r}.")

    def fit(self, S, y):
        """Choose the weights on (out-of-fold) scores of training clips.

        Parameters
        ----------
        S : array-like of shape (n_clips, n_subsystems, n_classes), list or dict of 2-D arrays
        y : array-like of shape (n_clips,)

        Returns
        -------
        self : WeightedScoreFusion
        """
        self._validate_params()
        S, y = _check_scores_and_target(self, S, y, fitting=True)
        y_idx = self._setup_classes(S, y)
        n_sub, n_cls = S.shape[1], S.shape[2]
        self.prior_class_ = int(np.bincount(y_idx, minlength=n_cls).argmax())
        Z, self.norm_stats_ = normalize_scores(S, self.normalize)
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=np.float64)
            if w.shape == (n_sub,):
                w = np.repeat(w[:, None], n_cls, axis=1)
            if w.shape != (n_sub, n_cls) or (w < 0).any():
                raise ValueError(
                    f"weights must be non-negative with shape ({n_sub},) or "
                    f"({n_sub}, {n_cls}); got shape {np.shape(self.weights)}."
                )
            self.weights_ = w
        else:
            self.weights_ = self._search(Z, y_idx, n_sub, n_cls)
        self.train_score_ = _objective(_fuse(Z, self.weights_), y_idx, n_cls)[0]
        if logger.isEnabledFor(logging.INFO):  # one line: a weight per class, per subsystem
            rows = (
                f"{name} [{' '.join(f'{w:.3g}' for w in row)}]"
                for name, row in zip(self.subsystem_names_, self.weights_, strict=True)
            )
            logger.info("Fusion weights (%s): %s", self.scheme, "; ".join(rows))
        return self

    def _search(self, Z, y_idx, n_sub, n_cls):
        """The grid search, every grid point of a step scored at once (see :class:`_Grid`).

        The same weights as trying the points one by one: the first point with the best
        (accuracy, UAR), each fused score computed with the same operations in the same order.
        """
        grid = _Grid(Z, y_idx, n_cls, _simplex_grid(n_sub, self.step))
        best, k = grid.best(grid.global_scores())
        w = np.repeat(grid.points[k][:, None], n_cls, axis=1)
        if self.scheme == "global" or n_sub == 1:
            return w
        for _ in range(int(self.n_rounds)):
            changed = False
            for c in range(n_cls):
                score, k = grid.best(grid.column_scores(w, c))
                if score > best:
                    best, changed = score, True
                    w = w.copy()
                    w[:, c] = grid.points[k]
            if not changed:
                break
        return w

    def decision_function(self, S):
        """Fused per-class scores.

        Parameters
        ----------
        S : array-like of shape (n_clips, n_subsystems, n_classes), list or dict

        Returns
        -------
        fused : ndarray of shape (n_clips, n_classes)
            NaN rows for clips that no subsystem scored.
        """
        check_is_fitted(self)
        S, _ = _check_scores_and_target(self, S, fitting=False)
        Z, _ = normalize_scores(S, self.normalize, stats=self.norm_stats_)
        return _fuse(Z, self.weights_)


class _Grid:
    """Scores (accuracy, UAR) of fused scores for every weight vector of a grid at once.

    Reproduces :func:`_fuse` and :func:`_objective` exactly (the weighted sums accumulate
    over the subsystems in order, and predictions take the first maximum as ``argmax``
    does), vectorised over the grid points, in chunks to bound memory.
    """

    def __init__(self, Z, y_idx, n_classes, points, chunk=4096):
        self.points, self.chunk, self.n_classes = points, chunk, n_classes
        self.Z = Z
        self.avail = ~np.isnan(Z).any(axis=2)  # (n, m)
        self.Zf = np.where(self.avail[:, :, None], Z, 0.0)
        self.fallback = self.Zf.sum(axis=1) / np.maximum(self.avail.sum(axis=1), 1)[:, None]
        self.ok = self.avail.any(axis=1)
        self.y = y_idx[self.ok]
        self.present = [c for c in range(n_classes) if np.any(self.y == c)]

    def _columns(self, G, c):
        """Fused column ``c`` for weight vectors ``G`` (g, m): shape (n, g)."""
        num = den = None
        for m in range(G.shape[1]):
            W = G[None, :, m] * self.avail[:, m, None]
            term = W * self.Zf[:, m, c][:, None]
            num = term if num is None else num + term
            den = W if den is None else den + W
        with np.errstate(invalid="ignore", divide="ignore"):
            fused = num / den
        return np.where(den > 0, fused, self.fallback[:, c][:, None])

    def _score(self, pred):
        """(accuracy, UAR) arrays for predictions ``pred`` of shape (n_ok, g)."""
        hit = pred == self.y[:, None]
        if not len(self.y):  # no clip scored: (0, 0) for every point, as in _objective
            return np.zeros(hit.shape[1]), np.zeros(hit.shape[1])
        acc = np.mean(hit, axis=0)
        recalls = np.array([np.mean(hit[self.y == c], axis=0) for c in self.present])
        return acc, np.mean(recalls, axis=0)

    def global_scores(self):
        out = []
        for s in range(0, len(self.points), self.chunk):
            G = self.points[s : s + self.chunk]
            F = np.stack([self._columns(G, c)[self.ok] for c in range(self.n_classes)], axis=2)
            out.append(self._score(np.argmax(F, axis=2)))
        return tuple(np.concatenate(parts) for parts in zip(*out, strict=True))

    def column_scores(self, w, c):
        fused = _fuse(self.Z, w)[self.ok]
        before, after = fused[:, :c], fused[:, c + 1 :]
        neg = np.full(len(fused), -np.inf)
        max_b = before.max(axis=1) if c > 0 else neg
        max_a = after.max(axis=1) if c < self.n_classes - 1 else neg
        arg_b = before.argmax(axis=1) if c > 0 else np.zeros(len(fused), int)
        arg_a = c + 1 + (after.argmax(axis=1) if c < self.n_classes - 1 else 0)
        other = np.where(max_b >= max_a, arg_b, arg_a)[:, None]
        out = []
        for s in range(0, len(self.points), self.chunk):
            col = self._columns(self.points[s : s + self.chunk], c)[self.ok]
            wins = (col > max_b[:, None]) & (col >= max_a[:, None])
            out.append(self._score(np.where(wins, c, other)))
        return tuple(np.concatenate(parts) for parts in zip(*out, strict=True))

    def best(self, scores):
        """The best (accuracy, UAR) and the index of the first grid point reaching it."""
        acc, uar = scores
        if not self.ok.any():
            return (0.0, 0.0), 0
        top = acc == acc.max()
        k = int(np.flatnonzero(top & (uar == uar[top].max()))[0])
        return (float(acc[k]), float(uar[k])), k


class StackingFusion(_BaseFusion):
    """A classifier trained on the concatenated, normalised subsystem scores.

    Parameters
    ----------
    estimator : classifier or None, default=None
        Any scikit-learn classifier; ``None`` is a multinomial ``LogisticRegression(C=1.0)``.
    normalize : {"zscore", "minmax", "softmax", None}, default="zscore"
    classes : array-like or None, default=None
        As in :class:`WeightedScoreFusion`.

    Attributes
    ----------
    estimator_ : classifier
    classes_, n_subsystems_, subsystem_names_, norm_stats_, prior_class_

    Notes
    -----
    An abstaining subsystem's normalised scores are replaced by 0 (its mean after z-scoring)
    and an indicator feature per subsystem tells the classifier that it abstained.
    """

    def __init__(self, estimator=None, *, normalize="zscore", classes=None):
        self.estimator = estimator
        self.normalize = normalize
        self.classes = classes

    def _features(self, Z):
        missing = np.isnan(Z).any(axis=2)
        flat = np.where(np.isnan(Z), 0.0, Z).reshape(len(Z), -1)
        return np.hstack([flat, missing.astype(np.float64)])

    def fit(self, S, y):
        """Fit the stacking classifier on (out-of-fold) scores of training clips.

        Returns
        -------
        self : StackingFusion
        """
        if self.normalize not in _NORMALIZERS:
            raise ValueError(f"normalize must be one of {_NORMALIZERS}; got {self.normalize!r}.")
        S, y = _check_scores_and_target(self, S, y, fitting=True)
        y_idx = self._setup_classes(S, y)
        self.prior_class_ = int(np.bincount(y_idx, minlength=S.shape[2]).argmax())
        Z, self.norm_stats_ = normalize_scores(S, self.normalize)
        est = LogisticRegression(C=1.0, max_iter=2000) if self.estimator is None else self.estimator
        self.estimator_ = clone(est).fit(self._features(Z), self.classes_[y_idx])
        return self

    def decision_function(self, S):
        """Per-class scores of the stacking classifier (log-probabilities when available).

        Returns
        -------
        scores : ndarray of shape (n_clips, n_classes)
            NaN rows for clips that no subsystem scored.
        """
        check_is_fitted(self)
        S, _ = _check_scores_and_target(self, S, fitting=False)
        Z, _ = normalize_scores(S, self.normalize, stats=self.norm_stats_)
        X = self._features(Z)
        if hasattr(self.estimator_, "predict_proba"):
            scores = np.log(np.clip(self.estimator_.predict_proba(X), _PROBA_FLOOR, None))
        else:
            scores = self.estimator_.decision_function(X)
        order = [
            list(self.estimator_.classes_).index(c)
            for c in self.classes_
            if c in self.estimator_.classes_
        ]
        # a class the stacking classifier never saw gets the floor score (finite, so the
        # output can be fused again)
        out = np.full((len(X), len(self.classes_)), np.log(_PROBA_FLOOR))
        present = [i for i, c in enumerate(self.classes_) if c in self.estimator_.classes_]
        out[:, present] = scores[:, order]
        out[np.isnan(Z).any(axis=2).all(axis=1)] = np.nan
        return out


def out_of_fold_scores(
    estimator,
    X,
    y,
    *,
    groups=None,
    cv=5,
    classes=None,
    method=None,
    n_jobs=None,
    fit_params=None,
):
    """Out-of-fold scores of each training clip, for choosing candidates and fitting a fusion.

    Each clip is scored by a clone of ``estimator`` fitted on the other folds. With ``groups``
    (speakers) and an integer ``cv`` the folds are a ``GroupKFold``, so each clip is scored by
    a model that never saw its speaker; without groups they are not speaker-independent. The
    columns follow ``classes``; a clip the fitted clone abstains on (e.g. an
    :class:`~emoset.decision.abstain.AbstainingClassifier`) and a fold whose training part has fewer
    than two classes leave NaN rows. This is the one out-of-fold routine of emoset (the
    recognizer uses it for every subsystem).

    Parameters
    ----------
    estimator : classifier
    X : array-like or list of image sets (or of clips)
    y : array-like of shape (n_clips,)
    groups : array-like of shape (n_clips,) or None
        Speakers; with ``cv`` an int, a ``GroupKFold`` is used when groups are given.
    cv : int, cross-validation splitter or iterable of (train, test) index arrays, default=5
    classes : array-like or None
        Column order; default ``np.unique(y)``.
    method : str or None
        ``"decision_function"`` or ``"predict_proba"``; default: the first the estimator has.
    n_jobs : int or None
        Folds fitted in parallel (the result does not depend on it).
    fit_params : dict or None
        Passed to each clone's ``fit``; arrays of length ``n_clips`` are cut to the fold's
        training rows.

    Returns
    -------
    scores : ndarray of shape (n_clips, n_classes)
    """
    from joblib import Parallel, delayed
    from sklearn.model_selection import GroupKFold, check_cv

    y = np.asarray(y)
    classes = np.unique(y) if classes is None else np.asarray(classes)
    if method is None:
        method = "decision_function" if hasattr(estimator, "decision_function") else "predict_proba"
    if isinstance(cv, int) and groups is not None:
        cv = GroupKFold(n_splits=cv)
    if hasattr(cv, "split") or isinstance(cv, int):
        splits = list(check_cv(cv, y, classifier=True).split(np.zeros(len(y)), y, groups))
    else:
        splits = list(cv)
    take = (lambda idx: [X[i] for i in idx]) if isinstance(X, list) else (lambda idx: X[idx])

    def one_fold(train, test):
        if len(test) == 0 or len(np.unique(y[train])) < 2:
            return test, None
        params = {
            k: (np.asarray(v)[train] if hasattr(v, "__len__") and len(v) == len(y) else v)
            for k, v in (fit_params or {}).items()
        }
        model = clone(estimator).fit(take(train), y[train], **params)
        return test, aligned_scores(model, take(test), classes, method=method)

    out = np.full((len(y), len(classes)), np.nan)
    jobs = (delayed(one_fold)(np.asarray(tr), np.asarray(te)) for tr, te in splits)
    for test, scores in Parallel(n_jobs=n_jobs)(jobs):
        if scores is not None:
            out[test] = scores
    return out
