"""The ``emoset`` command line: its arguments, its logging and its exit status.

::

    emoset predict clip.mp4 other.wav --json          # the model shipped with emoset
    emoset info                                       # its card: data, licences, accuracy
    emoset timeline interview.mp4 --html report.html --csv timeline.csv --plot timeline.png
    emoset train --corpus cremad -o model.skops
    emoset predict clip.mp4 --model model.skops       # (or: emoset predict model.skops clip.mp4)
    emoset evaluate model.skops --corpus cremad --speakers 1001,1002
    emoset timeline http://camera.local/stream.ts --model model.skops --live
    emoset train --corpus cremad -o model.skops --dask-scheduler tcp://10.0.0.5:8786

Exit status: 0 when every clip got a label, 1 when some clip could not be scored (each is
reported with its reason; the others are still predicted and printed), 2 for a usage or model
error. Models are saved with skops (:mod:`emoset.recognizer.persistence`): loading one never executes code
from the file, a model whose recorded SHA-256 does not match is refused, and the feature cache
is always this command's (``--cache-dir``), never a folder named in the model. What each
command does is in :mod:`emoset.app.commands`, imported only when a command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import logging
import os
import sys
import time
import traceback
import zipfile
from pathlib import Path

import lazy_loader

from .._version import __version__
from ..utils.messages import shown
from ..utils.validation import check_n_jobs
from .cluster import SCHEDULER_ENV, scheduler_address

# loaded when a command runs, not for --help or --version (it imports the estimators); the
# warning lazy_loader gives for a dotted name is about loading the parent, here already loaded
commands = lazy_loader.load("emoset.app.commands", suppress_warning=True)
# the face processes start before the estimators load: these import neither
early = lazy_loader.load("emoset.utils.early", suppress_warning=True)
predict_ahead = lazy_loader.load("emoset.app.predict_ahead", suppress_warning=True)
resources = lazy_loader.load("emoset.utils.resources", suppress_warning=True)
face_process = lazy_loader.load("emoset.video.face_process", suppress_warning=True)
tracking = lazy_loader.load("emoset.video.tracking", suppress_warning=True)

__all__ = ["CORPORA", "build_parser", "main"]

#: The corpora ``--corpus`` reads.
CORPORA = ("cremad", "ravdess", "afew", "manifest")

# the choices of options whose values the estimators define; kept here so that the parser
# imports no estimator (tests check they match emoset.datasets.CLASS_CHOICES,
# emoset.audio.NORMALIZATIONS and emoset.audio.AUGMENTATIONS)
CLASS_CHOICES = ("union", "shared")
NORMALIZATIONS = ("speaker", "session")
AUGMENTATIONS = ("noise", "reverb", "gain", "speed", "pitch", "telephone")


def _corpus_args(p):
    p.add_argument(
        "--corpus",
        nargs="+",
        choices=CORPORA,
        default=None,
        help="corpora to read, one or several (default cremad); their labels share one "
        "vocabulary and speakers stay apart (corpus:speaker)",
    )
    p.add_argument(
        "--classes",
        choices=CLASS_CHOICES,
        default="union",
        help="with several corpora: every class of any corpus (union, the default) or only "
        "the classes every corpus has (shared)",
    )
    p.add_argument(
        "--data-root",
        default=None,
        help="data root (default: $EMOSET_DATA, ../shared/data, ./data, ~/emoset_data)",
    )
    p.add_argument(
        "--manifest", nargs="+", default=None, help="CSV manifests (with --corpus manifest)"
    )
    p.add_argument(
        "--subsets",
        nargs="*",
        default=None,
        help="CREMA-D subsets (facecrop128, native, official) or AFEW partitions",
    )
    p.add_argument(
        "--speakers", default=None, help="comma-separated speakers to keep (or corpus:speaker)"
    )
    p.add_argument(
        "--exclude-speakers",
        default=None,
        help="comma-separated speakers to drop (or corpus:speaker)",
    )


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
    except ValueError:  # in the command's words: no Python literal, no "None"
        raise argparse.ArgumentTypeError(
            f"--n-jobs must be a non-zero whole number (-1: every core); got {text!r}."
        ) from None


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
    parser.add_argument(
        "--timings",
        action="store_true",
        help="print where the time went on stderr at the end (start-up, model load, stages)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_train, _add_predict, _add_evaluate, _add_timeline, _add_info):
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
        "(default cnn; densesift,cnn is the EmotiW 2016 recipe; '' for none)",
    )
    p.add_argument("--no-audio", action="store_true", help="no audio subsystem")
    p.add_argument(
        "--no-speech-sets",
        action="store_true",
        help="leave out the speech image sets (the eGeMAPS frame descriptors of each clip as a "
        "Gaussian, a subsystem of its own): the speech functionals SVM alone",
    )
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
    p.add_argument(
        "--normalize",
        choices=NORMALIZATIONS,
        default=None,
        help="standardise speech features per speaker (else per recording session: folder or "
        "manifest session) over the clips given together, in training and at every "
        "predict/evaluate call: transductive, it needs about 10 clips of a speaker or session "
        "at once (fewer: the training statistics); the speech image sets are then left out",
    )
    p.add_argument(
        "--augment",
        nargs="+",
        choices=AUGMENTATIONS,
        default=None,
        metavar="KIND",
        help=f"speech augmentation: the audio subsystems also train on a seeded copy of each "
        f"training clip per kind ({', '.join(AUGMENTATIONS)})",
    )
    p.add_argument(
        "--augment-choice",
        action="store_true",
        help="with --augment: try each speech candidate with and without the augmented "
        "copies and keep the better by the inner speaker cross-validation",
    )
    add_cluster_argument(p)
    p.set_defaults(command_name="train")


def _add_predict(sub):
    p = sub.add_parser(
        "predict",
        help="label new clips with a trained model (each path is one clip: a video with its "
        "own audio track, or an audio file alone)",
    )
    p.add_argument(
        "clips",
        nargs="+",
        metavar="CLIP",
        help="video or audio files (the old form 'emoset predict MODEL CLIP...' works too)",
    )
    _model_option(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--people",
        action="store_true",
        help="also label every person of each video: their own faces, and the voice of "
        "whoever speaks (a 'people' list per clip)",
    )
    _run_args(p)
    p.set_defaults(command_name="predict")


def _model_option(p):
    p.add_argument(
        "--model",
        default=None,
        metavar="PATH",
        help="a model saved by 'emoset train' (default: the model shipped with emoset; "
        "'emoset info' shows its card)",
    )


def _add_info(sub):
    p = sub.add_parser(
        "info",
        help="describe a model: classes, subsystems, and its card (training data, licences, "
        "speaker-independent accuracy, limits); default: the model shipped with emoset",
    )
    p.add_argument("model", nargs="?", default=None, help="a model file (default: the bundled one)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(command_name="info")


def _add_evaluate(sub):
    p = sub.add_parser("evaluate", help="accuracy of a trained model on a labelled corpus")
    p.add_argument("model", help="a model saved by 'emoset train'")
    _corpus_args(p)
    _run_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    add_cluster_argument(p)
    p.set_defaults(command_name="evaluate")


def _add_timeline(sub):
    p = sub.add_parser(
        "timeline",
        help="emotion over time in a long video or a live stream (one row per window)",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="SOURCE",
        help="a video or audio file, a URL (http, rtsp, udp) or a device (/dev/video0); the "
        "old form 'emoset timeline MODEL SOURCE' works too",
    )
    _model_option(p)
    p.add_argument("--window", type=float, default=2.0, help="window length in s (default 2)")
    p.add_argument("--hop", type=float, default=0.5, help="s between windows (default 0.5)")
    p.add_argument("--smooth", type=int, default=1, help="average scores over K windows")
    p.add_argument("--fps", type=float, default=None, help="video frames kept per second")
    p.add_argument("--csv", default=None, metavar="FILE", help="write the table as CSV")
    p.add_argument("--jsonl", action="store_true", help="print one JSON line per window")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="draw scores over time")
    p.add_argument(
        "--overlay",
        default=None,
        metavar="FILE.mp4",
        help="write the video with box and label (.mp4, .m4v, .mov or .mkv)",
    )
    p.add_argument(
        "--html",
        default=None,
        metavar="FILE.html",
        help="write a report page: the video (linked, or embedded when small; the --overlay "
        "video if given) with a lane per person, score curves, labels, a cursor that follows "
        "playback; opens offline",
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
    p.set_defaults(command_name="timeline")


def main(argv=None) -> int:
    """Run the ``emoset`` command; returns the exit status."""
    entered = time.perf_counter()
    _printable_streams()
    args = build_parser().parse_args(argv)
    args.seconds = {"start-up": _since_process_start(argv)}  # filled by the command
    # the command's own process: what it has loaded stays until it exits (see settle)
    args.settle = settle if argv is None else _nothing
    with _command_logging(logging.WARNING - 10 * min(args.verbose + 1, 2)):
        status = _run(args)
    if args.timings:
        args.seconds["total"] = time.perf_counter() - entered + (args.seconds["start-up"] or 0.0)
        print(_timings_line(args.seconds), file=sys.stderr)
    args.settle()
    return status


def _printable_streams():
    """Print what the terminal's encoding cannot show as escapes (``\\xe9``) instead of
    failing: under ``LC_ALL=C`` a clip named ``café.mp4`` ended a batch with a
    UnicodeEncodeError and lost every answer already computed."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if hasattr(stream, "reconfigure") and encoding != "utf8":
            stream.reconfigure(errors="backslashreplace")


