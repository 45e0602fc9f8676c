"""Mirror augmentation in the recognizer (``mirror=True``), on real CREMA-D face crops.

Small and quick: a dozen clips of six actors at 5 frames per second, LBP frame features and a
mean-pooled PLS, so the whole file takes seconds once the session's feature cache is warm.
"""

import hashlib

import numpy as np
import pytest
from sklearn.base import clone

from emoset.datasets.corpora import load_cremad
from emoset.recognizer.persistence import load_model, save_model
from emoset.recognizer.subsystems import make_audio_pipeline, make_video_pipeline
from emoset.recognizer.system import AudioVisualEmotionRecognizer
from emoset.sets.classifiers import ImageSetPLS
from emoset.video.extract import ImageSetFeatures

FPS = 5


@pytest.fixture(scope="module")
def clips(data_root):
    """Two face-crop clips of each of 8 actors: 12 to train on (6 actors), 4 to score."""
    crops = load_cremad(data_root, subsets=["facecrop128"])
    by_speaker = {}
    for c in crops:
        by_speaker.setdefault(c.speaker, []).append(c)
    pairs = [v[:2] for _, v in sorted(by_speaker.items()) if len(v) >= 2][:8]
    chosen = [c for pair in pairs for c in pair]
    return chosen[:12], chosen[12:]


def _digest(s):
    return hashlib.sha256(np.ascontiguousarray(s).tobytes()).hexdigest()


class RecordingPLS(ImageSetPLS):
    """ImageSetPLS that logs the sets it is fitted on and scores (clones share the log)."""

    log = []

    def fit(self, X, y):
        RecordingPLS.log.append(("fit", [_digest(s) for s in X]))
        return super().fit(X, y)

    def decision_function(self, X):
        RecordingPLS.log.append(("score", [_digest(s) for s in X]))
        return super().decision_function(X)


def _recognizer(cache_dir, classifier, *, ood_quantile=0.99, **params):
    pipe = make_video_pipeline("lbp", classifier, fps=FPS, ood_quantile=ood_quantile)
    return AudioVisualEmotionRecognizer(
        video={"lbp-pls": pipe}, audio={}, inner_cv=3, cache_dir=cache_dir, **params
    )


def _pls(cls=ImageSetPLS):
    return cls("mean", kernel="rbf", n_pca=16, n_components=3, random_state=0)


def _sets(feature, clips, cache_dir):
    step = ImageSetFeatures(feature, fps=FPS, cache_dir=cache_dir).fit(clips)
    return step.extract(clips)[0]


def test_mirrors_train_never_held_out_never_scored(clips, feature_cache):
    """Every fit sees a clip's mirror exactly when it sees the clip; the held-out side of
    every inner fold holds only original sets of speakers the fit never saw; the final fit
    has 2n sets and scoring n clips scores n original sets."""
    train, test = clips
    n = len(train)
    which = {}  # set digest -> (clip index, "original" or "mirror")
    for kind, feature in (("original", "lbp"), ("mirror", "mirrored-lbp")):
        for i, s in enumerate(_sets(feature, train, feature_cache)):
            which[_digest(s)] = (i, kind)
    assert len(which) == 2 * n  # a mirrored set is not its original
    speaker = [c.speaker for c in train]

    RecordingPLS.log.clear()
    # no distance check: every held-out set reaches the classifier and is logged
    model = _recognizer(feature_cache, _pls(RecordingPLS), ood_quantile=None, mirror=True)
    model.fit(train)
    log = list(RecordingPLS.log)
    fits = [[which[d] for d in sets] for op, sets in log if op == "fit"]
    assert len(fits) == 3 + 1  # one per inner fold, then all training clips
    assert sorted(fits[-1]) == sorted((i, k) for i in range(n) for k in ("original", "mirror"))
    for op, sets in log[:-1]:  # inner folds: fit, then score the held-out clips
        if op == "fit":
            seen = [which[d] for d in sets]
            originals = {i for i, k in seen if k == "original"}
            assert originals == {i for i, k in seen if k == "mirror"}  # mirror beside original
        else:
            held_out = [which.get(d) for d in sets]
            assert all(h is not None and h[1] == "original" for h in held_out), held_out
            held = {i for i, _ in held_out}
            assert not held & originals
            assert not {speaker[i] for i in held} & {speaker[i] for i in originals}
    oof = model.oof_scores_["lbp-pls"]
    assert oof.shape == (n, len(model.classes_))  # out-of-fold scores of the originals only

    RecordingPLS.log.clear()
    assert len(model.predict(test)) == len(test)
    scored = [d for op, sets in RecordingPLS.log for d in sets]
    assert scored == [_digest(s) for s in _sets("lbp", test, feature_cache)]


