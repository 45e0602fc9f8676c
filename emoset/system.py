"""The whole audio-visual recognizer: clips in, fused per-emotion scores out.

:class:`AudioVisualEmotionRecognizer` ties the parts together as in the EmotiW 2014/2016
systems: video subsystems (a frame feature -> image set -> :class:`~emoset.ImageSetPLS`), audio
subsystems (openSMILE functionals -> SVM) and per-class weighted late fusion. It takes a list of
:class:`~emoset.datasets.Clip` records (or video paths), so one object can be trained, saved,
loaded by the ``emoset`` command and asked about a new clip.

Everything the fusion learns comes from out-of-fold scores of the training clips: each subsystem
is cross-validated inside ``fit`` with folds grouped by speaker, and (when a subsystem is given
several candidate configurations) the candidate with the best out-of-fold accuracy is kept.
Test clips are never used to choose anything.

This module is not in the conventions' list: the recognizer is a concept of its own (the
composition of the others), and it keeps ``cli.py`` to argument handling.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from ._cache import default_cache_dir
from .audio import make_audio_pipeline
from .classifiers import ImageSetPLS
from .datasets import Clip
from .extract import extract_image_sets
from .fusion import WeightedScoreFusion
from .pls import softmax

__all__ = [
    "AudioVisualEmotionRecognizer",
    "default_video_subsystems",
    "default_audio_subsystems",
    "save_model",
    "load_model",
    "scores_accuracy",
    "MIN_FACES",
]

logger = logging.getLogger(__name__)

#: Fewest aligned faces a clip needs for the video subsystems to score it; with fewer (no face
#: found, one face, unreadable video) they abstain for that clip and the fusion uses the rest.
MIN_FACES = 2


def default_video_subsystems():
    """DenseSIFT and CNN image sets, each with three manifold models as PLS candidates.

    Returns
    -------
    video : dict
        ``{name: (frame_feature, [candidate ImageSetPLS, ...])}``: the set models of Liu et al.
        (2014) — linear subspace with the projection kernel, covariance and Gaussian with the
        log-Euclidean RBF kernel — after a PCA of the frames fitted on training frames.
    """

    def candidates():
        return [
            ImageSetPLS("subspace", kernel="linear", n_dims=10, n_pca=64, n_components=10),
            ImageSetPLS("covariance", kernel="rbf", n_pca=32, n_components=10),
            ImageSetPLS("gaussian", kernel="rbf", n_pca=32, n_components=10),
            ImageSetPLS("mean", kernel="rbf", n_pca=64, n_components=10),
        ]

    return {"densesift-pls": ("densesift", candidates()), "cnn-pls": ("cnn", candidates())}


def default_audio_subsystems():
    """Speech functionals -> RBF SVM; eGeMAPS, ComParE and librosa features as candidates.

    Returns
    -------
    audio : dict
        ``{"audio-svm": [pipeline, ...]}``: the candidate with the best out-of-fold accuracy on
        the training clips is kept (see :class:`AudioVisualEmotionRecognizer`).
    """
    return {
        "audio-svm": [
            make_audio_pipeline(f, probability=False) for f in ("egemaps", "compare", "librosa")
        ]
    }


def _labels_and_groups(X, y, groups):
    if y is None:
        if not all(isinstance(c, Clip) for c in X):
            raise ValueError("y is needed unless X is a list of labelled Clip records.")
        y = [c.label for c in X]
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} clips but y has {len(y)} labels.")
    if groups is None and all(isinstance(c, Clip) and c.speaker is not None for c in X):
        groups = np.array([c.corpus + ":" + c.speaker for c in X], dtype=object)
    if groups is None:
        warnings.warn(
            "No speakers known (pass groups=..., or Clip records with a speaker): the inner "
            "cross-validation that picks candidates and fusion weights is not speaker-grouped, "
            "so it favours what works on speakers seen in training.",
            UserWarning,
            stacklevel=3,
        )
    return y, None if groups is None else np.asarray(groups)


def _splits(y, groups, n_splits, random_state):
    if groups is not None and len(set(groups.tolist())) >= n_splits:
        return list(GroupKFold(n_splits=n_splits).split(y, y, groups))
    if groups is not None:
        warnings.warn(
            f"Fewer than {n_splits} speakers: the inner cross-validation is not speaker-grouped.",
            UserWarning,
            stacklevel=3,
        )
    counts = np.unique(y, return_counts=True)[1]
    k = int(max(2, min(n_splits, counts.min())))
    return list(StratifiedKFold(k, shuffle=True, random_state=random_state).split(y, y))


def _candidates(spec):
    """A subsystem's candidates: a list or tuple of estimators, or one estimator."""
    return list(spec) if isinstance(spec, (list, tuple)) else [spec]


