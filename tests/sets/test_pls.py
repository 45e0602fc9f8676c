"""Tests for emoset.sets.pls: one-vs-rest PLS equals scikit-learn's PLS, both backends agree."""

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
