"""What every reader raises or warns with: :class:`MediaError` and the truncation records.

A truncated file raises :class:`TruncatedMediaError` by default; with ``allow_partial=True``
the readers return what decoded and warn once with a :class:`TruncationWarning`. Both carry a
:class:`TruncationCheck` with the numbers (see :mod:`emoset.io.media`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..utils.messages import shown

__all__ = ["MediaError", "TruncatedMediaError", "TruncationCheck", "TruncationWarning"]


class MediaError(RuntimeError):
    """A media file could not be read.

    Parameters
    ----------
    path : str or path-like
        The file that failed.
    reason : str
        What was wrong, in words a user can act on.

    Attributes
    ----------
    path : pathlib.Path or str
        The file that failed (a URL stays a string).
    reason : str
        What was wrong.
    """

    def __init__(self, path, reason):
        # a URL keeps its "//" (pathlib would fold it); a file name is shown printable
        self.path = path if isinstance(path, str) and "://" in path else Path(path)
        self.reason = reason
        super().__init__(f"{shown(self.path)}: {reason}")

    def __reduce__(self):  # keep the two-argument form through pickling (joblib workers)
        return (type(self), (self.path, self.reason))


@dataclass(frozen=True)
class TruncationCheck:
    """How much of a stream decoded, against what its header promises.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    stream : {"video", "audio"}
        Which stream was decoded.
    expected : float or None
        Seconds the header promises; ``None`` when the container states no duration that can
        be trusted (then only a decoding error counts as truncation).
    decoded : float
        Seconds decoded (from the first frame's start to the last frame's end for video, the
        number of samples over the sample rate for audio).
    tolerance : float
        Seconds ``decoded`` may fall short of ``expected`` (two frame or packet durations).
    error : str or None
        The decoder error that stopped decoding part way, if any.

    Examples
    --------
    >>> from emoset.datasets import find_data_root
    >>> import tempfile
    >>> from emoset.io.media import check_truncation
    >>> clip = find_data_root() / "cremad" / "native" / "video" / "1001_DFA_ANG_XX.mp4"
    >>> cut = Path(tempfile.mkdtemp()) / "cut.mp4"
    >>> _ = cut.write_bytes(clip.read_bytes()[:60_000])  # an interrupted download
    >>> check = check_truncation(cut, "audio")
    >>> check.truncated, check.reason
    (True, 'truncated: decoded 1.11 s of 2.27 s')
    """

    path: Path
    stream: str
    expected: float | None
    decoded: float
    tolerance: float
    error: str | None = None

    @property
    def truncated(self) -> bool:
        """Whether decoding stopped at an error or well short of the promised duration."""
        if self.error is not None:
            return True
        return self.expected is not None and self.decoded < self.expected - self.tolerance

    @property
    def reason(self) -> str:
        """The numbers in words, e.g. ``"truncated: decoded 0.23 s of 2.27 s"``."""
        if self.expected is None:
            numbers = f"decoded {self.decoded:.2f} s"
            unknown = f"the header states no {self.stream} duration"
            if self.error is None:
                return f"not checked: {numbers}; {unknown}"
            numbers = f"{numbers} ({unknown})"
        else:
            numbers = f"decoded {self.decoded:.2f} s of {self.expected:.2f} s"
        if self.error is not None:
            return f"truncated: {numbers}; decoding stopped at an error ({self.error})"
        return f"truncated: {numbers}" if self.truncated else f"complete: {numbers}"


class TruncatedMediaError(MediaError):
    """A media file ends before its header says it should, or decoding failed part way.

    Parameters
    ----------
    check : TruncationCheck
        The numbers.

    Attributes
    ----------
    check : TruncationCheck
        Expected and decoded durations, for a per-clip report.
    path : pathlib.Path
    reason : str
        ``check.reason``, e.g. ``"truncated: decoded 0.23 s of 2.27 s"``.
    """

    def __init__(self, check):
        self.check = check
        super().__init__(check.path, check.reason)

    def __reduce__(self):
        return (type(self), (self.check,))


class TruncationWarning(UserWarning):
    """Only part of a truncated file was decoded (``allow_partial=True``).

    Parameters
    ----------
    check : TruncationCheck
        The numbers.

    Attributes
    ----------
    check : TruncationCheck
        Expected and decoded durations, for a per-clip report.
    """

    def __init__(self, check):
        self.check = check
        super().__init__(f"{check.path}: {check.reason}; using the part that decoded.")
