"""The ``emoset`` command: train on a corpus, predict the emotion of new clips, evaluate.

::

    emoset train --corpus cremad -o model.skops
    emoset predict model.skops clip.mp4 other.wav --json
    emoset evaluate model.skops --corpus cremad --speakers 1001,1002

Models are saved with skops (:func:`emoset.system.save_model`): loading one never executes code
from the file, and a model whose recorded SHA-256 does not match is refused.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["main"]

logger = logging.getLogger("emoset")

_CORPORA = ("cremad", "ravdess", "afew", "manifest")
_AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aiff", ".aif"}


def _load_corpus(args):
    from . import datasets

    if args.corpus == "cremad":
        clips = datasets.load_cremad(args.data_root, subsets=args.subsets)
    elif args.corpus == "ravdess":
        clips = datasets.load_ravdess(args.data_root)
    elif args.corpus == "afew":
        default = ("Val",) if args.command == "evaluate" else ("Train",)
        clips = datasets.load_afew(args.data_root, partitions=args.subsets or default)
    else:
        clips = datasets.load_manifest(args.manifest or args.data_root)
    if args.speakers:
        keep = set(args.speakers.split(","))
        clips = [c for c in clips if c.speaker in keep]
    if args.exclude_speakers:
        drop = set(args.exclude_speakers.split(","))
        clips = [c for c in clips if c.speaker not in drop]
    if not clips:
        raise SystemExit(f"emoset: no clips left in corpus {args.corpus!r} after the filters.")
    return clips


def _as_clip(path):
    """A command-line path as an unlabelled clip (audio files have no video)."""
    from .datasets import Clip

    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"emoset: {path}: no such file.")
    if path.suffix.lower() in _AUDIO_SUFFIXES:
        return Clip(id=path.stem, video=None, audio=path, label="", speaker=None, corpus="cli")
    return Clip(id=path.stem, video=path, audio=None, label="", speaker=None, corpus="cli")


def _cache_dir(args):
    return True if args.cache_dir is None else args.cache_dir


def _cmd_train(args):
    from .classifiers import ImageSetPLS
    from .system import AudioVisualEmotionRecognizer, default_video_subsystems, save_model

    clips = _load_corpus(args)
    video = default_video_subsystems()
    if args.video is not None:
        wanted = [v for v in args.video.split(",") if v]
        video = {}
        for feat in wanted:
            default = default_video_subsystems().get(f"{feat}-pls")
            video[f"{feat}-pls"] = default or (
                feat,
                [
                    ImageSetPLS("subspace", n_pca=64),
                    ImageSetPLS("covariance", kernel="rbf", n_pca=32),
                ],
            )
    if all(c.video is None for c in clips):
        if video:
            logger.info("No clip of this corpus has video: training audio subsystems only.")
        video = {}
    audio = {} if args.no_audio else None
    model = AudioVisualEmotionRecognizer(
        video=video,
        audio=audio,
        cache_dir=_cache_dir(args),
        n_jobs=args.n_jobs,
        verbose=1,
        fps=args.fps,
    )
    logger.info(
        "Training on %d clips of %s (%d speakers).",
        len(clips),
        args.corpus,
        len({c.speaker for c in clips}),
    )
    model.fit(clips)
    path = save_model(model, args.output)
    print(
        f"saved {path} (classes: {', '.join(map(str, model.classes_))}; subsystems: "
        f"{', '.join(model.subsystems_)})"
    )
    return 0


def _load(args):
    """Load a model and point it at this machine's cache and cores (not the trainer's)."""
    from .system import load_model

    model = load_model(args.model)
    return model.set_params(cache_dir=_cache_dir(args), n_jobs=args.n_jobs)


def _cmd_predict(args):
    from .pls import softmax

    model = _load(args)
    clips = [_as_clip(p) for p in args.clips]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        per_sub = model.subsystem_scores(clips)
        proba = softmax(model.fusion_.decision_function(per_sub), axis=1)
        labels = model.fusion_.predict(per_sub)
    for w in caught:
        logger.warning("%s", w.message)
    results = []
    for i, clip in enumerate(clips):
        used = [n for n, s in per_sub.items() if not np.isnan(s[i]).any()]
        results.append(
            {
                "clip": str(clip.video or clip.audio),
                "label": str(labels[i]),
                "scores": {
                    str(c): (None if np.isnan(p) else round(float(p), 4))
                    for c, p in zip(model.classes_, proba[i], strict=True)
                },
                "subsystems": used,
            }
        )
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            ranked = sorted(((v or 0.0, k) for k, v in r["scores"].items()), reverse=True)
            scores = "  ".join(f"{k} {v:.2f}" for v, k in ranked)
            print(f"{r['clip']}: {r['label']}   ({scores}; from {', '.join(r['subsystems'])})")
    return 0


def _cmd_evaluate(args):
    from .report import chance_levels, classification_metrics

    model = _load(args)
    clips = _load_corpus(args)
    y = np.array([c.label for c in clips])
    pred = model.predict(clips)
    metrics = classification_metrics(y, pred, labels=list(model.classes_))
    metrics["chance"] = chance_levels(y)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print(
            f"{len(clips)} clips: accuracy {metrics['accuracy']:.3f}, UAR {metrics['uar']:.3f} "
            f"(chance: majority {metrics['chance']['majority']:.3f}, "
            f"uniform {metrics['chance']['uniform']:.3f})"
        )
        for label, recall in metrics["recall"].items():
            print(f"  {label:10s} recall {recall:.3f}")
    return 0


def _corpus_args(p):
    p.add_argument("--corpus", choices=_CORPORA, default="cremad", help="corpus to read")
    p.add_argument(
        "--data-root",
        default=None,
        help="data root (default: $EMOSET_DATA, ../shared/data, ./data, ~/emoset_data)",
    )
    p.add_argument("--manifest", default=None, help="CSV manifest (with --corpus manifest)")
    p.add_argument(
        "--subsets",
        nargs="*",
        default=None,
        help="CREMA-D subsets (facecrop128, native, official) or AFEW partitions",
    )
    p.add_argument("--speakers", default=None, help="comma-separated speakers to keep")
    p.add_argument("--exclude-speakers", default=None, help="comma-separated speakers to drop")
    p.add_argument("--cache-dir", default=None, help="feature cache (default: ~/.cache/emoset)")
    p.add_argument("--n-jobs", type=int, default=None, help="clips processed in parallel")


def build_parser():
    """The argument parser of the ``emoset`` command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="emoset",
        description="Train on a corpus, predict the emotion of new clips, evaluate a model.",
    )
    parser.add_argument("--version", action="version", version=f"emoset {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train the audio-visual recognizer on a corpus")
    _corpus_args(p)
    p.add_argument("-o", "--output", required=True, help="where to save the model (.skops)")
    p.add_argument(
        "--video",
        default=None,
        help="frame features of the video subsystems, comma-separated "
        "(default densesift,cnn; '' for none)",
    )
    p.add_argument("--no-audio", action="store_true", help="no audio subsystem")
    p.add_argument("--fps", type=float, default=None, help="resample videos to this frame rate")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "predict",
        help="label new clips with a trained model (each path is one clip: a video with its "
        "own audio track, or an audio file alone)",
    )
    p.add_argument("model", help="a model saved by 'emoset train'")
    p.add_argument("clips", nargs="+", help="video or audio files")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--cache-dir", default=None, help="feature cache (default: ~/.cache/emoset)")
    p.add_argument("--n-jobs", type=int, default=None, help="clips processed in parallel")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("evaluate", help="accuracy of a trained model on a labelled corpus")
    p.add_argument("model", help="a model saved by 'emoset train'")
    _corpus_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_evaluate)
    return parser


def main(argv=None) -> int:
    """Run the ``emoset`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose + 1, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (OSError, ValueError, TypeError, RuntimeError, zipfile.BadZipFile) as exc:
        # OSError covers FileNotFoundError; RuntimeError covers emoset.media.MediaError
        print(f"emoset: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
