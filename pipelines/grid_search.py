"""Grid search for one subsystem with speaker-grouped cross-validation; results as CSV.

Usage::

    python -m pipelines.grid_search video --feature cnn                      # its default grid
    python -m pipelines.grid_search video --feature densesift \\
        --param set_model=subspace,covariance --param kernel=linear,rbf --param n_components=5,10
    python -m pipelines.grid_search audio --feature egemaps --param C=1,10,100
    python -m pipelines.grid_search audio --corpus ravdess --feature compare

Video subsystems search :class:`emoset.ImageSetPLS` parameters on cached image sets; audio
subsystems search the SVM of :func:`emoset.recognizer.subsystems.make_audio_pipeline` on cached functionals
(features extracted once, then ``"precomputed"``). Folds are ``GroupKFold`` by speaker, so no
actor is in both the training and the validation part of any split. Each subsystem has its own
default grid (``DEFAULT_GRIDS``); ``--param name=v1,v2`` replaces one axis.

Writes the full ``cv_results_`` table (one row per parameter combination: mean and std of the
score, rank, fit time) to ``--out`` (default ``results/grid_search/<subsystem>_<feature>.csv``)
and prints the best rows.
"""

from __future__ import annotations

import argparse
import ast
import logging
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
logger = logging.getLogger("grid_search")

DEFAULT_GRIDS = {
    "video": {
        "set_model": ["mean", "subspace", "covariance", "gaussian"],
        "kernel": ["linear", "rbf"],
        "n_components": [5, 10, 20],
        "n_pca": [32],
    },
    "audio": {
        "svm__estimator__C": [1, 10, 100],
        "svm__estimator__gamma": ["scale", 1e-3, 1e-2],
    },
}
_AUDIO_ALIASES = {
    "C": "svm__estimator__C",
    "gamma": "svm__estimator__gamma",
    "class_weight": "svm__estimator__class_weight",
}


def _parse_value(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_params(items, subsystem):
    """``["C=1,10", "kernel=rbf"]`` -> ``{"svm__estimator__C": [1, 10], "kernel": ["rbf"]}``."""
    grid = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"--param takes name=v1,v2,...; got {item!r}.")
        name, values = item.split("=", 1)
        name = _AUDIO_ALIASES.get(name, name) if subsystem == "audio" else name
        grid[name] = [_parse_value(v) for v in values.split(",") if v != ""]
    return grid


def _clips(corpus, data_root):
    from emoset.datasets.corpora import load_cremad, load_ravdess

    return load_cremad(data_root) if corpus == "cremad" else load_ravdess(data_root)


def run(args):
    import pandas as pd
    from sklearn.model_selection import GridSearchCV, GroupKFold

    from emoset.datasets.corpora import clip_speakers

    clips = _clips(args.corpus, args.data_root)
    y = np.array([c.label for c in clips])
    groups = clip_speakers(clips)
    grid = dict(DEFAULT_GRIDS[args.subsystem])
    grid.update(parse_params(args.param, args.subsystem))
    if args.subsystem == "video":
        from emoset.recognizer.subsystems import MIN_FACES
        from emoset.sets.classifiers import ImageSetPLS
        from emoset.video.extract import extract_image_sets

        sets, _ = extract_image_sets(
            clips, args.feature, cache_dir=args.cache_dir, n_jobs=args.n_jobs, verbose=1
        )
        keep = np.array([len(s) >= MIN_FACES for s in sets])
        if not keep.all():  # a covariance needs 2 faces: such clips are left out, said once
            dropped = [
                f"{c.id} ({len(s)} faces)"
                for c, s, k in zip(clips, sets, keep, strict=True)
                if not k
            ]
            logger.warning(
                "Leaving out %d clip(s) with fewer than %d aligned faces: %s",
                len(dropped),
                MIN_FACES,
                ", ".join(dropped),
            )
        X = [s for s, k in zip(sets, keep, strict=True) if k]
        y, groups = y[keep], groups[keep]
        estimator = ImageSetPLS(random_state=0)
    else:
        from emoset.recognizer.subsystems import make_audio_pipeline

        names = {
            "egemaps": "egemaps",
            "compare": "compare",
            "librosa": "librosa",
            "emobase": "emobase",
        }
        if args.feature not in names:
            raise ValueError(f"Audio feature must be one of {sorted(names)}; got {args.feature!r}.")
        features = make_audio_pipeline(
            args.feature, cache_dir=args.cache_dir, n_jobs=args.n_jobs, verbose=1
        ).steps[0][1]
        X, info = features.fit(clips).extract(clips)
        keep = np.isfinite(X).all(axis=1)
        if not keep.all():  # no features, no score: left out, said once
            logger.warning(
                "Leaving out %d clip(s) without usable audio: %s",
                int((~keep).sum()),
                ", ".join(f"{i} ({r})" for i, r in info["reason"][~keep].items()),
            )
        X, y, groups = X[keep], y[keep], groups[keep]
        # model selection compares classifiers on in-corpus folds: no out-of-distribution
        # abstention there (it is a deployment check, see make_audio_pipeline)
        estimator = make_audio_pipeline("precomputed", probability=False, ood_quantile=None)
    cv = GroupKFold(n_splits=args.n_splits)
    # a failing fit is a bug or a bad grid value: say so at once, never a silent NaN score
    search = GridSearchCV(
        estimator, grid, cv=cv, scoring=args.scoring, n_jobs=args.n_jobs, error_score="raise"
    )
    search.fit(X, y, groups=groups)
    table = pd.DataFrame(search.cv_results_)
    keep_cols = [c for c in table.columns if c.startswith("param_")] + [
        "mean_test_score",
        "std_test_score",
        "rank_test_score",
        "mean_fit_time",
    ]
    table = table[keep_cols].sort_values("rank_test_score")
    out = Path(
        args.out
        or REPO / "results" / "grid_search" / f"{args.corpus}_{args.subsystem}_{args.feature}.csv"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    return table, out, len(set(groups))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("subsystem", choices=sorted(DEFAULT_GRIDS))
    parser.add_argument(
        "--feature",
        default=None,
        help="frame feature (video: densesift, cnn, hog, lbp, cnn_scores) or "
        "audio features (egemaps, compare, librosa, emobase)",
    )
    parser.add_argument("--corpus", choices=("cremad", "ravdess"), default="cremad")
    parser.add_argument("--data-root", default=None)
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="replace one axis of the default grid (repeatable)",
    )
    parser.add_argument("--n-splits", type=int, default=5)
    parser.add_argument(
        "--scoring",
        default="accuracy",
        help="any scikit-learn scorer, e.g. balanced_accuracy (UAR)",
    )
    parser.add_argument("--cache-dir", default=str(REPO / ".cache" / "emoset"))
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=None, help="CSV path")
    args = parser.parse_args(argv)
    if args.feature is None:
        args.feature = "cnn" if args.subsystem == "video" else "egemaps"
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    try:
        table, out, n_speakers = run(args)
    except ValueError as exc:
        print(f"grid_search: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{len(table)} combinations, {args.n_splits}-fold GroupKFold over {n_speakers} "
        f"speakers, scoring {args.scoring}; written to {out}"
    )
    print(table.head(10).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
