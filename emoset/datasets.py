"""Clip records, corpus loaders and speaker-independent splits.

Each loader parses a corpus's own folder layout and file naming, as its users have it on disk,
and returns a list of :class:`Clip` records sorted by clip id. Labels use one vocabulary for all
corpora (``"anger"``, ``"disgust"``, ``"fear"``, ``"happy"``, ``"neutral"``, ``"sad"``,
``"surprise"``, ``"calm"``); :data:`EMOTIW_LABELS` maps them onto the 7 EmotiW classes.

Where the data lives: an explicit ``root`` argument, then ``$EMOSET_DATA``, then
``../shared/data`` (beside a checkout of this project), then ``./data``, then
``~/emoset_data`` (:func:`find_data_root`). :func:`emoset.fetch.fetch_cremad` and
:func:`emoset.fetch.fetch_ravdess` download the corpora from their official locations into
that last folder.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from . import _resources
from ._cache import atomic_write_bytes
from .media import AUDIO_EXTENSIONS, MEDIA_EXTENSIONS, VIDEO_EXTENSIONS

__all__ = [
    "Clip",
    "EMOTIONS",
    "EMOTIW_CLASSES",
    "EMOTIW_LABELS",
    "CREMAD_CODES",
    "RAVDESS_CODES",
    "find_data_root",
    "load_afew",
    "load_cremad",
    "load_ravdess",
    "load_manifest",
    "load_cremad_human_votes",
    "to_emotiw",
    "clip_labels",
    "clip_speakers",
    "speaker_kfold",
    "write_split",
    "load_split",
    "shipped_splits",
    "DEFAULT_DATA_HOME",
]

logger = logging.getLogger(__name__)

#: Where :mod:`emoset.fetch` puts corpora when neither ``data_home`` nor ``$EMOSET_DATA`` is
#: given, and the last folder :func:`find_data_root` looks at.
DEFAULT_DATA_HOME = "~/emoset_data"

#: The label vocabulary shared by all loaders.
EMOTIONS = ("anger", "disgust", "fear", "happy", "neutral", "sad", "surprise", "calm")

#: The seven EmotiW / AFEW classes, in the challenge's order.
EMOTIW_CLASSES = ("Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise")

#: Our labels onto the EmotiW classes. RAVDESS "calm" has no EmotiW counterpart and maps to
#: ``None`` (dropped by :func:`to_emotiw`) rather than being folded into "Neutral".
EMOTIW_LABELS = MappingProxyType(
    {
        "anger": "Angry",
        "disgust": "Disgust",
        "fear": "Fear",
        "happy": "Happy",
        "neutral": "Neutral",
        "sad": "Sad",
        "surprise": "Surprise",
        "calm": None,
    }
)

#: CREMA-D emotion codes (file names and rater votes).
CREMAD_CODES = MappingProxyType(
    {
        "ANG": "anger",
        "DIS": "disgust",
        "FEA": "fear",
        "HAP": "happy",
        "NEU": "neutral",
        "SAD": "sad",
    }
)
_CREMAD_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
_CREMAD_VOTES = {
    "A": "anger",
    "D": "disgust",
    "F": "fear",
    "H": "happy",
    "N": "neutral",
    "S": "sad",
}
_CREMAD_NAME = re.compile(
    r"^(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emo>[A-Z]{3})_(?P<lvl>[A-Z]{2})$"
)

#: RAVDESS emotion codes (third field of the file name).
RAVDESS_CODES = MappingProxyType(
    {
        "01": "neutral",
        "02": "calm",
        "03": "happy",
        "04": "sad",
        "05": "anger",
        "06": "fear",
        "07": "disgust",
        "08": "surprise",
    }
)
_RAVDESS_INTENSITY = {"01": "normal", "02": "strong"}
_RAVDESS_NAME = re.compile(
    r"^(?P<modality>0[123])-(?P<channel>0[12])-(?P<emo>0[1-8])-(?P<inten>0[12])-"
    r"(?P<stmt>0[12])-(?P<rep>0[12])-(?P<actor>\d{2})$"
)

_AFEW_CLASSES = {name.lower(): name for name in EMOTIW_CLASSES}
_AFEW_LABELS = {
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "surprise": "surprise",
}
#: Other spellings found in manifests and corpus documentation.
_LABEL_ALIASES = {
    "angry": "anger",
    "fearful": "fear",
    "surprised": "surprise",
    "happiness": "happy",
    "sadness": "sad",
    "disgusted": "disgust",
    "neutrality": "neutral",
}

#: A split name (``"cremad_5fold"``): what :func:`load_split` looks up in the shipped files.
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Clip:
    """One labelled recording.

    Attributes
    ----------
    id : str
        Unique within a corpus (the file stem, e.g. ``"1005_IEO_ANG_HI"``).
    video : pathlib.Path or None
        The video file, if the corpus has one for this clip.
    audio : pathlib.Path or None
        A separate audio file, if any. When it is ``None`` and ``video`` is set, the audio
        track of the video is the clip's audio.
    label : str
        One of :data:`EMOTIONS`.
    speaker : str or None
        The actor; ``None`` when the corpus does not say (AFEW's movie clips).
    corpus : str
        ``"cremad"``, ``"ravdess"``, ``"afew"`` or the manifest's value.
    intensity : str or None
        ``"low"``, ``"medium"``, ``"high"``, ``"normal"``, ``"strong"`` or ``"unspecified"``.
    subset : str or None
        Which part of the corpus: ``"facecrop128"``, ``"native"``, ``"Train"``, ``"Val"``, ...
    meta : mapping
        Anything else the corpus records (e.g. CREMA-D crowd votes, RAVDESS statement).
    """

    id: str
    video: Path | None
    audio: Path | None
    label: str
    speaker: str | None
    corpus: str
    intensity: str | None = None
    subset: str | None = None
    meta: Mapping = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def audio_source(self) -> Path | None:
        """The file to read the clip's audio from: ``audio``, else ``video``."""
        return self.audio if self.audio is not None else self.video


# --------------------------------------------------------------------------- data root


def find_data_root(root=None) -> Path:
    """Locate the folder that holds the corpora.

    Parameters
    ----------
    root : str or path-like or None
        An explicit folder. When ``None``: ``$EMOSET_DATA``, then ``../shared/data`` beside the
        project checkout (or beside the working directory), then ``./data``, then
        ``~/emoset_data`` (the default folder of :func:`emoset.fetch.fetch_cremad` /
        :func:`emoset.fetch.fetch_ravdess`).

    Returns
    -------
    root : pathlib.Path

    Raises
    ------
    FileNotFoundError
        If the explicit folder, or every candidate, is missing.
    """
    if root is not None:
        root = Path(root).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"Data root {root} does not exist or is not a folder.")
        return root
    candidates = []
    env = os.environ.get("EMOSET_DATA")
    if env:
        candidates.append(("$EMOSET_DATA", Path(env).expanduser()))
    repo = Path(__file__).resolve().parents[1]
    candidates += [
        ("../shared/data beside the checkout", repo.parent / "shared" / "data"),
        ("../shared/data", Path.cwd().parent / "shared" / "data"),
        ("./data", Path.cwd() / "data"),
        (
            f"{DEFAULT_DATA_HOME} (where fetch_cremad / fetch_ravdess put data)",
            Path(DEFAULT_DATA_HOME).expanduser(),
        ),
    ]
    for _, path in candidates:
        if path.is_dir() and any(
            (path / name).exists()
            for name in (
                "manifest.csv",
                "cremad",
                "ravdess",
                "CREMA-D",
                "RAVDESS",
                "AudioWAV",
                "VideoFlash",
            )
        ):
            return path
    tried = ", ".join(f"{what} ({path})" for what, path in candidates)
    raise FileNotFoundError(
        f"No emotion corpus found; looked at {tried}. Pass root=..., set EMOSET_DATA, "
        "or fetch the data with `make data` (emoset.fetch.fetch_cremad / fetch_ravdess)."
    )


