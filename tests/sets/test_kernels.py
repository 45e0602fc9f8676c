"""Tests for emoset.sets.kernels: each kernel against its direct formula, PSD Gram matrices."""

import logging
import re

import numpy as np
import pytest
from _factories import generate_sets, random_bases, random_spd
from numpy.testing import assert_allclose
from scipy.linalg import logm

from emoset.sets.geometry import mean_squared_distance, projector_vectors
from emoset.sets.imagesets import CovarianceModel, GaussianModel, SubspaceModel
from emoset.sets.kernels import EuclideanKernel, LogEuclideanKernel, ProjectionKernel


@pytest.fixture
def make_sets():
    """Factory fixture: ``make_sets(n_sets, n_features, **kwargs) -> (sets, y)``."""
    return generate_sets


FORMS = ["linear", "poly", "rbf"]
GAMMA, DEGREE, COEF0 = 0.3, 3, 0.5


def _apply_form(lin, sqdist, form):
    if form == "linear":
        return lin
    if form == "poly":
        return (GAMMA * lin + COEF0) ** DEGREE
    return np.exp(-GAMMA * sqdist)


def _kernel(cls, form):
    return cls(form, gamma=GAMMA, degree=DEGREE, coef0=COEF0)


@pytest.mark.parametrize("form", FORMS)
def test_projection_kernel_matches_direct_formula(form):
    U = random_bases(4, 6, 2, random_state=0)
    V = random_bases(3, 6, 2, random_state=1)
    lin = np.array([[np.linalg.norm(v.T @ u, "fro") ** 2 for u in U] for v in V])
    sq = np.array([[np.linalg.norm(v @ v.T - u @ u.T, "fro") ** 2 for u in U] for v in V])
    K = _kernel(ProjectionKernel, form).fit(U).transform(V)
    assert K.shape == (3, 4)
    assert_allclose(K, _apply_form(lin, sq, form), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("form", FORMS)
def test_log_euclidean_kernel_matches_direct_formula(form):
    A = random_spd(4, 5, random_state=2)
    B = random_spd(3, 5, random_state=3)
    logA = [logm(a).real for a in A]
    logB = [logm(b).real for b in B]
    lin = np.array([[np.trace(lb @ la) for la in logA] for lb in logB])
    sq = np.array([[np.linalg.norm(lb - la, "fro") ** 2 for la in logA] for lb in logB])
    K = _kernel(LogEuclideanKernel, form).fit(A).transform(B)
    assert_allclose(K, _apply_form(lin, sq, form), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("form", FORMS)
def test_euclidean_kernel_matches_direct_formula(form):
    rng = np.random.default_rng(4)
    A, B = rng.normal(size=(4, 3)), rng.normal(size=(2, 3))
    lin = np.array([[b @ a for a in A] for b in B])
    sq = np.array([[np.sum((b - a) ** 2) for a in A] for b in B])
    K = _kernel(EuclideanKernel, form).fit(A).transform(B)
    assert_allclose(K, _apply_form(lin, sq, form), rtol=1e-12)


def _summaries(kind, make_sets, n=25, d=6):
    sets, _ = make_sets(n, d, min_frames=2, max_frames=12)
    if kind == "projection":
        with pytest.warns(UserWarning, match="fewer than n_dims"):
            return ProjectionKernel, SubspaceModel(n_dims=3).fit_transform(sets)
    if kind == "covariance":
        return LogEuclideanKernel, CovarianceModel().fit_transform(sets)
    if kind == "gaussian":
        return LogEuclideanKernel, GaussianModel().fit_transform(sets)
    return EuclideanKernel, np.stack([s.mean(axis=0) for s in sets])


KINDS = ["projection", "covariance", "gaussian", "mean"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", KINDS)
def test_gram_matrices_are_symmetric_psd_and_match_transform(kind, form, make_sets):
    cls, M = _summaries(kind, make_sets)
    kern = cls(form)
    K = kern.fit_transform(M)
    assert_allclose(K, K.T, atol=0)
    eig = np.linalg.eigvalsh(K)
    assert eig.min() >= -1e-9 * max(1.0, eig.max())
    assert_allclose(cls(form).fit(M).transform(M), K, rtol=1e-9, atol=1e-9)


def test_rbf_default_gamma_is_inverse_mean_squared_distance():
    U = random_bases(6, 5, 2, random_state=5)
    kern = ProjectionKernel("rbf").fit(U)
    assert kern.gamma_ == pytest.approx(1.0 / mean_squared_distance(projector_vectors(U)))
    assert ProjectionKernel("linear").fit(U).gamma_ is None
    assert ProjectionKernel("rbf", gamma=2.0).fit(U).gamma_ == 2.0


def test_poly_default_gamma_normalises_self_similarity():
    A = random_spd(5, 3, random_state=6)
    kern = LogEuclideanKernel("poly").fit(A)
    E = kern.embedding_
    assert kern.gamma_ == pytest.approx(E.shape[0] / np.sum(E * E))


def test_default_gamma_falls_back_to_one_for_identical_training_points():
    kern = EuclideanKernel("rbf").fit(np.ones((3, 2)))
    assert kern.gamma_ == 1.0


def test_kernel_columns_follow_training_order_and_feature_names():
    A = np.arange(6.0).reshape(3, 2)
    kern = EuclideanKernel().fit(A)
    assert_allclose(kern.transform(A[:1]), A[:1] @ A.T)
    assert list(kern.get_feature_names_out()) == ["k0", "k1", "k2"]


def test_log_euclidean_kernel_agrees_with_pyriemann():
    kernel_mod = pytest.importorskip("pyriemann.geometry.kernel")
    C = random_spd(6, 4, random_state=7)
    ours = LogEuclideanKernel().fit_transform(C)
    theirs = kernel_mod.kernel_logeuclid(C, reg=0.0)
    assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)


BAD_KERNEL_INPUT = [
    pytest.param(
        ProjectionKernel, np.zeros((3, 4)), "expects an array of 3 dimensions", id="proj-2d"
    ),
    pytest.param(LogEuclideanKernel, np.zeros((3, 4, 5)), "expects square matrices", id="le-nonsq"),
    pytest.param(LogEuclideanKernel, np.zeros((0, 4, 4)), r"0 sample\(s\)", id="le-empty"),
    pytest.param(LogEuclideanKernel, np.full((2, 3, 3), np.inf), "infinity", id="le-inf"),
    pytest.param(EuclideanKernel, np.zeros((3, 4, 4)), "Found array with dim 3", id="eu-3d"),
    pytest.param(EuclideanKernel, np.zeros((0, 4)), r"0 sample\(s\)", id="eu-empty"),
    pytest.param(EuclideanKernel, np.full((2, 4), np.nan), "Input X contains NaN", id="eu-nan"),
]


@pytest.mark.parametrize(("cls", "X", "match"), BAD_KERNEL_INPUT)
def test_kernels_reject_bad_input(cls, X, match):
    with pytest.raises(ValueError, match=match):
        cls().fit(X)


def test_kernels_reject_summaries_of_another_shape_in_transform():
    kern = LogEuclideanKernel().fit(random_spd(3, 4))
    with pytest.raises(ValueError, match=r"fitted on summaries of shape \(4, 4\); got \(5, 5\)"):
        kern.transform(random_spd(2, 5))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"kernel": "sigmoid"}, "kernel must be one of"),
        ({"kernel": "rbf", "gamma": -1.0}, "gamma must be None or a positive float"),
        ({"kernel": "poly", "degree": 0}, "degree must be a positive integer"),
        ({"kernel": "poly", "degree": 1.5}, "degree must be a positive integer"),
        ({"kernel": "poly", "coef0": -1.0}, "coef0 must be a non-negative float"),
    ],
    ids=["unknown-kernel", "negative-gamma", "degree-0", "degree-float", "negative-coef0"],
)
def test_kernels_reject_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        EuclideanKernel(**params).fit(np.eye(3))


