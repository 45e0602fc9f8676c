"""What the recognizer says about a clip or a window, and the one rule that decides it.

Every subsystem answers an input (a clip, or a window of a long source) with a row of
per-class scores, or abstains: a NaN row and a reason. :func:`decide` is the one rule that
turns those rows and reasons, with the fused scores, into a :class:`Decision`: the label (the
class of the largest fused score; ``None`` when no subsystem scored: never a guess), the
softmax of the fused scores, the subsystems used, why the others abstained and how far the
input was from each subsystem's training data. Clips
(:meth:`~emoset.recognizer.system.AudioVisualEmotionRecognizer.predict_records`) and windows
(:mod:`emoset.recognizer.timeline`) both go through it.

:class:`ClipResult` is the record of one clip; :meth:`ClipResult.to_dict` is its one JSON form
(:func:`json_value` turns any value of a record or a timeline row into JSON's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import softmax

from ..datasets.corpora import Clip
from ..decision.scoring import scores_to_labels
from ..utils.messages import shown
from ..video.extract import NO_VIDEO, clip_name

__all__ = ["ClipResult", "Decision", "decide", "json_value"]


@dataclass
class Decision:
    """The rule's answer for one input (see :func:`decide`).

    Attributes
    ----------
    label : str or None
        The class of the largest fused score; ``None`` when no subsystem scored the input.
    scores : dict
        Class -> softmax of the fused scores (a ranking, not a calibrated probability);
        ``None`` values without a label.
    subsystems : list of str
        The subsystems whose scores were fused.
    reasons : dict
        Subsystem -> why it abstained.
    distances : dict
        Subsystem -> distance to its nearest training input over its threshold (above 1: out
        of distribution); only subsystems that measure it.
    """

    label: str | None
    scores: dict
    subsystems: list = field(default_factory=list)
    reasons: dict = field(default_factory=dict)
    distances: dict = field(default_factory=dict)

    @property
    def ood(self):
        """Whether any subsystem found the input far from its training data."""
        return any(v > 1 for v in self.distances.values())

    def unscored(self, what="clip"):
        """Why there is no label (``None`` when there is one).

        Parameters
        ----------
        what : str, default="clip"
            What the input is, for the sentence (``"clip"``, ``"window"``).
        """
        if self.label is not None:
            return None
        # an audio file has no video: that is not what went wrong with it
        said = {n: w for n, w in self.reasons.items() if w != NO_VIDEO} or self.reasons
        why = "; ".join(f"{n}: {w}" for n, w in said.items())
        return f"no subsystem could score this {what}" + (f": {why}" if why else "")

    def explain(self, what="clip"):
        """One line: why there is no label, else which subsystems abstained and why."""
        if self.label is None:
            return self.unscored(what)
        return "; ".join(f"{n}: {w}" for n, w in self.reasons.items())


def decide(scores, reasons, fused, classes, distances=None):
    """The one rule from subsystem scores and reasons to a label, for clips and windows alike.

    Parameters
    ----------
    scores : dict
        ``{subsystem: ndarray of shape (n, n_classes)}``, NaN rows where it abstained.
    reasons : dict
        ``{subsystem: [why or None] * n}``: why it abstained on each input. A reason counts
        only where the subsystem abstained; a subsystem that abstained without one is said to
        have given "no score".
    fused : ndarray of shape (n, n_classes)
        The fusion of ``scores`` (NaN rows where no subsystem scored).
    classes : array-like of shape (n_classes,)
        The class of each column.
    distances : dict or None
        ``{subsystem: ndarray of shape (n,)}`` distance ratios to the training data (NaN
        where not measured).

    Returns
    -------
    decisions : list of Decision
        One per input, in order.
    """
    classes = [str(c) for c in classes]
    fused = np.asarray(fused, dtype=float)
    labels = scores_to_labels(fused, np.asarray(classes, dtype=object))
    proba = softmax(fused, axis=1)
    distances = distances or {}
    out = []
    for i, label in enumerate(labels):
        used = [n for n, s in scores.items() if not np.isnan(s[i]).any()]
        why = {
            n: (reasons.get(n) or [None] * len(fused))[i] or "no score"
            for n in scores
            if n not in used
        }
        out.append(
            Decision(
                label=None if label is None else str(label),
                scores={
                    c: (None if label is None else float(p))
                    for c, p in zip(classes, proba[i], strict=True)
                },
                subsystems=used,
                reasons=why,
                distances={n: float(d[i]) for n, d in distances.items() if np.isfinite(d[i])},
            )
        )
    return out


def json_value(value, digits=4):
    """A value as JSON has it: NaN and infinities null, floats rounded to ``digits`` decimals.

    ``digits=None`` keeps every digit (metrics); records and timeline rows use 4.
    """
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return None
        return float(value) if digits is None else round(float(value), digits)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {str(k): json_value(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v, digits) for v in value]
    return value


@dataclass
class ClipResult:
    """What the recognizer says about one clip.

    Attributes
    ----------
    clip : str
        The clip's id (``Clip.id``, or the file's stem).
    path : str or None
        The file it was read from.
    label : str or None
        The fused decision; ``None`` when no subsystem could score the clip.
    scores : dict
        Class -> softmax of the fused scores (a ranking, not a calibrated probability);
        ``None`` values when there is no label.
    subsystems : list of str
        The subsystems whose scores were fused.
    reasons : dict
        Subsystem -> why it abstained on this clip.
    warnings : list of str
        Caveats about a clip that was scored (short audio, narrower band than training, a
        partially decoded file).
    ood : bool
        Whether any subsystem found the clip far from its training data.
    distances : dict
        Subsystem -> distance to its nearest training input over its threshold (above 1: out
        of distribution; see :class:`~emoset.decision.abstain.AbstainingClassifier`).
    error : str or None
        Why there is no label (``None`` when there is one).
    n_people : int
        People whose faces were seen (0 without video or without a face).
    person : str or None
        Whose face the video subsystems labelled (``"P1"``, ...: the main person, who speaks
        the most, else is seen the most); ``None`` without a face.
    people : list of dict or None
        With ``emoset predict --people``: one dict per person (and one for a voice off
        screen), the rows of
        :meth:`~emoset.recognizer.system.AudioVisualEmotionRecognizer.predict_people`.
    """

    clip: str
    path: str | None
    label: str | None
    scores: dict
    subsystems: list = field(default_factory=list)
    reasons: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    ood: bool = False
    distances: dict = field(default_factory=dict)
    error: str | None = None
    n_people: int = 0
    person: str | None = None
    people: list | None = None

    @classmethod
    def from_decision(cls, clip, decision, *, warnings=()):
        """The record of a clip (a :class:`~emoset.datasets.Clip` or a path) and its decision."""
        return cls(
            clip=clip_name(clip),
            path=clip_path(clip),
            label=decision.label,
            scores=dict(decision.scores),
            subsystems=list(decision.subsystems),
            reasons=dict(decision.reasons),
            warnings=sorted(set(warnings)),
            ood=decision.ood,
            distances=dict(decision.distances),
            error=decision.unscored("clip"),
        )

    @classmethod
    def unreadable(cls, clip, classes, error):
        """The record of a clip that could not be read at all (no subsystem saw it)."""
        return cls(
            clip=clip_name(clip),
            path=clip_path(clip),
            label=None,
            scores={str(c): None for c in classes},
            error=error,
        )

    def to_dict(self):
        """The record as JSON has it (floats rounded to 4 decimals, NaN as null)."""
        return {
            "clip": self.clip,
            "path": self.path,
            "label": self.label,
            "scores": json_value(self.scores),
            "subsystems": list(self.subsystems),
            "reasons": dict(self.reasons),
            "warnings": list(self.warnings),
            "ood": bool(self.ood),
            "distances": json_value(self.distances),
            "error": self.error,
            "n_people": int(self.n_people),
            "person": self.person,
            **({} if self.people is None else {"people": json_value(self.people)}),
        }


def clip_path(clip):
    """The file a clip was read from: its video, else its audio (a path stands for itself)."""
    if isinstance(clip, Clip):
        path = clip.video if clip.video is not None else clip.audio
        return None if path is None else shown(path)
    return shown(clip)
