"""Metrics, chance levels, human references, tables and figures.

Every accuracy emoset reports comes with its chance level: the majority-class rate and ``1 /
n_classes``. Unweighted average recall (UAR, the mean of per-class recalls) is reported beside
accuracy because the corpora are not balanced. Figures are drawn on a ``matplotlib.figure.Figure``
(no pyplot state, no display needed).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix

from ..recognizer.timeline import score_columns
from ..utils.cache import atomic_write_bytes

__all__ = [
    "classification_metrics",
    "chance_levels",
    "human_accuracy",
    "markdown_table",
    "plot_confusion_matrix",
    "plot_emotion_map",
    "plot_timeline",
    "risk_coverage",
]

logger = logging.getLogger(__name__)

_HUMAN_MODALITIES = ("voice", "face", "av")


def classification_metrics(y_true, y_pred, *, labels=None) -> dict:
    """Accuracy, unweighted average recall, per-class recall and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_clips,)
    labels : sequence or None
        The classes to report recall for, in order; default: the sorted labels of ``y_true``.
        A prediction outside them (e.g. ``"tie"``, or a class the model knows but the corpus
        lacks) counts as wrong everywhere and gets its own confusion-matrix column.

    Returns
    -------
    metrics : dict
        ``n``, ``accuracy``, ``uar`` (mean recall over the ``labels`` present in ``y_true``),
        ``recall`` (``{label: recall}``, NaN for a class absent from ``y_true``), ``confusion``
        (list of lists, rows = true class, columns = ``labels`` then any other predicted value),
        ``labels`` (the confusion matrix's row/column names).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}.")
    if labels is None:
        labels = sorted(set(y_true.tolist()))
    labels = list(labels)
    extra = sorted((set(y_true.tolist()) | set(y_pred.tolist())) - set(labels), key=str)
    names = labels + extra
    cm = confusion_matrix(y_true, y_pred, labels=names)
    recall = {}
    for lab in labels:
        mask = y_true == lab
        recall[str(lab)] = float(np.mean(y_pred[mask] == lab)) if mask.any() else float("nan")
    present = [r for r in recall.values() if not np.isnan(r)]
    return {
        "n": int(len(y_true)),
        "accuracy": float(np.mean(y_true == y_pred)) if len(y_true) else float("nan"),
        "uar": float(np.mean(present)) if present else float("nan"),
        "recall": recall,
        "confusion": cm.tolist(),
        "labels": [str(lab) for lab in names],
    }


#: Coverages :func:`risk_coverage` reports by default.
COVERAGES = (0.25, 0.5, 0.75, 1.0)


def risk_coverage(y_true, y_pred, confidence, coverages=COVERAGES) -> dict:
    """Coverage, and the accuracy of the ``k`` most confident answers (a risk-coverage curve).

    Parameters
    ----------
    y_true : array-like of shape (n_clips,)
    y_pred : array-like of shape (n_clips,)
        ``None`` where no label was given (an abstention).
    confidence : array-like of shape (n_clips,)
        Larger is more confident (e.g. the largest fused score); ignored for abstentions.
    coverages : sequence of float in (0, 1]
        Shares of all clips: for each, the accuracy of the ``round(c * n_clips)`` answers given
        with the highest confidence (ties in clip order).

    Returns
    -------
    curve : dict
        ``coverage`` (share of clips labelled), ``accuracy`` (over all clips, an abstention
        wrong), ``accuracy_labelled`` (NaN when none is), ``curve``: ``{"25": acc, ...}``
        (percent as keys; NaN where fewer clips than that were labelled).

    Examples
    --------
    >>> r = risk_coverage(["a", "b", "a", "b"], ["a", "a", None, "b"], [0.9, 0.2, 0.0, 0.8],
    ...                   coverages=(0.5, 0.75))
    >>> r["coverage"], r["curve"]
    (0.75, {'50': 1.0, '75': 0.6666666666666666})
    """
    y_true = np.asarray(y_true, dtype=object)
    y_pred = np.asarray(y_pred, dtype=object)
    confidence = np.asarray(confidence, dtype=float)
    if not (y_true.shape == y_pred.shape == confidence.shape) or y_true.ndim != 1:
        raise ValueError(
            f"y_true, y_pred and confidence must be 1-D of one length; got {y_true.shape}, "
            f"{y_pred.shape} and {confidence.shape}."
        )
    labelled = np.array([p is not None for p in y_pred], dtype=bool)
    right = np.array([p == t for p, t in zip(y_pred, y_true, strict=True)], dtype=bool)
    order = np.argsort(
        -np.where(labelled, np.nan_to_num(confidence, nan=-np.inf), -np.inf), kind="stable"
    )
    curve = {}
    for c in coverages:
        k = max(1, int(round(float(c) * len(y_true)))) if len(y_true) else 0
        key = f"{100 * float(c):g}"
        curve[key] = float(right[order[:k]].mean()) if 0 < k <= labelled.sum() else float("nan")
    return {
        "coverage": float(labelled.mean()) if len(y_true) else float("nan"),
        "accuracy": float(right.mean()) if len(y_true) else float("nan"),
        "accuracy_labelled": float(right[labelled].mean()) if labelled.any() else float("nan"),
        "curve": curve,
    }


def chance_levels(y_true) -> dict:
    """Chance levels of a label set.

    Returns
    -------
    chance : dict
        ``majority``: accuracy of always answering the most frequent class; ``uniform``:
        ``1 / n_classes`` (also the UAR of any constant answer).
    """
    _, counts = np.unique(np.asarray(y_true), return_counts=True)
    return {"majority": float(counts.max() / counts.sum()), "uniform": 1.0 / len(counts)}


def human_accuracy(clips: Sequence, modality="av", *, labels=None):
    """Accuracy of the CREMA-D crowd raters' majority vote on exactly these clips.

    Parameters
    ----------
    clips : sequence of emoset.datasets.corpora.Clip
        Clips loaded with their votes (``clip.meta["human"]``, see ``load_cremad``).
    modality : {"voice", "face", "av"}
        The raters heard the voice only, saw the face only, or both.
    labels : array-like or None
        The labels to score against (default: each clip's own label).

    Returns
    -------
    result : dict or None
        ``accuracy``, ``uar`` and ``n`` over the clips; ``None`` when any clip has no vote. A tied
        vote counts as wrong, as in the majority-vote scores of the CREMA-D paper.

    References
    ----------
    .. [1] H. Cao, D. G. Cooper, M. K. Keutmann, R. C. Gur, A. Nenkova, R. Verma, "CREMA-D:
       Crowd-sourced emotional multimodal actors dataset", IEEE Trans. Affective Computing 5(4),
       2014.
    """
    if modality not in _HUMAN_MODALITIES:
        raise ValueError(f"modality must be one of {_HUMAN_MODALITIES}; got {modality!r}.")
    if not clips or any("human" not in c.meta for c in clips):
        return None
    y = [c.label for c in clips] if labels is None else list(labels)
    votes = [c.meta["human"][modality] for c in clips]
    pred = [v if isinstance(v, str) else "tie" for v in votes]
    m = classification_metrics(np.array(y), np.array(pred), labels=sorted(set(y)))
    return {"accuracy": m["accuracy"], "uar": m["uar"], "n": m["n"]}


def _fmt(value, floatfmt):
    if isinstance(value, (float, np.floating)):
        return "–" if np.isnan(value) else format(float(value), floatfmt)
    return str(value)


def markdown_table(rows: Sequence[dict], columns=None, *, floatfmt=".3f", headers=None) -> str:
    """Format rows of dicts as a GitHub-flavoured markdown table.

    Parameters
    ----------
    rows : sequence of dict
    columns : sequence of str or None
        Keys to show, in order (default: the first row's keys).
    floatfmt : str, default=".3f"
        Format of float cells; NaN prints as an en dash.
    headers : mapping or None
        Display names for columns.

    Returns
    -------
    table : str
    """
    if not rows:
        return ""
    columns = list(rows[0]) if columns is None else list(columns)
    headers = headers or {}
    lines = [
        "| " + " | ".join(str(headers.get(c, c)) for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c, ""), floatfmt) for c in columns) + " |")
    return "\n".join(lines)


