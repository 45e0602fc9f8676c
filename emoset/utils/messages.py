"""Warnings that point at the caller's code.

A warning raised deep inside emoset (or inside a scikit-learn ``Pipeline`` calling emoset) is
attributed to the first stack frame outside emoset, scikit-learn and joblib, so the line shown
is the user's own ``model.fit(...)``, not ``sklearn/utils/_set_output.py``. Data problems are
warned about once per call (``fit``, ``transform``), summarised, never per clip or per fold.
"""

from __future__ import annotations

import errno
import os
import sys
import warnings
from pathlib import Path

__all__ = ["shown", "summarise", "warn_caller", "what_is"]

_PACKAGE = str(Path(__file__).resolve().parents[1])


def _internal(filename: str) -> bool:
    if filename.startswith(_PACKAGE):
        return True
    parts = Path(filename).parts
    return any(p in ("sklearn", "joblib") for p in parts) or filename.startswith("<frozen")


def _caller_stacklevel() -> int:
    """``stacklevel`` for :func:`warnings.warn` called from :func:`warn_caller`."""
    frame = sys._getframe(2)  # the emoset function that called warn_caller
    level = 2
    while frame is not None and _internal(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level if frame is not None else 2


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first frame outside emoset, scikit-learn and joblib."""
    warnings.warn(message, category, stacklevel=_caller_stacklevel())


def summarise(items, limit: int = 5) -> str:
    """``"a, b, c and 4 more"`` for a list of names or ``"name (reason)"`` strings."""
    items = [str(i) for i in items]
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def shown(path) -> str:
    """A path (or any file name) as text that can always be printed, logged and tabulated.

    File names are bytes on POSIX; one that is not valid UTF-8 (``caf\\xe9.mp4``, written
    in Latin-1) reaches Python with surrogate escapes, which ``print``, JSON tables and pandas
    refuse. Those bytes are shown as ``\\xNN`` instead; every other name is unchanged. A URL
    stays as it was written (``pathlib`` would fold its ``//``).

    Examples
    --------
    >>> shown(b"caf\\xe9.mp4".decode("utf-8", "surrogateescape"))
    'caf\\\\xe9.mp4'
    >>> shown("http://127.0.0.1:9/x.ts")
    'http://127.0.0.1:9/x.ts'
    """
    text = path if isinstance(path, str) else os.fspath(path)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def one_line(text) -> str:
    """``text`` with its control characters (a newline, a tab, ...) shown as escapes.

    For lines a reader (or a script reading line by line) takes one answer from: a clip named
    ``a\\nb.wav`` would otherwise print its answer over two lines.

    Examples
    --------
    >>> one_line("a\\nb.wav: sad")
    'a\\\\nb.wav: sad'
    """
    text = str(text)
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def what_is(path) -> str | None:
    """Why ``path`` is not a regular file, in words (``None`` when it is one).

    ``"no such file"``, ``"a symbolic link that loops"`` or ``"... to a missing file"``, ``"a
    folder"``, ``"a named pipe (FIFO)"``, ``"a character device"``, ``"a block device"``,
    ``"a socket"``, or ``"not readable (permission denied)"``.
    """
    import stat

    p = os.fspath(path)
    try:
        mode = os.stat(p).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link that loops"
        if os.path.islink(p):
            return "a symbolic link to a missing file"
        if exc.errno == errno.EACCES:
            return "not readable (permission denied)"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "no such file"
        raise  # e.g. a name too long for the file system: the caller says what it was
    for test, words in (
        (stat.S_ISREG, None),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return words
    return "not a regular file"
