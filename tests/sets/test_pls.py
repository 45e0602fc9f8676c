"""Tests for emoset.sets.pls: one-vs-rest PLS equals scikit-learn's PLS, both backends agree."""

import logging
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import softmax
from sklearn.cross_decomposition import PLSRegression
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError

from emoset.sets.pls import OneVsRestPLSClassifier

BACKENDS = ["ikpls", "sklearn"]


@pytest.fixture
def data():
    X, y = make_classification(
        n_samples=60, n_features=15, n_informative=6, n_classes=4, random_state=0
    )
    X_new = np.random.default_rng(1).normal(size=(9, 15))
    return X, y, X_new


def _one_hot(y):
    classes = np.unique(y)
    return (y[:, None] == classes[None, :]).astype(float)


@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
def test_ovr_equals_one_sklearn_pls_per_class(data, backend, scale):
    X, y, X_new = data
    Y = _one_hot(y)
    ref = np.column_stack(
        [
            PLSRegression(n_components=4, scale=scale).fit(X, Y[:, c]).predict(X_new).ravel()
            for c in range(Y.shape[1])
        ]
    )
    clf = OneVsRestPLSClassifier(4, scale=scale, backend=backend).fit(X, y)
    assert_allclose(clf.decision_function(X_new), ref, atol=1e-10)
    assert_allclose(clf.decision_function_path(X_new)[-1], ref, atol=1e-10)
    assert_allclose(clf.predict_proba(X_new), softmax(ref, axis=1), atol=1e-10)
    assert (clf.predict(X_new) == clf.classes_[ref.argmax(axis=1)]).all()


@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
def test_pls2_equals_sklearn_multi_target_pls(data, backend, scale):
    X, y, X_new = data
    # sklearn's NIPALS iterates to `tol` for several targets; ikpls is exact.
    ref = PLSRegression(n_components=3, scale=scale, tol=1e-14, max_iter=10_000)
    ref = ref.fit(X, _one_hot(y)).predict(X_new)
    clf = OneVsRestPLSClassifier(3, scale=scale, strategy="pls2", backend=backend).fit(X, y)
    assert_allclose(clf.decision_function(X_new), ref, atol=1e-5)


def test_pls2_differs_from_one_pls_per_class(data):
    X, y, X_new = data
    ovr = OneVsRestPLSClassifier(2).fit(X, y).decision_function(X_new)
    pls2 = OneVsRestPLSClassifier(2, strategy="pls2").fit(X, y).decision_function(X_new)
    assert np.abs(ovr - pls2).max() > 1e-3


@pytest.mark.parametrize("strategy", ["ovr", "pls2"])
def test_latent_scores_match_sklearn_x_scores_up_to_sign(data, strategy):
    X, y, _ = data
    Y = _one_hot(y)
    clf = OneVsRestPLSClassifier(3, strategy=strategy).fit(X, y)
    T = clf.latent_scores(X, n_components=None)
    targets = [Y[:, [c]] for c in range(4)] if strategy == "ovr" else [Y]
    assert T.shape == (60, len(targets), 3)
    for m, Ym in enumerate(targets):
        ref = PLSRegression(3, scale=False, tol=1e-14, max_iter=10_000).fit(X, Ym).x_scores_
        assert_allclose(np.abs(T[:, m]), np.abs(ref), atol=1e-5)
    assert_allclose(clf.transform(X), T.reshape(60, -1))
    assert_allclose(clf.x_scores_, T.reshape(60, -1))
    assert clf.latent_scores(X).shape == (60, len(targets), 2)


def test_backends_give_the_same_model(data):
    X, y, X_new = data
    a = OneVsRestPLSClassifier(5, backend="ikpls").fit(X, y)
    b = OneVsRestPLSClassifier(5, backend="sklearn").fit(X, y)
    assert_allclose(a.coef_, b.coef_, atol=1e-10)
    assert_allclose(a.intercept_, b.intercept_, atol=1e-10)
    assert_allclose(np.abs(a.transform(X_new)), np.abs(b.transform(X_new)), atol=1e-9)


