"""AbstainingClassifier worked out by hand on small generated inputs: its parameter checks,
the frames a set needs (of a Pipeline's first step too), each reason in words, the distance
check against nearest neighbours computed here, and accuracy counting abstentions wrong.

Written from the mutants that survived the tests fitting one elsewhere (python -m benchmarks
mutation abstain).
"""

import re

import numpy as np
import pytest
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import DataConversionWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
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


def test_nearest_other_row_holds_across_chunks():
    """With little working memory the distances come in chunks of rows; each row still
    skips itself only (the brute-force threshold of 400 points)."""
    X = np.random.default_rng(1).normal(size=(400, 2))
    y = np.repeat(["a", "b"], 200)
    with sklearn.config_context(working_memory=0.5):  # 0.5 MiB: chunks of 163 rows
        clf = AbstainingClassifier(ood_quantile=1.0, ood_margin=1.0).fit(X, y)
    assert clf.ood_threshold_ == pytest.approx(_nearest_other(X).max(), rel=1e-6)


def test_auto_frames_default_to_one_when_the_model_does_not_say():
    """A set model without ``informative_frames`` needs one frame: a 1-frame set is kept."""
    sets = _sets([1, 3, 3, 3])
    pipe = make_pipeline(FunctionTransformer(lambda S: np.stack([s.mean(0) for s in S])), SVC())
    clf = AbstainingClassifier(pipe, min_set_size="auto").fit(sets, ["a", "b", "a", "b"])
    assert clf.min_frames_ == 1 and clf.n_abstained_fit_ == 0
    assert clf.unusable(sets) == [None] * 4
    assert AbstainingClassifier().fit(X_TRAIN, Y_TRAIN).min_frames_ is None  # 2-D input


def test_new_input_must_have_the_training_width():
    clf = AbstainingClassifier().fit(X_TRAIN, Y_TRAIN)
    message = "X has 3 features, but AbstainingClassifier is expecting 2 features as input."
    with pytest.raises(ValueError, match=re.escape(message)):
        clf.unusable(np.zeros((2, 3)))
    assert clf.n_features_in_ == 2


class _EmbeddingPipeline(Pipeline):
    """A set pipeline that says where its classifier works: its steps before the last."""

    def embedding(self, X):
        return self[:-1].transform(X)


def test_distance_check_works_in_the_estimators_embedding():
    """Sets are compared in the space ``embedding`` gives (here each set's first frame and
    its last, scaled by 10), not by their means."""
    sets = [np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])] * 2
    ends = FunctionTransformer(lambda S: np.stack([np.r_[s[0], s[-1]] * 10 for s in S]))
    pipe = _EmbeddingPipeline([("ends", ends), ("svc", SVC())])
    clf = AbstainingClassifier(pipe, ood_quantile=1.0).fit(sets, ["a", "b", "a", "b"])
    np.testing.assert_array_equal(
        clf.ood_reference_, [[0, 0, 10, 10], [10, 0, 0, 10], [0, 0, 10, 10], [10, 0, 0, 10]]
    )
    # both sets have the mean (0.5, 0.5), but not the same embedding; each training set has
    # a copy, so the threshold is 0, and a set equal to the first is at distance 0
    assert clf.ood_threshold_ == pytest.approx(0.0)
    np.testing.assert_allclose(clf.distance_ratio(sets[:1]), [0.0])