def scores_accuracy(scores, y, classes):
    """Accuracy of per-class scores (argmax), counting an abstention (NaN row) as wrong.

    Parameters
    ----------
    scores : ndarray of shape (n_clips, n_classes)
    y : array-like of shape (n_clips,)
    classes : array-like of shape (n_classes,)
        The class of each score column.

    Returns
    -------
    accuracy : float
    """
    scores, y, classes = np.asarray(scores), np.asarray(y), np.asarray(classes)
    ok = ~np.isnan(scores).any(axis=1)
    if not len(y):
        return 0.0
    correct = np.zeros(len(y), bool)
    correct[ok] = classes[np.argmax(scores[ok], axis=1)] == y[ok]
    return float(correct.mean())


def _aligned_scores(est, X, classes):
    """decision_function of ``est`` with its columns in ``classes`` order (missing -> min)."""
    scores = np.asarray(est.decision_function(X), dtype=float)
    if scores.ndim == 1:
        scores = np.column_stack([-scores, scores])
    out = np.full((len(scores), len(classes)), np.nan)
    own = list(est.classes_)
    for j, c in enumerate(classes):
        if c in own:
            out[:, j] = scores[:, own.index(c)]
    missing_cls = [j for j, c in enumerate(classes) if c not in own]
    if missing_cls:  # a class absent from this subsystem's training clips: its lowest score
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows (abstentions)
            out[:, missing_cls] = np.nanmin(out, axis=1, keepdims=True)
    return out


