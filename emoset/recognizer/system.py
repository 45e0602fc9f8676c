"""The whole audio-visual recognizer: clips in, fused per-emotion scores and per-clip records out.

:class:`AudioVisualEmotionRecognizer` composes subsystems and a fusion, as in the EmotiW
2014/2016 systems. Every subsystem is a Pipeline ``clips -> features -> classifier``
(:mod:`emoset.recognizer.subsystems`): video image sets -> :class:`~emoset.ImageSetPLS`, speech
functionals or speech image sets -> SVM. The recognizer does no feature work of its own: it
runs each Pipeline's feature step once per call (candidates with the same feature step share
it), fits and scores the rest of the Pipeline, and fits the fusion on out-of-fold scores
(:func:`emoset.decision.fusion.out_of_fold_scores`, folds grouped by speaker).

A clip no subsystem can score gets no label (``None``) and the reasons: never the prior class.
:meth:`AudioVisualEmotionRecognizer.predict_records` returns one :class:`ClipResult` per clip
(label or None, per-class scores, the subsystems used, why the others abstained, caveats and
out-of-distribution flags); ``predict`` keeps scikit-learn's shape (an array of labels, with
``None`` for unscorable clips).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..datasets.corpora import Clip
from ..decision.fusion import WeightedScoreFusion, out_of_fold_scores
from ..decision.scoring import scores_accuracy, scores_to_labels
from ..utils.cache import default_cache_dir
from ..utils.messages import summarise, warn_caller
from ..utils.validation import check_positive
from ..video.extract import ImageSetFeatures, clip_name
from ._extraction import extract_steps
from ._fitting import (
    _candidates,
    _check_speech_options,
    _fit_params,
    _labels_and_groups,
    _splits,
    _step_key,
    _warn_once_each,
    _with_copies,
)
from .people import predict_people
from .records import ClipResult, decide
from .subsystems import (
    AUDIO_ABSTAINS,
    classify_features,
    default_audio_subsystems,
    default_video_subsystems,
    input_reasons,
    make_video_pipeline,
    unusable_reasons,
)
from .timeline import predict_timeline

__all__ = ["AudioVisualEmotionRecognizer"]

logger = logging.getLogger(__name__)


class AudioVisualEmotionRecognizer(ClassifierMixin, BaseEstimator):
    """Video image-set PLS subsystems + audio SVM subsystems + per-class weighted fusion.

    Parameters
    ----------
    video : dict or None, default=None
        ``{name: pipeline or list of candidate pipelines}``, each a Pipeline ``clips ->
        ImageSetFeatures -> classifier`` (:func:`~emoset.recognizer.subsystems.make_video_pipeline`); the
        older form ``{name: (frame_feature, estimator or list of estimators)}`` is accepted and
        turned into such pipelines. A list of candidates is narrowed to the one with the best
        out-of-fold accuracy on the training clips. ``None``:
        :func:`~emoset.recognizer.subsystems.default_video_subsystems`. ``{}``: no video.
    audio : dict or None, default=None
        ``{name: pipeline or list of candidate pipelines}`` taking clips (e.g.
        :func:`~emoset.recognizer.subsystems.make_audio_pipeline`). ``None``:
        :func:`~emoset.recognizer.subsystems.default_audio_subsystems`. ``{}``: no audio.
    fusion : estimator or None, default=None
        Fitted on the out-of-fold scores ``{name: (n_clips, n_classes)}``; ``None`` is
        ``WeightedScoreFusion(scheme="per_class")``.
    aligner : emoset.video.faces.FaceAligner or None
        Overrides the face aligner of every video subsystem (default: their own).
    fps : float or None
        Overrides the frame rate the video subsystems resample to (default: their own).
    allow_partial : bool, default=False
        Score what decodes of a truncated file; by default a truncated file is unreadable
        (its subsystems abstain with the reason "truncated: decoded 0.7 s of 2.3 s").
    inner_cv : int, default=4
        Folds (grouped by speaker when speakers are known) of the out-of-fold scores.
    cache_dir : str, path-like, True or None
        Feature cache of every subsystem (the caller's: a model never brings its own); ``True``:
        the default cache folder; ``None``: a temporary folder for the duration of each call.
    n_jobs : int or None
        Clips processed in parallel during feature extraction.
    verbose : int
        Progress bars when > 0.
    random_state : int, default=0
        Seed of the inner folds when they cannot be grouped by speaker.
    keep_candidates : bool, default=False
        Also fit every candidate (not only the chosen one) on all training clips and keep its
        out-of-fold scores: :meth:`candidate_scores` then scores clips with each, e.g. for
        multiple-kernel fusion (one subsystem per set model kernel) beside pick-one.
    mirror : bool, default=False
        Mirror augmentation: every training clip also gives each video subsystem the image set
        of its horizontally mirrored aligned faces (same label; the feature step's
        :meth:`~emoset.video.extract.ImageSetFeatures.mirrored`, cached like the original). Only
        training data grows: a mirrored set follows its clip into the training side of every
        inner fold (it carries the clip's speaker) and is never held out, so out-of-fold
        scores, candidate choice and the fusion come from the original clips alone; nothing
        is mirrored when scoring. Audio subsystems are unchanged.
    augment : sequence of str, default=()
        Speech augmentation: every training clip also gives each audio subsystem the features
        of one augmented copy per kind named (of :data:`~emoset.audio.augment.AUGMENTATIONS`:
        noise, reverb, gain, speed, pitch, telephone; the feature step's ``augmentation``,
        seeded by the file's content and cached like the original). As with ``mirror``, the
        copies only train: they follow their clip into the training side of every inner fold
        and are never held out or scored. Video subsystems are unchanged.
    augment_choice : bool, default=False
        With ``augment``: every audio candidate is tried on the clips alone and with their
        copies, the inner cross-validation keeps the better (``augmented_`` says which).
        ``False``: every audio candidate trains on the copies.

    Attributes
    ----------
    classes_ : ndarray
    subsystems_ : dict
        ``{name: fitted Pipeline}`` (video ones first, then audio). Their feature steps hold
        no cache folder: the recognizer lends its own at each call.
    modalities_ : dict
        ``{name: "video" or "audio"}``.
    frame_features_ : dict
        ``{video subsystem name: frame feature name}``.
    selected_ : dict
        ``{name: index of the chosen candidate}`` (with ``augment_choice``, audio candidate
        ``j`` is tried as ``2 j`` without and ``2 j + 1`` with the augmented copies).
    candidate_scores_ : dict
        ``{name: [out-of-fold accuracy of each candidate]}``.
    augmented_ : dict
        ``{name: whether the chosen candidate trained on augmented copies}``.
    oof_scores_ : dict
        ``{name: (n_train, n_classes)}`` out-of-fold scores the fusion was fitted on.
    candidates_ : dict
        With ``keep_candidates``: ``{name: [fitted pipeline of each candidate]}``.
    candidate_oof_scores_ : dict
        With ``keep_candidates``: ``{name: [out-of-fold scores of each candidate]}``.
    fusion_ : estimator
    data_problems_ : dict
        ``{clip id: [reason, ...]}`` for the training clips some subsystem could not use
        (summarised in one warning by ``fit``).

    Notes
    -----
    A subsystem abstains on a clip it has no basis for: fewer aligned faces than its classifier's
    ``min_set_size``, unreadable or silent audio, or input far from its training data. The
    fusion decides from what is left; with nothing left the clip gets no label (one rule for
    clips and windows: :func:`~emoset.recognizer.records.decide`).

    The fusion's normalisation and weights are fitted on out-of-fold scores, from models that
    saw ``(inner_cv - 1) / inner_cv`` of the training clips, and applied to the scores of the
    models refitted on all of them; their scale can differ somewhat (the usual price of
    stacking without a held-out set). Feature steps learn nothing from labels; the audio ones
    learn the training bandwidth, once, from all training clips.

    References
    ----------
    .. [1] M. Liu et al., "Combining multiple kernel methods on Riemannian manifold for emotion
       recognition in the wild", ICMI 2014.
    .. [2] W. Ding et al., "Audio and face video emotion recognition in the wild using deep
       neural networks and small datasets", ICMI 2016.

    Examples
    --------
    >>> from emoset.datasets.corpora import load_cremad
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
        allow_partial=False,
        inner_cv=4,
        cache_dir=None,
        n_jobs=None,
        verbose=0,
        random_state=0,
        keep_candidates=False,
        mirror=False,
        augment=(),
        augment_choice=False,
    ):
        self.video = video
        self.audio = audio
        self.fusion = fusion
        self.aligner = aligner
        self.fps = fps
        self.allow_partial = allow_partial
        self.inner_cv = inner_cv
        self.cache_dir = cache_dir
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state
        self.keep_candidates = keep_candidates
        self.mirror = mirror
        self.augment = augment
        self.augment_choice = augment_choice

    # ------------------------------------------------------------------ specification
    def _specs(self):
        """``{name: (modality, [candidate pipelines])}``, video first."""
        rs = self.random_state
        video = default_video_subsystems(random_state=rs) if self.video is None else self.video
        audio = default_audio_subsystems(random_state=rs) if self.audio is None else self.audio
        specs = {}
        for name, spec in dict(video).items():
            if isinstance(spec, tuple) and len(spec) == 2 and not isinstance(spec[0], Pipeline):
                feature, ests = spec
                spec = [make_video_pipeline(feature, est) for est in _candidates(ests)]
            specs[name] = ("video", [self._checked(name, c) for c in _candidates(spec)])
        for name, spec in dict(audio).items():
            if name in specs:
                raise ValueError(
                    f"Subsystem names must differ between video and audio; both have {name!r}."
                )
            specs[name] = ("audio", [self._checked(name, c) for c in _candidates(spec)])
        if not specs:
            raise ValueError("No subsystem: give at least one video or audio subsystem.")
        return specs

    @staticmethod
    def _checked(name, pipeline):
        if not (isinstance(pipeline, Pipeline) and len(pipeline.steps) >= 2):
            raise TypeError(
                f"Subsystem {name!r}: each candidate must be a Pipeline of a feature step "
                f"(clips -> features) and a classifier; got {type(pipeline).__name__}."
            )
        if not hasattr(pipeline.steps[0][1], "extract"):
            raise TypeError(
                f"Subsystem {name!r}: the first step must extract features from clips "
                f"(ImageSetFeatures, OpenSmileFeatures, LibrosaFeatures); got "
                f"{type(pipeline.steps[0][1]).__name__}."
            )
        return pipeline

    def _cache_path(self):
        return default_cache_dir() if self.cache_dir is True else self.cache_dir

    @contextlib.contextmanager
    def _cache_session(self):
        """The caller's cache folder, or a temporary one for this call."""
        if self._cache_path() is not None:
            yield str(self._cache_path())
            return
        with tempfile.TemporaryDirectory(prefix="emoset-") as tmp:
            yield tmp

    def _runtime_step(self, step, cache_dir):
        """A copy of a feature step with this call's cache, cores and options."""
        step = copy.copy(step)
        runtime = {"cache_dir": cache_dir, "n_jobs": self.n_jobs, "verbose": self.verbose}
        names = step.get_params(deep=False)
        if "allow_partial" in names:
            runtime["allow_partial"] = bool(self.allow_partial)
        if isinstance(step, ImageSetFeatures):
            if self.aligner is not None:
                runtime["aligner"] = self.aligner
            if self.fps is not None:
                runtime["fps"] = self.fps
        return step.set_params(**runtime)

    @staticmethod
    def _stored_step(step):
        """A fitted feature step as the model keeps it: no cache folder, no machine setting."""
        step = copy.copy(step)
        return step.set_params(cache_dir=None, n_jobs=None, verbose=0)

    def _check_X(self, X):
        if isinstance(X, (str, Path, Clip)):
            raise TypeError(
                "X must be a list of clips (Clip records or file paths), not a single clip; "
                "wrap it in a list."
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
        X : list of Clip or of file paths
        y : array-like or None
            Labels; default: the clips' own labels.
        groups : array-like or None
            Speakers for the inner folds; default: the clips' speakers.

        Returns
        -------
        self : AudioVisualEmotionRecognizer
        """
        from sklearn.utils import check_scalar

        X = self._check_X(X)
        check_scalar(self.inner_cv, "inner_cv", int, min_val=2)
        check_positive(self.fps, "fps", unit="number of video frames a second", optional=True)
        for flag in ("mirror", "augment_choice"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise ValueError(f"{flag} must be True or False; got {getattr(self, flag)!r}.")
        y, groups = _labels_and_groups(X, y, groups)
        self.classes_ = np.unique(y)
        specs = self._specs()
        _check_speech_options(specs, self.augment)
        if self.mirror:
            for name, (modality, cands) in specs.items():
                for cand in cands:
                    if modality == "video" and not hasattr(cand.steps[0][1], "mirrored"):
                        raise TypeError(
                            f"Subsystem {name!r}: mirror=True needs a feature step that can "
                            "mirror faces (ImageSetFeatures); got "
                            f"{type(cand.steps[0][1]).__name__}."
                        )
        splits, self.inner_cv_grouped_ = _splits(y, groups, int(self.inner_cv), self.random_state)
        self.subsystems_, self.oof_scores_, self.modalities_ = {}, {}, {}
        self.selected_, self.candidate_scores_, self.frame_features_ = {}, {}, {}
        self.augmented_ = {}
        if self.keep_candidates:
            self.candidates_, self.candidate_oof_scores_ = {}, {}
        problems = {}
        with self._cache_session() as cache_dir, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            features, copies = {}, {}
            for name, (modality, cands) in specs.items():
                for cand in cands:
                    key = _step_key(cand.steps[0][1])
                    if key not in features:
                        step = self._runtime_step(clone(cand.steps[0][1]), cache_dir).fit(X)
                        features[key] = (step, *step.extract(X))
                    if key not in copies:
                        copies[key] = self._copies(modality, cand, features[key][0], X, cache_dir)
                key = self._select(name, modality, cands, features, copies, y, groups, splits)
                _, F, info = features[key]
                unusable = unusable_reasons(self.subsystems_[name], F)
                for i, why in {**unusable, **input_reasons(modality, info)}.items():
                    problems.setdefault(clip_name(X[i]), []).append(f"{name}: {why}")
        _warn_once_each(caught)
        self.data_problems_ = problems
        if problems:
            shown = [f"{c} ({'; '.join(r)})" for c, r in problems.items()]
            warn_caller(
                f"{len(problems)} of {len(X)} training clips cannot be used by every subsystem "
                f"(those subsystems abstain on them): {summarise(shown)}."
            )
        fusion = WeightedScoreFusion(scheme="per_class") if self.fusion is None else self.fusion
        fusion = clone(fusion)
        if "classes" in fusion.get_params():
            fusion.set_params(classes=self.classes_)  # score columns are in classes_ order
        self.fusion_ = fusion.fit({n: self.oof_scores_[n] for n in self.subsystems_}, y)
        return self

    def _copies(self, modality, cand, step, X, cache_dir):
        """The augmented copies of the training clips' features a candidate trains on too.

        Video with ``mirror``: the image sets of the mirrored faces; audio with ``augment``:
        the features of each kind of augmented copy, computed by the fitted feature step (the
        training band and statistics of the original clips).
        """
        if modality == "video" and self.mirror:
            mirrored = self._runtime_step(cand.steps[0][1].mirrored(), cache_dir).fit(X)
            return [mirrored.extract(X)[0]]
        if modality == "audio" and self.augment:
            out = []
            for kind in self.augment:
                aug = copy.copy(step).set_params(augmentation=kind, verbose=0)
                with warnings.catch_warnings():  # the copies' bands and levels are the point
                    warnings.simplefilter("ignore", UserWarning)
                    out.append(aug.extract(X)[0])
            return out
        return []

    def _select(self, name, modality, cands, features, copies, y, groups, splits):
        """Keep the candidate with the best out-of-fold accuracy, fit it on all clips; return
        the key of its features.

        ``copies`` holds augmented copies of the training clips' features by feature key
        (mirrored image sets, augmented speech); candidates whose features have them train on
        the clips and their copies, and are scored on the clips alone.
        """
        best = None
        oofs = []
        n = len(y)
        # (candidate, trains on the copies): with augment_choice an audio candidate twice
        choice = self.augment_choice and modality == "audio" and bool(self.augment)
        variants = [
            (c, a) for c in range(len(cands)) for a in ((False, True) if choice else (True,))
        ]
        for k, (c, augmented) in enumerate(variants):
            cand = cands[c]
            key = _step_key(cand.steps[0][1])
            given = copies.get(key) if augmented else None
            F, y_fit, folds = _with_copies(features[key][1], given, y, splits)
            oof = out_of_fold_scores(
                cand[1:],
                F,
                y_fit,
                cv=folds,
                classes=self.classes_,
                fit_params=_fit_params(cand, n, len(y_fit) - n, groups),
            )[:n]
            oofs.append(oof)
            acc = scores_accuracy(oof, y, self.classes_)
            self.candidate_scores_.setdefault(name, []).append(acc)
            if best is None or acc > best[0]:
                best = (acc, k, oof)
        _, k, oof = best

        def fit_candidate(j):
            c, augmented = variants[j]
            key = _step_key(cands[c].steps[0][1])
            step, F, _ = features[key]
            F, y_fit, _ = _with_copies(F, copies.get(key) if augmented else None, y, splits)
            fitted = clone(cands[c])
            fitted.steps[0] = (fitted.steps[0][0], self._stored_step(step))
            params = _fit_params(fitted, n, len(y_fit) - n, groups)
            fitted[1:].fit(F, y_fit, **params)  # the slice shares its steps with ``fitted``
            return fitted

        key = _step_key(cands[variants[k][0]].steps[0][1])
        fitted = fit_candidate(k)
        if self.keep_candidates:
            self.candidates_[name] = [
                fitted if j == k else fit_candidate(j) for j in range(len(variants))
            ]
            self.candidate_oof_scores_[name] = oofs
        step = features[key][0]
        self.selected_[name] = k
        self.augmented_[name] = bool(variants[k][1] and copies.get(key))
        self.oof_scores_[name] = oof
        self.subsystems_[name] = fitted
        self.modalities_[name] = modality
        if modality == "video":
            self.frame_features_[name] = step.feature_name_
        logger.info(
            "%s: candidate %d of %d chosen (out-of-fold accuracies %s)",
            name,
            k,
            len(variants),
            np.round(self.candidate_scores_[name], 3),
        )
        return key

    @staticmethod
    def _caveats(modality, info):
        """``{clip index: [caveat]}`` for clips scored despite a problem (partial, people)."""
        out = {}
        for i, (_, row) in enumerate(info.iterrows()):
            said = []
            if modality == "video" and row["partial"] and not row["error"]:
                said.append(f"video {row['partial']}")
            if modality == "video" and row["n_people"] > 1:
                said.append(
                    f"{row['n_people']} people seen; the video subsystems labelled "
                    f"{row['person']}, the main person (most speaking time, else most frames)"
                )
            elif modality == "audio" and row["reason"] and row["status"] not in AUDIO_ABSTAINS:
                said.append(f"audio {row['reason']}")
            if said:
                out[i] = said
        return out

    # ------------------------------------------------------------------ predict
    def _extract_once(self, pipe, X, cache_dir, memo):
        """``(features, info)`` of ``pipe``'s feature step for X; steps alike share ``memo``."""
        step = self._runtime_step(pipe.steps[0][1], cache_dir)
        key = _step_key(step)
        if key not in memo:
            memo[key] = step.extract(X)
        return memo[key]

    def _extract_all(self, X, cache_dir):
        """``{name: (features, info)}`` of each subsystem for X, each distinct feature step once;
        the audio beside the video when the clips are extracted in this process and
        ``allow_partial`` is off (:mod:`emoset.recognizer._extraction`)."""
        steps, keys = {}, {}
        for name, pipe in self.subsystems_.items():
            step = self._runtime_step(pipe.steps[0][1], cache_dir)
            keys[name] = _step_key(step)
            steps.setdefault(keys[name], (self.modalities_[name], step))
        beside = self.n_jobs in (None, 1) and not self.allow_partial
        done = extract_steps(steps, X, beside=beside)
        return {name: done[k] for name, k in keys.items()}

    def _score(self, X):
        """``{name: (scores, reasons, distance ratios, caveats)}`` of each subsystem for X."""
        results = {}
        with self._cache_session() as cache_dir:
            extracted = self._extract_all(X, cache_dir)
            for name, pipe in self.subsystems_.items():
                F, info = extracted[name]
                scores, why, ratio = classify_features(pipe, F, self.classes_)
                given = input_reasons(self.modalities_[name], info)
                reasons = [given.get(i) or w for i, w in enumerate(why)]
                caveats = self._caveats(self.modalities_[name], info)
                results[name] = (scores, reasons, ratio, caveats, info)
        video = [r[4] for n, r in results.items() if self.modalities_[n] == "video"]
        crowded = int((video[0]["n_people"] > 1).sum()) if video else 0
        if crowded:
            warn_caller(
                f"{crowded} of {len(X)} clip(s) show more than one person; the video subsystems "
                "labelled each clip's main person (most speaking time, else most frames): "
                "predict_records says who, predict_people labels every person."
            )
        return results

    def feature_steps(self, *, cache=False):
        """Each subsystem's fitted feature step, with this recognizer's run-time options.

        For callers that compute features themselves from a stream (:mod:`emoset.recognizer.timeline`)
        and score them with :meth:`score_features`: video steps
        (:class:`~emoset.video.extract.ImageSetFeatures`) give the aligner and frame features,
        audio steps the per-signal functionals
        (:meth:`~emoset.audio.features.OpenSmileFeatures.extract_signal`).

        Parameters
        ----------
        cache : bool, default=False
            Give the steps this recognizer's feature cache (``cache_dir``; none when it has
            none) instead of none.

        Returns
        -------
        steps : dict
            ``{name: feature step}`` (copies: changing them leaves the model as it was), in
            the order of ``subsystems_``; ``modalities_`` says which are video.
        """
        check_is_fitted(self)
        folder = self._cache_path() if cache else None
        folder = None if folder is None else str(folder)
        return {
            name: self._runtime_step(pipe.steps[0][1], folder)
            for name, pipe in self.subsystems_.items()
        }

    def score_features(self, features):
        """Score precomputed features with each subsystem's classifier (its Pipeline after the
        feature step).

        Parameters
        ----------
        features : dict
            ``{name: X}`` for some or all of ``subsystems_``: a list of image sets ``(n_faces_i,
            d)`` for a video subsystem, an ``(n, d)`` array (NaN rows abstain) for an audio
            one, as their feature steps make them.

        Returns
        -------
        results : dict
            ``{name: (scores, reasons)}``: ``scores`` of shape ``(n, n_classes)`` in
            ``classes_`` order, NaN rows where the subsystem abstains, and ``reasons`` a list
            with why it abstained on each input (``None`` where it scored). :meth:`decide_features`
            goes on to the label.
        """
        check_is_fitted(self)
        unknown = sorted(set(features) - set(self.subsystems_))
        if unknown:
            raise ValueError(
                f"Unknown subsystem(s) {unknown}; this model has {list(self.subsystems_)}."
            )
        results = {}
        for name, X in features.items():
            scores, why, _ = classify_features(self.subsystems_[name], X, self.classes_)
            for i in np.flatnonzero(np.isnan(scores).any(axis=1)):
                if why[i] is None:
                    why[i] = "no score"
            results[name] = (scores, why)
        return results

    def decide_features(self, features, reasons=None):
        """Labels of inputs whose features were computed elsewhere (e.g. windows of a stream).

        Each subsystem's classifier scores its features, the fusion combines the scores and
        :func:`~emoset.recognizer.records.decide` turns them into a decision: the rule
        :meth:`predict_records` applies to clips.

        Parameters
        ----------
        features : dict
            ``{name: X}`` for every one of ``subsystems_``, as in :meth:`score_features`.
        reasons : dict or None
            ``{name: [why or None] * n}``: why the features of an input are missing (no video
            stream, no face, no audio, ...); said instead of the classifier's own reason where
            the subsystem abstains.

        Returns
        -------
        decisions : list of Decision
            One per input: label (``None`` where no subsystem scored), scores, subsystems
            used, reasons, distances.
        """
        check_is_fitted(self)
        missing = [n for n in self.subsystems_ if n not in features]
        if missing:
            raise ValueError(f"features of every subsystem are needed; missing {missing}.")
        reasons = reasons or {}
        scores, why, ratios = {}, {}, {}
        for name, X in features.items():
            scores[name], own, ratios[name] = classify_features(
                self.subsystems_[name], X, self.classes_
            )
            given = list(reasons.get(name) or [None] * len(own))
            why[name] = [g or w for g, w in zip(given, own, strict=True)]
        fused = self.fusion_.decision_function(scores)
        return decide(scores, why, fused, self.classes_, ratios)

    def predict_timeline(self, source, window=2.0, hop=0.5, **params):
        """Emotion over time: one row per window of a long file or a live stream.

        Delegates to :func:`emoset.recognizer.timeline.predict_timeline` (see there for ``**params``:
        ``live``, ``smooth``, ``fps``, ``stall_timeout``, ...).

        Parameters
        ----------
        source : str or path-like
            A media file, a URL (http(s), rtsp, udp) or a V4L2 device (``/dev/video0``).
        window : float, default=2.0
            Window length in seconds.
        hop : float, default=0.5
            Seconds between window starts.

        Returns
        -------
        timeline : pandas.DataFrame
            One row per window: ``start``, ``end``, ``label``, ``reason``, a score column per
            class, ``n_faces``, ``speech``, ``subsystems`` (and ``latency`` when live).
        """
        check_is_fitted(self)
        return predict_timeline(self, source, window=window, hop=hop, **params)

    def predict_people(self, source):
        """Each person's emotion in a video: one row per person (see
        :func:`emoset.recognizer.people.predict_people`).

        Parameters
        ----------
        source : str, path-like or Clip
            A video file.

        Returns
        -------
        people : pandas.DataFrame
            ``person``, ``start``, ``end``, ``n_frames``, ``speaking``, ``box``, ``label``,
            ``reason`` and a score column per class; the voice goes to whoever speaks, a
            voice no visible mouth follows gets a row of its own (person ``None``).
        """
        check_is_fitted(self)
        return predict_people(self, source)

    def candidate_scores(self, X):
        """Every candidate's per-class scores (needs ``keep_candidates=True``).

        Parameters
        ----------
        X : list of Clip or of file paths

        Returns
        -------
        scores : dict
            ``{name: [ndarray of shape (n_clips, n_classes) per candidate]}``, columns in
            ``classes_`` order, NaN rows where a candidate abstains.
        """
        check_is_fitted(self)
        if not self.keep_candidates:
            raise ValueError(
                "candidate_scores needs the recognizer fitted with keep_candidates=True."
            )
        X = self._check_X(X)
        out = {}
        with self._cache_session() as cache_dir:
            memo = {}
            for name, pipes in self.candidates_.items():
                for pipe in pipes:
                    F, _ = self._extract_once(pipe, X, cache_dir, memo)
                    out.setdefault(name, []).append(classify_features(pipe, F, self.classes_)[0])
        return out

    def subsystem_scores(self, X):
        """Each subsystem's per-class scores (NaN rows where it abstains).

        Parameters
        ----------
        X : list of Clip or of file paths

        Returns
        -------
        scores : dict
            ``{name: ndarray of shape (n_clips, n_classes)}``, columns in ``classes_`` order.
        """
        check_is_fitted(self)
        X = self._check_X(X)
        return {name: r[0] for name, r in self._score(X).items()}

    def decision_function(self, X):
        """Fused per-class scores (NaN rows for clips no subsystem could score).

        Returns
        -------
        scores : ndarray of shape (n_clips, n_classes)
        """
        check_is_fitted(self)
        return self.fusion_.decision_function(self.subsystem_scores(X))

    def predict(self, X):
        """The emotion of each clip (fused decision); ``None`` where no subsystem could score.

        Returns
        -------
        labels : ndarray of shape (n_clips,), dtype object
            Use :meth:`predict_records` for why a clip got no label.
        """
        check_is_fitted(self)
        labels = scores_to_labels(self.decision_function(X), self.classes_)
        missing = sum(label is None for label in labels)
        if missing:
            warn_caller(
                f"{missing} of {len(labels)} clip(s) could not be scored by any subsystem and "
                "get no label (None); predict_records says why."
            )
        return labels

    def predict_proba(self, X):
        """Softmax of the fused scores (a ranking, not calibrated probabilities).

        Returns
        -------
        proba : ndarray of shape (n_clips, n_classes)
            NaN rows for clips no subsystem could score.
        """
        check_is_fitted(self)
        return softmax(self.decision_function(X), axis=1)

    def score(self, X, y, sample_weight=None):
        """Accuracy, counting a clip without a label as wrong.

        Returns
        -------
        accuracy : float
        """
        check_is_fitted(self)
        return scores_accuracy(self.decision_function(X), np.asarray(y), self.classes_)

    def predict_records(self, X):
        """One :class:`ClipResult` per clip: label or None, scores, reasons, caveats, flags.

        Parameters
        ----------
        X : list of Clip or of file paths

        Returns
        -------
        records : list of ClipResult
        """
        check_is_fitted(self)
        X = self._check_X(X)
        results = self._score(X)
        scores = {n: r[0] for n, r in results.items()}
        fused = self.fusion_.decision_function(scores)
        decisions = decide(
            scores,
            {n: r[1] for n, r in results.items()},
            fused,
            self.classes_,
            {n: r[2] for n, r in results.items()},
        )
        video = [r[4] for n, r in results.items() if self.modalities_[n] == "video"]
        records = []
        for i, (clip, decision) in enumerate(zip(X, decisions, strict=True)):
            caveats = [
                c for n, r in results.items() if n in decision.subsystems for c in r[3].get(i, [])
            ]
            record = ClipResult.from_decision(clip, decision, warnings=caveats)
            if video:  # whose face the video subsystems looked at (the same tracks for each)
                row = video[0].iloc[i]
                record.n_people, record.person = int(row["n_people"]), row["person"] or None
            records.append(record)
        return records
