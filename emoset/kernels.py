"""Manifold kernels between image-set summaries, as scikit-learn transformers.

A kernel transformer is fitted on the training summaries (from :mod:`emoset.imagesets`) and
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
"""

import logging
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .geometry import (
    KERNEL_FUNCTIONS,
    kernel_map,
    log_vectors,
    mean_squared_distance,
    projector_vectors,
)

logger = logging.getLogger(__name__)

__all__ = ["ProjectionKernel", "LogEuclideanKernel", "EuclideanKernel"]

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

    Attributes
    ----------
    embedding_ : ndarray of shape (n_train, D)
        Vectorised training summaries.
    gamma_ : float or None
        The ``g`` actually used (``None`` for "linear").
    n_train_ : int
        Number of training sets (columns of ``K``).
    input_shape_ : tuple of int
        Shape of one training summary.
"""


class _BaseKernel(TransformerMixin, BaseEstimator):
    """Fit stores the embedded training summaries; transform gives ``K(new, train)``."""

    _input_ndim = 3

    def __init__(self, kernel="linear", *, gamma=None, degree=2, coef0=1.0):
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0

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
        if self.kernel not in KERNEL_FUNCTIONS:
            raise ValueError(
                f"kernel must be one of {sorted(KERNEL_FUNCTIONS)}; got {self.kernel!r}."
            )
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
        self._validate_params()
        X = self._check_input(X, reset=True)
        E = self._embed(X)
        self.embedding_ = E
        self.n_train_ = E.shape[0]
        self.gamma_ = self._default_gamma(E)
        return E

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
        K : ndarray of shape (n_train, n_train)
            Gram matrix.
        """
        E = self._fit_embedding(X)
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
        K : ndarray of shape (n_samples, n_train)
            Kernel rows.
        """
        check_is_fitted(self)
        X = self._check_input(X, reset=False)
        return self._kernel(self._embed(X), self.embedding_)

    def get_feature_names_out(self, input_features=None):
        """Names ``k0 .. k{n_train-1}`` of the kernel columns (one per training set)."""
        check_is_fitted(self)
        return np.asarray([f"k{i}" for i in range(self.n_train_)], dtype=object)

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
    of shape ``(d, r)`` (zero columns, as produced by :class:`~emoset.imagesets.SubspaceModel`
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
    >>> from emoset.kernels import ProjectionKernel
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
    >>> from emoset.kernels import LogEuclideanKernel
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

    Input: ``(n_sets, d)`` means from :class:`~emoset.imagesets.MeanModel`.
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
    >>> from emoset.kernels import EuclideanKernel
    >>> EuclideanKernel().fit_transform(np.array([[1.0, 0.0], [1.0, 2.0]]))
    array([[1., 1.],
           [1., 5.]])
    """
    )

    _input_ndim = 2
    _input_doc = "n_sets, d: set means"

    def _embed(self, X):
        return X
