"""Speaker-independent speech-emotion results: openSMILE / librosa functionals + SVMs, nested CV.

Usage::

    python -m pipelines.audio_results [--data-root DIR] [--cache-dir DIR] [--n-jobs 1]
        [--corpora ravdess cremad] [--features egemaps compare librosa]
        [--models rbf linear kbest-rbf] [--fuse egemaps/rbf+compare/rbf] [--per-speaker-norm [rbf]]
        [--cross-corpus [peer default speaker-norm ...]]

For each corpus (RAVDESS speech: 8 classes, 20 actors, 1200 clips; CREMA-D: 6 classes, 80
face-crop + 6 native clips of 56 actors), feature set (eGeMAPSv02, ComParE_2016, librosa) and
model, the outer folds are the committed speaker-independent splits
(``emoset/data/splits/<corpus>_5fold.csv``, read with :func:`emoset.datasets.splits.load_split`; no
actor is ever in both train and test). Inside each outer training fold a ``GridSearchCV``
(scored by UAR, inner ``GroupKFold`` by speaker) picks the model's hyperparameters; the test
fold is used once, for scoring. Models (all ``StandardScaler`` first, an SVM with
``class_weight="balanced"`` on a precomputed kernel from :class:`emoset.sets.kernels.EuclideanKernel`
last, wrapped in :class:`emoset.decision.abstain.AbstainingClassifier`):

* ``rbf`` -- RBF SVM, grid ``C`` x ``gamma`` (``gamma`` in multiples of ``1/n_features``): the
  model of :func:`emoset.recognizer.subsystems.make_audio_pipeline`;
* ``rbf-unbalanced`` -- the same without class weights;
* ``linear`` -- linear SVM, grid ``C``;
* ``kbest-rbf`` / ``kbest-linear`` -- univariate feature selection (ANOVA F,
  ``SelectPercentile(f_classif)``, fitted on the inner training folds only) before the SVM, the
  percentile searched with the other parameters (``gamma`` relative to the kept dimensions).

``--fuse A/m+B/n`` adds a score-level fusion of two rows (e.g. the eGeMAPS and ComParE RBF SVMs):
in every outer training fold each member keeps the hyperparameters its own search chose, its
decision values on the outer-training clips are taken out of fold (inner speaker folds,
:func:`emoset.decision.fusion.out_of_fold_scores`), and a :class:`emoset.decision.fusion.WeightedScoreFusion` (one
weight per member, z-scored scores) is fitted on those only; the test fold is scored once.

A clip without usable features (unreadable, silent) is left out of training and gets no label
at test time (:class:`~emoset.decision.abstain.AbstainingClassifier` semantics): it counts as wrong.
Each extractor's band limit is learned from the outer-training clips of every fold (no test
clip is looked at); when it equals the one of all clips the features are shared.

``--per-speaker-norm [MODEL ...]`` adds, for those models' rows (all when none is named), the
variant with per-speaker z-scoring
(:func:`emoset.audio.normalize.standardize_per_speaker`: no labels, but transductive over the test
speaker's unlabelled clips), reported in a separate table; it is off by default and skipped
for corpora where most speakers have fewer than 5 clips (CREMA-D here).

``--cross-corpus [CONFIG ...]`` appends the cross-corpus table of :mod:`pipelines.cross_corpus`
(train CREMA-D -> test RAVDESS in the 6 shared emotions, RAVDESS -> CREMA-D, both -> unseen
speakers of each; the peer recipe eGeMAPS + StandardScaler + RBF SVC on the same splits;
coverage, risk-coverage and chance beside accuracy).

Scores: accuracy and UAR over all clips, with the standard error of the per-fold values
(``std(ddof=1) / sqrt(n_folds)``), per-class recall, coverage (the share of clips labelled) and
the risk-coverage curve (the accuracy of the 25, 50, 75 % of clips answered with the largest
decision value), and chance (majority class, 1/n_classes).
Writes ``<out>/audio_results.md`` and ``.json`` and prints the table. Features are cached under
``--cache-dir``, so a second run only refits the SVMs. Extraction speed is the clips' total
duration over their decoding plus extraction time (as first measured, one core per worker).

References: Livingstone & Russo, "The Ryerson Audio-Visual Database of Emotional Speech and Song
(RAVDESS)", PLoS ONE 2018; Cao et al., "CREMA-D: Crowd-sourced emotional multimodal actors
dataset", IEEE Trans. Affective Computing 2014; Eyben et al. 2016 (GeMAPS); Schuller et al. 2016
(ComParE).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.feature_selection import SelectPercentile, f_classif
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from emoset.app.report import chance_levels, classification_metrics, risk_coverage
from emoset.audio.features import LibrosaFeatures, OpenSmileFeatures
from emoset.audio.normalize import standardize_per_speaker
from emoset.datasets.corpora import clip_labels, clip_speakers, load_cremad, load_ravdess
from emoset.datasets.splits import load_split
from emoset.decision.abstain import AbstainingClassifier
from emoset.decision.fusion import WeightedScoreFusion, out_of_fold_scores
from emoset.decision.scoring import aligned_scores
from emoset.sets.kernels import EuclideanKernel
from pipelines.cross_corpus import CONFIGS as CROSS_CONFIGS
from pipelines.cross_corpus import cross_corpus_results
from pipelines.cross_corpus import render as render_cross

REPO = Path(__file__).resolve().parents[1]
logger = logging.getLogger("audio_results")

FEATURES = {
    "egemaps": ("eGeMAPSv02", lambda kw: OpenSmileFeatures("eGeMAPSv02", **kw)),
    "compare": ("ComParE_2016", lambda kw: OpenSmileFeatures("ComParE_2016", **kw)),
    "librosa": ("librosa (MFCC+spectral+F0)", lambda kw: LibrosaFeatures(**kw)),
}
LOADERS = {"ravdess": load_ravdess, "cremad": load_cremad}
MODELS = {
    "rbf": "RBF SVM",
    "rbf-unbalanced": "RBF SVM, no class weights",
    "linear": "linear SVM",
    "kbest-rbf": "ANOVA-F selection + RBF SVM",
    "kbest-linear": "ANOVA-F selection + linear SVM",
}
#: The RBF SVM's grid: ``C`` and ``gamma`` as multiples of ``1 / n_features`` (``--C``,
#: ``--gamma``).
RBF_CS = (1.0, 10.0, 100.0, 1000.0)
GAMMAS = (0.001, 0.01, 0.1, 1.0)
#: What a clip without a label (an abstention) is called in the metrics: never a class.
ABSTAINED = "(abstained)"


# --------------------------------------------------------------------------- models


def make_model(model, memory=None):
    """The pipeline of one model name: scaler -> [selection] -> kernel -> abstaining SVM.

    ``memory`` (``Pipeline(memory=...)``) keeps fitted scaler / selection / kernel steps, so the
    ``C`` values of one grid point share one Gram matrix.
    """
    kernel = "linear" if model.endswith("linear") else "rbf"
    balanced = None if model == "rbf-unbalanced" else "balanced"
    svm = SVC(kernel="precomputed", class_weight=balanced, random_state=0)
    steps = [("scale", StandardScaler())]
    if model.startswith("kbest"):
        steps.append(("select", SelectPercentile(f_classif)))
    steps += [("kernel", EuclideanKernel(kernel)), ("svm", AbstainingClassifier(svm))]
    return Pipeline(steps, memory=memory)


def model_grid(model, n_features, *, Cs, linear_Cs, gammas, percentiles):
    """The search grid of ``model`` (``gamma`` scaled by the number of kept features)."""
    if model.endswith("linear"):
        grid = {"svm__estimator__C": list(linear_Cs)}
        if model.startswith("kbest"):
            grid["select__percentile"] = list(percentiles)
        return grid
    if not model.startswith("kbest"):
        return {"svm__estimator__C": list(Cs), "kernel__gamma": [g / n_features for g in gammas]}
    return [
        {
            "select__percentile": [p],
            "svm__estimator__C": list(Cs),
            "kernel__gamma": [g / max(1.0, n_features * p / 100) for g in gammas],
        }
        for p in percentiles
    ]


def _scores_of(estimator, X, classes):
    """Decision values with columns in ``classes`` order; NaN rows for clips without features."""
    out = np.full((len(X), len(classes)), np.nan)
    ok = np.all(np.isfinite(X), axis=1)
    if ok.any():
        out[ok] = aligned_scores(estimator, X[ok], classes)
    return out


def _predict(estimator, X):
    """Labels; ``None`` (no label) for clips without features, as AbstainingClassifier does."""
    pred = np.full(len(X), None, dtype=object)
    ok = np.all(np.isfinite(X), axis=1)
    if ok.any():
        pred[ok] = estimator.predict(X[ok])
    return pred


def search_fold(model, X, y, groups, train, *, grid, inner_splits, n_jobs, memory=None):
    """The fitted inner grid search of one outer training fold (clips with features only)."""
    train = train[np.all(np.isfinite(X[train]), axis=1)]
    n_inner = min(inner_splits, len(set(groups[train])))
    search = GridSearchCV(
        make_model(model, memory),
        grid,
        scoring="balanced_accuracy",
        cv=GroupKFold(n_splits=n_inner),
        n_jobs=n_jobs,
        error_score="raise",
    )
    search.fit(X[train], y[train], groups=groups[train])
    return search


def evaluate(model, Xs, y, groups, folds, *, grid, inner_splits, n_jobs, memory=None):
    """Nested CV of one model: tune on each outer training fold, score its test fold once.

    Parameters
    ----------
    Xs : list of ndarray
        The feature matrix of every outer fold (band limit learned on its training clips).

    Returns
    -------
    y_pred : ndarray of object
        ``None`` for clips without features.
    searches : list of GridSearchCV
    """
    y_pred = np.empty(len(y), dtype=object)
    searches = []
    for X, (train, test) in zip(Xs, folds, strict=True):
        search = search_fold(
            model,
            X,
            y,
            groups,
            train,
            grid=grid,
            inner_splits=inner_splits,
            n_jobs=n_jobs,
            memory=memory,
        )
        y_pred[test] = _predict(search.best_estimator_, X[test])
        searches.append(search)
    return y_pred, searches


def fold_confidences(searches, Xs, folds, classes, n_clips):
    """The largest decision value of each test clip's answer (NaN without features)."""
    conf = np.full(n_clips, np.nan)
    for search, X, (_, test) in zip(searches, Xs, folds, strict=True):
        scores = _scores_of(search.best_estimator_, X[test], classes)
        ok = ~np.isnan(scores).all(axis=1)
        conf[test[ok]] = np.nanmax(scores[ok], axis=1)
    return conf


