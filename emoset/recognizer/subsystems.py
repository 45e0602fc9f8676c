"""The recognizer's subsystems: each a Pipeline ``clips -> features -> abstaining classifier``.

One route for features, video and audio alike:

* video: ``ImageSetFeatures(frame feature)`` (decode, align, featurise every frame; cached) ->
  ``AbstainingClassifier(ImageSetPLS(...), min_set_size="auto")``;
* audio: ``OpenSmileFeatures`` / ``LibrosaFeatures`` (decode, band-limit, functionals; cached)
  -> ``StandardScaler`` -> ``AbstainingClassifier(SVC(...))`` (:func:`~emoset.recognizer.subsystems.make_audio_pipeline`).

This module is the one home of the default candidates (the set models of Liu et al. 2014 for
video, three feature sets for audio) that the recognizer, the command line and the
reproduction scripts share.
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ..audio.features import AUDIO_FEATURE_SETS, OpenSmileDescriptorMoments, make_audio_features
from ..decision.abstain import AbstainingClassifier
from ..decision.scoring import aligned_scores, scores_in_order
from ..sets.classifiers import ImageSetPLS
from ..sets.imagesets import GaussianMomentEmbedding, MeanModel
from ..utils.validation import check_choice
from ..video.extract import ImageSetFeatures, no_set_reason

__all__ = [
    "MIN_FACES",
    "VIDEO_FEATURES",
    "default_audio_subsystems",
    "default_video_subsystems",
    "landmarks_video_subsystems",
    "make_audio_pipeline",
    "make_video_pipeline",
    "multiple_kernel_video_subsystems",
    "video_candidates",
]

#: Fewest aligned faces any image-set summary is computed from (the reproduction's descriptive
#: grids leave smaller sets out). A subsystem's own minimum is its set model's
#: ``informative_frames`` (``min_set_size="auto"`` of its abstaining classifier): 1 for the
#: mean, 3 for a Ledoit-Wolf covariance or Gaussian, ``n_dims`` for a subspace.
MIN_FACES = 2

#: Frame features of the default video subsystems: the emotion CNN. DenseSIFT, the other
#: frame feature of the EmotiW 2016 recipe (``make reproduce-emotiw2016`` keeps both), is not
#: in the default: in the nested CV of ``python -m pipelines.speed_choices`` the recognizer
#: without it scores 57.0 % against 58.1 % with it (one clip of 86, within the standard error
#: of 3.3), and its SIFT descriptors were the largest share of a timeline's frame work.
VIDEO_FEATURES = ("cnn",)

#: Out-of-distribution quantile of the default subsystems (see
#: :class:`~emoset.decision.abstain.AbstainingClassifier`).
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
        Frame feature (see :func:`emoset.video.extract.make_frame_features`).
    classifier : estimator or None
        Takes image sets (e.g. :class:`~emoset.ImageSetPLS`); default
        ``ImageSetPLS("gaussian", kernel="rbf", n_pca=32)``.
    aligner, fps, cache_dir, n_jobs, verbose
        Of :class:`~emoset.video.extract.ImageSetFeatures`.
    ood_quantile : float or None, default=0.99
        Out-of-distribution check (see :class:`~emoset.decision.abstain.AbstainingClassifier`).

    Returns
    -------
    pipeline : Pipeline
        Steps ``"features"`` and ``"clf"`` (an :class:`~emoset.decision.abstain.AbstainingClassifier`
        that abstains on clips with fewer aligned faces than its set model needs to tell clips
        apart: ``min_set_size="auto"``).

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
    clf = AbstainingClassifier(classifier, min_set_size="auto", ood_quantile=ood_quantile)
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
        ``"auto"`` keeps the exact kernels up to :data:`~emoset.sets.kernels.AUTO_EXACT_MAX`
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
    features : sequence of str, default=VIDEO_FEATURES
        ``("cnn",)``; ``("densesift", "cnn")`` is the EmotiW 2016 recipe.
    random_state : int, default=0
    n_landmarks : None, int or "auto", default="auto"
        Of :func:`video_candidates`.

    Returns
    -------
    video : dict
        ``{"<feature>-pls": [pipeline, ...]}``; the candidate with the best out-of-fold
        accuracy on the training clips is kept (see
        :class:`~emoset.recognizer.system.AudioVisualEmotionRecognizer`).
    """
    return {
        f"{feature}-pls": [
            make_video_pipeline(feature, est)
            for est in video_candidates(random_state, n_landmarks=n_landmarks)
        ]
        for feature in features
    }


