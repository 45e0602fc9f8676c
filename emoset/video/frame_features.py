"""Per-frame features of aligned faces: one image set in, one ``(n_frames, d)`` array out.

Every transformer takes the aligned faces of one clip, a uint8 array of shape
``(n_frames, h, w)`` as made by :class:`emoset.video.faces.FaceAligner` (``FaceDescriptor`` takes
the RGB chips ``(n_frames, 150, 150, 3)``), and returns a float32 array ``(n_frames, d)``.
A list of such arrays (several clips) gives a list of feature arrays. An empty set
``(0, h, w)`` gives ``(0, d)``.

This module holds the shared input checks and base class, the hand-crafted descriptors and
the geometry of the face:

* :class:`DenseSIFT` -- SIFT descriptors [1]_ on a dense grid (OpenCV).
* :class:`HOG` -- histograms of oriented gradients [2]_ (``cv2.HOGDescriptor``).
* :class:`LBP` -- uniform local binary pattern histograms [3]_ over a grid of cells.
* :class:`Landmarks` -- facial geometry from the 68 aligned landmarks (it reads the points,
  ``(n_frames, 68, 2)``, not the pixels) and their frame-to-frame motion.
* :class:`Mirrored` -- any frame feature on the horizontally mirrored face (mirror
  augmentation).

The features of pretrained networks live in :mod:`emoset.video.cnn_features` (and stay importable
from here): :class:`~emoset.video.cnn_features.EmotionCNN`, the FER2013 mini-Xception shipped as an
ONNX graph, and :class:`~emoset.video.cnn_features.FaceDescriptor`, dlib's ResNet face descriptor.

References
----------
.. [1] D. G. Lowe, "Distinctive image features from scale-invariant keypoints", IJCV
   60(2):91-110, 2004.
.. [2] N. Dalal and B. Triggs, "Histograms of oriented gradients for human detection",
   CVPR 2005.
.. [3] T. Ojala, M. Pietikainen and T. Maenpaa, "Multiresolution gray-scale and rotation
   invariant texture classification with local binary patterns", IEEE TPAMI 24(7):971-987,
   2002.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils.validation import check_int

__all__ = [
    "DenseSIFT",
    "HOG",
    "LBP",
    "Landmarks",
    "MIRROR_68",
    "Mirrored",
]


# --------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------
def _check_set(X, owner, *, rgb=False):
    """Validate one image set; return it as a C-contiguous uint8 array."""
    if not isinstance(X, np.ndarray):
        raise TypeError(
            f"{owner}: expected a numpy array of aligned faces (or a list of them); "
            f"got {type(X).__name__}."
        )
    want = "(n_frames, h, w, 3) RGB" if rgb else "(n_frames, h, w) grayscale"
    if rgb:
        if X.ndim == 3:  # grayscale chips are replicated to RGB
            X = np.repeat(X[..., None], 3, axis=-1)
        ok = X.ndim == 4 and X.shape[-1] == 3
    else:
        ok = X.ndim == 3
    if not ok:
        raise ValueError(f"{owner}: expected {want} faces; got an array of shape {X.shape}.")
    if X.dtype != np.uint8:
        raise ValueError(f"{owner}: faces must be uint8 images; got dtype {X.dtype}.")
    if min(X.shape[1:3]) < 8:
        raise ValueError(f"{owner}: faces must be at least 8x8 pixels; got {X.shape[1:3]}.")
    return np.ascontiguousarray(X)


def _split_input(X, owner, *, rgb=False):
    """Return (list of sets, was_list)."""
    if isinstance(X, (list, tuple)):
        if not X:
            raise ValueError(f"{owner}: got an empty list of image sets.")
        return [_check_set(x, f"{owner} (set {i})", rgb=rgb) for i, x in enumerate(X)], True
    return [_check_set(X, owner, rgb=rgb)], False


class _FrameTransformer(TransformerMixin, BaseEstimator):
    """Common fit/transform for per-frame face features (not part of the public API)."""

    #: What the transformer reads: ``"gray"`` aligned crops or ``"rgb"`` face chips.
    input_color = "gray"

    def _validate_params(self):  # pragma: no cover - overridden
        pass

    def _n_features(self, shape):
        raise NotImplementedError

    def _transform_set(self, X):
        raise NotImplementedError

    def _check_shape(self, shape):
        """Raise if faces of this (h, w) cannot be processed; overridden where needed."""

    def fit(self, X, y=None):
        """Check the parameters and record the face size.

        Parameters
        ----------
        X : ndarray of shape (n_frames, h, w) or list of such arrays
            Aligned uint8 faces of one or several clips.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        sets, _ = _split_input(X, type(self).__name__, rgb=self.input_color == "rgb")
        shapes = {s.shape[1:3] for s in sets}
        if len(shapes) != 1:
            raise ValueError(
                f"{type(self).__name__}: all image sets must have faces of one size; "
                f"got {sorted(shapes)}."
            )
        shape = shapes.pop()
        self._check_shape(shape)
        self.face_shape_ = tuple(int(v) for v in shape)
        self.n_features_out_ = int(self._n_features(self.face_shape_))
        return self

    def transform(self, X):
        """Features of every face.

        Parameters
        ----------
        X : ndarray of shape (n_frames, h, w) or list of such arrays
            Aligned uint8 faces, of the size seen in :meth:`fit`.

        Returns
        -------
        F : ndarray of shape (n_frames, ``n_features_out_``), float32, or list of such arrays
        """
        check_is_fitted(self)
        name = type(self).__name__
        sets, was_list = _split_input(X, name, rgb=self.input_color == "rgb")
        out = []
        for i, s in enumerate(sets):
            if not self._accepts_any_size() and s.shape[1:3] != self.face_shape_:
                where = f" (set {i})" if was_list else ""
                raise ValueError(
                    f"{name}{where}: faces are {s.shape[1]}x{s.shape[2]} but the transformer "
                    f"was fitted on {self.face_shape_[0]}x{self.face_shape_[1]} faces."
                )
            if len(s) == 0:
                out.append(np.zeros((0, self.n_features_out_), dtype=np.float32))
            else:
                out.append(np.ascontiguousarray(self._transform_set(s), dtype=np.float32))
        return out if was_list else out[0]

    def _accepts_any_size(self):
        return False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags


