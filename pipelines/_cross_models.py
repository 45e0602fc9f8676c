"""The models a configuration of :mod:`pipelines.cross_corpus` names: the peer recipe, the
speech image sets' PLS, the recognizer (speech only) with its options, and the label-free rules
that adapt it to an unlabelled test batch (see that module's docstring for what each row is).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment, minimize_scalar
from scipy.special import log_softmax
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from emoset.audio.features import OpenSmileFeatures
from emoset.recognizer.subsystems import default_audio_subsystems, make_audio_pipeline
from emoset.recognizer.system import AudioVisualEmotionRecognizer

logger = logging.getLogger("pipelines.cross_corpus")

#: The augmentation of the ``augment`` rows.
AUGMENT = ("noise", "telephone")

#: The augmentation of the ``augment-room`` rows: the conditions of another room and speaker
#: rather than another line (noise, reverberation, speed).
AUGMENT_ROOM = ("noise", "reverb", "speed")

#: The ``C`` grid of the ``compare-C`` rows (ComParE alone, ``C`` chosen by the inner CV).
COMPARE_CS = (1.0, 10.0)

#: The grid of the ``svm-grid`` rows: ``C``, and ``gamma`` as a multiple of ``"scale"``
#: (``1 / (n_features * X.var())`` of the training matrix, the default's).
SVM_GRID_CS = (1.0, 10.0)
SVM_GRID_GAMMAS = (1.0, 0.1)


#: The SVMs' ``C`` values the label-free choices pick from (``+reverse-C``, ``+1se-C``).
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)

#: Self-training: rounds, and the least calibrated posterior a pseudo-label needs.
SELF_TRAIN_ROUNDS = 2
SELF_TRAIN_MIN_PROB = 0.5


def true_labels(clips):
    """The clips' labels, as an object array."""
    return np.array([c.label for c in clips], dtype=object)


# --------------------------------------------------------------------------- models


class Peer:
    """eGeMAPS (each clip's own band) -> StandardScaler -> SVC(): the classical recipe."""

    def __init__(self, cache_dir):
        self.cache_dir = cache_dir

    def _features(self, clips):
        step = OpenSmileFeatures(bandwidth=None, cache_dir=self.cache_dir).fit()
        X = step.extract(clips)[0]
        return np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)

    def fit(self, clips):
        self.scaler_ = StandardScaler().fit(self._features(clips))
        y = np.array([c.label for c in clips])
        self.svm_ = SVC().fit(self.scaler_.transform(self._features(clips)), y)
        return self

    def answers(self, clips):
        Z = self.scaler_.transform(self._features(clips))
        D = self.svm_.decision_function(Z)
        labels = self.svm_.classes_[np.argmax(D, axis=1)]
        return np.array(labels, dtype=object), D.max(axis=1)


