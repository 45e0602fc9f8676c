"""The ``emoset`` command: train on a corpus, predict the emotion of new clips, evaluate.

::

    emoset train --corpus cremad -o model.skops
    emoset predict model.skops clip.mp4 other.wav --json
    emoset evaluate model.skops --corpus cremad --speakers 1001,1002
    emoset timeline model.skops interview.mp4 --csv timeline.csv --plot timeline.png
    emoset timeline model.skops http://camera.local/stream.ts --live
    emoset train --corpus cremad -o model.skops --dask-scheduler tcp://10.0.0.5:8786

Exit status: 0 when every clip got a label, 1 when some clip could not be scored (each is
reported with its reason; the others are still predicted and printed), 2 for a usage or model
error. Models are saved with skops (:mod:`emoset.recognizer.persistence`): loading one never executes code
from the file, a model whose recorded SHA-256 does not match is refused, and the feature cache
is always this command's (``--cache-dir``), never a folder named in the model.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import traceback
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .._version import __version__
from ..datasets import Clip, load_afew, load_cremad, load_manifest, load_ravdess
from ..io import MediaError, TruncatedMediaError, media_kind
from ..recognizer import (
    PEOPLE_COLUMNS,
    VIDEO_FEATURES,
    AudioVisualEmotionRecognizer,
    ClipResult,
    TimelineOptions,
    default_video_subsystems,
    json_value,
    load_model,
    save_model,
    stream_timeline,
)
from ..utils.cache import atomic_write_bytes
from ..utils.messages import shown
from ..utils.validation import check_folder, check_n_jobs, check_output
from ..video.extract import NO_VIDEO
from .cluster import SCHEDULER_ENV, cluster_n_jobs, dask_cluster
from .overlay import write_overlay
from .report import chance_levels, classification_metrics, plot_timeline

__all__ = ["main", "build_parser"]

logger = logging.getLogger("emoset")

_CORPORA = ("cremad", "ravdess", "afew", "manifest")


class _UsageError(Exception):
    """A problem with the command line or its inputs as a whole (exit status 2)."""


def _load_corpus(args):
    if args.manifest is not None:  # a manifest is its corpus
        if args.corpus not in (None, "manifest"):
            raise _UsageError(
                f"--manifest gives the clips, --corpus {args.corpus} others: give one of them."
            )
        args.corpus = "manifest"
    args.corpus = args.corpus or "cremad"
    if args.corpus == "cremad":
        clips = load_cremad(args.data_root, subsets=args.subsets)
    elif args.corpus == "ravdess":
        clips = load_ravdess(args.data_root)
    elif args.corpus == "afew":
        default = ("Val",) if args.command == "evaluate" else ("Train",)
        clips = load_afew(args.data_root, partitions=args.subsets or default)
    else:
        clips = load_manifest(args.manifest or args.data_root)
    if args.speakers:
        keep = set(args.speakers.split(","))
        clips = [c for c in clips if c.speaker in keep]
    if args.exclude_speakers:
        drop = set(args.exclude_speakers.split(","))
        clips = [c for c in clips if c.speaker not in drop]
    if not clips:
        raise _UsageError(f"no clips left in corpus {args.corpus!r} after the filters.")
    return clips


def _as_clip(path):
    """A command-line path as an unlabelled clip, its kind read from the content.

    Returns
    -------
    clip : Clip or None
    error : str or None
        Why the path cannot be a clip (missing, a folder, not a media file).
    """
    path = Path(path)
    try:
        kind = media_kind(path)
    except MediaError as exc:
        return None, str(exc)
    video, audio = (path, None) if kind == "video" else (None, path)
    return Clip(id=path.stem, video=video, audio=audio, label="", speaker=None, corpus="cli"), None


def _cache_dir(args):
    """``--cache-dir`` (checked: a folder, or one that can be made), else the default cache."""
    if args.cache_dir is None:
        return True
    return str(check_folder(args.cache_dir, what="--cache-dir"))


def _cmd_train(args):
    with dask_cluster(args.dask_scheduler) as client:
        return _train(args, cluster_n_jobs(args.n_jobs, client))


def _train(args, n_jobs):
    check_output(args.output, what="-o")  # before hours of training, not after
    check_output(f"{args.output}.sha256", what="-o (its digest)")
    _cache_dir(args)
    clips = _load_corpus(args)
    features = VIDEO_FEATURES if args.video is None else [v for v in args.video.split(",") if v]
    video = default_video_subsystems(features, n_landmarks=args.landmarks)
    if all(c.video is None for c in clips):
        if video:
            logger.info("No clip of this corpus has video: training audio subsystems only.")
        video = {}
    model = AudioVisualEmotionRecognizer(
        video=video,
        audio={} if args.no_audio else None,
        cache_dir=_cache_dir(args),
        n_jobs=n_jobs,
        verbose=1,
        fps=args.fps,
        allow_partial=args.allow_partial,
        mirror=args.mirror,
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


def _load(args, n_jobs=None):
    """Load a model and give it this command's cache, cores and options (never the trainer's)."""
    model = load_model(args.model, cache_dir=_cache_dir(args))
    if not isinstance(model, AudioVisualEmotionRecognizer):
        raise _UsageError(
            f"{shown(args.model)} holds a {type(model).__name__}, not an emoset model (train "
            "one with 'emoset train')."
        )
    return model.set_params(
        cache_dir=_cache_dir(args),
        n_jobs=args.n_jobs if n_jobs is None else n_jobs,
        allow_partial=args.allow_partial,
    )


def _records(model, paths):
    """One record per path, in order; unreadable paths get an error, the rest are scored."""
    clips, errors = [], {}
    for i, p in enumerate(paths):
        clip, error = _as_clip(p)
        if error is None:
            clips.append((i, clip))
        else:
            errors[i] = error
    scored = {}
    if clips:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # every problem is in the records
            for (i, _), rec in zip(
                clips, model.predict_records([c for _, c in clips]), strict=True
            ):
                scored[i] = rec.to_dict()
    return [
        scored[i] if i in scored else ClipResult.unreadable(p, model.classes_, errors[i]).to_dict()
        for i, p in enumerate(paths)
    ]


def _people(model, path, record):
    """The ``people`` of a clip's record: one dict per person (``[]`` without video)."""
    if record["n_people"] == 0:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # every problem is in the rows
        table = model.predict_people(path)
    classes = [str(c) for c in model.classes_]
    out = []
    for _, row in table.iterrows():
        item = {k: row[k] for k in PEOPLE_COLUMNS}
        item["scores"] = {c: row[c] for c in classes}
        out.append(json_value(item))
    return out


