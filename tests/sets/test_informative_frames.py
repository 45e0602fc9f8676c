"""The fewest frames each set model needs to tell clips apart, and abstaining below it.

Measured on real CNN image sets of CREMA-D clips: a Ledoit-Wolf covariance (or Gaussian) of two
frames shrinks to a scaled identity, so every two-frame clip got the same scores; from three
frames they differ. A subspace of ``n_dims`` directions needs ``n_dims`` frames.
"""

import warnings

import numpy as np
import pytest

from emoset.decision.abstain import AbstainingClassifier
from emoset.sets.classifiers import ImageSetPLS
from emoset.sets.imagesets import CovarianceModel, GaussianModel, MeanModel, SubspaceModel
from emoset.video.extract import extract_image_sets


def test_informative_frames_of_each_set_model():
    assert MeanModel().informative_frames == 1
    assert CovarianceModel().informative_frames == 3
    assert CovarianceModel(shrinkage=0.1).informative_frames == 2
    assert GaussianModel().informative_frames == 3
    assert SubspaceModel(n_dims=7).informative_frames == 7
    assert ImageSetPLS("subspace", n_dims=10).informative_frames() == 10
    assert ImageSetPLS("covariance").informative_frames() == 3


@pytest.fixture(scope="module")
def cnn_sets(cremad_split, feature_cache):
    train, test = cremad_split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sets, _ = extract_image_sets(train + test, "cnn", cache_dir=feature_cache)
    y = np.array([c.label for c in train + test])
    return sets[: len(train)], y[: len(train)], sets[len(train) :]


@pytest.mark.parametrize("set_model", ["covariance", "gaussian", "subspace"])
def test_below_the_minimum_abstains_and_at_it_scores_vary(cnn_sets, set_model):
    train, y, test = cnn_sets
    est = ImageSetPLS(set_model, kernel="rbf", n_pca=16, n_dims=4, n_components=4, random_state=0)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        clf = AbstainingClassifier(est, min_set_size="auto").fit(train, y)
    # one training clip has 3 aligned faces: too few for a 4-direction subspace only
    dropped = [str(w.message) for w in seen if "Dropping" in str(w.message)]
    assert len(dropped) == (set_model == "subspace"), dropped
    need = clf.min_frames_
    assert need == {"covariance": 3, "gaussian": 3, "subspace": 4}[set_model]

    def cut(n):  # n frames spread over each test clip
        return [s[:: max(1, len(s) // n)][:n] for s in test]

    why = clf.abstentions(cut(need - 1))[0]
    assert all(w == f"{need - 1} frame(s) in the image set; at least {need} needed" for w in why)
    assert np.isnan(clf.decision_function(cut(need - 1))).all()
    scores = clf.decision_function(cut(need))
    scored = scores[~np.isnan(scores).any(axis=1)]
    assert len(scored) >= len(test) - 2
    # at the minimum the scores still follow the content: no two clips score alike
    distinct = len({tuple(np.round(r, 6)) for r in scored})
    assert distinct == len(scored)


def test_two_frame_covariances_would_all_score_alike(cnn_sets):
    """Why 3: scored anyway, every two-frame set gets the same scores."""
    train, y, test = cnn_sets
    est = ImageSetPLS("covariance", kernel="rbf", n_pca=16, n_components=4, random_state=0)
    est.fit(train, y)
    with pytest.warns(UserWarning, match=r"have fewer than 3 frames .*nearly the same"):
        two = est.decision_function([s[:: max(1, len(s) // 2)][:2] for s in test])
    three = est.decision_function([s[:: max(1, len(s) // 3)][:3] for s in test])
    # the spread of the scores over the clips, two frames against three
    assert two.std(axis=0).max() < 1e-3 * three.std(axis=0).max()