class SpeechSets:
    """The eGeMAPS low-level descriptors of a clip as an image set (:mod:`pipelines.speech_sets`).

    Every clip's 10 ms frames (25 descriptors each) are computed in the band of the training
    corpora (the lowest of each corpus's low-decile bandwidth, as the recognizer's speech
    features; with ``shared_band`` the test corpus's too), standardised with the training
    frames' mean and deviation (with ``normalize``: each speaker's or session's frames with
    their own, :func:`~emoset.audio.normalize.normalization_groups`, groups of fewer than
    :data:`~emoset.audio.normalize.MIN_GROUP_CLIPS` clips with the training statistics),
    summarised as a Gaussian or a covariance, RBF kernel on the log-Euclidean embedding, one-vs-
    rest PLS; the set model and the number of components chosen by inner speaker-grouped CV
    (:data:`pipelines._speech_frames.GRID`). It labels every clip (no distance check); confidence:
    the largest softmax of the PLS scores.
    """

    def __init__(self, cache_dir, *, normalize=False, shared_band=False):
        self.cache_dir = cache_dir
        self.normalize = normalize
        self.shared_band = shared_band
        self.band_rate = None
        self._seen = False

    def see(self, train, test):
        """The band: the training corpora's, with ``shared_band`` the test corpus's as well."""
        self.band_rate = _band_rate(
            list(train) + list(test) if self.shared_band else train, self.cache_dir
        )
        self._seen = True

    def _standardized(self, clips):
        from pipelines._speech_frames import frame_descriptors

        sets = frame_descriptors(clips, self.cache_dir, band_rate=self.band_rate)
        if not self.normalize:
            return [(s - self.mean_) / self.scale_ for s in sets]
        from emoset.audio.normalize import MIN_GROUP_CLIPS, normalization_groups

        groups = normalization_groups(clips, "speaker")
        out = [None] * len(sets)
        for key in dict.fromkeys(groups):
            members = [i for i, g in enumerate(groups) if g == key]
            mean, scale = self.mean_, self.scale_
            if len(members) >= MIN_GROUP_CLIPS:
                mean, scale = _frame_stats([sets[i] for i in members])
            for i in members:
                out[i] = (sets[i] - mean) / scale
        return out

    def fit(self, clips):
        from sklearn.model_selection import GridSearchCV, GroupKFold

        from emoset.sets.classifiers import ImageSetPLS
        from pipelines._speech_frames import GRID, frame_descriptors

        if not self._seen:
            self.band_rate = _band_rate(clips, self.cache_dir)
        self.mean_, self.scale_ = _frame_stats(
            frame_descriptors(clips, self.cache_dir, band_rate=self.band_rate)
        )
        speakers = np.array([f"{c.corpus}:{c.speaker}" for c in clips], dtype=object)
        self.search_ = GridSearchCV(
            ImageSetPLS(kernel="rbf", random_state=0),
            GRID,
            cv=GroupKFold(n_splits=min(4, len(set(speakers)))),
            error_score="raise",
        ).fit(self._standardized(clips), true_labels(clips), groups=speakers)
        return self

    def answers(self, clips):
        proba = self.search_.predict_proba(self._standardized(clips))
        labels = self.search_.classes_[np.argmax(proba, axis=1)]
        return np.array(labels, dtype=object), proba.max(axis=1)


class ScaledGammaSVC(SVC):
    """``SVC`` whose ``gamma`` (a positive number) multiplies scikit-learn's ``"scale"`` value
    of the training matrix, ``1 / (n_features * X.var())``: ``gamma=0.1`` is a tenth of the
    default (a string, as ``"scale"`` by default, is SVC's own). ``fit`` fits an ``SVC`` with
    the absolute value and takes its fitted state; the parameters stay as given."""

    def fit(self, X, y, sample_weight=None):
        factor = self.gamma
        if isinstance(factor, str):
            return super().fit(X, y, sample_weight)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor <= 0:
            raise ValueError(
                f"ScaledGammaSVC: gamma must be a positive number (a multiple of 'scale'); "
                f"got {factor!r}."
            )
        if sparse.issparse(X):  # scikit-learn's own formula for "scale"
            var = X.multiply(X).mean() - X.mean() ** 2
        else:
            var = np.asarray(X, dtype=float).var()
        gamma = factor / (X.shape[1] * var) if var != 0 else factor
        fitted = SVC(**{**self.get_params(), "gamma": gamma}).fit(X, y, sample_weight)
        params = self.get_params()
        vars(self).update({k: v for k, v in vars(fitted).items() if k not in params})
        return self


def _svm_variant(pipe, C, gamma):
    """A clone of a speech pipeline with its SVM's ``C``, ``gamma`` a multiple of ``"scale"``."""
    pipe = clone(pipe).set_params(svm__estimator__C=C)
    if gamma != 1.0:
        svc = pipe.get_params()["svm__estimator"]
        pipe.set_params(svm__estimator=ScaledGammaSVC(**{**svc.get_params(), "gamma": gamma}))
    return pipe


def _crossed(audio, variants):
    """Each subsystem's candidates made anew by each of ``variants`` (functions of a
    pipeline), the variants the outer loop: every candidate with the first variant first."""
    return {
        name: [v(p) for v in variants for p in (c if isinstance(c, list) else [c])]
        for name, c in audio.items()
    }


