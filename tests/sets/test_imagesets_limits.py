"""emoset.sets.imagesets at its edges: the parameter limits, the full messages of the input
checks and of the rank warning, the PCA cache and the input tags (small hand-made sets)."""

import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.utils import get_tags

from emoset.sets import imagesets
from emoset.sets.geometry import shrunk_covariance
from emoset.sets.imagesets import (
    CovarianceModel,
    GaussianModel,
    MeanModel,
    SubspaceModel,
    check_image_sets,
)
from emoset.utils.setnames import set_label

LIST_OF_SETS = "Expected a list of image sets, each of shape (n_frames, n_features); "


def _sets(n=3, d=4, frames=6, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(frames, d)) for _ in range(n)]


def _message(error, call):
    with pytest.raises(error) as info:
        call()
    return str(info.value)


# -- check_image_sets: the whole message ------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "kwargs", "error", "expected"),
    [
        (
            np.ones(4),
            {},
            TypeError,
            LIST_OF_SETS + "got an ndarray of shape (4,). Wrap a single set in a list: [X].",
        ),
        (
            np.empty((2, 3), dtype=object),
            {},
            TypeError,
            LIST_OF_SETS + "got an ndarray of shape (2, 3). Wrap a single set in a list: [X].",
        ),
        (np.ones((1, 2, 3, 4)), {}, TypeError, None),
        (7, {}, TypeError, LIST_OF_SETS + "got int."),
        ((), {}, ValueError, "Expected a non-empty list of image sets; got an empty list."),
        (
            [np.ones((3, 2)), np.ones(2)],
            {},
            ValueError,
            "Image set 1 must be a 2-D array of shape (n_frames, n_features); got shape (2,).",
        ),
        (
            [np.ones((3, 2)), np.ones((0, 2))],
            {},
            ValueError,
            "Image set 1 has 0 frames; at least 1 is needed.",
        ),
        (
            [np.ones((3, 2)), np.ones((1, 2))],
            {"min_frames": 2},
            ValueError,
            "Image set 1 has 1 frame; at least 2 are needed.",
        ),
        (
            [np.ones((3, 2)), np.ones((2, 2))],
            {"min_frames": 3},
            ValueError,
            "Image set 1 has 2 frames; at least 3 are needed.",
        ),
        (
            [np.ones((3, 2)), np.ones((3, 1))],
            {},
            ValueError,
            "Image set 1 has 1 feature; expected 2 (as in set 0).",
        ),
        (
            [np.ones((3, 2))],
            {"n_features": 3},
            ValueError,
            "Image set 0 has 2 features; expected 3 (as seen in fit).",
        ),
        (
            [np.ones((3, 2)), [[0.0, np.inf]]],
            {},
            ValueError,
            "Image set 1 contains NaN or infinity.",
        ),
        (
            [np.ones((3, 2), dtype=complex)],
            {},
            ValueError,
            "Image set 0 is complex; real-valued features are needed.",
        ),
    ],
    ids=[
        "1d-array",
        "2d-object-array",
        "4d-array",
        "int",
        "empty-tuple",
        "1d-set",
        "0-frames",
        "1-frame",
        "2-frames",
        "1-feature",
        "n_features",
        "inf",
        "complex",
    ],
)
def test_check_image_sets_messages(X, kwargs, error, expected):
    message = _message(error, lambda: check_image_sets(X, **kwargs))
    if expected is not None:
        assert message == expected
    else:
        assert message.startswith(LIST_OF_SETS + "got an ndarray of shape (1, 2, 3, 4).")


def test_check_image_sets_conversion_message_keeps_the_cause():
    message = _message(ValueError, lambda: check_image_sets([np.ones((2, 2)), [["a", "b"]]]))
    assert re.fullmatch(r"Image set 1 cannot be converted to a float array: .+", message)
    assert "'a'" in message  # numpy's own reason


def test_check_image_sets_returns_float64_sets_of_tuples_and_3d_arrays():
    sets = check_image_sets(([[1, 2], [3, 4]], np.zeros((1, 2), dtype=np.float32)))
    assert [s.dtype for s in sets] == [np.float64, np.float64]
    assert_allclose(sets[0], [[1.0, 2.0], [3.0, 4.0]])
    cube = np.arange(12.0).reshape(2, 3, 2)
    sets = check_image_sets(cube, n_features=2, min_frames=3)
    assert len(sets) == 2
    assert_allclose(sets[1], cube[1])