def _print_record(r):
    if r["label"] is None:
        print(f"{r['path']}: no label ({r['error']})")
        return
    ranked = sorted(((v, k) for k, v in r["scores"].items() if v is not None), reverse=True)
    scores = "  ".join(f"{k} {v:.2f}" for v, k in ranked)
    print(f"{r['path']}: {r['label']}   ({scores}; from {', '.join(r['subsystems'])})")
    for name, why in r["reasons"].items():
        if why != NO_VIDEO:  # an audio file: the video subsystems had nothing to look at
            print(f"    {name} abstained: {why}")
    for caveat in r["warnings"]:
        print(f"    caveat: {caveat}")
    for person in r.get("people", []):
        label = person["label"] or "no label"
        score = f" {person['scores'][person['label']]:.2f}" if person["label"] else ""
        if person["person"] is None:
            where = "voice off screen"
            seen = ""
        else:
            where = person["person"]
            seen = f"  ({person['start']:.1f}-{person['end']:.1f} s, box {person['box']}, "
            seen += f"speaking {person['speaking']:.0%})"
        why = f"; {person['reason']}" if person["reason"] else ""
        print(f"    {where}: {label}{score}{seen}{why}")


def _cmd_predict(args):
    model = _load(args)
    records = _records(model, args.clips)
    if args.people:
        for path, r in zip(args.clips, records, strict=True):
            r["people"] = _people(model, path, r) if r["label"] is not None else []
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        for r in records:
            _print_record(r)
    failed = sum(r["label"] is None for r in records)
    if failed:
        print(f"emoset: {failed} of {len(records)} clip(s) got no label.", file=sys.stderr)
    return 1 if failed else 0


