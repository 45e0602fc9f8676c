"""A clip's faces as the extraction aligns them, and the same made ahead without
scikit-learn.

:func:`align_clip` tracks every face of a clip into people (the record the extraction caches,
:mod:`emoset.video.extract`). ``emoset predict`` on one video clip forks a child that works
on the clip while the command imports the estimators and loads its model
(:mod:`emoset.utils.early`); the child aligns the clip's faces as the default video subsystem
does (:func:`default_faces`: ``ImageSetFeatures()``, 64-pixel grayscale faces, every frame,
the people tracker's defaults) and runs the emotion CNN on them as its frame feature does
(:func:`default_features`).
This module imports no estimator and not scikit-learn, so the child aligns while the
command imports them (0.8 s; the people tracker imports them only if a new track may be
someone seen before, to compare their faces); its aligner is an
:class:`~emoset.video.tracking.AlignerSettings`, which aligns exactly as a
:class:`~emoset.video.faces.FaceAligner` with the same parameters. The extraction takes
the faces only for exactly its own settings (:func:`faces_part`), and their features only
for exactly its own frame feature (:func:`features_part`); tests check that the defaults
here are ``ImageSetFeatures()``'s.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..io.errors import TruncationWarning
from ..utils.early import file_state
from .emotion_onnx import EMOTION_OUTPUTS, emotion_model_path, emotion_values
from .people import align_people
from .tracking import AlignerSettings, alignment_key

__all__ = [
    "DEFAULT_ALIGNER",
    "DEFAULT_FEATURE",
    "DEFAULT_PEOPLE",
    "align_clip",
    "default_faces",
    "default_faces_part",
    "default_features",
    "faces_part",
    "features_part",
]

#: The parameters of the extraction's default aligner (``ImageSetFeatures``, and this
#: module's child, align with them): 64-pixel grayscale faces, which the CNN reads.
DEFAULT_ALIGNER = {"crop_size": 64}

#: The people tracker's options of the default video subsystem
#: (``ImageSetFeatures()._options()``).
DEFAULT_PEOPLE = {"min_face_size": None, "identity_threshold": 0.5}

#: The default video subsystem's frame feature as the extraction describes it (its module,
#: class and parameters): ``EmotionCNN(output="features")``, the CNN's 128 features a face.
DEFAULT_FEATURE = [
    "emoset.video.cnn_features",
    "EmotionCNN",
    {"batch_size": 256, "model_path": None, "n_jobs": 1, "output": "features", "resize": True},
]


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


def faces_part(path, audio, aligner, options):
    """A clip's faces as work made ahead is compared on (:mod:`emoset.utils.early`): the
    files (their size and times: not changed since), the aligner (its parameters, and
    whether it aligns with the plain building blocks:
    :func:`~emoset.video.tracking.alignment_key`) and the tracker's options; None if a file
    cannot be read (then nothing is taken)."""
    fps, max_frames, allow_partial, people = options
    files = file_state(path), None if audio is None else file_state(audio)
    if files[0] is None or (audio is not None and files[1] is None):
        return None
    people = sorted(people.items())
    return "faces", files, alignment_key(aligner), fps, max_frames, allow_partial, people


def features_part(spec):
    """The frame features of the faces made ahead, as they are compared: the transformer's
    module, class and parameters (``spec``)."""
    return "features", spec


def _default_options(allow_partial):
    return None, None, bool(allow_partial), dict(DEFAULT_PEOPLE)


def default_faces_part(path, *, allow_partial=False):
    """:func:`faces_part` of :func:`default_faces`."""
    aligner = AlignerSettings(**DEFAULT_ALIGNER)
    return faces_part(path, None, aligner, _default_options(allow_partial))


def default_faces(path, *, allow_partial=False):
    """A video clip's faces as the default video subsystem aligns them (its own sound),
    without importing scikit-learn."""
    aligner = AlignerSettings(**DEFAULT_ALIGNER)
    return align_clip(path, None, aligner, _default_options(allow_partial))


def default_features(aligned):
    """The emotion CNN's features of each person's faces (:data:`DEFAULT_FEATURE`), rows in
    frame order: what the extraction computes with ``EmotionCNN(output="features")``."""
    params = DEFAULT_FEATURE[2]
    faces, person = aligned["faces"], aligned["person"]
    values = np.zeros((len(faces), EMOTION_OUTPUTS[params["output"]]), np.float32)
    for k in np.unique(person):
        mine = np.flatnonzero(person == k)
        values[mine] = emotion_values(
            faces[mine],
            emotion_model_path(),
            output=params["output"],
            batch_size=params["batch_size"],
            n_threads=params["n_jobs"],
        )
    return np.ascontiguousarray(values)