def settle():
    """Exempt every object alive now from Python's cyclic garbage collector (``gc.freeze``).

    The ``emoset`` command calls it after its imports, after loading a model and before it
    exits: the modules and the model live until the exit anyway, and each full collection
    walked all of them (about 0.2 s of a one-clip ``emoset predict``, and 0.25 s more in the
    collection Python makes at exit). Only when :func:`main` is called without ``argv`` (the
    console script's call); with ``argv`` (from Python) the caller's objects are left alone.
    Frozen objects in reference cycles are not finalised at exit: nothing of emoset's needs it
    (outputs are written and closed inside ``with`` blocks; the one ``__del__``, of the openSMILE
    engine, frees memory the exit frees anyway).
    """
    gc.freeze()


def _nothing():
    pass


def _since_process_start(argv):
    """Seconds from the start of this process to here (the interpreter, the parser's imports).

    Read from Linux's /proc (to 10 ms); None when called from Python (``argv`` given) or where
    there is no /proc.
    """
    if argv is not None:
        return None
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def _timings_line(seconds):
    """``emoset: timings (s): start-up 0.12, commands 0.95, model load 0.40, ..., total 5.2``."""
    parts = [f"{name} {value:.2f}" for name, value in seconds.items() if value is not None]
    return "emoset: timings (s): " + ", ".join(parts)


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
        started = time.perf_counter()
        if args.command_name == "timeline" and args.settle is settle:
            _align_faces_early(args)
        elif args.command_name == "predict" and args.settle is settle:
            _work_ahead_on_clip(args)
        command = getattr(commands, args.command_name)  # imports the estimators
        args.seconds["imports"] = time.perf_counter() - started
        args.settle()
        return command(args)
    except (
        OSError,
        ValueError,
        TypeError,
        RuntimeError,
        ImportError,
        zipfile.BadZipFile,
    ) as exc:
        # OSError covers FileNotFoundError; ValueError a commands.UsageError; RuntimeError
        # covers emoset.io.errors.MediaError;
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
    finally:
        if getattr(args, "faces_early", False):
            face_process.end_early()  # not taken: the model's settings differ, rows cached
        if getattr(args, "clip_early", False):
            early.end_early_clip()  # what the extraction did not take: other settings, cached


