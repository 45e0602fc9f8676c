"""Pure ndarray geometry for image sets: SPD functions, bases, embeddings and kernel maps.

Everything here works on stacked arrays (a leading batch axis) and never loops over matrices
or over pairs of matrices: matrix functions use one batched :func:`numpy.linalg.eigh`, and
every kernel is one matrix product between *vectorised* embeddings.  The estimators in
:mod:`emoset.sets.imagesets` and :mod:`emoset.sets.kernels` are thin layers over these functions.

Vectorisation
-------------
For symmetric matrices ``A`` and ``B`` of size ``n``, ``tr(A B) = <vech_w(A), vech_w(B)>``
where ``vech_w`` keeps the upper triangle (``n (n + 1) / 2`` entries) and multiplies the
off-diagonal entries by ``sqrt(2)`` (:func:`sym_to_vec`).  Kernels between ``N`` and ``M``
symmetric matrices are therefore a single ``(N, n(n+1)/2) @ (n(n+1)/2, M)`` BLAS product.

References
----------
.. [1] V. Arsigny, P. Fillard, X. Pennec and N. Ayache, "Log-Euclidean metrics for fast and
   simple calculus on diffusion tensors", Magnetic Resonance in Medicine 56(2), 2006.
.. [2] J. Hamm and D. D. Lee, "Grassmann discriminant analysis: a unifying view on
   subspace-based learning", ICML 2008.
.. [3] S. Jayasumana, R. Hartley, M. Salzmann, H. Li and M. Harandi, "Kernel methods on the
   Riemannian manifold of symmetric positive definite matrices", CVPR 2013; and "Kernel
   methods on Riemannian manifolds with Gaussian RBF kernels", IEEE TPAMI 37(12), 2015.
.. [4] M. Lovric, M. Min-Oo and E. A. Ruh, "Multivariate normal distributions parametrized
   as a Riemannian symmetric space", J. Multivariate Analysis 74(1), 2000.
.. [5] W. Wang, R. Wang, Z. Huang, S. Shan and X. Chen, "Discriminant analysis on Riemannian
   manifold of Gaussian distributions for face recognition with image sets", CVPR 2015.
.. [6] M. Liu, R. Wang, S. Li, S. Shan, Z. Huang and X. Chen, "Combining multiple kernel
   methods on Riemannian manifold for emotion recognition in the wild", ICMI 2014.
.. [7] O. Ledoit and M. Wolf, "A well-conditioned estimator for large-dimensional covariance
   matrices", J. Multivariate Analysis 88(2), 2004.
"""

import logging

import numpy as np
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.metrics.pairwise import pairwise_kernels

logger = logging.getLogger(__name__)

__all__ = [
    "EIGENVALUE_FLOOR",
    "KERNELS",
    "symmetrize",
    "apply_spd_function",
    "logm_spd",
    "expm_sym",
    "sqrtm_spd",
    "sym_to_vec",
    "log_vectors",
    "orthonormal_basis",
    "projector_vectors",
    "shrunk_covariance",
    "gaussian_embedding",
    "mean_squared_distance",
    "kernel_map",
    "inverse_sqrt_factor",
    "NYSTROEM_FLOOR",
]

#: Relative floor applied to eigenvalues before a logarithm (times the largest eigenvalue).
EIGENVALUE_FLOOR = 1e-10
_ABS_FLOOR = np.finfo(np.float64).tiny ** 0.5

#: Relative floor below which eigenvalues of a landmark Gram matrix are dropped (times the
#: largest eigenvalue) in :func:`inverse_sqrt_factor`.
NYSTROEM_FLOOR = 1e-12


def symmetrize(A):
    """Return the symmetric part ``(A + A^T) / 2`` of (a stack of) square matrices.

    Parameters
    ----------
    A : ndarray of shape (..., n, n)
        Square matrices.

    Returns
    -------
    S : ndarray of shape (..., n, n)
        Symmetric matrices.
    """
    A = np.asarray(A, dtype=np.float64)
    return 0.5 * (A + np.swapaxes(A, -1, -2))


def _check_square_stack(A, name="A"):
    A = np.asarray(A, dtype=np.float64)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{name} must be square matrices of shape (..., n, n); got {A.shape}.")
    return A