class AudioVisualEmotionRecognizer(ClassifierMixin, BaseEstimator):
    """Video image-set PLS subsystems + audio SVM subsystems + per-class weighted fusion.

    Parameters
    ----------
    video : dict or None, default=None
        ``{name: (frame_feature, estimator_or_candidates)}``; the estimator takes image sets
        (e.g. :class:`~emoset.ImageSetPLS`); a list of candidates is narrowed to the one with
        the best out-of-fold accuracy on the training clips. ``None``:
        :func:`default_video_subsystems`. ``{}``: no video.
    audio : dict or None, default=None
        ``{name: estimator_or_candidates}`` taking clips (e.g.
        :func:`~emoset.audio.make_audio_pipeline` with a feature step); candidates are narrowed
        as for video. ``None``: :func:`default_audio_subsystems`. ``{}``: no audio.
    fusion : estimator or None, default=None
        Fitted on the out-of-fold scores ``(n_clips, n_subsystems, n_classes)``; ``None`` is
        ``WeightedScoreFusion(scheme="per_class")``.
    aligner : emoset.faces.FaceAligner or None
        Face detection/alignment for the video subsystems (default ``FaceAligner(64)``).
    fps : float or None
        Frame rate the videos are resampled to before alignment (``None``: all frames).
    inner_cv : int, default=4
        Folds (grouped by speaker when speakers are known) of the out-of-fold scores.
    cache_dir : str, path-like, True or None
        Content-keyed feature cache (see :func:`~emoset.extract.extract_image_sets`).
    n_jobs : int or None
        Clips processed in parallel during feature extraction.
    verbose : int
        Progress bars when > 0.
    random_state : int, default=0
        Seed of the inner folds when they cannot be grouped by speaker.

    Attributes
    ----------
    classes_ : ndarray
    subsystems_ : dict
        ``{name: fitted estimator}`` (video ones first, then audio).
    selected_ : dict
        ``{name: index of the chosen candidate}``.
    candidate_scores_ : dict
        ``{name: [out-of-fold accuracy of each candidate]}``.
    oof_scores_ : dict
        ``{name: (n_train, n_classes)}`` out-of-fold scores the fusion was fitted on.
    fusion_ : estimator
    frame_features_ : dict
        ``{video subsystem name: frame feature}``.

    Notes
    -----
    A clip with fewer than :data:`MIN_FACES` aligned faces (no face, an unreadable video) gets
    NaN scores from the video subsystems and
    a clip without usable audio gets NaN from the audio subsystems: the fusion then decides
    from what is left (see :mod:`emoset.fusion`).

    The fusion's normalisation and weights are fitted on out-of-fold scores, from models that
    saw ``(inner_cv - 1) / inner_cv`` of the training clips, and applied to the scores of the
    models refitted on all of them; their scale can differ somewhat (the usual price of
    stacking without a held-out set).

    References
    ----------
    .. [1] M. Liu et al., "Combining multiple kernel methods on Riemannian manifold for emotion
       recognition in the wild", ICMI 2014.
    .. [2] W. Ding et al., "Audio and face video emotion recognition in the wild using deep
       neural networks and small datasets", ICMI 2016.

    Examples
    --------
    >>> from emoset.datasets import load_cremad
    >>> clips = load_cremad()  # doctest: +SKIP
    >>> model = AudioVisualEmotionRecognizer(cache_dir=True).fit(clips[:60])  # doctest: +SKIP
    >>> model.predict(clips[60:])  # doctest: +SKIP
    """

    def __init__(
        self,
        video=None,
        *,
        audio=None,
        fusion=None,
        aligner=None,
        fps=None,
        inner_cv=4,
        cache_dir=None,
        n_jobs=None,
        verbose=0,
        random_state=0,
    ):
        self.video = video
        self.audio = audio
        self.fusion = fusion
        self.aligner = aligner
        self.fps = fps
        self.inner_cv = inner_cv
        self.cache_dir = cache_dir
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ helpers
    def _video_spec(self):
        video = default_video_subsystems() if self.video is None else dict(self.video)
        for name, spec in video.items():
            if not (isinstance(spec, tuple) and len(spec) == 2):
                raise TypeError(
                    f"Video subsystem {name!r} must be (frame_feature, estimator or "
                    f"list of candidates); got {type(spec).__name__}."
                )
        return video

    def _audio_spec(self):
        audio = default_audio_subsystems() if self.audio is None else dict(self.audio)
        if self.cache_dir is None:
            return audio

        def with_cache(est):  # share the feature cache: inner folds re-extract the same clips
            if est.get_params().get("features__cache_dir", "absent") is None:
                return clone(est).set_params(
                    features__cache_dir=str(self._cache_path()), features__n_jobs=self.n_jobs
                )
            return est

        return {name: [with_cache(e) for e in _candidates(spec)] for name, spec in audio.items()}

    def _cache_path(self):
        return default_cache_dir() if self.cache_dir is True else self.cache_dir

    def _image_sets(self, X, features):
        if not features:
            return {}
        usable = [i for i, c in enumerate(X) if not (isinstance(c, Clip) and c.video is None)]
        sets = {f: [None] * len(X) for f in features}
        if usable:
            got, _ = extract_image_sets(
                [X[i] for i in usable],
                sorted(features),
                aligner=self.aligner,
                fps=self.fps,
                cache_dir=self.cache_dir,
                n_jobs=self.n_jobs,
                verbose=self.verbose,
            )
            for f in features:
                for i, s in zip(usable, got[f], strict=True):
                    sets[f][i] = s
        return sets

    @staticmethod
    def _has_set(sets):
        """Clips with enough aligned faces for every set model (covariances need 2)."""
        return np.array([s is not None and len(s) >= MIN_FACES for s in sets])

    def _check_X(self, X):
        if isinstance(X, (str, Path, Clip)):
            raise TypeError(
                "X must be a list of clips (Clip records or video paths), not a "
                "single clip; wrap it in a list."
            )
        X = list(X)
        if not X:
            raise ValueError("X is empty: give at least one clip.")
        return X

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, groups=None):
        """Train every subsystem, choose candidates and fusion weights on out-of-fold scores.

        Parameters
        ----------
        X : list of Clip or of video paths
        y : array-like or None
            Labels; default: the clips' own labels.
        groups : array-like or None
            Speakers for the inner folds; default: the clips' speakers.

        Returns
        -------
        self : AudioVisualEmotionRecognizer
        """
        X = self._check_X(X)
        if int(self.inner_cv) != self.inner_cv or self.inner_cv < 2:
            raise ValueError(f"inner_cv must be an integer >= 2; got {self.inner_cv!r}.")
        y, groups = _labels_and_groups(X, y, groups)
        self.classes_ = np.unique(y)
        video, audio = self._video_spec(), self._audio_spec()
        if not video and not audio:
            raise ValueError("No subsystem: give at least one video or audio subsystem.")
        shared = sorted(set(video) & set(audio))
        if shared:
            raise ValueError(
                f"Subsystem names must differ between video and audio; both have {shared}."
            )
        splits = _splits(y, groups, int(self.inner_cv), self.random_state)
        sets = self._image_sets(X, {feat for feat, _ in video.values()})
        self.subsystems_, self.oof_scores_ = {}, {}
        self.selected_, self.candidate_scores_, self.frame_features_ = {}, {}, {}
        for name, (feature, spec) in video.items():
            ok = self._has_set(sets[feature])
            if ok.sum() < 2:
                raise ValueError(
                    f"Video subsystem {name!r}: fewer than 2 training clips have a "
                    "face; drop the video subsystems (video={})."
                )
            Xs = [s for s, k in zip(sets[feature], ok, strict=True) if k]
            self.frame_features_[name] = feature
            self._select(name, _candidates(spec), Xs, y, splits, ok)
        for name, spec in audio.items():
            self._select(name, _candidates(spec), X, y, splits, np.ones(len(X), bool))
        fusion = WeightedScoreFusion(scheme="per_class") if self.fusion is None else self.fusion
        fusion = clone(fusion)
        if "classes" in fusion.get_params():
            fusion.set_params(classes=self.classes_)  # score columns are in classes_ order
        self.fusion_ = fusion.fit({n: self.oof_scores_[n] for n in self.subsystems_}, y)
        return self

    def _select(self, name, cands, Xs, y, splits, ok):
        """Keep the candidate with the best out-of-fold accuracy; fit it on all of ``Xs``."""
        best = None
        for k, cand in enumerate(cands):
            oof = self._oof(cand, Xs, y[ok], splits, ok)
            acc = scores_accuracy(oof, y, self.classes_)
            self.candidate_scores_.setdefault(name, []).append(acc)
            if best is None or acc > best[0]:
                best = (acc, k, oof)
        _, k, oof = best
        self.selected_[name] = k
        self.oof_scores_[name] = oof
        self.subsystems_[name] = clone(cands[k]).fit(Xs, y[ok])
        logger.info(
            "%s: candidate %d of %d chosen (out-of-fold accuracies %s)",
            name,
            k,
            len(cands),
            np.round(self.candidate_scores_[name], 3),
        )

    def _oof(self, est, Xs, y_ok, splits, ok):
        """Out-of-fold scores over all clips (NaN where the subsystem has no input)."""
        index = np.flatnonzero(ok)
        pos = -np.ones(len(ok), int)
        pos[index] = np.arange(len(index))
        out = np.full((len(ok), len(self.classes_)), np.nan)
        for train, test in splits:
            tr, te = pos[train][pos[train] >= 0], pos[test][pos[test] >= 0]
            if len(te) == 0 or len(np.unique(y_ok[tr])) < 2:
                continue
            model = clone(est).fit(_take(Xs, tr), y_ok[tr])
            out[index[te]] = _aligned_scores(model, _take(Xs, te), self.classes_)
        return out

    # ------------------------------------------------------------------ predict
    def subsystem_scores(self, X):
        """Each subsystem's per-class scores (NaN rows where it abstains).

        Parameters
        ----------
        X : list of Clip or of video paths

        Returns
        -------
        scores : dict
            ``{name: ndarray of shape (n_clips, n_classes)}``, columns in ``classes_`` order.
        """
        check_is_fitted(self)
        X = self._check_X(X)
        sets = self._image_sets(X, set(self.frame_features_.values()))
        scores = {}
        for name, est in self.subsystems_.items():
            out = np.full((len(X), len(self.classes_)), np.nan)
            if name in self.frame_features_:
                feat = sets[self.frame_features_[name]]
                ok = self._has_set(feat)
                if ok.any():
                    out[ok] = _aligned_scores(
                        est, [s for s, k in zip(feat, ok, strict=True) if k], self.classes_
                    )
            else:
                out = _aligned_scores(est, X, self.classes_)
            scores[name] = out
        return scores

    def decision_function(self, X):
        """Fused per-class scores.

        Returns
        -------
        scores : ndarray of shape (n_clips, n_classes)
        """
        check_is_fitted(self)
        return self.fusion_.decision_function(self.subsystem_scores(X))

    def predict(self, X):
        """The emotion of each clip (fused decision).

        Returns
        -------
        labels : ndarray of shape (n_clips,)
        """
        check_is_fitted(self)
        return self.fusion_.predict(self.subsystem_scores(X))

    def predict_proba(self, X):
        """Softmax of the fused scores (a ranking, not calibrated probabilities).

        Returns
        -------
        proba : ndarray of shape (n_clips, n_classes)
        """
        check_is_fitted(self)
        return softmax(self.decision_function(X), axis=1)