def _corpus_dir(root, names) -> Path:
    root = find_data_root(root)
    for name in names:
        if (root / name).is_dir():
            return root / name
    return root


def _by_stem(folder: Path, extensions) -> dict:
    out = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in extensions and path.is_file():
                out.setdefault(path.stem, path)
    return out


# --------------------------------------------------------------------------- CREMA-D


def load_cremad_human_votes(root=None) -> dict:
    """Read the CREMA-D crowd raters' majority labels (``summaryTable.csv``).

    Parameters
    ----------
    root : str or path-like or None
        The data root or the CREMA-D folder (it searches ``meta/``, ``processedResults/`` and the
        folder itself for ``summaryTable.csv``).

    Returns
    -------
    votes : dict
        ``{clip_id: {"voice": label, "face": label, "av": label}}``. A tied vote is a tuple of
        labels (e.g. ``("neutral", "sad")``); it does not count as a correct human answer in
        :func:`emoset.report.human_accuracy`, as in the CREMA-D paper's majority-vote scores.
        Empty when the table is absent.
    """
    folder = _corpus_dir(root, ("cremad", "CREMA-D", "crema-d"))
    for candidate in (folder / "meta", folder / "processedResults", folder):
        table = candidate / "summaryTable.csv"
        if table.is_file():
            break
    else:
        return {}

    def parse(vote):
        labels = tuple(_CREMAD_VOTES[c] for c in vote.split(":") if c in _CREMAD_VOTES)
        return labels[0] if len(labels) == 1 else labels

    votes = {}
    with open(table, newline="") as f:
        for row in csv.DictReader(f):
            votes[row["FileName"]] = {
                "voice": parse(row["VoiceVote"]),
                "face": parse(row["FaceVote"]),
                "av": parse(row["MultiModalVote"]),
            }
    return votes


