"""One-vs-rest partial least squares classification on kernel rows.

Following Liu et al. (ICMI 2014), the rows of a manifold kernel matrix ``K(sets, train_sets)``
are used as feature vectors and one PLS regression per emotion predicts that emotion's 0/1
indicator; the class with the largest predicted indicator wins.

Two PLS engines give the same model:

* ``backend="ikpls"`` (default): Improved Kernel PLS algorithm #1 of Dayal & MacGregor as
  implemented by the ``ikpls`` package (NumPy backend).  It needs no inner iterations for a
  single target and is the faster one (see ``benchmarks/bench_kernels.py``).
* ``backend="sklearn"``: :class:`sklearn.cross_decomposition.PLSRegression` (NIPALS).  For
  one target (``strategy="ovr"``) NIPALS needs one step and agrees with ikpls to round-off;
  for several targets (``"pls2"``) it finds each weight vector by power iteration (run here
  with ``tol=1e-10``), so the two agree to about ``1e-5`` rather than round-off; ikpls takes
  the exact dominant eigenvector and is the reference.

Both are fitted on data that this module has already centred (and scaled if ``scale=True``,
with the standard deviation of scikit-learn: ``ddof=1``, zero replaced by 1), so that their
rotations ``R`` and ``Y``-loadings ``Q`` live in the same space; predictions for every number
of components ``a`` are ``T[:, :a] Q[:, :a]^T`` with scores ``T = X_std R`` (one matrix
product for all classes and all ``a``).

Like ikpls' own ``predict(X, n_components=None)``,
:meth:`OneVsRestPLSClassifier.decision_function_path` returns the scores of every component
count ``1 .. n_components`` from one fit, so the number of components can be chosen without
refitting.

``strategy="ovr"`` (default) fits one PLS1 per class: each class gets its own latent space,
which is the "one PLS per class" of the papers.  ``strategy="pls2"`` fits one multi-target
PLS2 on the one-hot matrix: the classes share one latent space (cheaper, and the space to
draw a 2-D emotion map in), but the components are chosen for all classes jointly, so its
scores differ from the one-vs-rest ones.

References
----------
.. [1] M. Liu, R. Wang, S. Li, S. Shan, Z. Huang and X. Chen, "Combining multiple kernel
   methods on Riemannian manifold for emotion recognition in the wild", ICMI 2014.
.. [2] W. Ding et al., "Audio and face video emotion recognition in the wild using deep
   neural networks and small datasets", ICMI 2016.
.. [3] B. S. Dayal and J. F. MacGregor, "Improved PLS algorithms", J. Chemometrics 11(1),
   1997.
.. [4] O.-C. G. Engstrom et al., "IKPLS: Improved Kernel Partial Least Squares and Fast
   Cross-Validation Algorithms for Python with CPU and GPU Implementations Using NumPy and
   JAX", J. Open Source Software, 2024.
"""

import logging
import numbers
import warnings

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.cross_decomposition import PLSRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

logger = logging.getLogger(__name__)

__all__ = ["OneVsRestPLSClassifier"]

_BACKENDS = ("ikpls", "sklearn")
_STRATEGIES = ("ovr", "pls2")


def _standardise(A, scale):
    mean = A.mean(axis=0)
    if scale and A.shape[0] > 1:
        std = A.std(axis=0, ddof=1)
        std[std <= np.finfo(np.float64).eps] = 1.0
    else:
        std = np.ones(A.shape[1])
    return (A - mean) / std, mean, std


