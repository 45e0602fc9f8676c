"""Model cards: what a saved model is, what it was trained on, how well it does, its terms.

A card is a JSON file beside the model (``model.skops.card.json``, written by
:func:`~emoset.recognizer.persistence.save_model` with ``card=``; ``emoset train`` and ``make
pretrained`` write one). It holds what the model file cannot say about itself: the training
clips (corpora, licences, counts), the speaker-independent evaluation with its chance levels
and the human reference, what the model was not trained on, how it was made. What the model
does say (classes, subsystems, the candidates chosen, the fusion) is read from the model
itself by :func:`describe_model`, so ``emoset info`` describes any saved model, with or
without a card (:func:`format_card`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from .._version import __version__
from ..audio.features import LibrosaFeatures, OpenSmileDescriptorMoments, OpenSmileFeatures
from ..datasets.fetch import CREMAD_LICENSE, RAVDESS_LICENSE
from ..decision.abstain import AbstainingClassifier
from ..sets.classifiers import ImageSetPLS
from .persistence import load_model, read_card

__all__ = [
    "CARD_FORMAT",
    "CORPUS_TERMS",
    "describe_model",
    "format_card",
    "model_info",
    "train_card",
    "training_data",
]

#: Version of the card's layout.
CARD_FORMAT = 1

#: Each corpus's licence, and whether a model trained on it may ship inside emoset's wheel
#: (which anyone may use, commercially too): only then does ``make pretrained`` train on it.
CORPUS_TERMS = {
    "cremad": {
        "name": "CREMA-D",
        "licence": CREMAD_LICENSE,
        "ships": True,
        "why": "ODbL 1.0 allows any use, commercial too, with attribution; a derived "
        "database stays under the ODbL (share-alike)",
    },
    "ravdess": {
        "name": "RAVDESS",
        "licence": RAVDESS_LICENSE,
        "ships": False,
        "why": "CC BY-NC-SA 4.0 is non-commercial and share-alike: a model trained on it "
        "cannot ship in a package anyone may use commercially",
    },
    "afew": {
        "name": "AFEW",
        "licence": "EULA of the EmotiW organisers (research use, no redistribution)",
        "ships": False,
        "why": "its EULA allows no redistribution of the data or of what is derived from it",
    },
}

#: Components a subsystem runs on every clip, and their terms.
_TERMS = {
    "dlib": "faces: dlib's detector and 68-point landmarks (dlib-bin, Boost licence; model "
    "files from face-recognition-models, CC0, but the landmark predictor was trained on iBUG "
    "300-W, whose terms exclude commercial use)",
    "cnn": "emotion CNN: the FER2013 mini-Xception weights shipped in emoset/models/ (MIT; "
    "Arriaga et al. 2017)",
    "opensmile": "speech features: openSMILE (audEERING research licence: non-commercial "
    "research and education only; commercial use needs a licence from audEERING)",
    "librosa": "speech features: MFCC, spectral and pitch descriptors as librosa defines them, "
    "computed by emoset (BSD-3-Clause); pYIN pitch, when chosen, by librosa (ISC licence)",
}


def _short(est):
    """An estimator as one line: its class and the parameters that differ from the defaults."""
    return " ".join(repr(est).split()).replace("( ", "(").replace(" )", ")")


def _classifier(pipeline):
    """What a subsystem's pipeline does after its feature step, in a few words."""
    parts = []
    for _, step in pipeline.steps[1:]:
        if isinstance(step, AbstainingClassifier):
            step = step.estimator
        if isinstance(step, ImageSetPLS):
            parts.append(
                f"{step.set_model} set model, {step.kernel} kernel, {step.classifier.upper()}"
            )
        else:
            parts.append(_short(step))
    return " -> ".join(parts)


def _input(model, name, step):
    """What a subsystem reads from a clip: the frame feature and rate, or the speech features."""
    if model.modalities_[name] == "video":
        fps = model.fps if model.fps is not None else step.fps
        rate = f"{fps:g} frames/s" if fps is not None else "every frame"
        return f"{model.frame_features_[name]} image sets ({rate})"
    if isinstance(step, OpenSmileDescriptorMoments):
        return f"openSMILE {step.feature_set} descriptors of 10 ms frames, as a Gaussian"
    if isinstance(step, OpenSmileFeatures):
        return f"openSMILE {step.feature_set} functionals"
    if isinstance(step, LibrosaFeatures):
        return "librosa functionals"
    return type(step).__name__


