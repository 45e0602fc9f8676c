"""What each ``emoset`` command does, once :mod:`emoset.app.cli` has parsed its arguments.

Each of :func:`train`, :func:`predict`, :func:`evaluate` and :func:`timeline` takes the parsed
arguments and returns the exit status; a problem with the command line or its inputs as a whole
raises :class:`UsageError` (exit status 2). This module imports the estimators; the parser does
not, so ``emoset --help`` and ``emoset --version`` start at once.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ..datasets import (
    Clip,
    combine_corpora,
    load_afew,
    load_cremad,
    load_manifest,
    load_ravdess,
)
from ..io import MediaError, TruncatedMediaError, media_kind
from ..recognizer import (
    PEOPLE_COLUMNS,
    VIDEO_FEATURES,
    AudioVisualEmotionRecognizer,
    ClipResult,
    TimelineOptions,
    default_audio_subsystems,
    default_video_subsystems,
    format_card,
    json_value,
    load_model,
    model_info,
    save_model,
    stream_timeline,
    train_card,
)
from ..recognizer.card import seen_in_training
from ..recognizer.persistence import read_card
from ..utils.cache import atomic_write_bytes, default_cache_dir, file_sha256
from ..utils.early import early_clip_waiting, take_early_clip
from ..utils.messages import one_line, shown, summarise
from ..utils.resources import pretrained_model_path
from ..utils.validation import check_folder, check_output
from ..video.extract import NO_VIDEO
from .cluster import cluster_n_jobs, dask_cluster
from .overlay import write_overlay
from .predict_ahead import kind_part
from .report import chance_levels, classification_metrics, plot_timeline
from .timeline_page import write_timeline_html

__all__ = ["UsageError", "evaluate", "info", "predict", "timeline", "train"]

logger = logging.getLogger("emoset")


class UsageError(ValueError):
    """A problem with the command line or its inputs as a whole (exit status 2)."""


def _corpus_names(args):
    """The corpora of ``--corpus`` and ``--manifest`` (a manifest is a corpus of its own)."""
    names = list(args.corpus or [])
    if args.manifest:
        if names and "manifest" not in names:
            raise UsageError(
                f"--manifest gives the clips, --corpus {' '.join(names)} others: give one of "
                "them (or add 'manifest' to --corpus to use both)."
            )
        names = names or ["manifest"]
    names = names or ["cremad"]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--corpus names {', '.join(twice)} more than once.")
    return names


def _load_one(args, name):
    if name == "cremad":
        return load_cremad(args.data_root, subsets=args.subsets)
    if name == "ravdess":
        return load_ravdess(args.data_root)
    if name == "afew":
        default = ("Val",) if args.command == "evaluate" else ("Train",)
        return load_afew(args.data_root, partitions=args.subsets or default)
    return [c for m in args.manifest or [args.data_root] for c in load_manifest(m)]


def _load_corpus(args):
    names = _corpus_names(args)
    args.corpus = names  # what was read, for the model card
    corpora = [_load_one(args, name) for name in names]
    clips = combine_corpora(corpora, classes=getattr(args, "classes", "union"))
    if len(clips) < sum(map(len, corpora)):
        logger.info(
            "--classes shared: %d clips of classes not in every corpus left out (classes: %s).",
            sum(map(len, corpora)) - len(clips),
            ", ".join(sorted({c.label for c in clips})),
        )

    def names_of(c):
        return {c.speaker, f"{c.corpus}:{c.speaker}"}

    if args.speakers:
        keep = set(args.speakers.split(","))
        clips = [c for c in clips if names_of(c) & keep]
    if args.exclude_speakers:
        drop = set(args.exclude_speakers.split(","))
        clips = [c for c in clips if not names_of(c) & drop]
    if not clips:
        raise UsageError(
            f"no clips left in corpus {' + '.join(map(repr, names))} after the filters."
        )
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
    kind = None
    if early_clip_waiting(path):  # told by `emoset predict`'s early child
        kind = take_early_clip(path, kind_part(path))
    try:
        kind = kind or media_kind(path)
    except MediaError as exc:
        return None, str(exc)
    video, audio = (path, None) if kind == "video" else (None, path)
    return Clip(id=path.stem, video=video, audio=audio, label="", speaker=None, corpus="cli"), None


def _cache_dir(args):
    """``--cache-dir``, else the default cache; either checked (a folder, or one that can be
    made) before any work, the message naming where the folder came from."""
    if args.cache_dir is None:
        what = "EMOSET_CACHE" if os.environ.get("EMOSET_CACHE") else "the cache folder"
        check_folder(default_cache_dir(), what=what)
        return True
    return str(check_folder(args.cache_dir, what="--cache-dir"))


def train(args):
    with dask_cluster(args.dask_scheduler) as client:
        return _train(args, cluster_n_jobs(args.n_jobs, client))


def _train(args, n_jobs):
    if str(args.output).lower().endswith(".sha256"):
        raise UsageError(
            f"-o {shown(args.output)} names a model's digest file; give the model's own path "
            "(its digest is written beside it as PATH.sha256)."
        )
    check_output(args.output, what="-o")  # before hours of training, not after
    check_output(f"{args.output}.sha256", what="-o (its digest)")
    _cache_dir(args)
    clips = _load_corpus(args)
    # neither the model nor its digest may replace what training reads
    sources = [*(args.manifest or ()), *(p for c in clips for p in (c.video, c.audio) if p)]
    check_output(args.output, inputs=sources, what="-o")
    check_output(f"{args.output}.sha256", inputs=sources, what="-o (its digest)")
    model = _recognizer(args, clips, n_jobs)
    logger.info(
        "Training on %d clips of %s (%d speakers).",
        len(clips),
        " + ".join(sorted({c.corpus for c in clips})),
        len({(c.corpus, c.speaker) for c in clips}),
    )
    model.fit(clips)
    path = save_model(model, args.output, card=train_card(clips, _train_command(args)))
    print(
        f"saved {path} (classes: {', '.join(map(str, model.classes_))}; subsystems: "
        f"{', '.join(model.subsystems_)})"
    )
    return 0


def _recognizer(args, clips, n_jobs):
    """The unfitted recognizer that ``emoset train`` fits: its options, for these clips."""
    features = VIDEO_FEATURES if args.video is None else [v for v in args.video.split(",") if v]
    video = default_video_subsystems(features, n_landmarks=args.landmarks)
    if all(c.video is None for c in clips):
        if video:
            logger.info("No clip of this corpus has video: training audio subsystems only.")
        video = {}
    audio = None
    if args.normalize is not None or args.no_speech_sets:
        audio = default_audio_subsystems(
            normalize=args.normalize, sets=False if args.no_speech_sets else None
        )
    return AudioVisualEmotionRecognizer(
        video=video,
        audio={} if args.no_audio else audio,
        cache_dir=_cache_dir(args),
        n_jobs=n_jobs,
        verbose=1,
        fps=args.fps,
        allow_partial=args.allow_partial,
        mirror=args.mirror,
        augment=tuple(args.augment or ()),
        augment_choice=args.augment_choice,
    )


def _is_model_file(path):
    """Whether ``path`` names a saved model: a ``.skops`` name, or a skops zip file's content."""
    if Path(path).suffix.lower() == ".skops":
        return True
    if not Path(path).is_file():  # a FIFO, a device, a folder: never opened to look
        return False
    try:
        with zipfile.ZipFile(path) as z:
            return "schema.json" in z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _pick_model(args, inputs, what):
    """``(model path or None, the other inputs)``: ``--model``, or the old form's first path.

    ``emoset predict MODEL CLIP...`` and ``emoset timeline MODEL SOURCE`` still work: a first
    path that names a model (a ``.skops`` file, or a skops file's content; no media file is
    either) is the model, and so is a first path that is no file (a folder, a pipe, a missing
    path) before a model file: the old form with a wrong model path, which loading then names.
    Without either, ``None``: the bundled model.
    """
    first, rest = (inputs[0], inputs[1:]) if len(inputs) > 1 else (None, ())
    first_is_model = first is not None and (
        _is_model_file(first)
        or (not Path(first).is_file() and any(_is_model_file(p) for p in rest))
    )
    if args.model is not None:
        if first_is_model:
            raise UsageError(
                f"two models: --model {shown(args.model)} and {shown(inputs[0])}; give one."
            )
        return args.model, inputs
    if first_is_model:
        return inputs[0], inputs[1:]
    if len(inputs) == 1 and _is_model_file(inputs[0]):
        raise UsageError(f"{shown(inputs[0])} is a model; give the {what} to label after it.")
    return None, inputs


