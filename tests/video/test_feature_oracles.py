"""Frame features against independent computations: values, not only shapes.

* LBP: every cell's histogram against codes computed here (4 neighbours on the pixel grid,
  exact by hand) and against :func:`skimage.feature.local_binary_pattern` histogrammed here.
* HOG: one NumPy implementation of Dalal and Triggs' descriptor with a switch between two
  conventions; in scikit-image's it equals :func:`skimage.feature.hog`, in OpenCV's (the
  one emoset uses: a Gaussian window on each block, votes shared between the two nearest
  orientation bins and the neighbouring cells, block-column-major layout) it equals
  :class:`~emoset.video.frame_features.HOG`.
* DenseSIFT: Lowe's descriptor of one keypoint computed here in NumPy as OpenCV does it, and
  the dominant orientation of ramps in eight directions.

The faces are 24 real CREMA-D crops aligned by FaceAligner (tests/fixtures).
"""

from pathlib import Path

import numpy as np
import pytest
from skimage.feature import hog as skimage_hog
from skimage.feature import local_binary_pattern

from emoset.video.frame_features import HOG, LBP, DenseSIFT

FIXTURE = Path(__file__).parents[1] / "fixtures" / "emotion_cnn_reference.npz"


@pytest.fixture(scope="module")
def faces():
    with np.load(FIXTURE) as z:
        return z["crops"][:6]


