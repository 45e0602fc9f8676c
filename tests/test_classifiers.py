"""Tests for emoset.classifiers: the ImageSetPLS facade and make_imageset_pipeline."""

import pickle
import warnings

import numpy as np
import pytest
from _factories import generate_sets
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.svm import SVC

from emoset.classifiers import ImageSetPLS, make_imageset_pipeline
from emoset.imagesets import CovarianceModel, GaussianModel, MeanModel, SubspaceModel
from emoset.kernels import EuclideanKernel, LogEuclideanKernel, ProjectionKernel
from emoset.pls import OneVsRestPLSClassifier


@pytest.fixture
def make_sets():
    """Factory fixture: ``make_sets(n_sets, n_features, **kwargs) -> (sets, y)``."""
    return generate_sets


SET_MODELS = ["subspace", "covariance", "gaussian", "mean"]


@pytest.fixture(scope="module")
def separable():
    """Train/test sets from the same 4 classes, moderately separated."""
    train = generate_sets(80, 8, n_classes=4, separation=0.6, noise=0.5, random_state=1)
    test = generate_sets(60, 8, n_classes=4, separation=0.6, noise=0.5, random_state=2)
    return train, test


@pytest.mark.parametrize("set_model", SET_MODELS)
def test_classifier_is_well_above_chance_on_separable_sets(separable, set_model):
    (X, y), (Xt, yt) = separable
    clf = ImageSetPLS(set_model, n_components=6, n_dims=2).fit(X, y)
    assert clf.score(Xt, yt) >= 0.75  # chance is 0.25


@pytest.mark.parametrize("classifier", ["pls", "svm", "lr"])
@pytest.mark.parametrize("kernel", ["linear", "poly", "rbf"])
def test_every_classifier_and_kernel_form_works(separable, classifier, kernel):
    (X, y), (Xt, yt) = separable
    clf = ImageSetPLS(
        "covariance", kernel=kernel, classifier=classifier, n_components=6, C=10.0
    ).fit(X, y)
    proba = clf.predict_proba(Xt)
    scores = clf.decision_function(Xt)
    pred = clf.predict(Xt)
    assert proba.shape == scores.shape == (60, 4)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert (clf.classes_[proba.argmax(axis=1)] == pred).all()
    assert (clf.classes_[scores.argmax(axis=1)] == pred).all()
    assert clf.score(Xt, yt) > 0.5


@pytest.mark.parametrize("classifier", ["pls", "svm", "lr"])
def test_binary_problems_follow_sklearn_conventions(make_sets, classifier):
    X, y = make_sets(30, 5, n_classes=2)
    labels = np.array(["happy", "sad"])[y]
    clf = ImageSetPLS("mean", classifier=classifier, n_components=3).fit(X, labels)
    d = clf.decision_function(X)
    assert d.shape == (30,)
    assert (clf.predict(X) == np.where(d > 0, "sad", "happy")).all()
    proba = clf.predict_proba(X)
    assert proba.shape == (30, 2)
    assert (clf.classes_[proba.argmax(axis=1)] == clf.predict(X)).all()


def test_predict_proba_is_the_softmax_of_pls_scores(make_sets):
    X, y = make_sets(24, 5)
    clf = ImageSetPLS("mean", n_components=3).fit(X, y)
    s = clf.decision_function(X)
    expected = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    assert_allclose(clf.predict_proba(X), expected)


