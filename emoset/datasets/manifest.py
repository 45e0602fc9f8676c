"""Clips listed in a CSV manifest: any data set, whatever its folder layout.

:func:`load_manifest` reads a table with one row per clip (``video``, ``audio``, ``emotion``
and ``speaker`` columns; ``id``, ``corpus``, ``intensity`` and any other column optional) into
the :class:`~emoset.datasets.corpora.Clip` records the corpus loaders of :mod:`emoset.datasets.corpora` make.
A manifest written by hand or by a spreadsheet is read as its author meant it (byte-order
marks, UTF-16, CR line endings, ``;`` or tab separators, quoted fields over several lines), and
every error names the file, the line and what was expected.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path
from types import MappingProxyType

from ..utils.messages import shown, what_is
from .corpora import _LABEL_ALIASES, EMOTIONS, Clip, find_data_root

__all__ = ["load_manifest"]

#: Columns a manifest must have, as the user writes them (``label`` may stand for ``emotion``).
_MANIFEST_REQUIRED = ("video", "audio", "emotion", "speaker")
#: Columns with a meaning; any other column goes to ``Clip.meta``.
_MANIFEST_COLUMNS = ("id", "video", "audio", "emotion", "label", "speaker", "corpus", "intensity")
#: Byte-order marks and the encoding each announces (UTF-32 before UTF-16: same first bytes).
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _read_manifest_text(path: Path) -> str:
    """The manifest's text: UTF-8 (with or without a BOM), or UTF-16/32 with a BOM.

    Raises
    ------
    ValueError
        Naming the line of the first byte that is not valid text in that encoding.
    """
    data = path.read_bytes()
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode(encoding, errors="replace")
        raise ValueError(
            f"{path}, line {before.count(chr(10)) + 1}: not valid {encoding} text (byte "
            f"{data[exc.start]:#04x}); save the manifest as UTF-8 (in Excel: CSV UTF-8)."
        ) from None


def _manifest_records(path: Path, text: str):
    """Yield ``(line number, fields)`` of every non-blank record, the header first.

    The delimiter is the one of ``,``, ``;`` (Excel in many locales) and tab that the header
    line holds most often. Line endings may be LF, CRLF or CR; a quoted field may span lines
    (its record is numbered by its first line). Records whose fields are all empty are skipped.
    """
    header_line = text.lstrip("\r\n").splitlines()[0] if text.strip() else ""
    delimiter = max((",", ";", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    last = 0
    try:
        for fields in reader:
            start, last = last + 1, reader.line_num
            if any(field.strip() for field in fields):
                yield start, fields
    except csv.Error as exc:
        raise ValueError(f"{path}, line {last + 1}: not a CSV record ({exc}).") from None


def _manifest_columns(path: Path, line: int, header) -> list:
    """Column names: stripped, known names in lower case; duplicates and missing ones refused."""
    columns = []
    for name in header:
        name = name.strip().lstrip("\ufeff")
        columns.append(name.lower() if name.lower() in _MANIFEST_COLUMNS else name)
    first = {}
    for i, name in enumerate(columns, start=1):
        if name and name in first:
            raise ValueError(
                f"{path}, line {line}: column {name!r} appears twice (columns {first[name]} and "
                f"{i}); every column needs its own name."
            )
        first.setdefault(name, i)
    missing = [
        name
        for name in _MANIFEST_REQUIRED
        if name not in first and not (name == "emotion" and "label" in first)
    ]
    if missing:
        raise ValueError(
            f"{path}, line {line}: missing column(s) {missing}; has {[c for c in columns if c]}. "
            "A manifest has the columns video, audio, emotion (or label) and speaker."
        )
    return columns


def _manifest_file(path: Path, line: int, key: str, value: str, base: Path) -> Path:
    """The media file a ``video`` / ``audio`` value names (relative to the manifest's folder)."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError(
            f"{path}, line {line}: the {key} value {value!r} is not a usable path (it holds "
            "control characters)."
        )
    file = Path(value).expanduser()
    file = file if file.is_absolute() else base / file
    try:
        problem = what_is(file)
    except (OSError, ValueError) as exc:  # e.g. a name too long for the file system
        raise ValueError(
            f"{path}, line {line}: the {key} value {value[:80]!r} is not a usable path "
            f"({getattr(exc, 'strerror', None) or exc})."
        ) from None
    if problem == "no such file":
        raise FileNotFoundError(f"{path}, line {line}: {key} file {shown(file)} not found.")
    if problem is not None:
        raise ValueError(f"{path}, line {line}: {key} file {shown(file)} is {problem}.")
    return file


def _manifest_label(path: Path, line: int, column: str, value: str) -> str:
    label = value.lower()
    label = _LABEL_ALIASES.get(label, label)
    if not label:
        raise ValueError(
            f"{path}, line {line}: the {column} field is empty; expected one of {EMOTIONS}."
        )
    if label not in EMOTIONS:
        raise ValueError(
            f"{path}, line {line}: unknown emotion {value!r}; expected one of {EMOTIONS} "
            f"or a usual variant ({', '.join(sorted(_LABEL_ALIASES))})."
        )
    return label