def _cremad_layouts(folder: Path):
    """Yield (subset, video_dir, audio_dir) for every CREMA-D layout below ``folder``."""
    seen = []
    for base in [folder] + sorted(p for p in folder.iterdir() if p.is_dir()):
        for vname, aname in (("VideoFlash", "AudioWAV"), ("video", "audio")):
            vdir, adir = base / vname, base / aname
            if vdir.is_dir() or adir.is_dir():
                subset = (
                    "official"
                    if vname == "VideoFlash"
                    else (base.name if base != folder else "default")
                )
                seen.append((subset, vdir, adir))
    return seen


def load_cremad(root=None, *, subsets=None, with_human_votes=True) -> list[Clip]:
    """Load CREMA-D (6 emotions, 91 actors) from its official or a derived layout.

    Recognised layouts, below the data root's ``cremad/`` folder (or the root itself):

    - official: ``VideoFlash/*.flv`` and ``AudioWAV/*.wav``;
    - derived: ``<subset>/video/*.mp4`` and ``<subset>/audio/*.wav`` (e.g. ``facecrop128/``,
      ``native/`` in the project's shared data), or ``video/`` + ``audio/`` directly.

    A clip is named ``ActorID_Sentence_Emotion_Level`` (``1005_IEO_ANG_HI``). A video and an audio
    file with the same name in one layout form one clip; either alone is a clip too.

    Parameters
    ----------
    root : str or path-like or None
        Data root (see :func:`find_data_root`) or the CREMA-D folder itself.
    subsets : sequence of str or None
        Keep only these layouts (``"official"``, ``"facecrop128"``, ``"native"``, ...).
    with_human_votes : bool, default=True
        Attach the crowd raters' majority labels (``clip.meta["human"]``) when
        ``summaryTable.csv`` is present.

    Returns
    -------
    clips : list of Clip
        Sorted by subset, then id. ``speaker`` is the 4-digit actor id, ``meta`` holds
        ``sentence`` and, when available, ``human``.

    Raises
    ------
    FileNotFoundError
        If no CREMA-D layout is found.
    ValueError
        If a file name does not follow the CREMA-D naming.
    """
    folder = _corpus_dir(root, ("cremad", "CREMA-D", "crema-d"))
    layouts = _cremad_layouts(folder)
    if subsets is not None:
        layouts = [lay for lay in layouts if lay[0] in set(subsets)]
    if not layouts:
        raise FileNotFoundError(
            f"No CREMA-D layout (VideoFlash/ + AudioWAV/, or <subset>/video/ + <subset>/audio/) "
            f"found in {folder}" + (f" for subsets {list(subsets)}" if subsets else "") + "."
        )
    votes = load_cremad_human_votes(folder) if with_human_votes else {}
    clips = []
    for subset, vdir, adir in layouts:
        videos = _by_stem(vdir, VIDEO_EXTENSIONS)
        audios = _by_stem(adir, AUDIO_EXTENSIONS)
        for stem in sorted(set(videos) | set(audios)):
            match = _CREMAD_NAME.match(stem)
            if match is None or match["emo"] not in CREMAD_CODES:
                path = videos.get(stem) or audios.get(stem)
                raise ValueError(
                    f"{path}: not a CREMA-D clip name; expected ActorID_Sentence_EMO_LVL "
                    f"(e.g. 1005_IEO_ANG_HI) with EMO in {sorted(CREMAD_CODES)}."
                )
            meta = {"sentence": match["sentence"]}
            if stem in votes:
                meta["human"] = votes[stem]
            clips.append(
                Clip(
                    id=stem,
                    video=videos.get(stem),
                    audio=audios.get(stem),
                    label=CREMAD_CODES[match["emo"]],
                    speaker=match["actor"],
                    corpus="cremad",
                    intensity=_CREMAD_LEVELS.get(match["lvl"], "unspecified"),
                    subset=subset,
                    meta=MappingProxyType(meta),
                )
            )
    return clips