def _cmd_evaluate(args):
    clips = _load_corpus(args)
    y = np.array([c.label for c in clips])
    with dask_cluster(args.dask_scheduler) as client:
        model = _load(args, cluster_n_jobs(args.n_jobs, client))
        if client is not None:
            model.set_params(verbose=1)  # a progress bar while the cluster extracts
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # summarised below
            records = model.predict_records(clips)
    pred = np.array(["(no label)" if r.label is None else r.label for r in records], dtype=object)
    unknown = sorted(set(y.tolist()) - {str(c) for c in model.classes_})
    if unknown:  # the model cannot name them: they count as wrong, and in the UAR
        counts = {u: int((y == u).sum()) for u in unknown}
        logger.warning(
            "%d clip(s) are labelled with classes this model does not know (%s); they count "
            "as wrong.",
            sum(counts.values()),
            ", ".join(f"{u}: {n}" for u, n in counts.items()),
        )
    metrics = classification_metrics(y, pred, labels=[*map(str, model.classes_), *unknown])
    metrics["unknown_labels"] = unknown
    metrics["chance"] = chance_levels(y)
    metrics["unscored"] = {r.clip: r.error for r in records if r.label is None}
    if args.json:
        print(json.dumps(json_value(metrics, digits=None), indent=2))  # NaN as null
    else:
        print(
            f"{len(clips)} clips: accuracy {metrics['accuracy']:.3f}, UAR {metrics['uar']:.3f} "
            f"(chance: majority {metrics['chance']['majority']:.3f}, "
            f"uniform {metrics['chance']['uniform']:.3f})"
        )
        for label, recall in metrics["recall"].items():
            print(f"  {label:10s} recall {recall:.3f}")
        for clip, error in metrics["unscored"].items():
            print(f"  {clip}: no label, counted wrong ({error})")
    return 1 if metrics["unscored"] else 0


def _timeline_json(row):
    return json.dumps({k: json_value(v) for k, v in row.items()})


def _timeline_table(frame, classes):
    """A readable table: time span, (person,) label, its score, faces, speech, what scored."""
    people = "person" in frame.columns
    who = f"{'person':7} " if people else ""
    lines = [f"{'start':>8} {'end':>8}  {who}{'label':10} {'score':>5}  faces speech  subsystems"]
    for _, r in frame.iterrows():
        labelled = isinstance(r["label"], str)
        label = r["label"] if labelled else "-"
        score = f"{r[r['label']]:.2f}" if labelled else "  -  "
        person = f"{r['person'] or 'voice':7} " if people else ""
        lines.append(
            f"{r['start']:8.2f} {r['end']:8.2f}  {person}{label:10} {score:>5}  "
            f"{r['n_faces']:5d} {'yes' if r['speech'] else 'no':6}  {r['subsystems'] or '-'}"
        )
        if not labelled:
            lines.append(f"{'':19}{r['reason']}")
    return "\n".join(lines)


def _timeline_outputs(args):
    """Check every output of ``emoset timeline`` before the run: none may replace an input."""
    inputs = [args.source, args.model]
    for flag, path in (("--csv", args.csv), ("--plot", args.plot), ("--overlay", args.overlay)):
        if path is not None:
            check_output(path, inputs=inputs, what=flag)
    if args.overlay and (args.live or "://" in args.source):
        raise _UsageError("--overlay re-reads the source: give a file, not a live source or URL.")


def _timeline_options(args, client):
    return TimelineOptions(
        window=args.window,
        hop=args.hop,
        smooth=args.smooth,
        fps=args.fps,
        live=args.live,
        stall_timeout=args.stall_timeout,
        max_seconds=args.max_seconds,
        segment=args.segment,
        n_jobs=cluster_n_jobs(args.n_jobs, client),
        cache_dir=_cache_dir(args),
        allow_partial=args.allow_partial,
        people=args.people,
    )


