"""A clip's faces as the extraction aligns them, and the same aligned ahead without
scikit-learn.

:func:`align_clip` tracks every face of a clip into people (the record the extraction caches,
:mod:`emoset.video.extract`). ``emoset predict`` on one video clip forks a child that aligns
the clip's faces while the command imports the estimators and loads its model
(:func:`emoset.video.face_process.start_early_clip`); the child runs
:func:`default_clip_faces`, the default video subsystem's alignment (``ImageSetFeatures()``,
the CNN: 64-pixel grayscale faces, every frame, the people tracker's defaults).
This module imports no estimator and not scikit-learn, so the child starts aligning in
about 0.2 s instead of after the estimators' imports (0.7 s; the people tracker imports them
only if a new track may be someone seen before, to compare their faces); its aligner is an
:class:`~emoset.video.tracking.AlignerSettings`, which aligns exactly as a
:class:`~emoset.video.faces.FaceAligner` with the same parameters. The extraction takes
the faces only for exactly its own settings (:func:`early_settings`; a test checks that the
defaults here are ``ImageSetFeatures()``'s).
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from ..io.errors import TruncationWarning
from .people import align_people
from .tracking import AlignerSettings, alignment_key

__all__ = [
    "DEFAULT_ALIGNER",
    "DEFAULT_PEOPLE",
    "align_clip",
    "default_clip_faces",
    "early_faces",
    "early_settings",
]

#: The parameters of the extraction's default aligner (``ImageSetFeatures``, and this
#: module's child, align with them): 64-pixel grayscale faces, which the CNN reads.
DEFAULT_ALIGNER = {"crop_size": 64}

#: The people tracker's options of the default video subsystem
#: (``ImageSetFeatures()._options()``).
DEFAULT_PEOPLE = {"min_face_size": None, "identity_threshold": 0.5}


def align_clip(path, audio, aligner, options):
    """Every face of a clip, tracked into people (see :func:`~emoset.video.people.align_people`).

    Parameters
    ----------
    path : str or path-like
        The video.
    audio : str, path-like or None
        The file whose sound goes with it (None: the video's own).
    aligner : FaceAligner or AlignerSettings
    options : tuple
        ``(fps, max_frames, allow_partial, people)``, ``people`` the tracker's options.

    Returns
    -------
    record : dict
        The faces, chips and aligned landmarks, who each face is, the frames' voice levels
        and the counts, as the extraction caches them.
    """
    t0 = time.perf_counter()
    fps, max_frames, allow_partial, people = options
    kwargs = dict(fps=fps, max_frames=max_frames, allow_partial=allow_partial, audio=audio)
    partial = None
    if allow_partial:  # a truncated file is used as far as it decodes, and the numbers kept
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TruncationWarning)
            found, summary = align_people(path, aligner, **kwargs, **people)
        checks = [w.message.check for w in caught if issubclass(w.category, TruncationWarning)]
        partial = "; ".join(c.reason for c in checks) or None
    else:
        found, summary = align_people(path, aligner, **kwargs, **people)
    stats = found.stats
    return {
        "faces": found.faces,
        "chips": found.chips,
        "landmarks": found.aligned_landmarks.astype(np.float32),
        "n_frames": int(stats.n_frames),
        "n_faces": int(len(found.faces)),
        "n_detections": int(stats.n_detections),
        "frame_indices": np.asarray(found.frame_indices, dtype=np.int64),
        "person": np.asarray(found.person, dtype=np.int64),
        "boxes": np.asarray(found.boxes, dtype=np.float64),
        "motion": np.asarray(summary["motion"], dtype=np.float32),
        "levels": np.asarray(summary["levels"], dtype=np.float32),
        "frame_rate": summary["frame_rate"],
        "n_tracks": int(found.extra["n_tracks"]),
        "n_cuts": int(found.extra["n_cuts"]),
        "n_small_faces": int(found.extra["n_small_faces"]),
        "partial": partial,
        "seconds": time.perf_counter() - t0,
    }


def _file_state(path):
    """A file as its early alignment is compared on: where it is and its size and times
    (None if it cannot be read: then nothing is taken, and aligning says what is wrong)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def early_settings(path, audio, aligner, options):
    """What a clip's faces aligned ahead are compared on (:func:`early_faces`): the files
    (their size and times: not changed since), the aligner (its parameters, and whether it
    aligns with the plain building blocks: :func:`~emoset.video.tracking.alignment_key`) and
    the tracker's options; None if a file cannot be read."""
    fps, max_frames, allow_partial, people = options
    files = _file_state(path), None if audio is None else _file_state(audio)
    if files[0] is None or (audio is not None and files[1] is None):
        return None  # a file that cannot be read: nothing is taken
    people = sorted(people.items())
    return files, alignment_key(aligner), fps, max_frames, allow_partial, people


def early_faces(path, aligner, options):
    """A clip's faces as the extraction aligns them (its video's own sound), for
    :func:`emoset.video.face_process.start_early_clip`'s child: yields the settings, then the
    faces, or None if aligning warned (the caller then aligns the clip itself, and the
    warning reaches the user)."""
    yield early_settings(path, None, aligner, options)
    with warnings.catch_warnings(record=True) as caught:  # what the filters would show
        aligned = align_clip(path, None, aligner, options)
    yield None if caught else aligned


def default_clip_faces(path, *, allow_partial=False):
    """A video clip's faces as the default video subsystem aligns them: yields the settings,
    then the faces, or None if aligning warned (:func:`early_faces`), without importing
    scikit-learn."""
    options = (None, None, bool(allow_partial), dict(DEFAULT_PEOPLE))
    yield from early_faces(path, AlignerSettings(**DEFAULT_ALIGNER), options)
