"""Speech across corpora: a model trained on one corpus labels another (accuracy and coverage).

Usage::

    python -m pipelines.cross_corpus [--data-root DIR] [--cache-dir DIR]
        [--configs peer default speaker-norm augment speaker-norm+augment fusion
                   fusion+speaker-norm augment-room fusion+speaker-norm+shared-band
                   fusion+augment-room augment-choice fusion+augment-choice
                   augment-room+compare-C]
        [--scenarios cremad-to-ravdess ravdess-to-cremad both-to-unseen ravdess cremad]
        [--sessions] [--out results/cross_corpus]

Scenarios (speech only, every split speaker-independent, the same splits for every row):

* ``cremad-to-ravdess``: trained on the CREMA-D clips, tested on every RAVDESS speech clip of
  the 6 emotions CREMA-D has (880 clips of 20 actors none of which it heard);
* ``ravdess-to-cremad``: trained on those 880 RAVDESS clips, tested on the CREMA-D clips;
* ``both-to-unseen``: fold ``k`` of each corpus's committed 5-fold speaker split
  (``emoset/data/splits/<corpus>_5fold.csv``): trained on both corpora's training speakers
  (6 shared classes), tested on the unseen speakers of each corpus, reported per corpus;
* ``ravdess`` / ``cremad``: in-corpus, unseen speakers of the committed 5-fold split (RAVDESS
  with its 8 classes): the in-corpus numbers the cross-corpus configurations must not lose.

Rows (configurations):

* ``peer`` -- the classical recipe: eGeMAPSv02 functionals of each clip's own band
  (openSMILE) -> ``StandardScaler`` -> ``SVC()`` (RBF, scikit-learn defaults); it labels every
  clip;
* ``default`` -- :class:`emoset.recognizer.AudioVisualEmotionRecognizer` with its default
  speech subsystems, as ``emoset train`` builds it (band learnt from the training corpora,
  candidate chosen by inner speaker CV, abstaining with a reason);
* ``speaker-norm`` -- the same with ``normalize="speaker"``: features standardised per
  speaker (or recording session when a speaker has fewer than
  :data:`~emoset.audio.normalize.MIN_GROUP_CLIPS` clips) over the clips given together,
  in training and on the test batch. It uses no label but is transductive;
* ``augment`` -- the default plus one noise and one telephone-band copy of every training clip;
* ``speaker-norm+augment`` -- both;
* ``fusion`` -- eGeMAPS and ComParE as two speech subsystems whose scores are fused (the
  recognizer's weighted fusion) instead of one subsystem picking a feature set by inner CV;
  ``fusion+speaker-norm`` -- the same, standardised per speaker;
* ``augment-room`` -- the default plus one noise, one reverberated and one speed-changed copy
  of every training clip (:data:`AUGMENT_ROOM`);
* ``augment-choice`` -- the default with the :data:`AUGMENT_ROOM` copies and
  ``augment_choice=True``: each speech candidate is tried on the clips alone and with their
  copies, the inner speaker CV keeps the better; ``fusion+augment-choice``: the same for each
  of the two fused subsystems; ``fusion+augment-room``: the fusion, both trained on the copies;
* ``augment-room+compare-C`` -- ComParE alone with the :data:`AUGMENT_ROOM` copies, ``C`` of
  :data:`COMPARE_CS` chosen by the inner speaker CV;
* ``fusion+speaker-norm+shared-band`` -- ``fusion+speaker-norm`` with the features of training
  and test clips computed in the band the training *and the test* corpora have (the lowest of
  their low-decile bandwidths, measured on the unlabelled test audio: transductive too). It
  differs from ``fusion+speaker-norm`` only where the test corpus is the narrower one
  (``ravdess-to-cremad``: CREMA-D's telephone band, 3.8 kHz, instead of RAVDESS's 8 kHz).

Columns: accuracy over all test clips (an abstention counts as wrong), coverage (share of
clips labelled), accuracy of the labelled clips, chance (majority class of the test clips), and
the risk-coverage curve: the accuracy of the ``k`` most confident answers (confidence: the
largest softmax of the fused scores; the peer recipe: the largest decision value) at 25, 50,
75 % of the clips and at full coverage of the labelled ones.

``--sessions`` adds how many clips of a speaker per-speaker standardisation needs: the
``speaker-norm`` model of each ``ravdess`` fold labels its test speakers' clips in batches of
``k`` clips of one speaker (``k`` = 1, 2, 3, 5, 10, 20, 60), each batch standardised with its own
statistics (``min_group_clips`` lowered to 2 for the measurement; a batch of 1 uses the training
statistics).

Features are cached under ``--cache-dir``; the same command gives the same numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from emoset.app.report import chance_levels, markdown_table, risk_coverage
from emoset.audio.features import OpenSmileFeatures
from emoset.datasets.corpora import load_cremad, load_ravdess
from emoset.datasets.splits import load_split
from emoset.recognizer.subsystems import default_audio_subsystems, make_audio_pipeline
from emoset.recognizer.system import AudioVisualEmotionRecognizer

logger = logging.getLogger("pipelines.cross_corpus")

REPO = Path(__file__).resolve().parent.parent

#: The six emotions CREMA-D and RAVDESS share (RAVDESS adds calm and surprise).
SHARED = ("anger", "disgust", "fear", "happy", "neutral", "sad")

CONFIGS = (
    "peer",
    "default",
    "speaker-norm",
    "augment",
    "speaker-norm+augment",
    "fusion",
    "fusion+speaker-norm",
    "augment-room",
    "fusion+speaker-norm+shared-band",
    "fusion+augment-room",
    "augment-choice",
    "fusion+augment-choice",
    "augment-room+compare-C",
)
SCENARIOS = ("cremad-to-ravdess", "ravdess-to-cremad", "both-to-unseen", "ravdess", "cremad")

#: The augmentation of the ``augment`` rows.
AUGMENT = ("noise", "telephone")

#: The augmentation of the ``augment-room`` rows: the conditions of another room and speaker
#: rather than another line (noise, reverberation, speed).
AUGMENT_ROOM = ("noise", "reverb", "speed")

#: The ``C`` grid of the ``compare-C`` rows (ComParE alone, ``C`` chosen by the inner CV).
COMPARE_CS = (1.0, 10.0)

#: Coverages of the risk-coverage curve.
COVERAGES = (0.25, 0.5, 0.75)

#: Batch sizes of ``--sessions``.
SESSION_SIZES = (1, 2, 3, 5, 10, 20, 60)


# --------------------------------------------------------------------------- models


class Peer:
    """eGeMAPS (each clip's own band) -> StandardScaler -> SVC(): the classical recipe."""

    def __init__(self, cache_dir):
        self.cache_dir = cache_dir

    def _features(self, clips):
        step = OpenSmileFeatures(bandwidth=None, cache_dir=self.cache_dir).fit()
        X = step.extract(clips)[0]
        return np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)

    def fit(self, clips):
        self.scaler_ = StandardScaler().fit(self._features(clips))
        y = np.array([c.label for c in clips])
        self.svm_ = SVC().fit(self.scaler_.transform(self._features(clips)), y)
        return self

    def answers(self, clips):
        Z = self.scaler_.transform(self._features(clips))
        D = self.svm_.decision_function(Z)
        labels = self.svm_.classes_[np.argmax(D, axis=1)]
        return np.array(labels, dtype=object), D.max(axis=1)


