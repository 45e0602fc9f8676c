"""Download CREMA-D and RAVDESS from their official locations, verified against checksums.

:func:`fetch_cremad` and :func:`fetch_ravdess` plan what to download (a
:class:`~emoset._download.DownloadPlan`: files, sizes, licence), download it with pinned or
published checksums, and return the clips now on disk through the loaders of
:mod:`emoset.datasets`. The HTTP mechanics (resumable, retried, verified downloads; safe zip
extraction) live in :mod:`emoset._download`. Nothing here runs at import time.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from ._download import ChecksumError, DownloadError, DownloadPlan
from .datasets import DEFAULT_DATA_HOME, load_cremad, load_ravdess

__all__ = [
    "get_data_home",
    "fetch_cremad",
    "fetch_ravdess",
    "DownloadError",
    "ChecksumError",
    "DownloadPlan",
    "DEFAULT_DATA_HOME",
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
    >>> from emoset.fetch import fetch_cremad, CREMAD_DEFAULT_ACTORS
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
    >>> from emoset.fetch import fetch_ravdess
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