def _align_faces_early(args):
    """Start aligning the faces of a local file before the estimators are imported and the
    model is loaded (the command's own process; a file read in one pass at a time), with the
    default models' settings: every frame, the default aligner. The pass takes the process
    only if it asks for exactly these settings (:mod:`emoset.video.face_process`)."""
    source = args.inputs[-1]
    if (
        len(args.inputs) > 2
        or args.live
        or args.people
        or args.max_seconds is not None
        or args.n_jobs not in (None, 1)
        or scheduler_address(args.dask_scheduler) is not None
        or "://" in source
        or not os.path.isfile(source)
    ):
        return
    if early.fork_available():
        args.faces_early = True
        try:  # the timeline's audio rate (emoset.recognizer._source_pass.AUDIO_RATE)
            face_process.start_early(
                source,
                [tracking.AlignerSettings()],
                color="gray",
                fps=args.fps,
                audio_sr=16000,
                audio=True,
                start=None,
            )
        except OSError:
            pass  # the pass starts its own


#: ``emoset.io.media.AUDIO_EXTENSIONS`` (a test keeps them equal), not imported: importing
#: ``emoset.io`` imports NumPy and PyAV, which ``emoset --help`` does not need.
_SOUND_SUFFIXES = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".wma", ".aiff", ".aif"}
)


def _work_ahead_on_clip(args):
    """Start making one local clip's features before the estimators are imported and the
    model is loaded (the command's own process): a forked child reads what the model's
    subsystems extract and makes the clip's faces as the default video subsystem aligns
    them, their CNN features and its speech records (:mod:`emoset.app.predict_ahead`). The
    clip's extraction takes each only for exactly its own settings (:mod:`emoset.utils.early`)."""
    clips, model = list(args.clips), args.model
    if len(clips) == 2 and model is None and clips[0].endswith(".skops"):
        model, clips = clips[0], clips[1:]  # the old form: MODEL CLIP
    if len(clips) != 1:  # (one clip is extracted in this process whatever --n-jobs)
        return
    clip = clips[0]
    suffix = os.path.splitext(clip)[1].lower()
    if "://" in clip or suffix == ".skops" or not os.path.isfile(clip):
        return
    if early.fork_available():
        args.clip_early = True
        settings = {
            "model": model or str(resources.pretrained_model_path()),
            "allow_partial": args.allow_partial,
        }
        video = suffix not in _SOUND_SUFFIXES
        work = functools.partial(predict_ahead.clip_work, **settings, video=video)
        try:
            early.start_early_clip(clip, work)
        except (OSError, RuntimeError):
            pass  # the extraction makes everything itself


if __name__ == "__main__":
    sys.exit(main())