# --------------------------------------------------------------------------------------------
# hand-crafted descriptors
# --------------------------------------------------------------------------------------------
class DenseSIFT(_FrameTransformer):
    """SIFT descriptors on a dense grid of keypoints, concatenated.

    Parameters
    ----------
    step : int, default=16
        Distance in pixels between neighbouring keypoints.
    size : int, default=16
        Keypoint diameter (SIFT's support region grows with it). The grid starts ``size // 2``
        pixels from the border, so a 64x64 face with the defaults has 4x4 keypoints.

    Attributes
    ----------
    face_shape_ : tuple of int
        (h, w) of the faces seen in ``fit``.
    n_features_out_ : int
        ``128 * n_keypoints``.

    Notes
    -----
    Keypoints are upright (angle 0), so the descriptor is not rotation-normalised: the faces
    are already aligned. OpenCV's SIFT (patent expired, in the main module since 4.4).

    References
    ----------
    .. [1] D. G. Lowe, "Distinctive image features from scale-invariant keypoints", IJCV
       60(2):91-110, 2004.

    Examples
    --------
    >>> import numpy as np
    >>> faces = np.zeros((3, 64, 64), dtype=np.uint8)
    >>> DenseSIFT().fit_transform(faces).shape
    (3, 2048)
    """

    def __init__(self, step=16, *, size=16):
        self.step = step
        self.size = size

    def _validate_params(self):
        check_int(self.step, "step", min_val=1, owner=type(self).__name__)
        check_int(self.size, "size", min_val=2, owner=type(self).__name__)

    def _grid(self, shape):
        h, w = shape
        half = self.size // 2
        ys = np.arange(half, h - half + 1, self.step)
        xs = np.arange(half, w - half + 1, self.step)
        return ys, xs

    def _check_shape(self, shape):
        ys, xs = self._grid(shape)
        if len(ys) == 0 or len(xs) == 0:
            raise ValueError(
                f"DenseSIFT: faces of {shape[0]}x{shape[1]} px hold no keypoint of size "
                f"{self.size}; use a smaller size or larger faces."
            )

    def _n_features(self, shape):
        ys, xs = self._grid(shape)
        return 128 * len(ys) * len(xs)

    def _transform_set(self, X):
        import cv2

        ys, xs = self._grid(X.shape[1:3])
        kps = [cv2.KeyPoint(float(x), float(y), float(self.size), 0.0) for y in ys for x in xs]
        sift = cv2.SIFT_create()
        out = np.empty((len(X), self.n_features_out_), dtype=np.float32)
        for i, img in enumerate(X):
            got, desc = sift.compute(img, kps)
            if desc is None or len(got) != len(kps):
                raise RuntimeError(  # pragma: no cover - OpenCV keeps provided keypoints
                    f"DenseSIFT: OpenCV returned {0 if desc is None else len(got)} of "
                    f"{len(kps)} descriptors for face {i}."
                )
            out[i] = desc.ravel()
        return out


