"""Late fusion on generated subsystem scores."""

import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, KFold, LeaveOneOut, StratifiedKFold

from emoset.decision.fusion import (
    StackingFusion,
    WeightedScoreFusion,
    normalize_scores,
    out_of_fold_scores,
    stack_scores,
)


def _complementary(n=300, seed=0):
    """Two subsystems: 'video' is reliable for classes 0 and 1, 'audio' for class 2."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    onehot = np.eye(3)[y]
    video = onehot * np.array([2.0, 2.0, 0.2]) + rng.normal(0, 0.7, (n, 3))
    audio = 10 * (onehot * np.array([0.2, 0.2, 2.0]) + rng.normal(0, 0.7, (n, 3))) + 5
    return {"video": video, "audio": audio}, y


def _acc(pred, y):
    return float(np.mean(pred == y))


def test_fixed_weights_reduce_to_one_subsystem():
    scores, y = _complementary()
    only_video = WeightedScoreFusion(weights=[1.0, 0.0]).fit(scores, y)
    assert np.array_equal(only_video.predict(scores), np.argmax(scores["video"], axis=1))
    z, _ = normalize_scores(stack_scores(scores)[0], "zscore")
    assert np.allclose(only_video.decision_function(scores), z[:, 0, :])


def test_weights_are_logged_on_one_line_by_subsystem(caplog):
    scores, y = _complementary()
    with caplog.at_level("INFO", logger="emoset"):
        fusion = WeightedScoreFusion(weights=[[1.0, 0.5, 0.0], [0.0, 0.25, 1.0]]).fit(scores, y)
    (message,) = [r.getMessage() for r in caplog.records if "Fusion weights" in r.getMessage()]
    assert message == "Fusion weights (per_class): video [1 0.5 0]; audio [0 0.25 1]"
    assert fusion.subsystem_names_ == ["video", "audio"]


def test_per_class_beats_global_beats_single_on_held_out():
    train, y_train = _complementary(seed=0)
    test, y_test = _complementary(seed=1)
    singles = {k: _acc(np.argmax(v, axis=1), y_test) for k, v in test.items()}
    glob = WeightedScoreFusion(scheme="global").fit(train, y_train)
    per = WeightedScoreFusion(scheme="per_class").fit(train, y_train)
    acc_glob, acc_per = _acc(glob.predict(test), y_test), _acc(per.predict(test), y_test)
    assert acc_glob > max(singles.values())
    assert acc_per > acc_glob
    # per-class weights lean on audio for class 2 and on video for classes 0 and 1
    w = per.weights_
    assert w[1, 2] > w[0, 2] and w[0, 0] >= w[1, 0]
    assert np.allclose(glob.weights_, glob.weights_[:, :1])  # same weight for every class
    assert np.allclose(w.sum(axis=0), 1.0)


def test_three_subsystems_per_class():
    scores, y = _complementary()
    rng = np.random.default_rng(5)
    scores["noise"] = rng.normal(size=(len(y), 3))
    fusion = WeightedScoreFusion(scheme="per_class").fit(scores, y)
    assert fusion.weights_.shape == (3, 3)
    assert fusion.weights_[2].mean() < fusion.weights_[:2].mean(axis=1).min()
    assert fusion.subsystem_names_ == ["video", "audio", "noise"]


def test_abstaining_subsystem_drops_out():
    scores, y = _complementary()
    fusion = WeightedScoreFusion(scheme="global").fit(scores, y)
    test = {k: v[:10].copy() for k, v in scores.items()}
    test["audio"][:5] = np.nan  # no audio track for the first 5 clips
    fused = fusion.decision_function(test)
    z_video = (test["video"][:5] - fusion.norm_stats_[0][0]) / fusion.norm_stats_[1][0]
    assert np.allclose(fused[:5], z_video)
    assert np.array_equal(fusion.predict(test)[:5], np.argmax(test["video"][:5], axis=1))
    assert not np.isnan(fused).any()


def test_dict_scores_are_matched_by_name():
    scores, y = _complementary()
    fusion = WeightedScoreFusion().fit(scores, y)
    swapped = {"audio": scores["audio"], "video": scores["video"]}
    assert np.array_equal(fusion.predict(swapped), fusion.predict(scores))
    with pytest.raises(ValueError, match=r"missing \['audio'\], unexpected \['speech'\]"):
        fusion.predict({"video": scores["video"], "speech": scores["audio"]})


def test_clip_without_any_score_gets_no_label_with_warning():
    """Never the prior class: a clip no subsystem scored gets None."""
    scores, y = _complementary()
    fusion = WeightedScoreFusion().fit(scores, y)
    test = {k: np.vstack([np.full((2, 3), np.nan), v[:1]]) for k, v in scores.items()}
    with pytest.warns(UserWarning, match=r"2 clip\(s\) have no score from any subsystem"):
        pred = fusion.predict(test)
    assert list(pred[:2]) == [None, None] and pred[2] in (0, 1, 2)
    assert fusion.predict({k: v[:3] for k, v in scores.items()}).dtype == y.dtype


def test_string_labels_and_explicit_classes():
    scores, y = _complementary()
    names = np.array(["anger", "happy", "sad"])
    fusion = WeightedScoreFusion().fit(scores, names[y])
    assert list(fusion.classes_) == ["anger", "happy", "sad"]
    assert set(fusion.predict(scores)) <= set(names)
    with pytest.raises(ValueError, match=r"Labels \['zzz'\] are not among classes"):
        WeightedScoreFusion(classes=["anger", "happy", "sad"]).fit(
            scores, np.array(["zzz"] * len(y))
        )


def test_stacking_beats_single():
    train, y_train = _complementary(seed=0)
    test, y_test = _complementary(seed=1)
    stack = StackingFusion().fit(train, y_train)
    acc = _acc(stack.predict(test), y_test)
    assert acc > max(_acc(np.argmax(v, axis=1), y_test) for v in test.values())
    test["audio"][:3] = np.nan
    scores = stack.decision_function(test)
    assert np.isfinite(scores).all()


@pytest.mark.parametrize(
    "est", [WeightedScoreFusion(), StackingFusion()], ids=["weighted", "stack"]
)
def test_clone_pickle_and_params_unchanged(est):
    scores, y = _complementary()
    params = est.get_params()
    fitted = clone(est).fit(scores, y)
    assert est.get_params() == params and fitted.get_params() == params
    again = pickle.loads(pickle.dumps(fitted))
    assert np.allclose(again.decision_function(scores), fitted.decision_function(scores))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted"):
        clone(est).predict(scores)


@pytest.mark.parametrize(
    ("params", "scores", "message"),
    [
        ({"scheme": "max"}, None, "scheme must be one of ('global', 'per_class'); got 'max'."),
        ({"step": 0.3}, None, "step must divide 1 (e.g. 0.1, 0.05, 0.25); got 0.3."),
        ({"step": 0}, None, "step must divide 1 (e.g. 0.1, 0.05, 0.25); got 0."),
        ({"n_rounds": 0}, None, "n_rounds must be a positive integer; got 0."),
        ({"n_rounds": 1.5}, None, "n_rounds must be a positive integer; got 1.5."),
        (
            {"normalize": "l2"},
            None,
            "normalize must be one of ('zscore', 'minmax', 'softmax', None); got 'l2'.",
        ),
        (
            {"weights": [1.0, 2.0, 3.0]},
            None,
            "weights must be non-negative with shape (2,) or (2, 3); got shape (3,).",
        ),
        (
            {},
            [np.zeros((5, 3)), np.zeros((5, 4))],
            "Subsystem 's1': scores have shape (5, 4); subsystem 's0' has (5, 3).",
        ),
        ({}, [np.zeros(5)], "Subsystem 's0': scores must be 2-D (n_clips, n_classes); got shape (5,)."),
        ({}, [], "Fusion needs at least one subsystem; got none."),
        ({}, [np.full((5, 3), np.inf)], "Subsystem 's0': scores hold infinite values."),
        (
            {"classes": [0, 1]},
            None,
            "Scores have 3 class columns but there are 2 classes ([np.int64(0), np.int64(1)]); "
            "pass classes=... in the subsystems' column order.",
        ),
    ],
    ids=["scheme", "step", "step-0", "rounds-0", "rounds-1.5", "normalize", "weights", "shape",
         "ndim", "empty", "inf", "classes"],
)  # fmt: skip
def test_bad_input(params, scores, message):
    """The whole message: what was wrong, what was expected, what was received."""
    good, y = _complementary(n=5)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        WeightedScoreFusion(**params).fit(good if scores is None else scores, y)


def test_stacking_and_normalize_scores_check_the_method():
    message = "^normalize must be one of \\('zscore', 'minmax', 'softmax', None\\); got 'l2'\\.$"
    good, y = _complementary(n=5)
    with pytest.raises(ValueError, match=message):
        StackingFusion(normalize="l2").fit(good, y)
    with pytest.raises(ValueError, match=message):
        normalize_scores(np.zeros((2, 2, 2)), "l2")


def test_wrong_container_and_wrong_shape_at_predict():
    scores, y = _complementary()
    with pytest.raises(
        TypeError,
        match=r"^Scores must be an array \(n_clips, n_subsystems, n_classes\), a list of "
        r"\(n_clips, n_classes\) arrays, or a dict of them; got str\.$",
    ):
        WeightedScoreFusion().fit("scores", y)
    fusion = WeightedScoreFusion().fit(scores, y)
    with pytest.raises(
        ValueError,
        match=r"^Scores have 1 subsystems x 3 classes; the fusion was fitted on 2 x 3\.$",
    ):
        fusion.decision_function([scores["video"]])
    with pytest.raises(ValueError, match=r"^Scores cover 300 clips but y has 3 labels\.$"):
        WeightedScoreFusion().fit(scores, y[:3])


def test_out_of_fold_scores_never_see_the_speaker():
    """Labels tied to speakers: a 1-NN only succeeds if the clip's speaker was in training."""
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    speakers = np.repeat(np.arange(12), 10)
    centres = rng.normal(0, 10, size=(12, 4))
    X = centres[speakers] + rng.normal(0, 0.1, size=(120, 4))
    y = speakers % 3  # each speaker always shows the same emotion
    knn = KNeighborsClassifier(1)
    grouped = out_of_fold_scores(knn, X, y, groups=speakers, cv=4, method="predict_proba")
    from sklearn.model_selection import KFold

    shuffled = KFold(4, shuffle=True, random_state=0)  # ignores speakers
    leaky = out_of_fold_scores(knn, X, y, cv=shuffled, method="predict_proba")
    assert grouped.shape == (120, 3)
    assert np.mean(np.argmax(leaky, axis=1) == y) == 1.0  # memorised speakers
    assert np.mean(np.argmax(grouped, axis=1) == y) < 0.6  # no speaker seen: no memory


