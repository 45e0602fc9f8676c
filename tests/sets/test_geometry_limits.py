"""The limits of emoset.sets.geometry, each against a direct computation: eigenvalue floors
relative to the largest eigenvalue (checked at scales where a floor divided instead of
multiplied would differ), numerical ranks, the Nyström factor against the pseudo-inverse,
two-frame Ledoit-Wolf, and the messages naming the argument at fault.

Written from the mutants that survived tests/sets/test_geometry.py (python -m benchmarks
mutation geometry).
"""

import numpy as np
import pytest
from _factories import random_spd
from numpy.testing import assert_allclose
from sklearn.covariance import LedoitWolf

from emoset.sets import geometry as geo


def _psd(m, rank, *, scale=1.0, seed=0):
    """A symmetric positive semi-definite ``m x m`` matrix of the given rank."""
    X = np.random.default_rng(seed).normal(size=(m, rank)) * np.sqrt(scale)
    return X @ X.T


# ---------------------------------------------------------------------- Nyström factor
@pytest.mark.parametrize(("m", "rank"), [(6, 6), (6, 3), (1, 1)])
@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_inverse_sqrt_factor_is_a_square_root_of_the_pseudo_inverse(m, rank, scale):
    W = _psd(m, rank, scale=scale, seed=m + rank)
    N = geo.inverse_sqrt_factor(W)
    assert N.shape == (m, rank)  # the round-off eigenvalues of a rank-deficient W dropped
    pinv = np.linalg.pinv(W, rcond=1e-9, hermitian=True)
    assert_allclose(N @ N.T, pinv, rtol=1e-6, atol=1e-9 * np.abs(pinv).max())
    # the features K N of the landmarks themselves reproduce W: W W^+ W = W
    assert_allclose((W @ N) @ (W @ N).T, W, rtol=1e-6, atol=1e-9 * np.abs(W).max())


@pytest.mark.parametrize(
    ("floor", "kept"), [(1e-12, [1.0, 1e-6, 1e-8]), (1e-7, [1.0, 1e-6]), (1e-3, [1.0])]
)
def test_inverse_sqrt_factor_drops_eigenvalues_below_floor_times_the_largest(floor, kept):
    """diag(1, 1e-6, 1e-8, 0) scaled by 100: the floor is relative to the largest eigenvalue."""
    W = 100.0 * np.diag([1e-8, 1e-6, 1.0, 0.0])
    N = geo.inverse_sqrt_factor(W, floor=floor)
    assert N.shape == (4, len(kept))
    expected = np.zeros(4)
    for value in kept:  # the kept eigenvalues, inverted
        expected[[1e-8, 1e-6, 1.0, 0.0].index(value)] = 1.0 / (100.0 * value)
    assert_allclose(N @ N.T, np.diag(expected), rtol=1e-12)


def test_inverse_sqrt_factor_of_zero_keeps_one_finite_column():
    N = geo.inverse_sqrt_factor(np.zeros((3, 3)))
    assert N.shape == (3, 1) and np.isfinite(N).all()


def test_inverse_sqrt_factor_symmetrises_its_input():
    W = _psd(4, 4, seed=3)
    skew = np.triu(np.full((4, 4), 1e-3), 1)
    assert_allclose(geo.inverse_sqrt_factor(W + skew - skew.T), geo.inverse_sqrt_factor(W))


# ---------------------------------------------------------------------- floors, relative
def test_log_vectors_floor_is_relative_to_the_largest_eigenvalue():
    C = np.diag([1e4, 0.0])[None]  # singular: the zero eigenvalue is raised to 1e-10 * 1e4
    v = geo.log_vectors(C)
    assert_allclose(v, [[np.log(1e4), 0.0, np.log(1e-6)]], rtol=1e-12)
    assert_allclose(geo.log_vectors(C, floor=1e-3), [[np.log(1e4), 0.0, np.log(10.0)]])


def test_logm_and_sqrtm_pass_their_floor_on():
    C = np.diag([4.0, 0.0])
    assert_allclose(geo.logm_spd(C, floor=1e-2), np.diag([np.log(4.0), np.log(0.04)]))
    assert_allclose(geo.sqrtm_spd(C), np.diag([2.0, 0.0]), atol=1e-15)  # floor 0: exact zero
    assert_allclose(geo.sqrtm_spd(C, floor=1e-2), np.diag([2.0, 0.2]))
    # a round-off negative eigenvalue is clipped to 0, not a NaN square root
    assert_allclose(geo.sqrtm_spd(np.diag([1.0, -1e-17])), np.diag([1.0, 0.0]), atol=1e-15)