def test_mirror_off_is_unchanged_and_on_differs(clips, feature_cache):
    train, test = clips
    off = _recognizer(feature_cache, _pls()).fit(train)
    default = _recognizer(feature_cache, _pls(), mirror=False).fit(train)
    on = _recognizer(feature_cache, _pls(), mirror=True).fit(train)
    np.testing.assert_array_equal(off.decision_function(test), default.decision_function(test))
    assert off.oof_scores_["lbp-pls"].shape == on.oof_scores_["lbp-pls"].shape
    assert not np.allclose(off.decision_function(test), on.decision_function(test))


def test_params_clone_and_save_load_keep_mirror(clips, feature_cache, tmp_path):
    train, test = clips
    model = _recognizer(feature_cache, _pls(), mirror=True)
    assert model.get_params()["mirror"] is True
    assert clone(model).mirror is True
    assert clone(model).set_params(mirror=False).mirror is False
    model.fit(train)
    assert model.mirror is True  # fit wrote no parameter
    path = save_model(model, tmp_path / "mirror.skops")
    again = load_model(path, cache_dir=feature_cache)
    assert again.mirror is True
    np.testing.assert_array_equal(again.decision_function(test), model.decision_function(test))


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"mirror": "yes"}, ValueError, r"mirror must be True or False; got 'yes'\."),
        ({"mirror": 1}, ValueError, r"mirror must be True or False; got 1\."),
        (
            {"mirror": True, "video": {"v": make_audio_pipeline("egemaps")}},
            TypeError,
            r"Subsystem 'v': mirror=True needs a feature step that can mirror faces",
        ),
    ],
    ids=["string", "int", "audio-feature-step-as-video"],
)
def test_bad_mirror(clips, params, error, match):
    model = AudioVisualEmotionRecognizer(audio={}, **params)
    with pytest.raises(error, match=match):
        model.fit(clips[0])


def test_mirrored_sets_stay_out_of_the_distance_check(clips, feature_cache):
    """The out-of-distribution reference holds the training clips, not their mirrors."""
    train, _ = clips
    on = _recognizer(feature_cache, _pls(), mirror=True).fit(train)
    clf = on.subsystems_["lbp-pls"].steps[-1][1]
    assert clf.estimator_.pipeline_ is not None
    assert len(clf.ood_reference_) == len(train)


def test_augmented_rows_train_but_do_not_set_the_threshold():
    from emoset.decision.abstain import AbstainingClassifier
    from emoset.decision.fusion import out_of_fold_scores

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.arange(40) % 2
    X2, y2 = np.vstack([X, X + 1e-3]), np.concatenate([y, y])  # each row and a near copy
    augmented = np.repeat([False, True], 40)
    alone = AbstainingClassifier(ood_quantile=0.9).fit(X, y)
    marked = AbstainingClassifier(ood_quantile=0.9).fit(X2, y2, augmented=augmented)
    unmarked = AbstainingClassifier(ood_quantile=0.9).fit(X2, y2)
    assert marked.ood_threshold_ == pytest.approx(alone.ood_threshold_)
    np.testing.assert_array_equal(marked.ood_reference_, alone.ood_reference_)
    assert unmarked.ood_threshold_ < alone.ood_threshold_ / 10  # copies shrink it
    # out_of_fold_scores cuts the mask to each fold's training rows
    folds = [(np.r_[0:20, 40:60], np.r_[20:40]), (np.r_[20:40, 60:80], np.r_[0:20])]
    clf = AbstainingClassifier(ood_quantile=0.9)
    oof = out_of_fold_scores(clf, X2, y2, cv=folds, fit_params={"augmented": augmented})
    assert np.isfinite(oof[:40]).all() and np.isnan(oof[40:]).all()
    with pytest.raises(ValueError, match=r"augmented must be a boolean array of shape \(80,\)"):
        AbstainingClassifier().fit(X2, y2, augmented=augmented[:10])
