"""From clips to image sets: decode, align faces, compute frame features — cached and parallel.

:func:`extract_image_sets` runs :func:`emoset.video.faces.align_video` and then one or several frame
feature transformers on every clip, in parallel with joblib, and returns one ``(n_faces_i, d)``
array per clip (an *image set*) with a table of what happened to each clip.
:class:`ImageSetFeatures` is the same work as a scikit-learn transformer (clips in, image sets
out): the first step of every video subsystem's Pipeline, as :class:`~emoset.audio.features.OpenSmileFeatures`
is for audio.

Caching is two-level and keyed by content: the aligned faces of a clip are stored under the
SHA-256 of the video file plus the aligner's parameters, and each feature under the faces' key
plus the transformer's class and parameters (and the emoset version). A grid search over
features or set models therefore never detects a face twice, and renaming or moving a corpus
keeps its cache. Every entry is written atomically as soon as the clip is done, so an
interrupted run resumes where it stopped, losing nothing. Entries hold arrays and JSON only
(``emoset.utils.cache.DiskCache``): nothing read from the cache can run code.

A clip that cannot be decoded, or has no face at all, gives an empty set and its reason in the
``info`` table: one bad clip never stops a batch, and one summarised warning per call says how
many clips gave nothing.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from .._version import __version__
from ..io.errors import MediaError, TruncationWarning
from ..utils.cache import DiskCache, Failure, default_cache_dir, file_sha256, make_key, parallel_map
from ..utils.messages import summarise, warn_caller
from ..utils.setnames import name_sets
from .cnn_features import EmotionCNN, FaceDescriptor
from .faces import FaceAligner, align_video
from .frame_features import HOG, LBP, DenseSIFT, Landmarks, Mirrored

__all__ = [
    "FRAME_FEATURES",
    "ImageSetFeatures",
    "extract_image_sets",
    "make_frame_features",
]

logger = logging.getLogger(__name__)

#: Frame features by name: what :func:`make_frame_features` builds.
FRAME_FEATURES = {
    "densesift": lambda: DenseSIFT(),
    "hog": lambda: HOG(),
    "lbp": lambda: LBP(),
    "cnn": lambda: EmotionCNN(output="features"),
    "cnn_scores": lambda: EmotionCNN(output="scores"),
    "faceid": lambda: FaceDescriptor(every=5, hold=True),
    "landmarks": lambda: Landmarks(),
}

#: Prefix of a mirrored frame feature's name (``"mirrored-cnn"``: see :class:`Mirrored`).
MIRRORED = "mirrored-"


def make_frame_features(spec):
    """A frame-feature transformer from a name or an instance.

    Parameters
    ----------
    spec : str or transformer
        One of :data:`FRAME_FEATURES` (``"densesift"``, ``"hog"``, ``"lbp"``, ``"cnn"`` — the
        mini-Xception's 128-D penultimate activations, ``"cnn_scores"`` — its 7 class scores,
        ``"faceid"`` — dlib's 128-D face descriptor on every 5th frame, held, ``"landmarks"`` —
        the normalised 68 aligned points and their frame-to-frame differences; any of these
        prefixed ``"mirrored-"`` computes it on the mirrored faces), or a transformer with
        ``fit``/``transform`` on ``(n, h, w)`` uint8 faces (or on aligned landmarks
        ``(n, 68, 2)`` when its ``input_kind`` is ``"landmarks"``).

    Returns
    -------
    transformer : estimator (a new, unfitted one)
    """
    if isinstance(spec, str):
        if spec.startswith(MIRRORED) and spec[len(MIRRORED) :] in FRAME_FEATURES:
            return Mirrored(FRAME_FEATURES[spec[len(MIRRORED) :]]())
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
    """The clip's video file, or None for an audio-only clip."""
    video = getattr(clip, "video", clip)
    return None if video is None else Path(video)


#: The reason an audio-only clip has no image set.
NO_VIDEO = "no video (an audio-only clip)"


class NoVideoError(ValueError):
    """The clip has no video file (an audio-only clip): no image set, no error of decoding."""


