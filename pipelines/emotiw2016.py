"""Reproduce the EmotiW 2014/2016 audio-visual system: image-set PLS, audio SVM, late fusion.

Usage::

    python -m pipelines.emotiw2016 [--data-root DIR] [--out results/emotiw2016] [--n-jobs 2]
    AFEW_ROOT=/path/to/AFEW python -m pipelines.emotiw2016
    python -m pipelines.emotiw2016 --dask-scheduler tcp://10.0.0.5:8786   # extraction on a cluster

With ``AFEW_ROOT`` (the EmotiW layout ``Train_AFEW/<Emotion>/*.avi``, ``Val_AFEW/...``) it trains
on Train and reports on Val, as the challenge did. Otherwise it runs on the CREMA-D clips of the
data root (``../shared/data``: 80 face crops + 6 full frames, 56 actors) with the committed
speaker-independent 5-fold split (``emoset/data/splits/cremad_5fold.csv``): no actor is ever in both
train and test.

In every outer fold an :class:`emoset.recognizer.system.AudioVisualEmotionRecognizer` is trained on the
training clips only. Inside it, each subsystem (DenseSIFT image sets -> PLS, emotion-CNN image
sets -> PLS, speech functionals -> SVM) picks its set model / feature set by speaker-grouped
inner cross-validation, and the out-of-fold scores of the training clips are what every fusion
scheme is fitted on. The test fold is used once, to score. A descriptive table of every set
model x kernel x classifier (PLS / SVM / LR) on the same outer folds comes with it, and (not
with ``--quick``) mirror augmentation off / on: in every outer fold the same recognizer is
fitted again with ``mirror=True``.

Writes ``<out>/metrics.json`` (versions, seed, git commit, every number), ``<out>/report.md``
(the tables), ``<out>/confusion.png`` and ``<out>/emotion_map.png``. Features are cached by
content under ``--cache-dir``, so a second run only refits the classifiers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from emoset.recognizer.subsystems import MIN_FACES

REPO = Path(__file__).resolve().parents[1]
logger = logging.getLogger("emotiw2016")

#: Published AFEW results (7 classes), for reference only: not comparable with CREMA-D numbers.
PUBLISHED = [
    {
        "system": "Ding et al. 2016 (EmotiW 2016, audio-visual fusion)",
        "split": "AFEW 6.0 test",
        "accuracy": 0.539,
    },
    {
        "system": "Liu et al. 2014 (EmotiW 2014 winner, multiple kernels + PLS)",
        "split": "AFEW 4.0 test",
        "accuracy": 0.504,
    },
    {
        "system": "EmotiW 2016 baseline (LBP-TOP + SVR)",
        "split": "AFEW 6.0 test",
        "accuracy": 0.4047,
    },
]

FEATURES = ("densesift", "cnn")
GRID_FEATURES = (*FEATURES, "landmarks")  # the grid's rows (full mode)
GRID = [  # (set model, kernel): the descriptive table
    ("mean", "linear"),
    ("mean", "rbf"),
    ("subspace", "linear"),
    ("subspace", "poly"),
    ("subspace", "rbf"),
    ("covariance", "linear"),
    ("covariance", "poly"),
    ("covariance", "rbf"),
    ("gaussian", "linear"),
    ("gaussian", "poly"),
    ("gaussian", "rbf"),
]
#: Dimension of the subspace set models (the grid's and the recognizer's default candidates).
SUBSPACE_DIM = 10
QUICK_GRID = [("mean", "rbf"), ("subspace", "linear"), ("covariance", "rbf")]
CLASSIFIERS = ("pls", "svm", "lr")


def _imageset_pipeline(set_model, kernel, classifier):
    """``set model -> kernel -> classifier`` with the grid's fixed hyperparameters."""
    from emoset.sets.classifiers import make_imageset_pipeline

    n_pca = 32 if set_model in ("covariance", "gaussian") else 64
    return make_imageset_pipeline(
        set_model,
        kernel=kernel,
        n_pca=n_pca,
        n_dims=SUBSPACE_DIM,
        n_components=10,
        classifier=classifier,
        random_state=0,
    )


