"""Clip records, corpus loaders and speaker-independent splits.

Each loader parses a corpus's own folder layout and file naming, as its users have it on disk,
and returns a list of :class:`Clip` records sorted by clip id. Labels use one vocabulary for all
corpora (``"anger"``, ``"disgust"``, ``"fear"``, ``"happy"``, ``"neutral"``, ``"sad"``,
``"surprise"``, ``"calm"``); :data:`EMOTIW_LABELS` maps them onto the 7 EmotiW classes.

Where the data lives: an explicit ``root`` argument, then ``$EMOSET_DATA``, then
``../shared/data`` (beside a checkout of this project), then ``./data``, then
``~/emoset_data`` (:func:`find_data_root`). :func:`fetch_cremad` and :func:`fetch_ravdess`
download the corpora from their official locations, verified against pinned checksums.
"""

from __future__ import annotations

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

from ._cache import atomic_write_bytes
from ._download import ChecksumError, DownloadError, DownloadPlan

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
    "get_data_home",
    "fetch_cremad",
    "fetch_ravdess",
    "DownloadError",
    "ChecksumError",
    "DownloadPlan",
    "CREMAD_DEFAULT_ACTORS",
    "RAVDESS_PARTS",
]

logger = logging.getLogger(__name__)

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
_AUDIO_EXT = (".wav", ".flac")
_VIDEO_EXT = (".mp4", ".flv", ".avi")

_SPLITS_DIR = Path(__file__).resolve().parents[1] / "data" / "splits"


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
        ``~/emoset_data`` (the default folder of :func:`fetch_cremad` / :func:`fetch_ravdess`).

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
            "~/emoset_data (where fetch_cremad / fetch_ravdess put data)",
            Path("~/emoset_data").expanduser(),
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
        "or fetch the data with `make data` (emoset.datasets.fetch_cremad / fetch_ravdess)."
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
        videos = _by_stem(vdir, _VIDEO_EXT)
        audios = _by_stem(adir, _AUDIO_EXT)
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
            if match is None or ext not in _AUDIO_EXT + _VIDEO_EXT:
                continue
            if match["channel"] != channels[channel]:
                continue
            key = path.stem[3:]
            entry = found.setdefault(key, {"match": match})
            if match["modality"] == "03" and ext in _AUDIO_EXT:
                entry.setdefault("audio", path)
            elif match["modality"] == "01" and ext in _VIDEO_EXT:
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
                if path.suffix.lower() in _VIDEO_EXT and path.is_file():
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


def load_manifest(path=None, *, corpus=None) -> list[Clip]:
    """Load clips from a CSV manifest.

    Columns: ``video``, ``audio`` (paths, relative to the manifest's folder or absolute; either
    may be empty), ``emotion`` (or ``label``; our names or the usual variants such as ``angry``,
    ``fearful``, ``surprised``), ``speaker``, and optionally ``corpus``,
    ``intensity``, ``id``. Other columns go to ``meta``.

    Parameters
    ----------
    path : str or path-like or None
        The CSV file, or a folder holding ``manifest.csv``; ``None`` uses the data root's.
    corpus : str or None
        Keep only rows of this corpus.

    Returns
    -------
    clips : list of Clip

    Raises
    ------
    FileNotFoundError
        If the manifest or a file it lists is missing.
    ValueError
        If a required column is missing or a label is unknown (the row is named).
    """
    path = find_data_root() / "manifest.csv" if path is None else Path(path)
    if path.is_dir():
        path = path / "manifest.csv"
    if not path.is_file():
        raise FileNotFoundError(f"Manifest {path} not found.")
    base = path.parent
    clips = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        columns = set(reader.fieldnames or ())
        label_col = "emotion" if "emotion" in columns else "label"
        missing = {"video", "audio", label_col, "speaker"} - columns
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}; has {sorted(columns)}.")
        for lineno, row in enumerate(reader, start=2):
            if corpus is not None and row.get("corpus") != corpus:
                continue
            files = {}
            for key in ("video", "audio"):
                value = (row.get(key) or "").strip()
                if value:
                    file = Path(value) if os.path.isabs(value) else base / value
                    if not file.is_file():
                        raise FileNotFoundError(
                            f"{path}, line {lineno}: {key} file {file} not found."
                        )
                    files[key] = file
            if not files:
                raise ValueError(f"{path}, line {lineno}: neither a video nor an audio file.")
            label = row[label_col].strip().lower()
            label = _LABEL_ALIASES.get(label, label)
            if label not in EMOTIONS:
                raise ValueError(
                    f"{path}, line {lineno}: unknown emotion {label!r}; expected one of {EMOTIONS}."
                )
            clip_id = row.get("id") or (files.get("video") or files["audio"]).stem
            known = {"id", "video", "audio", label_col, "speaker", "corpus", "intensity"}
            clips.append(
                Clip(
                    id=clip_id,
                    video=files.get("video"),
                    audio=files.get("audio"),
                    label=label,
                    speaker=row["speaker"] or None,
                    corpus=row.get("corpus") or "manifest",
                    intensity=row.get("intensity") or None,
                    meta=MappingProxyType({k: v for k, v in row.items() if k not in known}),
                )
            )
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