class Recognizer:
    """The recognizer as ``emoset train`` builds it, speech only."""

    def __init__(
        self,
        cache_dir,
        *,
        normalize=None,
        augment=(),
        augment_choice=False,
        fusion=False,
        shared_band=False,
        compare_Cs=None,
    ):
        self.cache_dir = cache_dir
        self.normalize = normalize
        self.augment = augment
        self.augment_choice = augment_choice
        self.fusion = fusion
        self.shared_band = shared_band
        self.compare_Cs = compare_Cs
        self.bandwidth = "auto"

    def see(self, train, test):
        """With ``shared_band``: the band of the training corpora and of the (unlabelled)
        test clips, the lowest of each corpus's low-decile bandwidth."""
        if self.shared_band:
            step = OpenSmileFeatures(cache_dir=self.cache_dir).fit([*train, *test])
            self.bandwidth = step.bandwidth_

    def _audio(self):
        if self.compare_Cs:  # ComParE alone, C chosen by the inner CV
            audio = {
                "audio-svm": [
                    make_audio_pipeline("compare", C=C, probability=False, normalize=self.normalize)
                    for C in self.compare_Cs
                ]
            }
        elif not self.fusion:
            audio = default_audio_subsystems(normalize=self.normalize)
        else:
            audio = {
                f"audio-{f}": make_audio_pipeline(f, probability=False, normalize=self.normalize)
                for f in ("egemaps", "compare")
            }
        if self.bandwidth != "auto":
            for cands in audio.values():
                for pipe in cands if isinstance(cands, list) else [cands]:
                    pipe.set_params(features__bandwidth=self.bandwidth)
        return audio

    def fit(self, clips):
        self.model_ = AudioVisualEmotionRecognizer(
            video={},
            audio=self._audio(),
            augment=self.augment,
            augment_choice=self.augment_choice,
            cache_dir=self.cache_dir,
        ).fit(clips)
        return self

    def answers(self, clips):
        records = self.model_.predict_records(clips)
        labels = np.array([r.label for r in records], dtype=object)
        conf = np.array(
            [max(v for v in r.scores.values()) if r.label is not None else -np.inf for r in records]
        )
        return labels, conf