def _git_commit():
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions():
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in (
        "emoset",
        "numpy",
        "scipy",
        "scikit-learn",
        "opensmile",
        "librosa",
        "dlib-bin",
        "onnxruntime",
        "opencv-python-headless",
        "av",
        "ikpls",
    ):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _load(args):
    """Clips and outer folds: AFEW Train->Val, else CREMA-D speaker-grouped 5-fold."""
    from emoset.datasets.corpora import load_afew, load_cremad
    from emoset.datasets.splits import load_split, speaker_kfold

    afew = args.afew_root or os.environ.get("AFEW_ROOT")
    if afew:
        train = load_afew(afew, partitions=("Train",))
        val = load_afew(afew, partitions=("Val",))
        clips = train + val
        folds = [(np.arange(len(train)), np.arange(len(train), len(clips)))]
        return (
            clips,
            folds,
            {"corpus": "AFEW", "protocol": "train on Train, report on Val", "n_clips": len(clips)},
        )
    clips = load_cremad(args.data_root)
    try:
        folds = load_split("cremad_5fold", clips)
        protocol = "speaker-independent 5-fold CV (emoset/data/splits/cremad_5fold.csv)"
    except ValueError as exc:  # a different CREMA-D copy (e.g. fetched): make the folds
        if "is not in the split file" not in str(exc):
            raise
        folds = speaker_kfold(clips, 5, random_state=args.seed)
        protocol = (
            f"speaker-independent 5-fold CV (StratifiedGroupKFold by actor, seed {args.seed})"
        )
    return (
        clips,
        folds,
        {
            "corpus": "CREMA-D",
            "protocol": protocol,
            "n_clips": len(clips),
            "n_speakers": len({c.speaker for c in clips}),
        },
    )


def _metrics(y, pred, labels, folds=None):
    """Metrics over the test clips of ``folds`` (default: all clips); a clip a subsystem
    abstained on counts as wrong.

    With several outer folds, ``fold_accuracy`` and ``se`` (the standard error of the mean
    fold accuracy, ``std(ddof=1) / sqrt(n_folds)``) are added.
    """
    from emoset.app.report import classification_metrics

    pred = np.array(["(abstained)" if p is None else p for p in pred], dtype=object)
    tested = slice(None) if folds is None else np.sort(np.concatenate([te for _, te in folds]))
    m = classification_metrics(y[tested], pred[tested], labels=labels)
    m["abstained"] = int(np.sum(pred[tested] == "(abstained)"))
    if folds is not None and len(folds) > 1:
        acc = [float(np.mean(pred[te] == y[te])) for _, te in folds]
        m["fold_accuracy"] = [round(a, 4) for a in acc]
        m["se"] = float(np.std(acc, ddof=1) / np.sqrt(len(acc)))
    return m


def run_grid(sets, y, folds, grid, classifiers):
    """Outer-fold accuracy of every feature x set model x kernel x classifier (descriptive).

    The set models and the kernel matrix are computed once per fold and shared by the
    classifiers (no on-disk cache of pickles needed).
    """
    rows = []
    for feat, feat_sets in sets.items():
        for set_model, kernel in grid:
            preds = {c: np.empty(len(y), dtype=object) for c in classifiers}
            t0 = time.perf_counter()
            for train, test in folds:
                tr = [i for i in train if len(feat_sets[i]) >= MIN_FACES]
                te = [i for i in test if len(feat_sets[i]) >= MIN_FACES]
                front = _imageset_pipeline(set_model, kernel, classifiers[0])[:-1]
                K_train = front.fit_transform([feat_sets[i] for i in tr], y[tr])
                K_test = front.transform([feat_sets[i] for i in te])
                for clf in classifiers:
                    model = _imageset_pipeline(set_model, kernel, clf)[-1]
                    preds[clf][te] = model.fit(K_train, y[tr]).predict(K_test)
            seconds = time.perf_counter() - t0
            for clf in classifiers:
                m = _metrics(y, preds[clf], sorted(set(y)), folds)
                rows.append(
                    {
                        "feature": feat,
                        "set_model": set_model,
                        "kernel": kernel,
                        "classifier": clf,
                        "accuracy": m["accuracy"],
                        "uar": m["uar"],
                        "seconds": seconds / len(classifiers),
                    }
                )
            logger.info(
                "grid %s %s-%s: %s",
                feat,
                set_model,
                kernel,
                {r["classifier"]: round(r["accuracy"], 3) for r in rows[-len(classifiers) :]},
            )
    return rows


def mirror_rows(y, folds, off, on, labels):
    """Mirror augmentation off / on, side by side: ``{"nested": rows, "fixed": rows}``.

    ``off`` and ``on`` are the test-fold predictions of recognizers fitted with
    ``mirror=False`` / ``mirror=True`` on the same outer folds: ``{"nested": {system:
    labels}, "fixed": {(feature, set model, kernel): labels}}``.
    """
    out = {}
    for part in ("nested", "fixed"):
        rows = []
        for key in off[part]:
            row = {"system": key} if part == "nested" else dict(zip(FIXED_KEYS, key, strict=True))
            for mode, pred in (("off", off[part][key]), ("on", on[part][key])):
                m = _metrics(y, pred, labels, folds)
                row[mode], row[f"{mode}_se"] = m["accuracy"], m.get("se")
            rows.append(row)
        out[part] = rows
    return out


