"""Manifold kernels between image-set summaries, as scikit-learn transformers.

A kernel transformer is fitted on the training summaries (from :mod:`emoset.sets.imagesets`) and
``transform`` returns the kernel matrix ``K`` of shape ``(n_new, n_train)``: the rows are the
features of a kernel classifier (PLS, logistic regression) or the input of
``SVC(kernel="precomputed")``.

Each summary is first mapped to a vector (projector ``U U^T`` for subspaces, matrix logarithm
for SPD matrices, the vector itself for means; symmetric matrices half-vectorised
isometrically), then every kernel is one BLAS matrix product between those vectors; the
logarithms come from one batched eigendecomposition.  No Python loop runs over matrices or
over pairs.  All kernels are positive (semi-)definite:

* :class:`ProjectionKernel` (subspaces): linear ``||U_i^T U_j||_F^2`` (Hamm & Lee 2008);
  RBF ``exp(-g ||U_i U_i^T - U_j U_j^T||_F^2)``.
* :class:`LogEuclideanKernel` (SPD matrices): linear ``tr(log C_i log C_j)`` (Arsigny et al.
  2006); RBF ``exp(-g ||log C_i - log C_j||_F^2)``.
* :class:`EuclideanKernel` (means): linear ``<m_i, m_j>``; RBF ``exp(-g ||m_i - m_j||^2)``.

``kernel="poly"`` is ``(g k_lin + coef0) ** degree`` with the linear kernel ``k_lin``.  The
RBF forms are positive definite for every ``g > 0`` (Jayasumana et al. 2013, 2015).

Large corpora: the Nyström approximation
----------------------------------------
The exact kernel costs ``O(n^2)`` memory and the classifiers on it ``O(n^2)`` to ``O(n^3)``
time.  With ``n_landmarks=m`` a kernel evaluates the manifold kernel only against ``m``
training sets (the landmarks, drawn without replacement with ``random_state``) and returns
``n x r`` features (``r <= m``, eigenvalues of the landmark Gram matrix ``W = K_mm`` at or
below ``1e-12 lambda_max`` dropped): time and memory linear in ``n`` [5]_.

* ``output="rows"`` (default): ``K_nm W^{-1/2} G^{1/2}`` with ``G = W^{-1/2} K_mn K_nm
  W^{-1/2}``.  These are the approximate kernel rows ``K_nm W^+ K_mn`` (``n_new x n_train``)
  in ``r`` orthonormal coordinates, so PLS (without ``scale``) and L2-penalised linear models
  fitted on them give exactly the predictions they would give on the approximate rows; with
  ``m >= n_train`` every training set is a landmark and the result is the exact model up to
  round-off.
* ``output="features"``: the Nyström feature map ``K_nm W^{-1/2}``, whose inner products
  approximate the kernel (``SVC(kernel="linear")`` on it is the kernel SVM).

``n_landmarks="auto"`` keeps the exact kernel up to :data:`AUTO_EXACT_MAX` training sets and
uses :data:`AUTO_LANDMARKS` landmarks above.

References
----------
.. [1] J. Hamm and D. D. Lee, "Grassmann discriminant analysis: a unifying view on
   subspace-based learning", ICML 2008.
.. [2] V. Arsigny, P. Fillard, X. Pennec and N. Ayache, "Log-Euclidean metrics for fast and
   simple calculus on diffusion tensors", Magnetic Resonance in Medicine 56(2), 2006.
.. [3] S. Jayasumana, R. Hartley, M. Salzmann, H. Li and M. Harandi, "Kernel methods on the
   Riemannian manifold of symmetric positive definite matrices", CVPR 2013; "Kernel methods
   on Riemannian manifolds with Gaussian RBF kernels", IEEE TPAMI 37(12), 2015.
.. [4] M. Liu et al., "Combining multiple kernel methods on Riemannian manifold for emotion
   recognition in the wild", ICMI 2014.
.. [5] C. K. I. Williams and M. Seeger, "Using the Nyström method to speed up kernel
   machines", NIPS 2001.
"""

import logging
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .geometry import (
    KERNELS,
    inverse_sqrt_factor,
    kernel_map,
    log_vectors,
    mean_squared_distance,
    projector_vectors,
    sqrtm_spd,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ProjectionKernel",
    "LogEuclideanKernel",
    "EuclideanKernel",
    "KernelRowScaler",
    "AUTO_EXACT_MAX",
    "AUTO_LANDMARKS",
]

#: ``n_landmarks="auto"``: the exact kernel for at most this many training sets.  Measured
#: (benchmarks/bench_scale.py, one core): an exact video candidate on 5,000 clips fits in
#: 15-27 s and adds 0.8 GiB; from 5,000 to 10,000 clips its memory grows as n^1.7 (about
#: 8 GiB beyond the clips themselves at 20,000 clips, extrapolated).
AUTO_EXACT_MAX = 5000

