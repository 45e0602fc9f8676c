"""AbstainingClassifier worked out by hand on small generated inputs: its parameter checks,
the frames a set needs (of a Pipeline's first step too), each reason in words, the distance
check against nearest neighbours computed here, and accuracy counting abstentions wrong.

Written from the mutants that survived the tests fitting one elsewhere (python -m benchmarks
mutation abstain).
"""

import re

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import SVC

from emoset.decision.abstain import AbstainingClassifier
from emoset.sets.imagesets import SubspaceModel

#: Two classes of 2-D points, well apart.
X_TRAIN = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [5.0, 5.0], [5.0, 6.0], [6.0, 5.0]])
Y_TRAIN = np.array(["a", "a", "a", "b", "b", "b"])


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"min_set_size": 0}, ValueError, "min_set_size == 0, must be >= 1."),
        ({"min_set_size": 1.5}, TypeError, "min_set_size must be an instance of int, not float."),
        ({"min_set_size": "most"}, TypeError, "min_set_size must be an instance of int, not str."),
        ({"max_reference": 1}, ValueError, "max_reference == 1, must be >= 2."),
        ({"ood_margin": 0}, ValueError, "ood_margin == 0, must be > 0."),
        ({"ood_quantile": 0}, ValueError, "ood_quantile == 0, must be > 0."),
        ({"ood_quantile": 1.5}, ValueError, "ood_quantile == 1.5, must be <= 1."),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else "",
)
def test_bad_parameters_are_named(params, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        AbstainingClassifier(**params).fit(X_TRAIN, Y_TRAIN)


@pytest.mark.parametrize(
    "params",
    [
        {"min_set_size": "auto"},
        {"max_reference": 2, "ood_quantile": 1.0},
        {"ood_margin": 0.5, "ood_quantile": 0.5},
    ],
    ids=str,
)
def test_parameters_at_their_limits_are_accepted(params):
    clf = AbstainingClassifier(**params).fit(X_TRAIN, Y_TRAIN)
    assert clf.predict(X_TRAIN).tolist() == Y_TRAIN.tolist()


def _sets(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, 6)) + (i % 2) for i, n in enumerate(sizes)]


def _flatten(U):
    return np.reshape(U, (len(U), -1))


def test_auto_frames_of_a_pipeline_come_from_its_first_step():
    """A 5-direction subspace needs 5 frames; sets of 2 and 4 frames are dropped and named."""
    sets = _sets([6, 7, 8, 5, 6, 9, 2, 4])
    y = ["a", "b"] * 4
    pipe = make_pipeline(SubspaceModel(n_dims=5), FunctionTransformer(_flatten), SVC())
    with pytest.warns(UserWarning, match=r"^Dropping 2 of 8 training rows .* fewer than 5 frames"):
        clf = AbstainingClassifier(pipe, min_set_size="auto").fit(sets, y)
    assert clf.min_frames_ == 5 and clf.n_abstained_fit_ == 2
    assert clf.unusable(sets) == [None] * 6 + [
        "2 frame(s) in the image set; at least 5 needed",
        "4 frame(s) in the image set; at least 5 needed",
    ]
    # without "auto" a set model is not asked: the default is one frame
    with pytest.warns(UserWarning, match="span fewer than n_dims=5 dimensions"):
        plain = AbstainingClassifier(pipe).fit(sets, y)
    assert plain.min_frames_ == 1 and plain.n_abstained_fit_ == 0


def test_each_reason_in_words():
    sets = _sets([3, 3, 3, 3])
    clf = AbstainingClassifier(
        make_pipeline(FunctionTransformer(lambda S: np.stack([s.mean(0) for s in S])), SVC()),
        min_set_size=2,
    ).fit(sets, ["a", "b", "a", "b"])
    bad = [np.full((3, 6), np.nan), np.ones((1, 6)), np.ones((4, 6))]
    bad[2][1, 3] = np.inf
    assert clf.unusable(bad) == [
        "features hold NaN or infinity",
        "1 frame(s) in the image set; at least 2 needed",
        "features hold NaN or infinity",
    ]
    two_d = AbstainingClassifier().fit(X_TRAIN, Y_TRAIN)
    rows = np.array([[0.0, 0.0], [np.nan, 1.0]])
    assert two_d.unusable(rows) == [None, "no features (NaN row)"]
    assert two_d.predict(rows).tolist() == ["a", None]