def evaluate_fusion(members, y, groups, folds, *, inner_splits, n_jobs):
    """Score-level fusion of searched rows, fitted on inner out-of-fold scores only.

    Parameters
    ----------
    members : list of (Xs, searches)
        Per member: its per-fold feature matrices and the fitted searches of :func:`evaluate`.

    Returns
    -------
    y_pred : ndarray of object
    weights : list of list of float
        The fusion weight of each member, per fold.
    confidence : ndarray of float
        The largest fused score of each test clip's answer.
    """
    classes = np.unique(y)
    y_pred = np.empty(len(y), dtype=object)
    confidence = np.full(len(y), np.nan)
    weights = []
    for k, (train, test) in enumerate(folds):
        oof, held_out = [], []
        for Xs, searches in members:
            X, est = Xs[k], searches[k].best_estimator_
            ok = train[np.all(np.isfinite(X[train]), axis=1)]
            n_inner = min(inner_splits, len(set(groups[ok])))
            s = np.full((len(train), len(classes)), np.nan)
            s[np.isin(train, ok)] = out_of_fold_scores(
                est, X[ok], y[ok], groups=groups[ok], cv=n_inner, classes=classes, n_jobs=n_jobs
            )
            oof.append(s)
            held_out.append(_scores_of(est, X[test], classes))
        fusion = WeightedScoreFusion("global", classes=classes).fit(np.stack(oof, axis=1), y[train])
        S = np.stack(held_out, axis=1)
        pred = np.full(len(test), None, dtype=object)
        scored = ~np.all(np.isnan(S).any(axis=2), axis=1)
        conf = np.full(len(test), np.nan)
        if scored.any():
            pred[scored] = fusion.predict(S[scored])
            conf[scored] = fusion.decision_function(S[scored]).max(axis=1)
        y_pred[test], confidence[test] = pred, conf
        weights.append([float(w) for w in fusion.weights_[:, 0]])
    return y_pred, weights, confidence


