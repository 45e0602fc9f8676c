"""Accuracy of the cheaper ways to run the recognizer: the evidence for its speed defaults.

Usage::

    python -m pipelines.speed_choices [--configs native/densesift,cnn/68 10/cnn/5 ...]
        [--cache-dir DIR] [--n-jobs 2] [--out DIR]

Each configuration ``FPS/FEATURES/POINTS`` is the recognizer
(:class:`emoset.recognizer.system.AudioVisualEmotionRecognizer`, its default audio candidates)
with video subsystems of the frame ``FEATURES`` (comma-separated), reading every clip at
``FPS`` frames a second (``native`` keeps every frame: 25 fps for the face crops, 30 for the
full-frame clips), the faces aligned from ``POINTS`` (68 or 5) landmarks. Each is evaluated
exactly as ``make reproduce-emotiw2016`` evaluates the default: the same speaker-independent
outer folds (``emoset/data/splits/cremad_5fold.csv``), set models, audio features and fusion
weights chosen by speaker-grouped inner CV on each training fold, the test fold used once.
Reported for each: the mean number of aligned faces per clip, the accuracy of each subsystem
and of the fused recognizer with the standard error over the 5 folds, and chance. Writes
``<out>/speed_choices.md`` and ``.json``. Features are cached under ``--cache-dir``.

The rule for a default (stated after a first sweep of frame rates, before the other
configurations were run): the cheapest configuration in which no video subsystem it keeps
loses more than its standard error against the previous default (native, DenseSIFT and CNN,
68 points) and whose fused accuracy stays within one standard error of it.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

logger = logging.getLogger("speed_choices")


def parse_config(text):
    """``"10/densesift,cnn/5"`` -> ``(fps or None, features, landmarks)``."""
    fps, features, points = text.split("/")
    return (None if fps == "native" else float(fps)), tuple(features.split(",")), int(points)


def video_subsystems(features, points, seed):
    """The default video subsystems of ``features``, aligned from ``points`` landmarks."""
    from emoset.recognizer.subsystems import make_video_pipeline, video_candidates
    from emoset.video.faces import FaceAligner

    return {
        f"{feature}-pls": [
            make_video_pipeline(feature, est, aligner=FaceAligner(64, landmarks=points))
            for est in video_candidates(seed)
        ]
        for feature in features
    }


def evaluate_config(clips, y, folds, config, args):
    """Nested outer-fold predictions of each subsystem and of the fused recognizer."""
    from emoset.decision.scoring import scores_to_labels
    from emoset.recognizer.subsystems import default_audio_subsystems
    from emoset.recognizer.system import AudioVisualEmotionRecognizer

    fps, features, points = config
    pred = {"fused": np.empty(len(y), dtype=object)}
    for train, test in folds:
        model = AudioVisualEmotionRecognizer(
            video=video_subsystems(features, points, args.seed),
            # the speech of the table's runs: the functionals SVM (the image sets came later)
            audio=default_audio_subsystems(random_state=args.seed, sets=False),
            cache_dir=args.cache_dir,
            n_jobs=args.n_jobs,
            random_state=args.seed,
            fps=fps,
        )
        model.fit([clips[i] for i in train])
        test_clips = [clips[i] for i in test]
        records = model.predict_records(test_clips)
        pred["fused"][test] = [r.label for r in records]
        for name, s in model.subsystem_scores(test_clips).items():
            labels = scores_to_labels(s, model.classes_)
            pred.setdefault(name, np.empty(len(y), dtype=object))[test] = labels
    return pred


def _faces_per_clip(clips, config, args):
    from emoset.video.extract import extract_image_sets
    from emoset.video.faces import FaceAligner

    fps, features, points = config
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the main job reports data problems
        _, info = extract_image_sets(
            clips,
            features[0],
            aligner=FaceAligner(64, landmarks=points),
            cache_dir=args.cache_dir,
            n_jobs=args.n_jobs,
            fps=fps,
        )
    return float(info["n_faces"].mean())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        nargs="+",
        default=[
            *(f"{fps}/densesift,cnn/68" for fps in ("native", "15", "10", "5")),
            "native/cnn/68",
            "10/cnn/68",
            "native/densesift,cnn/5",
            "10/densesift,cnn/5",
            "native/cnn/5",
            "10/cnn/5",
        ],
        help="FPS/FEATURES/POINTS each (FPS 'native' keeps every frame)",
    )
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--afew-root", default=None, help="AFEW folder (default: $AFEW_ROOT)")
    parser.add_argument("--cache-dir", default=str(REPO / ".cache" / "emoset"))
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(REPO / "results" / "speed_choices"))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    from threadpoolctl import threadpool_limits

    from pipelines.emotiw2016 import _load, _metrics

    clips, folds, info = _load(args)
    y = np.array([c.label for c in clips])
    labels = sorted(set(y))
    results = {"corpus": info, "configs": []}
    for text in args.configs:
        config = parse_config(text)
        t0 = time.perf_counter()
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # data problems: see the main job
            pred = evaluate_config(clips, y, folds, config, args)
        row = {
            "config": text,
            "faces_per_clip": _faces_per_clip(clips, config, args),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        for name, p in pred.items():
            m = _metrics(y, p, labels, folds)
            row[name] = {k: m[k] for k in ("accuracy", "uar", "se", "abstained")}
        results["configs"].append(row)
        logger.info("%s: %s", text, {n: round(row[n]["accuracy"], 3) for n in pred})
    from emoset.app.report import chance_levels

    results["chance"] = chance_levels(y)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed_choices.json").write_text(json.dumps(results, indent=2))
    table = _table(results)
    (out / "speed_choices.md").write_text(table + "\n")
    print(table)
    return 0


def _table(results):
    systems = sorted({k for r in results["configs"] for k in r if isinstance(r[k], dict)})
    systems = ["fused"] + [s for s in systems if s != "fused"]
    head = "| fps / features / landmarks | faces per clip | "
    head += " | ".join(f"{s} acc % (± SE)" for s in systems) + " |"
    lines = [head, "|" + "---|" * (2 + len(systems))]
    for r in results["configs"]:
        cells = [
            f"{100 * r[s]['accuracy']:.1f} ± {100 * r[s]['se']:.1f}" if s in r else "–"
            for s in systems
        ]
        lines.append(f"| {r['config']} | {r['faces_per_clip']:.1f} | " + " | ".join(cells) + " |")
    chance = results["chance"]
    lines.append(
        f"\nChance: {100 * chance['majority']:.1f} % (majority class), "
        f"{100 * chance['uniform']:.1f} % (uniform)."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
