"""From clips to image sets: decode, align faces, compute frame features — cached and parallel.

:func:`extract_image_sets` runs :func:`emoset.faces.align_video` and then one or several frame
feature transformers on every clip, in parallel with joblib, and returns one ``(n_faces_i, d)``
array per clip (an *image set*) with a table of what happened to each clip.

Caching is two-level and keyed by content: the aligned faces of a clip are stored under the
SHA-256 of the video file plus the aligner's parameters, and each feature under the faces' key
plus the transformer's class and parameters (and the emoset version). A grid search over
features or set models therefore never detects a face twice, and renaming or moving a corpus
keeps its cache. Every entry is written atomically as soon as the clip is done, so an
interrupted run resumes where it stopped, losing nothing.

A clip that cannot be decoded, or has no face at all, gives an empty set and a warning (with
``on_error="warn"``): one bad clip never stops a batch.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from sklearn.base import clone

from . import __version__
from ._cache import DiskCache, Failure, default_cache_dir, file_sha256, make_key, parallel_map
from .faces import FaceAligner, align_video
from .frame_features import HOG, LBP, DenseSIFT, EmotionCNN, FaceDescriptor

__all__ = ["FRAME_FEATURES", "make_frame_features", "extract_image_sets", "default_cache_dir"]

logger = logging.getLogger(__name__)

#: Frame features by name: what :func:`make_frame_features` builds.
FRAME_FEATURES = {
    "densesift": lambda: DenseSIFT(),
    "hog": lambda: HOG(),
    "lbp": lambda: LBP(),
    "cnn": lambda: EmotionCNN(output="features"),
    "cnn_scores": lambda: EmotionCNN(output="scores"),
    "faceid": lambda: FaceDescriptor(every=5, hold=True),
}


def make_frame_features(spec):
    """A frame-feature transformer from a name or an instance.

    Parameters
    ----------
    spec : str or transformer
        One of :data:`FRAME_FEATURES` (``"densesift"``, ``"hog"``, ``"lbp"``, ``"cnn"`` — the
        mini-Xception's 128-D penultimate activations, ``"cnn_scores"`` — its 7 class scores,
        ``"faceid"`` — dlib's 128-D face descriptor on every 5th frame, held), or a transformer
        with ``fit``/``transform`` on ``(n, h, w)`` uint8 faces.

    Returns
    -------
    transformer : estimator (a new, unfitted one)
    """
    if isinstance(spec, str):
        if spec not in FRAME_FEATURES:
            raise ValueError(
                f"Unknown frame feature {spec!r}; choose from {sorted(FRAME_FEATURES)}"
                " or pass a transformer."
            )
        return FRAME_FEATURES[spec]()
    if not (hasattr(spec, "fit") and hasattr(spec, "transform")):
        raise TypeError(
            f"A frame feature must be a name or a transformer; got {type(spec).__name__}."
        )
    return clone(spec)


def _video_path(clip):
    video = getattr(clip, "video", clip)
    if video is None:
        raise ValueError(f"Clip {getattr(clip, 'id', clip)!r} has no video file.")
    return Path(video)


def _clip_name(clip):
    return getattr(clip, "id", None) or Path(clip).stem


def _spec_key(est):
    params = {k: (str(v) if isinstance(v, os.PathLike) else v) for k, v in est.get_params().items()}
    return [type(est).__module__, type(est).__qualname__, params]


def _n_features(transformer, crop_size):
    dummy_rgb = getattr(transformer, "_rgb", False)
    shape = (1, 150, 150, 3) if dummy_rgb else (1, crop_size, crop_size)
    fitted = clone(transformer).fit(np.zeros(shape, np.uint8))
    return int(fitted.n_features_out_)


def _extract_one(task):
    """Worker: faces (cached) then each feature (cached) for one video."""
    path, aligner, transformers, fps, max_frames, cache_dir = task
    cache = DiskCache(cache_dir) if cache_dir is not None else None
    t0 = time.perf_counter()
    faces_key = None
    if cache is not None:
        faces_key = make_key(
            "faces", __version__, file_sha256(path), _spec_key(aligner), fps, max_frames
        )
    aligned = cache.get(faces_key, None) if cache is not None else None
    faces_cached = aligned is not None
    if aligned is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # no-face warning: reported by caller
            faces, stats = align_video(path, aligner, fps=fps, max_frames=max_frames)
        aligned = {
            "faces": faces,
            "chips": stats.chips,
            "n_frames": int(stats.n_frames),
            "n_faces": int(stats.n_faces),
            "n_detections": int(stats.n_detections),
            "frame_indices": np.asarray(stats.frame_indices),
            "seconds": time.perf_counter() - t0,
        }
        if cache is not None:
            cache.put(faces_key, aligned)
    timings = {"align": 0.0 if faces_cached else aligned["seconds"]}
    features = {}
    for name, transformer in transformers.items():
        t1 = time.perf_counter()
        key = make_key("feature", faces_key, _spec_key(transformer)) if cache is not None else None
        value = cache.get(key, None) if cache is not None else None
        if value is None:
            source = aligned["chips"] if getattr(transformer, "_rgb", False) else aligned["faces"]
            if source is None:
                raise RuntimeError(f"{name} needs RGB face chips: use FaceAligner(chips=True).")
            value = np.ascontiguousarray(
                clone(transformer).fit(source).transform(source), dtype=np.float32
            )
            if cache is not None:
                cache.put(key, value)
            timings[name] = time.perf_counter() - t1
        else:
            timings[name] = 0.0
        features[name] = value
    meta = {k: aligned[k] for k in ("n_frames", "n_faces", "n_detections")}
    return {"features": features, "meta": meta, "timings": timings, "faces_cached": faces_cached}


def extract_image_sets(
    clips,
    features="hog",
    *,
    aligner=None,
    fps=None,
    max_frames=None,
    cache_dir=None,
    n_jobs=None,
    verbose=0,
    on_error="warn",
):
    """Turn video clips into image sets of per-frame face features.

    Parameters
    ----------
    clips : sequence of emoset.datasets.Clip or of video paths
    features : str, transformer, or a sequence / mapping of them, default="hog"
        One feature (the result is a list of sets) or several (a dict name -> list of sets,
        faces detected and aligned once for all). Names: see :func:`make_frame_features`.
    aligner : FaceAligner or None
        Default ``FaceAligner(64)``; chips for ``"faceid"`` are switched on as needed.
    fps : float or None
        Resample every video to this frame rate first (drop frames); None keeps all frames.
    max_frames : int or None
        Read at most this many frames per clip.
    cache_dir : str, path-like, True or None
        Folder of the content-keyed cache; ``True`` uses :func:`default_cache_dir`; ``None``
        computes everything afresh.
    n_jobs : int or None
        Clips processed in parallel (joblib; the backend is the caller's choice, e.g.
        ``with joblib.parallel_config(backend="dask"): ...``).
    verbose : int
        Progress bar when > 0.
    on_error : {"warn", "raise"}, default="warn"
        ``"warn"``: a clip that fails to decode gets an empty set, a ``UserWarning`` and its
        error in ``info["error"]``; ``"raise"``: the first failure raises (what finished is
        cached).

    Returns
    -------
    sets : list of ndarray of shape (n_faces_i, d), or dict name -> such a list
        float32. A clip with no face (or a failure) has an empty ``(0, d)`` set.
    info : pandas.DataFrame
        One row per clip, indexed by clip id: ``path``, ``n_frames``, ``n_faces``,
        ``face_rate``, ``n_detections``, ``seconds_align`` and ``seconds_<feature>`` (0 when
        read from the cache), ``cached`` (faces came from the cache) and ``error``.

    Raises
    ------
    ValueError
        If ``on_error`` is invalid or a feature name is unknown.
    emoset.media.MediaError
        With ``on_error="raise"``, the first clip that cannot be decoded.

    Examples
    --------
    >>> from emoset.datasets import load_cremad
    >>> clips = load_cremad(subsets=["native"])  # doctest: +SKIP
    >>> sets, info = extract_image_sets(clips, "hog", cache_dir=True)  # doctest: +SKIP
    >>> sets[0].shape, info["face_rate"].min()  # doctest: +SKIP
    ((68, 1764), 1.0)
    """
    import pandas as pd

    if on_error not in ("warn", "raise"):
        raise ValueError(f"on_error must be 'warn' or 'raise'; got {on_error!r}.")
    single = isinstance(features, str) or hasattr(features, "transform")
    if single:
        specs = {features if isinstance(features, str) else type(features).__name__: features}
    elif isinstance(features, Mapping):
        specs = dict(features)
    elif isinstance(features, Sequence):
        specs = {f if isinstance(f, str) else type(f).__name__: f for f in features}
    else:
        raise TypeError(
            f"features must be a name, a transformer, or a list or dict of them; "
            f"got {type(features).__name__}."
        )
    if not specs:
        raise ValueError("features is empty: name at least one frame feature.")
    transformers = {name: make_frame_features(spec) for name, spec in specs.items()}
    aligner = FaceAligner(64) if aligner is None else clone(aligner)
    if any(getattr(t, "_rgb", False) for t in transformers.values()) and not aligner.chips:
        aligner.set_params(chips=True)
    if cache_dir is True:
        cache_dir = default_cache_dir()
    cache_dir = None if cache_dir is None else str(Path(cache_dir) / "image_sets")
    clips = list(clips)
    names = [_clip_name(c) for c in clips]
    tasks = []
    for c in clips:
        tasks.append((_video_path(c), aligner, transformers, fps, max_frames, cache_dir))
    # each feature's width, known before any clip runs: a feature that cannot even be built
    # (e.g. missing CNN weights) fails here, at once, not after hours of extraction
    dims = {name: _n_features(t, aligner.crop_size) for name, t in transformers.items()}

    results, _ = parallel_map(
        _extract_one,
        tasks,
        n_jobs=n_jobs,
        verbose=verbose,
        desc="image sets",
        on_error="raise" if on_error == "raise" else "return",
    )
    sets = {name: [] for name in transformers}
    rows = []
    for clip_name, task, res in zip(names, tasks, results, strict=True):
        row = {
            "id": clip_name,
            "path": str(task[0]),
            "n_frames": 0,
            "n_faces": 0,
            "face_rate": 0.0,
            "n_detections": 0,
            "seconds_align": 0.0,
            "cached": False,
            "error": "",
        }
        if isinstance(res, Failure):
            if on_error == "raise":
                raise res.error
            warnings.warn(
                f"Clip {clip_name} ({task[0]}): {res.message}; it gets an empty image "
                "set (the video subsystems abstain for it).",
                UserWarning,
                stacklevel=2,
            )
            row["error"] = res.message
            for name in transformers:
                sets[name].append(np.zeros((0, dims[name]), np.float32))
                row[f"seconds_{name}"] = 0.0
        else:
            meta = res["meta"]
            row.update(
                meta,
                face_rate=meta["n_faces"] / meta["n_frames"] if meta["n_frames"] else 0.0,
                seconds_align=res["timings"]["align"],
                cached=res["faces_cached"],
            )
            for name in transformers:
                sets[name].append(res["features"][name])
                row[f"seconds_{name}"] = res["timings"][name]
            if meta["n_faces"] == 0:
                warnings.warn(
                    f"Clip {clip_name} ({task[0]}): no face found in "
                    f"{meta['n_frames']} frame(s); it gets an empty image set (the "
                    "video subsystems abstain for it).",
                    UserWarning,
                    stacklevel=2,
                )
        rows.append(row)
    info = pd.DataFrame(rows).set_index("id")
    n_fail = int((info["error"] != "").sum())
    logger.info(
        "Extracted %d clips (%d from cache, %d failed); median face rate %.3f",
        len(info),
        int(info["cached"].sum()),
        n_fail,
        float(info["face_rate"].median()) if len(info) else float("nan"),
    )
    if single:
        return sets[next(iter(sets))], info
    return sets, info