# --------------------------------------------------------------------------------------
# Nyström approximation (n_landmarks)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", KINDS)
def test_nystroem_with_every_training_set_is_the_exact_kernel(kind, form, make_sets):
    """m >= n: the feature map reproduces K, the rows reproduce the exact rows' Gram."""
    cls, M = _summaries(kind, make_sets)
    train, new = M[:18], M[18:]
    exact = cls(form).fit(train)
    K_new, K_train = exact.transform(new), exact.transform(train)
    feats = cls(form, n_landmarks=100, output="features").fit(train)
    assert feats.n_landmarks_ == 18
    F_new, F_train = feats.transform(new), feats.fit_transform(train)
    scale = np.abs(K_train).max()
    assert_allclose(F_new @ F_train.T, K_new, atol=1e-9 * scale)
    assert_allclose(F_train @ F_train.T, K_train, atol=1e-9 * scale)
    rows = cls(form, n_landmarks=18).fit(train)
    R_new, R_train = rows.transform(new), rows.transform(train)
    assert R_train.shape[1] <= 18
    # the rows are K(., train) in orthonormal coordinates: same inner products
    assert_allclose(R_new @ R_train.T, K_new @ K_train.T, atol=1e-9 * scale**2 * 18)
    assert_allclose(R_train @ R_train.T, K_train @ K_train.T, atol=1e-9 * scale**2 * 18)


