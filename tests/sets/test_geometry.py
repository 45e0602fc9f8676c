"""Tests for emoset.sets.geometry: SPD functions, bases, embeddings and kernel maps."""

import numpy as np
import pytest
from _factories import random_bases, random_spd
from numpy.testing import assert_allclose
from scipy.linalg import expm, logm
from sklearn.covariance import LedoitWolf

from emoset.sets import geometry as geo


def test_logm_spd_matches_scipy_on_a_stack():
    C = random_spd(5, 4, random_state=1)
    L = geo.logm_spd(C)
    for i in range(5):
        assert_allclose(L[i], logm(C[i]).real, atol=1e-10)


def test_logm_spd_handles_extra_batch_axes_and_round_trips_with_expm():
    S = geo.symmetrize(np.random.default_rng(0).normal(size=(2, 3, 4, 4)))
    E = geo.expm_sym(S)
    assert E.shape == (2, 3, 4, 4)
    assert_allclose(E[1, 2], expm(S[1, 2]), rtol=1e-10, atol=1e-12)
    assert_allclose(geo.logm_spd(E), S, atol=1e-9)


def test_logm_spd_clips_singular_matrices_to_a_finite_log():
    v = np.array([1.0, 2.0, 0.0])
    C = np.outer(v, v)  # rank 1
    L = geo.logm_spd(C)
    assert np.isfinite(L).all()
    assert_allclose(L, L.T)
    lam = np.linalg.eigvalsh(L)
    assert lam.min() == pytest.approx(np.log(geo.EIGENVALUE_FLOOR * 5.0), rel=1e-6)


def test_logm_spd_symmetrises_slightly_asymmetric_input():
    C = random_spd(1, 3)[0]
    C_asym = C.copy()
    C_asym[0, 1] += 1e-9
    L = geo.logm_spd(C_asym)
    assert_allclose(L, L.T, atol=0)


def test_sqrtm_spd_squares_back():
    C = random_spd(3, 5, random_state=2)
    R = geo.sqrtm_spd(C)
    assert_allclose(R @ R, C, atol=1e-10)


def test_sym_to_vec_is_an_isometry():
    A, B = geo.symmetrize(np.random.default_rng(3).normal(size=(2, 5, 5)))
    a, b = geo.sym_to_vec(A), geo.sym_to_vec(B)
    assert a.shape == (15,)
    assert a @ b == pytest.approx(np.trace(A @ B))
    assert np.linalg.norm(a - b) == pytest.approx(np.linalg.norm(A - B))


@pytest.mark.parametrize("bad", [np.zeros((3, 4)), np.zeros(4)], ids=["non-square", "1-D"])
def test_square_matrix_functions_reject_non_square_input(bad):
    with pytest.raises(ValueError, match="square matrices"):
        geo.logm_spd(bad)


def test_log_vectors_equal_vectorised_logs_and_give_the_trace_kernel():
    C = random_spd(4, 5, random_state=18, cond=100.0)
    V = geo.log_vectors(C)
    assert V.shape == (4, 15)
    assert_allclose(V, geo.sym_to_vec(geo.logm_spd(C)), atol=1e-12)
    L = [logm(c).real for c in C]
    assert_allclose(V @ V.T, [[np.trace(a @ b) for b in L] for a in L], atol=1e-9)


def test_sym_to_vec_of_an_asymmetric_matrix_is_that_of_its_symmetric_part():
    A = np.random.default_rng(19).normal(size=(4, 4))
    assert_allclose(geo.sym_to_vec(A), geo.sym_to_vec(geo.symmetrize(A)), atol=1e-15)


def test_orthonormal_basis_spans_the_frames():
    rng = np.random.default_rng(4)
    frames = rng.normal(size=(3, 2)) @ rng.normal(size=(2, 6))  # rank 2 in R^6
    U, rank = geo.orthonormal_basis(frames, 2)
    assert U.shape == (6, 2) and rank == 2
    assert_allclose(U.T @ U, np.eye(2), atol=1e-12)
    assert_allclose(U @ U.T @ frames.T, frames.T, atol=1e-10)


def test_orthonormal_basis_pads_with_zero_columns_when_rank_is_short():
    frames = np.random.default_rng(5).normal(size=(2, 7))
    U, rank = geo.orthonormal_basis(frames, 4)
    assert rank == 2
    assert_allclose(U[:, 2:], 0.0)
    assert_allclose(U[:, :2].T @ U[:, :2], np.eye(2), atol=1e-12)


@pytest.mark.parametrize("n_dims", [0, 8], ids=["zero", "above-d"])
def test_orthonormal_basis_rejects_bad_n_dims(n_dims):
    with pytest.raises(ValueError, match=r"n_dims must be in \[1, 7\]"):
        geo.orthonormal_basis(np.ones((3, 7)), n_dims)


