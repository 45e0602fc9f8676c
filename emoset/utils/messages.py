"""Warnings that point at the caller's code.

A warning raised deep inside emoset (or inside a scikit-learn ``Pipeline`` calling emoset) is
attributed to the first stack frame outside emoset, scikit-learn and joblib, so the line shown
is the user's own ``model.fit(...)``, not ``sklearn/utils/_set_output.py``. Data problems are
warned about once per call (``fit``, ``transform``), summarised, never per clip or per fold.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

__all__ = ["warn_caller", "summarise"]

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