def apply_spd_function(C, func, *, floor=EIGENVALUE_FLOOR):
    """Apply a scalar function to the eigenvalues of (a stack of) symmetric matrices.

    The matrices are symmetrised, decomposed with one batched :func:`numpy.linalg.eigh`,
    their eigenvalues clipped below at ``floor * max(lambda_max, tiny)`` (per matrix), mapped
    with ``func`` and recomposed as ``V diag(func(lambda)) V^T``.

    Parameters
    ----------
    C : ndarray of shape (..., n, n)
        Symmetric (positive semi-)definite matrices.
    func : callable
        Vectorised scalar function, e.g. :func:`numpy.log`.
    floor : float or None, default=EIGENVALUE_FLOOR
        Relative eigenvalue floor; ``None`` disables clipping (for functions defined on the
        whole real line, such as :func:`numpy.exp`).

    Returns
    -------
    F : ndarray of shape (..., n, n)
        Symmetric matrices ``func(C)``.
    """
    C = symmetrize(_check_square_stack(C, "C"))
    eigvals, eigvecs = np.linalg.eigh(C)
    if floor is not None:
        top = np.maximum(eigvals[..., -1:], _ABS_FLOOR)
        eigvals = np.maximum(eigvals, floor * top)
    F = (eigvecs * func(eigvals)[..., None, :]) @ np.swapaxes(eigvecs, -1, -2)
    return symmetrize(F)


def logm_spd(C, *, floor=EIGENVALUE_FLOOR):
    """Matrix logarithm of (a stack of) SPD matrices by one batched eigendecomposition.

    Parameters
    ----------
    C : ndarray of shape (..., n, n)
        SPD matrices.  Eigenvalues below ``floor * lambda_max`` are clipped first, so nearly
        singular matrices give large negative but finite logarithms.
    floor : float, default=EIGENVALUE_FLOOR
        Relative eigenvalue floor.

    Returns
    -------
    L : ndarray of shape (..., n, n)
        Symmetric matrix logarithms.

    References
    ----------
    .. [1] V. Arsigny et al., "Log-Euclidean metrics for fast and simple calculus on
       diffusion tensors", Magnetic Resonance in Medicine, 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.sets.geometry import logm_spd
    >>> np.allclose(logm_spd(np.diag([1.0, np.e])), np.diag([0.0, 1.0]))
    True
    """
    return apply_spd_function(C, np.log, floor=floor)


def expm_sym(S):
    """Matrix exponential of (a stack of) symmetric matrices (inverse of :func:`logm_spd`).

    Parameters
    ----------
    S : ndarray of shape (..., n, n)
        Symmetric matrices.

    Returns
    -------
    E : ndarray of shape (..., n, n)
        SPD matrices ``exp(S)``.
    """
    return apply_spd_function(S, np.exp, floor=None)


def sqrtm_spd(C, *, floor=0.0):
    """Principal square root of (a stack of) SPD matrices.

    Parameters
    ----------
    C : ndarray of shape (..., n, n)
        Symmetric positive semi-definite matrices.
    floor : float, default=0.0
        Relative eigenvalue floor (negative round-off eigenvalues become 0).

    Returns
    -------
    R : ndarray of shape (..., n, n)
        Symmetric square roots.
    """
    return apply_spd_function(C, np.sqrt, floor=floor)


def log_vectors(C, *, floor=EIGENVALUE_FLOOR):
    """Half-vectorised matrix logarithms ``sym_to_vec(logm_spd(C))`` of stacked SPD matrices.

    The embedding of the log-Euclidean kernels [1]_: ``log_vectors(A) @ log_vectors(B).T``
    is ``tr(log A_i log B_j)`` for all pairs.  One batched eigendecomposition; the result is
    symmetrised while vectorising (no extra pass over the matrices).

    Parameters
    ----------
    C : ndarray of shape (n_matrices, n, n)
        SPD matrices.
    floor : float, default=EIGENVALUE_FLOOR
        Relative eigenvalue floor before the logarithm.

    Returns
    -------
    v : ndarray of shape (n_matrices, n * (n + 1) // 2)
        Vectorised logarithms.

    References
    ----------
    .. [1] V. Arsigny et al., "Log-Euclidean metrics for fast and simple calculus on
       diffusion tensors", Magnetic Resonance in Medicine, 2006.
    """
    C = symmetrize(_check_square_stack(C, "C"))
    eigvals, eigvecs = np.linalg.eigh(C)
    top = np.maximum(eigvals[..., -1:], _ABS_FLOOR)
    eigvals = np.log(np.maximum(eigvals, floor * top))
    L = (eigvecs * eigvals[..., None, :]) @ np.swapaxes(eigvecs, -1, -2)
    return sym_to_vec(L)


