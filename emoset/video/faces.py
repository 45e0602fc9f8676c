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
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from ..io.media import iter_frames
from ..utils.messages import warn_caller
from ._shapes import similarity_transform
from .tracking import (
    CHIP_SIZE,
    AlignStats,
    FaceTrack,
    TrackedFace,
    _AlignerBlocks,
    _check_frame,
    find_face_model,
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


class FaceAligner(_AlignerBlocks, BaseEstimator):
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

    def detect(self, gray):
        """Largest face box ``(left, top, right, bottom)`` in a grayscale frame, or None."""
        self._check_params()
        gray = _check_frame(gray, 0, None)[0]
        return self._detect(gray)

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