def test_out_of_fold_scores_keep_abstentions_and_missing_classes():
    """NaN rows stay NaN; a fold without a class still gives one column per class."""
    from emoset.decision.abstain import AbstainingClassifier

    scores, y = _complementary(60)
    X = scores["video"].copy()
    X[[3, 10]] = np.nan
    first, second = np.arange(30), np.arange(30, 60)
    folds = [(first[y[first] != 2], second), (second, first)]  # fold 1 never trains on class 2
    with pytest.warns(UserWarning, match="Dropping"):
        oof = out_of_fold_scores(AbstainingClassifier(), X, y, cv=folds, classes=[0, 1, 2])
    assert oof.shape == (60, 3)
    assert np.isnan(oof[[3, 10]]).all()
    ok = second[np.isfinite(oof[second]).all(axis=1)]  # scored by the model without class 2
    assert np.all(oof[ok, 2] <= oof[ok].min(axis=1) + 1e-12)


def test_simplex_grid_is_the_filtered_grid_and_scales_to_many_subsystems():
    import itertools

    from emoset.decision.fusion import _simplex_grid

    for n in (1, 2, 3, 4):  # same points in the same order as filtering the full grid
        full = [c for c in itertools.product(range(11), repeat=n) if sum(c) == 10]
        np.testing.assert_array_equal(_simplex_grid(n, 0.1), np.array(full) / 10)
    grid = _simplex_grid(9, 0.1)  # one subsystem per feature x kernel + audio: 43,758 points
    assert grid.shape == (43758, 9)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)


