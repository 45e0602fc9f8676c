"""The whole recognizer on real CREMA-D clips: nested selection, abstention, persistence."""

import numpy as np
import pytest

from emoset.audio import make_audio_pipeline
from emoset.classifiers import ImageSetPLS
from emoset.datasets import load_cremad
from emoset.fusion import WeightedScoreFusion
from emoset.system import AudioVisualEmotionRecognizer, load_model, save_model

pytestmark = pytest.mark.slow


def _small_model(cache_dir, **params):
    video = {
        "cnn-pls": (
            "cnn",
            [
                ImageSetPLS("mean", kernel="rbf", n_components=5),
                ImageSetPLS("covariance", kernel="rbf", n_pca=16, n_components=5),
            ],
        )
    }
    audio = {"audio-svm": make_audio_pipeline("egemaps", probability=False)}
    return AudioVisualEmotionRecognizer(
        video=video, audio=audio, cache_dir=cache_dir, inner_cv=3, **params
    )


@pytest.fixture(scope="module")
def split(data_root):
    clips = load_cremad(data_root, subsets=["facecrop128"])
    test_speakers = sorted({c.speaker for c in clips})[::4]
    train = [c for c in clips if c.speaker not in test_speakers]
    test = [c for c in clips if c.speaker in test_speakers]
    return train, test


@pytest.fixture(scope="module")
def fitted(split, tmp_path_factory):
    train, _ = split
    cache = tmp_path_factory.mktemp("cache")
    with pytest.warns(UserWarning, match="upsampled"):
        return _small_model(cache).fit(train)


def test_fit_selects_on_training_clips_only(fitted, split):
    train, test = split
    assert not {c.speaker for c in train} & {c.speaker for c in test}
    assert set(fitted.subsystems_) == {"cnn-pls", "audio-svm"}
    assert len(fitted.candidate_scores_["cnn-pls"]) == 2
    oof = fitted.oof_scores_["cnn-pls"]
    assert oof.shape == (len(train), 6)
    best = fitted.selected_["cnn-pls"]
    assert fitted.candidate_scores_["cnn-pls"][best] == max(fitted.candidate_scores_["cnn-pls"])
    assert list(fitted.classes_) == ["anger", "disgust", "fear", "happy", "neutral", "sad"]


def test_estimator_contract(fitted, split, tmp_path):
    """clone round trip, params unchanged by fit, not-fitted error, pickle round trip."""
    import pickle

    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    params = _small_model(fitted.cache_dir).get_params(deep=False)
    assert clone(fitted).get_params(deep=False).keys() == params.keys()
    assert fitted.get_params(deep=False)["video"] is fitted.video  # fit wrote no parameter
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        clone(fitted).predict(split[1])
    again = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(again.predict(split[1]), fitted.predict(split[1]))


def test_clip_with_one_face_abstains(fitted, split, tmp_path):
    """A set model needs 2 faces: with 1 the video subsystems abstain, the batch goes on."""
    from _factories import write_video

    from emoset.datasets import Clip
    from emoset.media import read_frames

    clip = split[1][0]
    one = write_video(tmp_path / "one_frame.mp4", read_frames(clip.video, max_frames=1))
    short = Clip("one", one, clip.audio, clip.label, clip.speaker, "cremad")
    scores = fitted.subsystem_scores([short, clip])
    assert np.isnan(scores["cnn-pls"][0]).all() and not np.isnan(scores["cnn-pls"][1]).any()
    assert not np.isnan(scores["audio-svm"]).any()
    assert len(fitted.predict([short, clip])) == 2


def test_inner_cv_without_speakers_warns(split, tmp_path):
    train, _ = split
    model = _small_model(tmp_path).set_params(video={})
    paths = [c.audio for c in train[:30]]
    with pytest.warns(UserWarning, match="No speakers known"):
        model.fit(paths, [c.label for c in train[:30]])


def test_predicts_unseen_speakers_above_chance(fitted, split):
    _, test = split
    y = np.array([c.label for c in test])
    pred = fitted.predict(test)
    assert set(pred) <= set(fitted.classes_)
    # 6 classes: chance is 1/6; unseen actors, ~20 clips
    assert np.mean(pred == y) > 1 / 6
    proba = fitted.predict_proba(test)
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_video_abstains_without_face_and_audio_decides(fitted, split, tmp_path):
    import shutil

    _, test = split
    clip = test[0]
    audio_only = tmp_path / (clip.id + ".wav")
    shutil.copy(clip.audio, audio_only)
    from emoset.datasets import Clip

    no_video = Clip(clip.id, None, audio_only, clip.label, clip.speaker, "cremad")
    scores = fitted.subsystem_scores([no_video])
    assert np.isnan(scores["cnn-pls"]).all() and not np.isnan(scores["audio-svm"]).any()
    assert fitted.predict([no_video])[0] == fitted.classes_[np.argmax(scores["audio-svm"][0])]


def test_save_load_roundtrip_and_tamper(fitted, split, tmp_path):
    _, test = split
    path = save_model(fitted, tmp_path / "model.skops")
    again = load_model(path)
    assert np.array_equal(again.predict(test), fitted.predict(test))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"model\.skops: SHA-256 .* does not match the recorded"):
        load_model(path)


class Untrusted:
    """A type from outside emoset and its libraries."""


def test_load_refuses_foreign_types(tmp_path):
    path = save_model({"payload": Untrusted(), "f": eval}, tmp_path / "evil.skops")
    with pytest.raises(ValueError, match=r"refusing to load types other than emoset estimators"):
        load_model(path)
    (tmp_path / "evil.skops.sha256").unlink()
    with pytest.raises(FileNotFoundError, match=r"no evil\.skops\.sha256 beside it"):
        load_model(path)
    with pytest.raises(ValueError, match=r"Untrusted"):
        load_model(path, require_digest=False)
    with pytest.raises(FileNotFoundError, match="Model file .*missing.skops not found"):
        load_model(tmp_path / "missing.skops")


@pytest.mark.parametrize(
    ("params", "X", "error", "match"),
    [
        ({}, [], ValueError, "X is empty"),
        ({"inner_cv": 1}, None, ValueError, "inner_cv must be an integer >= 2"),
        ({"video": {}, "audio": {}}, None, ValueError, "No subsystem"),
        ({"video": {"x": "cnn"}}, None, TypeError, "must be \\(frame_feature, estimator"),
        (
            {
                "video": {"x": ("cnn", ImageSetPLS())},
                "audio": {"x": make_audio_pipeline("egemaps")},
            },
            None,
            ValueError,
            "names must differ between video and audio",
        ),
    ],
    ids=["empty", "inner-cv", "no-subsystem", "bad-video-spec", "name-clash"],
)
def test_bad_input(split, params, X, error, match):
    train, _ = split
    model = AudioVisualEmotionRecognizer(**params)
    with pytest.raises(error, match=match):
        model.fit(train[:5] if X is None else X)


def test_single_clip_is_a_type_error(fitted, split):
    with pytest.raises(TypeError, match="not a single clip"):
        fitted.predict(split[1][0])


def test_fusion_is_configurable(split, tmp_path):
    train, _ = split
    model = _small_model(tmp_path, fusion=WeightedScoreFusion(scheme="global"))
    with pytest.warns(UserWarning):
        model.fit(train[:40])
    w = model.fusion_.weights_
    assert np.allclose(w, w[:, :1])
