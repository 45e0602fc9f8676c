"""A timeline as one self-contained HTML page: the video, a lane per person, a moving cursor.

:func:`write_timeline_html` writes the page ``emoset timeline ... --html report.html`` makes:
the source in a player (a relative link to the file, or the file embedded when it is small),
one lane per person (one lane without ``people``) with the per-class score curves over the
band of window labels, abstained windows in grey, a cursor that follows playback, click to
seek, hover for a window's scores and reasons. Plain HTML, CSS and JavaScript of emoset's own
(``emoset/data/timeline_report.html``), no library; a Content-Security-Policy lets the page
load nothing but that media file. The windows are stored compactly (times in centiseconds,
scores in hundredths, repeated texts once, a reason's numbers apart from its words), so an
hour of windows every 0.5 s is a page of about 0.3 MB per lane.
"""

from __future__ import annotations

import base64
import json
import math
import mimetypes
import os
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np

from ..io import media_kind
from ..io.sources import is_url
from ..utils.cache import atomic_write_bytes
from ..utils.resources import emoset_data
from .report import _timeline_classes, _timeline_hop

__all__ = ["EMBED_LIMIT", "write_timeline_html"]

#: Media files up to this size (bytes) are embedded in the page with ``embed="auto"``.
EMBED_LIMIT = 3_000_000

#: Class colours: matplotlib's tab10, as in :func:`emoset.app.report.plot_timeline`.
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip

_PLACEHOLDER = "/*EMOSET_DATA*/"
_NONE = -1
#: Where a number was in a reason's template (the page's ``fill`` puts it back).
_SLOT = "\x01"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _text_index(texts, value):
    """Index of ``value`` in the shared table of texts (added once), -1 for none."""
    if _blank(value):
        return _NONE
    return texts.setdefault(str(value), len(texts))


def _blank(value):
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _reason(texts, value):
    """``(index of its template, its numbers)``: a reason with its numbers taken out.

    Reasons repeat but for their numbers ("nearest training input 12.6x farther ..."), so the
    table keeps each template once (every number replaced by :data:`_SLOT`) and the window
    the numbers, space-separated ("" for none, or when the text holds the slot character);
    the page puts them back in order.
    """
    if _blank(value):
        return _NONE, ""
    text = str(value)
    if _SLOT in text:
        return _text_index(texts, text), ""
    numbers = _NUMBER.findall(text)
    return _text_index(texts, _NUMBER.sub(_SLOT, text)), " ".join(numbers)


def _lane(rows, name, title, classes, texts):
    """One lane's windows, compactly: times in centiseconds (starts as differences), scores in
    hundredths (-1: none), labels as class indices, texts as indices into ``texts`` (reasons
    as templates and their numbers)."""
    start = np.round(rows["start"].to_numpy(dtype=float) * 100).astype(np.int64)
    end = np.round(rows["end"].to_numpy(dtype=float) * 100).astype(np.int64)
    index = {c: k for k, c in enumerate(classes)}
    scores = []
    for c in classes:
        v = rows[c].to_numpy(dtype=float)
        scores.append(np.where(np.isnan(v), _NONE, np.round(np.nan_to_num(v) * 100)).astype(int))
    labels = [index.get(v, _NONE) if isinstance(v, str) else _NONE for v in rows["label"]]
    faces = rows["n_faces"] if "n_faces" in rows else np.zeros(len(rows), int)
    speech = rows["speech"] if "speech" in rows else np.zeros(len(rows), bool)
    subsystems = rows["subsystems"] if "subsystems" in rows else [None] * len(rows)
    reasons = [_reason(texts, r) for r in rows["reason"]]
    return {
        "name": name,
        "title": title,
        "start": np.diff(start, prepend=0).tolist(),
        "length": (end - start).tolist(),
        "label": labels,
        "scores": [s.tolist() for s in scores],
        "reason": [index for index, _ in reasons],
        "numbers": [numbers for _, numbers in reasons],
        "faces": [int(f) for f in faces],
        "speech": [int(bool(s)) for s in speech],
        "subsystems": [_text_index(texts, s) for s in subsystems],
    }


