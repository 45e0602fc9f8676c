"""Download CREMA-D and RAVDESS from their official locations, verified against checksums.

:func:`fetch_cremad` and :func:`fetch_ravdess` plan what to download (a
:class:`~emoset.datasets.download.DownloadPlan`: files, sizes, licence), download it with pinned or
published checksums, and return the clips now on disk through the loaders of
:mod:`emoset.datasets.corpora`. The HTTP mechanics (resumable, retried, verified downloads; safe zip
extraction) live in :mod:`!emoset.datasets.download`. Nothing here runs at import time.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from urllib.parse import quote

from ..utils.cache import atomic_write_bytes
from ..utils.resources import emoset_data
from .archive import extract_zip
from .corpora import DEFAULT_DATA_HOME, load_cremad, load_ravdess
from .download import (
    ChecksumError,
    DownloadError,
    DownloadPlan,
    NotAttempted,
    RemoteFile,
    check_download_options,
    download_file,
    download_many,
    fetch_json,
    plan_missing,
    zenodo_files,
)

__all__ = [
    "get_data_home",
    "fetch_cremad",
    "fetch_ravdess",
    "DownloadError",
    "ChecksumError",
    "DownloadPlan",
    "CREMAD_DEFAULT_ACTORS",
    "CREMAD_LICENSE",
    "RAVDESS_LICENSE",
    "RAVDESS_PARTS",
]

logger = logging.getLogger(__name__)


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
    if file_list is None:
        ref = emoset_data("cremad_official_files.csv.gz")
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


def _check_choices(name, values, choices) -> tuple:
    """``values`` (one name or a sequence of names) as a tuple of members of ``choices``.

    The one check of the fetchers' closed choices (``modalities``, ``parts``).

    Raises
    ------
    ValueError
        If ``values`` is empty or holds something else than a name of ``choices``.
    """
    values = (values,) if isinstance(values, str) else tuple(values)
    unknown = [v for v in values if not isinstance(v, str) or v not in choices]
    if unknown or not values:
        raise ValueError(
            f"{name} must be a non-empty subset of {sorted(choices)}; got {list(values)}."
        )
    return values


def _as_list(actors) -> list:
    """One actor id (``1001``, ``"1001"``) or a sequence of them, as a list."""
    return [actors] if isinstance(actors, (str, int)) else list(actors)


# --------------------------------------------------------------------------- CREMA-D


def _cremad_actor(actor) -> str:
    text = str(actor).strip()
    return f"{int(text):04d}" if text.isdigit() else text


def _cremad_actors(actors, rows) -> set:
    """The requested actor ids, each checked against the clips of the file list."""
    clip_dirs = tuple(_CREMAD_MODALITIES.values())
    available = sorted({Path(p).name[:4] for p, _, _ in rows if p.startswith(clip_dirs)})
    if actors is None:
        return set(available)
    wanted = {_cremad_actor(a) for a in _as_list(actors)}
    missing = sorted(wanted - set(available))
    if missing:
        span = f"{available[0]}..{available[-1]}" if available else "none"
        raise ValueError(
            f"Unknown CREMA-D actor(s) {missing}; the file list has "
            f"{len(available)} actors ({span})."
        )
    return wanted


def _cremad_remote_files(rows, folder, *, actors, modalities, human_votes, base_url, meta_url):
    """(clip files, metadata files) to fetch, as :class:`~emoset.datasets.download.RemoteFile`."""
    clip_dirs = tuple(_CREMAD_MODALITIES.values())
    wanted_dirs = tuple(_CREMAD_MODALITIES[m] for m in modalities)

    def remote(path, digest, size, base):
        url = base.rstrip("/") + "/" + quote(path)
        return RemoteFile(url=url, dest=folder / path, size=size, sha256=digest)

    clip_files, meta_files = [], []
    for path, digest, size in rows:
        if not path.startswith(clip_dirs):
            if human_votes:
                meta_files.append(remote(path, digest, size, meta_url))
        elif path.startswith(wanted_dirs) and Path(path).name[:4] in actors:
            clip_files.append(remote(path, digest, size, base_url))
    return clip_files, meta_files


def _download_cremad(todo, meta_files, folder, options) -> None:
    """Download the clips, then the metadata (whose failure only warns).

    Raises
    ------
    DownloadError
        Counting the clips that failed and showing the first error.
    """
    meta_set = set(meta_files)
    clip_todo = [f for f in todo if f not in meta_set]
    failures = download_many(clip_todo, desc="CREMA-D", **options)
    meta_todo = [f for f in todo if f in meta_set]
    for file, exc in download_many(meta_todo, **{**options, "progress": False}):
        logger.warning("Skipping CREMA-D metadata %s: %s", file.dest.name, exc)
    if failures:
        real = [exc for _, exc in failures if not isinstance(exc, NotAttempted)]
        skipped = len(failures) - len(real)
        raise DownloadError(
            f"{len(real)} of {len(clip_todo)} CREMA-D file(s) failed"
            + (f" ({skipped} more not attempted)" if skipped else "")
            + f"; the first: {real[0]} The other files are in place in {folder}; "
            "run again to resume."
        ) from real[0]


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
        Where clip paths are fetched from (:data:`!CREMAD_BASE_URL`).
    meta_url : str
        Where metadata paths are fetched from (:data:`!CREMAD_META_URL`).
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
        Download nothing and return the :class:`~emoset.datasets.download.DownloadPlan` (files, sizes,
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
    >>> from emoset.datasets.fetch import fetch_cremad, CREMAD_DEFAULT_ACTORS
    >>> clips = fetch_cremad(actors=CREMAD_DEFAULT_ACTORS)  # doctest: +SKIP
    """
    modalities = _check_choices("modalities", modalities, _CREMAD_MODALITIES)
    check_download_options(n_jobs=n_jobs, retries=retries, timeout=timeout)
    rows = _read_cremad_file_list(file_list)
    wanted = _cremad_actors(actors, rows)
    folder = get_data_home(data_home) / "cremad"
    clip_files, meta_files = _cremad_remote_files(
        rows,
        folder,
        actors=wanted,
        modalities=modalities,
        human_votes=human_votes,
        base_url=base_url,
        meta_url=meta_url,
    )
    files = clip_files + meta_files
    plan = DownloadPlan(
        corpus="CREMA-D",
        licence=CREMAD_LICENSE,
        folder=folder,
        files=tuple(files),
        missing=plan_missing(files),
        notes=(
            f"{len(wanted)} actor(s), modalities {list(modalities)}; every file checked "
            "against its pinned size and SHA-256",
        ),
    )
    if dry_run:
        return plan
    logger.info("Fetching %s", plan.summary())
    options = dict(
        n_jobs=n_jobs,
        progress=progress,
        retries=retries,
        timeout=timeout,
        verify_existing=verify_existing,
    )
    _download_cremad(files if verify_existing else plan.missing, meta_files, folder, options)
    if not clip_files:
        return []
    clips = load_cremad(folder, subsets=["official"])
    return [c for c in clips if c.speaker in wanted]