def test_projector_vectors_give_the_projection_kernel():
    U = random_bases(3, 6, 2, random_state=6)
    V = random_bases(4, 6, 2, random_state=7)
    K = geo.projector_vectors(U) @ geo.projector_vectors(V).T
    direct = np.array([[np.linalg.norm(u.T @ v) ** 2 for v in V] for u in U])
    assert_allclose(K, direct, atol=1e-12)


def test_projector_vectors_reject_2d_input():
    with pytest.raises(ValueError, match=r"shape \(n_sets, d, r\)"):
        geo.projector_vectors(np.eye(3))


@pytest.mark.parametrize("shrinkage", ["ledoit-wolf", 0.0, 0.1, 1.0])
def test_shrunk_covariance_keeps_two_frame_sets_positive_definite(shrinkage):
    frames = np.random.default_rng(8).normal(size=(2, 10))
    Sigma, mean = geo.shrunk_covariance(frames, shrinkage=shrinkage)
    assert_allclose(mean, frames.mean(axis=0))
    assert_allclose(Sigma, Sigma.T)
    assert np.linalg.eigvalsh(Sigma).min() > 0
    assert np.isfinite(geo.logm_spd(Sigma)).all()


def test_shrunk_covariance_of_identical_frames_is_still_positive_definite():
    Sigma, _ = geo.shrunk_covariance(np.ones((5, 3)))
    assert np.linalg.eigvalsh(Sigma).min() > 0


def test_shrunk_covariance_ledoit_wolf_matches_sklearn():
    frames = np.random.default_rng(9).normal(size=(12, 5))
    Sigma, _ = geo.shrunk_covariance(frames, reg=0.0)
    assert_allclose(Sigma, LedoitWolf().fit(frames).covariance_, atol=1e-12)


def test_shrunk_covariance_fixed_shrinkage_formula():
    frames = np.random.default_rng(10).normal(size=(6, 4))
    S = np.cov(frames.T, bias=True)
    mu = np.trace(S) / 4
    Sigma, _ = geo.shrunk_covariance(frames, shrinkage=0.25, reg=0.0)
    assert_allclose(Sigma, 0.75 * S + 0.25 * mu * np.eye(4), atol=1e-12)


def test_gaussian_embedding_formula_and_determinant():
    rng = np.random.default_rng(11)
    means = rng.normal(size=(3, 4))
    covs = random_spd(3, 4, random_state=12)
    P = geo.gaussian_embedding(means, covs)
    assert P.shape == (3, 5, 5)
    mu, S = means[1], covs[1]
    expected = np.block([[S + np.outer(mu, mu), mu[:, None]], [mu[None, :], np.ones((1, 1))]])
    assert_allclose(P[1], expected)
    assert_allclose(np.linalg.det(P), np.linalg.det(covs), rtol=1e-10)
    assert np.linalg.eigvalsh(P).min() > 0


def test_gaussian_embedding_det_normalize_gives_unit_determinant_and_matching_log():
    rng = np.random.default_rng(13)
    means = rng.normal(size=(2, 3))
    covs = random_spd(2, 3, random_state=14, cond=50.0) * 7.0
    P = geo.gaussian_embedding(means, covs, det_normalize=True)
    assert_allclose(np.linalg.det(P), 1.0, rtol=1e-10)
    L = geo.gaussian_embedding(means, covs, det_normalize=True, log=True)
    assert_allclose(L, geo.logm_spd(P), atol=1e-10)
    assert_allclose(np.trace(L, axis1=1, axis2=2), 0.0, atol=1e-10)


def test_gaussian_embedding_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="covariances must have shape"):
        geo.gaussian_embedding(np.zeros((2, 3)), np.stack([np.eye(4)] * 2))


def test_kernel_maps_match_their_formulas():
    rng = np.random.default_rng(15)
    A, B = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    lin = np.array([[a @ b for b in B] for a in A])
    sq = np.array([[np.sum((a - b) ** 2) for b in B] for a in A])
    assert_allclose(geo.kernel_map(A, B, kernel="linear"), lin)
    assert_allclose(
        geo.kernel_map(A, B, kernel="poly", gamma=0.5, degree=3, coef0=2.0),
        (0.5 * lin + 2.0) ** 3,
    )
    assert_allclose(geo.kernel_map(A, B, kernel="rbf", gamma=0.3), np.exp(-0.3 * sq))


def test_mean_squared_distance_matches_brute_force():
    A = np.random.default_rng(17).normal(size=(7, 3))
    brute = np.mean([[np.sum((a - b) ** 2) for b in A] for a in A])
    assert geo.mean_squared_distance(A) == pytest.approx(brute)


def test_kernel_map_rejects_unknown_name():
    with pytest.raises(ValueError, match="Unknown kernel 'sigmoid'; expected one of"):
        geo.kernel_map(np.eye(2), np.eye(2), kernel="sigmoid")


def test_kernel_functions_registry_names():
    assert set(geo.KERNELS) == {"linear", "poly", "rbf"}