def _cmd_timeline(args):
    _timeline_outputs(args)
    stream = args.jsonl or (args.live and not args.csv)
    with dask_cluster(args.dask_scheduler) as client:
        model = _load(args)
        run = stream_timeline(model, args.source, _timeline_options(args, client))
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # every problem is in the rows
            try:
                for row in run:
                    rows.append(row)
                    if stream:
                        print(_timeline_json(row), flush=True)
            except TruncatedMediaError as exc:  # no timeline, as a clip gets no label
                print(
                    f"emoset: no timeline: {exc} (--allow-partial keeps the windows that decoded)",
                    file=sys.stderr,
                )
                return 1
    frame = run.to_frame(rows)
    if args.csv:
        atomic_write_bytes(args.csv, frame.to_csv(index=False).encode())
    if not stream and not args.csv:
        print(_timeline_table(frame, list(model.classes_)))
    if args.plot:
        plot_timeline(frame, args.plot, title=f"Emotion over time: {shown(Path(args.source).name)}")
    if args.overlay:
        write_overlay(frame, args.source, args.overlay)
    print(_timeline_summary(frame, run.stats, args), file=sys.stderr)
    return 0 if len(frame) else 1


def _timeline_summary(frame, stats, args):
    dropped = sum(stats["dropped"].values())
    summary = (
        f"emoset: {len(frame)} window(s) over {stats['duration']:.1f} s of "
        f"{shown(args.source)} ({stats['ended']}"
    )
    if stats.get("partial"):
        summary += f"; {stats['partial']}"
    if args.live:
        summary += f"; {dropped} item(s) dropped"
        lat = frame["latency"].dropna() if "latency" in frame else []
        if len(lat):
            summary += f"; latency median {np.median(lat):.3f} s, max {np.max(lat):.3f} s"
    return summary + ")."


def _corpus_args(p):
    p.add_argument(
        "--corpus", choices=_CORPORA, default=None, help="corpus to read (default cremad)"
    )
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


def _run_args(p):
    p.add_argument("--cache-dir", default=None, help="feature cache (default: ~/.cache/emoset)")
    p.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        help="clips processed in parallel (-1: every core)",
    )
    p.add_argument(
        "--allow-partial",
        action="store_true",
        help="score what decodes of a truncated file (default: such a file gets no label)",
    )


def _n_jobs(text):
    """``--n-jobs``: a non-zero integer (-1: every core), checked once for every command."""
    try:
        return check_n_jobs(int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("n_jobs", "--n-jobs")) from None


def _landmarks(text):
    """``--landmarks`` value: "auto", "none" (exact kernels) or a positive integer."""
    if text in ("auto", "none"):
        return None if text == "none" else text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected auto, none or a positive integer; got {text!r}")
    return value


def add_cluster_argument(p):
    """``--dask-scheduler ADDRESS`` (default ``$EMOSET_DASK_SCHEDULER``) on a subcommand.

    Commands run their extraction inside :func:`emoset.app.cluster.dask_cluster`
    ``(args.dask_scheduler)``.
    """
    p.add_argument(
        "--dask-scheduler",
        default=None,
        metavar="ADDRESS",
        help="extract features on this Dask cluster, e.g. tcp://10.0.0.5:8786 (default "
        f"${SCHEDULER_ENV}; clips and --cache-dir must be on a folder shared with the workers)",
    )


def build_parser():
    """The argument parser of the ``emoset`` command."""
    parser = argparse.ArgumentParser(
        prog="emoset",
        description="Train on a corpus, predict the emotion of new clips, evaluate a model.",
    )
    parser.add_argument("--version", action="version", version=f"emoset {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_train, _add_predict, _add_evaluate, _add_timeline):
        add(sub)
    return parser


def _add_train(sub):
    p = sub.add_parser("train", help="train the audio-visual recognizer on a corpus")
    _corpus_args(p)
    _run_args(p)
    p.add_argument("-o", "--output", required=True, help="where to save the model (.skops)")
    p.add_argument(
        "--video",
        default=None,
        help="frame features of the video subsystems, comma-separated "
        "(default densesift,cnn; '' for none)",
    )
    p.add_argument("--no-audio", action="store_true", help="no audio subsystem")
    p.add_argument("--fps", type=float, default=None, help="resample videos to this frame rate")
    p.add_argument(
        "--landmarks",
        type=_landmarks,
        default="auto",
        metavar="{auto,none,M}",
        help="Nyström landmarks of the video kernels: 'auto' (exact up to 5,000 training "
        "clips, 1,000 landmarks above; the default), 'none' (always exact) or a number",
    )
    p.add_argument(
        "--mirror",
        action="store_true",
        help="mirror augmentation: the video subsystems also train on each training clip's "
        "horizontally mirrored faces (never used to score)",
    )
    add_cluster_argument(p)
    p.set_defaults(func=_cmd_train)


def _add_predict(sub):
    p = sub.add_parser(
        "predict",
        help="label new clips with a trained model (each path is one clip: a video with its "
        "own audio track, or an audio file alone)",
    )
    p.add_argument("model", help="a model saved by 'emoset train'")
    p.add_argument("clips", nargs="+", help="video or audio files")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--people",
        action="store_true",
        help="also label every person of each video: their own faces, and the voice of "
        "whoever speaks (a 'people' list per clip)",
    )
    _run_args(p)
    p.set_defaults(func=_cmd_predict)


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="accuracy of a trained model on a labelled corpus")
    p.add_argument("model", help="a model saved by 'emoset train'")
    _corpus_args(p)
    _run_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    add_cluster_argument(p)
    p.set_defaults(func=_cmd_evaluate)