# --------------------------------------------------------------------------- scores


def fold_scores(y, y_pred, folds, classes, confidence=None):
    """Accuracy / UAR / per-class recall over the scored clips, and standard errors over folds;
    coverage and, given each answer's ``confidence``, the risk-coverage curve.

    ``None`` predictions (abstentions) count as wrong; clips outside every test fold are not
    scored.
    """
    scored = np.concatenate([te for _, te in folds])
    conf = np.zeros(len(y)) if confidence is None else np.asarray(confidence, dtype=float)
    rc = risk_coverage(
        np.asarray(y)[scored], np.asarray(y_pred, dtype=object)[scored], conf[scored]
    )
    y_pred = np.array([ABSTAINED if p is None else p for p in y_pred], dtype=object)
    pooled = classification_metrics(y[scored], y_pred[scored], labels=classes)
    per_fold = [classification_metrics(y[te], y_pred[te], labels=classes) for _, te in folds]

    def se(key):
        v = np.array([m[key] for m in per_fold])
        return float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")

    return {
        "accuracy": pooled["accuracy"],
        "accuracy_se": se("accuracy"),
        "uar": pooled["uar"],
        "uar_se": se("uar"),
        "accuracy_per_fold": [m["accuracy"] for m in per_fold],
        "uar_per_fold": [m["uar"] for m in per_fold],
        "recall": pooled["recall"],
        "n_abstained": int(np.sum(y_pred[scored] == ABSTAINED)),
        "coverage": rc["coverage"],
        "risk_coverage": rc["curve"] if confidence is not None else None,
    }