# ------------------------------------------------------------------------------ LBP
def _cell_bounds(n, parts):
    """Pixel bounds of ``parts`` cells over ``n`` pixels: cell k holds k*n/parts <= x < ..."""
    return [-(-k * n // parts) for k in range(parts + 1)]


def _histograms(codes, grid, n_bins):
    """Each cell's histogram of integer codes, as fractions of the cell's pixels."""
    rows, cols = _cell_bounds(codes.shape[0], grid[0]), _cell_bounds(codes.shape[1], grid[1])
    out = []
    for r0, r1 in zip(rows[:-1], rows[1:], strict=True):
        for c0, c1 in zip(cols[:-1], cols[1:], strict=True):
            cell = codes[r0:r1, c0:c1]
            out.append(np.histogram(cell, bins=n_bins, range=(0, n_bins))[0] / cell.size)
    return np.concatenate(out)


def _uniform_codes_4(img, radius):
    """Uniform LBP codes with 4 neighbours at ``radius`` pixels (on the grid: no
    interpolation), outside pixels 0: the number of neighbours >= the centre when their
    bits change at most twice around the circle, else 5."""
    r = int(radius)
    pad = np.pad(img.astype(np.int64), r)
    h, w = img.shape
    centre = pad[r : r + h, r : r + w]
    # neighbours counter-clockwise from the right, as Ojala et al. number them
    shifts = [(0, r), (-r, 0), (0, -r), (r, 0)]
    bits = np.stack([pad[r + dy : r + dy + h, r + dx : r + dx + w] >= centre for dy, dx in shifts])
    changes = (bits != np.roll(bits, 1, axis=0)).sum(axis=0)
    return np.where(changes <= 2, bits.sum(axis=0), 5)


@pytest.mark.parametrize(
    "crop", [np.s_[:, :, :], np.s_[:, :48, :], np.s_[:, :, 8:56]], ids=["64x64", "48x64", "64x48"]
)
@pytest.mark.parametrize(("radius", "grid"), [(1, (2, 3)), (2, 4), (3, (4, 1))])
def test_lbp_four_neighbours_counted_by_hand(faces, radius, grid, crop):
    faces = np.ascontiguousarray(faces[crop])
    est = LBP(4, radius=radius, grid=grid).fit(faces)
    out = est.transform(faces)
    for face, row in zip(faces, out, strict=True):
        expected = _histograms(_uniform_codes_4(face, radius), est._grid_shape(), 6)
        np.testing.assert_allclose(row, expected, atol=1e-7)


@pytest.mark.parametrize(("n_points", "radius", "grid"), [(8, 1, 4), (16, 2, (3, 2)), (8, 2.5, 2)])
def test_lbp_cells_are_histograms_of_skimage_codes(faces, n_points, radius, grid):
    est = LBP(n_points, radius=radius, grid=grid).fit(faces)
    out = est.transform(faces)
    for face, row in zip(faces, out, strict=True):
        codes = local_binary_pattern(face, n_points, radius, method="uniform").astype(int)
        expected = _histograms(codes, est._grid_shape(), n_points + 2)
        np.testing.assert_allclose(row, expected, atol=1e-7)


def test_lbp_of_a_flat_face_is_all_uniform_code_p():
    """Every neighbour (0 outside the image too) equals the centre: all bits 1, the uniform
    pattern with P ones."""
    out = LBP(8, radius=1, grid=2).fit_transform(np.zeros((2, 32, 32), np.uint8))
    expected = np.tile(np.eye(10)[8], 4)
    np.testing.assert_array_equal(out, np.tile(expected, (2, 1)))


# ------------------------------------------------------------------------------ HOG
def _hog_votes(ang, nbins, opencv):
    """(bin, share) of every pixel's vote(s); ``ang`` in bins (0 <= ang < nbins)."""
    if not opencv:  # one vote, to the bin the angle falls in
        return [(np.floor(ang).astype(int) % nbins, np.ones_like(ang))]
    lo = np.floor(ang - 0.5)  # bin centres at k + 0.5: split between the two nearest
    frac = ang - 0.5 - lo
    return [(lo.astype(int) % nbins, 1 - frac), ((lo.astype(int) + 1) % nbins, frac)]


def _hog_window(cell, block, opencv):
    """(pixel weight in the block, share of each pixel row/column in each cell of it)."""
    side = cell * block
    if opencv:  # a Gaussian of sigma side / 4 centred at side / 2; tent-shaped cell shares
        d = np.arange(side) - side / 2
        window = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * (side / 4) ** 2))
        pos = (np.arange(side) + 0.5) / cell - 0.5
        return window, np.maximum(0.0, 1 - np.abs(pos[:, None] - np.arange(block)))
    window = np.full((side, side), 1.0 / cell**2)  # the mean over the cell
    return window, (np.arange(side)[:, None] // cell == np.arange(block)).astype(float)


def hog_reference(img, cell=8, block=2, nbins=9, *, opencv=True):
    """HOG of one image: ``(n_block_rows, n_block_cols, block, block, nbins)``, row-major.

    Central differences (0 at the border), unsigned orientations, cells of ``cell`` pixels,
    blocks of ``block`` cells one cell apart, L2-Hys block normalisation (clip at 0.2).
    ``opencv`` picks OpenCV's conventions, else scikit-image's (see the module docstring).
    """
    pad = np.pad(img.astype(np.float64), 1, mode="reflect")
    dx = pad[1:-1, 2:] - pad[1:-1, :-2]
    dy = pad[2:, 1:-1] - pad[:-2, 1:-1]
    mag = np.hypot(dx, dy)
    votes = _hog_votes(np.degrees(np.arctan2(dy, dx)) % 180 * nbins / 180, nbins, opencv)
    window, share = _hog_window(cell, block, opencv)
    side = cell * block
    in_cells = (share[:, None, :, None] * share[None, :, None, :]).reshape(side * side, -1)
    nby, nbx = img.shape[0] // cell - block + 1, img.shape[1] // cell - block + 1
    out = np.zeros((nby, nbx, block * block, nbins))
    for by, bx in np.ndindex(nby, nbx):
        sl = np.s_[by * cell : by * cell + side, bx * cell : bx * cell + side]
        for bins, part in votes:
            weight = (mag[sl] * window * part[sl]).ravel()
            for k in range(block * block):
                out[by, bx, k] += np.bincount(bins[sl].ravel(), weight * in_cells[:, k], nbins)
        v = out[by, bx]
        if opencv:  # OpenCV's epsilon: 0.1 per histogram value, then 1e-3
            v[:] = np.minimum(v / (np.linalg.norm(v) + 0.1 * v.size), 0.2)
            v /= np.linalg.norm(v) + 1e-3
        else:
            v[:] = np.minimum(v / np.sqrt((v**2).sum() + 1e-10), 0.2)
            v /= np.sqrt((v**2).sum() + 1e-10)
    return out.reshape(nby, nbx, block, block, nbins)


PARAMS = [(8, 2, 9), (16, 1, 6), (8, 3, 12)]
#: Square faces, then taller than wide and wider than tall.
CROPS = {"64x64": np.s_[:, :, :], "64x48": np.s_[:, :, 8:56], "48x64": np.s_[:, 8:56, :]}


@pytest.mark.parametrize(("cell", "block", "nbins"), PARAMS)
def test_hog_reference_in_skimage_conventions_is_skimage(faces, cell, block, nbins):
    for face in faces[:3]:
        expected = skimage_hog(
            face,
            orientations=nbins,
            pixels_per_cell=(cell, cell),
            cells_per_block=(block, block),
            block_norm="L2-Hys",
            feature_vector=False,
        )
        got = hog_reference(face, cell, block, nbins, opencv=False)
        np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("crop", CROPS.values(), ids=CROPS.keys())
@pytest.mark.parametrize(("cell", "block", "nbins"), PARAMS)
def test_hog_is_the_reference_in_opencv_conventions(faces, cell, block, nbins, crop):
    """Same values; OpenCV lists blocks column by column, and cells within a block too."""
    faces = np.ascontiguousarray(faces[crop])
    out = HOG(cell, block_size=block, n_bins=nbins).fit(faces).transform(faces)
    for face, row in zip(faces, out, strict=True):
        ref = hog_reference(face, cell, block, nbins)
        # 2e-4: OpenCV's float32 arctangent approximation moves votes between bins a little
        np.testing.assert_allclose(row, ref.transpose(1, 0, 3, 2, 4).ravel(), atol=5e-4)


# ------------------------------------------------------------------------------ DenseSIFT
def _blur(img, sigma):
    """Gaussian blur as OpenCV's on float images: 8 sigma + 1 taps, mirrored borders."""
    taps = int(round(sigma * 8 + 1)) | 1
    x = np.arange(taps) - taps // 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    g /= g.sum()
    pad = np.pad(img.astype(np.float64), taps // 2, mode="reflect")
    h, w = img.shape
    rows = sum(g[i] * pad[:, i : i + w] for i in range(taps))
    return sum(g[i] * rows[i : i + h] for i in range(taps))


def sift_reference(img, x, y, size, d=4, n=8):
    """Lowe's descriptor of an upright keypoint at (x, y) of diameter ``size``, in NumPy.

    As OpenCV computes it for a keypoint of octave 0: the image blurred to sigma 1.6 (it is
    taken to have 0.5 already), d x d spatial bins of 3 * size / 2 pixels, n orientation
    bins, samples weighted by a Gaussian of d / 2 bins, trilinear votes, clipped at 0.2 of
    the norm and scaled to 512 / norm, rounded to bytes.
    """
    L = _blur(img, np.sqrt(1.6**2 - 0.5**2))
    rows, cols = L.shape
    width = 3 * size / 2
    radius = min(int(round(width * np.sqrt(2) * (d + 1) / 2)), int(np.hypot(rows, cols)))
    i, j = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    rbin, cbin = i / width + d / 2 - 0.5, j / width + d / 2 - 0.5
    r, c = y + i, x + j
    ok = (rbin > -1) & (rbin < d) & (cbin > -1) & (cbin < d)
    ok &= (r > 0) & (r < rows - 1) & (c > 0) & (c < cols - 1)
    rbin, cbin, r, c, i, j = rbin[ok], cbin[ok], r[ok], c[ok], i[ok], j[ok]
    dx = L[r, c + 1] - L[r, c - 1]
    dy = L[r - 1, c] - L[r + 1, c]  # y up: angles counter-clockwise on the screen
    obin = (np.degrees(np.arctan2(dy, dx)) % 360) * n / 360
    mag = np.hypot(dx, dy) * np.exp(-((i / width) ** 2 + (j / width) ** 2) / (d * d * 0.5))
    hist = np.zeros((d + 2, d + 2, n))
    r0, c0, o0 = (np.floor(v).astype(int) for v in (rbin, cbin, obin))
    fr, fc, fo = rbin - r0, cbin - c0, obin - o0
    for dr, wr in ((0, 1 - fr), (1, fr)):
        for dc, wc in ((0, 1 - fc), (1, fc)):
            for do, wo in ((0, 1 - fo), (1, fo)):
                np.add.at(hist, (r0 + 1 + dr, c0 + 1 + dc, (o0 + do) % n), mag * wr * wc * wo)
    v = hist[1:-1, 1:-1].ravel()
    v = np.minimum(v, 0.2 * np.linalg.norm(v))
    return np.clip(np.round(v * 512 / max(np.linalg.norm(v), 1e-7)), 0, 255)


@pytest.mark.parametrize("crop", CROPS.values(), ids=CROPS.keys())
@pytest.mark.parametrize(("step", "size"), [(16, 16), (8, 12), (16, 15)])
def test_dense_sift_keypoints_are_lowe_descriptors_row_by_row(faces, step, size, crop):
    """Keypoints go row by row (y, then x), upright, from size // 2 pixels off the border;
    checked on keypoints off the diagonal."""
    faces = np.ascontiguousarray(faces[:3][crop])
    est = DenseSIFT(step, size=size).fit(faces)
    out = est.transform(faces).reshape(3, -1, 128)
    half = size // 2
    h, w = faces.shape[1:]
    ys, xs = np.arange(half, h - half + 1, step), np.arange(half, w - half + 1, step)
    picks = [(0, 1), (1, 2), (len(ys) - 1, 0)]  # (row, column) of the grid
    for face, desc in zip(faces, out, strict=True):
        for row, col in picks:
            ref = sift_reference(face, xs[col], ys[row], size)
            got = desc[row * len(xs) + col]
            # bytes: float32 against float64 may round one value to the next integer
            assert np.abs(got - ref).max() <= 1 and (got != ref).sum() <= 2


def _ramp(direction, n=64):
    """A uint8 ramp rising towards ``direction`` (k * 45 degrees, counter-clockwise from
    the right on the screen): every gradient points that way."""
    ux = int(np.round(np.cos(np.radians(direction))))
    uy = int(np.round(np.sin(np.radians(direction))))
    y, x = np.mgrid[0:n, 0:n]
    img = 2 * (ux * x - uy * y)
    return (img - img.min()).astype(np.uint8)


@pytest.mark.parametrize("k", range(8))
def test_dense_sift_dominant_orientation_of_ramps(k):
    img = _ramp(45 * k)
    out = DenseSIFT().fit_transform(img[None]).reshape(16, 16, 8)  # keypoint, cell, bin
    mass = out.sum(axis=(0, 1))
    assert int(np.argmax(mass)) == k
    assert mass[k] > 0.95 * mass.sum()


def test_dense_sift_turns_with_the_face(faces):
    """A face turned 90 degrees: each keypoint's descriptor is the turned keypoint's, with its
    4 x 4 cells turned and its orientation bins moved by two (90 degrees)."""
    crop = np.pad(faces[0], ((0, 1), (0, 1)), mode="edge")  # 65 px: the grid maps onto itself
    turned = np.rot90(crop).copy()  # counter-clockwise
    est = DenseSIFT().fit(crop[None])
    a = est.transform(crop[None]).reshape(4, 4, 4, 4, 8)  # kp row, kp col, cell r, cell c, bin
    b = est.transform(turned[None]).reshape(4, 4, 4, 4, 8)
    # pixel (r, c) goes to (64 - c, r): keypoint and cell (row, col) go to (3 - col, row)
    expected = np.roll(np.rot90(np.rot90(a, axes=(0, 1)), axes=(2, 3)), 2, axis=4)
    diff = np.abs(b - expected)
    assert diff.max() <= 2 and np.mean(diff > 0) < 0.05  # rounding and atan2 approximations
    assert np.abs(b - a).mean() > 10 * diff.mean()  # and the face did change


@pytest.mark.parametrize(
    ("size", "shape", "n_keypoints"),
    [
        (16, (64, 64), 16),
        (16, (63, 63), 9),
        (16, (63, 64), 12),
        (40, (40, 48), 1),
        (15, (64, 64), 16),
    ],
)
def test_dense_sift_grid_stays_inside_the_face(size, shape, n_keypoints):
    """Keypoint centres from size // 2 to side - size // 2 (included), every 16 pixels."""
    est = DenseSIFT(size=size).fit(np.zeros((1, *shape), np.uint8))
    assert est.n_features_out_ == 128 * n_keypoints
    out = est.transform(np.zeros((2, *shape), np.uint8))
    assert out.shape == (2, 128 * n_keypoints)