def _frame_stats(sets):
    frames = np.vstack(sets)
    return frames.mean(axis=0), frames.std(axis=0) + 1e-8


def _band_rate(clips, cache_dir):
    """The sample rate that limits every clip to the band all the clips' corpora have: the
    recognizer's own rule (the training bandwidth of its speech features, 16 kHz analysis)."""
    return OpenSmileFeatures(cache_dir=cache_dir).fit(clips).band_rate_


# --------------------------------------------------------------------------- adaptation


def fit_temperature(scores, y, classes):
    """The temperature ``T`` whose ``softmax(scores / T)`` has the least negative
    log-likelihood of the labels ``y`` (rows with NaN left out); 1.0 without any row."""
    scores = np.asarray(scores, dtype=float)
    ok = ~np.isnan(scores).any(axis=1)
    if not ok.any():
        return 1.0
    idx = np.searchsorted(np.asarray(classes), np.asarray(y)[ok])
    S = scores[ok]

    def nll(log_t):
        return -log_softmax(S / np.exp(log_t), axis=1)[np.arange(len(S)), idx].mean()

    return float(np.exp(minimize_scalar(nll, bounds=(-5.0, 5.0), method="bounded").x))


def em_priors(proba, source_priors, *, tol=1e-8, max_iter=1000):
    """Saerens et al. (2002): re-estimate the class priors of a batch from its posteriors.

    ``proba`` (n, K) are posteriors under the source priors ``source_priors`` (K,). Returns
    ``(adjusted posteriors, priors)``: the posteriors re-weighted by ``priors / source_priors``
    and normalised, the priors the mean adjusted posterior, iterated to a fixed point.
    """
    proba = np.asarray(proba, dtype=float)
    source = np.asarray(source_priors, dtype=float)
    priors = source.copy()
    for _ in range(max_iter):
        q = proba * (priors / source)
        q /= q.sum(axis=1, keepdims=True)
        new = q.mean(axis=0)
        done = np.abs(new - priors).max() < tol
        priors = new
        if done:
            break
    q = proba * (priors / source)
    return q / q.sum(axis=1, keepdims=True), priors


def balanced_labels(log_proba):
    """Class index of each row such that every class gets ``floor(n / K)`` or ``ceil(n / K)``
    rows, maximising the summed ``log_proba`` (an assignment problem).

    Each class has ``floor(n / K)`` slots that must be filled and one optional slot; dummy
    rows, which may take only optional slots, make the problem square, so every required slot
    goes to a real row.
    """
    log_proba = np.asarray(log_proba, dtype=float)
    n, k = log_proba.shape
    f = n // k
    cls = np.concatenate([np.repeat(np.arange(k), f), np.arange(k)])  # slot -> class
    required = np.arange(len(cls)) < k * f
    cost = -log_proba[:, cls]
    big = 1.0 + 2.0 * n * max(np.abs(cost).max(), 1.0)
    dummy = np.where(required, big, 0.0)[None, :].repeat(len(cls) - n, axis=0)
    rows, cols = linear_sum_assignment(np.vstack([cost, dummy]))
    out = np.empty(n, dtype=int)
    real = rows < n
    out[rows[real]] = cls[cols[real]]
    return out


