"""What the frame features accept and what they say when they refuse: every message whole
(who refused, which set, what was expected, what came), the limits on both sides, five-point
landmarks, empty sets, tags."""

import re

import numpy as np
import pytest

from emoset.video.frame_features import HOG, LBP, DenseSIFT, Landmarks, Mirrored


def u8(*shape):
    return np.zeros(shape, np.uint8)


REFUSED = [
    (DenseSIFT(), [u8(2, 16, 16), np.zeros((1, 16, 16), np.float32)],
     "DenseSIFT (set 1): faces must be uint8 images; got dtype float32."),
    (HOG(), [u8(2, 16, 16), u8(1, 16, 16, 3)],
     "HOG (set 1): expected (n_frames, h, w) grayscale faces; got an array of shape (1, 16, 16, 3)."),
    (LBP(), u8(2, 7, 8), "LBP: faces must be at least 8x8 pixels; got (7, 8)."),
    (LBP(), u8(2, 8, 7), "LBP: faces must be at least 8x8 pixels; got (8, 7)."),
    (HOG(), u8(1, 16, 8),
     "HOG: faces of 16x8 px do not tile into 8 px cells with 2x2-cell blocks; use a face size "
     "that is a multiple of cell_size."),
    (HOG(), u8(1, 60, 64),
     "HOG: faces of 60x64 px do not tile into 8 px cells with 2x2-cell blocks; use a face size "
     "that is a multiple of cell_size."),
    (HOG(), u8(1, 64, 60),
     "HOG: faces of 64x60 px do not tile into 8 px cells with 2x2-cell blocks; use a face size "
     "that is a multiple of cell_size."),
    (HOG(n_bins=1), u8(1, 16, 16), "HOG: n_bins must be an integer >= 2; got 1."),
    (HOG(block_size=0), u8(1, 16, 16), "HOG: block_size must be an integer >= 1; got 0."),
    (HOG(cell_size=1), u8(1, 16, 16), "HOG: cell_size must be an integer >= 2; got 1."),
    (DenseSIFT(step=0), u8(1, 16, 16), "DenseSIFT: step must be an integer >= 1; got 0."),
    (DenseSIFT(size=1), u8(1, 16, 16), "DenseSIFT: size must be an integer >= 2; got 1."),
    (DenseSIFT(size=40), u8(1, 39, 48),
     "DenseSIFT: faces of 39x48 px hold no keypoint of size 40; use a smaller size or larger faces."),
    (DenseSIFT(size=40), u8(1, 48, 39),
     "DenseSIFT: faces of 48x39 px hold no keypoint of size 40; use a smaller size or larger faces."),
    (LBP(n_points=3), u8(1, 16, 16), "LBP: n_points must be an integer >= 4; got 3."),
    (LBP(radius=True), u8(1, 16, 16), "LBP: radius must be a positive number; got True."),
    (LBP(radius="1"), u8(1, 16, 16), "LBP: radius must be a positive number; got '1'."),
    (LBP(grid=(10, 2)), u8(1, 8, 16), "LBP: faces of 8x16 px are smaller than the grid."),
    (LBP(grid=(2, 10)), u8(1, 16, 8), "LBP: faces of 16x8 px are smaller than the grid."),
    (LBP(grid=[2]), u8(1, 16, 16), "LBP: grid must be a positive integer or a pair of them; got [2]."),
    (LBP(grid=(2, True)), u8(1, 16, 16),
     "LBP: grid must be a positive integer or a pair of them; got (2, True)."),
    (Landmarks(), [np.zeros((2, 68, 2)), np.zeros((2, 6, 2))],
     "Landmarks (set 1): expected aligned landmarks of shape (n_frames, 68 or 5, 2); got (2, 6, 2)."),
    (Landmarks(), np.zeros((2, 68, 3)),
     "Landmarks: expected aligned landmarks of shape (n_frames, 68 or 5, 2); got (2, 68, 3)."),
    (Landmarks(), np.zeros((68, 2)),
     "Landmarks: expected aligned landmarks of shape (n_frames, 68 or 5, 2); got (68, 2)."),
    (Landmarks(), [np.zeros((1, 5, 2)), np.full((1, 5, 2), np.nan)],
     "Landmarks: landmarks must be finite."),
]  # fmt: skip