def test_grid_search_with_group_kfold_over_ragged_sets(make_sets, tmp_path):
    X, y = make_sets(36, 6, min_frames=3, max_frames=20)
    groups = np.arange(36) % 6  # six "speakers"
    assert len({s.shape[0] for s in X}) > 1  # really ragged
    grid = GridSearchCV(
        ImageSetPLS(memory=str(tmp_path)),
        {"set_model": ["subspace", "gaussian"], "n_components": [2, 4], "n_dims": [2]},
        cv=GroupKFold(n_splits=3),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        grid.fit(X, y, groups=groups)
    assert set(grid.best_params_) == {"set_model", "n_components", "n_dims"}
    assert grid.best_score_ > 0.5
    assert grid.predict(X).shape == (36,)


def test_cross_val_score_with_svm_and_groups(make_sets):
    X, y = make_sets(30, 5)
    scores = cross_val_score(
        ImageSetPLS("covariance", classifier="svm", C=10.0),
        X,
        y,
        groups=np.arange(30) % 5,
        cv=GroupKFold(n_splits=5),
    )
    assert scores.mean() > 0.5


def test_latent_scores_for_an_emotion_map(make_sets):
    X, y = make_sets(30, 6)
    clf = ImageSetPLS("mean", n_components=4, pls_strategy="pls2").fit(X, y)
    T = clf.latent_scores(X)
    assert T.shape == (30, 1, 2)
    ovr = ImageSetPLS("mean", n_components=4).fit(X, y)
    assert ovr.latent_scores(X, n_components=3).shape == (30, 3, 3)


def test_latent_scores_need_pls(make_sets):
    X, y = make_sets(20, 4)
    clf = ImageSetPLS("mean", classifier="svm").fit(X, y)
    with pytest.raises(
        ValueError, match="latent_scores needs classifier='pls'; this model uses 'svm'"
    ):
        clf.latent_scores(X)


def test_pickle_round_trip_gives_identical_predictions(make_sets):
    X, y = make_sets(24, 5)
    clf = ImageSetPLS("gaussian", kernel="rbf", n_components=3).fit(X, y)
    clone_ = pickle.loads(pickle.dumps(clf))
    assert_allclose(clone_.decision_function(X), clf.decision_function(X))


def test_clone_keeps_every_parameter():
    clf = ImageSetPLS("covariance", kernel="poly", n_components=3, n_pca=4, gamma=0.1, C=2.0)
    assert clone(clf).get_params() == clf.get_params()


def test_fit_sets_attributes(make_sets):
    X, y = make_sets(21, 5)
    clf = ImageSetPLS("subspace", n_dims=2, n_pca=4, random_state=0).fit(X, y)
    assert clf.n_features_in_ == 5
    assert list(clf.classes_) == [0, 1, 2]
    assert clf.pipeline_.named_steps["model"].n_features_out_ == 4


@pytest.mark.parametrize(
    ("set_model", "classifier", "model_cls", "kernel_cls", "clf_cls"),
    [
        ("subspace", "pls", SubspaceModel, ProjectionKernel, OneVsRestPLSClassifier),
        ("covariance", "svm", CovarianceModel, LogEuclideanKernel, SVC),
        ("gaussian", "lr", GaussianModel, LogEuclideanKernel, LogisticRegression),
        ("mean", "pls", MeanModel, EuclideanKernel, OneVsRestPLSClassifier),
    ],
)
def test_make_imageset_pipeline_chains_model_kernel_classifier(
    set_model, classifier, model_cls, kernel_cls, clf_cls
):
    pipe = make_imageset_pipeline(set_model, classifier=classifier, kernel="rbf", gamma=0.5)
    model, kern, clf = (step for _, step in pipe.steps)
    assert isinstance(model, model_cls)
    assert isinstance(kern, kernel_cls) and kern.kernel == "rbf" and kern.gamma == 0.5
    assert isinstance(clf[-1] if classifier == "lr" else clf, clf_cls)
    if classifier == "svm":
        assert clf.kernel == "precomputed"


def _sets(n=12, d=4, frames=5):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(frames, d)) for _ in range(n)]


def _sets_with(index, value):
    sets = _sets()
    sets[index] = value
    return sets


BAD_FIT_INPUT = [
    pytest.param([], ValueError, "got an empty list", id="empty-list"),
    pytest.param(
        _sets_with(3, np.ones((0, 4))), ValueError, "Image set 3 has 0 frames", id="0-frames"
    ),
    pytest.param(
        _sets_with(5, np.full((5, 4), np.nan)), ValueError, "Image set 5 contains NaN", id="nan"
    ),
    pytest.param(
        _sets_with(2, np.ones((5, 7))),
        ValueError,
        "Image set 2 has 7 features; expected 4",
        id="wrong-d",
    ),
    pytest.param(_sets_with(4, np.ones(4)), ValueError, "Image set 4 must be a 2-D", id="1d-set"),
    pytest.param(np.ones((12, 4)), TypeError, "Expected a list of image sets", id="2d-array"),
]


@pytest.mark.parametrize(("X", "error", "match"), BAD_FIT_INPUT)
def test_fit_rejects_bad_sets_naming_the_set(X, error, match):
    y = np.arange(12) % 3
    with pytest.raises(error, match=match):
        ImageSetPLS("mean").fit(X, y[: len(X)] if len(X) else [])


