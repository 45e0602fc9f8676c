"""Image-set models: turn each video's frame features into one matrix.

An *image set* is the array of per-frame feature vectors of one clip, shape
``(n_frames_i, n_features)``; a data set of clips is a plain list of such arrays (ragged), so
scikit-learn's indexing, cross-validation and :class:`~sklearn.model_selection.GridSearchCV`
work unchanged.  Each transformer here maps that list to a stacked ndarray:

===================  ==============================  =================================
model                point of                        output shape
===================  ==============================  =================================
``SubspaceModel``    Grassmann manifold (basis)      ``(n_sets, d, n_dims)``
``CovarianceModel``  SPD manifold (covariance)       ``(n_sets, d, d)``
``GaussianModel``    SPD manifold (Gaussian embed.)  ``(n_sets, d + 1, d + 1)``
``MeanModel``        Euclidean space (mean)          ``(n_sets, d)``
===================  ==============================  =================================

:class:`GaussianMomentEmbedding` takes each set as a row of its moments (frame count, mean,
covariance: :func:`emoset.audio.moments.frame_moments`) instead of its frames, and gives the
log-Euclidean vector of its Gaussian: a fixed-length row that any vector classifier takes
(the speech image sets of ``make_audio_pipeline("egemaps-lld")``).

``d`` is ``n_pca`` when a PCA, fitted on the stacked training frames, is used; otherwise the
number of input features.

References
----------
.. [1] M. Liu, R. Wang, S. Li, S. Shan, Z. Huang and X. Chen, "Combining multiple kernel
   methods on Riemannian manifold for emotion recognition in the wild", ICMI 2014.
.. [2] W. Ding, M. Xu, D. Huang, W. Lin, M. Dong, X. Yu and H. Li, "Audio and face video
   emotion recognition in the wild using deep neural networks and small datasets",
   ICMI 2016.
"""

import copy
import hashlib
import logging
import numbers
import threading
from collections import OrderedDict

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

from ..utils.messages import warn_caller
from ..utils.setnames import copy_names, name_sets, set_label, unreported
from .geometry import (
    _ABS_FLOOR,
    gaussian_embedding,
    log_vectors,
    orthonormal_basis,
    shrunk_covariance,
)

logger = logging.getLogger(__name__)

__all__ = [
    "check_image_sets",
    "SubspaceModel",
    "CovarianceModel",
    "GaussianModel",
    "MeanModel",
    "GaussianMomentEmbedding",
]