@pytest.mark.parametrize("strategy", ["ovr", "pls2"])
def test_decision_function_path_equals_separate_fits(data, strategy):
    X, y, X_new = data
    path = OneVsRestPLSClassifier(5, strategy=strategy).fit(X, y).decision_function_path(X_new)
    assert path.shape == (5, 9, 4)
    for a in (1, 3):
        single = OneVsRestPLSClassifier(a, strategy=strategy).fit(X, y)
        assert_allclose(path[a - 1], single.decision_function(X_new), atol=1e-10)


def test_binary_decision_function_follows_sklearn_convention():
    X, y = make_classification(n_samples=40, n_features=6, random_state=2)
    labels = np.array(["neg", "pos"])[y]
    clf = OneVsRestPLSClassifier(2).fit(X, labels)
    d = clf.decision_function(X)
    assert d.shape == (40,)
    assert (clf.predict(X) == np.where(d > 0, "pos", "neg")).all()
    assert_allclose(clf.predict_proba(X)[:, 1], 1.0 / (1.0 + np.exp(-d)), atol=1e-12)


def test_n_components_is_clipped_to_the_data():
    X = np.random.default_rng(3).normal(size=(5, 3))
    clf = OneVsRestPLSClassifier(10).fit(X, [0, 1, 0, 1, 2])
    assert clf.n_components_ == 3
    assert clf.x_rotations_.shape == (3, 3, 3)
    clf = OneVsRestPLSClassifier(10).fit(X[:3], [0, 1, 1])
    assert clf.n_components_ == 2


def test_fit_separates_separable_classes():
    X, y = make_classification(
        n_samples=120, n_features=10, n_informative=5, n_classes=3, class_sep=3.0, random_state=4
    )
    assert OneVsRestPLSClassifier(5).fit(X[:80], y[:80]).score(X[80:], y[80:]) > 0.8


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_components": 0}, "n_components must be a positive integer"),
        ({"n_components": 2.0}, "n_components must be a positive integer"),
        ({"strategy": "ovo"}, "strategy must be one of"),
        ({"backend": "jax"}, "backend must be one of"),
    ],
    ids=["zero-components", "float-components", "bad-strategy", "bad-backend"],
)
def test_rejects_bad_params(data, params, match):
    X, y, _ = data
    with pytest.raises(ValueError, match=match):
        OneVsRestPLSClassifier(**params).fit(X, y)


def test_rejects_a_single_class(data):
    X, _, _ = data
    with pytest.raises(ValueError, match="at least 2 classes; got 1 class"):
        OneVsRestPLSClassifier().fit(X, np.zeros(len(X)))


def test_rejects_out_of_range_latent_dimensions(data):
    X, y, _ = data
    clf = OneVsRestPLSClassifier(3).fit(X, y)
    with pytest.raises(ValueError, match=r"n_components must be in \[1, 3\]; got 4"):
        clf.latent_scores(X, n_components=4)


@pytest.mark.parametrize(
    "method", ["predict", "decision_function", "predict_proba", "transform", "latent_scores"]
)
def test_methods_need_fit(data, method):
    X, _, _ = data
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        getattr(OneVsRestPLSClassifier(), method)(X)


def test_rejects_wrong_number_of_features(data):
    X, y, _ = data
    clf = OneVsRestPLSClassifier(3).fit(X, y)
    with pytest.raises(
        ValueError, match="X has 4 features, but OneVsRestPLSClassifier is expecting 15"
    ):
        clf.predict(X[:, :4])


# --------------------------------------------------------------------------------------
# Worked out by hand (from the mutants that survived the tests above)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "warned"),
    [
        ("sklearn", "y residual is constant at iteration 1"),
        ("ikpls", "X weight is close to zero. Predictions with A = 2 component(s) or higher"),
    ],
)
def test_the_engines_warnings_are_logged_with_their_name(backend, warned, caplog):
    """One class is the first column exactly: a second component has nothing left to fit."""
    X = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    with caplog.at_level(logging.DEBUG, logger="emoset.sets.pls"):
        OneVsRestPLSClassifier(n_components=2, backend=backend).fit(X, [1, 0, 1, 0])
    assert caplog.messages  # one per class model
    assert all(m.startswith(f"PLS ({backend}) warned: {warned}") for m in caplog.messages)