# --------------------------------------------------------------------------- RAVDESS


@dataclass(frozen=True)
class _Archive:
    """One RAVDESS zip to fetch: the file, the actors to unpack from it, its checksum."""

    remote: RemoteFile
    actors: tuple
    digest: str

    def marker(self, folder: Path) -> Path:
        """Where the record of what was unpacked from this archive is kept."""
        return folder / ".fetched" / f"{self.remote.dest.name}.json"


def _ravdess_actor(actor) -> int:
    try:
        number = int(str(actor).strip().removeprefix("Actor_"))
    except ValueError:
        number = -1
    if not 1 <= number <= 24:
        raise ValueError(f"Unknown RAVDESS actor {actor!r}; actors are 1 ... 24.")
    return number


def _ravdess_actors(actors) -> list:
    """The requested actors as sorted numbers (all 24 for ``None``)."""
    if actors is None:
        return list(range(1, 25))
    return sorted({_ravdess_actor(a) for a in _as_list(actors)})


def _member_actor(name):
    match = _RAVDESS_ACTOR_DIR.search(name) or _RAVDESS_ACTOR_FILE.search(name)
    return int(match[1]) if match else None


def _ravdess_archives(entries, parts, actors, downloads, record_url) -> list:
    """The archives of the requested parts and actors, from the record's file entries.

    Raises
    ------
    DownloadError
        If the record lacks an archive (a missing song video only warns: actor 18 has none).
    """
    archives = []
    for part in parts:
        template = RAVDESS_PARTS[part]
        if "{" in template:  # one archive per actor
            groups = [(template.format(a), (a,)) for a in actors]
        else:  # one archive holding every actor
            groups = [(template, tuple(actors))]
        for key, group in groups:
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
            remote = RemoteFile(
                url=url,
                dest=downloads / key,
                size=size,
                md5=digest if algo == "md5" else None,
                sha256=digest if algo == "sha256" else None,
            )
            archives.append(_Archive(remote, group, f"{algo}:{digest}"))
    return archives