def _manifest_clip(path: Path, line: int, row: dict, label_col: str) -> Clip:
    files = {
        key: _manifest_file(path, line, key, row[key], path.parent)
        for key in ("video", "audio")
        if row.get(key)
    }
    if not files:
        raise ValueError(f"{path}, line {line}: neither a video nor an audio file.")
    known = {"id", "video", "audio", label_col, "speaker", "corpus", "intensity"}
    return Clip(
        id=row.get("id") or (files.get("video") or files["audio"]).stem,
        video=files.get("video"),
        audio=files.get("audio"),
        label=_manifest_label(path, line, label_col, row[label_col]),
        speaker=row["speaker"] or None,
        corpus=row.get("corpus") or "manifest",
        intensity=row.get("intensity") or None,
        meta=MappingProxyType({k: v for k, v in row.items() if k not in known}),
    )


def _check_unique(path: Path, line: int, clip: Clip, ids: dict, files: dict) -> None:
    """Refuse one media file with two labels, or a clip id used twice in a corpus."""
    for file in (clip.video, clip.audio):
        if file is None:
            continue
        other_line, other_label = files.setdefault(file.resolve(), (line, clip.label))
        if other_label != clip.label:
            raise ValueError(
                f"{path}, line {line}: {file} is labelled {clip.label!r} here and "
                f"{other_label!r} on line {other_line}; a recording has one label."
            )
    first = ids.setdefault((clip.corpus, clip.id), line)
    if first != line:
        raise ValueError(
            f"{path}, line {line}: clip id {clip.id!r} (corpus {clip.corpus!r}) is already used "
            f"on line {first}; ids must be unique (an id is the file name without extension "
            "unless an id column gives it)."
        )


def load_manifest(path=None, *, corpus=None) -> list[Clip]:
    """Load clips from a CSV manifest.

    Columns: ``video``, ``audio`` (paths, relative to the manifest's folder or absolute; either
    may be empty), ``emotion`` (or ``label``; our names or the usual variants such as ``angry``,
    ``fearful``, ``surprised``, in any case), ``speaker`` (may be empty when unknown), and
    optionally ``corpus``, ``intensity``, ``id`` (default: the file name without extension).
    Other columns go to ``meta``; columns without a name are ignored. Column names are matched
    without regard to case or surrounding spaces.

    The file may be UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8"), or UTF-16
    with one (Excel's "Unicode Text"); lines may end in LF, CRLF or CR; fields are separated by
    commas, semicolons or tabs (whichever the header uses). Blank rows are skipped.

    Parameters
    ----------
    path : str or path-like or None
        The CSV file, or a folder holding ``manifest.csv``; ``None`` uses the data root's.
    corpus : str or None
        Keep only rows of this corpus (the other rows are only checked for their shape).

    Returns
    -------
    clips : list of Clip
        In file order.

    Raises
    ------
    FileNotFoundError
        If the manifest or a file it lists is missing (the line is named).
    ValueError
        Naming the file and the line: a required column missing or a column name repeated; a
        row with more or fewer fields than the header; an empty or unknown emotion; a path
        value that cannot be a path; a clip id used twice in a corpus; one media file given
        two different labels; text that is not UTF-8 (or UTF-16 with a byte-order mark).

    Examples
    --------
    >>> from emoset.datasets import find_data_root, load_manifest
    >>> clips = load_manifest(find_data_root() / "manifest.csv")
    >>> len(clips), clips[0].id, clips[0].label, clips[0].speaker
    (1286, '1003_IEO_SAD_LO', 'sad', '1003')
    """
    path = find_data_root() / "manifest.csv" if path is None else Path(path)
    if path.is_dir():
        path = path / "manifest.csv"
    problem = what_is(path)
    if problem == "no such file":
        raise FileNotFoundError(f"Manifest {shown(path)} not found.")
    if problem is not None:
        raise ValueError(f"Manifest {shown(path)} is {problem}, not a CSV file.")
    records = _manifest_records(path, _read_manifest_text(path))
    header_line, header = next(records, (1, []))
    columns = _manifest_columns(path, header_line, header)
    label_col = "emotion" if "emotion" in columns else "label"
    clips, ids, files = [], {}, {}
    for line, fields in records:
        if len(fields) != len(columns):
            raise ValueError(
                f"{path}, line {line}: {len(fields)} field(s) but the header has "
                f"{len(columns)} ({', '.join(columns)}); look for a missing or extra "
                "separator, or a separator inside an unquoted value."
            )
        row = {name: value.strip() for name, value in zip(columns, fields, strict=True) if name}
        if corpus is not None and row.get("corpus") != corpus:
            continue
        clip = _manifest_clip(path, line, row, label_col)
        _check_unique(path, line, clip, ids, files)
        clips.append(clip)
    return clips