def _train_command(args):
    """The ``emoset train`` options that chose the data and the model (no paths)."""
    options = (
        ("--corpus", " ".join(args.corpus or ()) or None),
        ("--classes", None if args.classes == "union" else args.classes),
        ("--subsets", " ".join(args.subsets or ()) or None),
        ("--speakers", args.speakers),
        ("--exclude-speakers", args.exclude_speakers),
        ("--video", "''" if args.video == "" else args.video),
        ("--fps", args.fps),
        ("--landmarks", None if args.landmarks == "auto" else args.landmarks or "none"),
        ("--normalize", args.normalize),
        ("--augment", " ".join(args.augment or ()) or None),
    )
    words = ["emoset train", *(f"{flag} {value}" for flag, value in options if value is not None)]
    flags = (
        ("--no-audio", args.no_audio),
        ("--no-speech-sets", args.no_speech_sets),
        ("--mirror", args.mirror),
        ("--augment-choice", args.augment_choice),
    )
    words += [flag for flag, on in flags if on]
    return " ".join(words)


def info(args):
    info = model_info(args.model or _bundled_model())
    if args.json:
        print(json.dumps(json_value(info, digits=None), indent=2))
    else:
        card = format_card(
            info["model"], info["card"], path=shown(info["path"]), digest=info["sha256"]
        )
        print(card)
    return 0