# --------------------------------------------------------------------------- features


def _folds(name, clips, n_splits):
    """The committed speaker-independent split ``<name>_<n_splits>fold`` and its file name."""
    name = f"{name}_{n_splits}fold"
    return load_split(name, clips), f"emoset/data/splits/{name}.csv"


def fold_features(factory, clips, folds):
    """Features of every outer fold, the band limit learned from that fold's training clips.

    Returns
    -------
    Xs : list of ndarray
        One matrix per fold (the same object where the band limits agree).
    info : pandas.DataFrame
        The per-clip extraction table (of the all-clips extractor).
    """
    full = factory().fit(clips)
    X, info = full.extract(clips)
    Xs, by_rate = [], {full.band_rate_: X}
    for train, _ in folds:
        tr = factory().fit([clips[i] for i in train])
        if tr.band_rate_ not in by_rate:
            logger.info("fold band limit %s Hz differs: extracting again", tr.bandwidth_)
            by_rate[tr.band_rate_] = tr.extract(clips)[0]
        Xs.append(by_rate[tr.band_rate_])
    return Xs, info


def _fmt(v):
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.1f}"


def _pm(row, key):
    return f"{_fmt(row[key])} ± {_fmt(row[key + '_se'])}"


def render(results) -> str:
    lines = []
    for corpus, res in results.items():
        classes = res["classes"]
        lines += [
            f"### {corpus}: {res['n_clips']} clips, {res['n_speakers']} speakers, "
            f"{len(classes)} classes; outer folds `{res['folds']}`",
            "",
            f"Chance: majority class {_fmt(res['chance_majority'])} %, "
            f"uniform 1/{len(classes)} = {_fmt(res['chance_uniform'])} %. "
            "Accuracy and UAR over all clips ± standard error over the outer folds (an "
            "abstention counts as wrong); coverage: the share of clips labelled; top 50 % / "
            "75 %: the accuracy of that share of the clips answered with the largest decision "
            "value (a risk-coverage curve).",
            "",
        ]
        for norm, title in (
            ("none", "Speaker-independent, non-transductive"),
            ("per-speaker z", "With per-speaker z-scoring (transductive over each test speaker)"),
        ):
            rows = [r for r in res["rows"] if r["norm"] == norm]
            if not rows:
                continue
            lines += [
                f"{title}:",
                "",
                "| features | dims | model | accuracy % | UAR % | coverage % | top 50 % | "
                "top 75 % | " + " | ".join(f"{c} %" for c in classes) + " |",
                "|---|---|---|---|---|---|---|---|" + "---|" * len(classes),
            ]
            for row in rows:
                lines.append(
                    f"| {row['features']} | {row['dims']} | {row['model']} | "
                    f"{_pm(row, 'accuracy')} | {_pm(row, 'uar')} | {_fmt(row['coverage'])} | "
                    f"{_fmt((row['risk_coverage'] or {}).get('50'))} | "
                    f"{_fmt((row['risk_coverage'] or {}).get('75'))} | "
                    + " | ".join(_fmt(row["recall"][c]) for c in classes)
                    + " |"
                )
            lines.append("")
        if not res["per_speaker_norm"]:
            lines += ["Per-speaker standardisation: not run for this corpus.", ""]
        speed = ", ".join(f"{k} {v:.0f}x" for k, v in res["speed_x_realtime"].items())
        lines += [f"Extraction speed (real time, one core per worker): {speed}.", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- command


def _parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None, help="data root (default: find_data_root)")
    parser.add_argument("--corpora", nargs="+", default=list(LOADERS), choices=list(LOADERS))
    parser.add_argument("--speakers", nargs="+", default=None, help="keep only these speakers")
    parser.add_argument(
        "--clip-pattern", default=None, help="keep only clips whose id matches this regex"
    )
    parser.add_argument("--features", nargs="+", default=list(FEATURES), choices=list(FEATURES))
    parser.add_argument("--models", nargs="+", default=["rbf"], choices=list(MODELS))
    parser.add_argument(
        "--fuse",
        nargs="*",
        default=[],
        metavar="FEATURE/MODEL+FEATURE/MODEL",
        help="score-level fusion of two evaluated rows, e.g. egemaps/rbf+compare/rbf",
    )
    parser.add_argument(
        "--per-speaker-norm",
        nargs="*",
        default=None,
        metavar="MODEL",
        help="also report rows with per-speaker z-scoring (transductive): for the given "
        "models, or for all models when none is given",
    )
    parser.add_argument("--cache-dir", default=str(REPO / ".cache"))
    parser.add_argument("--out", default=str(REPO / "results" / "audio"))
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--n-splits", type=int, default=5, help="the committed split file")
    parser.add_argument(
        "--max-folds", type=int, default=None, help="score only the first N outer folds"
    )
    parser.add_argument("--inner-splits", type=int, default=4)
    parser.add_argument("--C", type=float, nargs="+", default=list(RBF_CS))
    parser.add_argument("--linear-C", type=float, nargs="+", default=[1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    parser.add_argument(
        "--gamma",
        type=float,
        nargs="+",
        default=list(GAMMAS),
        help="gamma grid as multiples of 1/n_features",
    )
    parser.add_argument(
        "--percentile",
        type=float,
        nargs="+",
        default=[10.0, 25.0, 50.0],
        help="percent of features kept by the kbest models",
    )
    parser.add_argument(
        "--cross-corpus",
        nargs="*",
        default=None,
        choices=list(CROSS_CONFIGS),
        metavar="CONFIG",
        help="also the cross-corpus table of pipelines.cross_corpus (train CREMA-D -> test "
        "RAVDESS, RAVDESS -> CREMA-D, both -> unseen speakers; coverage, risk-coverage) for "
        f"these configurations (none named: peer default speaker-norm; of {list(CROSS_CONFIGS)})",
    )
    parser.add_argument("--verbose", type=int, default=0)
    return parser


def _check_fuse(fuse, features, models):
    pairs = []
    for spec in fuse:
        members = spec.split("+")
        keys = [tuple(m.split("/")) for m in members]
        if len(keys) < 2 or any(len(k) != 2 for k in keys):
            raise SystemExit(f"--fuse {spec!r}: expected FEATURE/MODEL+FEATURE/MODEL.")
        for f, m in keys:
            if f not in features or m not in models:
                raise SystemExit(
                    f"--fuse {spec!r}: {f}/{m} is not evaluated (features {features}, "
                    f"models {models})."
                )
        pairs.append((spec, keys))
    return pairs


def run_corpus(corpus, args, fuse, memory=None):
    clips = LOADERS[corpus](args.data_root)
    if args.speakers:
        clips = [c for c in clips if c.speaker in set(args.speakers)]
    if args.clip_pattern:
        clips = [c for c in clips if re.search(args.clip_pattern, c.id)]
    if not clips:
        raise SystemExit(
            f"{corpus}: no clips left (speakers {args.speakers}, pattern {args.clip_pattern!r})."
        )
    y = clip_labels(clips)
    groups = clip_speakers(clips)
    classes = sorted(set(y))
    folds, fold_src = _folds(corpus, clips, args.n_splits)
    if args.max_folds:
        folds = folds[: args.max_folds]
    evaluated = np.unique(np.concatenate([te for _, te in folds]))
    chance = chance_levels(y[evaluated])
    # Per-speaker norm needs several clips per speaker; most CREMA-D actors here have one.
    per_speaker = bool(
        args.per_speaker_norm is not None
        and np.median(np.unique(groups, return_counts=True)[1]) >= 5
    )
    norm_models = args.per_speaker_norm or args.models
    res = {
        "n_clips": int(len(evaluated)),
        "n_speakers": len(set(groups[evaluated])),
        "classes": classes,
        "folds": fold_src + (f" (first {len(folds)})" if args.max_folds else ""),
        "n_folds": len(folds),
        "chance_majority": chance["majority"],
        "chance_uniform": chance["uniform"],
        "per_speaker_norm": per_speaker,
        "speed_x_realtime": {},
        "rows": [],
    }
    kw = dict(n_jobs=args.n_jobs, cache_dir=args.cache_dir, verbose=args.verbose)
    fitted = {}
    norms = ["none", "per-speaker z"] if per_speaker else ["none"]
    for feat in args.features:
        label, factory = FEATURES[feat]
        t0 = time.perf_counter()
        Xs, info = fold_features(lambda f=factory: f(kw), clips, folds)
        usable = info["status"].isin(["ok", "short"])
        speed = float(info["duration"][usable].sum() / info["seconds"][usable].sum())
        res["speed_x_realtime"][label] = speed
        logger.info(
            "%s %s: %s in %.1f s (%d from cache), %.0fx real time, %d without features",
            corpus,
            feat,
            Xs[0].shape,
            time.perf_counter() - t0,
            int(info["cached"].sum()),
            speed,
            int((~usable).sum()),
        )
        d = Xs[0].shape[1]
        for norm in norms:
            Xn = Xs if norm == "none" else [standardize_per_speaker(X, groups) for X in Xs]
            for model in args.models:
                if norm != "none" and model not in norm_models:
                    continue
                grid = model_grid(
                    model,
                    d,
                    Cs=args.C,
                    linear_Cs=args.linear_C,
                    gammas=args.gamma,
                    percentiles=args.percentile,
                )
                t0 = time.perf_counter()
                y_pred, searches = evaluate(
                    model,
                    Xn,
                    y,
                    groups,
                    folds,
                    grid=grid,
                    inner_splits=args.inner_splits,
                    n_jobs=args.n_jobs,
                    memory=memory,
                )
                fitted[(feat, model, norm)] = (Xn, searches)
                row = {
                    "key": f"{feat}/{model}",
                    "features": label,
                    "dims": int(d),
                    "model": MODELS[model],
                    "norm": norm,
                    **fold_scores(
                        y,
                        y_pred,
                        folds,
                        classes,
                        fold_confidences(searches, Xn, folds, classes, len(y)),
                    ),
                    "best_params_per_fold": [s.best_params_ for s in searches],
                    "cv_seconds": time.perf_counter() - t0,
                }
                res["rows"].append(row)
                logger.info(
                    "%s %s/%s %s: acc %.3f±%.3f UAR %.3f (%.0f s) %s",
                    corpus,
                    feat,
                    model,
                    norm,
                    row["accuracy"],
                    row["accuracy_se"],
                    row["uar"],
                    row["cv_seconds"],
                    row["best_params_per_fold"],
                )
    for spec, keys in fuse:
        for norm in norms:
            if any((f, m, norm) not in fitted for f, m in keys):
                continue
            t0 = time.perf_counter()
            y_pred, weights, confidence = evaluate_fusion(
                [fitted[(f, m, norm)] for f, m in keys],
                y,
                groups,
                folds,
                inner_splits=args.inner_splits,
                n_jobs=args.n_jobs,
            )
            row = {
                "key": spec,
                "features": " + ".join(FEATURES[f][0] for f, _ in keys),
                "dims": sum(fitted[(f, m, norm)][0][0].shape[1] for f, m in keys),
                "model": "score fusion (" + " + ".join(m for _, m in keys) + ")",
                "norm": norm,
                **fold_scores(y, y_pred, folds, classes, confidence),
                "fusion_weights_per_fold": weights,
                "cv_seconds": time.perf_counter() - t0,
            }
            res["rows"].append(row)
            logger.info(
                "%s %s %s: acc %.3f UAR %.3f weights %s",
                corpus,
                spec,
                norm,
                row["accuracy"],
                row["uar"],
                weights,
            )
    return res


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    fuse = _check_fuse(args.fuse, args.features, args.models)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*native sample rate below.*")
            # inner CREMA-D folds can miss a class; balanced accuracy says so for every fit
            warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
            # band-limited (8 kHz) CREMA-D audio leaves some ComParE functionals constant: their
            # F value is undefined and SelectPercentile ranks them last, as it should
            warnings.filterwarnings("ignore", message="Features .* are constant")
            warnings.filterwarnings("ignore", message="invalid value encountered in divide")
            with tempfile.TemporaryDirectory(prefix="audio_results-") as tmp:
                memory = joblib.Memory(tmp, verbose=0)  # fitted steps of this run only
                results = {c: run_corpus(c, args, fuse, memory) for c in args.corpora}
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = render(results)
    cross = None
    if args.cross_corpus is not None:
        configs = args.cross_corpus or ["peer", "default", "speaker-norm"]
        scenarios = ["cremad-to-ravdess", "ravdess-to-cremad", "both-to-unseen"]
        cross, _ = cross_corpus_results(args.data_root, args.cache_dir, configs, scenarios)
        table += "\n\n### Speech across corpora (pipelines.cross_corpus)\n\n" + render_cross(cross)
    command = "python -m pipelines.audio_results " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    (out / "audio_results.md").write_text(
        "## Speech emotion recognition, speaker-independent (nested CV)\n\n"
        f"Command: `{command.strip()}`\n\n" + table + "\n"
    )
    (out / "audio_results.json").write_text(
        json.dumps(
            {
                "command": command.strip(),
                "grid": {
                    "C": args.C,
                    "linear_C": args.linear_C,
                    "gamma_x_1_over_d": args.gamma,
                    "percentile": args.percentile,
                },
                "inner_splits": args.inner_splits,
                "results": results,
                "cross_corpus": cross,
            },
            indent=2,
            default=str,
        )
    )
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