class HOG(_FrameTransformer):
    """Histograms of oriented gradients over the whole face (``cv2.HOGDescriptor``).

    Parameters
    ----------
    cell_size : int, default=8
        Cell side in pixels; the face side must be a multiple of it.
    block_size : int, default=2
        Block side in cells (blocks overlap by one cell and are L2-Hys normalised).
    n_bins : int, default=9
        Unsigned orientation bins over 0-180 degrees.

    Attributes
    ----------
    face_shape_ : tuple of int
    n_features_out_ : int
        ``n_blocks * block_size**2 * n_bins`` (1764 for 64x64 faces and the defaults).

    References
    ----------
    .. [1] N. Dalal and B. Triggs, "Histograms of oriented gradients for human detection",
       CVPR 2005.

    Examples
    --------
    >>> import numpy as np
    >>> HOG().fit_transform(np.zeros((2, 64, 64), dtype=np.uint8)).shape
    (2, 1764)
    """

    def __init__(self, cell_size=8, *, block_size=2, n_bins=9):
        self.cell_size = cell_size
        self.block_size = block_size
        self.n_bins = n_bins

    def _validate_params(self):
        check_int(self.cell_size, "cell_size", min_val=2, owner=type(self).__name__)
        check_int(self.block_size, "block_size", min_val=1, owner=type(self).__name__)
        check_int(self.n_bins, "n_bins", min_val=2, owner=type(self).__name__)

    def _check_shape(self, shape):
        c, b = self.cell_size, self.block_size
        if shape[0] % c or shape[1] % c or min(shape) < c * b:
            raise ValueError(
                f"HOG: faces of {shape[0]}x{shape[1]} px do not tile into {c} px cells with "
                f"{b}x{b}-cell blocks; use a face size that is a multiple of cell_size."
            )

    def _n_features(self, shape):
        c, b = self.cell_size, self.block_size
        nby = shape[0] // c - b + 1
        nbx = shape[1] // c - b + 1
        return nby * nbx * b * b * self.n_bins

    def _descriptor(self, shape):
        import cv2

        c, b = self.cell_size, self.block_size
        return cv2.HOGDescriptor((shape[1], shape[0]), (c * b, c * b), (c, c), (c, c), self.n_bins)

    def _transform_set(self, X):
        hog = self._descriptor(X.shape[1:3])
        out = np.empty((len(X), self.n_features_out_), dtype=np.float32)
        for i, img in enumerate(X):
            out[i] = hog.compute(img).ravel()
        return out


