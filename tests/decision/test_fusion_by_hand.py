"""Fusion on score matrices small enough to work out by hand: every expected value is written
out, none comes from emoset's own helpers."""

import numpy as np
import pytest

from emoset.decision.fusion import WeightedScoreFusion, normalize_scores

NAN = np.nan

#: 3 clips x 2 subsystems x 2 classes; subsystem 0 abstains on clip 2.
#: Subsystem 0: values 2, 6, 6, 2 -> mean 4, standard deviation 2, range 2..6.
#: Subsystem 1: values 4, 10, 10, 13, 13, 10 -> mean 10, deviations -6, 0, 0, 3, 3, 0,
#: variance 54 / 6 = 9, standard deviation 3, range 4..13.
S = np.array(
    [
        [[2.0, 6.0], [4.0, 10.0]],
        [[6.0, 2.0], [10.0, 13.0]],
        [[NAN, NAN], [13.0, 10.0]],
    ]
)

ZSCORE = np.array(
    [
        [[-1.0, 1.0], [-2.0, 0.0]],
        [[1.0, -1.0], [0.0, 1.0]],
        [[NAN, NAN], [1.0, 0.0]],
    ]
)

MINMAX = np.array(
    [
        [[0.0, 1.0], [0.0, 6 / 9]],
        [[1.0, 0.0], [6 / 9, 1.0]],
        [[NAN, NAN], [1.0, 6 / 9]],
    ]
)


def test_zscore_by_hand():
    Z, (loc, scale) = normalize_scores(S, "zscore")
    np.testing.assert_allclose(loc, [4.0, 10.0])
    np.testing.assert_allclose(scale, [2.0, 3.0])  # standard deviations, not variances
    np.testing.assert_allclose(Z, ZSCORE)


def test_minmax_by_hand():
    Z, (loc, scale) = normalize_scores(S, "minmax")
    np.testing.assert_allclose(loc, [2.0, 4.0])
    np.testing.assert_allclose(scale, [4.0, 9.0])
    np.testing.assert_allclose(Z, MINMAX)


def test_softmax_by_hand():
    """Per clip and subsystem: exp(s) / sum(exp(s)); log-probabilities give the probabilities
    back, and a constant added to a row changes nothing."""
    logp = np.log(
        np.array([[[1.0, 3.0, 4.0], [2.0, 2.0, 4.0]], [[1.0, 1.0, 6.0], [5.0, 2.0, 1.0]]])
    )
    Z, _ = normalize_scores(logp + np.array([[[0.0], [7.0]], [[-3.0], [0.5]]]), "softmax")
    np.testing.assert_allclose(
        Z,
        [
            [[1 / 8, 3 / 8, 4 / 8], [2 / 8, 2 / 8, 4 / 8]],
            [[1 / 8, 1 / 8, 6 / 8], [5 / 8, 2 / 8, 1 / 8]],
        ],
    )


def test_no_normalisation_and_statistics_reused_on_new_scores():
    Z, _ = normalize_scores(S, None)
    np.testing.assert_array_equal(Z, S)
    _, stats = normalize_scores(S, "zscore")
    new = np.array([[[8.0, 0.0], [1.0, 16.0]]])
    Z, again = normalize_scores(new, "zscore", stats=stats)
    np.testing.assert_allclose(Z, [[[2.0, -2.0], [-3.0, 2.0]]])  # training mean and deviation
    assert again is stats


def test_weighted_fusion_by_hand():
    """F = sum_m w[m, c] Z[m, c] / sum_m w[m, c] over the subsystems that scored the clip."""
    fusion = WeightedScoreFusion(weights=[[1.0, 3.0], [3.0, 1.0]]).fit(S, [1, 1, 0])
    F = fusion.decision_function(S)
    expected = [
        [(-1 + 3 * -2) / 4, (3 * 1 + 0) / 4],
        [(1 + 3 * 0) / 4, (3 * -1 + 1) / 4],
        [1.0, 0.0],  # subsystem 0 abstained: subsystem 1 alone
    ]
    np.testing.assert_allclose(F, expected)
    np.testing.assert_array_equal(fusion.predict(S), [1, 0, 0])
    assert fusion.train_score_ == pytest.approx(2 / 3)  # clips 0 and 2 right


def _scores(rows):
    """Score rows of one subsystem from a string of predicted classes ('0', '1', 'b' for a
    score of 2 for class 1 (outvotes a 1 of the other subsystem), 'a' for 2 for class 0)."""
    table = {"0": [1.0, 0.0], "1": [0.0, 1.0], "a": [2.0, 0.0], "b": [0.0, 2.0]}
    return np.array([table[r] for r in rows])


