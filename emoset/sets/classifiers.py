"""The image-set classifier users import: set model -> manifold kernel -> PLS / SVM / LR.

:class:`ImageSetPLS` takes a list of per-clip frame-feature arrays ``(n_frames_i, d)`` and
chains an image-set model (:mod:`emoset.sets.imagesets`), the matching manifold kernel
(:mod:`emoset.sets.kernels`) and a kernel classifier: one-vs-rest PLS
(:class:`~emoset.sets.pls.OneVsRestPLSClassifier`, the model of Liu et al. 2014), a kernel SVM
(``SVC(kernel="precomputed")``) or a logistic regression on standardised kernel rows, for the papers'
PLS vs SVM vs LR comparison.  :func:`make_imageset_pipeline` returns the same chain as a plain
:class:`~sklearn.pipeline.Pipeline`.

==============  =================================  ===========================
``set_model``   summary                            kernel
==============  =================================  ===========================
"subspace"      :class:`SubspaceModel`             :class:`ProjectionKernel`
"covariance"    :class:`CovarianceModel`           :class:`LogEuclideanKernel`
"gaussian"      :class:`GaussianModel`             :class:`LogEuclideanKernel`
"mean"          :class:`MeanModel`                 :class:`EuclideanKernel`
==============  =================================  ===========================

References
----------
.. [1] M. Liu, R. Wang, S. Li, S. Shan, Z. Huang and X. Chen, "Combining multiple kernel
   methods on Riemannian manifold for emotion recognition in the wild", ICMI 2014.
.. [2] W. Ding, M. Xu, D. Huang, W. Lin, M. Dong, X. Yu and H. Li, "Audio and face video
   emotion recognition in the wild using deep neural networks and small datasets",
   ICMI 2016.
.. [3] J. Hamm and D. D. Lee, "Grassmann discriminant analysis", ICML 2008.
.. [4] V. Arsigny et al., "Log-Euclidean metrics for fast and simple calculus on diffusion
   tensors", Magnetic Resonance in Medicine, 2006.
.. [5] S. Jayasumana et al., "Kernel methods on Riemannian manifolds with Gaussian RBF
   kernels", IEEE TPAMI, 2015.
"""

import logging

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..utils.messages import summarise, warn_caller
from ..utils.validation import check_choice
from .imagesets import CovarianceModel, GaussianModel, MeanModel, SubspaceModel, check_image_sets
from .kernels import EuclideanKernel, KernelRowScaler, LogEuclideanKernel, ProjectionKernel
from .pls import OneVsRestPLSClassifier

logger = logging.getLogger(__name__)

__all__ = ["ImageSetPLS", "make_imageset_pipeline", "SET_MODELS", "CLASSIFIERS"]

#: Set-model name -> (set model class, kernel class).
SET_MODELS = {
    "subspace": (SubspaceModel, ProjectionKernel),
    "covariance": (CovarianceModel, LogEuclideanKernel),
    "gaussian": (GaussianModel, LogEuclideanKernel),
    "mean": (MeanModel, EuclideanKernel),
}

#: Names of the kernel classifiers.
CLASSIFIERS = ("pls", "svm", "lr")