#: ``n_landmarks="auto"``: the number of landmarks above :data:`AUTO_EXACT_MAX` sets.
AUTO_LANDMARKS = 1000

_OUTPUTS = ("rows", "features")

_PARAMS_DOC = """
    Parameters
    ----------
    kernel : {"linear", "poly", "rbf"}, default="linear"
        Kernel form on the embedding.
    gamma : float or None, default=None
        Scale ``g`` of the "poly" and "rbf" forms.  ``None`` picks, in ``fit``,
        ``1 / mean pairwise squared distance`` of the training embeddings for "rbf" and
        ``1 / mean training self-similarity`` for "poly" (so ``g k_lin`` is about 1).
    degree : int, default=2
        Degree of the "poly" form.
    coef0 : float, default=1.0
        Offset of the "poly" form (``>= 0`` keeps the kernel positive semi-definite).
    n_landmarks : None, int or "auto", default=None
        ``None``: the exact kernel (``transform`` returns ``n_new x n_train`` rows).  An
        integer ``m``: the Nyström approximation on ``min(m, n_train)`` landmark sets (see
        the module docstring); ``"auto"``: exact up to :data:`AUTO_EXACT_MAX` training sets,
        :data:`AUTO_LANDMARKS` landmarks above.
    output : {"rows", "features"}, default="rows"
        With landmarks: approximate kernel rows in landmark coordinates, or the Nyström
        feature map.  ``"features"`` with ``n_landmarks=None`` (or "auto" on a small
        training set) is the exact feature map (every training set a landmark).
    random_state : int, RandomState instance or None, default=None
        Seed of the landmark draw.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_columns, D)
        Vectorised training summaries (only the landmarks' with a Nyström approximation).
    gamma_ : float or None
        The ``g`` actually used (``None`` for "linear"); chosen from all training sets.
    n_train_ : int
        Number of training sets.
    n_landmarks_ : int or None
        Number of landmarks used (``None``: exact kernel rows).
    landmark_indices_ : ndarray of shape (``n_landmarks_``,) or None
        Positions of the landmarks among the training sets (sorted).
    components_ : ndarray of shape (``n_landmarks_``, r) or None
        Map from kernel values against the landmarks to the ``r`` output features.
    input_shape_ : tuple of int
        Shape of one training summary.
"""


