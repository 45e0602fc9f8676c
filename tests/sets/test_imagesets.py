"""Tests for emoset.sets.imagesets: set validation and the four set models."""

import warnings

import numpy as np
import pytest
from _factories import generate_sets
from numpy.testing import assert_allclose

from emoset.sets.geometry import gaussian_embedding, shrunk_covariance
from emoset.sets.imagesets import (
    CovarianceModel,
    GaussianModel,
    MeanModel,
    SubspaceModel,
    check_image_sets,
)


@pytest.fixture
def make_sets():
    """Factory fixture: ``make_sets(n_sets, n_features, **kwargs) -> (sets, y)``."""
    return generate_sets


ALL_MODELS = [
    pytest.param(lambda: SubspaceModel(n_dims=2), id="subspace"),
    pytest.param(CovarianceModel, id="covariance"),
    pytest.param(GaussianModel, id="gaussian"),
    pytest.param(MeanModel, id="mean"),
]


def _good(n=3, d=4, frames=5):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(frames, d)) for _ in range(n)]


def _with(index, value, n=3):
    sets = _good(n)
    sets[index] = value
    return sets


BAD_SETS = [
    pytest.param([], ValueError, "non-empty list of image sets; got an empty list", id="empty"),
    pytest.param(np.ones((5, 4)), TypeError, r"got an ndarray of shape \(5, 4\)", id="one-2d"),
    pytest.param({"a": np.ones((5, 4))}, TypeError, "got dict", id="dict"),
    pytest.param("frames", TypeError, "got str", id="string"),
    pytest.param(_with(1, np.ones(4)), ValueError, r"Image set 1 must be a 2-D", id="1d-set"),
    pytest.param(_with(2, np.ones((0, 4))), ValueError, "Image set 2 has 0 frames", id="0-frames"),
    pytest.param(
        _with(1, np.ones((5, 3))),
        ValueError,
        r"Image set 1 has 3 features; expected 4",
        id="wrong-d",
    ),
    pytest.param(
        _with(2, np.full((5, 4), np.nan)), ValueError, "Image set 2 contains NaN", id="nan"
    ),
    pytest.param(
        _with(0, np.full((5, 4), np.inf)), ValueError, "Image set 0 contains NaN", id="inf"
    ),
    pytest.param(
        _with(1, [["a"] * 4] * 5), ValueError, "Image set 1 cannot be converted", id="strings"
    ),
    pytest.param(
        _with(1, np.ones((5, 4), dtype=complex)), ValueError, "Image set 1 is complex", id="complex"
    ),
]


@pytest.mark.parametrize(("X", "error", "match"), BAD_SETS)
def test_check_image_sets_rejects_bad_input(X, error, match):
    with pytest.raises(error, match=match):
        check_image_sets(X)


@pytest.mark.parametrize("model", ALL_MODELS)
@pytest.mark.parametrize(("X", "error", "match"), BAD_SETS)
def test_models_reject_bad_input_in_fit(model, X, error, match):
    with pytest.raises(error, match=match):
        model().fit(X)


@pytest.mark.parametrize("model", ALL_MODELS)
def test_models_reject_wrong_dimensionality_in_transform(model):
    fitted = model().fit(_good(d=4))
    with pytest.raises(
        ValueError, match=r"Image set 0 has 5 features; expected 4 \(as seen in fit"
    ):
        fitted.transform(_good(d=5))


@pytest.mark.parametrize("model", [CovarianceModel, GaussianModel], ids=["covariance", "gaussian"])
def test_covariance_models_need_two_frames_and_name_the_set(model):
    sets = _good()
    sets[1] = sets[1][:1]
    with pytest.raises(ValueError, match="Image set 1 has 1 frame; at least 2 are needed"):
        model().fit(sets)


def test_check_image_sets_names_the_clip_of_a_pandas_series():
    pd = pytest.importorskip("pandas")
    sets = pd.Series(
        [np.ones((4, 3)), np.ones((1, 3))], index=["1001_DFA_ANG_XX", "1076_MTI_NEU_XX"]
    )
    with pytest.raises(
        ValueError, match=r"Image set 1 \(1076_MTI_NEU_XX\) has 1 frame; at least 2"
    ):
        check_image_sets(sets, min_frames=2)
    assert len(check_image_sets(sets)) == 2


def test_check_image_sets_accepts_3d_arrays_and_object_arrays():
    X3 = np.zeros((2, 3, 4))
    assert [s.shape for s in check_image_sets(X3)] == [(3, 4), (3, 4)]
    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = np.ones((2, 4)), np.ones((5, 4))
    assert [s.shape for s in check_image_sets(obj)] == [(2, 4), (5, 4)]


