"""Speech as image sets: a clip's frame-level descriptors -> set model -> manifold kernel -> PLS.

Usage::

    python -m pipelines.speech_sets [--data-root DIR] [--cache-dir DIR] [--corpora ravdess cremad]
        [--out results/speech_sets]

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

The descriptors are cached in ``<cache-dir>/speech-lld/<corpus>.npz`` (arrays, no pickle) with
the clip ids they were computed for.
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
from emoset.io.media import load_audio
from emoset.sets.classifiers import ImageSetPLS

logger = logging.getLogger("pipelines.speech_sets")

REPO = Path(__file__).resolve().parent.parent
LOADERS = {"ravdess": load_ravdess, "cremad": load_cremad}

#: The grid searched inside every outer training fold.
GRID = {"set_model": ["gaussian", "covariance"], "n_components": [10, 20]}


def frame_descriptors(clips, cache_dir, corpus):
    """Each clip's eGeMAPSv02 low-level descriptors, ``(n_frames, 25)`` (cached)."""
    import opensmile

    path = Path(cache_dir) / "speech-lld" / f"{corpus}.npz"
    ids = [c.id for c in clips]
    if path.is_file():
        with np.load(path, allow_pickle=False) as saved:
            if list(saved["ids"]) == ids:
                return [saved[f"clip{i}"] for i in range(len(ids))]
    smile = opensmile.Smile(
        opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.LowLevelDescriptors
    )
    sets = []
    for c in clips:
        y = load_audio(c.audio or c.video, sr=16000)
        frames = smile.process_signal(y, 16000).to_numpy(np.float64)
        sets.append(frames[np.all(np.isfinite(frames), axis=1)])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, ids=np.array(ids), **{f"clip{i}": s for i, s in enumerate(sets)})
    return sets


def evaluate(sets, y, groups, folds, *, inner_splits=4):
    """Nested CV; returns the predictions and each fold's chosen parameters."""
    pred = np.empty(len(y), dtype=object)
    chosen = []
    for train, test in folds:
        frames = np.vstack([sets[i] for i in train])
        mean, scale = frames.mean(axis=0), frames.std(axis=0) + 1e-8
        Z = [(s - mean) / scale for s in sets]
        search = GridSearchCV(
            ImageSetPLS(kernel="rbf", random_state=0),
            GRID,
            cv=GroupKFold(n_splits=min(inner_splits, len(set(groups[train])))),
            error_score="raise",
        )
        search.fit([Z[i] for i in train], y[train], groups=groups[train])
        pred[test] = search.predict([Z[i] for i in test])
        chosen.append(search.best_params_)
    return pred, chosen


def run_corpus(corpus, args):
    clips = LOADERS[corpus](args.data_root)
    y, groups = clip_labels(clips), clip_speakers(clips)
    folds = load_split(f"{corpus}_5fold", clips)
    sets = frame_descriptors(clips, args.cache_dir, corpus)
    pred, chosen = evaluate(sets, y, groups, folds)
    per_fold = [float(np.mean(pred[te] == y[te])) for _, te in folds]
    res = {
        "n_clips": len(clips),
        "n_classes": len(set(y)),
        "accuracy": float(np.mean(pred == y)),
        "accuracy_se": float(np.std(per_fold, ddof=1) / np.sqrt(len(per_fold))),
        "accuracy_per_fold": per_fold,
        "chosen_per_fold": chosen,
        "chance_majority": chance_levels(y)["majority"],
    }
    logger.info("%s: %s", corpus, json.dumps(res))
    return res


def render(results):
    lines = [
        "| corpus (clips, classes) | eGeMAPS LLD image sets, accuracy % | chance % | chosen |",
        "|---|---|---|---|",
    ]
    for corpus, r in results.items():
        chosen = ", ".join(f"{p['set_model']}/{p['n_components']}" for p in r["chosen_per_fold"])
        lines.append(
            f"| {corpus} ({r['n_clips']}, {r['n_classes']}) | {100 * r['accuracy']:.1f} ± "
            f"{100 * r['accuracy_se']:.1f} | {100 * r['chance_majority']:.1f} | {chosen} |"
        )
    return "\n".join(lines)


def _parser():
    p = argparse.ArgumentParser(prog="python -m pipelines.speech_sets", description=__doc__)
    p.add_argument("--data-root", default=None)
    p.add_argument("--cache-dir", default=str(REPO / ".cache"))
    p.add_argument("--corpora", nargs="+", default=list(LOADERS), choices=list(LOADERS))
    p.add_argument("--out", default=str(REPO / "results" / "speech_sets"))
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