def make_config(name, cache_dir):
    if name == "peer":
        return Peer(cache_dir)
    normalize = "speaker" if "speaker-norm" in name else None
    room = "augment-room" in name or "augment-choice" in name
    augment = AUGMENT_ROOM if room else AUGMENT if "augment" in name else ()
    return Recognizer(
        cache_dir,
        normalize=normalize,
        augment=augment,
        augment_choice="augment-choice" in name,
        fusion="fusion" in name,
        shared_band="shared-band" in name,
        compare_Cs=COMPARE_CS if "compare-C" in name else None,
    )


# --------------------------------------------------------------------------- scores


def _finite(v):
    """NaN as None (JSON has no NaN), through one level of dicts."""
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    return None if v is None or not np.isfinite(v) else v


def scores(y, labels, conf):
    """Accuracy (abstentions wrong), coverage, accuracy of the labelled, risk-coverage, chance."""
    r = risk_coverage(y, labels, conf, coverages=COVERAGES)
    r = {k: _finite(v) for k, v in r.items()}
    return {
        "n": int(len(y)),
        "accuracy": r["accuracy"],
        "coverage": r["coverage"],
        "accuracy_labelled": r["accuracy_labelled"],
        "risk_coverage": r["curve"],
        "chance_majority": chance_levels(y)["majority"],
        "n_classes": int(len(set(y))),
    }


# --------------------------------------------------------------------------- scenarios


def _labels(clips):
    return np.array([c.label for c in clips], dtype=object)


def _answer(config, train, test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # narrower bands, short clips: counted in coverage
        if hasattr(config, "see"):  # what the configuration learns from unlabelled test audio
            config.see(train, test)
        return config.fit(train).answers(test)


def run_scenario(scenario, config, corpora):
    """``{test corpus: scores}`` of one configuration on one scenario."""
    cremad, ravdess = corpora["cremad"], corpora["ravdess"]
    rav6 = [c for c in ravdess if c.label in SHARED]
    if scenario == "cremad-to-ravdess":
        return {"ravdess": scores(_labels(rav6), *_answer(config, cremad, rav6))}
    if scenario == "ravdess-to-cremad":
        return {"cremad": scores(_labels(cremad), *_answer(config, rav6, cremad))}
    if scenario == "both-to-unseen":
        parts = {"cremad": cremad, "ravdess": rav6}
        folds = {name: load_split(f"{name}_5fold", clips) for name, clips in parts.items()}
        out = {name: (np.empty(len(c), object), np.zeros(len(c))) for name, c in parts.items()}
        for k in range(5):
            train = [parts[n][i] for n in parts for i in folds[n][k][0]]
            test = [parts[n][i] for n in parts for i in folds[n][k][1]]
            labels, conf = _answer(config, train, test)
            start = 0
            for name in parts:
                te = folds[name][k][1]
                out[name][0][te] = labels[start : start + len(te)]
                out[name][1][te] = conf[start : start + len(te)]
                start += len(te)
        return {name: scores(_labels(parts[name]), *out[name]) for name in parts}
    clips = corpora[scenario]
    labels, conf = np.empty(len(clips), object), np.zeros(len(clips))
    for train, test in load_split(f"{scenario}_5fold", clips):
        labels[test], conf[test] = _answer(
            config, [clips[i] for i in train], [clips[i] for i in test]
        )
    return {scenario: scores(_labels(clips), labels, conf)}


def session_sizes(corpora, cache_dir, sizes=SESSION_SIZES):
    """Accuracy on unseen RAVDESS actors when per-speaker statistics come from ``k`` clips."""
    clips = corpora["ravdess"]
    y = _labels(clips)
    right = {k: np.zeros(len(clips), bool) for k in sizes}
    for train, test in load_split("ravdess_5fold", clips):
        model = make_config("speaker-norm", cache_dir)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit([clips[i] for i in train])
            for pipe in model.model_.subsystems_.values():
                pipe.set_params(features__min_group_clips=2)
            for k in sizes:
                for speaker in sorted({clips[i].speaker for i in test}):
                    rows = np.array([i for i in test if clips[i].speaker == speaker])
                    # batches of k clips in a fixed shuffled order (not by emotion)
                    rows = rows[np.random.default_rng(0).permutation(len(rows))]
                    for start in range(0, len(rows), k):
                        batch = rows[start : start + k]
                        labels, _ = model.answers([clips[i] for i in batch])
                        right[k][batch] = labels == y[batch]
    return {str(k): float(right[k].mean()) for k in sizes}


# --------------------------------------------------------------------------- output


def _pct(v):
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.1f}"