def test_check_image_sets_names_the_sets_of_a_series():
    pd = pytest.importorskip("pandas")
    series = pd.Series([np.ones((2, 2)), np.zeros((3, 2))], index=["clip_a", "clip_b"])
    sets = check_image_sets(series)
    assert [set_label(s, i) for i, s in enumerate(sets)] == ["clip_a", "clip_b"]
    message = _message(ValueError, lambda: check_image_sets(series, n_features=3))
    assert message == "Image set 0 (clip_a) has 2 features; expected 3 (as seen in fit)."
    # a plain list has no names: the position stands for the set
    assert [set_label(s, i) for i, s in enumerate(check_image_sets([np.ones((2, 2))]))] == ["0"]


# -- parameter limits ------------------------------------------------------------------------


@pytest.mark.parametrize("model", [CovarianceModel, GaussianModel])
@pytest.mark.parametrize("shrinkage", [0, 0.0, 1, 1.0])
def test_shrinkage_limits_are_accepted(model, shrinkage):
    sets = _sets(d=3)
    out = model(shrinkage, reg=0.0).fit_transform(sets)
    sigma = shrunk_covariance(sets[2], shrinkage=shrinkage, reg=0.0)[0]
    block = (
        out[2] if model is CovarianceModel else out[2, :3, :3] - np.outer(*[sets[2].mean(0)] * 2)
    )
    assert_allclose(block, sigma, atol=1e-12)
    if shrinkage == 1:  # all the way to the scaled identity: tr(S) / d on the diagonal
        assert_allclose(block, np.trace(sigma) / 3 * np.eye(3), atol=1e-12)


@pytest.mark.parametrize(
    ("shrinkage", "reg"),
    [(-1e-9, 1e-6), (1 + 1e-9, 1e-6), (None, 1e-6), ("Ledoit-Wolf", 1e-6)],
    ids=["below-0", "above-1", "none", "capitalised"],
)
def test_shrinkage_outside_the_limits_is_refused_with_the_whole_message(shrinkage, reg):
    message = _message(ValueError, lambda: CovarianceModel(shrinkage, reg=reg).fit(_sets()))
    assert message == f"shrinkage must be 'ledoit-wolf' or a float in [0, 1]; got {shrinkage!r}."


@pytest.mark.parametrize("reg", [-1e-12, float("nan"), "0.1", None])
def test_reg_must_be_a_non_negative_float(reg):
    message = _message(ValueError, lambda: GaussianModel(reg=reg).fit(_sets()))
    assert message == f"reg must be a non-negative float; got {reg!r}."


def test_reg_zero_is_accepted():
    assert_allclose(
        CovarianceModel(0.5, reg=0).fit_transform(_sets())[0],
        shrunk_covariance(_sets()[0], shrinkage=0.5, reg=0.0)[0],
    )


@pytest.mark.parametrize("model", [MeanModel, CovarianceModel, SubspaceModel])
def test_n_pca_of_one_and_of_the_frame_limit_are_accepted(model):
    sets = _sets(n=2, d=5, frames=2)  # 4 training frames of 5 features: at most 4 components
    kwargs = {"n_dims": 1} if model is SubspaceModel else {}
    for n_pca in (1, np.int64(4)):
        fitted = model(n_pca=n_pca, random_state=0, **kwargs).fit(sets)
        assert fitted.n_features_in_ == 5
        assert fitted.n_features_out_ == n_pca
        assert fitted.pca_.n_components_ == n_pca
        assert fitted.transform(sets).shape[1] == n_pca
    message = _message(ValueError, lambda: model(n_pca=5, **kwargs).fit(sets))
    assert message == "n_pca=5 exceeds min(n_training_frames, n_features) = 4."
    # fewer features than frames: the features are the limit
    message = _message(ValueError, lambda: model(n_pca=6, **kwargs).fit(_sets(d=5)))
    assert message == "n_pca=6 exceeds min(n_training_frames, n_features) = 5."


@pytest.mark.parametrize("n_pca", [0, -1, True, 2.0, "2"])
def test_n_pca_must_be_a_positive_integer(n_pca):
    message = _message(ValueError, lambda: MeanModel(n_pca).fit(_sets()))
    assert message == f"n_pca must be None or a positive integer; got {n_pca!r}."


def test_without_pca_the_frames_are_kept():
    model = MeanModel().fit(_sets(d=3))
    assert model.pca_ is None
    assert model.n_features_in_ == model.n_features_out_ == 3


