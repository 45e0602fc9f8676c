"""Safe zip extraction: never outside the target folder, never a zip bomb, never half a file.

:func:`extract_zip` unpacks the archives :mod:`emoset.datasets.fetch` downloads (standard
library only).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

from .download import CHUNK_SIZE, DownloadError, format_size

__all__ = ["MAX_EXPANDED", "MAX_RATIO", "extract_zip"]

#: Most bytes a zip may expand to, and the largest ratio of a member's size to its compressed
#: size: a "zip bomb" (a few MB that expand to many GB) is refused before it fills the disk.
#: RAVDESS speech (208 MB) expands to about 0.6 GB; audio and video compress at most ~10x.
MAX_EXPANDED = 64 * 2**30
MAX_RATIO = 200


def extract_zip(
    archive,
    dest,
    *,
    include: Callable[[str], bool] | None = None,
    max_expanded=MAX_EXPANDED,
    max_ratio=MAX_RATIO,
) -> list[Path]:
    """Extract the members of a zip file into ``dest``, safely.

    Each member is written to ``<name>.part`` and renamed when complete (its CRC checked by
    :mod:`zipfile`); a member already present with the right size is skipped. Members whose
    path would leave ``dest`` (absolute, ``..``) are refused; macOS ``__MACOSX/`` entries are
    skipped. An archive whose selected members expand to more than ``max_expanded`` bytes, or
    with a member more than ``max_ratio`` times its compressed size, is refused before anything
    is written; the sizes written are counted too, so a member that lies about its size stops
    at what it declared.

    Parameters
    ----------
    archive : path-like
    dest : path-like
    include : callable or None
        ``include(member_name) -> bool`` selects members; ``None`` takes all.
    max_expanded : int
        Bytes the selected members may expand to.
    max_ratio : float
        Largest ratio of a member's size to its compressed size.

    Returns
    -------
    paths : list of pathlib.Path
        The extracted (or already present) files.

    Raises
    ------
    DownloadError
        If the archive is not a valid zip file, a member is corrupt or would escape ``dest``.
    """
    archive, dest = Path(archive), Path(dest)
    root = dest.resolve()
    out = []
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DownloadError(f"{archive} is not a readable zip file: {exc}.") from exc
    with zf:
        members = [
            info
            for info in zf.infolist()
            if not (info.is_dir() or info.filename.startswith("__MACOSX/"))
            and (include is None or include(info.filename))
        ]
        _check_expansion(archive, members, max_expanded, max_ratio)
        for info in members:
            name = info.filename
            target = (root / name).resolve()
            if root not in target.parents:
                raise DownloadError(
                    f"{archive}: member {name!r} would be written outside {dest}; refusing."
                )
            if target.is_file() and target.stat().st_size == info.file_size:
                out.append(target)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            try:
                with zf.open(info) as src, open(tmp, "wb") as dst:
                    _copy_at_most(src, dst, info.file_size, archive, name)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                tmp.unlink(missing_ok=True)
                raise DownloadError(f"{archive}: cannot extract {name!r}: {exc}.") from exc
            os.replace(tmp, target)
            out.append(target)
    return out


def _check_expansion(archive, members, max_expanded, max_ratio):
    total = sum(info.file_size for info in members)
    if total > max_expanded:
        raise DownloadError(
            f"{archive}: its members would expand to {format_size(total)}, more than the "
            f"{format_size(max_expanded)} allowed; refusing (a zip bomb?)."
        )
    for info in members:
        ratio = info.file_size / max(1, info.compress_size)
        if ratio > max_ratio:
            raise DownloadError(
                f"{archive}: member {info.filename!r} expands {ratio:.0f} times "
                f"({format_size(info.compress_size)} -> {format_size(info.file_size)}), more "
                f"than {max_ratio} times; refusing (a zip bomb?)."
            )


def _copy_at_most(src, dst, limit, archive, name):
    """Copy a member, never more than the size it declared."""
    written = 0
    while chunk := src.read(CHUNK_SIZE):
        written += len(chunk)
        if written > limit:
            raise DownloadError(f"{archive}: member {name!r} is larger than it declares.")
        dst.write(chunk)