def render(results, sessions=None):
    lines = [
        "| scenario | test corpus (clips, classes) | configuration | accuracy % | coverage % "
        "| accuracy of labelled % | top 25 % | top 50 % | top 75 % | chance % |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario, by_config in results.items():
        for config, by_corpus in by_config.items():
            for corpus, s in by_corpus.items():
                rc = s["risk_coverage"]
                lines.append(
                    f"| {scenario} | {corpus} ({s['n']}, {s['n_classes']}) | {config} | "
                    f"{_pct(s['accuracy'])} | {_pct(s['coverage'])} | "
                    f"{_pct(s['accuracy_labelled'])} | {_pct(rc['25'])} | {_pct(rc['50'])} | "
                    f"{_pct(rc['75'])} | {_pct(s['chance_majority'])} |"
                )
    if sessions:
        lines += [
            "",
            "Per-speaker standardisation from k clips of a speaker at once (RAVDESS, unseen "
            "actors, 8 classes):",
            "",
            markdown_table([{"k": "accuracy %"} | {k: _pct(v) for k, v in sessions.items()}]),
        ]
    return "\n".join(lines)


def _parser():
    p = argparse.ArgumentParser(prog="python -m pipelines.cross_corpus", description=__doc__)
    p.add_argument("--data-root", default=None)
    p.add_argument("--cache-dir", default=str(REPO / ".cache"))
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS)
    p.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    p.add_argument("--sessions", action="store_true", help="measure the clips a speaker needs")
    p.add_argument("--out", default=str(REPO / "results" / "cross_corpus"))
    return p


def cross_corpus_results(
    data_root, cache_dir, configs=CONFIGS, scenarios=SCENARIOS, *, sessions=False
):
    """``(results, sessions)``: ``{scenario: {configuration: {test corpus: scores}}}`` and the
    ``--sessions`` measurement (``None`` unless asked)."""
    corpora = {"cremad": load_cremad(data_root), "ravdess": load_ravdess(data_root)}
    results = {}
    for scenario in scenarios:
        results[scenario] = {}
        for name in configs:
            logger.info("%s: %s", scenario, name)
            config = make_config(name, cache_dir)
            results[scenario][name] = run_scenario(scenario, config, corpora)
            logger.info("%s", json.dumps(results[scenario][name]))
    return results, session_sizes(corpora, cache_dir) if sessions else None


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    results, sessions = cross_corpus_results(
        args.data_root, args.cache_dir, args.configs, args.scenarios, sessions=args.sessions
    )
    command = "python -m pipelines.cross_corpus " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    table = render(results, sessions)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cross_corpus.md").write_text(
        f"## Speech across corpora\n\nCommand: `{command.strip()}`\n\n{table}\n"
    )
    (out / "cross_corpus.json").write_text(
        json.dumps({"command": command.strip(), "results": results, "sessions": sessions}, indent=2)
    )
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