# --------------------------------------------------------------------------- RAVDESS


def load_ravdess(root=None, *, channel="speech") -> list[Clip]:
    """Load RAVDESS (8 emotions, 24 actors) from its ``Actor_XX`` folders.

    Files are named ``MM-CC-EE-II-SS-RR-AA`` (modality 01 audio-video, 02 video-only, 03 audio;
    channel 01 speech, 02 song; emotion; intensity; statement; repetition; actor). An
    audio-video file ``01-CC-...mp4`` and the audio file ``03-CC-...{wav,flac}`` with the same
    remaining fields form one clip; an audio-only or video-only corpus is valid too. The
    ``Actor_XX`` folders may sit directly in the RAVDESS folder or one level deeper (e.g.
    ``speech/Actor_01``, as the Zenodo archives unpack).

    Parameters
    ----------
    root : str or path-like or None
        Data root (see :func:`find_data_root`) or the RAVDESS folder itself.
    channel : {"speech", "song"}, default="speech"

    Returns
    -------
    clips : list of Clip
        ``id`` is the file name without its modality field (``"01-01-01-01-01-01"``: channel,
        emotion, intensity, statement, repetition, actor), sorted; ``speaker`` is the two-digit actor id;
        ``meta`` has ``statement``, ``repetition`` and ``sex``.

    Raises
    ------
    FileNotFoundError
        If no ``Actor_XX`` folder is found.
    ValueError
        If ``channel`` is unknown.
    """
    channels = {"speech": "01", "song": "02"}
    if channel not in channels:
        raise ValueError(f"channel must be one of {sorted(channels)}; got {channel!r}.")
    folder = _corpus_dir(root, ("ravdess", "RAVDESS"))
    actor_dirs = sorted(folder.glob("Actor_*")) + sorted(folder.glob("*/Actor_*"))
    if not actor_dirs:
        raise FileNotFoundError(f"No RAVDESS Actor_XX folder found in {folder} or below it.")
    found: dict = {}
    for actor_dir in actor_dirs:
        for path in sorted(actor_dir.iterdir()):
            ext = path.suffix.lower()
            match = _RAVDESS_NAME.match(path.stem)
            if match is None or ext not in MEDIA_EXTENSIONS:
                continue
            if match["channel"] != channels[channel]:
                continue
            key = path.stem[3:]
            entry = found.setdefault(key, {"match": match})
            if match["modality"] == "03" and ext in AUDIO_EXTENSIONS:
                entry.setdefault("audio", path)
            elif match["modality"] == "01" and ext in VIDEO_EXTENSIONS:
                entry.setdefault("video", path)
    clips = []
    for key in sorted(found):
        entry = found[key]
        if "audio" not in entry and "video" not in entry:
            continue  # video-only (modality 02) files carry no speech
        match = entry["match"]
        actor = match["actor"]
        clips.append(
            Clip(
                id=key,
                video=entry.get("video"),
                audio=entry.get("audio"),
                label=RAVDESS_CODES[match["emo"]],
                speaker=actor,
                corpus="ravdess",
                intensity=_RAVDESS_INTENSITY[match["inten"]],
                subset=channel,
                meta=MappingProxyType(
                    {
                        "statement": match["stmt"],
                        "repetition": match["rep"],
                        "sex": "male" if int(actor) % 2 else "female",
                    }
                ),
            )
        )
    return clips