def sym_to_vec(S):
    """Isometric half-vectorisation of (a stack of) symmetric matrices.

    Keeps the upper triangle and scales off-diagonal entries by ``sqrt(2)`` so that
    ``sym_to_vec(A) @ sym_to_vec(B) == trace(A @ B)`` and Euclidean distances equal
    Frobenius distances.  A slightly asymmetric input is vectorised as its symmetric part.

    Parameters
    ----------
    S : ndarray of shape (..., n, n)
        Symmetric matrices.

    Returns
    -------
    v : ndarray of shape (..., n * (n + 1) // 2)
        Vectors.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.sets.geometry import sym_to_vec
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> float(sym_to_vec(A) @ sym_to_vec(A)) == float(np.trace(A @ A))
    True
    """
    S = _check_square_stack(S, "S")
    n = S.shape[-1]
    rows, cols = np.triu_indices(n)
    weights = np.where(rows == cols, 1.0, np.sqrt(2.0))
    flat = S.reshape(*S.shape[:-2], n * n)
    # Averaging (i, j) and (j, i) symmetrises on the fly; ``take`` on the flattened
    # matrices is several times faster than fancy indexing on two axes.
    upper = np.take(flat, rows * n + cols, axis=-1)
    upper += np.take(flat, cols * n + rows, axis=-1)
    upper *= 0.5 * weights
    return upper


def orthonormal_basis(frames, n_dims, *, rtol=1e-10):
    """Orthonormal basis of the span of a set's frames (a point on a Grassmann manifold).

    The basis is made of the top ``n_dims`` left singular vectors of the ``(d, n_frames)``
    data matrix ``frames.T`` (equivalently the leading eigenvectors of ``frames.T @ frames``);
    frames are *not* mean-centred, as in the linear-subspace models of [1]_ and [2]_.
    Directions whose singular value is below ``rtol * s_max`` (rank deficiency, or fewer
    frames than ``n_dims``) are returned as zero columns, so the output always has
    ``n_dims`` columns and its projector ``U U^T`` is that of the smaller subspace.

    Parameters
    ----------
    frames : ndarray of shape (n_frames, d)
        One image set.
    n_dims : int
        Number of basis vectors requested (``1 <= n_dims <= d``).
    rtol : float, default=1e-10
        Relative singular-value tolerance defining the numerical rank.

    Returns
    -------
    U : ndarray of shape (d, n_dims)
        Orthonormal columns followed by zero columns (if the rank is below ``n_dims``).
    rank : int
        Number of non-zero columns of ``U``.

    References
    ----------
    .. [1] J. Hamm and D. D. Lee, "Grassmann discriminant analysis", ICML 2008.
    .. [2] M. Liu et al., "Combining multiple kernel methods on Riemannian manifold for
       emotion recognition in the wild", ICMI 2014.
    """
    frames = np.asarray(frames, dtype=np.float64)
    d = frames.shape[1]
    if not 1 <= n_dims <= d:
        raise ValueError(f"n_dims must be in [1, {d}] for {d} features; got {n_dims}.")
    U, s, _ = np.linalg.svd(frames.T, full_matrices=False)
    smax = s[0] if s.size else 0.0
    rank = int(np.sum(s > max(rtol * smax, _ABS_FLOOR))) if smax > 0 else 0
    rank = min(rank, n_dims)
    basis = np.zeros((d, n_dims))
    basis[:, :rank] = U[:, :rank]
    return basis, rank


def projector_vectors(bases):
    """Half-vectorised projection matrices ``U U^T`` of stacked orthonormal bases.

    The projection embedding of the Grassmann manifold into symmetric matrices [1]_;
    ``projector_vectors(U) @ projector_vectors(V).T`` is the projection kernel
    ``||U_i^T V_j||_F^2`` for all pairs.

    Parameters
    ----------
    bases : ndarray of shape (n_sets, d, r)
        Orthonormal bases (zero columns allowed).

    Returns
    -------
    P : ndarray of shape (n_sets, d * (d + 1) // 2)
        Vectorised projectors.

    References
    ----------
    .. [1] J. Hamm and D. D. Lee, "Grassmann discriminant analysis", ICML 2008.
    """
    bases = np.asarray(bases, dtype=np.float64)
    if bases.ndim != 3:
        raise ValueError(f"bases must have shape (n_sets, d, r); got {bases.shape}.")
    return sym_to_vec(bases @ np.swapaxes(bases, -1, -2))


