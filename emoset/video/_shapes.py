"""Face geometry for :mod:`emoset.video.faces`: the canonical landmark layout, similarity
transforms, shape normalisation and the appearance thumbnail the tracking checks compare."""

from __future__ import annotations

import numpy as np

#: Canonical landmark positions as fractions of the crop side, (x, y) with x to the right in
#: the image: image-left eye centre, image-right eye centre, base of the nose, image-left and
#: image-right mouth corner. Derived from the mean 68-point shape of the CREMA-D face crops
#: (inter-ocular distance 0.31 of the crop; the brows and the chin stay inside the crop).
CANONICAL_POINTS = np.array(
    [
        [0.345, 0.370],
        [0.655, 0.370],
        [0.500, 0.587],
        [0.368, 0.714],
        [0.632, 0.714],
    ]
)


def similarity_transform(src, dst):
    """Least-squares similarity transform mapping points ``src`` onto ``dst``.

    Closed-form solution of Umeyama [4]_ (rotation, uniform scale and translation, no
    reflection); deterministic, unlike a RANSAC estimate.

    Parameters
    ----------
    src, dst : array-like of shape (n_points, 2)
        Corresponding points, ``n_points >= 2``.

    Returns
    -------
    M : ndarray of shape (2, 3)
        Affine matrix such that ``dst ~ src @ M[:, :2].T + M[:, 2]``, as taken by
        ``cv2.warpAffine``.

    References
    ----------
    .. [4] S. Umeyama, "Least-squares estimation of transformation parameters between two
       point patterns", IEEE TPAMI 13(4):376-380, 1991.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.ndim != 2 or src.shape[1] != 2 or src.shape != dst.shape or len(src) < 2:
        raise ValueError(
            f"similarity_transform needs two (n_points, 2) arrays of the same shape with "
            f"n_points >= 2; got {src.shape} and {dst.shape}."
        )
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    var_s = (s0**2).sum() / len(src)
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    rot = u @ np.diag(d) @ vt
    scale = (sig * d).sum() / var_s if var_s > 0 else 1.0
    M = np.empty((2, 3))
    M[:, :2] = scale * rot
    M[:, 2] = mu_d - scale * rot @ mu_s
    return M


def _anchor_points(shape):
    """Eye centres, nose base (and mouth corners for 68 points) from a landmark array."""
    if len(shape) == 68:
        return np.stack(
            [
                shape[36:42].mean(0),
                shape[42:48].mean(0),
                shape[33],
                shape[48],
                shape[54],
            ]
        )
    # dlib 5-point model: 0-1 image-right eye corners, 2-3 image-left eye corners, 4 nose base
    return np.stack([shape[2:4].mean(0), shape[0:2].mean(0), shape[4]])


def _normalise(shape):
    """Centroid, RMS radius and the shape centred and scaled to unit RMS radius."""
    c = shape.mean(0)
    s = float(np.sqrt(((shape - c) ** 2).sum(1).mean()))
    return c, s, (shape - c) / max(s, 1e-9)


def _procrustes_error(a, b):
    """RMS distance between two unit-normalised shapes after the best similarity fit."""
    M = similarity_transform(a, b)
    fitted = a @ M[:, :2].T + M[:, 2]
    return float(np.sqrt(((fitted - b) ** 2).sum(1).mean()))


def _appearance(face):
    """Zero-mean, unit-norm 24x24 thumbnail of an aligned face (zeros if it is flat)."""
    import cv2

    t = cv2.resize(face, (24, 24), interpolation=cv2.INTER_AREA).astype(np.float64).ravel()
    t -= t.mean()
    n = np.linalg.norm(t)
    return t / n if n > 1e-6 else np.zeros_like(t)