def clip_name(clip):
    """A clip's name for tables and messages: ``Clip.id``, else the file's stem."""
    return getattr(clip, "id", None) or Path(getattr(clip, "video", None) or clip).stem


def _spec_key(est):
    params = {k: (str(v) if isinstance(v, os.PathLike) else v) for k, v in est.get_params().items()}
    return [type(est).__module__, type(est).__qualname__, params]


def _uses_rgb(transformer):
    return getattr(transformer, "input_color", "gray") == "rgb"


def _uses_landmarks(transformer):
    return getattr(transformer, "input_kind", "faces") == "landmarks"


def _n_features(transformer, crop_size, n_points=68):
    if _uses_landmarks(transformer):
        points = np.random.default_rng(0).uniform(0, crop_size, (2, n_points, 2))
        return int(clone(transformer).fit(points).n_features_out_)
    shape = (1, 150, 150, 3) if _uses_rgb(transformer) else (1, crop_size, crop_size)
    fitted = clone(transformer).fit(np.zeros(shape, np.uint8))
    return int(fitted.n_features_out_)


def _check_faces(record):
    faces = record["faces"]
    return (
        faces.dtype == np.uint8
        and faces.ndim == 3
        and len(faces) == record["n_faces"]
        and (record["chips"] is None or len(record["chips"]) == len(faces))
    )


def _feature_check(n_faces, dim):
    def check(record):
        values = record["values"]
        return values.dtype == np.float32 and values.shape == (n_faces, dim)

    return check


def _align(path, aligner, fps, max_frames, allow_partial):
    t0 = time.perf_counter()
    options = dict(fps=fps, max_frames=max_frames, allow_partial=allow_partial)
    partial = None
    if allow_partial:  # a truncated file is used as far as it decodes, and the numbers kept
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TruncationWarning)
            faces, stats = align_video(path, aligner, **options, warn_no_face=False)
        checks = [w.message.check for w in caught if issubclass(w.category, TruncationWarning)]
        partial = "; ".join(c.reason for c in checks) or None
    else:  # the caller summarises clips without a face once
        faces, stats = align_video(path, aligner, **options, warn_no_face=False)
    return {
        "faces": faces,
        "chips": stats.chips,
        "landmarks": stats.aligned_landmarks.astype(np.float32),
        "n_frames": int(stats.n_frames),
        "n_faces": int(stats.n_faces),
        "n_detections": int(stats.n_detections),
        "frame_indices": np.asarray(stats.frame_indices, dtype=np.int64),
        "partial": partial,
        "seconds": time.perf_counter() - t0,
    }


def _extract_one(task):
    """Worker: faces (cached) then each feature (cached) for one video."""
    path, aligner, transformers, dims, options, cache_dir = task
    fps, max_frames, allow_partial = options
    cache = DiskCache(cache_dir) if cache_dir is not None else None
    faces_key = None
    aligned = None
    if cache is not None:
        faces_key = make_key(
            "faces",
            __version__,
            file_sha256(path),
            _spec_key(aligner),
            fps,
            max_frames,
            allow_partial,
        )
        aligned = cache.get(faces_key, None, check=_check_faces)
    if (
        aligned is not None
        and any(_uses_landmarks(t) for t in transformers.values())
        and aligned.get("landmarks") is None
    ):
        aligned = None  # cached by an emoset that did not keep the aligned landmarks
    faces_cached = aligned is not None
    if aligned is None:
        aligned = _align(path, aligner, fps, max_frames, allow_partial)
        if cache is not None:
            cache.put(faces_key, aligned)
    timings = {"align": 0.0 if faces_cached else aligned["seconds"]}
    features = {}
    for name, transformer in transformers.items():
        t1 = time.perf_counter()
        key = make_key("feature", faces_key, _spec_key(transformer)) if cache is not None else None
        check = _feature_check(aligned["n_faces"], dims[name])
        record = cache.get(key, None, check=check) if cache is not None else None
        if record is None:
            if _uses_landmarks(transformer):
                source = aligned["landmarks"]
            else:
                source = aligned["chips"] if _uses_rgb(transformer) else aligned["faces"]
            if source is None:
                raise RuntimeError(f"{name} needs RGB face chips: use FaceAligner(chips=True).")
            values = np.ascontiguousarray(
                clone(transformer).fit(source).transform(source), dtype=np.float32
            )
            if cache is not None:
                cache.put(key, {"values": values})
            timings[name] = time.perf_counter() - t1
        else:
            values = record["values"]
            timings[name] = 0.0
        features[name] = values
    meta = {k: aligned[k] for k in ("n_frames", "n_faces", "n_detections")}
    meta["partial"] = aligned.get("partial")
    return {"features": features, "meta": meta, "timings": timings, "faces_cached": faces_cached}