def test_covariance_models_reject_single_frame_sets():
    with pytest.raises(ValueError, match="Image set 7 has 1 frame; at least 2 are needed"):
        ImageSetPLS("covariance").fit(_sets_with(7, np.ones((1, 4))), np.arange(12) % 3)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        pytest.param(
            _sets(d=5), r"Image set 0 has 5 features; expected 4 \(as seen in fit\)", id="d"
        ),
        pytest.param(_sets_with(1, np.full((5, 4), np.inf)), "Image set 1 contains NaN", id="inf"),
        pytest.param([], "got an empty list", id="empty"),
    ],
)
def test_predict_rejects_bad_sets(X, match):
    clf = ImageSetPLS("mean", n_components=2).fit(_sets(), np.arange(12) % 3)
    with pytest.raises(ValueError, match=match):
        clf.predict(X)


@pytest.mark.parametrize(
    ("params", "y", "match"),
    [
        ({"set_model": "grassmann"}, np.arange(12) % 3, "set_model must be one of"),
        ({"classifier": "knn"}, np.arange(12) % 3, "classifier must be one of"),
        ({}, np.arange(11) % 3, "Got 12 image sets but 11 labels"),
        ({}, np.zeros(12), "at least 2 classes; got 1 class"),
        ({}, np.linspace(0, 1, 12), "Unknown label type"),
    ],
    ids=["unknown-set-model", "unknown-classifier", "y-length", "one-class", "continuous-y"],
)
def test_fit_rejects_bad_params_and_labels(params, y, match):
    with pytest.raises(ValueError, match=match):
        ImageSetPLS(**{"set_model": "mean", **params}).fit(_sets(), y)


@pytest.mark.parametrize(
    "method", ["predict", "decision_function", "predict_proba", "latent_scores", "score"]
)
def test_methods_need_fit(method):
    args = (_sets(), np.arange(12) % 3) if method == "score" else (_sets(),)
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        getattr(ImageSetPLS(), method)(*args)


def test_real_truncated_clip_gets_a_smaller_subspace(data_root):
    """CREMA-D's truncated 3-frame clip, with aligned landmarks as frame features."""
    archive = np.load(data_root / "cremad" / "facecrop128" / "landmarks68_aligned.npz")
    names = sorted(archive.files)
    short = "1076_MTI_NEU_XX"
    assert short in names
    chosen = [short] + [n for n in names if n != short][:23]
    sets = [np.asarray(archive[n], dtype=float).reshape(len(archive[n]), -1) for n in chosen]
    y = [n.split("_")[2] for n in chosen]
    with pytest.warns(UserWarning, match=r"0 \(rank 3\)"):
        clf = ImageSetPLS("subspace", n_dims=5, n_components=4).fit(sets, y)
    assert clf.pipeline_.named_steps["model"].n_features_in_ == 136
    with pytest.warns(UserWarning, match="fewer than n_dims=5"):
        assert clf.predict(sets[:1]).shape == (1,)
    # the covariance model accepts the 3-frame clip as well (shrinkage keeps it SPD)
    cov = ImageSetPLS("covariance", n_pca=16, n_components=4).fit(sets, y)
    assert np.isfinite(cov.decision_function(sets)).all()


def test_fit_accepts_a_pandas_series_of_sets_in_cross_validation(make_sets):
    pd = pytest.importorskip("pandas")
    X, y = make_sets(24, 5)
    series = pd.Series(X, index=[f"clip{i:02d}" for i in range(24)])
    scores = cross_val_score(
        ImageSetPLS("mean", n_components=3), series, y, cv=GroupKFold(3), groups=np.arange(24) % 6
    )
    assert scores.mean() > 0.5


def test_lr_on_large_kernel_rows_converges():
    """Kernel rows around 2.4e3 with column scales over 3 decades (as the linear log-Euclidean
    kernel gives): the scaler in the classifier step lets LR converge in a few iterations (an
    unscaled LR needs ~900 here and hit its 2000-iteration limit on the real clips)."""
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    K = 2400 + (rng.normal(size=(60, 60)) + 0.5 * y[:, None]) * np.logspace(0, 3, 60)
    clf = make_imageset_pipeline("gaussian", kernel="linear", classifier="lr")[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(K, y)
    assert clf[-1].n_iter_.max() < 100
    assert clf.score(K, y) > 0.9