def write_split(path, clips: Sequence[Clip], folds) -> Path:
    """Write folds as a CSV file with columns ``id,corpus,speaker,fold`` (test fold of each clip)."""
    path = Path(path)
    fold_of = {}
    for k, (_, test) in enumerate(folds):
        for i in test:
            fold_of[int(i)] = k
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["id", "corpus", "speaker", "fold"])
    for i, c in enumerate(clips):
        writer.writerow([c.id, c.corpus, c.speaker, fold_of[i]])
    atomic_write_bytes(path, text.getvalue().encode())
    return path


def load_split(name_or_path, clips: Sequence[Clip]):
    """Read a fixed split file and return its folds over ``clips``.

    Parameters
    ----------
    name_or_path : str or path-like
        A file, or the name of one shipped under ``data/splits/`` (``"cremad_5fold"``,
        ``"ravdess_5fold"``).
    clips : sequence of Clip
        The clips to index; every clip must be listed in the file.

    Returns
    -------
    folds : list of (train_index, test_index) ndarray pairs

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If a clip is not in the file, or the file breaks speaker independence.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = _SPLITS_DIR / f"{name_or_path}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"Split file {path} not found.")
    with open(path, newline="") as f:
        rows = {(r["corpus"], r["id"]): r for r in csv.DictReader(f)}
    folds_of = []
    for c in clips:
        row = rows.get((c.corpus, c.id))
        if row is None:
            raise ValueError(f"{path}: clip {c.corpus}/{c.id} is not in the split file.")
        folds_of.append(int(row["fold"]))
    folds_of = np.asarray(folds_of)
    folds = []
    for k in np.unique(folds_of):
        train, test = np.flatnonzero(folds_of != k), np.flatnonzero(folds_of == k)
        shared = {clips[i].speaker for i in train} & {clips[i].speaker for i in test}
        if shared:
            raise ValueError(
                f"{path}: fold {k} has speaker(s) {sorted(shared)} in both train and test."
            )
        folds.append((train, test))
    return folds


# --------------------------------------------------------------------------- downloads
# Explicit only: nothing here runs at import. The HTTP machinery is in emoset._download.

#: Where the fetchers put corpora when neither ``data_home`` nor ``$EMOSET_DATA`` is given.
DEFAULT_DATA_HOME = "~/emoset_data"

#: Git LFS download base of the official CREMA-D repository (``VideoFlash/``, ``AudioWAV/``).
CREMAD_BASE_URL = "https://media.githubusercontent.com/media/CheyneyComputerScience/CREMA-D/master/"
#: Base for the repository's plain (non-LFS) files, such as ``processedResults/summaryTable.csv``.
CREMAD_META_URL = "https://raw.githubusercontent.com/CheyneyComputerScience/CREMA-D/master/"
CREMAD_LICENSE = (
    "Open Database License (ODbL) 1.0 (https://opendatacommons.org/licenses/odbl/1.0/), "
    "contents under the Database Contents License (DbCL) 1.0; cite Cao et al., IEEE Trans. "
    "Affective Computing 5(4):377-390, 2014"
)
#: A small default: 12 actors (the 6 lowest ids of each sex), 977 clips with video and audio,
#: 1954 files, 441,788,431 bytes (441.8 MB), plus the 449 kB human-vote table.
CREMAD_DEFAULT_ACTORS = (
    "1001",
    "1002",
    "1003",
    "1004",
    "1005",
    "1006",
    "1007",
    "1008",
    "1011",
    "1014",
    "1015",
    "1016",
)
#: (path, sha256, size) of the official repository's non-LFS metadata we fetch.
_CREMAD_META_FILES = (
    (
        "processedResults/summaryTable.csv",
        "fb0e382700d32c0d9adc0c6815292215a36bcf912f2657048862c91e3bd2b317",
        449048,
    ),
)
_CREMAD_MODALITIES = {"video": "VideoFlash/", "audio": "AudioWAV/"}

#: Zenodo REST API record of RAVDESS (file names, sizes, md5 checksums, download links).
RAVDESS_RECORD_URL = "https://zenodo.org/api/records/1188976"
RAVDESS_LICENSE = (
    "Creative Commons Attribution-NonCommercial-ShareAlike 4.0 (CC BY-NC-SA 4.0, "
    "https://creativecommons.org/licenses/by-nc-sa/4.0/): NON-COMMERCIAL use only; cite "
    "Livingstone & Russo, PLoS ONE 13(5):e0196391, 2018"
)
#: RAVDESS parts and their Zenodo file names (``{:02d}`` is the actor).
RAVDESS_PARTS = MappingProxyType(
    {
        "speech_audio": "Audio_Speech_Actors_01-24.zip",
        "speech_video": "Video_Speech_Actor_{:02d}.zip",
        "song_audio": "Audio_Song_Actors_01-24.zip",
        "song_video": "Video_Song_Actor_{:02d}.zip",
    }
)
_RAVDESS_ACTOR_DIR = re.compile(r"(?:^|/)Actor_(\d{2})(?:/|$)")
_RAVDESS_ACTOR_FILE = re.compile(r"-(\d{2})\.[A-Za-z0-9]+$")


def get_data_home(data_home=None) -> Path:
    """The folder the fetchers download into.

    Parameters
    ----------
    data_home : str or path-like or None
        An explicit folder; ``None`` means ``$EMOSET_DATA`` when set, else ``~/emoset_data``.

    Returns
    -------
    data_home : pathlib.Path
        Not created here; the fetchers create it when they download.
    """
    if data_home is None:
        data_home = os.environ.get("EMOSET_DATA") or DEFAULT_DATA_HOME
    return Path(data_home).expanduser()


def _read_cremad_file_list(file_list):
    """Rows ``(path, sha256, size)`` from the shipped list, a CSV (or .csv.gz) file or rows."""
    import gzip
    import io
    from importlib import resources

    if file_list is None:
        ref = resources.files("emoset").joinpath("data", "cremad_official_files.csv.gz")
        text = gzip.decompress(ref.read_bytes()).decode("utf-8")
        rows = list(csv.DictReader(io.StringIO(text)))
        rows += [{"path": p, "sha256": h, "size": n} for p, h, n in _CREMAD_META_FILES]
    elif isinstance(file_list, (str, os.PathLike)):
        path = Path(file_list)
        if not path.is_file():
            raise FileNotFoundError(f"CREMA-D file list {path} not found.")
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", newline="") as f:
            rows = list(csv.DictReader(f))
    else:
        rows = [
            row
            if isinstance(row, Mapping)
            else dict(zip(("path", "sha256", "size"), row, strict=True))
            for row in file_list
        ]
    out = []
    for i, row in enumerate(rows):
        try:
            path, digest, size = row["path"], row["sha256"], row["size"]
        except KeyError as exc:
            raise ValueError(
                f"CREMA-D file list row {i}: missing {exc}; expected path, sha256, size."
            ) from None
        parts = Path(path).parts
        if Path(path).is_absolute() or ".." in parts or not parts:
            raise ValueError(
                f"CREMA-D file list row {i}: {path!r} must be a relative path inside the corpus."
            )
        out.append((str(path), str(digest).lower() or None, int(size) if size != "" else None))
    return out


def _cremad_actor(actor) -> str:
    text = str(actor).strip()
    return f"{int(text):04d}" if text.isdigit() else text


def fetch_cremad(
    data_home=None,
    *,
    actors=None,
    modalities=("video", "audio"),
    human_votes=True,
    file_list=None,
    base_url=CREMAD_BASE_URL,
    meta_url=CREMAD_META_URL,
    verify_existing=False,
    n_jobs=4,
    retries=3,
    timeout=60.0,
    progress=True,
    dry_run=False,
):
    """Download CREMA-D from its official repository, verified file by file.

    The files come from the Git LFS store of github.com/CheyneyComputerScience/CREMA-D and land
    in the official layout ``<data_home>/cremad/VideoFlash/*.flv`` and
    ``<data_home>/cremad/AudioWAV/*.wav``, which :func:`load_cremad` reads (subset
    ``"official"``). Every file's size and SHA-256 is checked against the list shipped with
    emoset (``emoset/data/cremad_official_files.csv.gz``, the repository's LFS pointers); the
    crowd raters' table goes to ``processedResults/summaryTable.csv`` (SHA-256 pinned), where
    :func:`load_cremad_human_votes` finds it.

    Nothing is downloaded at import time: only when this function is called. Files already
    present with the right size are skipped; an interrupted file resumes; a file is only
    renamed to its final name after it passed the checks.

    Parameters
    ----------
    data_home : str or path-like or None
        See :func:`get_data_home`: ``None`` means ``$EMOSET_DATA``, else ``~/emoset_data``.
    actors : sequence of str or int, or None
        Actor ids (``1001`` ... ``1091``); ``None`` fetches all 91 (7442 clips, 3.0 GB with
        video). :data:`CREMAD_DEFAULT_ACTORS` is a 442 MB subset of 12 actors.
    modalities : sequence of {"video", "audio"}, default=("video", "audio")
        ``"video"``: ``VideoFlash/*.flv`` (480x360, with sound); ``"audio"``:
        ``AudioWAV/*.wav`` (16 kHz).
    human_votes : bool, default=True
        Also fetch ``processedResults/summaryTable.csv``. Failing to get it only logs a warning.
    file_list : str, path-like, iterable or None
        The files and their checksums: a CSV (optionally gzipped) with columns
        ``path,sha256,size`` or rows of that form. ``None`` uses the shipped official list plus
        the pinned summary table. Paths outside ``VideoFlash/`` and ``AudioWAV/`` are metadata,
        fetched from ``meta_url`` when ``human_votes`` is true.
    base_url : str
        Where clip paths are fetched from (:data:`CREMAD_BASE_URL`).
    meta_url : str
        Where metadata paths are fetched from (:data:`CREMAD_META_URL`).
    verify_existing : bool, default=False
        Recompute the SHA-256 of files already present (slow) instead of checking their size.
    n_jobs : int, default=4
        Concurrent downloads.
    retries : int, default=3
        Extra attempts per file after a transient network error.
    timeout : float, default=60.0
        Socket timeout in seconds.
    progress : bool, default=True
        Show a tqdm progress bar over the bytes to download.
    dry_run : bool, default=False
        Download nothing and return the :class:`~emoset._download.DownloadPlan` (files, sizes,
        licence).

    Returns
    -------
    clips : list of Clip or DownloadPlan
        The clips of the requested actors now on disk (:func:`load_cremad`, subset
        ``"official"``), or the plan when ``dry_run``.

    Raises
    ------
    ValueError
        If an actor or a modality is unknown.
    DownloadError
        If some files could not be downloaded or failed verification (the message counts them
        and shows the first error); the files that succeeded stay in place, run again to
        resume.

    Notes
    -----
    CREMA-D is licensed under the Open Database License 1.0 (contents: Database Contents
    License 1.0); see :data:`CREMAD_LICENSE`.

    References
    ----------
    .. [1] Cao H, Cooper DG, Keutmann MK, Gur RC, Nenkova A, Verma R. CREMA-D: Crowd-sourced
       Emotional Multimodal Actors Dataset. IEEE Trans. Affective Computing 5(4):377-390, 2014.

    Examples
    --------
    >>> from emoset.datasets import fetch_cremad, CREMAD_DEFAULT_ACTORS
    >>> clips = fetch_cremad(actors=CREMAD_DEFAULT_ACTORS)  # doctest: +SKIP
    """
    from urllib.parse import quote

    from . import _download

    if isinstance(modalities, str):
        modalities = (modalities,)
    unknown = sorted(set(modalities) - set(_CREMAD_MODALITIES))
    if unknown or not modalities:
        raise ValueError(
            f"modalities must be a non-empty subset of {sorted(_CREMAD_MODALITIES)}; "
            f"got {list(modalities)}."
        )
    prefixes = tuple(_CREMAD_MODALITIES[m] for m in modalities)
    rows = _read_cremad_file_list(file_list)
    is_clip = [r[0].startswith(tuple(_CREMAD_MODALITIES.values())) for r in rows]
    clip_rows = [r for r, clip in zip(rows, is_clip, strict=True) if clip]
    meta_rows = [r for r, clip in zip(rows, is_clip, strict=True) if not clip and human_votes]
    available = sorted({Path(p).name[:4] for p, _, _ in clip_rows})
    if actors is None:
        wanted = set(available)
    else:
        wanted = {
            _cremad_actor(a) for a in ([actors] if isinstance(actors, (str, int)) else actors)
        }
        missing_actors = sorted(wanted - set(available))
        if missing_actors:
            span = f"{available[0]}..{available[-1]}" if available else "none"
            raise ValueError(
                f"Unknown CREMA-D actor(s) {missing_actors}; the file list has "
                f"{len(available)} actors ({span})."
            )
    folder = get_data_home(data_home) / "cremad"

    def remote(path, digest, size, base):
        return _download.RemoteFile(
            url=base.rstrip("/") + "/" + quote(path),
            dest=folder / path,
            size=size,
            sha256=digest,
        )

    clips_files = [
        remote(p, h, n, base_url)
        for p, h, n in clip_rows
        if p.startswith(prefixes) and Path(p).name[:4] in wanted
    ]
    meta_files = [remote(p, h, n, meta_url) for p, h, n in meta_rows]
    files = clips_files + meta_files
    plan = DownloadPlan(
        corpus="CREMA-D",
        licence=CREMAD_LICENSE,
        folder=folder,
        files=tuple(files),
        missing=_download.plan_missing(files),
        notes=(
            f"{len(wanted)} actor(s), modalities {list(modalities)}; every file checked "
            "against its pinned size and SHA-256",
        ),
    )
    if dry_run:
        return plan
    logger.info("Fetching %s", plan.summary())
    todo = files if verify_existing else plan.missing
    options = dict(
        n_jobs=n_jobs,
        progress=progress,
        retries=retries,
        timeout=timeout,
        verify_existing=verify_existing,
    )
    meta_set = set(meta_files)
    clip_todo = [f for f in todo if f not in meta_set]
    failures = _download.download_many(clip_todo, desc="CREMA-D", **options)
    for file, exc in _download.download_many(
        [f for f in todo if f in meta_set], **{**options, "progress": False}
    ):
        logger.warning("Skipping CREMA-D metadata %s: %s", file.dest.name, exc)
    if failures:
        real = [exc for _, exc in failures if not isinstance(exc, _download.NotAttempted)]
        skipped = len(failures) - len(real)
        raise DownloadError(
            f"{len(real)} of {len(clip_todo)} CREMA-D file(s) failed"
            + (f" ({skipped} more not attempted)" if skipped else "")
            + f"; the first: {real[0]} The other files are in place in {folder}; "
            "run again to resume."
        ) from real[0]
    if not clips_files:
        return []
    clips = load_cremad(folder, subsets=["official"])
    return [c for c in clips if c.speaker in wanted]


def _ravdess_actor(actor) -> int:
    try:
        number = int(str(actor).strip().removeprefix("Actor_"))
    except ValueError:
        number = -1
    if not 1 <= number <= 24:
        raise ValueError(f"Unknown RAVDESS actor {actor!r}; actors are 1 ... 24.")
    return number


def _member_actor(name):
    match = _RAVDESS_ACTOR_DIR.search(name) or _RAVDESS_ACTOR_FILE.search(name)
    return int(match[1]) if match else None


def _read_marker(path):
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _marker_ok(marker, folder, digest, actors) -> bool:
    """An archive counts as unpacked when its marker matches and its files are still there."""
    if not marker or marker.get("digest") != digest:
        return False
    if not set(actors) <= set(marker.get("actors", ())):
        return False
    for rel, size in marker.get("files", {}).items():
        path = folder / rel
        if not path.is_file() or path.stat().st_size != size:
            return False
    return True


def fetch_ravdess(
    data_home=None,
    *,
    actors=None,
    parts=("speech_audio", "speech_video"),
    record_url=RAVDESS_RECORD_URL,
    keep_archives=False,
    verify_existing=False,
    retries=3,
    timeout=60.0,
    progress=True,
    dry_run=False,
):
    """Download RAVDESS from its Zenodo record, verified, and unpack it.

    The file list, sizes and MD5 checksums are read from the record's metadata (Zenodo REST
    API, :data:`RAVDESS_RECORD_URL`) at run time; every archive is checked against them before
    it is unpacked into ``<data_home>/ravdess/Actor_XX/``, where :func:`load_ravdess` finds it.
    Archives are downloaded to ``<data_home>/ravdess/.downloads/`` (resumable ``.part`` files)
    and deleted after unpacking unless ``keep_archives``; a small marker in
    ``<data_home>/ravdess/.fetched/`` records what was unpacked, so a second call downloads
    nothing.

    Parameters
    ----------
    data_home : str or path-like or None
        See :func:`get_data_home`: ``None`` means ``$EMOSET_DATA``, else ``~/emoset_data``.
    actors : sequence of int or str, or None
        Actors 1 ... 24; ``None`` means all. Per-actor archives (``*_video``) are downloaded
        only for these actors. The audio archives hold all 24 actors in one file: it is
        downloaded whole (about 200 MB) and only these actors' files are unpacked.
    parts : sequence of str, default=("speech_audio", "speech_video")
        Keys of :data:`RAVDESS_PARTS`: ``"speech_audio"`` (``Audio_Speech_Actors_01-24.zip``,
        48 kHz wav), ``"speech_video"`` (``Video_Speech_Actor_XX.zip``, 720p mp4, one per
        actor, with audio-video ``01-`` and video-only ``02-`` files), ``"song_audio"``,
        ``"song_video"``.
    record_url : str
        The Zenodo record's API URL.
    keep_archives : bool, default=False
        Keep the downloaded zip files.
    verify_existing : bool, default=False
        Recompute the checksum of kept archives instead of checking their size.
    retries : int, default=3
    timeout : float, default=60.0
    progress : bool, default=True
        A tqdm progress bar per archive.
    dry_run : bool, default=False
        Read the record, download nothing and return the
        :class:`~emoset._download.DownloadPlan`.

    Returns
    -------
    clips : list of Clip or DownloadPlan
        The requested actors' clips now on disk (:func:`load_ravdess`; both channels when
        speech and song parts are requested), or the plan when ``dry_run``.

    Raises
    ------
    ValueError
        If an actor or a part is unknown.
    DownloadError
        If the record cannot be read, lacks a requested file, or an archive cannot be
        downloaded, fails its checksum or cannot be unpacked.

    Notes
    -----
    RAVDESS is licensed under CC BY-NC-SA 4.0: non-commercial use only (see
    :data:`RAVDESS_LICENSE`); commercial licences are sold by the authors. The song video of
    actor 18 does not exist; it is skipped with a warning.

    References
    ----------
    .. [1] Livingstone SR, Russo FA. The Ryerson Audio-Visual Database of Emotional Speech and
       Song (RAVDESS). PLoS ONE 13(5):e0196391, 2018. doi:10.5281/zenodo.1188976

    Examples
    --------
    >>> from emoset.datasets import fetch_ravdess
    >>> clips = fetch_ravdess(parts=["speech_audio"])  # doctest: +SKIP
    """
    import json

    from . import _download

    if isinstance(parts, str):
        parts = (parts,)
    unknown = sorted(set(parts) - set(RAVDESS_PARTS))
    if unknown or not parts:
        raise ValueError(
            f"parts must be a non-empty subset of {sorted(RAVDESS_PARTS)}; got {list(parts)}."
        )
    if actors is None:
        wanted = list(range(1, 25))
    else:
        wanted = sorted(
            {_ravdess_actor(a) for a in ([actors] if isinstance(actors, (str, int)) else actors)}
        )
    folder = get_data_home(data_home) / "ravdess"
    downloads, markers = folder / ".downloads", folder / ".fetched"
    entries = _download.zenodo_files(
        _download.fetch_json(record_url, retries=retries, timeout=timeout), record_url
    )

    archives = []  # (RemoteFile, actors, digest)
    for part in parts:
        template = RAVDESS_PARTS[part]
        per_actor = "{" in template
        for key, group in (
            [(template.format(a), [a]) for a in wanted] if per_actor else [(template, wanted)]
        ):
            if key not in entries:
                if part == "song_video":
                    logger.warning(
                        "%s has no %s (no song video for that actor); skipping.", record_url, key
                    )
                    continue
                raise DownloadError(f"{record_url}: the record has no file {key!r}.")
            url, size, algo, digest = entries[key]
            if algo not in ("md5", "sha256"):
                logger.warning(
                    "%s: checksum %r of %s not understood; checking size only.",
                    record_url,
                    algo,
                    key,
                )
                algo = digest = None
            remote = _download.RemoteFile(
                url=url,
                dest=downloads / key,
                size=size,
                md5=digest if algo == "md5" else None,
                sha256=digest if algo == "sha256" else None,
            )
            archives.append((remote, group, f"{algo}:{digest}"))

    pending = [
        (remote, group, digest)
        for remote, group, digest in archives
        if not _marker_ok(_read_marker(markers / f"{remote.dest.name}.json"), folder, digest, group)
    ]
    plan = DownloadPlan(
        corpus="RAVDESS",
        licence=RAVDESS_LICENSE,
        folder=folder,
        files=tuple(a[0] for a in archives),
        missing=_download.plan_missing(a[0] for a in pending),
        notes=(
            f"actors {wanted[0]:02d}..{wanted[-1]:02d} ({len(wanted)}), parts {list(parts)}; "
            "checksums from the Zenodo record",
            "archives are unpacked into Actor_XX/ folders"
            + ("" if keep_archives else " and then deleted"),
        ),
    )
    if dry_run:
        return plan
    logger.info("Fetching %s", plan.summary())
    for remote, group, digest in pending:
        _download.download_file(
            remote.url,
            remote.dest,
            md5=remote.md5,
            sha256=remote.sha256,
            size=remote.size,
            verify_existing=verify_existing,
            retries=retries,
            timeout=timeout,
            progress=progress,
        )
        keep = set(group)
        logger.info("Unpacking %s (actors %s) into %s", remote.dest.name, sorted(keep), folder)
        paths = _download.extract_zip(
            remote.dest,
            folder,
            include=lambda name, keep=keep: _member_actor(name) in keep | {None},
        )
        marker_path = markers / f"{remote.dest.name}.json"
        old = _read_marker(marker_path)
        done = set(group)
        files = {}
        if old and old.get("digest") == digest:
            done |= set(old.get("actors", ()))
            files.update(old.get("files", {}))
        files.update({p.relative_to(folder.resolve()).as_posix(): p.stat().st_size for p in paths})
        markers.mkdir(parents=True, exist_ok=True)
        tmp = marker_path.with_name(marker_path.name + ".part")
        tmp.write_text(
            json.dumps(
                {"key": remote.dest.name, "digest": digest, "actors": sorted(done), "files": files},
                indent=1,
            )
        )
        os.replace(tmp, marker_path)
        if not keep_archives:
            remote.dest.unlink()

    channels = [c for c in ("speech", "song") if any(p.startswith(c) for p in parts)]
    codes = {f"{a:02d}" for a in wanted}
    clips = []
    for channel in channels:
        clips += [c for c in load_ravdess(folder, channel=channel) if c.speaker in codes]
    return clips
