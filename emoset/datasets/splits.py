"""Speaker-independent splits: folds made on the fly and the split files shipped with emoset.

:func:`speaker_kfold` assigns whole speakers to folds; :func:`write_split` stores such folds
as a CSV file of clip ids and :func:`load_split` maps a stored split (a path, or the name of a
file shipped in ``emoset/data/splits/``, listed by :func:`shipped_splits`) back onto a list of
:class:`~emoset.datasets.corpora.Clip` records, so every run of a reproduction tests on the same
speakers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..utils import resources as _resources
from ..utils.cache import atomic_write_bytes
from .corpora import Clip, clip_labels, clip_speakers

__all__ = ["load_split", "shipped_splits", "speaker_kfold", "write_split"]

#: A split name (``"cremad_5fold"``): what :func:`load_split` looks up in the shipped files.
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


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
    >>> clips = load_cremad()
    >>> folds = load_split("cremad_5fold", clips)
    >>> [len(test) for train, test in folds]
    [16, 16, 16, 22, 16]
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