def _read_marker(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _is_unpacked(archive: _Archive, folder: Path) -> bool:
    """An archive counts as unpacked when its marker matches and its files are still there."""
    marker = _read_marker(archive.marker(folder))
    if not marker or marker.get("digest") != archive.digest:
        return False
    if not set(archive.actors) <= set(marker.get("actors", ())):
        return False
    for rel, size in marker.get("files", {}).items():
        path = folder / rel
        if not path.is_file() or path.stat().st_size != size:
            return False
    return True


def _record_unpacked(archive: _Archive, folder: Path, paths) -> None:
    """Add the actors and files just unpacked to the archive's marker (written atomically)."""
    marker_path = archive.marker(folder)
    old = _read_marker(marker_path)
    actors, files = set(archive.actors), {}
    if old and old.get("digest") == archive.digest:
        actors |= set(old.get("actors", ()))
        files.update(old.get("files", {}))
    files.update({p.relative_to(folder.resolve()).as_posix(): p.stat().st_size for p in paths})
    marker = {
        "key": archive.remote.dest.name,
        "digest": archive.digest,
        "actors": sorted(actors),
        "files": files,
    }
    atomic_write_bytes(marker_path, json.dumps(marker, indent=1).encode())


def _unpack(archive: _Archive, folder: Path, *, keep_archive) -> None:
    """Extract the archive's members of the requested actors into ``folder``, record them."""
    keep = set(archive.actors) | {None}  # None: members of no actor (e.g. a readme)
    logger.info(
        "Unpacking %s (actors %s) into %s", archive.remote.dest.name, list(archive.actors), folder
    )
    paths = extract_zip(
        archive.remote.dest, folder, include=lambda name: _member_actor(name) in keep
    )
    _record_unpacked(archive, folder, paths)
    if not keep_archive:
        archive.remote.dest.unlink()


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
    API, :data:`!RAVDESS_RECORD_URL`) at run time; every archive is checked against them before
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
        :class:`~emoset.datasets.download.DownloadPlan`.

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
    >>> from emoset.datasets.fetch import fetch_ravdess
    >>> clips = fetch_ravdess(parts=["speech_audio"])  # doctest: +SKIP
    """
    parts = _check_choices("parts", parts, RAVDESS_PARTS)
    check_download_options(retries=retries, timeout=timeout)
    wanted = _ravdess_actors(actors)
    folder = get_data_home(data_home) / "ravdess"
    entries = zenodo_files(fetch_json(record_url, retries=retries, timeout=timeout), record_url)
    archives = _ravdess_archives(entries, parts, wanted, folder / ".downloads", record_url)
    pending = [a for a in archives if not _is_unpacked(a, folder)]
    plan = DownloadPlan(
        corpus="RAVDESS",
        licence=RAVDESS_LICENSE,
        folder=folder,
        files=tuple(a.remote for a in archives),
        missing=plan_missing(a.remote for a in pending),
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
    for archive in pending:
        remote = archive.remote
        download_file(
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
        _unpack(archive, folder, keep_archive=keep_archives)
    channels = [c for c in ("speech", "song") if any(p.startswith(c) for p in parts)]
    codes = {f"{a:02d}" for a in wanted}
    return [
        clip
        for channel in channels
        for clip in load_ravdess(folder, channel=channel)
        if clip.speaker in codes
    ]