def describe_model(model):
    """What a fitted model says about itself.

    Parameters
    ----------
    model : estimator
        Usually a fitted :class:`~emoset.recognizer.system.AudioVisualEmotionRecognizer`;
        any other estimator is described by its class and parameters.

    Returns
    -------
    description : dict
        ``type``, ``classes``; for a recognizer also ``n_training_clips``, ``subsystems`` (one
        dict each: ``name``, ``modality``, ``input``, ``classifier``, ``chosen`` and
        ``candidates`` (the candidate kept, of how many), ``inner_cv_accuracy`` (its
        out-of-fold accuracy on the training clips), ``augmented`` (whether it also trained on
        augmented copies)), ``fusion`` and ``terms`` (the components
        it runs and their licences).
    """
    out = {"type": type(model).__name__}
    classes = getattr(model, "classes_", None)
    out["classes"] = None if classes is None else [str(c) for c in classes]
    if not hasattr(model, "subsystems_"):
        out["parameters"] = _short(model) if isinstance(model, BaseEstimator) else repr(model)
        return out
    steps = model.feature_steps()
    subsystems = []
    for name, pipeline in model.subsystems_.items():
        k = model.selected_[name]
        subsystems.append(
            {
                "name": name,
                "modality": model.modalities_[name],
                "input": _input(model, name, steps[name]),
                "classifier": _classifier(pipeline),
                "chosen": k + 1,
                "candidates": len(model.candidate_scores_[name]),
                "inner_cv_accuracy": float(model.candidate_scores_[name][k]),
                # trained on augmented copies too (older models: no such record)
                "augmented": bool(getattr(model, "augmented_", {}).get(name, False)),
            }
        )
    out["n_training_clips"] = len(next(iter(model.oof_scores_.values())))
    out["inner_cv"] = int(model.inner_cv)
    # speaker-grouped inner folds (models saved before this record: None)
    out["inner_cv_grouped"] = getattr(model, "inner_cv_grouped_", None)
    out["subsystems"] = subsystems
    fusion = model.fusion_
    params = {k: v for k, v in fusion.get_params(deep=False).items() if k != "classes"}
    out["fusion"] = f"{type(fusion).__name__}({', '.join(f'{k}={v!r}' for k, v in params.items())})"
    out["terms"] = _model_terms(model, steps)
    return out


def _model_terms(model, steps):
    used = []
    if any(m == "video" for m in model.modalities_.values()):
        used.append("dlib")
    if any(f.endswith("cnn") for f in model.frame_features_.values()):
        used.append("cnn")
    if any(isinstance(s, OpenSmileFeatures) for s in steps.values()):
        used.append("opensmile")
    if any(isinstance(s, LibrosaFeatures) for s in steps.values()):
        used.append("librosa")
    return [_TERMS[k] for k in used]


def training_data(clips, *, demographics=None):
    """The training clips as a card records them: corpora, licences and counts, no paths.

    Parameters
    ----------
    clips : sequence of emoset.datasets.corpora.Clip
    demographics : dict or None
        ``{speaker: {"age": int, "sex": str}}`` where known (CREMA-D's
        ``VideoDemographics.csv``): the card then gives the speakers' ages and sexes.

    Returns
    -------
    data : dict
        ``clips``, ``speakers``, ``classes`` (clips per label), ``corpora`` (per corpus: its
        name, licence, clips, speakers and, for CREMA-D, clips per layout), ``with_video``,
        ``clip_list_sha256`` (of the sorted ``corpus/id,label,speaker`` lines: the same clips
        give the same value), ``clip_ids`` (the sorted ``corpus/id`` of every clip: ``emoset
        evaluate`` says when it is given the model's own training clips), and ``ages`` /
        ``sexes`` with ``demographics``.
    """
    lines = sorted(f"{c.corpus}/{c.id},{c.label},{c.speaker}" for c in clips)
    corpora = {}
    for c in clips:
        corpora.setdefault(c.corpus, []).append(c)
    out = {
        "clips": len(clips),
        "speakers": len({(c.corpus, c.speaker) for c in clips}),
        "classes": dict(sorted(Counter(str(c.label) for c in clips).items())),
        "with_video": sum(c.video is not None for c in clips),
        "corpora": [],
        "clip_list_sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
        "clip_ids": sorted(clip_key(c) for c in clips),
    }
    for corpus, members in sorted(corpora.items()):
        terms = CORPUS_TERMS.get(corpus, {})
        entry = {
            "corpus": corpus,
            "name": terms.get("name", corpus),
            "licence": terms.get("licence", "unknown (not a corpus emoset knows)"),
            "clips": len(members),
            "speakers": len({c.speaker for c in members}),
        }
        layouts = Counter(c.subset for c in members if c.subset)
        if layouts:
            entry["layouts"] = dict(sorted(layouts.items()))
        out["corpora"].append(entry)
    if demographics:
        known = [demographics[c.speaker] for c in {c.speaker: c for c in clips}.values()
                 if c.speaker in demographics]  # fmt: skip
        if known:
            ages = [d["age"] for d in known]
            out["ages"] = [int(min(ages)), int(max(ages))]
            out["sexes"] = dict(sorted(Counter(d["sex"] for d in known).items()))
    return out


