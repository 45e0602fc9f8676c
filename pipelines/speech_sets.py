"""Speech as image sets: a clip's frame-level descriptors -> set model -> manifold kernel -> PLS.

Usage::

    python -m pipelines.speech_sets [--data-root DIR] [--cache-dir DIR] [--corpora ravdess cremad]
        [--fuse compare egemaps] [--out results/speech_sets]

Ding et al. (EmotiW 2016) fed the frame-level acoustic descriptors of a clip to an LSTM. Here
the same frames are treated as emoset treats a clip's faces: an image set. Each clip's
eGeMAPSv02 low-level descriptors (openSMILE: 25 per 10 ms frame, the clip's own band, 16 kHz)
are standardised with the mean and deviation of the training folds' frames, summarised as a
Gaussian or a covariance (Ledoit-Wolf), compared with an RBF kernel on the log-Euclidean
embedding and classified by one-vs-rest PLS (:class:`emoset.sets.classifiers.ImageSetPLS`).

Outer folds: the committed speaker-independent splits (``emoset/data/splits/<corpus>_5fold.csv``).
Inside each training fold a grid search with speaker-grouped inner folds (accuracy) chooses the
set model and the number of PLS components; the test fold is scored once. Accuracy over all
clips with the standard error over the folds, and chance (majority class).

With ``--fuse``, the image-set PLS is also fused with the RBF SVMs of
:mod:`pipelines.audio_results` on openSMILE functionals (each member's parameters from its own
inner search; one weight per member fitted on inner out-of-fold scores of the training
speakers, as ``audio_results`` fuses its SVMs).

The descriptors and their cache are :mod:`pipelines._speech_frames`'s (shared with
:mod:`pipelines.cross_corpus`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.model_selection import GridSearchCV, GroupKFold

from emoset.app.report import chance_levels
from emoset.datasets.corpora import clip_labels, clip_speakers, load_cremad, load_ravdess
from emoset.datasets.splits import load_split
from emoset.sets.classifiers import ImageSetPLS
from pipelines._speech_frames import GRID, frame_descriptors

logger = logging.getLogger("pipelines.speech_sets")

REPO = Path(__file__).resolve().parent.parent
LOADERS = {"ravdess": load_ravdess, "cremad": load_cremad}


def standardized_sets(sets, train):
    """Every clip's frames standardised with the mean and deviation of the ``train`` clips'."""
    frames = np.vstack([sets[i] for i in train])
    mean, scale = frames.mean(axis=0), frames.std(axis=0) + 1e-8
    return [(s - mean) / scale for s in sets]


def evaluate(sets, y, groups, folds, *, inner_splits=4, searches=None):
    """Nested CV; returns the predictions and each fold's chosen parameters.

    ``searches``: a list that receives each fold's fitted grid search (for a fusion).
    """
    pred = np.empty(len(y), dtype=object)
    chosen = []
    for train, test in folds:
        Z = standardized_sets(sets, train)
        search = GridSearchCV(
            ImageSetPLS(kernel="rbf", random_state=0),
            GRID,
            cv=GroupKFold(n_splits=min(inner_splits, len(set(groups[train])))),
            error_score="raise",
        )
        search.fit([Z[i] for i in train], y[train], groups=groups[train])
        pred[test] = search.predict([Z[i] for i in test])
        chosen.append(search.best_params_)
        if searches is not None:
            searches.append(search)
    return pred, chosen


def fuse_with_functionals(sets, set_searches, svms, y, groups, folds, *, inner_splits):
    """Score fusion of the image-set PLS and functionals SVMs, weights from inner folds only.

    As ``pipelines.audio_results`` fuses its SVMs: in each outer training fold, each member (with
    the parameters its own inner search chose) scores every training clip out of fold (speaker-
    grouped inner folds), a :class:`~emoset.decision.fusion.WeightedScoreFusion` with one weight
    per member is fitted on those scores, and the test fold is scored once.

    ``svms``: ``[(Xs, searches), ...]``, each SVM's per-fold features and fitted searches.
    Returns the predictions and each fold's weights (the image-set member first).
    """
    from emoset.decision.fusion import WeightedScoreFusion, out_of_fold_scores
    from emoset.decision.scoring import aligned_scores

    classes = np.unique(y)
    pred = np.empty(len(y), dtype=object)
    weights = []
    for k, (train, test) in enumerate(folds):
        Z = standardized_sets(sets, train)
        n_inner = min(inner_splits, len(set(groups[train])))
        members = [(set_searches[k].best_estimator_, [Z[i] for i in train], [Z[i] for i in test])]
        members += [(srch[k].best_estimator_, Xs[k][train], Xs[k][test]) for Xs, srch in svms]
        oof, held_out = [], []
        for est, X_train, X_test in members:
            oof.append(
                out_of_fold_scores(
                    est, X_train, y[train], groups=groups[train], cv=n_inner, classes=classes
                )
            )
            held_out.append(aligned_scores(est, X_test, classes))
        fusion = WeightedScoreFusion("global", classes=classes).fit(np.stack(oof, axis=1), y[train])
        pred[test] = fusion.predict(np.stack(held_out, axis=1))
        weights.append([float(w) for w in fusion.weights_[:, 0]])
    return pred, weights


def run_corpus(corpus, args):
    clips = LOADERS[corpus](args.data_root)
    y, groups = clip_labels(clips), clip_speakers(clips)
    folds = load_split(f"{corpus}_5fold", clips)
    sets = frame_descriptors(clips, args.cache_dir)
    set_searches = []
    pred, chosen = evaluate(sets, y, groups, folds, searches=set_searches)
    res = {
        "n_clips": len(clips),
        "n_classes": len(set(y)),
        **_accuracy(pred, y, folds),
        "chosen_per_fold": chosen,
        "chance_majority": chance_levels(y)["majority"],
    }
    if args.fuse:
        svms, res["svm"] = [], {}
        for feature_set in args.fuse:
            Xs, searches = _functionals_svm(feature_set, clips, y, groups, folds, args)
            svm_pred = np.empty(len(y), dtype=object)
            for k, (_, test) in enumerate(folds):
                svm_pred[test] = searches[k].best_estimator_.predict(Xs[k][test])
            res["svm"][feature_set] = _accuracy(svm_pred, y, folds)
            svms.append((Xs, searches))
        fused, weights = fuse_with_functionals(
            sets, set_searches, svms, y, groups, folds, inner_splits=4
        )
        res["fusion"] = {
            "members": ["image sets", *args.fuse],
            **_accuracy(fused, y, folds),
            "weights_per_fold": weights,
        }
    logger.info("%s: %s", corpus, json.dumps(res))
    return res


def _accuracy(pred, y, folds):
    per_fold = [float(np.mean(pred[te] == y[te])) for _, te in folds]
    return {
        "accuracy": float(np.mean(pred == y)),
        "accuracy_se": float(np.std(per_fold, ddof=1) / np.sqrt(len(per_fold))),
        "accuracy_per_fold": per_fold,
    }


def _functionals_svm(feature_set, clips, y, groups, folds, args):
    """The RBF SVM of ``pipelines.audio_results`` on ``feature_set`` functionals, its ``C`` and
    ``gamma`` searched in each outer training fold as there (the same grid and inner folds)."""
    from pipelines.audio_results import FEATURES, GAMMAS, RBF_CS, fold_features, model_grid
    from pipelines.audio_results import evaluate as evaluate_svm

    factory = FEATURES[feature_set][1]
    Xs, _ = fold_features(lambda: factory({"cache_dir": args.cache_dir}), clips, folds)
    grid = model_grid("rbf", Xs[0].shape[1], Cs=RBF_CS, linear_Cs=[], gammas=GAMMAS, percentiles=[])
    _, searches = evaluate_svm(
        "rbf", Xs, y, groups, folds, grid=grid, inner_splits=4, n_jobs=args.n_jobs
    )
    return Xs, searches


def render(results):
    fused = next((r["fusion"]["members"] for r in results.values() if "fusion" in r), None)
    head = "| corpus (clips, classes) | eGeMAPS LLD image sets, accuracy % |"
    if fused:
        head += "".join(f" {f} SVM % |" for f in fused[1:]) + f" {' + '.join(fused)} % |"
    lines = [head + " chance % | chosen |", "|---" * (head.count("|") + 1) + "|"]
    for corpus, r in results.items():
        chosen = ", ".join(f"{p['set_model']}/{p['n_components']}" for p in r["chosen_per_fold"])
        cells = [f"{corpus} ({r['n_clips']}, {r['n_classes']})", _pm(r)]
        if fused:
            cells += [_pm(r["svm"][f]) for f in fused[1:]] + [_pm(r["fusion"])]
        cells += [f"{100 * r['chance_majority']:.1f}", chosen]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pm(r):
    return f"{100 * r['accuracy']:.1f} ± {100 * r['accuracy_se']:.1f}"


def _parser():
    p = argparse.ArgumentParser(prog="python -m pipelines.speech_sets", description=__doc__)
    p.add_argument("--data-root", default=None)
    p.add_argument("--cache-dir", default=str(REPO / ".cache"))
    p.add_argument("--corpora", nargs="+", default=list(LOADERS), choices=list(LOADERS))
    p.add_argument("--out", default=str(REPO / "results" / "speech_sets"))
    p.add_argument(
        "--fuse",
        choices=["egemaps", "compare"],
        nargs="+",
        default=None,
        help="also fuse the image-set PLS with the RBF SVMs of these functionals "
        "(pipelines.audio_results's grid; weights fitted on inner out-of-fold scores)",
    )
    p.add_argument("--n-jobs", type=int, default=1)
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        results = {c: run_corpus(c, args) for c in args.corpora}
    command = "python -m pipelines.speech_sets " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    table = render(results)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speech_sets.md").write_text(
        f"## Speech as image sets\n\nCommand: `{command.strip()}`\n\n{table}\n"
    )
    (out / "speech_sets.json").write_text(
        json.dumps({"command": command.strip(), "results": results}, indent=2)
    )
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
