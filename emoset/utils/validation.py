"""Parameter checks shared by emoset's estimators and functions: one home for each.

scikit-learn's :func:`~sklearn.utils.check_scalar` is not used for numbers here: it takes
``True`` for the integer 1 and lets NaN and infinity through every bound, and its type errors
do not say what was received. These checks refuse both and name the owner, the parameter,
what was expected and what was given.
"""

from __future__ import annotations

import math
import os
from numbers import Integral, Real
from pathlib import Path

from .messages import shown

__all__ = [
    "check_choice",
    "check_folder",
    "check_int",
    "check_n_jobs",
    "check_output",
    "check_positive",
]


def check_choice(name, value, choices):
    """Raise ``ValueError`` unless ``value`` is one of ``choices`` (names them all).

    Parameters
    ----------
    name : str
        The parameter's name, as the user wrote it.
    value : object
    choices : iterable

    Returns
    -------
    value : object
        Unchanged.
    """
    choices = list(choices)
    try:
        ok = value in choices
    except TypeError:  # e.g. an unhashable value against a dict
        ok = False
    if not ok or isinstance(value, bool):
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {shown}; got {value!r}.")
    return value


def _prefix(owner):
    return f"{owner}: " if owner else ""


def check_int(value, name, *, min_val, owner=None, what=""):
    """``value`` as an ``int`` of at least ``min_val`` (never a bool), else ``ValueError``.

    Parameters
    ----------
    value : object
    name : str
        The parameter's name, as the user wrote it.
    min_val : int
    owner : str or None
        Who has the parameter (a class name), for the message.
    what : str
        Said after the bound, e.g. ``" (windows)"``.

    Returns
    -------
    value : int

    Examples
    --------
    >>> check_int(3, "smooth", min_val=1)
    3
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < min_val:
        raise ValueError(
            f"{_prefix(owner)}{name} must be an integer >= {min_val}{what}; got {value!r}."
        )
    return int(value)


def check_positive(value, name, *, owner=None, unit="number", optional=False):
    """``value`` as a positive, finite ``float`` (never a bool), else ``ValueError``.

    Parameters
    ----------
    value : object
    name : str
    owner : str or None
        Who has the parameter (a class name), for the message.
    unit : str, default="number"
        What the value counts, for the message (``"number of seconds"``).
    optional : bool, default=False
        Accept ``None`` (returned as is).

    Returns
    -------
    value : float or None

    Examples
    --------
    >>> check_positive(0.5, "hop", unit="number of seconds")
    0.5
    """
    if optional and value is None:
        return None
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value <= 0:
        also = " or None" if optional else ""
        raise ValueError(f"{_prefix(owner)}{name} must be a positive {unit}{also}; got {value!r}.")
    return float(value)


def check_n_jobs(n_jobs):
    """``n_jobs`` as joblib takes it: ``None`` or a non-zero integer (``-1``: every core).

    Returns
    -------
    n_jobs : int or None

    Examples
    --------
    >>> check_n_jobs(-1)
    -1
    """
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral) or n_jobs == 0:
        raise ValueError(
            f"n_jobs must be None or a non-zero integer (-1: every core); got {n_jobs!r}."
        )
    return int(n_jobs)


def check_output(path, *, inputs=(), what="output"):
    """``path`` as a file that may be written: never an input, a folder or an unwritable place.

    Checked before any work starts, so that a run never fails at its end, and never replaces
    what it reads: the same path, a hard link to it and a symbolic link to it are all the input.

    Parameters
    ----------
    path : str or path-like
    inputs : iterable of str or path-like
        Files the run reads (URLs and missing files are skipped).
    what : str
        What the output is, for the message (``"--overlay"``).

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ValueError
        If ``path`` is a folder, is one of ``inputs``, or its folder is missing or not
        writable.
    """
    out = Path(path)
    if out.is_dir():
        raise ValueError(f"{what} {shown(out)} is a folder; give the path of a file to write.")
    for source in inputs:
        if isinstance(source, str) and "://" in source:
            continue
        try:
            same = out.exists() and os.path.samefile(out, source)
        except OSError:
            same = False
        if same:
            raise ValueError(
                f"{what} {shown(out)} is the input {shown(source)} (the same file, or a link "
                "to it); it would be overwritten: give another path."
            )
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"{what} {shown(out)}: the folder {shown(folder)} does not exist.")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{what} {shown(out)}: the folder {shown(folder)} is not writable.")
    return out


def check_folder(path, *, what="folder"):
    """``path`` as a folder that is there or can be made (not a file), before any work starts.

    Raises
    ------
    ValueError
        If ``path`` is a file (or another non-folder), or cannot be created.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{what} {shown(folder)} is not a folder (it is a file).")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{what} {shown(folder)} cannot be created ({exc.strerror}).") from None
    return folder