def clip_key(clip):
    """How a card names a training clip: ``corpus/id`` (no path)."""
    return f"{clip.corpus}/{clip.id}"


def seen_in_training(card, clips):
    """The clips a model's card lists among its training clips (by corpus and clip id).

    Parameters
    ----------
    card : dict or None
        :func:`~emoset.recognizer.persistence.read_card` of the model.
    clips : sequence of Clip

    Returns
    -------
    seen : list of str or None
        Their ``corpus/id``; ``None`` when the card does not list its clips (no card, or one
        written before cards did).
    """
    listed = ((card or {}).get("training_data") or {}).get("clip_ids")
    if listed is None:
        return None
    listed = set(listed)
    return [clip_key(c) for c in clips if clip_key(c) in listed]


def train_card(clips, made_by):
    """The card ``emoset train`` writes: how the model was made and its training data.

    Parameters
    ----------
    clips : sequence of emoset.datasets.corpora.Clip
        The training clips.
    made_by : str
        The command (options, no paths).

    Returns
    -------
    card : dict
        ``format``, ``made_by``, ``emoset`` (version), ``training_data``
        (:func:`training_data`) and ``evaluation`` (``None``: not measured).
    """
    return {
        "format": CARD_FORMAT,
        "made_by": made_by,
        "emoset": __version__,
        "training_data": training_data(clips),
        "evaluation": None,
    }


def model_info(path):
    """Everything ``emoset info`` shows of a model file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    info : dict
        ``path``, ``sha256`` (of the file), ``model`` (:func:`describe_model` of the loaded
        model) and ``card`` (:func:`~emoset.recognizer.persistence.read_card`, or ``None``).
        Format it with :func:`format_card`.
    """
    path = Path(path)
    model = load_model(path)  # checks the recorded digest first
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"path": str(path), "sha256": digest, "model": describe_model(model),
            "card": read_card(path)}  # fmt: skip


def _pct(x):
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.1f} %"


def _wrap(text, indent="  ", width=96):
    import textwrap

    return textwrap.fill(text, width, initial_indent=indent, subsequent_indent=indent + "  ")


def format_card(description, card=None, *, path=None, digest=None):
    """The text ``emoset info`` prints: the model's own description, then its card.

    Parameters
    ----------
    description : dict
        From :func:`describe_model`.
    card : dict or None
        The model's card (:func:`~emoset.recognizer.persistence.read_card`); ``None``: the
        model has none, and the text says what is therefore unknown.
    path : str or None
        The model file, for the first line.
    digest : str or None
        The model file's SHA-256. A card recorded for another digest is shown as such and its
        training data and scores are left out: they describe another file.

    Returns
    -------
    text : str
    """
    lines = [f"emoset model: {path}" if path else "emoset model"]
    if digest:
        lines.append(f"SHA-256: {digest}")
    lines += _model_lines(description, card if _card_fits(card, digest) else None)
    if card is None:
        lines += [
            "",
            "No model card beside this file: its training data and accuracy are unknown. "
            "'emoset train' and 'make pretrained' write one (<model>.card.json).",
        ]
        return "\n".join(lines)
    if not _card_fits(card, digest):
        lines += [
            "",
            f"Its card was written for another file (SHA-256 {card.get('model_sha256')}): the "
            "card's training data and accuracy do not describe this model.",
        ]
        return "\n".join(lines)
    lines += _card_lines(card)
    return "\n".join(lines)


def _card_fits(card, digest):
    return card is not None and (not digest or card.get("model_sha256") == digest)