def shrunk_covariance(frames, *, shrinkage="ledoit-wolf", reg=1e-6):
    """Shrinkage covariance of one image set, positive definite even for 2 frames.

    ``Sigma = (1 - a) S + a mu I + eps I`` with ``S`` the (biased, 1/n) sample covariance,
    ``mu = trace(S) / d``, ``a`` the shrinkage and ``eps = reg * mu`` (plus a tiny absolute
    term so that a set of identical frames still gives ``Sigma > 0``).

    Parameters
    ----------
    frames : ndarray of shape (n_frames, d)
        One image set (``n_frames >= 1``).
    shrinkage : "ledoit-wolf" or float in [0, 1], default="ledoit-wolf"
        ``"ledoit-wolf"`` uses the Ledoit-Wolf optimal shrinkage [1]_
        (:func:`sklearn.covariance.ledoit_wolf_shrinkage`); a float is used as is.
    reg : float, default=1e-6
        Relative ridge added to the diagonal.

    Returns
    -------
    Sigma : ndarray of shape (d, d)
        SPD covariance.
    mean : ndarray of shape (d,)
        Sample mean.

    References
    ----------
    .. [1] O. Ledoit and M. Wolf, "A well-conditioned estimator for large-dimensional
       covariance matrices", J. Multivariate Analysis, 2004.
    """
    frames = np.asarray(frames, dtype=np.float64)
    n, d = frames.shape
    mean = frames.mean(axis=0)
    centred = frames - mean
    S = centred.T @ centred / n
    mu = np.trace(S) / d
    if isinstance(shrinkage, str):
        if n < 2 or mu <= 0:
            alpha = 1.0
        else:
            alpha = float(ledoit_wolf_shrinkage(centred, assume_centered=True))
    else:
        alpha = float(shrinkage)
    Sigma = (1.0 - alpha) * S
    Sigma[np.diag_indices(d)] += alpha * mu + reg * mu + _ABS_FLOOR
    return symmetrize(Sigma), mean


def gaussian_embedding(means, covariances, *, det_normalize=False, log=False):
    """Embed Gaussians ``N(mu, Sigma)`` as SPD matrices of size ``d + 1``.

    ``P = [[Sigma + mu mu^T, mu], [mu^T, 1]]`` (Lovric et al. [1]_, used for image sets by
    Wang et al. [2]_ and Liu et al. [3]_).  ``det(P) = det(Sigma)``, so ``P`` is SPD
    whenever ``Sigma`` is.  With ``det_normalize=True`` the matrix is multiplied by
    ``|Sigma|^(-1/(d+1))`` so that ``det(P) = 1`` (the embedding of [1]_ into
    ``SL(d+1)``); the factor is computed in the log domain, so it never overflows.

    Parameters
    ----------
    means : ndarray of shape (n_sets, d)
        Means.
    covariances : ndarray of shape (n_sets, d, d)
        SPD covariances.
    det_normalize : bool, default=False
        Apply the ``|Sigma|^(-1/(d+1))`` scaling.  Off by default: the determinant carries
        the overall spread of the set, which is informative for expressions.
    log : bool, default=False
        Return ``log(P)`` instead of ``P`` (scaling then is a shift by a multiple of ``I``).

    Returns
    -------
    P : ndarray of shape (n_sets, d + 1, d + 1)
        SPD embeddings (or their logarithms).

    References
    ----------
    .. [1] M. Lovric, M. Min-Oo and E. A. Ruh, "Multivariate normal distributions
       parametrized as a Riemannian symmetric space", J. Multivariate Analysis, 2000.
    .. [2] W. Wang et al., "Discriminant analysis on Riemannian manifold of Gaussian
       distributions for face recognition with image sets", CVPR 2015.
    .. [3] M. Liu et al., "Combining multiple kernel methods on Riemannian manifold for
       emotion recognition in the wild", ICMI 2014.
    """
    means = np.asarray(means, dtype=np.float64)
    covariances = symmetrize(covariances)
    n, d = means.shape
    if covariances.shape != (n, d, d):
        raise ValueError(
            f"covariances must have shape {(n, d, d)} to match means {means.shape}; "
            f"got {covariances.shape}."
        )
    P = np.empty((n, d + 1, d + 1))
    P[:, :d, :d] = covariances + means[:, :, None] * means[:, None, :]
    P[:, :d, d] = means
    P[:, d, :d] = means
    P[:, d, d] = 1.0
    if not (det_normalize or log):
        return P
    scale_log = np.zeros(n)
    if det_normalize:
        eig = np.linalg.eigvalsh(covariances)
        eig = np.maximum(eig, EIGENVALUE_FLOOR * np.maximum(eig[:, -1:], _ABS_FLOOR))
        scale_log = -np.log(eig).sum(axis=1) / (d + 1)
    if log:
        L = logm_spd(P)
        L[:, np.arange(d + 1), np.arange(d + 1)] += scale_log[:, None]
        return L
    return P * np.exp(scale_log)[:, None, None]


