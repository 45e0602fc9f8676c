"""From clips to image sets: decode, align faces, compute frame features — cached and parallel.

:func:`extract_image_sets` runs :func:`emoset.video.people.align_people` and then one or several frame
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
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..io.errors import MediaError
from ..utils.cache import Failure, default_cache_dir, parallel_map
from ..utils.messages import shown, summarise, warn_caller
from ..utils.setnames import name_sets
from ..utils.validation import check_int, check_positive
from ._clip import _extract_one, _uses_landmarks, _uses_rgb
from .clip_faces import DEFAULT_ALIGNER
from .cnn_features import EmotionCNN, FaceDescriptor
from .faces import FaceAligner
from .frame_features import HOG, LBP, DenseSIFT, Landmarks, Mirrored, _FrameTransformer
from .people import PeopleTracker

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


def _audio_path(clip):
    """The clip's own audio file when it has one beside its video (else its video's sound)."""
    audio = getattr(clip, "audio", None)
    return None if audio is None else Path(audio)


#: The reason an audio-only clip has no image set.
NO_VIDEO = "no video (an audio-only clip)"


class NoVideoError(ValueError):
    """The clip has no video file (an audio-only clip): no image set, no error of decoding."""


def clip_name(clip):
    """A clip's name for tables and messages: ``Clip.id``, else the file's stem (printable)."""
    return shown(getattr(clip, "id", None) or Path(getattr(clip, "video", None) or clip).stem)


def _n_features(transformer, crop_size, n_points=68):
    if _uses_landmarks(transformer):
        points = np.random.default_rng(0).uniform(0, crop_size, (2, n_points, 2))
        return int(clone(transformer).fit(points).n_features_out_)
    shape = (1, 150, 150, 3) if _uses_rgb(transformer) else (1, crop_size, crop_size)
    fitted = clone(transformer).fit(np.zeros(shape, np.uint8))
    return int(fitted.n_features_out_)


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
        "path": shown(path),
        "n_frames": 0,
        "n_faces": 0,
        "face_rate": 0.0,
        "n_detections": 0,
        "seconds_align": 0.0,
        "cached": False,
        "error": "",
        "partial": "",
        "n_people": 0,
        "person": "",
    }
    if isinstance(result, Failure):
        error = result.error
        row["error"] = (
            str(error) if isinstance(error, (MediaError, NoVideoError)) else result.message
        )
        row.update({f"seconds_{f}": 0.0 for f in feature_names})
        return row
    meta = result["meta"]
    people = result["people"]
    if people["main"] >= 0:
        row["n_people"] = len(people["people"])
        row["person"] = people["people"][people["main"]]["person"]
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
        if not row["n_frames"]:
            return "no video frame"
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
    min_face_size=None,
    identity_threshold=0.5,
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
    min_face_size : int or None, default=None
        Smallest face to track (pixels; smaller ones are counted, not tracked); the frame is
        upsampled for detection when it is below dlib's 80 px. ``None``: what the aligner
        finds. See :class:`~emoset.video.people.PeopleTracker`.
    identity_threshold : float, default=0.5
        Largest face-descriptor distance for two tracks to be one person.
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
        gave nothing), ``partial`` (with ``allow_partial``, e.g. "truncated: decoded 0.7 s
        of 2.3 s" for a clip used as far as it decoded), ``n_people`` (people tracked in the
        clip) and ``person`` (the one whose image set this is: the person seen longest).

    Raises
    ------
    ValueError
        If ``on_error`` is invalid or a feature name is unknown.
    emoset.io.errors.MediaError
        With ``on_error="raise"``, the first clip that cannot be decoded.

    Examples
    --------
    >>> from emoset.datasets.corpora import load_cremad
    >>> clips = load_cremad(subsets=["native"])[:2]
    >>> sets, info = extract_image_sets(clips, "hog", fps=10, cache_dir=True)
    >>> sets[0].shape, float(info["face_rate"].min())
    ((23, 1764), 1.0)
    """
    sets, info, single, _ = _extract(
        clips,
        features,
        aligner=aligner,
        options=(fps, max_frames, bool(allow_partial), _people(min_face_size, identity_threshold)),
        cache_dir=cache_dir,
        n_jobs=n_jobs,
        verbose=verbose,
        on_error=on_error,
    )
    _warn_no_sets(info)
    return (sets[next(iter(sets))] if single else sets), info