def pseudo_labels(proba, classes, *, min_prob=SELF_TRAIN_MIN_PROB):
    """``(rows, labels)`` the self-training rule keeps: rows whose largest posterior is at
    least ``min_prob``, at most ``ceil(n / (2 K))`` per class, the most confident first (a
    NaN row never)."""
    proba = np.asarray(proba, dtype=float)
    n, k = proba.shape
    cap = -(-n // (2 * k))
    P = np.where(np.isnan(proba).any(axis=1, keepdims=True), -np.inf, proba)
    best, top = P.argmax(axis=1), P.max(axis=1)
    rows = []
    for c in range(k):
        mine = np.flatnonzero((best == c) & (top >= min_prob))
        rows.extend(mine[np.argsort(-top[mine], kind="stable")][:cap].tolist())
    rows = np.array(sorted(rows), dtype=int)
    return rows, np.asarray(classes, dtype=object)[best[rows]]


def one_se_choice(accuracies, n):
    """Index of the first (most regularised) candidate whose accuracy is within one binomial
    standard error ``sqrt(p (1 - p) / n)`` of the best ``p``."""
    accuracies = np.asarray(accuracies, dtype=float)
    p = float(np.nanmax(accuracies))
    return int(np.flatnonzero(accuracies >= p - np.sqrt(p * (1 - p) / n))[0])


def _labels_of(model, clips):
    """The labels a fitted recognizer gives the clips (``None`` for an abstention)."""
    return np.array([r.label for r in model.predict_records(clips)], dtype=object)


# --------------------------------------------------------------------------- the recognizer


class Recognizer:
    """The recognizer as ``emoset train`` builds it, speech only.

    The adaptations of :mod:`pipelines.cross_corpus`'s docstring: ``choose_C`` (``"reverse"``, ``"cv"``, ``"1se"``:
    the SVMs' ``C`` from :data:`C_GRID`), ``decide`` (``"em"``, ``"balanced"``; ``None``: the
    recognizer's own labels), ``self_train`` (:data:`SELF_TRAIN_ROUNDS` rounds).
    ``fusion_features``: the feature sets of the fused subsystems (``fusion``);
    ``self_train_min_prob``: the self-training rule's least posterior. ``lld``: the speech
    image sets (``"egemaps-lld"``) as a ``"candidate"`` of the speech subsystem, or as a
    ``"subsystem"`` of their own beside the others. ``svm_grid``: every speech candidate
    with each ``C`` of :data:`SVM_GRID_CS` and ``gamma`` of :data:`SVM_GRID_GAMMAS`.
    """

    def __init__(
        self,
        cache_dir,
        *,
        normalize=None,
        augment=(),
        augment_choice=False,
        fusion=False,
        shared_band=False,
        compare_Cs=None,
        choose_C=None,
        decide=None,
        self_train=False,
        fusion_features=("egemaps", "compare"),
        self_train_min_prob=SELF_TRAIN_MIN_PROB,
        lld=None,
        svm_grid=False,
        by_corpus=False,
    ):
        self.cache_dir = cache_dir
        self.by_corpus = by_corpus
        self.lld = lld
        self.svm_grid = svm_grid
        self.fusion_features = fusion_features
        self.self_train_min_prob = self_train_min_prob
        self.normalize = normalize
        self.augment = augment
        self.augment_choice = augment_choice
        self.fusion = fusion
        self.shared_band = shared_band
        self.compare_Cs = compare_Cs
        self.choose_C = choose_C
        self.decide = decide
        self.self_train = self_train
        self.bandwidth = "auto"
        self.unlabelled = []

    def see(self, train, test):
        """What the configuration learns from the unlabelled test clips: with ``shared_band``,
        the band of the training corpora and of the test clips (the lowest of each corpus's
        low-decile bandwidth); the clips themselves, stripped of their labels, for
        self-training and reverse validation."""
        if self.shared_band:
            step = OpenSmileFeatures(cache_dir=self.cache_dir).fit([*train, *test])
            self.bandwidth = step.bandwidth_
        self.unlabelled = [replace(c, label="?", meta={}) for c in test]

    def _audio(self, C=None):
        """The speech subsystems; ``C``: one value for every SVM, ``{subsystem: C}``, or
        ``"grid"`` (each subsystem's candidates: one per value of :data:`C_GRID`)."""
        if self.compare_Cs:  # ComParE alone, C chosen by the inner CV
            audio = {
                "audio-svm": [
                    make_audio_pipeline("compare", C=C, probability=False, normalize=self.normalize)
                    for C in self.compare_Cs
                ]
            }
        elif not self.fusion:
            features = ("egemaps", "compare", "librosa")
            features += ("egemaps-lld",) if self.lld == "candidate" else ()
            sets = self.lld == "subsystem"  # sets: emoset train's default
            audio = default_audio_subsystems(features, normalize=self.normalize, sets=sets)
        else:
            audio = {
                f"audio-{f}": make_audio_pipeline(f, probability=False, normalize=self.normalize)
                for f in self.fusion_features
            }
            if self.lld == "subsystem":
                audio["audio-lld-svm"] = make_audio_pipeline("egemaps-lld", probability=False)
        if self.svm_grid:  # the default's candidates first: ties keep them
            grid = [(c, g) for c in SVM_GRID_CS for g in SVM_GRID_GAMMAS]
            audio = _crossed(audio, [partial(_svm_variant, C=c, gamma=g) for c, g in grid])
        if C == "grid":
            audio = _crossed(
                audio, [lambda p, c=c: clone(p).set_params(svm__estimator__C=c) for c in C_GRID]
            )
        for name, cands in audio.items():
            for pipe in cands if isinstance(cands, list) else [cands]:
                if self.bandwidth != "auto":
                    pipe.set_params(features__bandwidth=self.bandwidth)
                if isinstance(C, dict):
                    pipe.set_params(svm__estimator__C=C[name])
                elif C is not None and C != "grid":
                    pipe.set_params(svm__estimator__C=C)
        return audio

    def _grouped(self, clips):
        """The clips, with ``by_corpus`` each in the recording session of its corpus."""
        if not self.by_corpus:
            return clips
        return [replace(c, meta={**(c.meta or {}), "session": c.corpus}) for c in clips]

    def _fit_one(self, clips, C=None):
        return AudioVisualEmotionRecognizer(
            video={},
            audio=self._audio(C),
            augment=self.augment,
            augment_choice=self.augment_choice,
            cache_dir=self.cache_dir,
        ).fit(self._grouped(clips))

    def _reverse_validation(self, clips):
        """``(C, model)``: the ``C`` of :data:`C_GRID` whose reverse model scores best on the
        source labels (ties: the smaller), and its forward model."""
        source_y = np.array([c.label for c in clips], dtype=object)
        best, self.reverse_scores_ = None, {}
        for c in C_GRID:
            model = self._fit_one(clips, c)
            labels = _labels_of(model, self._grouped(self.unlabelled))
            target = [
                replace(clip, label=label)
                for clip, label in zip(self.unlabelled, labels, strict=True)
                if label is not None
            ]
            try:
                fitted = self._fit_one(target, c)
                acc = float(np.mean(_labels_of(fitted, self._grouped(clips)) == source_y))
            except ValueError:  # too few pseudo-labelled clips, classes or speakers to train
                acc = 0.0
            self.reverse_scores_[c] = acc
            if best is None or acc > best[0]:
                best = (acc, c, model)
        return best[1], best[2]

    def _inner_cv(self, clips):
        """``({subsystem: C}, model)`` of the inner speaker CV over :data:`C_GRID`: its best
        candidate (``"cv"``) or the one-standard-error rule (``"1se"``)."""
        key = self._fit_key(clips, grid=True)
        model = self._kept(key, lambda: {"model": self._fit_one(clips, "grid")})["model"]
        chosen = {
            name: model.selected_[name]
            if self.choose_C == "cv"
            else one_se_choice(accs, len(clips))
            for name, accs in model.candidate_scores_.items()
        }
        C = {name: C_GRID[k] for name, k in chosen.items()}
        if any(k != model.selected_[name] for name, k in chosen.items()):
            model = self._fit_one(clips, C)
        return C, model

    #: Fitted states shared by configurations that differ only in their decision rule
    #: (``adapted`` and ``adapted+em`` fit the same model): ``{key: state}``, the last few.
    _fitted = {}
    _FITTED_KEPT = 12

    @classmethod
    def _kept(cls, key, make):
        """The state kept under ``key``, else ``make()`` kept (the least recently used go)."""
        if key in cls._fitted:
            cls._fitted[key] = cls._fitted.pop(key)
        else:
            cls._fitted[key] = make()
            while len(cls._fitted) > cls._FITTED_KEPT:
                cls._fitted.pop(next(iter(cls._fitted)))
        return cls._fitted[key]

    def _fit_key(self, clips, *, grid=False):
        """What a fitted state depends on; ``grid``: the inner CV's model over the C grid
        (the same whatever rule then chooses and whether self-training follows)."""
        rules = ("grid",) if grid else (self.choose_C, self.self_train, self.self_train_min_prob)
        params = (
            self.normalize,
            tuple(self.augment),
            self.augment_choice,
            self.compare_Cs,
            self.fusion,
            self.shared_band,
            *rules,
            tuple(self.fusion_features),
            self.bandwidth,
            self.lld,
            self.svm_grid,
            self.by_corpus,
        )
        ids = tuple((c.corpus, c.id) for c in clips)
        return params, ids, tuple((c.corpus, c.id) for c in self.unlabelled)

    def fit(self, clips):
        """Fit (or take the state fitted with the same settings, clips and test batch)."""

        def fitted():
            self._fit(clips)
            return {k: v for k, v in vars(self).items() if k.endswith("_")}

        vars(self).update(self._kept(self._fit_key(clips), fitted))
        return self

    def _fit(self, clips):
        if self.choose_C == "reverse":
            self.C_, self.model_ = self._reverse_validation(clips)
        elif self.choose_C in ("cv", "1se"):
            self.C_, self.model_ = self._inner_cv(clips)
        else:
            self.C_, self.model_ = None, self._fit_one(clips)
        if self.choose_C:
            logger.info("C chosen (%s): %s", self.choose_C, self.C_)
        self.train_y_ = [c.label for c in clips]
        self.pseudo_labelled_ = []
        for _ in range(SELF_TRAIN_ROUNDS if self.self_train else 0):
            proba = self.posteriors(self.unlabelled)
            rows, labels = pseudo_labels(
                proba, self.model_.classes_, min_prob=self.self_train_min_prob
            )
            self.pseudo_labelled_.append((rows, labels, proba))
            logger.info("self-training: %d of %d test clips pseudo-labelled", len(rows), len(proba))
            extra = [
                replace(self.unlabelled[i], label=y) for i, y in zip(rows, labels, strict=True)
            ]
            self.model_ = self._fit_one(clips + extra, self.C_)
            self.train_y_ = [c.label for c in clips + extra]
        return self

    def _oof_fused(self):
        model = self.model_
        return model.fusion_.decision_function(model.oof_scores_)

    def posteriors(self, clips):
        """Calibrated posteriors of the clips: the softmax of the fused scores over the
        temperature fitted on the training clips' out-of-fold fused scores and labels (NaN
        rows where nothing scored)."""
        self.temperature_ = fit_temperature(self._oof_fused(), self.train_y_, self.model_.classes_)
        fused = self.model_.decision_function(self._grouped(clips))
        return np.exp(log_softmax(fused / self.temperature_, axis=1))

    def answers(self, clips):
        if self.decide is None:
            records = self.model_.predict_records(self._grouped(clips))
            labels = np.array([r.label for r in records], dtype=object)
            conf = np.array(
                [max(r.scores.values()) if r.label is not None else -np.inf for r in records]
            )
            return labels, conf
        proba = self.posteriors(clips)
        ok = ~np.isnan(proba).any(axis=1)
        labels, conf = np.full(len(clips), None, dtype=object), np.full(len(clips), -np.inf)
        if not ok.any():
            return labels, conf
        p = proba[ok]
        if self.decide == "em":
            oof = np.exp(log_softmax(self._oof_fused() / self.temperature_, axis=1))
            self.source_priors_ = np.nanmean(oof, axis=0)
            p, self.test_priors_ = em_priors(p, self.source_priors_)
            self.test_posteriors_ = p
            idx = p.argmax(axis=1)
        elif self.decide == "balanced":
            idx = balanced_labels(np.log(np.clip(p, 1e-300, None)))
        else:
            raise ValueError(f"decide must be None, 'em' or 'balanced'; got {self.decide!r}.")
        labels[ok] = self.model_.classes_[idx]
        conf[ok] = p[np.arange(len(p)), idx]
        return labels, conf