def _one_by_one(Z, y_idx, n_sub, n_cls, per_class, step=0.1, n_rounds=2):
    """The weight search written as the plain loop over grid points (the reference)."""
    from emoset.decision.fusion import _fuse, _objective, _simplex_grid

    grid = _simplex_grid(n_sub, step)
    best, w = None, None
    for g in grid:
        trial = np.repeat(g[:, None], n_cls, axis=1)
        score = _objective(_fuse(Z, trial), y_idx, n_cls)
        if best is None or score > best:
            best, w = score, trial
    for _ in range(n_rounds if per_class else 0):
        for c in range(n_cls):
            for g in grid:
                trial = w.copy()
                trial[:, c] = g
                score = _objective(_fuse(Z, trial), y_idx, n_cls)
                if score > best:
                    best, w = score, trial
    return w


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("scheme", ["global", "per_class"])
def test_vectorised_search_gives_the_loops_weights(seed, scheme):
    """Same weights as trying grid points one by one, ties and abstentions included."""
    from emoset.decision.fusion import normalize_scores

    rng = np.random.default_rng(seed)
    n_sub, n_cls = 2 + seed % 2, 4
    y = rng.integers(0, n_cls, 40)
    S = rng.normal(size=(40, n_sub, n_cls)) + np.eye(n_cls)[y][:, None, :]
    if seed % 2:
        S = np.round(S, 1)  # many ties
    S[rng.integers(0, 40, 4), rng.integers(0, n_sub, 4)] = np.nan
    S[0] = np.nan
    fusion = WeightedScoreFusion(scheme, normalize=None).fit(S, y)
    Z, _ = normalize_scores(S, None)
    expected = _one_by_one(Z, y, n_sub, n_cls, scheme == "per_class")
    np.testing.assert_array_equal(fusion.weights_, expected)