# --------------------------------------------------------------------------- AFEW


def load_afew(root=None, *, partitions=("Train", "Val")) -> list[Clip]:
    """Load AFEW / EmotiW (7 classes) from the challenge layout.

    Layout: ``Train_AFEW/<Emotion>/*.avi`` and ``Val_AFEW/<Emotion>/*.avi`` (also accepted:
    ``Train/<Emotion>/`` and ``Val/<Emotion>/``), with ``<Emotion>`` one of
    :data:`EMOTIW_CLASSES` (any case). AFEW's movie clips carry no actor identity: ``speaker``
    is ``None``, and the official Train/Val partition is the split to use.

    Parameters
    ----------
    root : str or path-like or None
        The folder holding ``Train_AFEW/`` and ``Val_AFEW/``; ``None`` uses ``$AFEW_ROOT``.
    partitions : sequence of str, default=("Train", "Val")

    Returns
    -------
    clips : list of Clip
        ``subset`` is the partition, ``id`` is ``"<partition>/<file stem>"``.

    Raises
    ------
    FileNotFoundError
        If the root or a requested partition is missing.
    """
    if root is None:
        root = os.environ.get("AFEW_ROOT")
        if not root:
            raise FileNotFoundError(
                "load_afew needs root=... or $AFEW_ROOT set to the AFEW folder."
            )
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"AFEW root {root} does not exist or is not a folder.")
    clips = []
    for part in partitions:
        for name in (f"{part}_AFEW", part):
            pdir = root / name
            if pdir.is_dir():
                break
        else:
            raise FileNotFoundError(
                f"AFEW partition {part!r} not found: expected {root / (part + '_AFEW')}."
            )
        for edir in sorted(p for p in pdir.iterdir() if p.is_dir()):
            label = _AFEW_LABELS.get(edir.name.lower())
            if label is None:
                logger.warning(
                    "Skipping %s: not one of the EmotiW classes %s.", edir, EMOTIW_CLASSES
                )
                continue
            for path in sorted(edir.iterdir()):
                if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file():
                    clips.append(
                        Clip(
                            id=f"{part}/{path.stem}",
                            video=path,
                            audio=None,
                            label=label,
                            speaker=None,
                            corpus="afew",
                            subset=part,
                        )
                    )
    return clips


