"""Names that moved to another module stay importable from where they were."""

from __future__ import annotations

import importlib


def forward(namespace, moved):
    """``__getattr__`` and ``__dir__`` for a module whose names ``moved`` now live elsewhere.

    Parameters
    ----------
    namespace : dict
        The module's ``globals()``.
    moved : dict
        Name -> the module that holds it now; imported on first use (no import cycle).

    Returns
    -------
    getattr, dir : callable
        To assign to the module's ``__getattr__`` and ``__dir__``.
    """
    module = namespace["__name__"]

    def __getattr__(name):
        if name in moved:
            return getattr(importlib.import_module(moved[name]), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    def __dir__():
        return sorted([*namespace, *moved])

    return __getattr__, __dir__