def make_imageset_pipeline(
    set_model="subspace",
    *,
    kernel="linear",
    classifier="pls",
    n_components=10,
    n_dims=10,
    n_pca=None,
    shrinkage="ledoit-wolf",
    det_normalize=False,
    gamma=None,
    degree=2,
    coef0=1.0,
    scale=False,
    pls_strategy="ovr",
    pls_backend="ikpls",
    C=1.0,
    n_landmarks=None,
    memory=None,
    random_state=None,
):
    """Build the pipeline ``set model -> manifold kernel -> kernel classifier``.

    Parameters are those of :class:`ImageSetPLS`.

    Returns
    -------
    pipeline : Pipeline
        Steps ``"model"``, ``"kernel"`` and ``"clf"``; ``memory`` caches the first two (the
        kernel matrix), so a grid search over classifier parameters computes it once per fold.
        With ``n_landmarks`` the kernel step gives Nyström features and the SVM is
        ``SVC(kernel="linear")`` on the feature map.

    Raises
    ------
    ValueError
        For an unknown ``set_model`` or ``classifier``.

    Examples
    --------
    >>> from emoset.sets.classifiers import make_imageset_pipeline
    >>> pipe = make_imageset_pipeline("covariance", kernel="rbf", classifier="svm")
    >>> [name for name, _ in pipe.steps]
    ['model', 'kernel', 'clf']
    """
    check_choice("set_model", set_model, SET_MODELS)
    check_choice("classifier", classifier, CLASSIFIERS)
    model_cls, kernel_cls = SET_MODELS[set_model]
    if set_model == "subspace":
        model = SubspaceModel(n_dims=n_dims, n_pca=n_pca, random_state=random_state)
    elif set_model == "covariance":
        model = CovarianceModel(shrinkage, n_pca=n_pca, random_state=random_state)
    elif set_model == "gaussian":
        model = GaussianModel(
            shrinkage, det_normalize=det_normalize, n_pca=n_pca, random_state=random_state
        )
    else:
        model = MeanModel(n_pca, random_state=random_state)
    nystroem_svm = classifier == "svm" and n_landmarks is not None
    kern = kernel_cls(
        kernel,
        gamma=gamma,
        degree=degree,
        coef0=coef0,
        n_landmarks=n_landmarks,
        output="features" if nystroem_svm else "rows",
        random_state=random_state,
    )
    if classifier == "pls":
        clf = OneVsRestPLSClassifier(
            n_components, scale=scale, strategy=pls_strategy, backend=pls_backend
        )
    elif classifier == "svm":
        svm_kernel = "linear" if nystroem_svm else "precomputed"
        clf = SVC(C=C, kernel=svm_kernel, random_state=random_state)
    else:
        # kernel rows sit far from zero (the linear log-Euclidean kernel reaches 1e3): centred
        # and scaled, the solver converges instead of stopping at its iteration limit; one
        # scale for all columns keeps LR on Nyström coordinates the LR on the kernel rows
        clf = Pipeline(
            [("scale", KernelRowScaler()), ("lr", LogisticRegression(C=C, max_iter=2000))]
        )
    return Pipeline([("model", model), ("kernel", kern), ("clf", clf)], memory=memory)