def _fit_one(X, Y, n_components, backend):
    """Fit one PLS model on centred data; return rotations (K, A) and Y-loadings (M, A)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if backend == "ikpls":
            from ikpls.numpy import PLS

            model = PLS(
                algorithm=1,
                center_X=False,
                center_Y=False,
                scale_X=False,
                scale_Y=False,
                copy=False,
            ).fit(X, Y, n_components)
            R, Q = model.R, model.Q
        else:
            model = PLSRegression(
                n_components=n_components, scale=False, max_iter=2000, tol=1e-10, copy=True
            ).fit(X, Y)
            R, Q = model.x_rotations_, model.y_loadings_
    for w in caught:
        logger.debug("PLS (%s) warned: %s", backend, w.message)
    return np.asarray(R, dtype=np.float64), np.asarray(Q, dtype=np.float64).reshape(-1, R.shape[1])


class OneVsRestPLSClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """One PLS regression per class on (kernel) features; the largest prediction wins.

    Parameters
    ----------
    n_components : int, default=10
        Number of PLS latent components.  Clipped in ``fit`` to
        ``min(n_components, n_features, n_samples - 1)`` (see ``n_components_``).
    scale : bool, default=False
        Scale features (and, for ``strategy="pls2"``, the one-hot targets) to unit variance
        as :class:`~sklearn.cross_decomposition.PLSRegression` does.  Kernel columns are
        commensurate, so the default leaves them unscaled.
    strategy : {"ovr", "pls2"}, default="ovr"
        ``"ovr"``: one PLS1 per class (the papers' model).  ``"pls2"``: one multi-target PLS
        on the one-hot class matrix, with a latent space shared by all classes.
    backend : {"ikpls", "sklearn"}, default="ikpls"
        PLS engine; both give the same model (see the module docstring).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Feature names, when ``X`` had string column names.
    n_components_ : int
        Number of components actually used.
    x_mean_, x_std_ : ndarray of shape (``n_features_in_``,)
        Feature centring and scaling.
    x_rotations_ : ndarray of shape (n_models, ``n_features_in_``, ``n_components_``)
        Rotations ``R`` of each PLS model (``n_models`` is ``n_classes`` for "ovr", 1 for
        "pls2"): latent scores are ``((X - x_mean_) / x_std_) @ R``.
    y_loadings_ : ndarray of shape (n_models, n_targets, ``n_components_``)
        ``Y``-loadings ``Q`` (``n_targets`` is 1 for "ovr", ``n_classes`` for "pls2").
    y_mean_, y_std_ : ndarray of shape (n_classes,)
        Target centring and scaling.
    coef_ : ndarray of shape (n_classes, ``n_features_in_``)
        Linear decision functions in the original feature units.
    intercept_ : ndarray of shape (n_classes,)
        Their intercepts: ``scores = X @ coef_.T + intercept_``.
    x_scores_ : ndarray
        Latent scores of the training samples, as :meth:`transform` returns them.

    See Also
    --------
    emoset.sets.classifiers.ImageSetPLS : image sets -> manifold kernel -> this classifier.

    Notes
    -----
    :meth:`predict_proba` is the softmax of the per-class scores: it ranks classes like
    :meth:`decision_function` but is not calibrated (wrap the estimator in
    :class:`~sklearn.calibration.CalibratedClassifierCV` for calibrated probabilities).

    References
    ----------
    .. [1] M. Liu et al., "Combining multiple kernel methods on Riemannian manifold for
       emotion recognition in the wild", ICMI 2014.
    .. [2] W. Ding et al., "Audio and face video emotion recognition in the wild using deep
       neural networks and small datasets", ICMI 2016.
    .. [3] B. S. Dayal and J. F. MacGregor, "Improved PLS algorithms", J. Chemometrics, 1997.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from emoset.sets.pls import OneVsRestPLSClassifier
    >>> X, y = make_classification(n_samples=60, n_classes=3, n_informative=4, random_state=0)
    >>> clf = OneVsRestPLSClassifier(n_components=3).fit(X, y)
    >>> clf.decision_function(X).shape
    (60, 3)
    """

    def __init__(self, n_components=10, *, scale=False, strategy="ovr", backend="ikpls"):
        self.n_components = n_components
        self.scale = scale
        self.strategy = strategy
        self.backend = backend

    def _validate_params(self):
        n = self.n_components
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n_components must be a positive integer; got {n!r}.")
        if self.strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {_STRATEGIES}; got {self.strategy!r}.")
        if self.backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {_BACKENDS}; got {self.backend!r}.")

    def fit(self, X, y):
        """Fit one PLS model per class (or one PLS2 model) on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features, e.g. kernel rows ``K(train_sets, train_sets)``.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        n_samples, n_features = X.shape
        n_classes = self.classes_.size
        if n_classes < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; got 1 class "
                f"({self.classes_.tolist()[0]!r})."
            )
        A = max(1, min(self.n_components, n_features, n_samples - 1))
        if A < self.n_components:
            logger.info(
                "n_components=%d reduced to %d (n_samples=%d, n_features=%d).",
                self.n_components,
                A,
                n_samples,
                n_features,
            )
        self.n_components_ = A

        Xs, self.x_mean_, self.x_std_ = _standardise(X, self.scale)
        Y = np.zeros((n_samples, n_classes))
        Y[np.arange(n_samples), y_idx] = 1.0
        scale_y = bool(self.scale) and self.strategy == "pls2"
        Ys, self.y_mean_, self.y_std_ = _standardise(Y, scale_y)

        if self.strategy == "ovr":
            fits = [_fit_one(Xs, Ys[:, [c]], A, self.backend) for c in range(n_classes)]
        else:
            fits = [_fit_one(Xs, Ys, A, self.backend)]
        self.x_rotations_ = np.stack([R for R, _ in fits])
        self.y_loadings_ = np.stack([Q for _, Q in fits])

        # Coefficients in original units for the full model (n_components_ components).
        B = self._coef_std(A)  # (n_features, n_classes), standardised space
        B = B * self.y_std_ / self.x_std_[:, None]
        self.coef_ = B.T
        self.intercept_ = self.y_mean_ - self.x_mean_ @ B
        self.x_scores_ = self._scores(Xs).reshape(n_samples, -1)
        return self

    def _coef_std(self, a):
        """Regression coefficients in the standardised space, shape (n_features, n_classes)."""
        R = self.x_rotations_[:, :, :a]
        Q = self.y_loadings_[:, :, :a]
        if self.strategy == "ovr":
            return np.einsum("mka,ma->km", R, Q[:, 0, :])
        return R[0] @ Q[0].T

    def _scores(self, Xs):
        """Latent scores of standardised data, shape (n_samples, n_models, n_components_)."""
        n_models, n_features, A = self.x_rotations_.shape
        R = self.x_rotations_.transpose(1, 0, 2).reshape(n_features, n_models * A)
        return (Xs @ R).reshape(Xs.shape[0], n_models, A)

    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X

    def _class_scores(self, X):
        X = self._check_X(X)
        return X @ self.coef_.T + self.intercept_

    def decision_function(self, X):
        """Predicted class indicators (per-class PLS outputs).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            One score per class; for two classes, scikit-learn's convention of one column,
            ``score(classes_[1]) - score(classes_[0])``.
        """
        S = self._class_scores(X)
        if S.shape[1] == 2:
            return S[:, 1] - S[:, 0]
        return S

    def decision_function_path(self, X):
        """Per-class scores for every number of components ``1 .. n_components_`` at once.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        scores : ndarray of shape (``n_components_``, n_samples, n_classes)
            ``scores[a - 1]`` are the per-class scores of the model with ``a`` components
            (``scores[-1]`` equals the model's own scores).
        """
        X = self._check_X(X)
        Xs = (X - self.x_mean_) / self.x_std_
        T = self._scores(Xs)  # (n, m, A)
        if self.strategy == "ovr":
            contrib = T * self.y_loadings_[None, :, 0, :]  # (n, C, A)
        else:
            contrib = T[:, 0, None, :] * self.y_loadings_[0][None, :, :]  # (n, C, A)
        path = np.cumsum(contrib, axis=2) * self.y_std_[None, :, None] + self.y_mean_[None, :, None]
        return np.moveaxis(path, 2, 0)

    def predict(self, X):
        """Class with the largest score.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        scores = self._class_scores(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X):
        """Softmax of the per-class scores (uncalibrated; see Notes).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1, ordered as ``classes_``.
        """
        return softmax(self._class_scores(X), axis=1)

    def transform(self, X, n_components=None):
        """PLS latent scores (``x_scores``) of ``X``, e.g. for a 2-D emotion map.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        n_components : int, optional
            Keep the first ``n_components`` latent dimensions (default: all).

        Returns
        -------
        T : ndarray of shape (n_samples, n_models * n_components)
            For ``strategy="pls2"`` the shared latent space (``n_models = 1``); for "ovr" the
            per-class scores side by side, class-major (columns ``c * n + j``).
        """
        T = self.latent_scores(X, n_components=n_components)
        return T.reshape(T.shape[0], -1)

    def get_feature_names_out(self, input_features=None):
        """Names of the :meth:`transform` columns.

        Returns
        -------
        names : ndarray of str
            ``"pls{j}"`` for ``strategy="pls2"``; ``"pls_{class}_{j}"`` for "ovr".
        """
        check_is_fitted(self)
        A = self.n_components_
        if self.strategy == "pls2":
            return np.asarray([f"pls{j}" for j in range(A)], dtype=object)
        return np.asarray([f"pls_{c}_{j}" for c in self.classes_ for j in range(A)], dtype=object)

    def latent_scores(self, X, n_components=2):
        """PLS latent scores of ``X`` with the model axis kept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        n_components : int or None, default=2
            Number of leading latent dimensions; ``None`` for all.

        Returns
        -------
        T : ndarray of shape (n_samples, n_models, n_components)
            ``n_models`` is 1 for ``strategy="pls2"`` and ``n_classes`` for "ovr" (the
            scores of class ``c``'s own PLS model at ``T[:, c]``).
        """
        X = self._check_X(X)
        if n_components is None:
            n_components = self.n_components_
        if not 1 <= n_components <= self.n_components_:
            raise ValueError(
                f"n_components must be in [1, {self.n_components_}]; got {n_components!r}."
            )
        T = self._scores((X - self.x_mean_) / self.x_std_)
        return T[:, :, :n_components]