def _take(X, index):
    return [X[i] for i in index] if isinstance(X, list) else X[index]


# ---------------------------------------------------------------------- persistence


#: Plain data types a saved model may hold besides emoset estimators (e.g. a cache folder).
_SAFE_TYPES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})


def _is_allowed_type(name):
    """``True`` for an estimator class defined in emoset, or one of :data:`_SAFE_TYPES`."""
    import importlib
    import inspect

    from sklearn.base import BaseEstimator

    if name in _SAFE_TYPES:
        return True
    module, _, attr = name.rpartition(".")
    if not module.startswith("emoset.") or not attr:
        return False
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return False
    return inspect.isclass(obj) and issubclass(obj, BaseEstimator) and obj.__module__ == module


def save_model(model, path):
    """Save a fitted model with skops (no pickle: loading never runs arbitrary code).

    Parameters
    ----------
    model : estimator
    path : str or path-like
        Usually ``*.skops``; written atomically. A ``<path>.sha256`` file records its digest.

    Returns
    -------
    path : pathlib.Path
    """
    import hashlib

    import skops.io as sio

    from ._cache import atomic_write_bytes

    path = Path(path)
    data = sio.dumps(model)
    atomic_write_bytes(path, data)
    digest = hashlib.sha256(data).hexdigest()
    atomic_write_bytes(Path(str(path) + ".sha256"), f"{digest}  {path.name}\n".encode())
    return path