def _nearest_other(R):
    """Each row's distance to its nearest other row, by a plain double loop."""
    return np.array(
        [min(np.linalg.norm(r - s) for j, s in enumerate(R) if j != i) for i, r in enumerate(R)]
    )


def test_distance_check_against_nearest_neighbours_by_hand():
    clf = AbstainingClassifier(ood_quantile=0.5, ood_margin=2.0).fit(X_TRAIN, Y_TRAIN)
    threshold = 2.0 * np.quantile(_nearest_other(X_TRAIN), 0.5)  # 2 * 1.0
    assert clf.ood_threshold_ == pytest.approx(threshold) and threshold == pytest.approx(2.0)
    X = np.array([[0.5, 0.5], [0.0, 3.0], [0.0, 8.0], [np.nan, 0.0]])
    # the nearest training point, over the threshold: (0, 0) or (1, 0); (0, 1); (5, 6)
    expected = [np.min(np.linalg.norm(X_TRAIN - x, axis=1)) / threshold for x in X[:3]]
    np.testing.assert_allclose(expected, [np.sqrt(0.5) / 2, 2.0 / 2, np.sqrt(29) / 2])
    ratio = clf.distance_ratio(X)
    np.testing.assert_allclose(ratio[:3], expected, rtol=1e-6)
    assert np.isnan(ratio[3])
    why, again = clf.abstentions(X)
    np.testing.assert_array_equal(again, ratio)
    assert why == [
        None,
        None,  # exactly at the threshold: still scored
        "far from the training data (nearest training input 2.7x farther than the threshold "
        "fitted on training data)",
        "no features (NaN row)",
    ]
    assert clf.predict(X).tolist() == ["a", "a", None, None]
    # between the threshold and twice it: abstained
    assert clf.abstentions([[0.0, 4.0]])[0][0].startswith(
        "far from the training data (nearest training input 1.5x"
    )
    # the check off: NaN ratios, nothing abstained for distance
    off = AbstainingClassifier().fit(X_TRAIN, Y_TRAIN)
    assert np.isnan(off.distance_ratio(X)).all() and off.abstentions(X)[0][2] is None


def test_reference_rows_are_evenly_spaced_and_augmented_rows_left_out():
    X = np.arange(20.0).reshape(10, 2)
    y = ["a"] * 5 + ["b"] * 5
    clf = AbstainingClassifier(ood_quantile=1.0, max_reference=4).fit(X, y)
    np.testing.assert_array_equal(clf.ood_reference_, X[[0, 3, 6, 9]])
    augmented = np.zeros(10, bool)
    augmented[[1, 2]] = True
    marked = AbstainingClassifier(ood_quantile=1.0).fit(X, y, augmented=augmented)
    np.testing.assert_array_equal(marked.ood_reference_, X[[0, 3, 4, 5, 6, 7, 8, 9]])
    # the largest gap between neighbours left (rows 0 and 3: 3 * sqrt(8)) times the margin
    assert marked.ood_threshold_ == pytest.approx(1.5 * 3 * np.sqrt(8))


def test_score_counts_an_abstention_as_wrong():
    clf = AbstainingClassifier().fit(X_TRAIN, Y_TRAIN)
    X = np.array([[0.0, 0.0], [5.0, 5.0], [np.nan, 0.0], [6.0, 6.0]])
    y = ["a", "b", "a", "a"]  # right, right, abstained, wrong
    assert clf.score(X, y) == pytest.approx(2 / 4)
    assert clf.score(X, y, sample_weight=[1.0, 1.0, 3.0, 1.0]) == pytest.approx(2 / 6)
    assert clf.score(X, y, sample_weight=[1.0, 2.0, 0.0, 1.0]) == pytest.approx(3 / 4)