def _feature_specs(features):
    """``(name -> spec, single)`` from the ``features`` argument of :func:`extract_image_sets`."""
    if isinstance(features, str) or hasattr(features, "transform"):
        name = features if isinstance(features, str) else type(features).__name__
        return {name: features}, True
    if isinstance(features, Mapping):
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
    return specs, False


def _row(name, path, result, feature_names):
    row = {
        "id": name,
        "path": str(path),
        "n_frames": 0,
        "n_faces": 0,
        "face_rate": 0.0,
        "n_detections": 0,
        "seconds_align": 0.0,
        "cached": False,
        "error": "",
        "partial": "",
    }
    if isinstance(result, Failure):
        error = result.error
        row["error"] = (
            str(error) if isinstance(error, (MediaError, NoVideoError)) else result.message
        )
        row.update({f"seconds_{f}": 0.0 for f in feature_names})
        return row
    meta = result["meta"]
    row.update(
        {**meta, "partial": meta["partial"] or ""},
        face_rate=meta["n_faces"] / meta["n_frames"] if meta["n_frames"] else 0.0,
        seconds_align=result["timings"]["align"],
        cached=result["faces_cached"],
    )
    row.update({f"seconds_{f}": result["timings"][f] for f in feature_names})
    return row


def no_set_reason(row):
    """Why a clip of an ``info`` table has no image set (``""`` when it has one).

    Parameters
    ----------
    row : mapping
        A row of the ``info`` table of :func:`extract_image_sets`.

    Returns
    -------
    reason : str
    """
    if row["error"]:
        return row["error"]
    if row["n_faces"] == 0:
        return f"no face found in {row['n_frames']} frame(s)"
    return ""