def test_nystroem_is_linear_in_n_and_approximates_the_kernel(make_sets):
    """m < n: n x r features; the error of the approximate kernel shrinks as m grows."""
    _, M = _summaries("covariance", make_sets, n=60)
    K = LogEuclideanKernel("rbf").fit(M).transform(M)
    errors = []
    for m in (5, 15, 30, 60):
        kern = LogEuclideanKernel("rbf", n_landmarks=m, output="features", random_state=0)
        F = kern.fit_transform(M)
        assert F.shape[0] == 60 and F.shape[1] <= m
        assert kern.embedding_.shape[0] == m == kern.landmark_indices_.size
        assert len(kern.get_feature_names_out()) == F.shape[1]
        errors.append(np.linalg.norm(F @ F.T - K) / np.linalg.norm(K))
    assert errors == sorted(errors, reverse=True)
    assert errors[0] > 1e-3 and errors[-1] < 1e-9


def test_nystroem_landmarks_follow_random_state(make_sets):
    _, M = _summaries("mean", make_sets, n=40)
    a = EuclideanKernel("rbf", n_landmarks=8, random_state=3).fit(M)
    b = EuclideanKernel("rbf", n_landmarks=8, random_state=3).fit(M)
    c = EuclideanKernel("rbf", n_landmarks=8, random_state=4).fit(M)
    assert np.array_equal(a.landmark_indices_, b.landmark_indices_)
    assert np.array_equal(a.transform(M), b.transform(M))
    assert not np.array_equal(a.landmark_indices_, c.landmark_indices_)
    assert a.gamma_ == c.gamma_ == EuclideanKernel("rbf").fit(M).gamma_  # from all sets


def test_auto_landmarks_keep_small_problems_exact_and_cap_large_ones():
    from emoset.sets.kernels import AUTO_EXACT_MAX, AUTO_LANDMARKS

    rng = np.random.default_rng(0)
    small = EuclideanKernel("rbf", n_landmarks="auto").fit(rng.normal(size=(50, 3)))
    assert small.n_landmarks_ is None and small.transform(np.zeros((1, 3))).shape == (1, 50)
    X = rng.normal(size=(AUTO_EXACT_MAX + 1, 3))
    large = EuclideanKernel("rbf", n_landmarks="auto", random_state=0).fit(X)
    assert large.n_landmarks_ == AUTO_LANDMARKS
    assert large.transform(X[:2]).shape[1] <= AUTO_LANDMARKS


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_landmarks": 0}, "n_landmarks must be None, 'auto' or a positive integer"),
        ({"n_landmarks": True}, "n_landmarks must be None, 'auto' or a positive integer"),
        ({"n_landmarks": "all"}, "n_landmarks must be None, 'auto' or a positive integer"),
        ({"n_landmarks": 2, "output": "kernel"}, "output must be one of"),
    ],
    ids=["zero", "bool", "unknown-string", "unknown-output"],
)
def test_nystroem_rejects_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        EuclideanKernel(**params).fit(np.eye(3))


