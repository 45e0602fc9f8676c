"""A classifier wrapper that abstains (NaN scores and a reason) instead of guessing.

A subsystem must not answer for a clip it has no basis for: features that could not be
extracted (NaN rows: unreadable audio, digital silence), an image set with too few faces for
its set model, or an input far from everything the model was trained on (speech of another
bandwidth, white noise, a face crop from another world). :class:`AbstainingClassifier` wraps
any scikit-learn classifier; the rows it abstains on get NaN scores, so a score-level fusion
lets the other subsystems decide, and :meth:`AbstainingClassifier.abstentions` says why.

Distance to the training data
-----------------------------
With ``ood_quantile`` set, ``fit`` keeps a reference sample of the training inputs (all of them
up to ``max_reference`` rows, else evenly spaced rows) in the space the wrapped classifier sees
— the standardised features of an SVM, or :meth:`!ImageSetPLS.embedding` of image sets
(the vectors the manifold kernels are computed from) — and the distance of every reference row
to its nearest *other* reference row. The threshold is the ``ood_quantile`` quantile of these
nearest-neighbour distances times ``ood_margin``; a new input whose nearest reference row is
farther than that is out of distribution. Given the training rows' speakers (``groups`` in
``fit``), each reference row's distance is to the nearest row of *another* speaker: what a new
speaker of the same corpus sees, so the threshold is calibrated on unseen speakers (the nearest
row of one's own speaker, often the same sentence said again, is much closer and would make the
threshold reject much of a new speaker's speech). For an RBF kernel this is a lower bound on the kernel
similarity to every training clip: past it, the classifier's output is little more than its
intercept — the constant answer emoset must never give.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.metrics import pairwise_distances_chunked
from sklearn.svm import SVC
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..utils.messages import warn_caller

__all__ = ["AbstainingClassifier"]

logger = logging.getLogger(__name__)


def _is_set_list(X):
    """A list of per-clip arrays (image sets) rather than one 2-D matrix."""
    return isinstance(X, (list, tuple)) and all(
        isinstance(s, np.ndarray) and s.ndim == 2 for s in X
    )


def _nearest_other(R, groups=None):
    """Distance of every row of ``R`` to its nearest other row (chunked: memory O(n)); with
    ``groups``, to its nearest row of another group (speaker)."""

    def reduce(D, start):
        rows = np.arange(D.shape[0])
        D[rows, start + rows] = np.inf  # not oneself
        if groups is not None:
            D[groups[start : start + D.shape[0], None] == groups[None, :]] = np.inf
        return D.min(axis=1)

    return np.concatenate(list(pairwise_distances_chunked(R, reduce_func=reduce)))


#: Rows times reference rows held at once by :func:`_nearest_distance`.
_CHUNK_ELEMENTS = 1 << 22


def _nearest_distance(R, reference):
    """Euclidean distance of every row of ``R`` to its nearest row of ``reference`` (float64).

    What ``sklearn.metrics.pairwise_distances_argmin_min`` returns as distances, computed
    directly: a timeline scores a few windows at a time, and that function's checks of its
    arguments cost more than the distances of a window (0.5-1 ms a call). A row with no
    finite distance (a non-finite embedding) is infinitely far; a non-finite reference row is
    passed over.
    """
    step = max(1, _CHUNK_ELEMENTS // max(len(reference), 1))
    out = np.empty(len(R))
    with np.errstate(invalid="ignore", over="ignore"):  # non-finite rows: inf below
        ref_sq = np.einsum("ij,ij->i", reference, reference)
        for start in range(0, len(R), step):
            X = R[start : start + step]
            d2 = np.einsum("ij,ij->i", X, X)[:, None] - 2.0 * (X @ reference.T) + ref_sq
            out[start : start + step] = np.sqrt(np.maximum(np.fmin.reduce(d2, axis=1), 0.0))
    out[~np.isfinite(out)] = np.inf
    return out


class AbstainingClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A classifier that abstains on inputs it cannot score, with a reason for each.

    It abstains on rows with missing (NaN) features, on image sets with fewer than
    ``min_set_size`` frames, and — with ``ood_quantile`` set — on inputs far from the training
    data (see the module docstring). ``fit`` drops unusable rows (one summarised warning);
    ``decision_function`` and ``predict_proba`` return NaN rows for abstentions; ``predict``
    returns ``abstain_label`` for them (``None`` by default: never a made-up class).

    Parameters
    ----------
    estimator : classifier or None, default=None
        The wrapped classifier; ``None`` means ``SVC()`` (RBF).
    probability : bool, default=False
        Also calibrate probabilities (Platt sigmoid on 5-fold cross-validated decision values,
        then one model refit on all rows, i.e. ``CalibratedClassifierCV(estimator,
        ensemble=False)``). Costs about six fits.
    min_set_size : int or "auto", default=1
        With image-set input (a list of ``(n_frames_i, d)`` arrays): fewest frames a set needs
        to be scored. ``"auto"``: what the wrapped classifier's set model needs to tell sets
        apart (``informative_frames``: 3 for a Ledoit-Wolf covariance or Gaussian, ``n_dims``
        for a subspace, 1 for a mean; of a Pipeline's first step too), else 1.
    ood_quantile : float in (0, 1] or None, default=None
        Quantile of the training nearest-neighbour distances that sets the out-of-distribution
        threshold; ``None`` switches the check off.
    ood_margin : float, default=1.5
        Factor on that quantile: an input counts as out of distribution past
        ``ood_margin * quantile``.
    max_reference : int, default=1000
        Training rows kept as the reference sample of the distance check.
    abstain_label : object, default=None
        What :meth:`predict` returns for an abstention.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone, trained on the usable rows.
    calibrator_ : CalibratedClassifierCV or None
    classes_ : ndarray
    n_features_in_ : int
        Only for 2-D input.
    n_abstained_fit_ : int
        Rows dropped in ``fit``.
    min_frames_ : int or None
        With image sets: the fewest frames a set needs to be scored (``min_set_size``
        resolved); ``None`` for 2-D input.
    ood_reference_ : ndarray of shape (n_reference, D) or None
        Reference sample of the training inputs in the classifier's space (float32).
    ood_threshold_ : float or None
        Distance past which an input is out of distribution.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.1], [0.2, 0.0], [1.0, 1.1], [1.2, 0.9], [np.nan, np.nan]])
    >>> clf = AbstainingClassifier().fit(X[:4], ["a", "a", "b", "b"])
    >>> clf.predict(X).tolist()
    ['a', 'a', 'b', 'b', None]
    """

    def __init__(
        self,
        estimator=None,
        *,
        probability=False,
        min_set_size=1,
        ood_quantile=None,
        ood_margin=1.5,
        max_reference=1000,
        abstain_label=None,
    ):
        self.estimator = estimator
        self.probability = probability
        self.min_set_size = min_set_size
        self.ood_quantile = ood_quantile
        self.ood_margin = ood_margin
        self.max_reference = max_reference
        self.abstain_label = abstain_label

    # ------------------------------------------------------------------ input handling
    def _validate_params(self):
        from sklearn.utils import check_scalar

        if not (isinstance(self.min_set_size, str) and self.min_set_size == "auto"):
            check_scalar(self.min_set_size, "min_set_size", int, min_val=1)
        check_scalar(self.max_reference, "max_reference", int, min_val=2)
        check_scalar(
            self.ood_margin, "ood_margin", (int, float), min_val=0, include_boundaries="neither"
        )
        if self.ood_quantile is not None:
            check_scalar(
                self.ood_quantile,
                "ood_quantile",
                (int, float),
                min_val=0,
                max_val=1,
                include_boundaries="right",
            )

    def _min_frames(self):
        """The fewest frames a set needs (``min_set_size``, resolved when ``"auto"``)."""
        if not (isinstance(self.min_set_size, str) and self.min_set_size == "auto"):
            return int(self.min_set_size)
        est = self.estimator
        if hasattr(est, "steps"):  # a Pipeline: what its first step (a set model) needs
            est = est.steps[0][1]
        need = getattr(est, "informative_frames", 1)
        return int(need() if callable(need) else need)

    def _usable(self, X):
        """``(X, keep, why)``: validated input, usable rows, and a reason for the others."""
        if _is_set_list(X):
            need = self._min_frames()
            sizes = np.array([len(s) for s in X])
            finite = np.array([bool(np.isfinite(s).all()) for s in X])
            keep = (sizes >= need) & finite
            why = [
                None
                if k
                else (
                    "features hold NaN or infinity"
                    if not f
                    else f"{n} frame(s) in the image set; at least {need} needed"
                )
                for k, f, n in zip(keep, finite, sizes, strict=True)
            ]
            return list(X), keep, why
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        keep = np.all(np.isfinite(X), axis=1)
        return X, keep, [None if k else "no features (NaN row)" for k in keep]

    @staticmethod
    def _take(X, keep):
        return [s for s, k in zip(X, keep, strict=True) if k] if isinstance(X, list) else X[keep]

    def _representation(self, X):
        """The inputs in the space the wrapped classifier works in (for the distance check)."""
        if isinstance(X, list):
            embed = getattr(self.estimator_, "embedding", None)
            if embed is not None:
                return np.asarray(embed(X), dtype=np.float64)
            return np.stack([s.mean(axis=0) for s in X]).astype(np.float64)
        return np.asarray(X, dtype=np.float64)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None, *, augmented=None, groups=None, **fit_params):
        """Fit the wrapped classifier on the usable rows (and the distance check).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or list of image sets
            May contain NaN rows or too-small sets (abstentions); infinities in a 2-D matrix
            are rejected (``ValueError``).
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        augmented : array-like of bool of shape (n_samples,), optional
            Rows that are augmented copies of others (e.g. the image sets of mirrored faces):
            the classifier is fitted on them, but the distance check's reference and
            threshold come from the other rows only (a copy's nearest neighbour is its
            original, which would shrink the threshold).
        groups : array-like of shape (n_samples,), optional
            The speaker of each row: the distance check is calibrated on distances to other
            speakers' rows (see the module docstring). Without groups, or with one group, on
            distances to any other row.
        **fit_params
            Passed to the wrapped estimator's ``fit`` (per-sample arrays are subset to the
            kept rows).

        Returns
        -------
        self : AbstainingClassifier
        """
        from sklearn.calibration import CalibratedClassifierCV

        self._validate_params()
        if _is_set_list(X):
            y = column_or_1d(np.asarray(y), warn=True)
            if len(y) != len(X):
                raise ValueError(f"Got {len(X)} image sets but {len(y)} labels; expected equal.")
            X, keep, _ = self._usable(X)
        else:
            X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
            keep = np.all(np.isfinite(X), axis=1)
        check_classification_targets(y)
        n = len(y)
        if augmented is not None:
            augmented = np.asarray(augmented)
            if augmented.dtype != bool or augmented.shape != (n,):
                raise ValueError(
                    f"augmented must be a boolean array of shape ({n},); got dtype "
                    f"{augmented.dtype} and shape {augmented.shape}."
                )
        self.min_frames_ = self._min_frames() if isinstance(X, list) else None
        self.n_abstained_fit_ = int((~keep).sum())
        if keep.sum() == 0:
            raise ValueError(
                f"All {n} training rows are unusable (NaN or too small); nothing to fit."
            )
        if self.n_abstained_fit_:
            warn_caller(
                f"Dropping {self.n_abstained_fit_} of {n} training rows that cannot be scored "
                f"(NaN features or fewer than {self._min_frames()} frames)."
            )
        params = dict(fit_params)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=float)
            if sample_weight.shape != (n,):
                raise ValueError(
                    f"sample_weight must have shape ({n},); got {sample_weight.shape}."
                )
            if not np.any(sample_weight[keep] > 0):
                raise ValueError("sample_weight is zero for every usable row.")
            if len(np.unique(y[keep][sample_weight[keep] > 0])) < 2:
                raise ValueError(
                    "sample_weight leaves fewer than 2 classes with positive weight among the "
                    "usable rows."
                )
            params["sample_weight"] = sample_weight
        params = {
            k: (np.asarray(v)[keep] if hasattr(v, "__len__") and len(v) == n else v)
            for k, v in params.items()
        }
        base = self.estimator if self.estimator is not None else SVC()
        Xk, yk = self._take(X, keep), y[keep]
        if self.probability:
            values, counts = np.unique(yk, return_counts=True)
            cv = int(min(5, counts.min()))
            if cv < 2:
                raise ValueError(
                    "probability=True needs at least 2 training rows of every class; "
                    f"class {values.tolist()[np.argmin(counts)]!r} has {counts.min()} sample(s)."
                )
            self.calibrator_ = CalibratedClassifierCV(
                clone(base), method="sigmoid", cv=cv, ensemble=False
            ).fit(Xk, yk, **params)
            self.estimator_ = self.calibrator_.calibrated_classifiers_[0].estimator
        else:
            self.calibrator_ = None
            self.estimator_ = clone(base).fit(Xk, yk, **params)
        self.classes_ = self.estimator_.classes_
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (n,):
                raise ValueError(f"groups must have shape ({n},); got {groups.shape}.")
            groups = groups[keep]
        original = slice(None) if augmented is None else ~augmented[keep]
        self._fit_distance_check(
            self._take(Xk, original) if augmented is not None else Xk,
            None if groups is None else groups[original],
        )
        return self

    def _fit_distance_check(self, Xk, groups=None):
        self.ood_reference_ = self.ood_threshold_ = None
        if self.ood_quantile is None or len(Xk) < 2:
            return
        R = self._representation(Xk)
        if len(R) > self.max_reference:  # evenly spaced rows: deterministic, no RNG
            rows = np.round(np.linspace(0, len(R) - 1, self.max_reference)).astype(int)
            R = R[rows]
            groups = None if groups is None else groups[rows]
        if len(R) < 2:
            return
        if groups is not None and len(np.unique(groups)) < 2:
            groups = None
        nearest = _nearest_other(R, groups)
        self.ood_reference_ = R.astype(np.float32)
        self.ood_threshold_ = float(self.ood_margin * np.quantile(nearest, self.ood_quantile))

    # ------------------------------------------------------------------ scoring
    def distance_ratio(self, X):
        """Distance of each input to the nearest training reference, over the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or list of image sets

        Returns
        -------
        ratio : ndarray of shape (n_samples,)
            Above 1: out of distribution. NaN for unusable rows and when the check is off.
        """
        check_is_fitted(self)
        X, keep, _ = self._usable(X)
        return self._ratio(X, keep)

    def _ratio(self, X, keep):
        ratio = np.full(len(keep), np.nan)
        if self.ood_threshold_ is None or not keep.any():
            return ratio
        R = self._representation(self._take(X, keep))
        dist = _nearest_distance(R, self.ood_reference_.astype(np.float64))
        ratio[keep] = dist / max(self.ood_threshold_, np.finfo(float).tiny)
        return ratio

    def unusable(self, X):
        """Why each input cannot be scored at all (``None`` for a usable one).

        Missing features (NaN) and image sets with fewer than ``min_set_size`` frames; unlike
        :meth:`abstentions`, the distance to the training data is not measured.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or list of image sets

        Returns
        -------
        reasons : list of str or None
        """
        check_is_fitted(self)
        return self._usable(X)[2]

    def abstentions(self, X):
        """Why each input is abstained on (``None`` for an input that is scored).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or list of image sets

        Returns
        -------
        reasons : list of str or None
        ratio : ndarray of shape (n_samples,)
            See :meth:`distance_ratio`.
        """
        check_is_fitted(self)
        _, _, why, ratio = self._assess(X)
        return why, ratio

    @available_if(lambda self: hasattr(self._base(), "decision_function"))
    def decision_function_with_reasons(self, X):
        """:meth:`decision_function` and :meth:`abstentions` from one check of the inputs.

        Each input is checked and its distance to the training data measured once (a
        timeline scores every window so).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or list of image sets

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            As :meth:`decision_function` returns them (one column for two classes).
        reasons : list of str or None
            As :meth:`abstentions` returns them.
        ratio : ndarray of shape (n_samples,)
            See :meth:`distance_ratio`.
        """
        check_is_fitted(self)
        X, keep, why, ratio = self._assess(X)
        return self._scores_of(X, keep, self.estimator_, "decision_function"), why, ratio

    def _assess(self, X):
        """``(X, keep, why, ratio)``: the checked inputs, those scored, why the others are
        not, and each one's distance ratio."""
        X, usable, why = self._usable(X)
        ratio = self._ratio(X, usable)
        far = usable & (ratio > 1)
        for i in np.flatnonzero(far):
            why[i] = (
                f"far from the training data (nearest training input {ratio[i]:.1f}x "
                "farther than the threshold fitted on training data)"
                if np.isfinite(ratio[i])
                else "far from the training data (no finite distance to it)"
            )
        return X, usable & ~far, why, ratio

    def _scores(self, X, model, method):
        X, keep, _, _ = self._assess(X)
        return self._scores_of(X, keep, model, method)

    def _scores_of(self, X, keep, model, method):
        binary = method == "decision_function" and len(self.classes_) == 2
        shape = (len(keep),) if binary else (len(keep), len(self.classes_))
        out = np.full(shape, np.nan)
        if keep.any():
            out[keep] = np.asarray(getattr(model, method)(self._take(X, keep)), dtype=float)
        return out

    def predict(self, X):
        """Predicted labels; ``abstain_label`` (``None``) where the classifier abstains.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Of ``classes_``'s dtype when nothing is abstained on, else of dtype object.
        """
        check_is_fitted(self)
        X, keep, _, _ = self._assess(X)
        if keep.all():
            return np.asarray(self.estimator_.predict(X))
        out = np.empty(len(keep), dtype=object)
        out[:] = [self.abstain_label] * len(keep)
        if keep.any():
            out[keep] = self.estimator_.predict(self._take(X, keep))
        return out

    def score(self, X, y, sample_weight=None):
        """Accuracy, counting an abstention as wrong.

        Returns
        -------
        accuracy : float
        """
        from sklearn.metrics import accuracy_score

        pred = self.predict(X)
        y = np.asarray(y)
        if pred.dtype == object:  # abstentions: never equal to a label
            hit = np.array([p is not None and p == t for p, t in zip(pred, y, strict=True)])
            return float(np.average(hit, weights=sample_weight))
        return float(accuracy_score(y, pred, sample_weight=sample_weight))

    def _base(self):
        est = getattr(self, "estimator_", None)
        if est is None:
            est = self.estimator if self.estimator is not None else SVC()
        return est

    @available_if(lambda self: hasattr(self._base(), "decision_function"))
    def decision_function(self, X):
        """Decision values of the wrapped classifier; NaN rows for abstentions."""
        check_is_fitted(self)
        return self._scores(X, self.estimator_, "decision_function")

    def _has_proba(self):
        return bool(self.probability) or hasattr(self._base(), "predict_proba")

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities (columns in ``classes_`` order); NaN rows for abstentions."""
        check_is_fitted(self)
        model = self.calibrator_ if self.calibrator_ is not None else self.estimator_
        return self._scores(X, model, "predict_proba")

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Log class probabilities; NaN rows for abstentions."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