@pytest.mark.parametrize(("n_pca", "d"), [(None, 4), (3, 3)])
def test_n_dims_from_one_to_the_output_features(n_pca, d):
    sets = _sets(d=4)
    for n_dims in (1, np.int64(d)):
        model = SubspaceModel(n_dims, n_pca=n_pca, random_state=0)
        U = model.fit_transform(sets)
        assert U.shape == (3, d, n_dims)
        for u in U:
            assert_allclose(u.T @ u, np.eye(n_dims), atol=1e-10)
        assert model.ranks_.tolist() == [n_dims] * 3
    for n_dims in (0, d + 1, True, float(d)):
        message = _message(ValueError, lambda n=n_dims: SubspaceModel(n, n_pca=n_pca).fit(sets))
        assert message == (
            f"n_dims must be an integer in [1, {d}] (the feature dimension after PCA); "
            f"got {n_dims!r}."
        )


def test_informative_frames():
    assert MeanModel().informative_frames == 1
    assert SubspaceModel(1).informative_frames == 1
    assert SubspaceModel(7).informative_frames == 7
    assert CovarianceModel().informative_frames == 3
    assert GaussianModel().informative_frames == 3
    assert CovarianceModel(0.3).informative_frames == 2
    assert GaussianModel(0.0).informative_frames == 2


# -- the rank warning ------------------------------------------------------------------------


def _short_and_full(n_short, n_full=1, d=5, n_dims=3):
    """``n_short`` sets of 2 frames (rank 2) first, then full-rank sets of 8 frames."""
    rng = np.random.default_rng(1)
    return [rng.normal(size=(2, d)) for _ in range(n_short)] + [
        rng.normal(size=(8, d)) for _ in range(n_full)
    ]


def _rank_warnings(sets, n_dims=3):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = SubspaceModel(n_dims).fit(sets)
    return model, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_rank_warning_of_one_set():
    model, messages = _rank_warnings(_short_and_full(1))
    assert messages == [
        "1 image set spans fewer than n_dims=3 dimensions: 0 (rank 2); "
        "the missing basis columns are zero."
    ]
    assert model.ranks_.tolist() == [2, 3]


@pytest.mark.parametrize(
    ("n_short", "more"), [(2, ""), (10, ""), (11, " and 1 more"), (13, " and 3 more")]
)
def test_rank_warning_shows_ten_sets_and_counts_the_rest(n_short, more):
    model, messages = _rank_warnings(_short_and_full(n_short))
    shown = ", ".join(f"{i} (rank 2)" for i in range(min(n_short, 10)))
    assert messages == [
        f"{n_short} image sets span fewer than n_dims=3 dimensions: {shown}{more}; "
        "the missing basis columns are zero."
    ]
    assert model.ranks_.tolist() == [2] * n_short + [3]