def multiple_kernel_video_subsystems(
    features=("densesift", "cnn"),
    set_models=("subspace", "covariance", "gaussian"),
    *,
    random_state=0,
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

    The clip's :class:`~emoset.video.frame_features.Landmarks` features (normalised shape of the 68
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


def default_audio_subsystems(
    features=("egemaps", "compare", "librosa"), *, random_state=0, normalize=None, sets=None
):
    """The speech subsystems: functionals -> RBF SVM, and the speech image sets -> RBF SVM.

    ``"audio-svm"`` has one candidate per functionals feature set (the inner CV keeps one);
    ``"audio-lld-svm"`` reads each clip's eGeMAPS low-level descriptors as an image set, a
    Gaussian embedded as a log-Euclidean vector (``make_audio_pipeline("egemaps-lld")``), and is
    fused with the others. Measured (README "Speech across corpora", ``python -m
    pipelines.cross_corpus``): unseen speakers, the same folds, the two together against the
    functionals alone: RAVDESS (8 classes) 55.1 % against 50.7 %, CREMA-D 48.8 % against
    44.2 %; trained on both corpora, 55.8 % / 44.2 % of each one's unseen speakers against
    48.8 % / 36.0 %; with the CNN image sets, CREMA-D audio-visual 61.6 % against 57.0 %
    (``make pretrained``'s cross-validation). Hence both are the default.

    Parameters
    ----------
    features : sequence of str, default=("egemaps", "compare", "librosa")
        The functionals candidates of ``"audio-svm"``.
    random_state : int, default=0
    normalize : {None, "speaker", "session"}, default=None
        Per-speaker / per-session standardisation of the functionals (transductive, see
        :class:`~emoset.audio.features.OpenSmileFeatures`). The image sets are not
        standardised per group (the moments of a Gaussian are not z-scored).
    sets : bool or None, default=None
        Add the speech image sets (``"audio-lld-svm"``; openSMILE's descriptors, under its
        research licence whatever ``features`` are); ``False``: the functionals SVM alone (the
        EmotiW 2016 recipe of ``make reproduce-emotiw2016``; a licence-free model with
        ``features=("librosa",)``); ``None``: added unless ``normalize`` is set.

    Raises
    ------
    ValueError
        For ``sets=True`` with ``normalize``.

    Returns
    -------
    audio : dict
        ``{"audio-svm": [pipeline, ...], "audio-lld-svm": [pipeline]}``.
    """
    if sets and normalize is not None:
        raise ValueError(
            f"sets=True cannot go with normalize={normalize!r}: the speech image sets are not "
            "standardised per speaker or session; give sets=False (or None)."
        )
    audio = {
        "audio-svm": [
            make_audio_pipeline(
                f, probability=False, random_state=random_state, normalize=normalize
            )
            for f in features
        ]
    }
    if sets or (sets is None and normalize is None):
        audio["audio-lld-svm"] = [
            make_audio_pipeline("egemaps-lld", probability=False, random_state=random_state)
        ]
    return audio


def make_audio_pipeline(
    features="egemaps",
    *,
    C=1.0,
    gamma="scale",
    class_weight="balanced",
    probability=True,
    random_state=0,
    n_jobs=None,
    cache_dir=None,
    verbose=0,
    on_error="warn",
    ood_quantile=0.99,
    memory=None,
    normalize=None,
):
    """The speech classifier: features -> StandardScaler -> RBF SVM (abstaining with a reason).

    Parameters
    ----------
    features : {"egemaps", "compare", "emobase", "librosa", "egemaps-lld", "precomputed"} or transformer
        The first step (:func:`~emoset.audio.features.make_audio_features`). ``"precomputed"`` (or ``None``) builds the pipeline on
        a feature matrix -- the fast way to grid-search, extracting once. A
        transformer instance is used as given.
    C : float, default=1.0
    gamma : "scale", "auto" or float, default="scale"
    class_weight : "balanced" or None, default="balanced"
    probability : bool, default=True
        Calibrate probabilities (Platt scaling, see :class:`AbstainingClassifier`)
        so ``predict_proba`` is available for fusion; ``False`` fits ~6x faster
        (use it inside grid searches scored on labels).
    random_state : int, default=0
        Passed to the SVC.
    n_jobs, cache_dir, verbose, on_error
        Passed to the feature transformer when ``features`` is a name.
    ood_quantile : float or None, default=0.99
        Out-of-distribution check of the SVM (see :class:`~emoset.decision.abstain.AbstainingClassifier`):
        a clip farther from every training clip than this quantile of the training
        nearest-neighbour distances (times the margin) is abstained on. ``None``: no check.
    memory : str or joblib.Memory or None
        ``Pipeline(memory=...)``. joblib's cache stores pickles: give it a folder only you
        write to.
    normalize : {None, "speaker", "session"}, default=None
        Passed to the feature transformer when ``features`` is a name: standardise features
        per speaker or recording session (transductive; see
        :class:`~emoset.audio.features.OpenSmileFeatures`).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``[("features", ...),] ("scale", StandardScaler()), ("svm",
        AbstainingClassifier(SVC(...)))``; with the descriptor moments (``"egemaps-lld"``) a
        ``("embed", GaussianMomentEmbedding())`` step after the features: each clip's frames
        as a Gaussian, a log-Euclidean vector. Grid-search keys are
        ``svm__estimator__C`` and ``svm__estimator__gamma``. The scaler
        ignores NaN when fitting and passes NaN rows through; the SVM drops
        them in ``fit`` (warning) and returns NaN scores for them and for clips
        far from the training data.

    Notes
    -----
    Speaker-independent results on RAVDESS speech (8 classes, 20 actors, 1200 clips, nested
    5-fold CV with ``C`` and ``gamma`` tuned inside each training fold;
    ``python -m pipelines.audio_results``, README section "Speech"): 48.8 % (eGeMAPS) and
    56.5 % (ComParE) accuracy, chance 12.5 %; 66.8 % with ComParE and
    :func:`emoset.audio.normalize.standardize_per_speaker` (transductive: it needs several clips of
    each test speaker). Measured beside it: ANOVA-F feature selection (ComParE +1.2 points,
    eGeMAPS -1.0), a linear SVM (-2.0 on ComParE) and a score fusion of the eGeMAPS and ComParE
    SVMs (58.1 %, +1.6; +2.4 on CREMA-D) -- gains within the standard error over the folds
    (about 2 points), so this pipeline is unchanged; the fusion is two subsystems (give the
    recognizer both pipelines), not one pipeline. ``C=1`` and ``gamma="scale"`` are untuned
    defaults: search them (see Examples) when there are enough training speakers.

    References
    ----------
    .. [1] B. Schuller et al., "The INTERSPEECH 2016 Computational
       Paralinguistics Challenge", Interspeech, 2016 (SVM baseline on openSMILE
       functionals).
    .. [2] S. R. Livingstone and F. A. Russo, "The Ryerson Audio-Visual
       Database of Emotional Speech and Song (RAVDESS)", PLoS ONE 13(5), 2018.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV, GroupKFold
    >>> pipe = make_audio_pipeline("precomputed")
    >>> grid = {"svm__estimator__C": [1, 10], "svm__estimator__gamma": ["scale", 1e-4]}
    >>> search = GridSearchCV(pipe, grid, cv=GroupKFold(4))
    """
    svm = AbstainingClassifier(
        SVC(kernel="rbf", C=C, gamma=gamma, class_weight=class_weight, random_state=random_state),
        probability=probability,
        ood_quantile=ood_quantile,
    )
    steps = [("scale", StandardScaler()), ("svm", svm)]
    if features is None or (isinstance(features, str) and features == "precomputed"):
        pass
    elif isinstance(features, str):
        check_choice("features", features, [*AUDIO_FEATURE_SETS, "precomputed"])
        kw = dict(
            n_jobs=n_jobs,
            cache_dir=cache_dir,
            verbose=verbose,
            on_error=on_error,
            normalize=normalize,
        )
        steps.insert(0, ("features", make_audio_features(features, **kw)))
    elif hasattr(features, "transform"):
        steps.insert(0, ("features", features))
    else:
        raise TypeError(f"features must be a name or a transformer; got {type(features).__name__}.")
    if isinstance(steps[0][1], OpenSmileDescriptorMoments):  # speech image sets: the Gaussians
        steps[0][1]._validate()  # normalize, feature_set: refused now, not after the video
        steps.insert(1, ("embed", GaussianMomentEmbedding()))
    return Pipeline(steps, memory=memory)


#: Statuses of an audio feature step's table for which its subsystem has no features.
AUDIO_ABSTAINS = ("error", "silent", "nonfinite")


def classify_features(pipe, F, classes):
    """Score features with a fitted subsystem Pipeline's steps after its feature step.

    Returns ``(scores, why, ratio)``: scores in ``classes`` order (NaN rows where it abstains),
    why it abstained on each input (``None`` where it scored) and the distance ratio to the
    training data (NaN for a classifier that does not measure it).
    """
    Xt = pipe[1:-1].transform(F) if len(pipe.steps) > 2 else F
    clf = pipe.steps[-1][1]
    if hasattr(clf, "decision_function_with_reasons"):
        scores, why, ratio = clf.decision_function_with_reasons(Xt)
        return scores_in_order(scores, clf.classes_, classes), list(why), ratio
    scores = aligned_scores(clf, Xt, classes)
    if hasattr(clf, "abstentions"):
        why, ratio = clf.abstentions(Xt)
        return scores, list(why), ratio
    return scores, [None] * len(scores), np.full(len(scores), np.nan)


def input_reasons(modality, info):
    """``{clip index: why}`` a feature step could make no features of a clip (from its table).

    Video: an error, no video, no face found; audio: an error, silence, non-finite features.
    How many frames a set model needs is the classifier's to say (:func:`unusable_reasons`).
    """
    out = {}
    for i, (_, row) in enumerate(info.iterrows()):
        if modality == "video":
            why = no_set_reason(row)
        else:
            why = row["reason"] if row["status"] in AUDIO_ABSTAINS else ""
        if why:
            out[i] = why
    return out


def unusable_reasons(pipe, F):
    """``{clip index: why}`` a fitted subsystem's classifier cannot use a clip's features."""
    clf = pipe.steps[-1][1]
    if not hasattr(clf, "unusable"):
        return {}
    Xt = pipe[1:-1].transform(F) if len(pipe.steps) > 2 else F
    return {i: why for i, why in enumerate(clf.unusable(Xt)) if why}