def _lanes(timeline, classes, texts):
    if "person" not in timeline.columns:
        return [_lane(timeline, "", "all", classes, texts)]
    who = timeline["person"].astype(object).where(timeline["person"].notna(), None)
    lanes = []
    for person in dict.fromkeys(who):
        mine = who.isna() if person is None else who == person
        rows = timeline[mine.to_numpy()]
        title = "voice off screen" if person is None else str(person)
        lanes.append(_lane(rows, "" if person is None else str(person), title, classes, texts))
    return lanes


def _media(source, page, embed):
    """The player's source: ``None`` (no local file), or the file linked or embedded."""
    if source is None or is_url(source) or not os.path.isfile(source):
        return None
    kind = media_kind(source)
    path = Path(source).resolve()
    size = path.stat().st_size
    if embed is True or (embed == "auto" and size <= EMBED_LIMIT):
        mime = mimetypes.guess_type(path.name)[0] or f"{kind}/mp4"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return {"kind": kind, "src": f"data:{mime};base64,{data}", "name": path.name,
                "embedded": True}  # fmt: skip
    try:
        rel = os.path.relpath(path, Path(page).resolve().parent)
        src = quote(Path(rel).as_posix())
    except ValueError:  # another drive (Windows): an absolute file URL
        src = path.as_uri()
    return {"kind": kind, "src": src, "name": path.name, "embedded": False}


def write_timeline_html(timeline, path, *, source=None, title=None, embed="auto", description=None):
    """Write a timeline as one self-contained HTML page.

    Parameters
    ----------
    timeline : pandas.DataFrame
        From :func:`emoset.recognizer.timeline.predict_timeline` (or ``emoset timeline``'s
        rows): ``start``, ``end``, ``label``, ``reason``, one score column per class, and
        where present ``person`` (a lane per person), ``n_faces``, ``speech``,
        ``subsystems``.
    path : str or path-like
        The page to write (atomically).
    source : str, path-like or None
        The timeline's source. A local media file is shown in a player; a URL or a device
        gets no player (the cursor then moves by clicks only).
    title : str or None
        Default: "Emotion over time: <source file name>".
    embed : {"auto", True, False}, default="auto"
        Put the media file inside the page (base64) rather than link to it by its path
        relative to the page; ``"auto"``: embed files up to :data:`EMBED_LIMIT` bytes.
    description : str or None
        One line under the title (default: windows, their length and the source's duration).

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ValueError
        If a column the page needs is missing, or ``embed`` is not one of its values.
    emoset.io.MediaError
        If ``source`` is a local file that is not a video or audio file.
    """
    classes = [
        str(c) for c in _timeline_classes(timeline, needs=("start", "end", "label", "reason"))
    ]
    if embed not in ("auto", True, False):
        raise ValueError(f"embed must be 'auto', True or False; got {embed!r}.")
    texts = {}
    lanes = _lanes(timeline, classes, texts)
    duration = float(timeline["end"].max()) if len(timeline) else 0.0
    name = None if source is None else Path(str(source)).name if not is_url(source) else source
    if description is None:
        description = _describe(timeline, duration, len(lanes))
    data = {
        "title": title or f"Emotion over time: {name or 'timeline'}",
        "meta": description,
        "source": None if source is None else str(name),
        "duration": duration,
        "hop": _timeline_hop(timeline) or 0.0,
        "classes": classes,
        "colors": [_COLORS[k % len(_COLORS)] for k in range(len(classes))],
        "texts": list(texts),
        "lanes": lanes,
        "media": _media(source, path, embed),
    }
    blob = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    blob = blob.replace("<", "\\u003c")  # no "</script>" can close the data block early
    page = emoset_data("timeline_report.html").read_text(encoding="utf-8")
    atomic_write_bytes(path, page.replace(_PLACEHOLDER, blob, 1).encode("utf-8"))
    return Path(path)


def _describe(timeline, duration, n_lanes):
    n = len(timeline)
    if n == 0:
        return "no windows"
    length = float(np.median(timeline["end"] - timeline["start"]))
    hop = _timeline_hop(timeline) or length
    unlabelled = int(timeline["label"].isna().sum())
    who = f", {n_lanes} lanes (people)" if "person" in timeline.columns else ""
    return (
        f"{n} windows of {length:g} s every {hop:g} s over {duration:.1f} s{who}; "
        f"{unlabelled} without a label"
    )
