"""Build the model shipped with emoset: ``make pretrained``.

Usage::

    python -m pipelines.pretrained [--data-root DIR] [--out emoset/models] [--cache-dir DIR]
                                   [--n-jobs 2] [--speakers 1001,1002,...] [--folds 5]

Trains emoset's default recognizer (``AudioVisualEmotionRecognizer()``: the subsystems,
candidates, frame rate and features that are the defaults of this checkout) on every clip of
the corpora at the data root whose licence allows shipping a model trained on them
(:data:`emoset.recognizer.CORPUS_TERMS`: CREMA-D, ODbL; never RAVDESS, non-commercial, nor
AFEW, whose EULA forbids redistribution). Before that the same recognizer is measured by
speaker-independent cross-validation on the same clips: the shipped split
``emoset/data/splits/cremad_5fold.csv`` when it lists every clip, else
:func:`emoset.speaker_kfold` (no actor in both train and test), refitted from scratch in every
fold. Writes ``<out>/cremad.skops``, its ``.sha256`` and its card ``.card.json`` (training data
and licences, accuracy and UAR beside chance and the CREMA-D crowd raters, what the model was
not trained on, how to rebuild it), and prints what ``emoset info`` prints.

The same data and environment give the same bytes: one BLAS thread (a fixed summation
order), seeded candidates and folds, features read from a content-keyed cache, and
:func:`emoset.save_model`'s canonical skops file; the card holds no path, time or host.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import logging
import os
import platform
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
logger = logging.getLogger("pretrained")

#: Where the shipped model goes, in the checkout.
OUT = REPO / "emoset" / "models"

#: Packages whose versions decide the model's bytes (recorded in the card).
VERSIONS = ("numpy", "scipy", "scikit-learn", "skops", "opensmile", "dlib-bin",
            "onnxruntime", "opencv-python-headless", "av", "ikpls")  # fmt: skip

LICENCE = (
    "This model file is trained on CREMA-D, which is licensed under the Open Database License "
    "(ODbL) 1.0, its contents under the Database Contents License (DbCL) 1.0. The model keeps "
    "numbers computed from each training clip (image-set models of the frame features, the "
    "speech features its out-of-distribution check compares with, the clip ids), so emoset "
    "treats it as a derivative database of CREMA-D: it is distributed under the ODbL 1.0 "
    "(emoset/models/cremad.LICENSE), with this attribution: CREMA-D, Cao H, Cooper DG, "
    "Keutmann MK, Gur RC, Nenkova A, Verma R, IEEE Transactions on Affective Computing "
    "5(4):377-390, 2014. ODbL allows any use, commercial too; a changed model you share "
    "publicly (retrained, extended) must be offered under the ODbL as well (share-alike). "
    "Labels, scores and timelines made with it are produced works: when you publish them, "
    "say that they come from a model trained on CREMA-D (ODbL 1.0). emoset's code is "
    "BSD-3-Clause; the components the model runs keep their own terms (listed above)."
)


def _not_trained_on(data):
    ages = data.get("ages")
    adults = f"adult actors aged {ages[0]}-{ages[1]}" if ages else "adult actors"
    return [
        "spontaneous emotion: every clip is acted, an actor portraying the emotion asked for",
        "languages other than English, and free speech: the actors read 12 fixed English sentences",
        f"children and teenagers: the speakers are {adults}",
        "camera angles other than frontal, moving cameras, crowds: one frontal face in a "
        "studio (face crops, and full frames before a green screen)",
        "more than one person in view, or overlapping voices: one actor per clip",
        "emotions other than its six classes (surprise, contempt, calm, ...): every answer is "
        "one of the six, and blends are forced into one",
        "long recordings: clips of 1-5 s; timelines apply it to windows of longer video",
        "other recording conditions: studio sound (the face-crop clips' audio is 8 kHz), "
        "no noise, no music",
    ]


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m pipelines.pretrained", description=__doc__)
    p.add_argument("--data-root", default=None, help="default: $EMOSET_DATA, ../shared/data...")
    p.add_argument("--out", default=str(OUT), help="folder to write the model to")
    p.add_argument("--cache-dir", default=str(REPO / ".cache" / "emoset"), help="feature cache")
    p.add_argument("--n-jobs", type=int, default=1, help="clips extracted in parallel")
    p.add_argument("--speakers", default=None, help="only these actors (comma-separated)")
    p.add_argument("--folds", type=int, default=5, help="speaker-independent CV folds")
    return p.parse_args(argv)


def _folds(clips, n_folds):
    """The shipped 5-fold split when it lists every clip, else speaker-grouped folds."""
    from emoset.datasets.splits import load_split, speaker_kfold

    if n_folds == 5:
        try:
            folds = load_split("cremad_5fold", clips)
        except ValueError:
            pass
        else:
            return folds, "the shipped split emoset/data/splits/cremad_5fold.csv"
    folds = speaker_kfold(clips, n_folds, random_state=0)
    return folds, f"speaker_kfold({n_folds}, random_state=0)"


def _demographics(root):
    """``{actor: {"age", "sex"}}`` from CREMA-D's ``VideoDemographics.csv``, if present."""
    for folder in (root / "cremad" / "meta", root / "cremad", root):
        table = folder / "VideoDemographics.csv"
        if table.is_file():
            with open(table, newline="") as f:
                return {
                    r["ActorID"]: {"age": int(r["Age"]), "sex": r["Sex"]} for r in csv.DictReader(f)
                }
    return {}