def _people(min_face_size, identity_threshold):
    """The people tracker's parameters (see :class:`~emoset.video.people.PeopleTracker`),
    checked here: a bad one fails at once, not in every worker."""
    PeopleTracker(FaceAligner(), min_face_size=min_face_size, identity_threshold=identity_threshold)
    return {"min_face_size": min_face_size, "identity_threshold": identity_threshold}


def _extract(
    clips,
    features,
    *,
    aligner,
    options,
    cache_dir,
    n_jobs,
    verbose,
    on_error,
    by_person=False,
    dims=None,
):
    """``(sets, info, single, people)``: the main person's image set of each clip (with
    ``by_person``: a list of every person's), the table, and each clip's people (or None).
    ``dims``: each feature's width known to a fitted step: taken for emoset's frame features
    (whose parameters, a model file's presence included, are checked again), found here for
    the others (a mirrored or another transformer is built and fitted on a blank face)."""
    import pandas as pd

    if on_error not in ("warn", "raise"):
        raise ValueError(f"on_error must be 'warn' or 'raise'; got {on_error!r}.")
    specs, single = _feature_specs(features)
    transformers = {name: make_frame_features(spec) for name, spec in specs.items()}
    aligner = FaceAligner(**DEFAULT_ALIGNER) if aligner is None else clone(aligner)
    if any(_uses_rgb(t) for t in transformers.values()) and not aligner.chips:
        aligner.set_params(chips=True)
    if cache_dir is True:
        cache_dir = default_cache_dir()
    cache_dir = None if cache_dir is None else str(Path(cache_dir) / "image_sets")
    clips = list(clips)
    # each feature's width, known before any clip runs: a feature that cannot even be built
    # (e.g. a missing model file) fails here, at once, not after hours of extraction
    known, dims = dims or {}, {}
    for name, t in transformers.items():
        if name in known and isinstance(t, _FrameTransformer):
            t._validate_params()  # a fitted step's width: its parameters checked again
            dims[name] = known[name]
        else:
            dims[name] = _n_features(t, aligner.crop_size, int(aligner.landmarks))
    paths = [_video_path(c) for c in clips]
    todo = [i for i, p in enumerate(paths) if p is not None]
    tasks = [
        (paths[i], _audio_path(clips[i]), aligner, transformers, dims, options, cache_dir)
        for i in todo
    ]
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
    rows, people = [], []
    for clip, path, res in zip(clips, paths, results, strict=True):
        rows.append(_row(clip_name(clip), path or "", res, list(transformers)))
        people.append(None if isinstance(res, Failure) else res["people"])
        for name in transformers:
            empty = np.zeros((0, dims[name]), np.float32)
            if isinstance(res, Failure):
                sets[name].append([] if by_person else empty)
                continue
            values, who = res["features"][name], res["people"]["person"]
            if by_person:
                sets[name].append([values[who == k] for k in range(len(res["people"]["people"]))])
            else:
                main = res["people"]["main"]
                sets[name].append(values[who == main] if main >= 0 else empty)
    info = pd.DataFrame(rows).set_index("id")
    for name, t in transformers.items():  # set models name the clip of a set in their warnings
        mirrored = isinstance(t, Mirrored)
        if not by_person:
            name_sets(sets[name], [f"{i} (mirrored)" if mirrored else i for i in info.index])
    audio_only = info["error"] == NO_VIDEO  # nothing to extract: not a failure
    logger.info(
        "Extracted %d clips (%d from cache, %d failed%s); median face rate %.3f",
        int((~audio_only).sum()),
        int(info["cached"][~audio_only].sum()),
        int(((info["error"] != "") & ~audio_only).sum()),
        f", {int(audio_only.sum())} audio-only skipped" if audio_only.any() else "",
        float(info["face_rate"][~audio_only].median()) if (~audio_only).any() else float("nan"),
    )
    return sets, info, single, people


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
    min_face_size : int or None, default=None
        Smallest face to track (pixels; smaller ones are counted, not tracked); the frame is
        upsampled for detection when it is below dlib's 80 px. ``None``: what the aligner
        finds. See :class:`~emoset.video.people.PeopleTracker`.
    identity_threshold : float, default=0.5
        Largest face-descriptor distance for two tracks to be one person.
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
    >>> clips = load_cremad(subsets=["native"])[:2]
    >>> sets = ImageSetFeatures("hog", fps=10, cache_dir=True).fit_transform(clips)
    >>> sets[0].shape
    (23, 1764)
    """

    def __init__(
        self,
        feature="cnn",
        *,
        aligner=None,
        fps=None,
        max_frames=None,
        allow_partial=False,
        min_face_size=None,
        identity_threshold=0.5,
        cache_dir=None,
        n_jobs=None,
        verbose=0,
    ):
        self.feature = feature
        self.aligner = aligner
        self.fps = fps
        self.max_frames = max_frames
        self.allow_partial = allow_partial
        self.min_face_size = min_face_size
        self.identity_threshold = identity_threshold
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
        owner = type(self).__name__
        if self.min_face_size is not None:
            check_int(self.min_face_size, "min_face_size", min_val=1, owner=owner)
        check_positive(self.identity_threshold, "identity_threshold", owner=owner)
        transformer = make_frame_features(self.feature)
        aligner = FaceAligner(**DEFAULT_ALIGNER) if self.aligner is None else self.aligner
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
        sets, info, _ = self._run(X, by_person=False)
        return sets, info

    def extract_people(self, X):
        """Every person's image set of each clip, and who they are.

        Parameters
        ----------
        X : list of Clip records or video paths

        Returns
        -------
        sets : list of list of ndarray
            Per clip, one ``(n_faces, n_features_out_)`` set per person, in the order of
            ``people`` (empty for a clip without a face or an unreadable video).
        info : pandas.DataFrame
            As returned by :func:`extract_image_sets` (its ``person`` is the main person).
        people : list of dict or None
            Per clip (``None`` when it could not be read): ``people`` (one dict per person:
            ``person``, ``start``, ``end``, ``n_frames``, ``speaking``, ``box``), ``main``,
            ``speech``, ``off_screen`` and ``turns`` (see
            :func:`~emoset.video.people.summarise_people`).
        """
        sets, info, people = self._run(X, by_person=True)
        people = [
            None
            if p is None
            else {k: p[k] for k in ("people", "main", "speech", "off_screen", "turns")}
            for p in people
        ]
        return sets, info, people

    def _run(self, X, *, by_person):
        check_is_fitted(self)
        if isinstance(X, (str, os.PathLike)):
            raise TypeError(
                f"X must be a list of clips (Clip records or video paths), not a single path; "
                f"got {X!r}. Wrap it in a list."
            )
        sets, info, _, people = _extract(
            X,
            {self.feature_name_: self.feature},
            aligner=self.aligner,
            options=self._options(),
            cache_dir=self.cache_dir,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            on_error="warn",
            by_person=by_person,
            dims={self.feature_name_: int(self.n_features_out_)},  # its feature built in fit
        )
        return sets[self.feature_name_], info, people

    def _options(self):
        people = _people(self.min_face_size, self.identity_threshold)
        return (self.fps, self.max_frames, bool(self.allow_partial), people)

    def make_people_tracker(self, *, source=None):
        """A :class:`~emoset.video.people.PeopleTracker` with this step's settings.

        For callers that feed frames one at a time (:mod:`emoset.recognizer.timeline` with
        ``people=True``).

        Returns
        -------
        tracker : PeopleTracker
        """
        return PeopleTracker(
            self.make_aligner(),
            source=source,
            **_people(self.min_face_size, self.identity_threshold),
        )

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
        aligner = FaceAligner(**DEFAULT_ALIGNER) if self.aligner is None else clone(self.aligner)
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
