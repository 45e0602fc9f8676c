"""Clip records and corpus loaders.

Each loader parses a corpus's own folder layout and file naming, as its users have it on disk,
and returns a list of :class:`Clip` records sorted by clip id. Labels use one vocabulary for all
corpora (``"anger"``, ``"disgust"``, ``"fear"``, ``"happy"``, ``"neutral"``, ``"sad"``,
``"surprise"``, ``"calm"``); :data:`EMOTIW_LABELS` maps them onto the 7 EmotiW classes.

Where the data lives: an explicit ``root`` argument, then ``$EMOSET_DATA``, then
``../shared/data`` (beside a checkout of this project), then ``./data``, then
``~/emoset_data`` (:func:`find_data_root`). :func:`emoset.datasets.fetch.fetch_cremad` and
:func:`emoset.datasets.fetch.fetch_ravdess` download the corpora from their official locations into
that last folder.

Two neighbours read clips this module does not know the layout of or split them:
:func:`emoset.datasets.manifest.load_manifest` reads any data set listed in a CSV file, and
:mod:`emoset.datasets.splits` holds the speaker-independent folds (:func:`~emoset.datasets.splits.speaker_kfold`)
and the split files shipped with emoset (:func:`~emoset.datasets.splits.load_split`). Their functions
stay importable from here.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..io.media import AUDIO_EXTENSIONS, MEDIA_EXTENSIONS, VIDEO_EXTENSIONS

__all__ = [
    "CLASS_CHOICES",
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
    "load_cremad_human_votes",
    "to_emotiw",
    "clip_labels",
    "clip_speakers",
    "combine_corpora",
    "DEFAULT_DATA_HOME",
]

logger = logging.getLogger(__name__)


#: Where :mod:`emoset.datasets.fetch` puts corpora when neither ``data_home`` nor ``$EMOSET_DATA`` is
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
        ``~/emoset_data`` (the default folder of :func:`emoset.datasets.fetch.fetch_cremad` /
        :func:`emoset.datasets.fetch.fetch_ravdess`).

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
    repo = Path(__file__).resolve().parents[2]
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
        "or fetch the data with `make data` (emoset.datasets.fetch.fetch_cremad / fetch_ravdess)."
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
        :func:`emoset.app.report.human_accuracy`, as in the CREMA-D paper's majority-vote scores.
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


# --------------------------------------------------------------------------- labels


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


#: How :func:`combine_corpora` chooses the classes of several corpora.
CLASS_CHOICES = ("union", "shared")


def combine_corpora(corpora: Sequence[Sequence[Clip]], *, classes="union") -> list[Clip]:
    """One training set from several corpora (their labels already share one vocabulary).

    Parameters
    ----------
    corpora : sequence of sequences of Clip
        The clips of each corpus (e.g. ``[load_cremad(), load_ravdess()]``).
    classes : {"union", "shared"}, default="union"
        ``"union"``: every clip, each corpus with its own classes (RAVDESS adds ``"calm"`` and
        ``"surprise"`` to CREMA-D's six); ``"shared"``: only the clips of the classes every
        corpus has, so no class is learnt from one corpus alone.

    Returns
    -------
    clips : list of Clip
        In the order given. Speakers stay apart across corpora: speaker-grouped folds use
        ``corpus:speaker`` (:func:`clip_speakers`), so actor ``01`` of one corpus is never
        taken for actor ``01`` of another.

    Examples
    --------
    >>> a = [Clip("a1", None, "a1.wav", "anger", "1", "x"), Clip("a2", None, "a2.wav", "calm", "1", "x")]
    >>> b = [Clip("b1", None, "b1.wav", "anger", "1", "y")]
    >>> [c.id for c in combine_corpora([a, b], classes="shared")]
    ['a1', 'b1']
    """
    if classes not in CLASS_CHOICES:
        raise ValueError(f"classes must be one of {list(CLASS_CHOICES)}; got {classes!r}.")
    corpora = [list(c) for c in corpora]
    keep = None
    if classes == "shared":
        keep = set.intersection(*({c.label for c in clips} for clips in corpora))
        if not keep:
            raise ValueError("The corpora share no class; use classes='union'.")
    return [c for clips in corpora for c in clips if keep is None or c.label in keep]