def _cv_words(d, card):
    """How the candidates were chosen: by speaker-grouped inner folds only where they were."""
    grouped = d.get("inner_cv_grouped")
    if grouped is None and card:  # an older model: its card's count of training speakers
        speakers = (card.get("training_data") or {}).get("speakers")
        grouped = None if not speakers else speakers >= d.get("inner_cv", 5)
    if grouped:
        return "inner speaker-grouped CV"
    if grouped is None:
        return "inner CV"
    return "inner CV (not speaker-grouped: fewer speakers known than folds)"


def _model_lines(d, card=None):
    lines = [f"Type: {d['type']}"]
    if d.get("classes"):
        lines.append(f"Classes ({len(d['classes'])}): {', '.join(d['classes'])}")
    if "subsystems" not in d:
        lines.append(f"Parameters: {d.get('parameters', '')}")
        return lines
    lines += ["", f"Subsystems (trained on {d['n_training_clips']} clips)"]
    chosen_by = _cv_words(d, card)  # the same inner folds chose every subsystem's candidate
    for s in d["subsystems"]:
        lines.append(f"  {s['name']} ({s['modality']}): {s['input']} -> {s['classifier']}")
        lines.append(
            f"      candidate {s['chosen']} of {s['candidates']}, chosen by {chosen_by} "
            f"(out-of-fold accuracy {_pct(s['inner_cv_accuracy'])})"
            + ("; trained on augmented copies too" if s.get("augmented") else "")
        )
    lines.append(f"Fusion: {d['fusion']}")
    lines += ["", "Components it runs, and their terms"]
    lines += [_wrap(f"- {t}") for t in d["terms"]]
    return lines


def _card_lines(card):
    lines = []
    if card.get("name"):
        lines += ["", f"Card: {card['name']}"]
    data = card.get("training_data") or {}
    lines += ["", f"Training data: {data.get('clips')} clips of {data.get('speakers')} speakers"]
    for c in data.get("corpora", []):
        layouts = c.get("layouts")
        where = f" ({', '.join(f'{n} {k}' for k, n in layouts.items())})" if layouts else ""
        lines.append(f"  {c['name']}: {c['clips']} clips, {c['speakers']} speakers{where}")
        lines.append(_wrap(f"licence: {c['licence']}", indent="    "))
    if data.get("classes"):
        lines.append(
            "  clips per class: " + ", ".join(f"{k} {v}" for k, v in data["classes"].items())
        )
    if data.get("ages"):
        sexes = ", ".join(f"{n} {k.lower()}" for k, n in data.get("sexes", {}).items())
        lines.append(f"  speakers aged {data['ages'][0]}-{data['ages'][1]} ({sexes})")
    for c in card.get("excluded_data", []):
        lines.append(_wrap(f"not used: {c['name']} ({c['why']})"))
    lines += _evaluation_lines(card.get("evaluation"))
    if card.get("not_trained_on"):
        lines += ["", "Not trained on (expect worse answers there)"]
        lines += [_wrap(f"- {t}") for t in card["not_trained_on"]]
    if card.get("licence"):
        lines += ["", "Licence of this model file", _wrap(card["licence"])]
    lines += ["", f"Made by: {card.get('made_by', 'unknown')} (emoset {card.get('emoset')})"]
    if card.get("rebuild"):
        lines.append(_wrap(f"Rebuild: {card['rebuild']}", indent=""))
    return lines


def _evaluation_lines(ev):
    if not ev:
        return ["", "Accuracy: not measured with this model (evaluate it on held-out speakers: "
                "'emoset evaluate MODEL --corpus ... --speakers ...')."]  # fmt: skip
    chance = ev["chance"]
    lines = [
        "",
        f"Accuracy: {ev['protocol']}",
        f"  accuracy {_pct(ev['accuracy'])}, UAR {_pct(ev['uar'])} on {ev['n']} clips "
        f"(chance: majority class {_pct(chance['majority'])}, uniform {_pct(chance['uniform'])})",
    ]
    if ev.get("unscored"):
        lines.append(f"  {ev['unscored']} clip(s) got no label (counted wrong)")
    lines.append("  recall: " + ", ".join(f"{k} {_pct(v)}" for k, v in ev["recall"].items()))
    human = ev.get("human") or {}
    if human:
        lines.append("  human raters (CREMA-D crowd, majority vote, the same clips):")
        for name, h in human.items():
            if h:
                lines.append(f"    {name}: accuracy {_pct(h['accuracy'])}, UAR {_pct(h['uar'])}")
    return lines