def test_kernel_row_scaler_commutes_with_a_rotation_of_the_columns():
    """One scale for all columns: LR on rotated rows (Nyström coordinates) sees the same data."""
    from emoset.sets.kernels import KernelRowScaler

    rng = np.random.default_rng(0)
    K = 2400 + rng.normal(size=(30, 30)) * np.logspace(0, 3, 30)
    Q, _ = np.linalg.qr(rng.normal(size=(30, 30)))
    a = KernelRowScaler().fit(K)
    b = KernelRowScaler().fit(K @ Q)
    Kt = K[:5] + 1.0
    assert_allclose(b.transform(Kt @ Q), a.transform(Kt) @ Q, atol=1e-10)
    assert_allclose(a.transform(K).mean(axis=0), 0, atol=1e-9)
    assert np.linalg.norm(a.transform(K)) == pytest.approx(len(K))
    assert KernelRowScaler().fit(np.ones((4, 3))).scale_ == 1.0  # constant rows: no division by 0


# --------------------------------------------------------------------------------------
# Defaults, limits and messages, worked out by hand (from the mutants that survived above)
# --------------------------------------------------------------------------------------


def test_poly_defaults_are_degree_two_and_offset_one():
    A = np.array([[1.0, 0.0], [1.0, 2.0]])
    K = EuclideanKernel("poly", gamma=0.5).fit_transform(A)
    # (0.5 <a_i, a_j> + 1) ** 2 with <.,.> = [[1, 1], [1, 5]]
    assert_allclose(K, [[1.5**2, 1.5**2], [1.5**2, 3.5**2]])