def _plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def check_image_sets(X, *, n_features=None, min_frames=1):
    """Validate a list of image sets and return it as a list of float64 arrays.

    Parameters
    ----------
    X : list or tuple of array-like of shape (n_frames_i, n_features), or ndarray
        The image sets.  A 3-D array ``(n_sets, n_frames, n_features)``, a 1-D object
        array of 2-D arrays and a pandas Series of 2-D arrays (its index, e.g. clip names,
        then appears in error messages) are also accepted.
    n_features : int, optional
        Expected number of features (as seen in ``fit``).  If ``None``, every set must
        have as many features as set 0.
    min_frames : int, default=1
        Minimum number of frames in each set.

    Returns
    -------
    sets : list of ndarray of shape (n_frames_i, n_features)
        Validated sets (``float64``).

    Raises
    ------
    TypeError
        If ``X`` is not a list/tuple/array of sets (for example one 2-D array).
    ValueError
        If the list is empty, or a set is not 2-D, has too few frames, has the wrong number
        of features or contains NaN/infinity.  The message names the set index.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.sets.imagesets import check_image_sets
    >>> sets = check_image_sets([np.ones((3, 2)), np.zeros((5, 2))])
    >>> [s.shape for s in sets]
    [(3, 2), (5, 2)]
    """
    names = None
    if hasattr(X, "index") and hasattr(X, "to_list") and getattr(X, "ndim", 0) == 1:
        names = [str(name) for name in X.index]  # a pandas Series of sets, indexed by clip
        X = X.to_list()
    if isinstance(X, np.ndarray):
        if X.dtype == object and X.ndim == 1:
            X = list(X)
        elif X.ndim == 3:
            X = list(X)
        else:
            raise TypeError(
                "Expected a list of image sets, each of shape (n_frames, n_features); got an "
                f"ndarray of shape {X.shape}. Wrap a single set in a list: [X]."
            )
    elif not isinstance(X, (list, tuple)):
        raise TypeError(
            "Expected a list of image sets, each of shape (n_frames, n_features); "
            f"got {type(X).__name__}."
        )
    where = "as seen in fit"
    if len(X) == 0:
        raise ValueError("Expected a non-empty list of image sets; got an empty list.")
    sets = []
    for i, s in enumerate(X):
        if names is not None:
            i = f"{i} ({names[i]})"
        if np.iscomplexobj(s):
            raise ValueError(f"Image set {i} is complex; real-valued features are needed.")
        try:
            arr = np.asarray(s, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Image set {i} cannot be converted to a float array: {exc}") from exc
        if arr.ndim != 2:
            raise ValueError(
                f"Image set {i} must be a 2-D array of shape (n_frames, n_features); "
                f"got shape {arr.shape}."
            )
        n_frames, d = arr.shape
        if n_frames < min_frames:
            raise ValueError(
                f"Image set {i} has {_plural(n_frames, 'frame')}; at least "
                f"{min_frames} {'is' if min_frames == 1 else 'are'} needed."
            )
        if n_features is None:
            n_features = d
            where = "as in set 0"
        if d != n_features:
            raise ValueError(
                f"Image set {i} has {_plural(d, 'feature')}; expected {n_features} ({where})."
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"Image set {i} contains NaN or infinity.")
        sets.append(arr)
    # the clip each set came from (a Series' index, or recorded by emoset.video.extract), for the
    # messages of the steps after this one
    if names is not None:
        name_sets(sets, names)
    else:
        copy_names(X, sets)
    return sets


#: PCAs fitted lately in this process: ``(frames digest, n_components, seed) -> fitted PCA``.
#: A nested evaluation meets the same training frames again many fits later (the outer fold's
#: grid rows, then its candidates): 64 entries (at most ~1 MB each for 64 components of 2,048-d
#: frames) keep 22 of the quick reproduction's 131 fits from being refitted, 8 kept 10.
_PCA_FITS: OrderedDict = OrderedDict()
_PCA_FITS_MAX = 64
_PCA_LOCK = threading.Lock()


def _fitted_pca(frames, n_components, random_state):
    """``PCA(n_components, random_state=random_state).fit(frames)``, fitted once per process.

    Candidates of one subsystem often share a PCA: the subspace and mean candidates both
    project on 64 components, the covariance and Gaussian ones on 32, and each refits it on
    the same training frames in every fold. With an integer seed the solver is deterministic,
    so the same frames (compared by a digest of their bytes), size and seed give the same
    PCA: the last few fits are kept and handed out as copies. Any other seed always refits.
    """
    if not isinstance(random_state, numbers.Integral) or isinstance(random_state, bool):
        return PCA(n_components=n_components, random_state=random_state).fit(frames)
    frames = np.ascontiguousarray(frames)
    # SHA-256: hardware-accelerated on current CPUs, twice as fast as BLAKE2 on a 70 MB matrix
    digest = hashlib.sha256(frames.view(np.uint8))
    digest.update(repr((frames.shape, frames.dtype.str)).encode())
    key = (digest.hexdigest(), int(n_components), int(random_state))
    with _PCA_LOCK:
        fitted = _PCA_FITS.get(key)
        if fitted is not None:
            _PCA_FITS.move_to_end(key)
            return copy.deepcopy(fitted)
    fitted = PCA(n_components=n_components, random_state=int(random_state)).fit(frames)
    with _PCA_LOCK:
        _PCA_FITS[key] = copy.deepcopy(fitted)
        while len(_PCA_FITS) > _PCA_FITS_MAX:
            _PCA_FITS.popitem(last=False)
    return fitted


class _BaseSetModel(TransformerMixin, BaseEstimator):
    """Shared fit/transform logic: validation and the optional PCA on training frames."""

    #: Fewest frames an image set needs (a public class constant: callers such as
    #: :class:`~emoset.sets.classifiers.ImageSetPLS` validate sets with it before ``fit``).
    min_frames = 1

    @property
    def informative_frames(self):
        """Fewest frames whose summary depends on what they show (see the subclasses).

        Below it a set is summarised, but every set of that size lands near the same point:
        a classifier scoring it would answer the same for every clip. Measured on the CNN
        image sets of 22 CREMA-D clips, scored by models fitted on 60 others, each clip cut
        to n frames spread over it: the mean summary's scores follow the full clip's from 1
        frame (correlation 0.60; 0.89 at 2 frames).
        """
        return self.min_frames

    def _validate_params(self):
        n_pca = self.n_pca
        if n_pca is not None and (
            not isinstance(n_pca, numbers.Integral) or isinstance(n_pca, bool) or n_pca < 1
        ):
            raise ValueError(f"n_pca must be None or a positive integer; got {n_pca!r}.")

    def _fit_pca(self, sets):
        self._validate_params()
        self.n_features_in_ = sets[0].shape[1]
        if self.n_pca is None:
            self.pca_ = None
            self.n_features_out_ = self.n_features_in_
            return
        frames = np.vstack(sets)
        max_pca = min(frames.shape)
        if self.n_pca > max_pca:
            raise ValueError(
                f"n_pca={self.n_pca} exceeds min(n_training_frames, n_features) = {max_pca}."
            )
        self.pca_ = _fitted_pca(frames, self.n_pca, self.random_state)
        self.n_features_out_ = self.n_pca

    def _project(self, sets):
        if self.pca_ is None:
            return sets
        lengths = np.cumsum([len(s) for s in sets])[:-1]
        projected = np.split(self.pca_.transform(np.vstack(sets)), lengths)
        copy_names(sets, projected)
        return projected

    def fit(self, X, y=None):
        """Validate the sets and fit the optional PCA on all training frames.

        Parameters
        ----------
        X : list of ndarray of shape (n_frames_i, n_features)
            Training image sets.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted model.
        """
        sets = check_image_sets(X, min_frames=self.min_frames)
        self._fit_pca(sets)
        self._check_fit_params()
        return self

    def _check_fit_params(self):
        pass

    def transform(self, X):
        """Summarise each image set by one matrix.

        Parameters
        ----------
        X : list of ndarray of shape (n_frames_i, n_features)
            Image sets.

        Returns
        -------
        M : ndarray
            Stacked set summaries (see the class docstring for the shape).
        """
        check_is_fitted(self)
        sets = check_image_sets(X, n_features=self.n_features_in_, min_frames=self.min_frames)
        return self._summarise(self._project(sets))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags


class SubspaceModel(_BaseSetModel):
    """Linear subspace of an image set: a point on the Grassmann manifold.

    Each set is summarised by the orthonormal basis of the top ``n_dims`` left singular
    vectors of its (uncentred) ``(d, n_frames)`` data matrix [1]_, [2]_.

    A set whose frames span fewer than ``n_dims`` dimensions (fewer frames than ``n_dims``,
    or linearly dependent frames) gets a smaller basis whose missing columns are **zero**:
    the output shape stays ``(d, n_dims)``, the projector ``U U^T`` is that of the smaller
    subspace, and the projection kernels stay positive semi-definite (they are inner
    products of projectors).  A :class:`UserWarning` lists the affected sets.

    Parameters
    ----------
    n_dims : int, default=10
        Subspace dimension (``1 <= n_dims <= d``).
    n_pca : int or None, default=None
        If set, reduce frames to ``n_pca`` dimensions with a PCA fitted on all training
        frames first.
    random_state : int, RandomState instance or None, default=None
        Seed for the PCA solver.

    Attributes
    ----------
    n_features_in_ : int
        Number of features of each frame seen in ``fit``.
    n_features_out_ : int
        ``d``: ``n_pca`` or ``n_features_in_``.
    pca_ : PCA or None
        The fitted PCA.
    ranks_ : ndarray of shape (n_training_sets,)
        Ranks of the bases of the training sets (``n_dims`` unless a set is short).

    References
    ----------
    .. [1] J. Hamm and D. D. Lee, "Grassmann discriminant analysis: a unifying view on
       subspace-based learning", ICML 2008.
    .. [2] M. Liu et al., "Combining multiple kernel methods on Riemannian manifold for
       emotion recognition in the wild", ICMI 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.sets.imagesets import SubspaceModel
    >>> rng = np.random.default_rng(0)
    >>> sets = [rng.normal(size=(n, 6)) for n in (8, 12, 9)]
    >>> SubspaceModel(n_dims=3).fit_transform(sets).shape
    (3, 6, 3)
    """

    def __init__(self, n_dims=10, *, n_pca=None, random_state=None):
        self.n_dims = n_dims
        self.n_pca = n_pca
        self.random_state = random_state

    @property
    def informative_frames(self):
        """``n_dims``: a basis of ``n_dims`` directions needs as many frames (fewer are padded
        with zeros). On the 22 CREMA-D clips (n_dims=10), the scores of clips cut to 2-6
        frames do not follow their full-length scores (correlation -0.13 to 0.11); from 8
        frames they do (0.57, 0.82 at 12)."""
        return max(self.min_frames, int(self.n_dims))

    def _check_fit_params(self):
        n_dims = self.n_dims
        if (
            not isinstance(n_dims, numbers.Integral)
            or isinstance(n_dims, bool)
            or not 1 <= n_dims <= self.n_features_out_
        ):
            raise ValueError(
                f"n_dims must be an integer in [1, {self.n_features_out_}] (the feature "
                f"dimension after PCA); got {n_dims!r}."
            )

    def _bases(self, sets):
        out = np.empty((len(sets), self.n_features_out_, self.n_dims))
        ranks = np.empty(len(sets), dtype=int)
        for i, s in enumerate(sets):
            out[i], ranks[i] = orthonormal_basis(s, self.n_dims)
        # each clip once per extraction (sets from emoset.video.extract carry their clip id), not
        # once per inner fold; sets without a clip id are named by their position
        short = unreported(sets, np.flatnonzero(ranks < self.n_dims), f"rank<{self.n_dims}")
        if short:
            shown = ", ".join(f"{set_label(sets[i], i)} (rank {ranks[i]})" for i in short[:10])
            more = f" and {len(short) - 10} more" if len(short) > 10 else ""
            warn_caller(
                f"{_plural(len(short), 'image set')} "
                f"{'spans' if len(short) == 1 else 'span'} fewer than n_dims={self.n_dims} "
                f"dimensions: {shown}{more}; the missing basis columns are zero.",
            )
        return out, ranks

    def _summarise(self, sets):
        return self._bases(sets)[0]

    def fit(self, X, y=None):
        """Validate the sets, fit the optional PCA and record the training ranks.

        Parameters
        ----------
        X : list of ndarray of shape (n_frames_i, n_features)
            Training image sets.
        y : None
            Ignored.

        Returns
        -------
        self : SubspaceModel
            The fitted model.
        """
        self._fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit and return the training bases (computed once).

        Parameters
        ----------
        X : list of ndarray of shape (n_frames_i, n_features)
            Training image sets.
        y : None
            Ignored.

        Returns
        -------
        U : ndarray of shape (n_sets, d, n_dims)
            Orthonormal bases (zero-padded for short sets).
        """
        return self._fit_transform(X)

    def _fit_transform(self, X):
        sets = check_image_sets(X, min_frames=self.min_frames)
        self._fit_pca(sets)
        self._check_fit_params()
        bases, self.ranks_ = self._bases(self._project(sets))
        return bases


class CovarianceModel(_BaseSetModel):
    """Shrinkage covariance of an image set: a point on the SPD manifold.

    ``Sigma = (1 - a) S + a (tr S / d) I + reg (tr S / d) I`` where ``S`` is the sample
    covariance and ``a`` the Ledoit-Wolf (or a fixed) shrinkage, so that sets with as few as
    2 frames (rank-1 ``S``) still give well-conditioned SPD matrices [1]_, [3]_.

    Parameters
    ----------
    shrinkage : "ledoit-wolf" or float in [0, 1], default="ledoit-wolf"
        Shrinkage towards the scaled identity.
    reg : float, default=1e-6
        Relative ridge added to the diagonal.
    n_pca : int or None, default=None
        If set, reduce frames to ``n_pca`` dimensions with a PCA fitted on all training
        frames first (recommended for ``d > 64``: ``Sigma`` has ``d (d + 1) / 2`` entries).
    random_state : int, RandomState instance or None, default=None
        Seed for the PCA solver.

    Attributes
    ----------
    n_features_in_ : int
        Number of features of each frame seen in ``fit``.
    n_features_out_ : int
        ``d``: ``n_pca`` or ``n_features_in_``.
    pca_ : PCA or None
        The fitted PCA.

    Notes
    -----
    Every set needs at least 2 frames.

    References
    ----------
    .. [1] M. Liu et al., "Combining multiple kernel methods on Riemannian manifold for
       emotion recognition in the wild", ICMI 2014.
    .. [2] V. Arsigny et al., "Log-Euclidean metrics for fast and simple calculus on
       diffusion tensors", Magnetic Resonance in Medicine, 2006.
    .. [3] O. Ledoit and M. Wolf, "A well-conditioned estimator for large-dimensional
       covariance matrices", J. Multivariate Analysis, 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.sets.imagesets import CovarianceModel
    >>> rng = np.random.default_rng(0)
    >>> C = CovarianceModel().fit_transform([rng.normal(size=(2, 4)), rng.normal(size=(9, 4))])
    >>> bool((np.linalg.eigvalsh(C) > 0).all())
    True
    """

    min_frames = 2

    def __init__(self, shrinkage="ledoit-wolf", *, reg=1e-6, n_pca=None, random_state=None):
        self.shrinkage = shrinkage
        self.reg = reg
        self.n_pca = n_pca
        self.random_state = random_state

    @property
    def informative_frames(self):
        """3 with Ledoit-Wolf shrinkage, else 2. With two frames the Ledoit-Wolf estimate
        shrinks all the way to a scaled identity: on the 22 CREMA-D clips every two-frame set
        got the same scores (their spread 0.00 of the full-length one); from three frames
        they differ (0.80, correlation with the full-length scores 0.59)."""
        if isinstance(self.shrinkage, str) and self.shrinkage == "ledoit-wolf":
            return 3
        return self.min_frames

    def _check_fit_params(self):
        _check_shrinkage(self.shrinkage, self.reg)

    def _covariances(self, sets):
        d = self.n_features_out_
        covs = np.empty((len(sets), d, d))
        means = np.empty((len(sets), d))
        for i, s in enumerate(sets):
            covs[i], means[i] = shrunk_covariance(s, shrinkage=self.shrinkage, reg=self.reg)
        return covs, means

    def _summarise(self, sets):
        return self._covariances(sets)[0]


def _check_shrinkage(shrinkage, reg):
    if isinstance(shrinkage, str):
        if shrinkage != "ledoit-wolf":
            raise ValueError(
                f"shrinkage must be 'ledoit-wolf' or a float in [0, 1]; got {shrinkage!r}."
            )
    elif not isinstance(shrinkage, numbers.Real) or not 0.0 <= shrinkage <= 1.0:
        raise ValueError(
            f"shrinkage must be 'ledoit-wolf' or a float in [0, 1]; got {shrinkage!r}."
        )
    if not isinstance(reg, numbers.Real) or not reg >= 0:
        raise ValueError(f"reg must be a non-negative float; got {reg!r}.")


class GaussianModel(CovarianceModel):
    """Gaussian ``N(mu, Sigma)`` of an image set, embedded as an SPD ``(d+1) x (d+1)`` matrix.

    ``P = [[Sigma + mu mu^T, mu], [mu^T, 1]]`` (Lovric et al. [1]_), optionally scaled by
    ``|Sigma|^(-1/(d+1))`` (``det_normalize=True``) so that ``det P = 1``.  ``Sigma`` is the
    shrinkage covariance of :class:`CovarianceModel`.  The default keeps the plain
    embedding, whose determinant (the set's spread) stays available to the kernel; the
    normalised form is the one of Wang et al. [2]_ and Liu et al. [3]_.

    Parameters
    ----------
    shrinkage : "ledoit-wolf" or float in [0, 1], default="ledoit-wolf"
        Shrinkage of the covariance towards the scaled identity.
    reg : float, default=1e-6
        Relative ridge added to the covariance diagonal.
    det_normalize : bool, default=False
        Scale the embedding by ``|Sigma|^(-1/(d+1))``.
    n_pca : int or None, default=None
        If set, reduce frames to ``n_pca`` dimensions with a PCA fitted on all training
        frames first.
    random_state : int, RandomState instance or None, default=None
        Seed for the PCA solver.

    Attributes
    ----------
    n_features_in_ : int
        Number of features of each frame seen in ``fit``.
    n_features_out_ : int
        ``d``: ``n_pca`` or ``n_features_in_`` (the output matrices are ``d + 1`` square).
    pca_ : PCA or None
        The fitted PCA.

    References
    ----------
    .. [1] M. Lovric, M. Min-Oo and E. A. Ruh, "Multivariate normal distributions
       parametrized as a Riemannian symmetric space", J. Multivariate Analysis, 2000.
    .. [2] W. Wang et al., "Discriminant analysis on Riemannian manifold of Gaussian
       distributions for face recognition with image sets", CVPR 2015.
    .. [3] M. Liu et al., "Combining multiple kernel methods on Riemannian manifold for
       emotion recognition in the wild", ICMI 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.sets.imagesets import GaussianModel
    >>> rng = np.random.default_rng(0)
    >>> GaussianModel().fit_transform([rng.normal(size=(5, 4)), rng.normal(size=(7, 4))]).shape
    (2, 5, 5)
    """

    def __init__(
        self,
        shrinkage="ledoit-wolf",
        *,
        reg=1e-6,
        det_normalize=False,
        n_pca=None,
        random_state=None,
    ):
        self.shrinkage = shrinkage
        self.reg = reg
        self.det_normalize = det_normalize
        self.n_pca = n_pca
        self.random_state = random_state

    def _summarise(self, sets):
        covs, means = self._covariances(sets)
        return gaussian_embedding(means, covs, det_normalize=bool(self.det_normalize))


class MeanModel(_BaseSetModel):
    """Mean frame of an image set (the Euclidean baseline).

    Parameters
    ----------
    n_pca : int or None, default=None
        If set, reduce frames to ``n_pca`` dimensions with a PCA fitted on all training
        frames first.
    random_state : int, RandomState instance or None, default=None
        Seed for the PCA solver.

    Attributes
    ----------
    n_features_in_ : int
        Number of features of each frame seen in ``fit``.
    n_features_out_ : int
        ``d``: ``n_pca`` or ``n_features_in_``.
    pca_ : PCA or None
        The fitted PCA.

    References
    ----------
    .. [1] W. Ding et al., "Audio and face video emotion recognition in the wild using deep
       neural networks and small datasets", ICMI 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.sets.imagesets import MeanModel
    >>> MeanModel().fit_transform([np.ones((3, 2)), np.zeros((4, 2))])
    array([[1., 1.],
           [0., 0.]])
    """

    def __init__(self, n_pca=None, *, random_state=None):
        self.n_pca = n_pca
        self.random_state = random_state

    def _summarise(self, sets):
        return np.stack([s.mean(axis=0) for s in sets])


def _moment_dims(n_values):
    """``d`` of moment rows of ``1 + d + d (d + 1) / 2`` values (``None`` if no ``d`` fits)."""
    d = int(round((-3 + np.sqrt(9 + 8 * (n_values - 1))) / 2))
    return d if d >= 1 and 1 + d + d * (d + 1) // 2 == n_values else None


class GaussianMomentEmbedding(TransformerMixin, BaseEstimator):
    """Rows of set moments -> log-Euclidean vectors of the sets' Gaussians.

    Each input row holds one set's frame count ``n``, mean and covariance (upper triangle,
    row by row, divided by ``n``), as :func:`emoset.audio.moments.frame_moments` gives them.
    ``fit`` learns each feature's mean and standard deviation over the training sets' frames
    (every set weighing the same: the mean of the sets' means, and the deviation around it
    from their second moments). ``transform`` standardises every set's Gaussian with them,
    shrinks its covariance with the Oracle Approximating Shrinkage rule [1]_ (computed from the
    covariance and ``n``: the value :func:`sklearn.covariance.oas` gives on the frames), adds
    ``reg`` times the mean variance to the diagonal, embeds ``N(mu, Sigma)`` as
    ``[[Sigma + mu mu^T, mu], [mu^T, 1]]`` (:func:`~emoset.sets.geometry.gaussian_embedding`)
    and returns its matrix logarithm half-vectorised
    (:func:`~emoset.sets.geometry.log_vectors`): ``(d + 1) (d + 2) / 2`` values. An RBF
    kernel on these vectors, as they are, is the log-Euclidean RBF kernel of
    :class:`~emoset.sets.imagesets.GaussianModel` image sets (with OAS shrinkage in place of
    its default Ledoit-Wolf, which needs the frames); the speech pipeline standardises each
    coordinate before its SVM, which changes that geometry.

    Rows holding NaN (sets that abstain) stay NaN rows.

    Parameters
    ----------
    reg : float, default=1e-6
        Relative ridge added to the covariance diagonal.

    Attributes
    ----------
    n_dims_ : int
        ``d``, the features of a frame.
    mean_, scale_ : ndarray of shape (d,)
        The training frames' mean and standard deviation.

    References
    ----------
    .. [1] Y. Chen, A. Wiesel, Y. C. Eldar and A. O. Hero, "Shrinkage algorithms for MMSE
       covariance estimation", IEEE Trans. Signal Processing 58(10), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.audio.moments import frame_moments
    >>> rng = np.random.default_rng(0)
    >>> rows = np.array([frame_moments(rng.normal(size=(50, 3))) for _ in range(4)])
    >>> GaussianMomentEmbedding().fit_transform(rows).shape
    (4, 10)
    """

    def __init__(self, reg=1e-6):
        self.reg = reg

    def _check_params(self):
        from sklearn.utils import check_scalar

        check_scalar(self.reg, "reg", numbers.Real, min_val=0.0)

    def _moments(self, X):
        X = np.asarray(X, dtype=np.float64)
        d = _moment_dims(X.shape[1]) if X.ndim == 2 else None
        if d is None:
            raise ValueError(
                "X must hold one row of moments per set, 1 + d + d (d + 1) / 2 values "
                f"(frame count, mean, covariance); got shape {X.shape}."
            )
        ok = np.all(np.isfinite(X), axis=1)
        n = X[:, 0]
        means = X[:, 1 : 1 + d]
        cov = np.zeros((len(X), d, d))
        rows, cols = np.triu_indices(d)
        cov[:, rows, cols] = X[:, 1 + d :]
        cov[:, cols, rows] = X[:, 1 + d :]
        return ok, n, means, cov, d

    def fit(self, X, y=None):
        """Learn the frames' mean and standard deviation from the training sets' moments.

        Parameters
        ----------
        X : array-like of shape (n_sets, 1 + d + d (d + 1) / 2)
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        ok, _, means, cov, d = self._moments(X)
        if not ok.any():
            raise ValueError(
                f"GaussianMomentEmbedding needs at least one set without NaN; all {len(ok)} "
                "rows hold NaN (every set abstained)."
            )
        mean = means[ok].mean(axis=0)
        second = (np.diagonal(cov[ok], axis1=1, axis2=2) + means[ok] ** 2).mean(axis=0)
        scale = np.sqrt(np.maximum(second - mean**2, 0.0))
        scale[scale < 1e-12] = 1.0
        self.n_dims_, self.mean_, self.scale_ = d, mean, scale
        self.n_features_in_ = X.shape[1] if hasattr(X, "shape") else len(X[0])
        return self

    def transform(self, X):
        """The log-Euclidean vectors of the sets' standardised Gaussians.

        Parameters
        ----------
        X : array-like of shape (n_sets, 1 + d + d (d + 1) / 2)

        Returns
        -------
        vectors : ndarray of shape (n_sets, (d + 1) (d + 2) / 2)
            NaN rows where a row of ``X`` holds NaN.
        """
        check_is_fitted(self)
        ok, n, means, cov, d = self._moments(X)
        if d != self.n_dims_:
            raise ValueError(f"X holds moments of {d} features; fitted on {self.n_dims_}.")
        out = np.full((len(ok), (d + 1) * (d + 2) // 2), np.nan)
        if not ok.any():
            return out
        mu = (means[ok] - self.mean_) / self.scale_
        S = cov[ok] / self.scale_[None, :, None] / self.scale_[None, None, :]
        # Oracle Approximating Shrinkage towards the scaled identity (as sklearn's oas)
        trace = np.trace(S, axis1=1, axis2=2) / d
        alpha = np.mean(S**2, axis=(1, 2))
        den = (n[ok] + 1) * (alpha - trace**2 / d)
        shrink = np.where(den > 0, np.minimum((alpha + trace**2) / np.where(den > 0, den, 1), 1), 1)
        S = (1 - shrink)[:, None, None] * S
        S[:, np.arange(d), np.arange(d)] += ((shrink + float(self.reg)) * trace + _ABS_FLOOR)[
            :, None
        ]
        out[ok] = log_vectors(gaussian_embedding(mu, S))
        return out