def test_accuracy_comes_before_uar():
    """Eight clips of class 0, two of class 1. Subsystem 'majority' says 0 for all (accuracy
    0.8, UAR 0.5); 'minority' finds both class-1 clips but calls three class-0 clips 1
    (accuracy 0.7, UAR (5/8 + 1) / 2 = 0.8125); half and half follows 'minority' (its 2
    outvote the 1). Accuracy first: all the weight on 'majority'."""
    y = np.array([0] * 8 + [1] * 2)
    scores = {"minority": _scores("bbbaaaaabb"), "majority": _scores("0000000000")}
    fusion = WeightedScoreFusion("global", normalize=None, step=0.5).fit(scores, y)
    np.testing.assert_array_equal(fusion.weights_, [[0.0, 0.0], [1.0, 1.0]])
    assert fusion.train_score_ == pytest.approx(0.8)
    np.testing.assert_array_equal(fusion.predict(scores), np.zeros(10))


def test_uar_breaks_ties_of_accuracy():
    """Six clips of class 0, four of class 1. 'majority' says 0 for all (accuracy 0.6, UAR
    0.5); 'mixed' gets four class-0 and two class-1 clips right (accuracy 0.6, UAR
    (4/6 + 2/4) / 2 = 0.583); half and half follows 'mixed'. Same accuracy: the grid's first
    point with the better UAR, (0.5, 0.5), not its first point, (0, 1)."""
    y = np.array([0] * 6 + [1] * 4)
    scores = {"mixed": _scores("aaaabbbbaa"), "majority": _scores("0000000000")}
    fusion = WeightedScoreFusion("global", normalize=None, step=0.5).fit(scores, y)
    np.testing.assert_array_equal(fusion.weights_, [[0.5, 0.5], [0.5, 0.5]])
    assert fusion.train_score_ == pytest.approx(0.6)
    np.testing.assert_array_equal(fusion.predict(scores), [0, 0, 0, 0, 1, 1, 1, 1, 0, 0])


def test_full_tie_keeps_the_first_grid_point():
    """Two identical subsystems: every weight gives the same scores; the grid's first point,
    which gives everything to the last subsystem, is kept."""
    y = np.array([0, 1, 1, 0])
    same = _scores("0110")
    fusion = WeightedScoreFusion("global", normalize=None, step=0.25).fit([same, same], y)
    np.testing.assert_array_equal(fusion.weights_, [[0.0, 0.0], [1.0, 1.0]])


def test_statistics_of_flat_and_empty_subsystems():
    """A subsystem whose scores never change keeps scale 1 (its z-scores are 0); one that
    abstained on every clip gets (0, 1) and stays NaN; a spread below 1 is kept."""
    S3 = np.array([[[5.0, 5.0], [NAN, NAN], [1.0, 2.0]], [[5.0, 5.0], [NAN, NAN], [1.5, 1.0]]])
    Z, (loc, scale) = normalize_scores(S3, "zscore")
    np.testing.assert_allclose(loc, [5.0, 0.0, 1.375])
    np.testing.assert_allclose(scale, [1.0, 1.0, np.sqrt(0.171875)])  # spread 0.41
    np.testing.assert_allclose(Z[:, 0], 0.0)
    assert np.isnan(Z[:, 1]).all()
    _, (loc, scale) = normalize_scores(S3, "minmax")
    np.testing.assert_allclose(loc, [5.0, 0.0, 1.0])
    np.testing.assert_allclose(scale, [1.0, 1.0, 1.0])


def test_unweighted_class_falls_back_to_the_mean():
    """Class 1 has weight 0 in every subsystem: its fused score is the plain mean of the
    subsystems that scored the clip (NaN ones left out), not 0 / 0."""
    fusion = WeightedScoreFusion(normalize=None, weights=[[1.0, 0.0], [3.0, 0.0]])
    fusion.fit(S, [0, 1, 0])
    np.testing.assert_allclose(
        fusion.decision_function(S),
        [[(2 + 3 * 4) / 4, (6 + 10) / 2], [(6 + 3 * 10) / 4, (2 + 13) / 2], [13.0, 10.0]],
    )


def test_minmax_fusion_applies_the_training_range():
    fusion = WeightedScoreFusion(normalize="minmax", weights=[1.0, 1.0]).fit(S, [1, 1, 0])
    new = np.array([[[4.0, 2.0], [13.0, 4.0]]])
    # (4 - 2) / 4 and (13 - 4) / 9 for class 0; (2 - 2) / 4 and (4 - 4) / 9 for class 1
    np.testing.assert_allclose(fusion.decision_function(new), [[(0.5 + 1.0) / 2, 0.0]])