def extract_image_sets(
    clips,
    features="hog",
    *,
    aligner=None,
    fps=None,
    max_frames=None,
    allow_partial=False,
    cache_dir=None,
    n_jobs=None,
    verbose=0,
    on_error="warn",
):
    """Turn video clips into image sets of per-frame face features.

    Parameters
    ----------
    clips : sequence of emoset.datasets.corpora.Clip or of video paths
    features : str, transformer, or a sequence / mapping of them, default="hog"
        One feature (the result is a list of sets) or several (a dict name -> list of sets,
        faces detected and aligned once for all). Names: see :func:`make_frame_features`.
    aligner : FaceAligner or None
        Default ``FaceAligner(64)``; chips for ``"faceid"`` are switched on as needed.
    fps : float or None
        Resample every video to this frame rate first (drop frames); None keeps all frames.
    max_frames : int or None
        Read at most this many frames per clip.
    allow_partial : bool, default=False
        Use what decodes of a truncated video (see :func:`emoset.io.media.iter_frames`) instead of
        counting the clip as failed.
    cache_dir : str, path-like, True or None
        Folder of the content-keyed cache; ``True`` uses :func:`!emoset.utils.cache.default_cache_dir`;
        ``None`` computes everything afresh.
    n_jobs : int or None
        Clips processed in parallel (joblib; the backend is the caller's choice, e.g.
        ``with joblib.parallel_config(backend="dask"): ...``).
    verbose : int
        Progress bar when > 0.
    on_error : {"warn", "raise"}, default="warn"
        ``"warn"``: a clip that fails to decode gets an empty set and its error in
        ``info["error"]``, and one ``UserWarning`` per call lists the clips that gave no set;
        ``"raise"``: the first failure raises (what finished is cached).

    Returns
    -------
    sets : list of ndarray of shape (n_faces_i, d), or dict name -> such a list
        float32. A clip with no face (or a failure) has an empty ``(0, d)`` set.
    info : pandas.DataFrame
        One row per clip, indexed by clip id: ``path``, ``n_frames``, ``n_faces``,
        ``face_rate``, ``n_detections``, ``seconds_align`` and ``seconds_<feature>`` (0 when
        read from the cache), ``cached`` (faces came from the cache), ``error`` (why a clip
        gave nothing) and ``partial`` (with ``allow_partial``, e.g. "truncated: decoded 0.7 s
        of 2.3 s" for a clip used as far as it decoded).

    Raises
    ------
    ValueError
        If ``on_error`` is invalid or a feature name is unknown.
    emoset.io.errors.MediaError
        With ``on_error="raise"``, the first clip that cannot be decoded.

    Examples
    --------
    >>> from emoset.datasets.corpora import load_cremad
    >>> clips = load_cremad(subsets=["native"])  # doctest: +SKIP
    >>> sets, info = extract_image_sets(clips, "hog", cache_dir=True)  # doctest: +SKIP
    >>> sets[0].shape, info["face_rate"].min()  # doctest: +SKIP
    ((68, 1764), 1.0)
    """
    sets, info, single = _extract(
        clips,
        features,
        aligner=aligner,
        options=(fps, max_frames, bool(allow_partial)),
        cache_dir=cache_dir,
        n_jobs=n_jobs,
        verbose=verbose,
        on_error=on_error,
    )
    _warn_no_sets(info)
    return (sets[next(iter(sets))] if single else sets), info


def _extract(clips, features, *, aligner, options, cache_dir, n_jobs, verbose, on_error):
    import pandas as pd

    if on_error not in ("warn", "raise"):
        raise ValueError(f"on_error must be 'warn' or 'raise'; got {on_error!r}.")
    specs, single = _feature_specs(features)
    transformers = {name: make_frame_features(spec) for name, spec in specs.items()}
    aligner = FaceAligner(64) if aligner is None else clone(aligner)
    if any(_uses_rgb(t) for t in transformers.values()) and not aligner.chips:
        aligner.set_params(chips=True)
    if cache_dir is True:
        cache_dir = default_cache_dir()
    cache_dir = None if cache_dir is None else str(Path(cache_dir) / "image_sets")
    clips = list(clips)
    # each feature's width, known before any clip runs: a feature that cannot even be built
    # (e.g. a missing model file) fails here, at once, not after hours of extraction
    dims = {
        name: _n_features(t, aligner.crop_size, int(aligner.landmarks))
        for name, t in transformers.items()
    }
    paths = [_video_path(c) for c in clips]
    todo = [i for i, p in enumerate(paths) if p is not None]
    tasks = [(paths[i], aligner, transformers, dims, options, cache_dir) for i in todo]
    done, _ = parallel_map(
        _extract_one,
        tasks,
        n_jobs=n_jobs,
        verbose=verbose,
        desc="image sets",
        on_error="raise" if on_error == "raise" else "return",
    )
    results = [Failure(i, NoVideoError(NO_VIDEO)) for i in range(len(clips))]
    for i, res in zip(todo, done, strict=True):
        results[i] = res
    sets = {name: [] for name in transformers}
    rows = []
    for clip, path, res in zip(clips, paths, results, strict=True):
        rows.append(_row(clip_name(clip), path or "", res, list(transformers)))
        for name in transformers:
            if isinstance(res, Failure):
                sets[name].append(np.zeros((0, dims[name]), np.float32))
            else:
                sets[name].append(res["features"][name])
    info = pd.DataFrame(rows).set_index("id")
    for name, t in transformers.items():  # set models name the clip of a set in their warnings
        mirrored = isinstance(t, Mirrored)
        name_sets(sets[name], [f"{i} (mirrored)" if mirrored else i for i in info.index])
    logger.info(
        "Extracted %d clips (%d from cache, %d failed); median face rate %.3f",
        len(info),
        int(info["cached"].sum()),
        int((info["error"] != "").sum()),
        float(info["face_rate"].median()) if len(info) else float("nan"),
    )
    return sets, info, single