def _save(fig, path):
    import io

    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix.lstrip(".") or "png", dpi=120, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())
    return path


def plot_confusion_matrix(confusion, labels, path, *, title="Confusion matrix", normalize=True):
    """Draw a confusion matrix (rows: true class; cells: row-normalised rate and count).

    Parameters
    ----------
    confusion : array-like of shape (n_classes, n_classes)
    labels : sequence of str
    path : str or path-like
        Output image (``.png``, ``.pdf``, ``.svg``); written atomically.
    title : str
    normalize : bool, default=True
        Colour by the rate within each true class rather than the count.

    Returns
    -------
    path : pathlib.Path
    """
    from matplotlib.figure import Figure

    cm = np.asarray(confusion, dtype=float)
    rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    n = len(labels)
    fig = Figure(figsize=(1.0 + 0.75 * n, 0.8 + 0.7 * n))
    ax = fig.add_subplot()
    im = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    for i in range(n):
        for j in range(n):
            text = f"{rates[i, j]:.2f}\n({int(cm[i, j])})" if normalize else f"{int(cm[i, j])}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if rates[i, j] > 0.6 * (rates.max() or 1) else "black",
            )
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return _save(fig, path)


def plot_emotion_map(points, labels, path, *, title="Emotion map", axis_labels=("t1", "t2")):
    """Scatter clips in a 2-D space (e.g. the first two PLS latent dimensions) by emotion.

    Parameters
    ----------
    points : array-like of shape (n_clips, 2)
    labels : array-like of shape (n_clips,)
    path : str or path-like
    title : str
    axis_labels : tuple of str

    Returns
    -------
    path : pathlib.Path
    """
    from matplotlib.figure import Figure

    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n_clips, 2); got {points.shape}.")
    labels = np.asarray(labels)
    if len(labels) != len(points):
        raise ValueError(f"{len(points)} points but {len(labels)} labels.")
    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot()
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    for k, lab in enumerate(sorted(set(labels.tolist()))):
        sel = labels == lab
        ax.scatter(
            points[sel, 0],
            points[sel, 1],
            s=28,
            color=cmap(k % 10),
            label=str(lab),
            alpha=0.85,
            edgecolors="none",
        )
        ax.scatter(
            *points[sel].mean(axis=0),
            s=180,
            marker="X",
            color=cmap(k % 10),
            edgecolors="black",
            linewidths=0.8,
        )
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title)
    ax.legend(fontsize=8, markerscale=1.0, frameon=False, loc="best")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _timeline_classes(timeline, *, needs):
    """The class-score columns of a timeline table, after checking it has the columns ``needs``."""
    for col in needs:
        if col not in timeline.columns:
            raise ValueError(f"timeline has no {col!r} column; columns: {list(timeline.columns)}.")
    return score_columns(timeline.columns)