FIXED_KEYS = ("feature", "set_model", "kernel")


def _mirror_predictions(model, test_clips, preds, test, n):
    """Fill ``preds`` (``{"nested": ..., "fixed": ...}``) with one fold's test labels of
    ``model``: its video subsystems, the main fusion, and every video candidate."""
    from emoset.decision.scoring import scores_to_labels

    classes = model.classes_

    def put(part, key, scores):
        preds[part].setdefault(key, np.empty(n, dtype=object))[test] = scores_to_labels(
            scores, classes
        )

    subsystems = model.subsystem_scores(test_clips)
    for name, scores in subsystems.items():
        if model.modalities_[name] == "video":
            put("nested", name, scores)
    put("nested", f"fusion {MAIN_FUSION}", model.fusion_.decision_function(subsystems))
    for name, cands in model.candidate_scores(test_clips).items():
        if model.modalities_[name] != "video":
            continue
        for pipe, scores in zip(model.candidates_[name], cands, strict=True):
            est = pipe.steps[-1][1].estimator
            put("fixed", (model.frame_features_[name], est.set_model, est.kernel), scores)


FUSIONS = {
    # name: (description, subsystems, fusion factory)
    "global-2": (
        "same weight for every class; best video (by inner CV) + audio",
        "best2",
        lambda: _weighted("global"),
    ),
    "per-class-2": (
        "one weight per class; best video + audio",
        "best2",
        lambda: _weighted("per_class"),
    ),
    "global-3": (
        "same weight for every class; DenseSIFT-PLS + CNN-PLS + audio-SVM",
        "all",
        lambda: _weighted("global"),
    ),
    "per-class-3": (
        "per-class weights over DenseSIFT-PLS + CNN-PLS + audio-SVM",
        "all",
        lambda: _weighted("per_class"),
    ),
    "stacking-3": (
        "logistic regression on the 3 subsystems' z-scored scores",
        "all",
        lambda: _stacking(),
    ),
}
MAIN_FUSION = "per-class-3"  # fixed before looking at any result: the recognizer's default

#: Set models whose kernels each become a PLS subsystem in the multiple-kernel fusion (Liu et
#: al. 2014; Ding et al. 2016); the quick mode keeps the first two.
MKL_SET_MODELS = ("subspace", "covariance", "gaussian")
MKL_FUSIONS = {
    # name: description (every weight fitted on the inner out-of-fold scores)
    "pick-one-video": "per-class weights over DenseSIFT-PLS + CNN-PLS, one set model each "
    "(video only)",
    "mkl-video": "per-class weights over every feature x kernel PLS (video only)",
    "pick-one-video+landmarks": "pick-one-video + the landmarks SVM (video only)",
    "mkl-video+landmarks": "mkl-video + the landmarks SVM (video only)",
    "mkl-per-class": "per-class weights over every feature x kernel PLS + audio-SVM",
    "mkl-kernel-mean": "per feature, the mean of its kernels' z-scored scores; then per-class "
    "weights over the features + audio-SVM",
    "pick-one+landmarks": "per-class-3 + the landmarks SVM (4 subsystems)",
    "mkl+landmarks": "mkl-per-class + the landmarks SVM",
    # the same with one weight per subsystem (fewer weights to fit on ~70 clips)
    "mkl-video-global": "mkl-video with one weight per subsystem for all classes",
    "pick-one-video+landmarks-global": "pick-one-video+landmarks with one weight per subsystem",
    "mkl-global": "mkl-per-class with one weight per subsystem",
    "pick-one+landmarks-global": "pick-one+landmarks with one weight per subsystem",
}


def _weighted(scheme):
    from emoset.decision.fusion import WeightedScoreFusion

    return WeightedScoreFusion(scheme=scheme)


def _stacking():
    from emoset.decision.fusion import StackingFusion

    return StackingFusion()