def test_labels_of_image_sets_as_a_column_are_flattened_with_a_warning():
    sets = _sets([3, 3, 3, 3])
    y = np.array([["a"], ["b"], ["a"], ["b"]])
    pipe = make_pipeline(FunctionTransformer(lambda S: np.stack([s.mean(0) for s in S])), SVC())
    with pytest.warns(DataConversionWarning, match="column-vector y was passed"):
        clf = AbstainingClassifier(pipe).fit(sets, y)
    assert clf.classes_.tolist() == ["a", "b"]
    with pytest.raises(ValueError, match=r"^Got 4 image sets but 3 labels; expected equal\.$"):
        AbstainingClassifier(pipe).fit(sets, ["a", "b", "a"])


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0] * 5, "sample_weight must have shape (6,); got (5,)."),
        ([0.0] * 6, "sample_weight is zero for every usable row."),
        (
            [1.0, 1.0, 1.0, 0.0, 0.0, 0.0],
            "sample_weight leaves fewer than 2 classes with positive weight among the usable rows.",
        ),
    ],
    ids=["shape", "zero", "one-class"],
)
def test_bad_sample_weights_are_named(weights, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        AbstainingClassifier().fit(X_TRAIN, Y_TRAIN, sample_weight=weights)


#: Two overlapping classes, four rows each, and a NaN row (dropped in fit).
X_MIXED = np.r_[np.random.default_rng(3).normal(size=(8, 2)), [[np.nan, 0.0]]]
Y_MIXED = np.array(list("abababab") + ["a"])
WEIGHTS = np.array([1.0, 5.0, 1.0, 0.2, 3.0, 1.0, 0.5, 2.0, 9.0])


def _sgd():
    return SGDClassifier(
        loss="log_loss", learning_rate="constant", eta0=0.1, max_iter=5, tol=None, random_state=0
    )


def test_sample_weight_and_fit_parameters_reach_the_classifier_on_the_kept_rows():
    """Per-sample arrays are cut to the kept rows, anything else is passed unchanged:
    the same fit as the classifier's own on the eight usable rows."""
    kept = slice(0, 8)

    def init():  # fresh arrays for every fit: SGD updates its start in place
        return {"coef_init": np.array([[0.5, -0.5]]), "intercept_init": np.array([0.1])}

    with pytest.warns(UserWarning, match="^Dropping 1 of 9 training rows"):
        clf = AbstainingClassifier(_sgd()).fit(X_MIXED, Y_MIXED, sample_weight=WEIGHTS, **init())
    own = _sgd()
    own.fit(X_MIXED[kept], Y_MIXED[kept], sample_weight=WEIGHTS[kept], **init())
    np.testing.assert_array_equal(clf.estimator_.coef_, own.coef_)
    np.testing.assert_array_equal(clf.estimator_.intercept_, own.intercept_)
    unweighted = _sgd()
    unweighted.fit(X_MIXED[kept], Y_MIXED[kept], **init())
    assert not np.allclose(unweighted.coef_, own.coef_)  # the weights matter here


def test_probability_is_calibrated_as_documented():
    """``CalibratedClassifierCV(SVC(), method="sigmoid", cv=min(5, fewest rows of a class),
    ensemble=False)`` fitted in the test on the usable rows, with the same weights."""
    with pytest.warns(UserWarning, match="^Dropping 1 of 9"):
        clf = AbstainingClassifier(probability=True).fit(X_MIXED, Y_MIXED, sample_weight=WEIGHTS)
    own = CalibratedClassifierCV(SVC(), method="sigmoid", cv=4, ensemble=False)
    own.fit(X_MIXED[:8], Y_MIXED[:8], sample_weight=WEIGHTS[:8])
    probe = np.random.default_rng(4).normal(size=(5, 2))
    np.testing.assert_allclose(clf.predict_proba(probe), own.predict_proba(probe))
    assert len(clf.calibrator_.calibrated_classifiers_) == 1
    assert clf.calibrator_.cv == 4
    unweighted = CalibratedClassifierCV(SVC(), method="sigmoid", cv=4, ensemble=False)
    unweighted.fit(X_MIXED[:8], Y_MIXED[:8])
    assert not np.allclose(unweighted.predict_proba(probe), own.predict_proba(probe))


def test_probability_folds_from_the_smallest_class():
    X = np.random.default_rng(5).normal(size=(14, 2))
    assert AbstainingClassifier(probability=True).fit(X, ["a", "b"] * 7).calibrator_.cv == 5
    two = AbstainingClassifier(probability=True).fit(X[:4], ["a", "b"] * 2)
    assert two.calibrator_.cv == 2
    message = (
        "probability=True needs at least 2 training rows of every class; class 'b' has 1 sample(s)."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        AbstainingClassifier(probability=True).fit(X[:4], ["a", "a", "b", "a"])


def test_distance_check_from_two_training_rows():
    X = np.array([[0.0, 0.0], [3.0, 4.0]])
    clf = AbstainingClassifier(ood_quantile=0.5).fit(X, ["a", "b"])
    assert clf.ood_threshold_ == pytest.approx(1.5 * 5.0)
    assert clf.ood_reference_.dtype == np.float32
    np.testing.assert_array_equal(clf.ood_reference_, X)


def test_inputs_past_the_threshold_are_not_scored():
    """Between the threshold and twice it: abstained by every method, not only named."""
    clf = AbstainingClassifier(ood_quantile=0.5, ood_margin=2.0).fit(X_TRAIN, Y_TRAIN)
    X = np.array([[0.0, 0.0], [0.0, 4.0]])  # ratio 0 and 1.5
    assert clf.predict(X).tolist() == ["a", None]
    values = clf.decision_function(X)
    assert np.isfinite(values[0]) and np.isnan(values[1])


def test_score_weights_without_abstentions():
    clf = AbstainingClassifier().fit(X_TRAIN, Y_TRAIN)
    X = np.array([[0.0, 0.0], [5.0, 5.0], [6.0, 6.0]])
    y = ["a", "b", "a"]  # right, right, wrong
    assert clf.score(X, y) == pytest.approx(2 / 3)
    assert clf.score(X, y, sample_weight=[1.0, 1.0, 2.0]) == pytest.approx(2 / 4)


def test_probabilities_are_offered_when_the_classifier_has_them():
    assert hasattr(AbstainingClassifier(LogisticRegression()), "predict_proba")
    assert not hasattr(AbstainingClassifier(), "predict_proba")  # SVC without probability
    assert hasattr(AbstainingClassifier(probability=True), "predict_proba")
    assert not hasattr(AbstainingClassifier(KNeighborsClassifier()), "decision_function")
    X = np.r_[X_TRAIN, [[np.nan, 1.0]]]
    with pytest.warns(UserWarning, match="^Dropping 1 of 7"):
        clf = AbstainingClassifier(LogisticRegression()).fit(X, [*Y_TRAIN, "a"])
    own = LogisticRegression().fit(X_TRAIN, Y_TRAIN)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba[:6], own.predict_proba(X_TRAIN))
    assert np.isnan(proba[6]).all()


def test_distance_check_with_speakers_measures_to_other_speakers():
    """Each speaker's two rows are 1 apart, the speakers 3 apart: with groups the threshold is
    the distance to the other speaker's rows (3), without them to the own speaker's (1)."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0], [np.nan, 0.0]])
    y = ["a", "b", "a", "b", "a"]
    groups = ["s1", "s1", "s2", "s2", "s3"]
    params = {"ood_quantile": 1.0, "ood_margin": 1.0}
    with pytest.warns(UserWarning, match="^Dropping 1 of 5"):
        by_speaker = AbstainingClassifier(**params).fit(X, y, groups=groups)
    assert by_speaker.ood_threshold_ == pytest.approx(3.0)
    with pytest.warns(UserWarning, match="^Dropping 1 of 5"):
        plain = AbstainingClassifier(**params).fit(X, y)
    assert plain.ood_threshold_ == pytest.approx(1.0)
    with pytest.warns(UserWarning, match="^Dropping 1 of 5"):
        one = AbstainingClassifier(**params).fit(X, y, groups=["s"] * 5)
    assert one.ood_threshold_ == pytest.approx(1.0)  # one speaker: any other row
    # two evenly spaced reference rows (0 and 3), of two speakers: sqrt(3^2 + 1^2) apart
    with pytest.warns(UserWarning, match="^Dropping 1 of 5"):
        two = AbstainingClassifier(max_reference=2, **params).fit(X, y, groups=groups)
    assert two.ood_threshold_ == pytest.approx(np.sqrt(10.0))
    # augmented rows leave the reference with their speakers: rows 0, 2, 3; the nearest row
    # of another speaker is 3, 3 and sqrt(10) away (without speakers: 3, 1, 1)
    augmented = np.array([False, True, False, False, False])
    with pytest.warns(UserWarning, match="^Dropping 1 of 5"):
        aug = AbstainingClassifier(**params).fit(X, y, groups=groups, augmented=augmented)
    np.testing.assert_array_equal(aug.ood_reference_, X[[0, 2, 3]])
    assert aug.ood_threshold_ == pytest.approx(np.sqrt(10.0))
    with (
        pytest.warns(UserWarning, match="^Dropping 1 of 5"),
        pytest.raises(ValueError, match=r"^groups must have shape \(5,\); got \(4,\)\.$"),
    ):
        AbstainingClassifier(**params).fit(X, y, groups=groups[:4])


def test_nearest_training_distances_equal_scikit_learns_in_any_chunk(monkeypatch):
    """The distance check's own nearest-row distances are scikit-learn's
    (``pairwise_distances_argmin_min``), whatever the number of rows held at once."""
    from sklearn.metrics import pairwise_distances_argmin_min

    from emoset.decision import abstain

    rng = np.random.default_rng(3)
    R, reference = rng.normal(size=(50, 7)), rng.normal(size=(9, 7))
    expected = pairwise_distances_argmin_min(R, reference)[1]
    for elements in (1, 9 * 4, 1 << 22):  # one row at a time, four, all of them
        monkeypatch.setattr(abstain, "_CHUNK_ELEMENTS", elements)
        np.testing.assert_allclose(abstain._nearest_distance(R, reference), expected, rtol=1e-12)

    # a row equal to a reference row is at distance 0, not NaN, where the expansion's
    # round-off is negative (far from the origin; which rows depends on the BLAS)
    def own_row(far, i):  # as the check computes row i's squared distance to itself
        sq = np.einsum("ij,ij->i", far, far)
        return (np.einsum("ij,ij->i", far[[i]], far[[i]]) - 2.0 * (far[[i]] @ far.T) + sq)[0, i]

    negative = [
        (far, i)
        for far in (reference + offset for offset in (1e2, 1e3, 1e4, 1e5))
        for i in range(len(far))
        if own_row(far, i) < 0
    ]
    assert negative, "no negative round-off to clamp"
    assert all(abstain._nearest_distance(far[[i]], far)[0] == 0.0 for far, i in negative)
    # a non-finite row is infinitely far; a non-finite reference row is passed over
    R[0, 3], R[1, 2] = np.nan, np.inf
    assert np.isinf(abstain._nearest_distance(R[:3], reference)[:2]).all()
    bad = reference.copy()
    bad[2, 0], bad[5, 1] = np.inf, np.nan
    finite = np.delete(reference, [2, 5], axis=0)
    np.testing.assert_allclose(
        abstain._nearest_distance(R[3:], bad),
        pairwise_distances_argmin_min(R[3:], finite)[1],
        rtol=1e-12,
    )


def test_scores_with_reasons_only_where_the_classifier_has_decision_values():
    from sklearn.naive_bayes import GaussianNB

    clf = AbstainingClassifier(GaussianNB()).fit(X_TRAIN, Y_TRAIN)
    assert not hasattr(clf, "decision_function_with_reasons")
    assert hasattr(AbstainingClassifier().fit(X_TRAIN, Y_TRAIN), "decision_function_with_reasons")


def test_an_input_with_no_finite_distance_is_abstained_on():
    """An input whose representation is not finite (finite features, a degenerate embedding)
    is far from everything, never scored with no reason."""
    clf = AbstainingClassifier(ood_quantile=0.5).fit(X_TRAIN, Y_TRAIN)
    clf.ood_reference_ = clf.ood_reference_.copy()
    clf.ood_reference_[:, 0] = np.inf  # as if every reference embedding had overflowed
    why, ratio = clf.abstentions(X_TRAIN[:2])
    assert np.isinf(ratio).all()
    assert why == ["far from the training data (no finite distance to it)"] * 2
    assert clf.predict(X_TRAIN[:2]).tolist() == [None, None]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_scores_and_reasons_at_once_equal_the_two_calls(n_classes):
    """What a timeline asks per window: the decision values and the reasons of one check."""
    X = np.vstack([X_TRAIN, [[10.0, 0.0], [11.0, 0.0], [10.0, 1.0]]])
    y = ["a"] * 3 + ["b"] * 3 + ["c" if n_classes == 3 else "b"] * 3
    clf = AbstainingClassifier(ood_quantile=0.5, ood_margin=2.0).fit(X, y)
    test = np.array([[0.5, 0.5], [0.0, 4.0], [np.nan, 1.0], [10.0, 0.5], [0.0, 30.0]])
    scores, why, ratio = clf.decision_function_with_reasons(test)
    np.testing.assert_array_equal(scores, clf.decision_function(test))
    why_alone, ratio_alone = clf.abstentions(test)
    assert why == why_alone
    np.testing.assert_array_equal(ratio, ratio_alone)  # NaN for the NaN row in both
    assert [w is None for w in why] == [True, False, False, True, False]
    assert np.isnan(scores[[1, 2, 4]]).all() and np.isfinite(scores[[0, 3]]).all()