def test_subspace_model_shapes_and_orthonormality(make_sets):
    sets, _ = make_sets(6, 8)
    U = SubspaceModel(n_dims=3).fit_transform(sets)
    assert U.shape == (6, 8, 3)
    assert_allclose(np.swapaxes(U, 1, 2) @ U, np.broadcast_to(np.eye(3), (6, 3, 3)), atol=1e-10)


def test_subspace_model_warns_and_pads_when_a_set_is_short(make_sets):
    sets, _ = make_sets(4, 8, min_frames=6)
    sets[2] = sets[2][:2]
    with pytest.warns(
        UserWarning, match=r"1 image set spans fewer than n_dims=4 dimensions: 2 \(rank 2\)"
    ):
        model = SubspaceModel(n_dims=4).fit(sets)
    assert list(model.ranks_) == [4, 4, 2, 4]
    with pytest.warns(UserWarning, match=r"spans fewer than n_dims=4 dimensions: 0 \(rank 2\)"):
        U = model.transform(sets[2:3])
    assert U.shape == (1, 8, 4)
    assert_allclose(U[0][:, 2:], 0.0)
    assert not hasattr(model, "bases_")


def _short_named_sets(make_sets):
    """Float32 sets as emoset.video.extract makes them, with clip ids; clips b and d are short."""
    from emoset.utils.setnames import name_sets

    sets, y = make_sets(6, 8, min_frames=6)
    sets[1] = sets[1][:2]
    sets[3] = np.repeat(sets[3][:1], 6, axis=0)  # six copies of one frame: rank 1
    sets = [s.astype(np.float32) for s in sets]
    name_sets(sets, ["clip_a", "clip_b", "clip_c", "clip_d", "clip_e", "clip_f"])
    return sets, y


@pytest.mark.parametrize("n_pca", [None, 6], ids=["raw", "pca"])
def test_subspace_warning_names_clips_once_per_extraction(make_sets, n_pca):
    sets, _ = _short_named_sets(make_sets)
    message = (
        r"2 image sets span fewer than n_dims=4 dimensions: clip_b \(rank 2\), clip_d \(rank 1\);"
    )
    with pytest.warns(UserWarning, match=message) as caught:
        model = SubspaceModel(n_dims=4, n_pca=n_pca).fit(sets)
    assert len(caught) == 1 and list(model.ranks_) == [4, 2, 4, 1, 4, 4]
    # refits on the same clips (inner folds of a grid search or a recognizer) and predictions
    # on them do not repeat it; the ranks still say it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = SubspaceModel(n_dims=4, n_pca=n_pca).fit(sets[:4])
        model.transform(sets[1:2])
    assert list(again.ranks_) == [4, 2, 4, 1]
    # a new extraction (new arrays) is reported again; sets without clip ids by position
    with pytest.warns(UserWarning, match=r"dimensions: 1 \(rank 2\), 3 \(rank 1\);"):
        SubspaceModel(n_dims=4, n_pca=n_pca).fit([s.copy() for s in sets])


def test_subspace_warning_names_clips_through_image_set_pls_and_series(make_sets):
    import pandas as pd

    from emoset.sets.classifiers import ImageSetPLS

    sets, y = _short_named_sets(make_sets)
    with pytest.warns(UserWarning, match=r"clip_b \(rank 2\), clip_d \(rank 1\)"):
        ImageSetPLS("subspace", n_dims=4, n_components=2).fit(sets, y)
    # a pandas Series of sets indexed by clip names its sets as well
    series = pd.Series([s.copy() for s in sets], index=[f"id{i}" for i in range(6)])
    with pytest.warns(UserWarning, match=r"dimensions: id1 \(rank 2\), id3 \(rank 1\);"):
        SubspaceModel(n_dims=4).fit(series)


def test_subspace_model_no_warning_for_full_rank_sets(make_sets):
    sets, _ = make_sets(4, 8, min_frames=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SubspaceModel(n_dims=4).fit_transform(sets)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_dims": 0}, r"n_dims must be an integer in \[1, 4\]"),
        ({"n_dims": 5}, r"n_dims must be an integer in \[1, 4\]"),
        ({"n_dims": 2.5}, r"n_dims must be an integer"),
        ({"n_dims": 3, "n_pca": 2}, r"n_dims must be an integer in \[1, 2\]"),
        ({"n_pca": 0}, "n_pca must be None or a positive integer"),
        ({"n_pca": 100}, r"n_pca=100 exceeds min\(n_training_frames, n_features\) = 4"),
    ],
    ids=["n_dims-0", "n_dims-above-d", "n_dims-float", "n_dims-above-pca", "pca-0", "pca-big"],
)
def test_subspace_model_rejects_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        SubspaceModel(**params).fit(_good(d=4))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"shrinkage": "oas"}, "shrinkage must be 'ledoit-wolf' or a float"),
        ({"shrinkage": 1.5}, "shrinkage must be 'ledoit-wolf' or a float"),
        ({"reg": -1.0}, "reg must be a non-negative float"),
    ],
    ids=["unknown", "above-1", "negative-reg"],
)
def test_covariance_model_rejects_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        CovarianceModel(**params).fit(_good())