def run_system(clips, y, folds, args):
    """Nested evaluation of the recognizer and of every fusion scheme on the outer folds."""
    from sklearn.base import clone

    from emoset.decision.scoring import scores_to_labels
    from emoset.recognizer.subsystems import default_audio_subsystems, default_video_subsystems
    from emoset.recognizer.system import AudioVisualEmotionRecognizer

    subsystem_pred, fusion_pred = {}, {name: np.empty(len(y), dtype=object) for name in FUSIONS}
    selected, problems = [], {}
    mirror = {m: {"nested": {}, "fixed": {}} for m in ("off", "on")}
    audio = default_audio_subsystems(random_state=args.seed, sets=False)  # the 2016 recipe
    video = default_video_subsystems(FEATURES, random_state=args.seed)  # the EmotiW recipe
    if args.quick:
        audio = {"audio-svm": audio["audio-svm"][:1]}
        video = {n: c[:2] for n, c in video.items()}
    for k, (train, test) in enumerate(folds):
        t0 = time.perf_counter()
        train_clips = [clips[i] for i in train]
        test_clips = [clips[i] for i in test]
        model = AudioVisualEmotionRecognizer(
            video=video,
            audio=audio,
            cache_dir=args.cache_dir,
            n_jobs=args.n_jobs,
            random_state=args.seed,
            keep_candidates=True,  # every set model's PLS, for the multiple-kernel fusion
        )
        model.fit(train_clips)
        if not args.quick:  # mirror augmentation on: the same recognizer with mirror=True
            _mirror_predictions(model, test_clips, mirror["off"], test, len(y))
            mirrored = clone(model).set_params(mirror=True).fit(train_clips)
            _mirror_predictions(mirrored, test_clips, mirror["on"], test, len(y))
        for clip, reasons in model.data_problems_.items():
            problems.setdefault(clip, set()).update(reasons)
        scores = model.subsystem_scores(test_clips)
        for name, s in scores.items():
            subsystem_pred.setdefault(name, np.empty(len(y), dtype=object))[test] = (
                scores_to_labels(s, model.classes_)
            )
        video_names = [n for n, m in model.modalities_.items() if m == "video"]
        audio_names = [n for n, m in model.modalities_.items() if m == "audio"]
        # the video subsystem whose chosen candidate had the best out-of-fold accuracy
        best_video = max(video_names, key=lambda n: max(model.candidate_scores_[n]))
        groups = {"all": video_names + audio_names, "best2": [best_video] + audio_names}
        for name, (_, which, factory) in FUSIONS.items():
            names = groups[which]
            fusion = (
                factory()
                .set_params(classes=model.classes_)
                .fit({n: model.oof_scores_[n] for n in names}, y[train])
            )
            fused = fusion.decision_function({n: scores[n] for n in names})
            fusion_pred[name][test] = scores_to_labels(fused, model.classes_)
        mkl, extra = _multiple_kernel(train_clips, y[train], test_clips, model, scores, args)
        for name, s in extra.items():  # the landmarks SVM, reported beside the others
            subsystem_pred.setdefault(name, np.empty(len(y), dtype=object))[test] = (
                scores_to_labels(s, model.classes_)
            )
        for name, fused in mkl.items():
            fusion_pred.setdefault(name, np.empty(len(y), dtype=object))[test] = scores_to_labels(
                fused, model.classes_
            )
        selected.append(
            {
                "fold": k,
                "selected": dict(model.selected_),
                "candidate_oof_accuracy": {
                    n: [round(a, 4) for a in v] for n, v in model.candidate_scores_.items()
                },
                "best_video": best_video,
                "fusion_weights": model.fusion_.weights_.round(3).tolist(),
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
        logger.info(
            "fold %d: %s | fused %.3f (%.0f s)",
            k,
            {n: round(float(np.mean(subsystem_pred[n][test] == y[test])), 3) for n in scores},
            float(np.mean(fusion_pred[MAIN_FUSION][test] == y[test])),
            time.perf_counter() - t0,
        )
    return subsystem_pred, fusion_pred, selected, problems, mirror


def _multiple_kernel(train_clips, y_train, test_clips, model, scores, args):
    """Multiple-kernel fusion and the landmarks SVM on one outer fold, beside pick-one.

    ``model`` (fitted with ``keep_candidates=True``) holds every set model candidate of each
    frame feature fitted on the training clips, with its inner out-of-fold scores: each
    frame feature x kernel in :data:`MKL_SET_MODELS` is one PLS subsystem here. The landmarks
    SVM is trained by its own recognizer on the same clips (the same speaker-grouped inner
    folds). Every fusion weight is fitted on the inner out-of-fold scores only. Returns
    ``({fusion name: test scores}, {"landmarks-svm": test scores})``.
    """
    from emoset.decision.fusion import WeightedScoreFusion
    from emoset.recognizer.subsystems import landmarks_video_subsystems
    from emoset.recognizer.system import AudioVisualEmotionRecognizer

    geometry = AudioVisualEmotionRecognizer(
        video=landmarks_video_subsystems(random_state=args.seed),
        audio={},
        cache_dir=args.cache_dir,
        n_jobs=args.n_jobs,
        random_state=args.seed,
    ).fit(train_clips)
    classes = model.classes_
    oof = {**model.oof_scores_, **geometry.oof_scores_}
    test = {**scores, **geometry.subsystem_scores(test_clips)}
    candidate_test = model.candidate_scores(test_clips)
    kernels = {feature: [] for feature in FEATURES}
    for feature in FEATURES:
        name = f"{feature}-pls"
        for k, pipe in enumerate(model.candidates_[name]):
            set_model = pipe.steps[-1][1].estimator.set_model
            if set_model in MKL_SET_MODELS:
                kname = f"{feature}-{set_model}-pls"
                oof[kname] = model.candidate_oof_scores_[name][k]
                test[kname] = candidate_test[name][k]
                kernels[feature].append(kname)
    audio = [n for n, m in model.modalities_.items() if m == "audio"]
    pick = [n for n, m in model.modalities_.items() if m == "video"]
    mkl = [n for names in kernels.values() for n in names]
    lm = list(geometry.subsystems_)

    def per_class(names, train_scores=oof, test_scores=test, scheme="per_class"):
        fusion = WeightedScoreFusion(scheme, classes=classes).fit(
            {n: train_scores[n] for n in names}, y_train
        )
        return fusion.decision_function({n: test_scores[n] for n in names})

    out = {
        "pick-one-video": per_class(pick),
        "mkl-video": per_class(mkl),
        "pick-one-video+landmarks": per_class(pick + lm),
        "mkl-video+landmarks": per_class(mkl + lm),
        "mkl-per-class": per_class(mkl + audio),
        "pick-one+landmarks": per_class(pick + lm + audio),
        "mkl+landmarks": per_class(mkl + lm + audio),
        "mkl-video-global": per_class(mkl, scheme="global"),
        "pick-one-video+landmarks-global": per_class(pick + lm, scheme="global"),
        "mkl-global": per_class(mkl + audio, scheme="global"),
        "pick-one+landmarks-global": per_class(pick + lm + audio, scheme="global"),
    }
    mean_oof, mean_test = {}, {}
    for feature, names in kernels.items():  # equal weights: only the z-score statistics fitted
        mean = WeightedScoreFusion(weights=np.ones(len(names)), classes=classes)
        mean.fit({n: oof[n] for n in names}, y_train)
        mean_oof[feature] = mean.decision_function({n: oof[n] for n in names})
        mean_test[feature] = mean.decision_function({n: test[n] for n in names})
    for n in audio:
        mean_oof[n], mean_test[n] = oof[n], test[n]
    out["mkl-kernel-mean"] = per_class(list(mean_oof), mean_oof, mean_test)
    return out, {n: test[n] for n in lm}


def emotion_map(sets, y, path):
    """2-D map: clips in the first two latent dimensions of one PLS2 fitted on all clips."""
    from emoset.app.report import plot_emotion_map
    from emoset.sets.classifiers import ImageSetPLS

    ok = [i for i, s in enumerate(sets) if len(s) >= MIN_FACES]
    model = ImageSetPLS(
        "mean", kernel="rbf", n_pca=64, n_components=10, pls_strategy="pls2", random_state=0
    ).fit([sets[i] for i in ok], y[ok])
    T = model.latent_scores([sets[i] for i in ok], n_components=2)[:, 0, :]
    return plot_emotion_map(
        T,
        y[ok],
        path,
        axis_labels=("PLS latent 1", "PLS latent 2"),
        title="Emotion map: CNN image sets in the first two PLS2 latent "
        "dimensions\n(fitted on all clips: a picture of the data, "
        "not a test result)",
    )


def _pct(x):
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.1f}"


def write_report(out, info, results):
    from emoset.app.report import markdown_table

    lines = [
        f"# EmotiW 2016 reproduction — {info['corpus']}",
        "",
        f"Protocol: {info['protocol']}; {info['n_clips']} clips"
        + (f", {info['n_speakers']} speakers" if "n_speakers" in info else "")
        + ".",
        f"Chance: majority class {_pct(results['chance']['majority'])} %, uniform "
        f"{_pct(results['chance']['uniform'])} %. Accuracy and UAR (unweighted average "
        "recall) in %. Every model, hyperparameter, candidate and fusion weight was chosen "
        "on training clips only.",
        "",
    ]
    lines += [
        "## Subsystems and fusion (nested: inner CV picks set model / features and fits "
        "the fusion)",
        "",
    ]

    def row(label, m):
        return {
            "system": label,
            "acc": _pct(m["accuracy"]),
            "se": _pct(m.get("se")),
            "uar": _pct(m["uar"]),
            "n": m["n"],
        }

    rows = [row(name, m) for name, m in results["subsystems"].items()]
    for name in FUSIONS:
        label = f"fusion {name}" + (" (main)" if name == MAIN_FUSION else "")
        rows.append(row(label, results["fusion"][name]))
    for name, h in results.get("human", {}).items():
        if h is not None:
            rows.append(
                {
                    "system": f"human raters (majority vote), {name}",
                    "acc": _pct(h["accuracy"]),
                    "se": "–",
                    "uar": _pct(h["uar"]),
                    "n": h["n"],
                }
            )
    chance = {
        "system": "chance (majority class)",
        "acc": _pct(results["chance"]["majority"]),
        "se": "–",
        "uar": _pct(1 / len(results["labels"])),
        "n": results["fusion"][MAIN_FUSION]["n"],
    }
    headers = {"acc": "accuracy %", "se": "± SE (folds)", "uar": "UAR %"}
    lines += [markdown_table([*rows, chance], headers=headers), ""]
    lines += ["Fusion schemes: " + "; ".join(f"**{k}**: {v[0]}" for k, v in FUSIONS.items()), ""]
    lines += [
        "## Multiple-kernel fusion beside pick-one (same outer folds, nested)",
        "",
        "Pick-one: each frame feature keeps the set model with the best inner out-of-fold "
        "accuracy. Multiple-kernel: every feature x kernel is its own PLS subsystem and all "
        "are fused per class (Liu et al. 2014; Ding et al. 2016). Every weight is fitted on "
        "the inner out-of-fold scores of the training clips.",
        "",
    ]
    mkl_rows = [row(f"pick-one {MAIN_FUSION} (main)", results["fusion"][MAIN_FUSION])]
    mkl_rows += [row(name, results["fusion"][name]) for name in MKL_FUSIONS]
    lines += [markdown_table([*mkl_rows, chance], headers=headers), ""]
    lines += ["; ".join(f"**{k}**: {v}" for k, v in MKL_FUSIONS.items()), ""]
    lines += ["## Per-class recall (%)", ""]
    rows = []
    for name, m in list(results["subsystems"].items()) + [
        (f"fusion {MAIN_FUSION}", results["fusion"][MAIN_FUSION])
    ]:
        rows.append({"system": name, **{c: _pct(r) for c, r in m["recall"].items()}})
    lines += [markdown_table(rows), ""]
    lines += [
        "## Set model x kernel x classifier (descriptive, same outer folds)",
        "",
        "Each row is one fixed configuration evaluated on the outer folds; choosing the "
        "best row afterwards would be choosing on test data, which the nested system "
        "above does not do.",
        "",
    ]
    grid = results["grid"]
    rows = []
    keys = sorted(
        {(r["feature"], r["set_model"], r["kernel"]) for r in grid},
        key=lambda k: (GRID_FEATURES.index(k[0]) if k[0] in GRID_FEATURES else 9, k[1], k[2]),
    )
    for feat, sm, ker in keys:
        row = {"feature": feat, "set model": sm, "kernel": ker}
        for r in grid:
            if (r["feature"], r["set_model"], r["kernel"]) == (feat, sm, ker):
                row[r["classifier"].upper()] = _pct(r["accuracy"])
        rows.append(row)
    lines += [markdown_table(rows), ""]
    means = {
        c: np.mean([r["accuracy"] for r in grid if r["classifier"] == c])
        for c in CLASSIFIERS
        if any(r["classifier"] == c for r in grid)
    }
    lines += [
        "Mean over configurations: "
        + ", ".join(f"{c.upper()} {_pct(v)} %" for c, v in means.items()),
        "",
    ]
    if results.get("mirror"):
        lines += [
            "## Mirror augmentation off / on (same outer folds, nested)",
            "",
            "On: the recognizer fitted with `mirror=True` (`emoset train --mirror`): every "
            "training clip also gives the video subsystems the image set of its horizontally "
            "mirrored faces (same label, same speaker: never on the held-out side of an inner "
            "fold, never scored); test clips are never mirrored. Off: the main run. Accuracy "
            "% ± SE over the folds.",
            "",
        ]

        def on_off(r):
            return {
                "off %": f"{_pct(r['off'])} ± {_pct(r['off_se'])}",
                "on %": f"{_pct(r['on'])} ± {_pct(r['on_se'])}",
            }

        rows = [{"system": r["system"], **on_off(r)} for r in results["mirror"]["nested"]]
        rows.append(
            {
                "system": "chance (majority class)",
                "off %": _pct(results["chance"]["majority"]),
                "on %": _pct(results["chance"]["majority"]),
            }
        )
        lines += [markdown_table(rows), ""]
        lines += ["Each video candidate (set model x kernel PLS) fitted on all training clips:", ""]
        rows = [
            {
                "feature": r["feature"],
                "set model": r["set_model"],
                "kernel": r["kernel"],
                **on_off(r),
            }
            for r in results["mirror"]["fixed"]
        ]
        lines += [markdown_table(rows), ""]
    lines += ["## Data problems (summarised once; the subsystems concerned abstain)", ""]
    lines += [f"- {line}" for line in results["data_problems"]] or ["- none"]
    lines += [""]
    if results.get("warnings"):
        lines += ["## Warnings raised during the run (each once)", ""]
        lines += [f"- {w}" for w in results["warnings"]] + [""]
    lines += [
        "## Published AFEW results (7 classes; for reference, not comparable)",
        "",
        markdown_table([{**r, "accuracy": _pct(r["accuracy"])} for r in PUBLISHED]),
        "",
    ]
    lines += [
        "## Figures",
        "",
        "![confusion](confusion.png)",
        "",
        "![emotion map](emotion_map.png)",
        "",
        f"Run: {results['run']['seconds']:.0f} s on {results['run']['cpus']} CPUs; "
        f"emoset {results['versions']['emoset']}, commit {results['git_commit']}.",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None, help="data root (default: find_data_root)")
    parser.add_argument("--afew-root", default=None, help="AFEW folder (default: $AFEW_ROOT)")
    parser.add_argument("--out", default=str(REPO / "results" / "emotiw2016"))
    parser.add_argument("--cache-dir", default=str(REPO / ".cache" / "emoset"))
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--dask-scheduler",
        default=None,
        metavar="ADDRESS",
        help="extract features on this Dask cluster (default $EMOSET_DASK_SCHEDULER; the data "
        "and --cache-dir must be on a folder shared with the workers)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick", action="store_true", help="fewer candidates and grid rows (for tests)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    from emoset.app.cluster import cluster_n_jobs, dask_cluster

    with (
        warnings.catch_warnings(record=True) as caught,
        dask_cluster(args.dask_scheduler) as client,
    ):
        warnings.simplefilter("always")
        if client is not None:
            args.n_jobs = cluster_n_jobs(None, client)  # every worker thread of the cluster
        return _run(args, caught)


def _data_problems(clips, extraction, problems, args):
    """One line per kind of data problem, for the log and the report (never per fold)."""
    from emoset.audio.features import OpenSmileFeatures

    lines = []
    crowded = extraction[extraction["n_people"] > 1]
    lines.append(
        f"{len(crowded)} of {len(extraction)} clip(s) show more than one person (their main "
        "person's faces trained and scored the video subsystems)"
        + (
            ": " + ", ".join(f"{i} ({r.n_people})" for i, r in crowded.iterrows())
            if len(crowded)
            else ""
        )
    )
    few = extraction[extraction["n_faces"] < MIN_FACES]
    if len(few):
        shown = ", ".join(f"{i} ({r.n_faces} faces)" for i, r in few.iterrows())
        lines.append(f"{len(few)} clip(s) with fewer than {MIN_FACES} aligned faces: {shown}")
    thin = extraction[(extraction["n_faces"] >= MIN_FACES) & (extraction["n_faces"] < SUBSPACE_DIM)]
    if len(thin):
        shown = ", ".join(f"{i} ({r.n_faces} faces)" for i, r in thin.iterrows())
        lines.append(
            f"{len(thin)} clip(s) with fewer aligned faces than the subspace dimension "
            f"({SUBSPACE_DIM}; the subspace model pads their basis with zeros): {shown}"
        )
    audio = OpenSmileFeatures(cache_dir=args.cache_dir, n_jobs=args.n_jobs).fit(clips)
    _, info = audio.extract(clips)
    for status, text in (("short", "shorter than 0.5 s"), ("silent", "digital silence")):
        rows = info[info["status"] == status]
        if len(rows):
            shown = ", ".join(f"{i} ({r.duration:.2f} s)" for i, r in rows.iterrows())
            lines.append(f"{len(rows)} clip(s) with audio {text}: {shown}")
    failed = info[info["status"].isin(["error", "nonfinite"])]
    if len(failed):
        shown = ", ".join(f"{i} ({r.reason})" for i, r in failed.iterrows())
        lines.append(f"{len(failed)} clip(s) with unusable audio: {shown}")
    for clip, reasons in sorted(problems.items()):
        lines.append(f"{clip} could not be used by: {'; '.join(sorted(reasons))}")
    return lines


def _distinct_warnings(caught):
    """The warnings raised during the run, each once (numbers masked to group repeats)."""
    import re

    seen = {}
    for w in caught:
        if "spans fewer than n_dims" in str(w.message):  # in the data problems already
            continue
        key = re.sub(r"\d+", "#", str(w.message))
        seen.setdefault(key, [f"{w.category.__name__}: {w.message}", 0])[1] += 1
    return [f"{text} (x{n})" if n > 1 else text for text, n in seen.values()]


def _run(args, caught):
    from emoset.app.report import chance_levels, human_accuracy, plot_confusion_matrix
    from emoset.video.extract import extract_image_sets

    t_start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clips, folds, info = _load(args)
    y = np.array([c.label for c in clips])
    labels = sorted(set(y))
    # the clips scored: every clip once in cross-validation; only Val with AFEW Train -> Val
    tested = np.sort(np.concatenate([te for _, te in folds]))
    logger.info(
        "%s: %d clips, %d folds (%s)", info["corpus"], len(clips), len(folds), info["protocol"]
    )

    sets, extraction = extract_image_sets(
        clips, list(FEATURES), cache_dir=args.cache_dir, n_jobs=args.n_jobs, verbose=1
    )
    geometry = {}
    if not args.quick:  # the landmarks as image sets, in the descriptive grid
        geometry, _ = extract_image_sets(
            clips, ["landmarks"], cache_dir=args.cache_dir, n_jobs=args.n_jobs, verbose=1
        )
    logger.info(
        "image sets: face rate min %.3f, median %.3f; %d clips without a face",
        extraction["face_rate"].min(),
        extraction["face_rate"].median(),
        int((extraction["n_faces"] == 0).sum()),
    )
    # one BLAS thread: the summation order is fixed, so reruns give identical scores (near-tied
    # fusion weights would otherwise flip between runs), and small matrices run faster
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        grid = run_grid(
            sets if args.quick else {**sets, **geometry},
            y,
            folds,
            QUICK_GRID if args.quick else GRID,
            ("pls",) if args.quick else CLASSIFIERS,
        )
        subsystem_pred, fusion_pred, selected, problems, mirror = run_system(clips, y, folds, args)
        mirror = (
            mirror_rows(y, folds, mirror["off"], mirror["on"], labels)
            if mirror["on"]["nested"]
            else {}
        )
    data_problems = _data_problems(clips, extraction, problems, args)
    for line in data_problems:
        logger.info("data: %s", line)

    results = {
        "corpus": info,
        "labels": labels,
        "chance": chance_levels(y[tested]),
        "subsystems": {n: _metrics(y, p, labels, folds) for n, p in subsystem_pred.items()},
        "fusion": {n: _metrics(y, p, labels, folds) for n, p in fusion_pred.items()},
        "main_fusion": MAIN_FUSION,
        "grid": grid,
        "mirror": mirror,
        "folds": selected,
        "extraction": {
            "face_rate_min": float(extraction["face_rate"].min()),
            "clips_from_cache": int(extraction["cached"].sum()),
            "clips_without_face": int((extraction["n_faces"] == 0).sum()),
            "clips_with_several_people": int((extraction["n_people"] > 1).sum()),
            "frames": int(extraction["n_frames"].sum()),
        },
        "data_problems": data_problems,
        "seed": args.seed,
        "git_commit": _git_commit(),
        "versions": _versions(),
    }
    if info["corpus"] == "CREMA-D":
        results["human"] = {
            m: human_accuracy(clips, key)
            for m, key in (("voice only", "voice"), ("face only", "face"), ("audio-visual", "av"))
        }
    main = results["fusion"][MAIN_FUSION]
    plot_confusion_matrix(
        main["confusion"],
        main["labels"],
        out / "confusion.png",
        title=f"Fusion {MAIN_FUSION}: {info['corpus']}, accuracy {100 * main['accuracy']:.1f} %",
    )
    emotion_map(sets["cnn"], y, out / "emotion_map.png")
    results["run"] = {
        "seconds": time.perf_counter() - t_start,
        "cpus": os.cpu_count(),
        "quick": args.quick,
    }
    results["warnings"] = _distinct_warnings(caught)
    if results["warnings"]:
        logger.info(
            "%d distinct warning(s) during the run; listed in the report", len(results["warnings"])
        )
    (out / "metrics.json").write_text(json.dumps(results, indent=2, default=str))
    report = write_report(out, info, results)
    print(report.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