def _recognizer(args):
    from emoset import AudioVisualEmotionRecognizer

    return AudioVisualEmotionRecognizer(cache_dir=args.cache_dir, n_jobs=args.n_jobs, verbose=0)


def evaluate(clips, folds, args):
    """Speaker-independent CV of the default recognizer: accuracy, UAR, chance, humans."""
    from emoset.app.report import chance_levels, classification_metrics, human_accuracy

    y = np.array([c.label for c in clips])
    pred = np.full(len(clips), "(no label)", dtype=object)
    for k, (train, test) in enumerate(folds):
        model = _recognizer(args).fit([clips[i] for i in train])
        records = model.predict_records([clips[i] for i in test])
        pred[test] = ["(no label)" if r.label is None else r.label for r in records]
        acc = np.mean(pred[test] == y[test])
        logger.info("fold %d: %d test clips, accuracy %.3f", k, len(test), acc)
    labels = sorted(set(y.tolist()))
    m = classification_metrics(y, pred, labels=labels)
    human = {
        name: human_accuracy(clips, key)
        for name, key in (("voice only", "voice"), ("face only", "face"), ("audio-visual", "av"))
    }
    return {
        "protocol": f"speaker-independent {len(folds)}-fold cross-validation ({args.split}), "
        "the default recognizer refitted on the training actors of each fold",
        "n": m["n"],
        "accuracy": m["accuracy"],
        "uar": m["uar"],
        "recall": m["recall"],
        "chance": chance_levels(y),
        "unscored": int(np.sum(pred == "(no label)")),
        "human": {k: v for k, v in human.items() if v is not None},
    }


def make_card(clips, evaluation, args, demographics):
    from importlib.metadata import PackageNotFoundError, version

    from emoset import __version__
    from emoset.recognizer import CARD_FORMAT, CORPUS_TERMS, training_data

    data = training_data(clips, demographics=demographics)
    options = [f"--speakers {args.speakers}"] if args.speakers else []
    options += [f"--folds {args.folds}"] if args.folds != 5 else []
    made_by = "make pretrained"
    if options:
        made_by = f"python -m pipelines.pretrained {' '.join(options)}"
    env = {"python": platform.python_version()}
    for pkg in VERSIONS:
        try:
            env[pkg] = version(pkg)
        except PackageNotFoundError:
            env[pkg] = None
    excluded = [
        {"corpus": k, "name": t["name"], "licence": t["licence"], "why": t["why"]}
        for k, t in CORPUS_TERMS.items()
        if not t["ships"]
    ]
    return {
        "format": CARD_FORMAT,
        "name": "emoset's bundled audio-visual model (CREMA-D)",
        "made_by": made_by,
        "emoset": __version__,
        "training_data": data,
        "excluded_data": excluded,
        "evaluation": evaluation,
        "not_trained_on": _not_trained_on(data),
        "licence": LICENCE,
        "rebuild": "make pretrained (in a checkout, with the CREMA-D clips of 'make data' or "
        "../shared/data): the same clips and environment give the same bytes; 'make pretrained "
        "PRETRAINED_ARGS=--data-root DIR' for other clips",
        "environment": env,
    }


def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    from emoset import load_cremad, save_model
    from emoset.datasets.corpora import find_data_root
    from emoset.recognizer import describe_model, format_card
    from emoset.utils.resources import PRETRAINED_MODEL_FILE

    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    root = find_data_root(args.data_root)
    clips = load_cremad(root)
    if args.speakers:
        keep = set(args.speakers.split(","))
        clips = [c for c in clips if c.speaker in keep]
    if not clips:
        print(f"pretrained: no CREMA-D clip at {root} (make data fetches some).", file=sys.stderr)
        return 2
    folds, args.split = _folds(clips, args.folds)
    logger.info(
        "CREMA-D at %s: %d clips of %d actors; RAVDESS and AFEW are never used (licences)",
        root,
        len(clips),
        len({c.speaker for c in clips}),
    )
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the card counts what could not be used
        evaluation = evaluate(clips, folds, args)
        model = _recognizer(args).fit(clips)
    card = make_card(clips, evaluation, args, _demographics(root))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="emoset-pretrained-") as tmp:
        built = save_model(model, Path(tmp) / PRETRAINED_MODEL_FILE, card=card)
        for suffix in ("", ".sha256", ".card.json"):  # not the writer's lock file
            shutil.copyfile(f"{built}{suffix}", out / f"{PRETRAINED_MODEL_FILE}{suffix}")
    path = out / PRETRAINED_MODEL_FILE
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(format_card(describe_model(model), card | {"model_sha256": digest}, path=str(path),
                      digest=digest))  # fmt: skip
    print(f"\n{os.path.getsize(path) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