@pytest.mark.parametrize(
    "params",
    [
        {"kernel": "poly", "degree": 1, "coef0": 0.0},  # the linear kernel, scaled
        {"n_landmarks": 1},
    ],
    ids=str,
)
def test_parameters_at_their_limits_are_accepted(params):
    A = np.array([[1.0, 0.0], [1.0, 2.0], [0.0, 3.0]])
    kern = EuclideanKernel(**params).fit(A)
    if "degree" in params:
        assert_allclose(kern.transform(A), kern.gamma_ * (A @ A.T))
    else:
        assert kern.n_landmarks_ == 1 and kern.transform(A).shape == (3, 1)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kernel": "rbf", "gamma": 0.0}, "gamma must be None or a positive float; got 0.0."),
        (
            {"kernel": "poly", "coef0": -1.0},
            "coef0 must be a non-negative float so that the kernel is positive semi-definite; "
            "got -1.0.",
        ),
    ],
    ids=["gamma-0", "coef0"],
)
def test_bad_params_are_named_in_full(params, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        EuclideanKernel(**params).fit(np.eye(3))


@pytest.mark.parametrize(
    ("cls", "X", "message"),
    [
        (
            ProjectionKernel,
            np.zeros((3, 4)),
            "ProjectionKernel expects an array of 3 dimensions (n_sets, d, r: subspace bases); "
            "got shape (3, 4).",
        ),
        (
            LogEuclideanKernel,
            np.zeros((3, 4, 5)),
            "LogEuclideanKernel expects square matrices; got shape (4, 5).",
        ),
        (LogEuclideanKernel, np.full((2, 3, 3), np.nan), "Input X contains NaN."),
    ],
    ids=["proj-2d", "le-nonsq", "le-nan"],
)
def test_bad_input_is_named_in_full(cls, X, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        cls().fit(X)


def test_new_input_must_have_the_training_shape():
    kern = EuclideanKernel().fit(np.eye(3))
    assert kern.n_features_in_ == 3
    message = "X has 4 features, but EuclideanKernel is expecting 3 features as input."
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        kern.transform(np.eye(4))
    spd = LogEuclideanKernel().fit(random_spd(3, 4))
    message = "LogEuclideanKernel was fitted on summaries of shape (4, 4); got (5, 5)."
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        spd.transform(random_spd(2, 5))


def test_integer_input_gives_float_kernels():
    A = np.array([[1, 0], [1, 2]])
    K = EuclideanKernel().fit(A).transform(A)
    assert K.dtype == np.float64
    assert_allclose(K, [[1.0, 1.0], [1.0, 5.0]])


def test_input_tags_say_which_arrays_a_kernel_takes():
    three = ProjectionKernel().__sklearn_tags__().input_tags
    two = EuclideanKernel().__sklearn_tags__().input_tags
    assert (three.two_d_array, three.three_d_array, three.pairwise) == (False, True, False)
    assert (two.two_d_array, two.three_d_array, two.pairwise) == (True, False, False)
    assert three.pairwise is False and two.pairwise is False


def test_rbf_default_gamma_below_one_and_the_fallback_logged(caplog):
    # four points at the corners of a square of side 0.5; over all 16 ordered pairs (i, j),
    # self-pairs included: 8 at 0.25, 4 at 0.5, 4 at 0, a mean of 0.25
    A = 0.5 * np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    assert EuclideanKernel("rbf").fit(A).gamma_ == pytest.approx(4.0)
    with caplog.at_level(logging.DEBUG, logger="emoset.sets.kernels"):
        assert EuclideanKernel("rbf").fit(np.ones((3, 2))).gamma_ == 1.0
    assert caplog.messages == ["All training embeddings coincide; using gamma=1."]


def test_exact_kernel_has_no_landmarks_and_exact_features_use_every_set():
    A = np.random.default_rng(0).normal(size=(5, 3))
    exact = EuclideanKernel().fit(A)
    assert exact.n_landmarks_ is None and exact.landmark_indices_ is None
    assert exact.components_ is None
    feats = EuclideanKernel(output="features").fit(A)
    assert feats.n_landmarks_ == 5
    np.testing.assert_array_equal(feats.landmark_indices_, np.arange(5))
    names = exact.get_feature_names_out()
    assert names.dtype == object and names.tolist() == ["k0", "k1", "k2", "k3", "k4"]


def test_landmarks_are_drawn_without_replacement_and_logged(caplog):
    A = np.random.default_rng(1).normal(size=(40, 3))
    with caplog.at_level(logging.DEBUG, logger="emoset.sets.kernels"):
        kern = EuclideanKernel("rbf", n_landmarks=30, random_state=0).fit(A)
    idx = kern.landmark_indices_
    assert len(np.unique(idx)) == 30 and np.all(np.diff(idx) > 0)
    r = kern.components_.shape[1]
    assert caplog.messages == [
        f"EuclideanKernel: 30 of 40 training sets as landmarks, {r} features."
    ]


def test_nystroem_rows_from_fit_transform_equal_transform():
    A = np.random.default_rng(2).normal(size=(20, 3))
    kern = EuclideanKernel("rbf", n_landmarks=6, random_state=0)
    F = kern.fit_transform(A)
    assert F.shape == (20, kern.components_.shape[1])
    assert_allclose(F, kern.transform(A), atol=1e-10)


def test_auto_landmarks_keep_the_exact_kernel_at_the_limit():
    from emoset.sets.kernels import AUTO_EXACT_MAX

    X = np.random.default_rng(3).normal(size=(AUTO_EXACT_MAX, 2))
    assert EuclideanKernel("rbf", n_landmarks="auto").fit(X).n_landmarks_ is None


def test_kernel_row_scaler_by_hand():
    """Scale: the Frobenius norm of the centred rows over the number of rows (not columns)."""
    from emoset.sets.kernels import KernelRowScaler

    X = np.array([[0.0, 0.0, 0.3], [0.4, 0.0, 0.3], [0.0, 0.3, 0.3], [0.4, 0.3, 0.3]])
    # centred: +-0.2 and +-0.15 in every row, i.e. norm sqrt(4 * (0.04 + 0.0225)) = 0.5
    scaler = KernelRowScaler().fit(X)
    assert scaler.scale_ == pytest.approx(0.5 / 4)
    assert_allclose(scaler.mean_, [0.2, 0.15, 0.3])
    assert_allclose(scaler.transform(X[:1]), [[-0.2 / 0.125, -0.15 / 0.125, 0.0]])
    message = "X has 2 features, but KernelRowScaler is expecting 3 features as input."
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        scaler.transform(X[:, :2])
