"""Parameter checks shared by emoset's estimators (numbers go through sklearn's ``check_scalar``)."""

from __future__ import annotations

__all__ = ["check_choice"]


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