# --------------------------------------------------------------------------- manifest

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
        found = file.is_file()
    except OSError as exc:  # e.g. a name too long for the file system
        raise ValueError(
            f"{path}, line {line}: the {key} value {value[:80]!r} is not a usable path "
            f"({exc.strerror or exc})."
        ) from None
    if not found:
        raise FileNotFoundError(f"{path}, line {line}: {key} file {file} not found.")
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
    >>> from emoset.datasets import load_manifest
    >>> clips = load_manifest("my_clips.csv")  # doctest: +SKIP
    """
    path = find_data_root() / "manifest.csv" if path is None else Path(path)
    if path.is_dir():
        path = path / "manifest.csv"
    if not path.is_file():
        raise FileNotFoundError(f"Manifest {path} not found.")
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


# --------------------------------------------------------------------------- labels and splits


def to_emotiw(clips: Sequence[Clip]) -> list[Clip]:
    """Keep the clips whose label has an EmotiW class and relabel them with it.

    ``"calm"`` (RAVDESS) has no EmotiW counterpart and is dropped.
    """
    from dataclasses import replace

    return [
        replace(c, label=EMOTIW_LABELS[c.label])
        for c in clips
        if EMOTIW_LABELS.get(c.label) is not None
    ]


def clip_labels(clips: Sequence[Clip]) -> np.ndarray:
    """The clips' labels as an array (the ``y`` of a classifier)."""
    return np.array([c.label for c in clips], dtype=object)


def clip_speakers(clips: Sequence[Clip]) -> np.ndarray:
    """The clips' speakers as an array (the ``groups`` of a grouped splitter).

    Raises
    ------
    ValueError
        If a clip has no speaker (AFEW): use its official partition instead.
    """
    missing = [c.id for c in clips if c.speaker is None]
    if missing:
        raise ValueError(
            f"{len(missing)} clip(s) have no speaker (first: {missing[0]}); speaker-independent "
            "splits need one. Use the corpus's official partition (e.g. AFEW Train/Val)."
        )
    return np.array([c.corpus + ":" + c.speaker for c in clips], dtype=object)