# --------------------------------------------------------------------------------------
# Kernel maps on vectorised embeddings (rows are samples)
# --------------------------------------------------------------------------------------


def mean_squared_distance(A):
    """Mean of all pairwise squared distances of the rows of ``A`` in ``O(n D)``.

    ``mean_ij ||a_i - a_j||^2 = 2 (mean_i ||a_i||^2 - ||mean_i a_i||^2)``; used for the
    default ``gamma = 1 / mean_squared_distance``.

    Parameters
    ----------
    A : ndarray of shape (n, D)

    Returns
    -------
    msd : float
    """
    A = np.asarray(A, dtype=np.float64)
    m = A.mean(axis=0)
    return float(2.0 * (np.einsum("ij,ij->", A, A) / A.shape[0] - m @ m))


#: Kernels on row-embeddings, by the names of :func:`sklearn.metrics.pairwise_kernels`:
#: ``A @ B.T``, ``(gamma <a, b> + coef0) ** degree`` (positive semi-definite for ``gamma > 0``,
#: ``coef0 >= 0`` and integer ``degree >= 1``) and ``exp(-gamma ||a - b||^2)``, which on
#: log-Euclidean and projection embeddings is the positive definite manifold RBF kernel of
#: Jayasumana et al. (IEEE TPAMI 37(12), 2015) for every ``gamma > 0``. scikit-learn's maps
#: replaced emoset's own: at AFEW size (1,156 x 2,080 log-Euclidean embeddings) they took the
#: same time (41-51 ms either way, one thread) and give the same values (to 2e-15).
KERNELS = ("linear", "poly", "rbf")


def kernel_map(A, B, *, kernel="linear", **params):
    """Kernel matrix between row-embeddings, the kernel picked by name.

    Parameters
    ----------
    A : ndarray of shape (n, D)
    B : ndarray of shape (m, D)
    kernel : {"linear", "poly", "rbf"}, default="linear"
        Name in :data:`KERNELS` (:func:`sklearn.metrics.pairwise_kernels` computes it).
    **params
        ``gamma``, ``degree``, ``coef0`` as needed by the kernel (the others are ignored).

    Returns
    -------
    K : ndarray of shape (n, m)
    """
    if kernel not in KERNELS:
        raise ValueError(f"Unknown kernel {kernel!r}; expected one of {list(KERNELS)}.")
    return pairwise_kernels(A, B, metric=kernel, filter_params=True, **params)


def inverse_sqrt_factor(W, *, floor=NYSTROEM_FLOOR):
    """Factor ``N`` with ``N N^T = W^+`` for a symmetric positive semi-definite ``W``.

    The Nyström normalisation [1]_: one eigendecomposition ``W = V diag(lambda) V^T``;
    eigenvalues at or below ``floor * lambda_max`` (round-off, rank deficiency of linear
    kernels) are dropped and ``N = V_r diag(lambda_r^{-1/2})`` is returned, so ``K_nm N``
    are features whose inner products are ``K_nm W^+ K_mn``.

    Parameters
    ----------
    W : ndarray of shape (m, m)
        Gram matrix of the landmarks.
    floor : float, default=NYSTROEM_FLOOR
        Relative eigenvalue floor.

    Returns
    -------
    N : ndarray of shape (m, r)
        ``r`` is the number of eigenvalues kept (at least 1).

    References
    ----------
    .. [1] C. K. I. Williams and M. Seeger, "Using the Nyström method to speed up kernel
       machines", NIPS 2001.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.sets.geometry import inverse_sqrt_factor
    >>> N = inverse_sqrt_factor(np.diag([4.0, 1.0, 0.0]))
    >>> np.allclose(N @ N.T, np.diag([0.25, 1.0, 0.0]))
    True
    """
    W = symmetrize(_check_square_stack(W, "W"))
    eigvals, eigvecs = np.linalg.eigh(W)
    top = max(float(eigvals[-1]), _ABS_FLOOR)
    keep = eigvals > floor * top
    keep[-1] = True
    return eigvecs[:, keep] / np.sqrt(np.maximum(eigvals[keep], _ABS_FLOOR))