class _BaseKernel(TransformerMixin, BaseEstimator):
    """Fit stores the embedded training summaries; transform gives ``K(new, train)``."""

    _input_ndim = 3

    def __init__(
        self,
        kernel="linear",
        *,
        gamma=None,
        degree=2,
        coef0=1.0,
        n_landmarks=None,
        output="rows",
        random_state=None,
    ):
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.n_landmarks = n_landmarks
        self.output = output
        self.random_state = random_state

    def _check_input(self, X, *, reset):
        if self._input_ndim == 2:
            X = validate_data(self, X, reset=reset, dtype=np.float64)
        else:
            X = check_array(X, allow_nd=True, dtype=np.float64, input_name="X")
            if X.ndim != self._input_ndim:
                raise ValueError(
                    f"{type(self).__name__} expects an array of {self._input_ndim} dimensions "
                    f"({self._input_doc}); got shape {X.shape}."
                )
        self._check_matrix_shape(X)
        if reset:
            self.input_shape_ = X.shape[1:]
        elif X.shape[1:] != self.input_shape_:
            raise ValueError(
                f"{type(self).__name__} was fitted on summaries of shape {self.input_shape_}; "
                f"got {X.shape[1:]}."
            )
        return X

    def _check_matrix_shape(self, X):
        pass

    def _validate_params(self):
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {sorted(KERNELS)}; got {self.kernel!r}.")
        if self.gamma is not None and (
            not isinstance(self.gamma, numbers.Real) or not self.gamma > 0
        ):
            raise ValueError(f"gamma must be None or a positive float; got {self.gamma!r}.")
        if self.kernel == "poly":
            if (
                not isinstance(self.degree, numbers.Integral)
                or isinstance(self.degree, bool)
                or self.degree < 1
            ):
                raise ValueError(f"degree must be a positive integer; got {self.degree!r}.")
            if not isinstance(self.coef0, numbers.Real) or self.coef0 < 0:
                raise ValueError(
                    "coef0 must be a non-negative float so that the kernel is positive "
                    f"semi-definite; got {self.coef0!r}."
                )
        m = self.n_landmarks
        if not (
            m is None
            or (isinstance(m, str) and m == "auto")
            or (isinstance(m, numbers.Integral) and not isinstance(m, bool) and m >= 1)
        ):
            raise ValueError(f"n_landmarks must be None, 'auto' or a positive integer; got {m!r}.")
        if not isinstance(self.output, str) or self.output not in _OUTPUTS:
            raise ValueError(f"output must be one of {list(_OUTPUTS)}; got {self.output!r}.")

    def _resolve_landmarks(self, n_train):
        """Number of landmarks for ``n_train`` training sets (``None``: exact rows)."""
        m = self.n_landmarks
        if isinstance(m, str):  # "auto"
            m = None if n_train <= AUTO_EXACT_MAX else AUTO_LANDMARKS
        if m is None:
            return None if self.output == "rows" else n_train
        return min(int(m), n_train)

    def _default_gamma(self, E):
        if self.gamma is not None or self.kernel == "linear":
            return None if self.kernel == "linear" else float(self.gamma)
        if self.kernel == "rbf":
            scale = mean_squared_distance(E)
        else:
            scale = float(np.einsum("ij,ij->", E, E)) / E.shape[0]
        if not scale > 0:
            logger.debug("All training embeddings coincide; using gamma=1.")
            return 1.0
        return 1.0 / scale

    def _kernel(self, A, B):
        return kernel_map(
            A, B, kernel=self.kernel, gamma=self.gamma_, degree=self.degree, coef0=self.coef0
        )

    def fit(self, X, y=None):
        """Store the embedded training summaries and choose ``gamma``.

        Parameters
        ----------
        X : ndarray
            Training summaries (see the class docstring for the shape).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted kernel.
        """
        self._fit_embedding(X)
        return self

    def _fit_embedding(self, X):
        """Fit; return the training output of ``fit_transform``, or ``None`` if exact."""
        self._validate_params()
        X = self._check_input(X, reset=True)
        E = self._embed(X)
        n = E.shape[0]
        self.n_train_ = n
        self.gamma_ = self._default_gamma(E)
        m = self._resolve_landmarks(n)
        self.n_landmarks_ = m
        if m is None:
            self.embedding_ = E
            self.landmark_indices_ = None
            self.components_ = None
            return None
        if m >= n:
            idx = np.arange(n)
        else:
            idx = np.sort(check_random_state(self.random_state).choice(n, m, replace=False))
        landmarks = E[idx]
        N = inverse_sqrt_factor(self._kernel(landmarks, landmarks))
        F = self._kernel(E, landmarks) @ N  # Nyström features of the training sets
        if self.output == "rows":
            root = sqrtm_spd(F.T @ F)  # G^{1/2}: rows K_nm W^+ K_mn in r coordinates
            N = N @ root
            F = F @ root
        self.embedding_ = landmarks
        self.landmark_indices_ = idx
        self.components_ = N
        logger.debug(
            "%s: %d of %d training sets as landmarks, %d features.",
            type(self).__name__,
            m,
            n,
            N.shape[1],
        )
        return F

    def fit_transform(self, X, y=None):
        """Fit, then return the symmetric training Gram matrix (embeddings computed once).

        Parameters
        ----------
        X : ndarray
            Training summaries.
        y : None
            Ignored.

        Returns
        -------
        K : ndarray of shape (n_train, n_train) or (n_train, r)
            Gram matrix (with landmarks: the training features, as ``transform`` gives).
        """
        F = self._fit_embedding(X)
        if F is not None:
            return F
        E = self.embedding_
        K = self._kernel(E, E)
        return 0.5 * (K + K.T)

    def transform(self, X):
        """Kernel matrix between new summaries and the training summaries.

        Parameters
        ----------
        X : ndarray
            Summaries of new sets (same shape per set as in ``fit``).

        Returns
        -------
        K : ndarray of shape (n_samples, n_train) or (n_samples, r)
            Kernel rows (with landmarks: the ``r`` Nyström features, see ``output``).
        """
        check_is_fitted(self)
        X = self._check_input(X, reset=False)
        K = self._kernel(self._embed(X), self.embedding_)
        return K if self.components_ is None else K @ self.components_

    def get_feature_names_out(self, input_features=None):
        """Names ``k0 ..`` of the output columns (one per training set, or per feature)."""
        check_is_fitted(self)
        n_out = self.n_train_ if self.components_ is None else self.components_.shape[1]
        return np.asarray([f"k{i}" for i in range(n_out)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = self._input_ndim == 2
        tags.input_tags.three_d_array = self._input_ndim == 3
        tags.input_tags.pairwise = False
        return tags


class ProjectionKernel(_BaseKernel):
    __doc__ = (
        """Grassmann projection kernel between subspace bases, and its poly/RBF forms.

    ``k(U, V) = ||U^T V||_F^2 = <U U^T, V V^T>_F`` [1]_ for orthonormal bases ``U``, ``V``
    of shape ``(d, r)`` (zero columns, as produced by :class:`~emoset.sets.imagesets.SubspaceModel`
    for rank-deficient sets, are allowed).  The RBF form uses the projection distance
    ``||U U^T - V V^T||_F^2`` and is positive definite [2]_.  Input: ``(n_sets, d, r)``.
"""
        + _PARAMS_DOC
        + """
    References
    ----------
    .. [1] J. Hamm and D. D. Lee, "Grassmann discriminant analysis: a unifying view on
       subspace-based learning", ICML 2008.
    .. [2] S. Jayasumana et al., "Kernel methods on Riemannian manifolds with Gaussian RBF
       kernels", IEEE TPAMI, 2015.
    .. [3] M. Liu et al., "Combining multiple kernel methods on Riemannian manifold for
       emotion recognition in the wild", ICMI 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.sets.kernels import ProjectionKernel
    >>> U = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 5, 2)))[0]
    >>> K = ProjectionKernel().fit_transform(U)
    >>> np.allclose(np.diag(K), 2.0)
    True
    """
    )

    _input_doc = "n_sets, d, r: subspace bases"

    def _embed(self, X):
        return projector_vectors(X)


class LogEuclideanKernel(_BaseKernel):
    __doc__ = (
        """Log-Euclidean kernels on SPD matrices (covariances, Gaussian embeddings).

    ``k(A, B) = tr(log A log B)`` [1]_; the RBF form ``exp(-g ||log A - log B||_F^2)`` is
    positive definite for all ``g > 0`` [2]_.  Logarithms come from one batched
    eigendecomposition with eigenvalues clipped at ``1e-10 lambda_max``.  Input:
    ``(n_sets, p, p)`` symmetric positive definite matrices.
"""
        + _PARAMS_DOC
        + """
    References
    ----------
    .. [1] V. Arsigny et al., "Log-Euclidean metrics for fast and simple calculus on
       diffusion tensors", Magnetic Resonance in Medicine, 2006.
    .. [2] S. Jayasumana et al., "Kernel methods on the Riemannian manifold of symmetric
       positive definite matrices", CVPR 2013; IEEE TPAMI, 2015.
    .. [3] M. Liu et al., "Combining multiple kernel methods on Riemannian manifold for
       emotion recognition in the wild", ICMI 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.sets.kernels import LogEuclideanKernel
    >>> C = np.stack([np.eye(2), np.diag([np.e, 1.0])])
    >>> LogEuclideanKernel().fit_transform(C)
    array([[0., 0.],
           [0., 1.]])
    """
    )

    _input_doc = "n_sets, p, p: SPD matrices"

    def _check_matrix_shape(self, X):
        if X.shape[1] != X.shape[2]:
            raise ValueError(
                f"LogEuclideanKernel expects square matrices; got shape {X.shape[1:]}."
            )

    def _embed(self, X):
        return log_vectors(X)


class EuclideanKernel(_BaseKernel):
    __doc__ = (
        """Linear, polynomial and RBF kernels on set means (the Euclidean baseline).

    Input: ``(n_sets, d)`` means from :class:`~emoset.sets.imagesets.MeanModel`.
"""
        + _PARAMS_DOC
        + """
    References
    ----------
    .. [1] W. Ding et al., "Audio and face video emotion recognition in the wild using deep
       neural networks and small datasets", ICMI 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.sets.kernels import EuclideanKernel
    >>> EuclideanKernel().fit_transform(np.array([[1.0, 0.0], [1.0, 2.0]]))
    array([[1., 1.],
           [1., 5.]])
    """
    )

    _input_ndim = 2
    _input_doc = "n_sets, d: set means"

    def _embed(self, X):
        return X


class KernelRowScaler(TransformerMixin, BaseEstimator):
    """Kernel rows on a common scale, by one number: centre the columns, divide by their RMS.

    Kernel rows (or their Nyström coordinates, see the module docstring) can sit far from zero
    (the linear log-Euclidean kernel reaches 1e3), which stops an iterative solver such as
    logistic regression at its iteration limit. This transformer subtracts each column's
    training mean and divides every value by one scale,
    ``sqrt(sum((X - mean) ** 2)) / n_samples``: the root mean square of a centred training
    Gram matrix. Unlike a per-column standardisation it commutes with a rotation of the
    columns, and its scale does not depend on how many columns there are, so a linear model
    fitted on Nyström coordinates is the one fitted on the approximate kernel rows they stand
    for (and, with every training set a landmark, on the exact rows).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Column means of the training rows.
    scale_ : float
        The one divisor (1.0 when the centred rows are all zero).
    n_features_in_ : int
    """

    def fit(self, X, y=None):
        """Learn the column means and the scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training kernel rows.
        y : ignored

        Returns
        -------
        self : KernelRowScaler
        """
        X = validate_data(self, X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        scale = float(np.linalg.norm(X - self.mean_)) / X.shape[0]
        self.scale_ = scale if scale > 0 else 1.0
        return self

    def transform(self, X):
        """Centre with the training means and divide by the scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return (X - self.mean_) / self.scale_