def plot_timeline(timeline, path, *, title="Emotion over time"):
    """Per-class scores over time, with a band of the window labels under them.

    Parameters
    ----------
    timeline : pandas.DataFrame
        From :func:`emoset.recognizer.timeline.predict_timeline` (``start``, ``end``,
        ``label`` and one score column per class); with a ``person`` column
        (``people=True``), one lane per person (and one for a voice off screen).
    path : str or path-like
        Output image (``.png``, ``.pdf``, ``.svg``); written atomically.
    title : str

    Returns
    -------
    path : pathlib.Path

    Notes
    -----
    Each score is drawn at the centre of its window. The band shows the label of the window
    centred nearest to each moment; grey hatching marks windows without a label. A person's
    lane is empty while they are not seen (its curves break where windows of theirs are
    missing).
    """
    import matplotlib
    from matplotlib.figure import Figure

    classes = _timeline_classes(timeline, needs=("start", "end", "label"))
    if "person" in timeline.columns:
        who = timeline["person"].fillna("voice off screen")
        lanes = [(name, timeline[who == name]) for name in dict.fromkeys(who)]
    else:
        lanes = [(None, timeline)]
    cmap = matplotlib.colormaps["tab10"]
    colors = {c: cmap(k % 10) for k, c in enumerate(classes)}
    hop = _timeline_hop(timeline)
    fig = Figure(figsize=(9, 1.0 + 2.6 * len(lanes)))
    axes = fig.subplots(2 * len(lanes), 1, sharex=True, height_ratios=[5, 1] * len(lanes))
    for k, (name, rows) in enumerate(lanes):
        _plot_lane(axes[2 * k], axes[2 * k + 1], rows, classes, colors, name, hop)
    axes[0].set_title(title)
    axes[0].legend(fontsize=7, ncol=min(len(classes), 7), frameon=False, loc="upper right")
    axes[-1].set_xlabel("time (s)")
    return _save(fig, path)


def _timeline_hop(timeline):
    """The step between a timeline's windows (s): the median gap between their distinct starts;
    None with fewer than two."""
    starts = np.unique(timeline["start"].to_numpy(dtype=float))
    return float(np.median(np.diff(starts))) if len(starts) > 1 else None


def _plot_lane(ax, band, timeline, classes, colors, name, hop=None):
    """One lane: the scores of one person's windows (or all windows) and their labels.

    ``hop``: the timeline's step between windows; where more than 1.5 hops pass between two
    windows of the lane, its curves and band break (the person was not seen).
    """
    start = timeline["start"].to_numpy(dtype=float)
    end = timeline["end"].to_numpy(dtype=float)
    mid = (start + end) / 2
    gap = np.diff(start) > 1.5 * hop if hop else np.zeros(max(0, len(start) - 1), dtype=bool)
    cut = np.flatnonzero(gap) + 1
    x = np.insert(mid, cut, np.nan)
    for c in classes:
        y = np.insert(timeline[c].to_numpy(dtype=float), cut, np.nan)
        ax.plot(x, y, color=colors[c], label=c, lw=1.4)
    ax.set_ylabel("score (softmax)" if name is None else f"{name}\nscore")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    # band: each window owns the span between the midpoints to its neighbours, and half a hop
    # on each side of a break
    inner = (mid[1:] + mid[:-1]) / 2
    right = np.concatenate([inner, [end[-1]]]) if len(end) else end
    left = np.concatenate([[start[0]], inner]) if len(start) else start
    if len(cut):
        right[cut - 1] = np.minimum(end[cut - 1], mid[cut - 1] + hop / 2)
        left[cut] = np.maximum(start[cut], mid[cut] - hop / 2)
    for i, label in enumerate(timeline["label"].tolist()):
        x0, x1 = left[i], right[i]
        if label is None or (isinstance(label, float) and np.isnan(label)):
            band.axvspan(x0, x1, color="0.85", hatch="//", lw=0)
        else:
            band.axvspan(x0, x1, color=colors.get(label, "0.5"), lw=0)
    band.set_yticks([])
    band.set_ylabel("label", rotation=0, ha="right", va="center")