@pytest.mark.parametrize("shrinkage", ["ledoit-wolf", 0.05])
def test_covariance_model_two_frame_sets_are_spd(make_sets, shrinkage):
    sets, _ = make_sets(5, 10, min_frames=2, max_frames=2)
    C = CovarianceModel(shrinkage).fit_transform(sets)
    assert C.shape == (5, 10, 10)
    assert np.linalg.eigvalsh(C).min() > 0
    assert_allclose(C, np.swapaxes(C, 1, 2))


def test_covariance_model_matches_geometry_function(make_sets):
    sets, _ = make_sets(3, 4)
    C = CovarianceModel(0.2, reg=1e-3).fit_transform(sets)
    assert_allclose(C[1], shrunk_covariance(sets[1], shrinkage=0.2, reg=1e-3)[0])


@pytest.mark.parametrize("det_normalize", [False, True])
def test_gaussian_model_embeds_mean_and_covariance(make_sets, det_normalize):
    sets, _ = make_sets(4, 5, min_frames=2, max_frames=6)
    P = GaussianModel(det_normalize=det_normalize).fit_transform(sets)
    assert P.shape == (4, 6, 6)
    assert np.linalg.eigvalsh(P).min() > 0
    Sigma, mu = shrunk_covariance(sets[0])
    expected = gaussian_embedding(mu[None], Sigma[None], det_normalize=det_normalize)[0]
    assert_allclose(P[0], expected, rtol=1e-10)


def test_mean_model_and_pca(make_sets):
    sets, _ = make_sets(5, 6)
    assert_allclose(MeanModel().fit_transform(sets), [s.mean(axis=0) for s in sets])
    model = MeanModel(3, random_state=0).fit(sets)
    M = model.transform(sets)
    assert M.shape == (5, 3)
    assert_allclose(M[0], model.pca_.transform(sets[0]).mean(axis=0), atol=1e-12)
    assert model.n_features_in_ == 6 and model.n_features_out_ == 3


def test_pca_is_fitted_on_training_frames_only(make_sets):
    train, _ = make_sets(5, 6, random_state=1)
    test, _ = make_sets(3, 6, random_state=2)
    model = CovarianceModel(n_pca=4, random_state=0).fit(train)
    mean_before = model.pca_.mean_.copy()
    C = model.transform(test)
    assert C.shape == (3, 4, 4)
    assert_allclose(model.pca_.mean_, mean_before)
    assert_allclose(mean_before, np.vstack(train).mean(axis=0))


def test_a_pca_shared_by_candidates_is_fitted_once_and_never_shared(make_sets):
    """Set models with the same frames, size and seed reuse one fit, as independent copies
    equal to a fresh PCA; other frames or a seedless model get their own fit."""
    from sklearn.decomposition import PCA

    from emoset.sets import imagesets

    sets, _ = make_sets(40, 600, min_frames=20, max_frames=30, random_state=3)
    frames = np.vstack(sets)
    fresh = PCA(n_components=8, random_state=5).fit(frames)
    imagesets._PCA_FITS.clear()
    first = MeanModel(8, random_state=5).fit(sets)
    second = SubspaceModel(2, n_pca=8, random_state=5).fit(sets)
    assert len(imagesets._PCA_FITS) == 1
    for model in (first, second):
        np.testing.assert_array_equal(model.pca_.components_, fresh.components_)
        np.testing.assert_array_equal(model.pca_.mean_, fresh.mean_)
    assert first.pca_ is not second.pca_
    first.pca_.components_[:] = 0  # the models' PCAs changed: no other model sees it
    second.pca_.components_[:] = 0
    third = CovarianceModel(n_pca=8, random_state=5).fit(sets)
    np.testing.assert_array_equal(third.pca_.components_, fresh.components_)
    # other frames: their own PCA
    moved = [s + 1.0 for s in sets]
    other = MeanModel(8, random_state=5).fit(moved)
    np.testing.assert_allclose(other.pca_.mean_, fresh.mean_ + 1.0)
    assert len(imagesets._PCA_FITS) == 2
    # no integer seed: always refitted, never kept
    MeanModel(8, random_state=None).fit(sets)
    MeanModel(8, random_state=np.random.RandomState(0)).fit(sets)
    assert len(imagesets._PCA_FITS) == 2