def speaker_kfold(clips: Sequence[Clip], n_splits=5, *, shuffle=True, random_state=0):
    """Speaker-independent K-fold: no speaker is ever in both train and test.

    Speakers are assigned to folds with ``StratifiedGroupKFold`` (label proportions kept as far
    as whole speakers allow).

    Parameters
    ----------
    clips : sequence of Clip
    n_splits : int, default=5
    shuffle : bool, default=True
    random_state : int or None, default=0

    Returns
    -------
    folds : list of (train_index, test_index) ndarray pairs

    Raises
    ------
    ValueError
        If there are fewer speakers than folds, or a clip has no speaker.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    groups = clip_speakers(clips)
    n_speakers = len(set(groups))
    if n_speakers < n_splits:
        raise ValueError(
            f"{n_splits} speaker-independent folds need at least {n_splits} speakers; "
            f"the clips have {n_speakers}."
        )
    cv = StratifiedGroupKFold(
        n_splits=n_splits, shuffle=shuffle, random_state=random_state if shuffle else None
    )
    y = clip_labels(clips)
    return [(train, test) for train, test in cv.split(np.zeros(len(clips)), y, groups)]


def _shipped_split(name):
    """The split file shipped as ``emoset/data/splits/<name>.csv`` (a Traversable)."""
    return _resources.emoset_data("splits", f"{name}.csv")


def _is_split_name(name_or_path) -> bool:
    return isinstance(name_or_path, str) and _SPLIT_NAME.fullmatch(name_or_path) is not None


def shipped_splits() -> list[str]:
    """The names of the split files shipped with emoset, for :func:`load_split`.

    Returns
    -------
    names : list of str
        E.g. ``["cremad_5fold", "ravdess_5fold"]``, sorted.
    """
    folder = _resources.emoset_data("splits")
    if not folder.is_dir():
        return []
    return sorted(f.name[: -len(".csv")] for f in folder.iterdir() if f.name.endswith(".csv"))


def write_split(name_or_path, clips: Sequence[Clip], folds) -> Path:
    """Write folds as a CSV file with columns ``id,corpus,speaker,fold`` (test fold of each clip).

    Parameters
    ----------
    name_or_path : str or path-like
        A file, or a name (``"cremad_5fold"``: letters, digits, ``_`` and ``-``) for the split
        files shipped with emoset, ``emoset/data/splits/<name>.csv`` (``make splits`` writes
        those in a checkout).
    clips : sequence of Clip
    folds : sequence of (train_index, test_index)
        Every clip must be in exactly one test fold.

    Returns
    -------
    path : pathlib.Path
        The file written (atomically).

    Raises
    ------
    ValueError
        If a clip is in no test fold, or a name is given while emoset is imported from a zip
        file (its package data cannot be written).
    """
    if _is_split_name(name_or_path):
        path = _shipped_split(name_or_path)
        if not isinstance(path, Path):
            raise ValueError(
                f"Cannot write the split {name_or_path!r} into emoset's package data ({path}); "
                "pass a file path instead."
            )
    else:
        path = Path(name_or_path)
    fold_of = {}
    for k, (_, test) in enumerate(folds):
        for i in test:
            fold_of[int(i)] = k
    missing = [c.id for i, c in enumerate(clips) if i not in fold_of]
    if missing:
        raise ValueError(
            f"{len(missing)} clip(s) are in no test fold (first: {missing[0]}); a split file "
            "gives every clip its test fold."
        )
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["id", "corpus", "speaker", "fold"])
    for i, c in enumerate(clips):
        writer.writerow([c.id, c.corpus, c.speaker, fold_of[i]])
    atomic_write_bytes(path, text.getvalue().encode("utf-8"))
    return path


def _read_split(name_or_path) -> tuple[str, dict]:
    """(where, ``{(corpus, id): fold}``) from a shipped split name or a file."""
    if _is_split_name(name_or_path):
        ref = _shipped_split(name_or_path)
        if not ref.is_file():
            raise FileNotFoundError(
                f"No split {name_or_path!r} ships with emoset (emoset/data/splits/); the shipped "
                f"splits are {shipped_splits()}. Pass a file path to read another split file."
            )
        where, text = str(ref), ref.read_text(encoding="utf-8-sig")
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"Split file {path} not found.")
        where, text = str(path), path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = sorted({"id", "corpus", "fold"} - set(reader.fieldnames or ()))
    if missing:
        raise ValueError(
            f"{where}: missing column(s) {missing}; a split file has id,corpus,speaker,fold."
        )
    folds = {}
    for row in reader:
        try:
            folds[row["corpus"], row["id"]] = int(row["fold"])
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}, line {reader.line_num}: fold {row['fold']!r} is not an integer."
            ) from None
    return where, folds


def load_split(name_or_path, clips: Sequence[Clip]):
    """Read a fixed split file and return its folds over ``clips``.

    Parameters
    ----------
    name_or_path : str or path-like
        A file, or the name of a split shipped with emoset (``"cremad_5fold"``,
        ``"ravdess_5fold"``; see :func:`shipped_splits`), read from the package data
        ``emoset/data/splits/<name>.csv`` through :mod:`importlib.resources`, so it works from
        an installed wheel.
    clips : sequence of Clip
        The clips to index; every clip must be listed in the file.

    Returns
    -------
    folds : list of (train_index, test_index) ndarray pairs

    Raises
    ------
    FileNotFoundError
        If the file does not exist, or no split of that name is shipped.
    ValueError
        If a clip is not in the file, the file lacks a column or has a non-integer fold, or it
        breaks speaker independence.

    Examples
    --------
    >>> from emoset.datasets import load_cremad, load_split
    >>> clips = load_cremad()  # doctest: +SKIP
    >>> folds = load_split("cremad_5fold", clips)  # doctest: +SKIP
    """
    where, fold_of = _read_split(name_or_path)
    folds_of = []
    for c in clips:
        fold = fold_of.get((c.corpus, c.id))
        if fold is None:
            raise ValueError(f"{where}: clip {c.corpus}/{c.id} is not in the split file.")
        folds_of.append(fold)
    folds_of = np.asarray(folds_of)
    folds = []
    for k in np.unique(folds_of):
        train, test = np.flatnonzero(folds_of != k), np.flatnonzero(folds_of == k)
        shared = {clips[i].speaker for i in train} & {clips[i].speaker for i in test}
        if shared:
            raise ValueError(
                f"{where}: fold {k} has speaker(s) {sorted(shared)} in both train and test."
            )
        folds.append((train, test))
    return folds