def test_nothing_scored_gives_no_weights_to_choose():
    """No clip has a score: accuracy 0 whatever the weights, the grid's first point is kept."""
    empty = np.full((4, 2, 2), NAN)
    fusion = WeightedScoreFusion("per_class", step=0.5).fit(empty, [0, 1, 0, 0])
    np.testing.assert_array_equal(fusion.weights_, [[0.0, 0.0], [1.0, 1.0]])
    assert fusion.train_score_ == 0.0 and fusion.prior_class_ == 0


def test_a_class_absent_from_the_labels_does_not_count_in_the_uar():
    """classes names three columns, the labels hold two: the UAR averages over those two
    (a recall over no clip would be NaN and make every weight look alike)."""
    y = np.array([0] * 6 + [1] * 4)
    pad = np.zeros((10, 1))
    scores = {
        "mixed": np.hstack([_scores("aaaabbbbaa"), pad]),
        "majority": np.hstack([_scores("0000000000"), pad]),
    }
    fusion = WeightedScoreFusion("global", normalize=None, step=0.5, classes=[0, 1, 2])
    fusion.fit(scores, y)
    np.testing.assert_array_equal(fusion.weights_, np.full((2, 3), 0.5))


@pytest.mark.parametrize("n_rounds", [1, 3])
def test_one_round_and_more(n_rounds):
    y = np.array([0] * 6 + [1] * 4)
    scores = {"mixed": _scores("aaaabbbbaa"), "majority": _scores("0000000000")}
    fusion = WeightedScoreFusion(normalize=None, step=0.5, n_rounds=n_rounds).fit(scores, y)
    np.testing.assert_array_equal(fusion.weights_, [[0.5, 0.5], [0.5, 0.5]])


def test_step_one_picks_a_single_subsystem():
    y = np.array([0] * 8 + [1] * 2)
    scores = {"minority": _scores("bbbaaaaabb"), "majority": _scores("0000000000")}
    fusion = WeightedScoreFusion("global", normalize=None, step=1).fit(scores, y)
    np.testing.assert_array_equal(fusion.weights_, [[0.0, 0.0], [1.0, 1.0]])


def _stacking_features(Z):
    """The stacking classifier's input, written out: normalised scores (0 where a subsystem
    abstained) subsystem by subsystem, then one 0/1 column per subsystem that abstained."""
    rows = []
    for clip in Z:
        missing = [float(np.isnan(sub).any()) for sub in clip]
        rows.append([0.0 if np.isnan(v) else v for sub in clip for v in sub] + missing)
    return np.array(rows)


@pytest.mark.parametrize("normalize", ["zscore", None])
def test_stacking_is_a_classifier_on_the_normalised_scores(normalize):
    from sklearn.linear_model import LogisticRegression

    from emoset.decision.fusion import StackingFusion

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    train = np.eye(3)[y][:, None, :] * [[2.0], [1.0]] + rng.normal(0, 1, (40, 2, 3)) + 3
    train[:5, 1] = NAN
    stack = StackingFusion(normalize=normalize).fit(train, y)
    Z = train if normalize is None else normalize_scores(train, normalize)[0]
    ours = LogisticRegression(C=1.0, max_iter=2000).fit(_stacking_features(Z), y)
    np.testing.assert_allclose(stack.estimator_.coef_, ours.coef_, rtol=1e-6)
    test = train[:6].copy()
    test[0] = NAN  # no subsystem: no score
    Zt = (
        test if normalize is None else normalize_scores(test, normalize, stats=stack.norm_stats_)[0]
    )
    expected = np.log(ours.predict_proba(_stacking_features(np.nan_to_num(Zt, nan=NAN))))
    got = stack.decision_function(test)
    assert np.isnan(got[0]).all()
    np.testing.assert_allclose(got[1:], expected[1:], rtol=1e-6)


def test_stacking_with_a_classifier_without_probabilities():
    from sklearn.linear_model import RidgeClassifier

    from emoset.decision.fusion import StackingFusion

    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 30)
    train = np.eye(3)[y][:, None, :] + rng.normal(0, 1, (30, 2, 3))
    stack = StackingFusion(RidgeClassifier(), normalize=None).fit(train, y)
    ours = RidgeClassifier().fit(_stacking_features(train), y)
    np.testing.assert_allclose(
        stack.decision_function(train), ours.decision_function(_stacking_features(train))
    )
