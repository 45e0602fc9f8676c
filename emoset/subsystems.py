"""The recognizer's subsystems: each a Pipeline ``clips -> features -> abstaining classifier``.

One route for features, video and audio alike:

* video: ``ImageSetFeatures(frame feature)`` (decode, align, featurise every frame; cached) ->
  ``AbstainingClassifier(ImageSetPLS(...), min_set_size=2)``;
* audio: ``OpenSmileFeatures`` / ``LibrosaFeatures`` (decode, band-limit, functionals; cached)
  -> ``StandardScaler`` -> ``AbstainingClassifier(SVC(...))`` (:func:`~emoset.audio.make_audio_pipeline`).

This module is the one home of the default candidates (the set models of Liu et al. 2014 for
video, three feature sets for audio) that the recognizer, the command line and the
reproduction scripts share.
"""

from __future__ import annotations

from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from .abstain import AbstainingClassifier
from .audio import make_audio_pipeline
from .classifiers import ImageSetPLS
from .extract import ImageSetFeatures
from .imagesets import MeanModel

__all__ = [
    "MIN_FACES",
    "VIDEO_FEATURES",
    "default_audio_subsystems",
    "default_video_subsystems",
    "landmarks_video_subsystems",
    "make_video_pipeline",
    "multiple_kernel_video_subsystems",
    "video_candidates",
]

#: Fewest aligned faces a clip needs for the video subsystems to score it (a covariance needs
#: two); with fewer (no face found, one face, unreadable video) they abstain for that clip.
MIN_FACES = 2

#: Frame features of the default video subsystems.
VIDEO_FEATURES = ("densesift", "cnn")

#: Out-of-distribution quantile of the default subsystems (see
#: :class:`~emoset.abstain.AbstainingClassifier`).
OOD_QUANTILE = 0.99


def make_video_pipeline(
    feature="cnn",
    classifier=None,
    *,
    aligner=None,
    fps=None,
    ood_quantile=OOD_QUANTILE,
    cache_dir=None,
    n_jobs=None,
    verbose=0,
):
    """A video subsystem: clips -> image sets of a frame feature -> an image-set classifier.

    Parameters
    ----------
    feature : str or transformer, default="cnn"
        Frame feature (see :func:`emoset.extract.make_frame_features`).
    classifier : estimator or None
        Takes image sets (e.g. :class:`~emoset.ImageSetPLS`); default
        ``ImageSetPLS("gaussian", kernel="rbf", n_pca=32)``.
    aligner, fps, cache_dir, n_jobs, verbose
        Of :class:`~emoset.extract.ImageSetFeatures`.
    ood_quantile : float or None, default=0.99
        Out-of-distribution check (see :class:`~emoset.abstain.AbstainingClassifier`).

    Returns
    -------
    pipeline : Pipeline
        Steps ``"features"`` and ``"clf"`` (an :class:`~emoset.abstain.AbstainingClassifier`
        that abstains on clips with fewer than :data:`MIN_FACES` aligned faces).

    Examples
    --------
    >>> pipe = make_video_pipeline("hog", ImageSetPLS("covariance", kernel="rbf", n_pca=16))
    >>> [name for name, _ in pipe.steps]
    ['features', 'clf']
    """
    if classifier is None:
        classifier = ImageSetPLS("gaussian", kernel="rbf", n_pca=32, random_state=0)
    features = ImageSetFeatures(
        feature, aligner=aligner, fps=fps, cache_dir=cache_dir, n_jobs=n_jobs, verbose=verbose
    )
    clf = AbstainingClassifier(classifier, min_set_size=MIN_FACES, ood_quantile=ood_quantile)
    return Pipeline([("features", features), ("clf", clf)])


def video_candidates(random_state=0, *, n_landmarks="auto"):
    """The set models of Liu et al. (2014) as candidates of one video subsystem.

    Linear subspace with the projection kernel, covariance and Gaussian with the log-Euclidean
    RBF kernel, and mean pooling as the baseline, each after a PCA of the frames fitted on
    training frames.

    Parameters
    ----------
    random_state : int, default=0
        Seed of the PCA solver and of the landmark draw (a fixed seed: the same data give
        the same scores).
    n_landmarks : None, int or "auto", default="auto"
        Nyström approximation of every candidate's kernel (see :class:`~emoset.ImageSetPLS`):
        ``"auto"`` keeps the exact kernels up to :data:`~emoset.kernels.AUTO_EXACT_MAX`
        training clips (the same model as ``None`` there) and scales to tens of thousands of
        clips; ``None``: always exact.

    Returns
    -------
    candidates : list of ImageSetPLS
    """
    candidates = [
        ImageSetPLS(
            "subspace",
            kernel="linear",
            n_dims=10,
            n_pca=64,
            n_components=10,
            random_state=random_state,
        ),
        ImageSetPLS(
            "covariance", kernel="rbf", n_pca=32, n_components=10, random_state=random_state
        ),
        ImageSetPLS("gaussian", kernel="rbf", n_pca=32, n_components=10, random_state=random_state),
        ImageSetPLS("mean", kernel="rbf", n_pca=64, n_components=10, random_state=random_state),
    ]
    for est in candidates:
        est.set_params(n_landmarks=n_landmarks)
    return candidates