def test_gaussian_embedding_det_normalize_floor_on_a_large_singular_covariance():
    """A rank-1 covariance of scale 1e4: its zero eigenvalue counts as 1e-10 * 1e4."""
    cov = np.diag([1e4, 0.0])[None]
    P = geo.gaussian_embedding(np.zeros((1, 2)), cov, det_normalize=True)
    scale = np.exp(-(np.log(1e4) + np.log(1e-6)) / 3)
    assert_allclose(P[0], scale * np.diag([1e4, 0.0, 1.0]), rtol=1e-12)


# ---------------------------------------------------------------------- numerical rank
def test_orthonormal_basis_accepts_one_and_all_dimensions():
    frames = np.random.default_rng(1).normal(size=(8, 5))
    for n_dims in (1, 5):
        U, rank = geo.orthonormal_basis(frames, n_dims)
        assert U.shape == (5, n_dims) and rank == n_dims
        assert_allclose(U.T @ U, np.eye(n_dims), atol=1e-12)


def test_orthonormal_basis_rank_is_relative_to_the_largest_singular_value():
    frames = np.diag([10.0, 1.0, 0.0])  # singular values 10, 1, 0
    assert geo.orthonormal_basis(frames, 3)[1] == 2
    assert geo.orthonormal_basis(frames, 3, rtol=0.5)[1] == 1  # 1 < 0.5 * 10
    assert geo.orthonormal_basis(frames, 3, rtol=0.05)[1] == 2


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e8])
def test_orthonormal_basis_rank_at_any_scale(scale):
    """A rank-2 set in R^6 has rank 2 whether its values are tiny or huge."""
    rng = np.random.default_rng(2)
    frames = scale * (rng.normal(size=(5, 2)) @ rng.normal(size=(2, 6)))
    U, rank = geo.orthonormal_basis(frames, 4)
    assert rank == 2
    assert_allclose(U[:, 2:], 0.0)
    assert_allclose(U @ U.T @ frames.T, frames.T, rtol=1e-8, atol=1e-8 * scale)


@pytest.mark.parametrize("frames", [np.zeros((3, 4)), np.empty((0, 4))], ids=["zero", "none"])
def test_orthonormal_basis_of_nothing_has_rank_zero(frames):
    U, rank = geo.orthonormal_basis(frames, 2)
    assert rank == 0 and U.shape == (4, 2) and not U.any()


# ---------------------------------------------------------------------- covariances
def test_shrunk_covariance_of_two_frames_is_ledoit_wolf():
    frames = np.random.default_rng(3).normal(size=(2, 6))
    Sigma, _ = geo.shrunk_covariance(frames, reg=0.0)
    expected = LedoitWolf().fit(frames).covariance_
    assert_allclose(Sigma, expected, atol=1e-12)
    assert not np.allclose(Sigma, np.trace(Sigma) / 6 * np.eye(6))  # not shrunk all the way


# ---------------------------------------------------------------------- types and messages
@pytest.mark.parametrize(
    ("func", "name"),
    [
        (geo.logm_spd, "C"),
        (geo.sqrtm_spd, "C"),
        (geo.log_vectors, "C"),
        (geo.sym_to_vec, "S"),
        (geo.inverse_sqrt_factor, "W"),
    ],
)
def test_non_square_input_is_named_in_the_message(func, name):
    with pytest.raises(ValueError, match=rf"^{name} must be square matrices .*got \(3, 4\)\.$"):
        func(np.zeros((3, 4)))


def test_sym_to_vec_of_a_four_dimensional_stack():
    S = random_spd(6, 3, random_state=4).reshape(2, 3, 3, 3)
    v = geo.sym_to_vec(S)
    assert v.shape == (2, 3, 6)
    assert_allclose(v[1, 2], geo.sym_to_vec(S[1, 2]))


def test_single_precision_input_is_computed_in_double():
    S = random_spd(2, 3, random_state=5).astype(np.float32)
    assert geo.sym_to_vec(S).dtype == np.float64
    assert_allclose(geo.sym_to_vec(S), geo.sym_to_vec(S.astype(np.float64)), rtol=1e-15)


def test_kernel_map_ignores_parameters_its_kernel_has_not():
    A, B = np.eye(3), np.arange(9.0).reshape(3, 3)
    assert_allclose(geo.kernel_map(A, B, kernel="linear", gamma=0.5, degree=2), A @ B.T)