def _warn_no_sets(info):
    empty = [f"{i} ({no_set_reason(r)})" for i, r in info.iterrows() if no_set_reason(r)]
    if empty:
        warn_caller(
            f"{len(empty)} of {len(info)} clips gave no image set (the video subsystems "
            f"abstain for them): {summarise(empty)}."
        )


class ImageSetFeatures(TransformerMixin, BaseEstimator):
    """Clips -> image sets: decode, align the face of every frame, compute a frame feature.

    The first step of a video subsystem's Pipeline (``clips -> ImageSetFeatures ->
    classifier``), as :class:`~emoset.audio.features.OpenSmileFeatures` is for audio. Extraction is
    stateless (``fit`` learns nothing from the clips), parallel and cached by content (see the
    module docstring).

    Parameters
    ----------
    feature : str or transformer, default="cnn"
        A frame feature name (see :func:`make_frame_features`) or a transformer.
    aligner : FaceAligner or None
        Default ``FaceAligner(64)``.
    fps : float or None
        Resample the videos to this frame rate first.
    max_frames : int or None
        Read at most this many frames per clip.
    allow_partial : bool, default=False
        Use what decodes of a truncated video instead of treating the clip as unreadable.
    cache_dir : str, path-like, True or None
        Content-keyed feature cache; ``True``: the default cache folder.
    n_jobs : int or None
        Clips processed in parallel.
    verbose : int
        Progress bar when > 0.

    Attributes
    ----------
    n_features_out_ : int
        Width ``d`` of every frame's feature vector.
    feature_name_ : str
        The feature's name (or its class name for a transformer).

    Examples
    --------
    >>> from emoset.datasets.corpora import load_cremad
    >>> clips = load_cremad(subsets=["native"])  # doctest: +SKIP
    >>> sets = ImageSetFeatures("hog", cache_dir=True).fit_transform(clips)  # doctest: +SKIP
    >>> sets[0].shape  # doctest: +SKIP
    (68, 1764)
    """

    def __init__(
        self,
        feature="cnn",
        *,
        aligner=None,
        fps=None,
        max_frames=None,
        allow_partial=False,
        cache_dir=None,
        n_jobs=None,
        verbose=0,
    ):
        self.feature = feature
        self.aligner = aligner
        self.fps = fps
        self.max_frames = max_frames
        self.allow_partial = allow_partial
        self.cache_dir = cache_dir
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X=None, y=None):
        """Check the parameters and the feature's width; nothing is learnt from the clips.

        Parameters
        ----------
        X : list of clips, optional
            Ignored.
        y : ignored

        Returns
        -------
        self : ImageSetFeatures
        """
        transformer = make_frame_features(self.feature)
        aligner = FaceAligner(64) if self.aligner is None else self.aligner
        self.n_features_out_ = _n_features(transformer, aligner.crop_size, int(aligner.landmarks))
        self.feature_name_ = (
            self.feature if isinstance(self.feature, str) else (type(self.feature).__name__)
        )
        return self

    def extract(self, X):
        """Image sets and the per-clip table of what happened.

        Parameters
        ----------
        X : list of Clip records or video paths

        Returns
        -------
        sets : list of ndarray of shape (n_faces_i, ``n_features_out_``)
            An empty ``(0, d)`` set for a clip without a face or an unreadable video.
        info : pandas.DataFrame
            As returned by :func:`extract_image_sets`.
        """
        check_is_fitted(self)
        if isinstance(X, (str, os.PathLike)):
            raise TypeError(
                f"X must be a list of clips (Clip records or video paths), not a single path; "
                f"got {X!r}. Wrap it in a list."
            )
        sets, info, _ = _extract(
            X,
            {self.feature_name_: self.feature},
            aligner=self.aligner,
            options=(self.fps, self.max_frames, bool(self.allow_partial)),
            cache_dir=self.cache_dir,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            on_error="warn",
        )
        return sets[self.feature_name_], info

    def mirrored(self):
        """This step on the horizontally mirrored faces (for mirror augmentation).

        A copy whose frame feature is the mirror of this one's: ``"cnn"`` <-> ``"mirrored-cnn"``,
        a transformer ``T`` <-> ``Mirrored(T)`` (see :class:`~emoset.video.frame_features.Mirrored`).
        Aligner, frame rate and cache are the same, so a clip's faces are aligned once and its
        mirrored features are cached beside the originals.

        Returns
        -------
        step : ImageSetFeatures
            A new, unfitted step.

        Raises
        ------
        ValueError
            If the feature is a name that has no mirrored form.

        Examples
        --------
        >>> ImageSetFeatures("cnn").mirrored().feature
        'mirrored-cnn'
        """
        feature = self.feature
        if isinstance(feature, str):
            if feature.startswith(MIRRORED):
                feature = feature[len(MIRRORED) :]
            else:
                feature = MIRRORED + feature
            make_frame_features(feature)  # an unknown name fails here, before any extraction
        elif isinstance(feature, Mirrored):
            feature = feature.transformer
        else:
            feature = Mirrored(feature)
        return clone(self).set_params(feature=feature)

    def make_aligner(self):
        """The face aligner of this step (RGB chips switched on when the feature needs them).

        What :meth:`extract` aligns faces with, for callers that feed frames one at a time
        (:class:`~emoset.video.faces.FaceTrack`, :mod:`emoset.recognizer.timeline`).

        Returns
        -------
        aligner : FaceAligner
            A new instance.
        """
        check_is_fitted(self)
        aligner = FaceAligner(64) if self.aligner is None else clone(self.aligner)
        if _uses_rgb(make_frame_features(self.feature)) and not aligner.chips:
            aligner.set_params(chips=True)
        return aligner

    def frame_featurizer(self):
        """A function from aligned faces to this step's frame-feature rows.

        The per-frame half of :meth:`extract` (whose image set of a clip is these rows for all
        its faces), for callers that align faces themselves (:mod:`emoset.recognizer.timeline`). The frame
        transformer is built and fitted once, when this is called.

        Returns
        -------
        featurize : callable
            ``featurize(faces, chips=None, landmarks=None) -> ndarray of shape (n,
            n_features_out_)``, float32; ``faces`` are ``(n, s, s)`` uint8 aligned faces,
            ``chips`` the ``(n, 150, 150, 3)`` RGB chips and ``landmarks`` the ``(n, 68, 2)``
            aligned landmarks (used instead of the faces by features that need them).
        """
        check_is_fitted(self)
        transformer = make_frame_features(self.feature)
        aligner = self.make_aligner()
        rgb, points = _uses_rgb(transformer), _uses_landmarks(transformer)
        if points:
            warm = np.zeros((1, int(aligner.landmarks), 2), np.float32)
        elif rgb:
            warm = np.zeros((1, 150, 150, 3), np.uint8)
        else:
            warm = np.zeros((1, aligner.crop_size, aligner.crop_size), np.uint8)
        transformer.fit(warm)
        dim = int(self.n_features_out_)

        def featurize(faces, chips=None, landmarks=None):
            source = landmarks if points else chips if rgb else faces
            if source is None:
                needs = "aligned landmarks" if points else "RGB face chips"
                raise RuntimeError(f"{self.feature_name_} needs {needs}.")
            if len(source) == 0:
                return np.zeros((0, dim), np.float32)
            return np.ascontiguousarray(transformer.transform(source), dtype=np.float32)

        return featurize

    def transform(self, X):
        """One image set per clip (see :meth:`extract`); one warning lists clips without one.

        Parameters
        ----------
        X : list of Clip records or video paths

        Returns
        -------
        sets : list of ndarray of shape (n_faces_i, ``n_features_out_``)
        """
        sets, info = self.extract(X)
        _warn_no_sets(info)
        return sets

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
