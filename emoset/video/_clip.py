"""One clip's work for :mod:`emoset.video.extract`: its people and faces, then its features.

Run by the extraction's workers (joblib or Dask), each step cached by content: the aligned
faces of a clip (every person's, with who they are and how long each one speaks) under the
SHA-256 of the video (and of its separate audio file), the aligner's and the tracker's
parameters; each frame feature under the faces' key and the transformer's parameters.
"""

from __future__ import annotations

import os
import time

import numpy as np
from sklearn.base import clone

from .._version import __version__
from ..utils.cache import DiskCache, file_sha256, make_key
from ..utils.early import early_clip_waiting, stop_early_clip, take_early_clip
from .clip_faces import align_clip, faces_part, features_part
from .people import TRACKING_VERSION, summarise_people


def _spec_key(est):
    params = {k: (str(v) if isinstance(v, os.PathLike) else v) for k, v in est.get_params().items()}
    return [type(est).__module__, type(est).__qualname__, params]


def _uses_rgb(transformer):
    return getattr(transformer, "input_color", "gray") == "rgb"


def _uses_landmarks(transformer):
    return getattr(transformer, "input_kind", "faces") == "landmarks"


def _check_faces(record):
    faces = record["faces"]
    n = len(faces)
    return (
        faces.dtype == np.uint8
        and faces.ndim == 3
        and n == record["n_faces"]
        and (record["chips"] is None or len(record["chips"]) == n)
        and record["person"].shape == (n,)
        and record["boxes"].shape == (n, 4)
        and record["motion"].shape == (n,)
        and record["levels"].ndim == 1
        and record["levels"].shape[0] in (0, record["n_frames"])
        and record["frame_rate"] > 0
    )


def _feature_check(n_faces, dim):
    def check(record):
        values = record["values"]
        return values.dtype == np.float32 and values.shape == (n_faces, dim)

    return check


#: Layout of a cached faces entry (people tracked, who speaks) and the tracking rules that
#: made it (:data:`~emoset.video.people.TRACKING_VERSION`); part of its key.
_FACES_FORMAT = f"people-2.{TRACKING_VERSION}"


def _per_person(transformer, source, person, dim):
    """A frame feature of each person's faces on their own, rows back in frame order.

    Features that look across frames (the landmarks' frame-to-frame motion, a face
    descriptor held over frames) must not run from one person's face into another's.
    """
    values = np.zeros((len(source), dim), np.float32)
    for k in np.unique(person):
        mine = np.flatnonzero(person == k)
        rows = clone(transformer).fit(source[mine]).transform(source[mine])
        if rows.shape[1] != dim:
            raise ValueError(
                f"{type(transformer).__name__} gives {rows.shape[1]} features a face where the "
                f"fitted step expects {dim}: its settings changed since it was fitted (fit it "
                "again)."
            )
        values[mine] = np.asarray(rows, dtype=np.float32)
    return np.ascontiguousarray(values)


def _faces_key(path, audio, aligner, options):
    """The cache key of a clip's faces: its content, the aligner's and the tracker's settings."""
    fps, max_frames, allow_partial, people = options
    return make_key(
        "faces",
        _FACES_FORMAT,
        __version__,
        file_sha256(path),
        None if audio is None else file_sha256(audio),
        _spec_key(aligner),
        fps,
        max_frames,
        allow_partial,
        sorted(people.items()),
    )


def _extract_one(task):
    """Worker: faces (cached) then each feature (cached) for one video."""
    path, audio, aligner, transformers, dims, options, cache_dir = task
    fps, max_frames, allow_partial, people = options
    cache = DiskCache(cache_dir) if cache_dir is not None else None
    faces_key = None
    aligned = None
    if cache is not None:
        faces_key = _faces_key(path, audio, aligner, options)
        aligned = cache.get(faces_key, None, check=_check_faces)
    if (
        aligned is not None
        and any(_uses_landmarks(t) for t in transformers.values())
        and aligned.get("landmarks") is None
    ):
        aligned = None  # cached by an emoset that did not keep the aligned landmarks
    faces_cached = aligned is not None
    ahead = False  # aligned by the process the command started early (emoset.utils.early)
    if faces_cached:
        stop_early_clip(path, "faces")  # its faces and features are not needed
    else:  # by that process if it has these settings, else here
        if early_clip_waiting(path):
            part = faces_part(path, audio, aligner, options)
            aligned = take_early_clip(path, part, needed=True) if part else None
            ahead = aligned is not None
        if aligned is None:
            aligned = align_clip(path, audio, aligner, options)
        if cache is not None:
            cache.put(faces_key, aligned)
    timings = {"align": 0.0 if faces_cached else aligned["seconds"]}
    features = {}
    for name, transformer in transformers.items():
        t1 = time.perf_counter()
        key = make_key("feature", faces_key, _spec_key(transformer)) if cache is not None else None
        check = _feature_check(aligned["n_faces"], dims[name])
        record = cache.get(key, None, check=check) if cache is not None else None
        if record is None and ahead:  # its features of the faces it aligned, if they are these
            values = take_early_clip(path, features_part(_spec_key(transformer)))
            record = None if values is None else {"values": values}
            record = record if record is not None and check(record) else None
            if record is not None and cache is not None:
                cache.put(key, record)
        if record is None:
            if _uses_landmarks(transformer):
                source = aligned["landmarks"]
            else:
                source = aligned["chips"] if _uses_rgb(transformer) else aligned["faces"]
            if source is None:
                raise RuntimeError(f"{name} needs RGB face chips: use FaceAligner(chips=True).")
            values = _per_person(transformer, source, aligned["person"], dims[name])
            if cache is not None:
                cache.put(key, {"values": values})
            timings[name] = time.perf_counter() - t1
        else:
            values = record["values"]
            timings[name] = 0.0
        features[name] = values
    meta = {k: aligned[k] for k in ("n_frames", "n_faces", "n_detections")}
    meta["partial"] = aligned.get("partial")
    people = summarise_people(
        aligned["person"],
        aligned["frame_indices"],
        aligned["boxes"],
        aligned["motion"].astype(np.float64),
        aligned["levels"].astype(np.float64),
        aligned["frame_rate"],
        aligned["n_frames"],
    )
    people["person"] = aligned["person"]
    main = people["main"]
    if main >= 0:
        meta["n_faces"] = int(np.sum(people["person"] == main))
    return {
        "features": features,
        "meta": meta,
        "people": people,
        "timings": timings,
        "faces_cached": faces_cached,
    }