def test_fewer_components_than_asked_are_logged(caplog):
    X = np.random.default_rng(0).normal(size=(4, 6))
    with caplog.at_level(logging.INFO, logger="emoset.sets.pls"):
        clf = OneVsRestPLSClassifier(n_components=5).fit(X, [0, 1, 0, 1])
        assert clf.n_components_ == 3
        assert caplog.messages == ["n_components=5 reduced to 3 (n_samples=4, n_features=6)."]
        caplog.clear()
        OneVsRestPLSClassifier(n_components=3).fit(X, [0, 1, 0, 1])  # as asked: nothing said
    assert caplog.messages == []
    many = np.random.default_rng(1).normal(size=(30, 20))
    assert OneVsRestPLSClassifier().fit(many, [0, 1] * 15).n_components_ == 10  # the default


def test_scale_uses_the_sample_standard_deviation_and_keeps_constant_columns():
    X = np.array([[0.0, 1.0, 5.0], [2.0, 1.0, 5.0], [4.0, 4.0, 5.0], [6.0, 4.0, 5.0]])
    clf = OneVsRestPLSClassifier(n_components=2, scale=True).fit(X, [0, 0, 1, 1])
    # ddof=1: sqrt(((-3)^2 + (-1)^2 + 1^2 + 3^2) / 3) and sqrt(4 * 1.5^2 / 3); constant: 1
    assert_allclose(clf.x_std_, [np.sqrt(20 / 3), np.sqrt(3.0), 1.0])
    assert_allclose(clf.x_mean_, [3.0, 2.5, 5.0])
    two = OneVsRestPLSClassifier(scale=True).fit(np.array([[1.0], [4.0]]), [0, 1])
    assert_allclose(two.x_std_, [3.0 / np.sqrt(2)])  # two samples, one feature: still scaled
    # training scores through transform: standardised with the same std (divided, not multiplied)
    assert_allclose(clf.transform(X), clf.x_scores_, atol=1e-12)


def test_pls2_path_ends_at_the_models_scores_with_scaled_targets(data):
    X, y, X_new = data
    clf = OneVsRestPLSClassifier(n_components=4, scale=True, strategy="pls2").fit(X, y)
    assert not np.allclose(clf.y_std_, 1.0)  # the one-hot targets are scaled here
    path = clf.decision_function_path(X_new)
    assert_allclose(path[-1], clf.decision_function(X_new), atol=1e-10)


def test_one_class_is_named_in_full():
    message = "OneVsRestPLSClassifier needs samples of at least 2 classes; got 1 class ('a')."
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        OneVsRestPLSClassifier().fit(np.eye(3), ["a", "a", "a"])


def test_one_latent_dimension_can_be_asked_for(data):
    X, y, X_new = data
    clf = OneVsRestPLSClassifier(n_components=3).fit(X, y)
    T = clf.latent_scores(X_new, n_components=1)
    assert T.shape == (9, 4, 1)
    assert_allclose(T[:, :, 0], clf.latent_scores(X_new)[:, :, 0])
    # transform keeps the first n of each class model, class-major
    assert_allclose(clf.transform(X_new, n_components=1), T[:, :, 0])
    assert clf.transform(X_new, n_components=2).shape == (9, 8)


def test_feature_names_follow_the_transform_columns():
    X = np.random.default_rng(2).normal(size=(8, 5))
    y = ["a", "b", "c", "a", "b", "c", "a", "b"]
    ovr = OneVsRestPLSClassifier(n_components=2).fit(X, y)
    names = ovr.get_feature_names_out()
    assert names.dtype == object
    assert names.tolist() == ["pls_a_0", "pls_a_1", "pls_b_0", "pls_b_1", "pls_c_0", "pls_c_1"]
    assert len(names) == ovr.transform(X).shape[1]
    pls2 = OneVsRestPLSClassifier(n_components=2, strategy="pls2").fit(X, y)
    shared = pls2.get_feature_names_out()
    assert shared.dtype == object and shared.tolist() == ["pls0", "pls1"]
    assert pls2.transform(X).shape == (8, 2)