def _card_of(path):
    """The card of the model file at ``path`` when it describes that file (else ``None``)."""
    card = read_card(path)
    if card is None or card.get("model_sha256") != file_sha256(path):
        return None
    return card


def _bundled_model():
    """The path of the model shipped with emoset, or a usage error when it is missing."""
    path = pretrained_model_path()
    if not path.is_file():
        raise UsageError(
            f"no model given and emoset's bundled model {shown(path)} is missing (this "
            "installation was built without it; in a checkout 'make pretrained' builds it): "
            "give a model file."
        )
    return path


def _load(args, n_jobs=None):
    """Load a model and give it this command's cache, cores and options (never the trainer's).

    ``args.model`` ``None``: the model shipped with emoset.
    """
    args.model = args.model or str(_bundled_model())
    started = time.perf_counter()
    model = load_model(args.model, cache_dir=_cache_dir(args))
    args.seconds["model load"] = time.perf_counter() - started
    args.settle()
    if not isinstance(model, AudioVisualEmotionRecognizer):
        raise UsageError(
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
    """One clip's answer as lines of text (a file name's newline or tab shown as an escape:
    one line per answer, whatever the clip is called)."""
    path = one_line(r["path"])
    if r["label"] is None:
        print(f"{path}: no label ({one_line(r['error'])})")
        return
    ranked = sorted(((v, k) for k, v in r["scores"].items() if v is not None), reverse=True)
    scores = "  ".join(f"{k} {v:.2f}" for v, k in ranked)
    print(f"{path}: {r['label']}   ({scores}; from {', '.join(r['subsystems'])})")
    for name, why in r["reasons"].items():
        if why != NO_VIDEO:  # an audio file: the video subsystems had nothing to look at
            print(f"    {name} abstained: {one_line(why)}")
    for caveat in r["warnings"]:
        print(f"    caveat: {one_line(caveat)}")
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


def predict(args):
    args.model, args.clips = _pick_model(args, args.clips, "clips")
    model = _load(args)
    started = time.perf_counter()
    records = _records(model, args.clips)
    args.seconds["predict"] = time.perf_counter() - started
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


def evaluate(args):
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
    seen = seen_in_training(_card_of(args.model), clips)
    metrics["seen_in_training"] = None if seen is None else len(seen)
    if seen:  # once, in the log: the numbers are the model remembering, not generalising
        logger.warning(
            "%d of %d clips were in this model's training data (the same corpus and clip id: "
            "%s): accuracy on them says nothing about new speakers; evaluate on speakers "
            "the model was not trained on.",
            len(seen),
            len(clips),
            summarise(seen),
        )
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


#: Containers an overlay video (H.264 and AAC) is written in, by extension.
_OVERLAY_CONTAINERS = (".mp4", ".m4v", ".mov", ".mkv")


def _timeline_outputs(args):
    """Check every output of ``emoset timeline`` before the run: none may replace an input or
    another output."""
    inputs = [args.source, args.model or pretrained_model_path()]
    outputs = (
        ("--csv", args.csv),
        ("--plot", args.plot),
        ("--overlay", args.overlay),
        ("--html", args.html),
    )
    written = {}
    for flag, path in outputs:
        if path is None:
            continue
        check_output(path, inputs=inputs, what=flag)
        where = os.path.realpath(path)
        if where in written:  # one would replace the other (the page the video it plays)
            raise UsageError(f"{written[where]} and {flag} are the same file {shown(path)}.")
        written[where] = flag
    if args.overlay and (args.live or "://" in args.source):
        raise UsageError("--overlay re-reads the source: give a file, not a live source or URL.")
    # what would fail only after the whole run
    if args.overlay:
        if Path(args.overlay).suffix.lower() not in _OVERLAY_CONTAINERS:
            raise UsageError(
                f"--overlay {shown(args.overlay)}: the video is written as H.264 in the "
                f"container its extension names; give one of {', '.join(_OVERLAY_CONTAINERS)}."
            )
        if os.path.isfile(args.source) and media_kind(args.source) != "video":
            raise UsageError(
                f"--overlay draws on the video, and {shown(args.source)} has no video stream."
            )
    if args.plot:
        from matplotlib.figure import Figure

        kind = Path(args.plot).suffix.lower().lstrip(".")  # none: PNG
        if kind and kind not in Figure().canvas.get_supported_filetypes():
            raise UsageError(
                f"--plot {shown(args.plot)}: an image's extension is needed, e.g. "
                f"{', '.join('.' + k for k in ('png', 'svg', 'pdf'))}."
            )


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


def timeline(args):
    args.model, sources = _pick_model(args, args.inputs, "source")
    if len(sources) != 1:
        raise UsageError(
            f"one source at a time; got {len(sources)}: {', '.join(map(shown, sources))} "
            "(the model goes after --model)."
        )
    args.source = sources[0]
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
    if args.html:  # the page plays the overlay video when there is one: boxes and labels
        title = f"Emotion over time: {shown(Path(args.source).name)}"
        video = args.overlay or args.source
        write_timeline_html(frame, args.html, source=video, title=title)
    print(_timeline_summary(frame, run.stats, args), file=sys.stderr)
    args.seconds.update(_stage_seconds(run.stats))
    return 0 if len(frame) else 1


def _stage_seconds(stats):
    """The stages of a timeline run for ``--timings`` (the audio thread's time beside them)."""
    seconds = stats["seconds"]
    stages = {
        "decode": "decode",
        "detect/align": "detect_align",
        "decoding audio and waiting for faces": "faces_wait",
        "waiting for frame features": "features_wait",
        "waiting for audio": "audio",
        "scoring": "classify",
        "frame features (own thread)": "features",
        "audio (own thread)": "audio_work",
    }
    return {name: seconds.get(key, 0.0) for name, key in stages.items()}


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