class LBP(_FrameTransformer):
    """Uniform local binary pattern histograms over a grid of cells.

    Parameters
    ----------
    n_points : int, default=8
        Circularly symmetric neighbours (P).
    radius : float, default=1
        Radius of the circle (R) in pixels.
    grid : int or (int, int), default=4
        Cells per side (or (rows, cols)); one histogram per cell.

    Attributes
    ----------
    face_shape_ : tuple of int
    n_features_out_ : int
        ``rows * cols * (n_points + 2)``: ``n_points + 1`` uniform codes plus one bin for all
        non-uniform patterns, each histogram normalised to sum to 1.

    Notes
    -----
    Codes from :func:`skimage.feature.local_binary_pattern` with ``method="uniform"``
    (rotation-invariant uniform patterns, ``riu2`` in [3]_).

    References
    ----------
    .. [3] T. Ojala, M. Pietikainen and T. Maenpaa, "Multiresolution gray-scale and rotation
       invariant texture classification with local binary patterns", IEEE TPAMI
       24(7):971-987, 2002.

    Examples
    --------
    >>> import numpy as np
    >>> LBP().fit_transform(np.zeros((2, 64, 64), dtype=np.uint8)).shape
    (2, 160)
    """

    def __init__(self, n_points=8, *, radius=1, grid=4):
        self.n_points = n_points
        self.radius = radius
        self.grid = grid

    def _grid_shape(self):
        g = self.grid
        if isinstance(g, Integral) and not isinstance(g, bool):
            g = (g, g)
        if (
            not isinstance(g, (tuple, list))
            or len(g) != 2
            or not all(isinstance(v, Integral) and not isinstance(v, bool) and v >= 1 for v in g)
        ):
            raise ValueError(
                f"LBP: grid must be a positive integer or a pair of them; got {self.grid!r}."
            )
        return int(g[0]), int(g[1])

    def _validate_params(self):
        check_int(self.n_points, "n_points", min_val=4, owner=type(self).__name__)
        if isinstance(self.radius, bool) or not isinstance(self.radius, Real) or self.radius <= 0:
            raise ValueError(f"LBP: radius must be a positive number; got {self.radius!r}.")
        self._grid_shape()

    def _check_shape(self, shape):
        gy, gx = self._grid_shape()
        if shape[0] < gy or shape[1] < gx:
            raise ValueError(f"LBP: faces of {shape[0]}x{shape[1]} px are smaller than the grid.")

    def _n_features(self, shape):
        gy, gx = self._grid_shape()
        return gy * gx * (self.n_points + 2)

    def _transform_set(self, X):
        from skimage.feature import local_binary_pattern

        h, w = X.shape[1:3]
        gy, gx = self._grid_shape()
        nb = self.n_points + 2
        rows = np.minimum(np.arange(h) * gy // h, gy - 1)
        cols = np.minimum(np.arange(w) * gx // w, gx - 1)
        cell = (rows[:, None] * gx + cols[None, :]).ravel() * nb
        counts = np.bincount(cell // nb, minlength=gy * gx).astype(np.float64)
        out = np.empty((len(X), gy * gx * nb), dtype=np.float32)
        for i, img in enumerate(X):
            codes = local_binary_pattern(img, self.n_points, self.radius, method="uniform")
            hist = np.bincount(cell + codes.astype(np.int64).ravel(), minlength=gy * gx * nb)
            out[i] = (hist.reshape(gy * gx, nb) / counts[:, None]).ravel()
        return out


# --------------------------------------------------------------------------------------------
# facial geometry
# --------------------------------------------------------------------------------------------
#: Index of each of dlib's 68 landmarks in the horizontally mirrored face (jaw, brows, nose,
#: eyes and mouth swap sides; the midline points stay).
MIRROR_68 = np.array(
    [16 - i for i in range(17)]
    + [26, 25, 24, 23, 22, 21, 20, 19, 18, 17]
    + [27, 28, 29, 30, 35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]
    + [64, 63, 62, 61, 60, 67, 66, 65]
)


def _check_points(X, owner):
    """``(sets, was_list)`` of ``(n_frames, n_points, 2)`` float landmark arrays."""
    was_list = isinstance(X, (list, tuple))
    sets = list(X) if was_list else [X]
    out = []
    for i, s in enumerate(sets):
        s = np.asarray(s, dtype=np.float64)
        if s.ndim != 3 or s.shape[2] != 2 or s.shape[1] not in (5, 68):
            where = f" (set {i})" if was_list else ""
            raise ValueError(
                f"{owner}{where}: expected aligned landmarks of shape (n_frames, 68 or 5, 2); "
                f"got {s.shape}."
            )
        if not np.isfinite(s).all():
            raise ValueError(f"{owner}: landmarks must be finite.")
        out.append(s)
    return out, was_list


class Landmarks(TransformerMixin, BaseEstimator):
    """Facial geometry from the aligned landmarks: shape coordinates or distances, and motion.

    Reads the landmarks of each aligned face in crop pixels (``aligned_landmarks`` of
    :class:`emoset.video.faces.AlignStats`, ``(n_frames, 68, 2)``), not the pixels: with
    :func:`emoset.video.extract.extract_image_sets` it is the frame feature ``"landmarks"``.
    Each frame's shape is centred on its mean point and divided by the inter-ocular distance
    (the distance of the eye centres), so the features do not depend on the crop size.

    Parameters
    ----------
    kind : {"coordinates", "distances"}, default="coordinates"
        ``"coordinates"``: the normalised ``(x, y)`` of every point (136 values for 68 points);
        ``"distances"``: every pairwise distance between points, normalised (2,278 values),
        the landmark-distance features of the EmotiW 2017 runner-up [1]_.
    deltas : bool, default=True
        Append the frame-to-frame differences of those values (the first frame's are 0): how
        the face moves, which a set model of static shapes does not see.

    Attributes
    ----------
    n_points_ : int
    n_features_out_ : int

    References
    ----------
    .. [1] X. Ouyang et al., "Audio-visual emotion recognition using deep transfer learning and
       multiple temporal models", ICMI 2017.

    Examples
    --------
    >>> import numpy as np
    >>> points = np.random.default_rng(0).normal(32, 8, size=(10, 68, 2))
    >>> Landmarks().fit(points).transform(points).shape
    (10, 272)
    """

    #: What the transformer reads (see :func:`emoset.video.extract.extract_image_sets`).
    input_kind = "landmarks"

    def __init__(self, kind="coordinates", *, deltas=True):
        self.kind = kind
        self.deltas = deltas

    def _n_base(self, n_points):
        return 2 * n_points if self.kind == "coordinates" else n_points * (n_points - 1) // 2

    def fit(self, X, y=None):
        """Check the parameters and the number of points.

        Parameters
        ----------
        X : ndarray of shape (n_frames, n_points, 2) or list of such arrays
        y : ignored

        Returns
        -------
        self : Landmarks
        """
        if self.kind not in ("coordinates", "distances"):
            raise ValueError(f"kind must be 'coordinates' or 'distances'; got {self.kind!r}.")
        sets, _ = _check_points(X, "Landmarks")
        counts = {s.shape[1] for s in sets}
        if len(counts) != 1:
            raise ValueError(f"Landmarks: all sets must have one number of points; got {counts}.")
        self.n_points_ = counts.pop()
        self.n_features_out_ = self._n_base(self.n_points_) * (2 if self.deltas else 1)
        return self

    def _eyes(self, s):
        if self.n_points_ == 68:
            return s[:, 36:42].mean(1), s[:, 42:48].mean(1)
        return s[:, 2:4].mean(1), s[:, 0:2].mean(1)

    def _transform_set(self, s):
        left, right = self._eyes(s)
        iod = np.maximum(np.linalg.norm(right - left, axis=1), 1e-6)[:, None, None]
        norm = (s - s.mean(1, keepdims=True)) / iod
        if self.kind == "coordinates":
            base = norm.reshape(len(s), -1)
        else:
            i, j = np.triu_indices(self.n_points_, k=1)
            base = np.linalg.norm(norm[:, i] - norm[:, j], axis=2)
        if self.deltas:
            base = np.hstack([base, np.diff(base, axis=0, prepend=base[:1])])
        return base

    def transform(self, X):
        """Features of every frame.

        Parameters
        ----------
        X : ndarray of shape (n_frames, n_points, 2) or list of such arrays

        Returns
        -------
        F : ndarray of shape (n_frames, ``n_features_out_``), float32, or list of such arrays
        """
        check_is_fitted(self)
        sets, was_list = _check_points(X, "Landmarks")
        out = []
        for s in sets:
            if s.shape[1] != self.n_points_:
                raise ValueError(
                    f"Landmarks: sets have {s.shape[1]} points; fitted on {self.n_points_}."
                )
            if len(s) == 0:
                out.append(np.zeros((0, self.n_features_out_), np.float32))
            else:
                out.append(np.ascontiguousarray(self._transform_set(s), dtype=np.float32))
        return out if was_list else out[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags


class Mirrored(TransformerMixin, BaseEstimator):
    """A frame feature of the horizontally mirrored faces (for mirror augmentation).

    A mirrored face shows the same emotion: its image sets are extra training examples (never
    test ones). Grayscale crops and RGB chips are flipped left-right; landmarks are flipped
    and renumbered (:data:`MIRROR_68`) so that each index keeps its meaning.

    Parameters
    ----------
    transformer : frame-feature transformer
        E.g. ``DenseSIFT()``, ``EmotionCNN(output="features")`` or ``Landmarks()``.

    Attributes
    ----------
    transformer_ : the fitted inner transformer
    n_features_out_ : int

    Examples
    --------
    >>> import numpy as np
    >>> faces = np.random.default_rng(0).integers(0, 255, (4, 64, 64), dtype=np.uint8)
    >>> a = Mirrored(HOG()).fit(faces).transform(faces)
    >>> b = HOG().fit(faces).transform(faces[:, :, ::-1])
    >>> bool(np.array_equal(a, b))
    True
    """

    def __init__(self, transformer=None):
        self.transformer = transformer

    @property
    def input_color(self):
        return getattr(self.transformer, "input_color", "gray")

    @property
    def input_kind(self):
        return getattr(self.transformer, "input_kind", "faces")

    def _flip(self, X):
        was_list = isinstance(X, (list, tuple))
        sets = list(X) if was_list else [X]
        out = []
        for s in sets:
            s = np.asarray(s)
            if self.input_kind == "landmarks":
                if s.ndim != 3 or s.shape[1] != 68:
                    raise ValueError(
                        f"Mirrored: landmarks must be (n_frames, 68, 2) to be mirrored; "
                        f"got {s.shape}."
                    )
                s = s[:, MIRROR_68] * np.array([-1.0, 1.0])
            else:
                s = np.ascontiguousarray(s[:, :, ::-1])
            out.append(s)
        return out if was_list else out[0]

    def fit(self, X, y=None):
        """Fit the inner transformer on the mirrored input.

        Parameters
        ----------
        X : faces, chips or landmarks of one clip, or a list of them
        y : ignored

        Returns
        -------
        self : Mirrored
        """
        from sklearn.base import clone

        if self.transformer is None or not hasattr(self.transformer, "transform"):
            raise TypeError(
                f"Mirrored needs a frame-feature transformer; got {self.transformer!r}."
            )
        self.transformer_ = clone(self.transformer).fit(self._flip(X))
        self.n_features_out_ = int(self.transformer_.n_features_out_)
        return self

    def transform(self, X):
        """Features of the mirrored faces (see the inner transformer).

        Parameters
        ----------
        X : faces, chips or landmarks of one clip, or a list of them

        Returns
        -------
        F : ndarray of shape (n_frames, ``n_features_out_``) or list of such arrays
        """
        check_is_fitted(self)
        return self.transformer_.transform(self._flip(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