@pytest.mark.parametrize(("est", "X", "message"), REFUSED)
def test_refused_with_the_whole_message(est, X, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        est.fit(X)


def test_refused_containers_and_mixed_landmarks():
    with pytest.raises(
        TypeError,
        match=r"^LBP: expected a numpy array of aligned faces \(or a list of them\); got str\.$",
    ):
        LBP().fit("faces")
    with pytest.raises(
        ValueError,
        match=r"^Landmarks: all sets must have one number of points; got \{(68, 5|5, 68)\}\.$",
    ):
        Landmarks().fit([np.zeros((2, 68, 2)), np.zeros((2, 5, 2))])


@pytest.mark.parametrize(
    ("est", "shape"),
    [(LBP(), (8, 8)), (LBP(grid=(8, 2)), (8, 16)), (LBP(grid=(2, 8)), (16, 8)), (HOG(), (16, 16)),
     (HOG(cell_size=4), (8, 12)), (DenseSIFT(size=40), (40, 48)), (DenseSIFT(size=40), (48, 40))],
)  # fmt: skip
def test_accepted_at_the_limit(est, shape):
    out = est.fit(u8(1, *shape)).transform(u8(2, *shape))
    assert out.shape == (2, est.n_features_out_) and out.dtype == np.float32


@pytest.mark.parametrize("est", [DenseSIFT(), HOG(), LBP()], ids=["sift", "hog", "lbp"])
def test_size_mismatch_names_the_set_and_both_sizes(est):
    est = est.fit(u8(1, 64, 48))
    with pytest.raises(
        ValueError,
        match=rf"^{type(est).__name__} \(set 1\): faces are 48x64 but the transformer was "
        r"fitted on 64x48 faces\.$",
    ):
        est.transform([u8(1, 64, 48), u8(1, 48, 64)])
    with pytest.raises(ValueError, match=rf"^{type(est).__name__}: faces are 48x64 but"):
        est.transform(u8(1, 48, 64))


@pytest.mark.parametrize("est", [DenseSIFT(), HOG(), LBP(), Landmarks()])
def test_empty_sets_are_float32(est):
    X = np.zeros((2, 68, 2)) if isinstance(est, Landmarks) else u8(2, 64, 64)
    est.fit(X)
    empty = np.zeros((0, *X.shape[1:]), X.dtype)
    for out in (est.transform(empty), est.transform([X, empty])[1]):
        assert out.shape == (0, est.n_features_out_) and out.dtype == np.float32


def _five_points(n=4, seed=0):
    """dlib's 5 points: image-right eye corners (0, 1), image-left ones (2, 3), nose (4)."""
    rng = np.random.default_rng(seed)
    base = np.array([[44.0, 25.0], [38.0, 25.0], [20.0, 25.0], [26.0, 25.0], [32.0, 40.0]])
    return base + rng.normal(0, 0.5, (n, 5, 2))


def test_five_point_landmarks():
    """Coordinates over the inter-ocular distance (eye centres from the corner pairs);
    10 values, 10 distances, their motion."""
    pts = _five_points()
    est = Landmarks(deltas=False).fit(pts)
    out = est.transform(pts)
    assert est.n_points_ == 5 and out.shape == (4, 10) and out.dtype == np.float32
    iod = np.linalg.norm(pts[:, 0:2].mean(1) - pts[:, 2:4].mean(1), axis=1)
    expected = (pts - pts.mean(1, keepdims=True)) / iod[:, None, None]
    np.testing.assert_allclose(out, expected.reshape(4, 10), rtol=1e-5)
    dist = Landmarks("distances").fit(pts)
    assert dist.n_features_out_ == 20 and Landmarks().fit(pts).n_features_out_ == 20
    d = dist.transform(pts)
    np.testing.assert_allclose(
        d[:, 0], np.linalg.norm(pts[:, 0] - pts[:, 1], axis=1) / iod, rtol=1e-5
    )
    np.testing.assert_allclose(d[1:, 10:], np.diff(d[:, :10], axis=0), atol=1e-6)
    with pytest.raises(ValueError, match=r"^Landmarks: sets have 68 points; fitted on 5\.$"):
        est.transform([pts, np.zeros((1, 68, 2))])


@pytest.mark.parametrize(
    "est", [DenseSIFT(), HOG(), LBP(), Landmarks(), Mirrored(HOG())], ids=lambda e: type(e).__name__
)
def test_tags_say_image_sets(est):
    tags = est.__sklearn_tags__()
    assert tags.input_tags.two_d_array is False and tags.input_tags.three_d_array is True


def test_mirrored_lists_and_what_it_wraps():
    rng = np.random.default_rng(0)
    a, b = (
        rng.integers(0, 256, (3, 32, 32), dtype=np.uint8),
        rng.integers(0, 256, (2, 32, 32), dtype=np.uint8),
    )
    outs = Mirrored(LBP(grid=2)).fit([a, b]).transform([a, b])
    ours = LBP(grid=2).fit(a).transform([a[:, :, ::-1].copy(), b[:, :, ::-1].copy()])
    assert len(outs) == 2
    for got, expected in zip(outs, ours, strict=True):
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(
        TypeError, match=r"^Mirrored needs a frame-feature transformer; got 'lbp'\.$"
    ):
        Mirrored("lbp").fit(a)
