"""Which clip an image set came from, for the messages about it.

Image sets travel through scikit-learn as plain arrays: Pipelines, cross-validation and grid
searches index lists of them, so a set model that finds a problem with "set 48" of an inner
fold cannot tell which clip that is. The code that makes sets from clips
(:mod:`emoset.video.extract`) records each array's clip id here, validation and projection carry
the record over to the arrays they derive from it, and a warning about a set names its clip
when one was recorded (its position otherwise).

A record also remembers which problems were already reported for its clip, so a problem of
the data is warned about once per extraction -- once for a recognizer's ``fit``, however many
inner folds refit on the clip -- not once per fold.

Records are keyed by the array's ``id`` and dropped when the array is garbage-collected (a
weak reference's callback), so the registry never keeps an array alive and never outlives
one. Nothing here changes a result; it only words messages.
"""

from __future__ import annotations

import weakref

__all__ = ["copy_names", "name_sets", "set_label", "unreported"]


class _Record:
    __slots__ = ("name", "reported")

    def __init__(self, name):
        self.name = str(name)
        self.reported = set()


#: ``id(array) -> (weak reference to the array, record)``.
_RECORDS: dict[int, tuple[weakref.ref, _Record]] = {}


def _drop(key, ref):
    entry = _RECORDS.get(key)
    if entry is not None and entry[0] is ref:
        del _RECORDS[key]


def _attach(arr, record):
    key = id(arr)
    try:
        ref = weakref.ref(arr, lambda r, key=key: _drop(key, r))
    except TypeError:  # not weak-referenceable (not an ndarray): no name
        return
    _RECORDS[key] = (ref, record)


def _record(arr):
    entry = _RECORDS.get(id(arr))
    if entry is None or entry[0]() is not arr:
        return None
    return entry[1]


def name_sets(sets, names):
    """Record ``names[i]`` (a clip id) as the name of the array ``sets[i]``."""
    for arr, name in zip(sets, names, strict=True):
        _attach(arr, _Record(name))


def copy_names(sources, derived):
    """Give each array of ``derived`` the record of the array of ``sources`` it was made from."""
    for src, new in zip(sources, derived, strict=True):
        record = _record(src)
        if record is not None and new is not src:
            _attach(new, record)


def set_label(arr, index):
    """The clip id of a named set, its position ``index`` otherwise (for messages)."""
    record = _record(arr)
    return str(index) if record is None else record.name


def unreported(sets, indices, problem):
    """The ``indices`` whose sets were not yet reported for ``problem``; marks them reported.

    Unnamed sets are always returned (they cannot be recognised in the next fold).
    """
    out = []
    for i in indices:
        record = _record(sets[i])
        if record is None:
            out.append(i)
        elif problem not in record.reported:
            record.reported.add(problem)
            out.append(i)
    return out