def load_model(path, *, require_digest=True):
    """Load a model saved by :func:`save_model`.

    The skops format rebuilds objects from an explicit list of types instead of unpickling code.
    Beyond the types skops itself trusts (scikit-learn, NumPy, SciPy), only estimator classes
    defined in emoset are accepted; a file naming any other type is refused. The SHA-256 recorded
    by :func:`save_model` in ``<path>.sha256`` must match: it detects a damaged or modified file
    (it cannot tell who wrote it — keep models you did not make out of reach).

    Parameters
    ----------
    path : str or path-like
    require_digest : bool, default=True
        Refuse a model without its ``.sha256`` file.

    Raises
    ------
    FileNotFoundError
        If the file (or, with ``require_digest``, its digest file) is missing.
    ValueError
        If the digest does not match or the file names a type outside the allowed ones.
    """
    import hashlib

    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model file {path} not found.")
    data = path.read_bytes()  # read once: hashed, inspected and loaded from memory
    sidecar = Path(str(path) + ".sha256")
    if sidecar.is_file():
        expected = sidecar.read_text().split()[0]
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ValueError(
                f"{path}: SHA-256 {actual} does not match the recorded {expected} "
                f"({sidecar.name}); refusing to load a modified model."
            )
    elif require_digest:
        raise FileNotFoundError(
            f"{path}: no {sidecar.name} beside it; save models with emoset.save_model, or pass "
            "require_digest=False for a file you trust."
        )
    untrusted = sio.get_untrusted_types(data=data)
    refused = [t for t in untrusted if not _is_allowed_type(t)]
    if refused:
        raise ValueError(
            f"{path}: refusing to load types other than emoset estimators: {sorted(refused)}."
        )
    return sio.loads(data, trusted=untrusted)