def default_video_subsystems(features=VIDEO_FEATURES, *, random_state=0, n_landmarks="auto"):
    """One video subsystem per frame feature, each with :func:`video_candidates`.

    Parameters
    ----------
    features : sequence of str, default=("densesift", "cnn")
    random_state : int, default=0
    n_landmarks : None, int or "auto", default="auto"
        Of :func:`video_candidates`.

    Returns
    -------
    video : dict
        ``{"<feature>-pls": [pipeline, ...]}``; the candidate with the best out-of-fold
        accuracy on the training clips is kept (see
        :class:`~emoset.system.AudioVisualEmotionRecognizer`).
    """
    return {
        f"{feature}-pls": [
            make_video_pipeline(feature, est)
            for est in video_candidates(random_state, n_landmarks=n_landmarks)
        ]
        for feature in features
    }


def multiple_kernel_video_subsystems(
    features=VIDEO_FEATURES, set_models=("subspace", "covariance", "gaussian"), *, random_state=0
):
    """One video subsystem per frame feature x set model kernel, for multiple-kernel fusion.

    Liu et al. (2014) and Ding et al. (2016) fuse a PLS per kernel instead of picking one set
    model per feature: each kernel of :func:`video_candidates` becomes its own subsystem (a
    single candidate), and the recognizer's fusion weighs them per class on out-of-fold
    scores.

    Parameters
    ----------
    features : sequence of str, default=("densesift", "cnn")
    set_models : sequence of str, default=("subspace", "covariance", "gaussian")
        Set models of :func:`video_candidates` to use (``"mean"`` is the fourth).
    random_state : int, default=0

    Returns
    -------
    video : dict
        ``{"<feature>-<set model>-pls": [pipeline]}``.

    Examples
    --------
    >>> sorted(multiple_kernel_video_subsystems(["cnn"], ["subspace", "gaussian"]))
    ['cnn-gaussian-pls', 'cnn-subspace-pls']
    """
    by_name = {est.set_model: est for est in video_candidates(random_state)}
    unknown = [m for m in set_models if m not in by_name]
    if unknown or not set_models:
        raise ValueError(
            f"set_models must name some of {sorted(by_name)}; got {list(set_models)!r}."
        )
    return {
        f"{feature}-{model}-pls": [make_video_pipeline(feature, by_name[model])]
        for feature in features
        for model in set_models
    }


def landmarks_video_subsystems(*, C=1.0, random_state=0):
    """Facial geometry: mean-pooled landmark features -> RBF SVM (one subsystem).

    The clip's :class:`~emoset.frame_features.Landmarks` features (normalised shape of the 68
    aligned points and its frame-to-frame motion) are averaged over the frames, standardised
    and classified by an RBF SVM, as the landmark-distance branch of the EmotiW 2017 runner-up (Ouyang et al.).

    Parameters
    ----------
    C : float, default=1.0
    random_state : int, default=0

    Returns
    -------
    video : dict
        ``{"landmarks-svm": [pipeline]}``.
    """
    clf = Pipeline(
        [
            ("model", MeanModel()),
            ("scale", StandardScaler()),  # coordinates and motion are on different scales
            ("svm", SVC(C=C, random_state=random_state)),
        ]
    )
    return {"landmarks-svm": [make_video_pipeline("landmarks", clf)]}


def default_audio_subsystems(features=("egemaps", "compare", "librosa"), *, random_state=0):
    """Speech functionals -> RBF SVM, one candidate per feature set.

    Parameters
    ----------
    features : sequence of str, default=("egemaps", "compare", "librosa")
    random_state : int, default=0

    Returns
    -------
    audio : dict
        ``{"audio-svm": [pipeline, ...]}``.
    """
    return {
        "audio-svm": [
            make_audio_pipeline(f, probability=False, random_state=random_state) for f in features
        ]
    }