def _add_timeline(sub):
    p = sub.add_parser(
        "timeline",
        help="emotion over time in a long video or a live stream (one row per window)",
    )
    p.add_argument("model", help="a model saved by 'emoset train'")
    p.add_argument(
        "source", help="a video or audio file, a URL (http, rtsp, udp) or a device (/dev/video0)"
    )
    p.add_argument("--window", type=float, default=2.0, help="window length in s (default 2)")
    p.add_argument("--hop", type=float, default=0.5, help="s between windows (default 0.5)")
    p.add_argument("--smooth", type=int, default=1, help="average scores over K windows")
    p.add_argument("--fps", type=float, default=None, help="video frames kept per second")
    p.add_argument("--csv", default=None, metavar="FILE", help="write the table as CSV")
    p.add_argument("--jsonl", action="store_true", help="print one JSON line per window")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="draw scores over time")
    p.add_argument(
        "--overlay", default=None, metavar="FILE.mp4", help="write the video with box and label"
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="read as a live stream: print each window as it completes (JSON lines), drop "
        "frames rather than fall behind",
    )
    p.add_argument(
        "--stall-timeout",
        type=float,
        default=10.0,
        help="with --live: end after this many s without data (default 10)",
    )
    p.add_argument("--max-seconds", type=float, default=None, help="stop after this much source")
    p.add_argument(
        "--people",
        action="store_true",
        help="one row per window and person: every face tracked into people, the voice "
        "given to whoever speaks (a 'person' column; --plot draws a lane per person, "
        "--overlay every face with its person and label)",
    )
    p.add_argument(
        "--segment",
        type=float,
        default=60.0,
        help="files: s of windows per segment; segments run in parallel (--n-jobs) and are "
        "cached (--cache-dir), so a run resumes (default 60)",
    )
    _run_args(p)
    add_cluster_argument(p)
    p.set_defaults(func=_cmd_timeline)


def main(argv=None) -> int:
    """Run the ``emoset`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    with _command_logging(logging.WARNING - 10 * min(args.verbose + 1, 2)):
        return _run(args)


@contextlib.contextmanager
def _command_logging(level):
    """Log lines on stderr for emoset's loggers and warnings, for this command only.

    A library warning becomes one log line instead of a source excerpt. Nothing is left
    configured afterwards, so calling :func:`main` from Python changes no logging setup.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger("emoset"), logging.getLogger("py.warnings")]
    saved = [(lg, lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(level)
        lg.propagate = False
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        for lg, lvl, prop in saved:
            lg.removeHandler(handler)
            lg.setLevel(lvl)
            lg.propagate = prop


def _run(args):
    try:
        return args.func(args)
    except (
        _UsageError,
        OSError,
        ValueError,
        TypeError,
        RuntimeError,
        ImportError,
        zipfile.BadZipFile,
    ) as exc:
        # OSError covers FileNotFoundError; RuntimeError covers emoset.io.errors.MediaError;
        # ImportError: an optional dependency (Dask for --dask-scheduler) is missing
        if args.verbose:
            traceback.print_exc()
        print(f"emoset: error: {shown(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("emoset: interrupted (finished features are cached).", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of emoset's, not the user's input: no traceback unasked
        if args.verbose:
            traceback.print_exc()
        print(
            f"emoset: error: an unexpected {type(exc).__name__}: {shown(str(exc))} (this is a "
            "bug; run again with -v for the traceback and report it)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