def _oof_by_hand(est, X, y, splits, method, fit_params=None):
    """Out-of-fold scores as a plain loop over the folds (the reference)."""
    out = np.full((len(y), 3), np.nan)
    for train, test in splits:
        kw = {k: np.asarray(v)[train] for k, v in (fit_params or {}).items()}
        model = clone(est).fit(X[train], y[train], **kw)
        out[test] = getattr(model, method)(X[test])
    return out


def _oof_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], n // 3)
    X = np.eye(3)[y] * 1.5 + rng.normal(0, 1, (n, 3))
    return X, y, np.arange(n) % 6  # six speakers, each with every class


@pytest.mark.parametrize(
    ("kwargs", "splits"),
    [
        ({}, lambda X, y, g: StratifiedKFold(5).split(X, y)),  # the default: 5 stratified folds
        ({"cv": 3, "groups": True}, lambda X, y, g: GroupKFold(3).split(X, y, g)),
        (
            {"cv": KFold(4, shuffle=True, random_state=1), "groups": True},
            lambda X, y, g: KFold(4, shuffle=True, random_state=1).split(X, y),
        ),
        ({"cv": LeaveOneOut()}, lambda X, y, g: LeaveOneOut().split(X)),  # one clip a fold
    ],
    ids=["default", "groups", "splitter", "one-clip-folds"],
)
@pytest.mark.filterwarnings("ignore:The groups parameter is ignored by KFold:UserWarning")
def test_out_of_fold_scores_are_the_folds_loop(kwargs, splits):
    from sklearn.linear_model import LogisticRegression

    X, y, groups = _oof_data()
    kwargs = dict(kwargs)  # the table is shared by every run of the test
    if kwargs.pop("groups", False):
        kwargs["groups"] = groups
    est = LogisticRegression()
    got = out_of_fold_scores(est, X, y, **kwargs)
    expected = _oof_by_hand(est, X, y, splits(X, y, groups), "decision_function")
    np.testing.assert_allclose(got, expected)


def test_out_of_fold_scores_method_fit_params_and_lists():
    """No decision_function: predict_proba; fit_params cut to each fold's training rows; a
    list of samples is indexed as a list."""
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    X, y, groups = _oof_data()
    knn = KNeighborsClassifier(5)
    expected = _oof_by_hand(knn, X, y, GroupKFold(3).split(X, y, groups), "predict_proba")
    np.testing.assert_allclose(out_of_fold_scores(knn, X, y, groups=groups, cv=3), expected)
    as_list = out_of_fold_scores(knn, [list(x) for x in X], y, groups=groups, cv=3)
    np.testing.assert_allclose(as_list, expected)
    weights = np.where(y == 2, 5.0, 1.0)
    svc = SVC(kernel="linear")
    splits = list(GroupKFold(3).split(X, y, groups))
    got = out_of_fold_scores(svc, X, y, cv=splits, fit_params={"sample_weight": weights})
    expected = _oof_by_hand(svc, X, y, splits, "decision_function", {"sample_weight": weights})
    np.testing.assert_allclose(got, expected)
    unweighted = out_of_fold_scores(svc, X, y, cv=splits)
    assert not np.allclose(got, unweighted)
