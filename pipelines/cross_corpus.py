"""Speech across corpora: a model trained on one corpus labels another (accuracy and coverage).

Usage::

    python -m pipelines.cross_corpus [--data-root DIR] [--cache-dir DIR]
        [--configs peer default speaker-norm augment speaker-norm+augment fusion
                   fusion+speaker-norm augment-room fusion+speaker-norm+shared-band
                   fusion+augment-room augment-choice fusion+augment-choice
                   augment-room+compare-C adapted+em adapted+balanced adapted+self-train
                   adapted+reverse-C adapted+1se-C sets sets+speaker-norm
                   default+lld default+lld-subsystem fusion+lld-subsystem
                   augment-choice+lld-subsystem default+lld-subsystem+svm-grid
                   corpus-norm fusion+corpus-norm+shared-band
                   augment-choice+lld-subsystem+svm-grid ...]
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
* ``default`` -- :class:`emoset.recognizer.AudioVisualEmotionRecognizer` with the speech
  functionals SVM (band learnt from the training corpora, candidate chosen by inner speaker
  CV, abstaining with a reason);
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

The speech image sets (a clip's eGeMAPS low-level descriptors, 25 per 10 ms frame, as a set of
frames; issue 25):

* ``sets`` -- the image-set PLS of :mod:`pipelines.speech_sets` (:class:`SpeechSets`: the
  frames standardised with the training frames' statistics, Gaussian or covariance set model,
  RBF kernel, one-vs-rest PLS chosen by inner speaker CV), in the training corpora's band;
  ``sets+speaker-norm``: each speaker's (or session's) frames standardised with their own
  statistics (transductive); ``sets+speaker-norm+shared-band``: in the band of the training
  and the test corpora too;
* ``default+lld`` -- the recognizer's speech subsystem with the speech image sets as one more
  candidate (``make_audio_pipeline("egemaps-lld")``: the Gaussian of the frames as a
  log-Euclidean vector, RBF SVM), the inner CV keeping one;
* ``default+lld-subsystem`` -- the image sets as a speech subsystem of their own, fused with the
  functionals SVM: ``default_audio_subsystems(sets=True)``; ``fusion+lld-subsystem``: the
  same beside the ``fusion`` rows' eGeMAPS and ComParE subsystems; ``adapted+lld-subsystem``:
  beside ``adapted``'s (``fusion+speaker-norm+shared-band``, below; the image sets themselves
  are not standardised per speaker); ``augment-choice+lld-subsystem``: both speech
  subsystems with the :data:`AUGMENT_ROOM` copies as a choice of the inner CV.
* ``default+lld-subsystem+svm-grid`` -- ``default+lld-subsystem`` with each speech candidate
  tried with the SVM's ``C`` of :data:`~pipelines._cross_models.SVM_GRID_CS` and ``gamma`` of :data:`~pipelines._cross_models.SVM_GRID_GAMMAS`
  (a multiple of scikit-learn's ``"scale"``, the default), the inner speaker CV keeping one
  per subsystem as it keeps a feature set. ``augment-choice+lld-subsystem+svm-grid``: both
  choices together (each candidate with and without the copies, and with each ``C`` and
  ``gamma``). Its rule, written before its numbers were seen: it reaches the goal of 60 % on
  unseen RAVDESS actors (8 classes) as an option of the recognizer if its RAVDESS row is at
  least 60.0 %, and it becomes the default only if its CREMA-D row also loses at most one
  point against ``default+lld-subsystem``'s.

Standardised per corpus (issue 25; the rule below was written before any of its numbers was
seen):

* ``corpus-norm`` -- ``normalize="session"`` with each clip's session its corpus: the clips of
  each training corpus standardised with that corpus's own statistics, and the test batch
  (one corpus) with its own, as in Schuller et al.'s corpus normalisation. ``speaker-norm``
  treats the two sides differently where one corpus has few clips per speaker: trained on
  RAVDESS, every training clip is standardised with its speaker's statistics (44-60 clips
  each), while CREMA-D's clips (1 to 6 per speaker, most 1 or 2) fall back to their folder's
  (the 80 face-crop clips together; the 6 full-frame clips, too few, with the training
  statistics), so the model learns from clips without the differences between speakers and
  is shown clips with them (and the other way round from CREMA-D to RAVDESS). Standardising
  per corpus treats both sides alike. ``fusion+corpus-norm+shared-band``: the same beside ``adapted``'s fused
  subsystems and band. The rule: per-corpus standardisation is recommended over per-speaker
  across corpora only if, in both directions, it is at least as accurate as the same
  configuration per speaker (``corpus-norm`` against ``speaker-norm``, and
  ``fusion+corpus-norm+shared-band`` against ``fusion+speaker-norm+shared-band``), each with
  at least 80 % of the clips labelled.

``default`` and every other row are the functionals SVM without the image sets
(``sets=False``), as they were measured.

Unsupervised adaptation to the test batch (issue 25; every rule below was fixed, with its
constants, before any of its test numbers was seen; no test label enters any choice). Each is
built on ``adapted`` = ``fusion+speaker-norm+shared-band`` (named ``adapted`` to keep the rows
short) and is transductive: it uses the unlabelled test clips given together.

* ``+em`` -- label shift (Saerens et al. 2002): the fused scores are turned into posteriors by a
  temperature fitted on the training clips' out-of-fold fused scores (their labels, negative
  log-likelihood; :func:`~pipelines._cross_models.fit_temperature`); the test batch's class priors are re-estimated by
  EM (:func:`~pipelines._cross_models.em_priors`), starting from the source priors (the mean calibrated out-of-fold
  posterior), and each clip takes the class of its re-weighted posterior.
* ``+balanced`` -- decision balancing: the calibrated posteriors of the labelled test clips are
  assigned to classes so that every class receives ``floor(n / K)`` or ``ceil(n / K)`` of them,
  maximising the summed log-posterior (:func:`~pipelines._cross_models.balanced_labels`, an assignment problem).
* ``+self-train`` -- :data:`~pipelines._cross_models.SELF_TRAIN_ROUNDS` rounds: the current model labels the test batch;
  the clips whose calibrated largest posterior is at least :data:`~pipelines._cross_models.SELF_TRAIN_MIN_PROB`, at most
  ``ceil(n / (2 K))`` per class (the most confident first), join the source clips with their
  pseudo-labels, and the model is trained again from scratch on both (:func:`~pipelines._cross_models.pseudo_labels`).
  Each round selects anew from the whole batch.
* ``+reverse-C`` -- the SVMs' ``C`` chosen without a test label by reverse validation (Zhong et
  al. 2010): for each ``C`` of :data:`~pipelines._cross_models.C_GRID`, train on the source, label the test batch, train
  a second model (same ``C``) on the test batch with those labels only, and score it on the
  source clips and their labels; the best ``C`` wins (ties: the smaller ``C``), and the first
  model of that ``C`` answers.
* ``+1se-C`` -- ``C`` of :data:`~pipelines._cross_models.C_GRID` chosen in the recognizer's inner speaker CV on the
  source (every ``C`` a candidate of each subsystem; not transductive by itself), with the
  one-standard-error rule toward stronger regularisation: the smallest ``C`` whose out-of-fold
  accuracy is within one binomial standard error (``sqrt(p (1 - p) / n)``) of the best.
  ``+cv-C``: the same candidates, the best out-of-fold accuracy (no rule).

Tokens combine (``adapted+reverse-C+em``: the ``C`` of reverse validation, then EM).

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

Features are cached under ``--cache-dir``; the same command gives the same numbers. The
models the rows name, and their constants, are in :mod:`pipelines._cross_models`.

References: M. Saerens, P. Latinne and C. Decaestecker, "Adjusting the outputs of a classifier
to new a priori probabilities: a simple procedure", Neural Computation 14(1), 2002; E. Zhong et
al., "Cross validation framework to choose amongst models and datasets for transfer learning",
ECML PKDD 2010.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path

import numpy as np

from emoset.app.report import chance_levels, markdown_table, risk_coverage
from emoset.datasets.corpora import load_cremad, load_ravdess
from emoset.datasets.splits import load_split
from pipelines._cross_models import (
    AUGMENT,
    AUGMENT_ROOM,
    COMPARE_CS,
    Peer,
    Recognizer,
    SpeechSets,
    true_labels,
)

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
    "sets",
    "sets+speaker-norm",
    "sets+speaker-norm+shared-band",
    "default+lld",
    "default+lld-subsystem",
    "fusion+lld-subsystem",
    "adapted+lld-subsystem",
    "augment-choice+lld-subsystem",
    "default+lld-subsystem+svm-grid",
    "corpus-norm",
    "fusion+corpus-norm+shared-band",
    "augment-choice+lld-subsystem+svm-grid",
)
#: The unsupervised adaptations of the test batch (see the module docstring), each on
#: ``adapted`` = ``fusion+speaker-norm+shared-band``.
ADAPTED = (
    "adapted+em",
    "adapted+balanced",
    "adapted+self-train",
    "adapted+reverse-C",
    "adapted+cv-C",
    "adapted+1se-C",
    "adapted+reverse-C+em",
    "adapted+1se-C+em",
    "adapted+self-train+em",
)
SCENARIOS = ("cremad-to-ravdess", "ravdess-to-cremad", "both-to-unseen", "ravdess", "cremad")

#: Coverages of the risk-coverage curve.
COVERAGES = (0.25, 0.5, 0.75)

#: Batch sizes of ``--sessions``.
SESSION_SIZES = (1, 2, 3, 5, 10, 20, 60)


def make_config(name, cache_dir):
    """The model of a configuration name (``+``-separated tokens, see the module docstring)."""
    if name == "peer":
        return Peer(cache_dir)
    tokens = set(name.split("+"))
    if "sets" in tokens:
        return SpeechSets(
            cache_dir, normalize="speaker-norm" in tokens, shared_band="shared-band" in tokens
        )
    adapted = "adapted" in tokens  # fusion+speaker-norm+shared-band
    by_corpus = "corpus-norm" in tokens
    if by_corpus and (adapted or "speaker-norm" in tokens):
        raise ValueError(f"{name}: corpus-norm and speaker-norm are two ways to standardise.")
    room = "augment-room" in tokens or "augment-choice" in tokens
    augment = AUGMENT_ROOM if room else AUGMENT if "augment" in tokens else ()
    choose = {"reverse-C": "reverse", "cv-C": "cv", "1se-C": "1se"}
    if "svm-grid" in tokens and tokens & {"compare-C", "reverse-C", "cv-C", "1se-C"}:
        raise ValueError(f"{name}: svm-grid chooses the SVMs' C itself; drop the other C choice.")
    return Recognizer(
        cache_dir,
        normalize="speaker"
        if adapted or "speaker-norm" in tokens
        else "session"
        if by_corpus
        else None,
        augment=augment,
        augment_choice="augment-choice" in tokens,
        fusion=adapted or "fusion" in tokens,
        shared_band=adapted or "shared-band" in tokens,
        compare_Cs=COMPARE_CS if "compare-C" in tokens else None,
        choose_C=next((v for k, v in choose.items() if k in tokens), None),
        decide="em" if "em" in tokens else "balanced" if "balanced" in tokens else None,
        self_train="self-train" in tokens,
        lld="candidate" if "lld" in tokens else "subsystem" if "lld-subsystem" in tokens else None,
        svm_grid="svm-grid" in tokens,
        by_corpus=by_corpus,
    )


# --------------------------------------------------------------------------- scores


def _finite(v):
    """NaN as None (JSON has no NaN), through one level of dicts."""
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    return None if v is None or not np.isfinite(v) else v


def scores(clips, labels, conf):
    """Accuracy (abstentions wrong), coverage, accuracy of the labelled, risk-coverage, chance;
    and per subset of the corpus (CREMA-D's ``facecrop128`` and ``native`` clips): clips,
    right, labelled."""
    y = true_labels(clips)
    r = risk_coverage(y, labels, conf, coverages=COVERAGES)
    r = {k: _finite(v) for k, v in r.items()}
    subsets = np.array([str(c.subset) for c in clips], dtype=object)
    by_subset = {}
    for name in sorted(set(subsets)):
        part = subsets == name
        by_subset[name] = {
            "n": int(part.sum()),
            "right": int((labels[part] == y[part]).sum()),
            "labelled": sum(v is not None for v in labels[part]),
        }
    return {
        "by_subset": by_subset,
        "n": int(len(y)),
        "accuracy": r["accuracy"],
        "coverage": r["coverage"],
        "accuracy_labelled": r["accuracy_labelled"],
        "risk_coverage": r["curve"],
        "chance_majority": chance_levels(y)["majority"],
        "n_classes": int(len(set(y))),
    }


# --------------------------------------------------------------------------- scenarios


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
        return {"ravdess": scores(rav6, *_answer(config, cremad, rav6))}
    if scenario == "ravdess-to-cremad":
        return {"cremad": scores(cremad, *_answer(config, rav6, cremad))}
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
        return {name: scores(parts[name], *out[name]) for name in parts}
    clips = corpora[scenario]
    labels, conf = np.empty(len(clips), object), np.zeros(len(clips))
    for train, test in load_split(f"{scenario}_5fold", clips):
        labels[test], conf[test] = _answer(
            config, [clips[i] for i in train], [clips[i] for i in test]
        )
    return {scenario: scores(clips, labels, conf)}


def session_sizes(corpora, cache_dir, sizes=SESSION_SIZES):
    """Accuracy on unseen RAVDESS actors when per-speaker statistics come from ``k`` clips."""
    clips = corpora["ravdess"]
    y = true_labels(clips)
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
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS + ADAPTED)
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