class ImageSetPLS(ClassifierMixin, BaseEstimator):
    """Emotion classifier on image sets: set model, manifold kernel, PLS (or SVM / LR).

    Parameters
    ----------
    set_model : {"subspace", "covariance", "gaussian", "mean"}, default="subspace"
        How each set is summarised (the kernel family follows, see the module docstring).
    kernel : {"linear", "poly", "rbf"}, default="linear"
        Kernel form on the manifold embedding.
    n_components : int, default=10
        PLS latent components (``classifier="pls"``).
    n_dims : int, default=10
        Subspace dimension (``set_model="subspace"``).
    n_pca : int or None, default=None
        PCA dimension fitted on the training frames before the set model (``None``: none).
    shrinkage : "ledoit-wolf" or float, default="ledoit-wolf"
        Covariance shrinkage (``"covariance"`` and ``"gaussian"``).
    det_normalize : bool, default=False
        ``|Sigma|^(-1/(d+1))`` scaling of the Gaussian embedding.
    gamma : float or None, default=None
        Scale of the "poly"/"rbf" kernels; ``None`` picks it from the training data.
    degree : int, default=2
        Degree of the "poly" kernel.
    coef0 : float, default=1.0
        Offset of the "poly" kernel.
    classifier : {"pls", "svm", "lr"}, default="pls"
        One-vs-rest PLS on kernel rows, ``SVC(kernel="precomputed")``, or multinomial
        logistic regression on kernel rows (standardised first, inside the classifier step).
    scale : bool, default=False
        Scale kernel columns inside PLS.
    pls_strategy : {"ovr", "pls2"}, default="ovr"
        One PLS1 per class, or one PLS2 on the one-hot matrix (shared latent space).
    pls_backend : {"ikpls", "sklearn"}, default="ikpls"
        PLS engine (same model; ikpls is faster).
    C : float, default=1.0
        Inverse regularisation of the SVM and the logistic regression.
    n_landmarks : None, int or "auto", default=None
        ``None``: the exact kernel (an ``n x n`` Gram matrix).  An integer ``m``: the
        Nyström approximation on ``m`` landmark sets drawn with ``random_state``, and the
        classifier fitted on ``n x m`` features (time and memory linear in ``n``; see
        :mod:`emoset.sets.kernels`).  ``"auto"``: exact up to
        :data:`~emoset.sets.kernels.AUTO_EXACT_MAX` training sets, Nyström with
        :data:`~emoset.sets.kernels.AUTO_LANDMARKS` landmarks above.
    memory : str, joblib.Memory or None, default=None
        Cache of the set-model and kernel steps (see :class:`~sklearn.pipeline.Pipeline`).
    random_state : int, RandomState instance or None, default=None
        Seed of the PCA solver, the landmark draw and the SVM.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features of each frame.
    pipeline_ : Pipeline
        The fitted ``model -> kernel -> clf`` pipeline.

    Notes
    -----
    With ``n_landmarks >= n_sets`` (every training set a landmark) PLS and LR give the exact
    model's scores up to round-off; with fewer landmarks they are the models on the
    Nyström-approximated kernel rows (PLS with ``scale=True`` is not invariant to that
    change of coordinates, so leave ``scale`` off with landmarks).  The SVM on the Nyström
    feature map is the kernel SVM on the approximated kernel.

    ``predict_proba`` is the softmax of the per-class scores for ``"pls"`` and ``"svm"``
    (uncalibrated: it ranks like ``decision_function``; use
    :class:`~sklearn.calibration.CalibratedClassifierCV` for calibrated probabilities), and
    the logistic model's own probabilities for ``"lr"``.  :meth:`latent_scores` gives the
    PLS ``x_scores`` of new sets (first 2 dimensions by default) for a 2-D emotion map; use
    ``pls_strategy="pls2"`` for one latent space shared by all emotions.

    References
    ----------
    .. [1] M. Liu et al., "Combining multiple kernel methods on Riemannian manifold for
       emotion recognition in the wild", ICMI 2014.
    .. [2] W. Ding et al., "Audio and face video emotion recognition in the wild using deep
       neural networks and small datasets", ICMI 2016.
    .. [3] J. Hamm and D. D. Lee, "Grassmann discriminant analysis", ICML 2008.
    .. [4] V. Arsigny et al., "Log-Euclidean metrics for fast and simple calculus on
       diffusion tensors", Magnetic Resonance in Medicine, 2006.
    .. [5] S. Jayasumana et al., "Kernel methods on the Riemannian manifold of symmetric
       positive definite matrices", CVPR 2013; IEEE TPAMI, 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from emoset.sets.classifiers import ImageSetPLS
    >>> rng = np.random.default_rng(0)
    >>> sets = [rng.normal(loc=c, size=(rng.integers(5, 15), 6)) for c in (0, 1) * 10]
    >>> y = np.array([0, 1] * 10)
    >>> clf = ImageSetPLS("mean", n_components=2).fit(sets, y)
    >>> clf.score(sets, y)
    1.0
    """

    def __init__(
        self,
        set_model="subspace",
        *,
        kernel="linear",
        n_components=10,
        n_dims=10,
        n_pca=None,
        shrinkage="ledoit-wolf",
        det_normalize=False,
        gamma=None,
        degree=2,
        coef0=1.0,
        classifier="pls",
        scale=False,
        pls_strategy="ovr",
        pls_backend="ikpls",
        C=1.0,
        n_landmarks=None,
        memory=None,
        random_state=None,
    ):
        self.set_model = set_model
        self.kernel = kernel
        self.n_components = n_components
        self.n_dims = n_dims
        self.n_pca = n_pca
        self.shrinkage = shrinkage
        self.det_normalize = det_normalize
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.classifier = classifier
        self.scale = scale
        self.pls_strategy = pls_strategy
        self.pls_backend = pls_backend
        self.C = C
        self.n_landmarks = n_landmarks
        self.memory = memory
        self.random_state = random_state

    def _make_pipeline(self):
        params = self.get_params()
        set_model = params.pop("set_model")
        return make_imageset_pipeline(set_model, **params)

    def fit(self, X, y):
        """Summarise the training sets, compute their Gram matrix and fit the classifier.

        Parameters
        ----------
        X : list of ndarray of shape (n_frames_i, n_features)
            Training image sets.
        y : array-like of shape (n_sets,)
            Emotion labels.

        Returns
        -------
        self : ImageSetPLS
            The fitted classifier.

        Raises
        ------
        TypeError, ValueError
            For a malformed list of sets (naming the set), or mismatching ``y``.
        """
        pipeline = self._make_pipeline()
        min_frames = pipeline.named_steps["model"].min_frames
        sets = check_image_sets(X, min_frames=min_frames)
        y = column_or_1d(y, warn=True)
        if len(y) != len(sets):
            raise ValueError(f"Got {len(sets)} image sets but {len(y)} labels; expected equal.")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(
                f"ImageSetPLS needs sets of at least 2 classes; got 1 class ({self.classes_[0]!r})."
            )
        self.pipeline_ = pipeline.fit(sets, y)
        self.n_features_in_ = sets[0].shape[1]
        return self

    def informative_frames(self):
        """Fewest frames a set needs to be scored on what it shows (its set model's
        ``informative_frames``); no fit needed.

        Returns
        -------
        n : int
        """
        return int(self._make_pipeline().named_steps["model"].informative_frames)

    def _check_sets(self, X):
        check_is_fitted(self)
        model = self.pipeline_.named_steps["model"]
        sets = check_image_sets(X, n_features=self.n_features_in_, min_frames=model.min_frames)
        need = int(model.informative_frames)
        few = [i for i, s in enumerate(sets) if len(s) < need]
        if few:
            warn_caller(
                f"ImageSetPLS: {len(few)} of {len(sets)} image sets have fewer than {need} "
                f"frames (sets {summarise(few)}), the fewest the {self.set_model} set model "
                "tells apart: their scores are nearly the same whatever the frames show. "
                "AbstainingClassifier(ImageSetPLS(...)) abstains on them instead."
            )
        return sets

    def predict(self, X):
        """Predict the emotion of each image set.

        Parameters
        ----------
        X : list of ndarray of shape (n_frames_i, n_features)
            Image sets.

        Returns
        -------
        y_pred : ndarray of shape (n_sets,)
            Labels.
        """
        sets = self._check_sets(X)
        return self.pipeline_.predict(sets)

    def decision_function(self, X):
        """Per-class scores (one column for two classes, as in scikit-learn).

        Parameters
        ----------
        X : list of ndarray of shape (n_frames_i, n_features)
            Image sets.

        Returns
        -------
        scores : ndarray of shape (n_sets, n_classes) or (n_sets,)
            Scores from the PLS regressions, the SVM or the logistic regression.
        """
        sets = self._check_sets(X)
        return self.pipeline_.decision_function(sets)

    def predict_proba(self, X):
        """Class probabilities (softmax of scores for PLS and SVM; see Notes).

        Parameters
        ----------
        X : list of ndarray of shape (n_frames_i, n_features)
            Image sets.

        Returns
        -------
        proba : ndarray of shape (n_sets, n_classes)
            Rows sum to 1, ordered as ``classes_``.
        """
        sets = self._check_sets(X)
        if self.classifier in ("pls", "lr"):
            return self.pipeline_.predict_proba(sets)
        scores = self.pipeline_.decision_function(sets)
        if scores.ndim == 1:
            scores = np.column_stack([-0.5 * scores, 0.5 * scores])
        return softmax(scores, axis=1)

    def kernel_features(self, X):
        """The classifier's input for image sets: kernel rows or Nyström features.

        Parameters
        ----------
        X : list of ndarray of shape (n_frames_i, n_features)
            Image sets.

        Returns
        -------
        features : ndarray of shape (n_sets, n_columns)
            Exact kernel rows ``K(X, training sets)`` (``n_columns`` = number of training
            sets), or with ``n_landmarks`` the ``r <= n_landmarks`` Nyström features
            (approximate kernel rows in landmark coordinates; the feature map for "svm").

        Notes
        -----
        Not named ``embedding``: :class:`~emoset.decision.abstain.AbstainingClassifier` looks for that
        method for the vectors the manifold kernels are computed from (its distance check).
        """
        sets = self._check_sets(X)
        return self.pipeline_[:-1].transform(sets)

    def latent_scores(self, X, n_components=2):
        """PLS latent scores (``x_scores``) of image sets, e.g. for a 2-D emotion map.

        Parameters
        ----------
        X : list of ndarray of shape (n_frames_i, n_features)
            Image sets.
        n_components : int or None, default=2
            Leading latent dimensions to keep (``None``: all).

        Returns
        -------
        T : ndarray of shape (n_sets, n_models, n_components)
            ``n_models`` is 1 with ``pls_strategy="pls2"`` (one shared space) and
            ``n_classes`` with "ovr" (class ``c``'s own PLS scores at ``T[:, c]``).

        Raises
        ------
        ValueError
            If the classifier is not PLS.
        """
        sets = self._check_sets(X)
        if self.classifier != "pls":
            raise ValueError(
                f"latent_scores needs classifier='pls'; this model uses {self.classifier!r}."
            )
        return self.pipeline_[-1].latent_scores(
            self.pipeline_[:-1].transform(sets), n_components=n_components
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