def test_short_bases_are_zero_padded():
    sets = _short_and_full(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        U = SubspaceModel(3).fit_transform(sets)
    assert_allclose(U[0][:, 2], 0.0)
    assert_allclose(U[0][:, :2].T @ U[0][:, :2], np.eye(2), atol=1e-10)


# -- projection ------------------------------------------------------------------------------


def test_every_set_is_projected_by_its_own_frames():
    sets = [s[:k] for s, k in zip(_sets(n=4, d=5, frames=7), (2, 7, 3, 5), strict=True)]
    model = MeanModel(3, random_state=0).fit(sets)
    expected = [model.pca_.transform(s).mean(axis=0) for s in sets]
    assert_allclose(model.transform(sets), expected, atol=1e-12)
    C = CovarianceModel(0.1, n_pca=2, random_state=0).fit_transform(sets)
    for c, s in zip(C, sets, strict=True):
        assert_allclose(c, shrunk_covariance(model.pca_.transform(s)[:, :2], shrinkage=0.1)[0])


# -- the PCA cache ---------------------------------------------------------------------------


@pytest.fixture
def empty_cache():
    imagesets._PCA_FITS.clear()
    yield imagesets._PCA_FITS
    imagesets._PCA_FITS.clear()


def _frames(k, shape=(4, 3)):
    """Distinct small frame matrices: those of ``k`` are those of 0 moved by ``k``."""
    return np.arange(np.prod(shape), dtype=float).reshape(shape) % 7 + k


def test_pca_cache_keys_on_frames_size_seed_and_shape(empty_cache):
    frames = _frames(0, (6, 4))
    a = imagesets._fitted_pca(frames, 2, 0)
    assert (a.n_components, a.random_state) == (2, 0)
    b = imagesets._fitted_pca(frames, 1, 0)  # other size
    assert b.n_components_ == 1
    c = imagesets._fitted_pca(frames, 2, np.int64(1))  # other seed
    assert c.random_state == 1 and type(c.random_state) is int
    d = imagesets._fitted_pca(frames.reshape(4, 6), 2, 0)  # the same bytes, other shape
    assert d.n_features_in_ == 6
    assert len(empty_cache) == 4
    again = imagesets._fitted_pca(frames.copy(), 2, 0)  # the same frames: a copy of a
    assert len(empty_cache) == 4
    assert_allclose(again.components_, a.components_)
    assert again.n_features_in_ == 4


@pytest.mark.parametrize(
    "seed", [None, True, np.random.RandomState(0)], ids=["none", "bool", "rng"]
)
def test_pca_cache_ignores_non_integer_seeds(empty_cache, seed):
    fitted = imagesets._fitted_pca(_frames(0), 2, seed)
    assert fitted.random_state is seed
    assert fitted.n_components == 2
    assert len(empty_cache) == 0


def test_pca_cache_hands_out_copies(empty_cache):
    frames = _frames(0, (6, 4))
    first = imagesets._fitted_pca(frames, 2, 0)
    reference = first.components_.copy()
    first.components_[:] = 0  # changing the fitted PCA changes nothing kept
    second = imagesets._fitted_pca(frames, 2, 0)
    assert_allclose(second.components_, reference)
    second.components_[:] = 0  # nor does changing a copy handed out
    assert_allclose(imagesets._fitted_pca(frames, 2, 0).components_, reference)


def test_pca_cache_keeps_the_64_last_used_fits(empty_cache):
    assert imagesets._PCA_FITS_MAX == 64
    for k in range(64):
        imagesets._fitted_pca(_frames(k), 1, 0)
    assert len(empty_cache) == 64
    imagesets._fitted_pca(_frames(0), 1, 0)  # used again: now the latest
    imagesets._fitted_pca(_frames(64), 1, 0)  # one too many: the oldest (1) goes
    base = _frames(0).mean(axis=0)[0]
    kept = [round(p.mean_[0] - base) for p in empty_cache.values()]
    assert kept == [*range(2, 64), 0, 64]


# -- input tags ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [SubspaceModel, CovarianceModel, GaussianModel, MeanModel])
def test_input_tags_say_lists_of_sets_not_2d_arrays(model):
    tags = get_tags(model())
    assert tags.input_tags.two_d_array is False
    assert tags.input_tags.three_d_array is True
    assert tags.requires_fit is True


# -- constructors, single sets, named sets ---------------------------------------------------


def test_parameters_reach_the_fit():
    assert SubspaceModel().n_dims == 10  # the documented default
    model = GaussianModel(n_pca=2, random_state=4).fit(_sets(d=4))
    assert model.pca_.random_state == 4
    assert model.transform(_sets(d=4)).shape == (3, 3, 3)


@pytest.mark.parametrize("model", [MeanModel, CovarianceModel, lambda: SubspaceModel(2)])
def test_one_set_is_enough_to_fit(model):
    fitted = model().fit([np.arange(12.0).reshape(4, 3) ** 2])
    assert fitted.n_features_in_ == 3


@pytest.mark.parametrize("model", [CovarianceModel, GaussianModel])
def test_transform_needs_as_many_frames_as_fit(model):
    fitted = model().fit(_sets())
    message = _message(ValueError, lambda: fitted.transform([np.ones((1, 4))]))
    assert message == "Image set 0 has 1 frame; at least 2 are needed."


def test_rank_warning_once_per_clip_and_n_dims():
    pd = pytest.importorskip("pandas")
    named = pd.Series(_short_and_full(1, n_full=0), index=["clip_a"])
    sets = check_image_sets(named)  # the arrays keep their clip name from here on
    with pytest.warns(UserWarning, match=r"n_dims=3 dimensions: clip_a \(rank 2\)"):
        SubspaceModel(3).fit(sets)
    assert _rank_warnings(sets, n_dims=3)[1] == []  # reported already
    with pytest.warns(UserWarning, match=r"n_dims=4 dimensions: clip_a \(rank 2\)"):
        SubspaceModel(4).fit(sets)  # another problem of the clip
