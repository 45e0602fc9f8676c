"""Speech as image sets: a clip's openSMILE frame descriptors summarised as a Gaussian.

The moments of the frames (``OpenSmileDescriptorMoments``), their log-Euclidean embedding
(``GaussianMomentEmbedding``) and the speech subsystem they make
(``make_audio_pipeline("egemaps-lld")``), on generated frames and on real clips.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.covariance import oas

from emoset.audio.features import OpenSmileDescriptorMoments, make_audio_features
from emoset.audio.moments import frame_moments
from emoset.audio.speech import opensmile_descriptors
from emoset.sets.geometry import gaussian_embedding, log_vectors
from emoset.sets.imagesets import GaussianMomentEmbedding

SR = 16000


def _sets(seed=0, n=6, d=4):
    """Image sets whose features live on very different scales (as descriptors do)."""
    rng = np.random.default_rng(seed)
    scale = np.array([1.0, 10.0, 100.0, 0.1, 3.0][:d])
    return [rng.normal(size=(int(rng.integers(5, 80)), d)) * scale + scale for _ in range(n)]


def test_frame_moments_of_generated_frames():
    frames = _sets(n=1)[0]
    m = frame_moments(frames).astype(np.float64)
    d = frames.shape[1]
    cov = np.cov(frames, rowvar=False, bias=True)
    assert m.shape == (1 + d + d * (d + 1) // 2,) and m[0] == len(frames)
    assert np.allclose(m[1 : 1 + d], frames.mean(axis=0), rtol=1e-6)
    assert np.allclose(m[1 + d :], cov[np.triu_indices(d)], rtol=1e-5)
    with_nan = np.vstack([frames, np.full(d, np.nan)])
    assert np.array_equal(frame_moments(with_nan), frame_moments(frames))  # dropped
    assert np.isnan(frame_moments(frames[:1])).all()  # one frame: no covariance


def test_gaussian_moment_embedding_equals_the_frames_route():
    """From moments alone, the vectors the frames give: standardised with the training sets'
    statistics (each set weighing the same), OAS shrinkage as sklearn computes it on the
    frames, the Gaussian embedding and its matrix logarithm."""
    sets = _sets()
    rows = np.array([frame_moments(s) for s in sets], dtype=np.float64)
    emb = GaussianMomentEmbedding(reg=0.0).fit(rows[:4])
    mean = np.mean([s.mean(axis=0) for s in sets[:4]], axis=0)
    sd = np.sqrt(np.mean([(s**2).mean(axis=0) for s in sets[:4]], axis=0) - mean**2)
    assert np.allclose(emb.mean_, mean) and np.allclose(emb.scale_, sd)
    expected = []
    for s in sets:
        z = (s - mean) / sd
        cov, _ = oas(z)
        expected.append(log_vectors(gaussian_embedding(z.mean(axis=0)[None], cov[None]))[0])
    got = emb.transform(np.vstack([rows, np.full(rows.shape[1], np.nan)]))
    assert got.shape == (7, 15)
    assert np.allclose(got[:6], expected, atol=1e-5)  # moments are float32
    assert np.isnan(got[6]).all()  # an abstaining set stays an abstention
    with pytest.raises(ValueError, match="one row of moments per set"):
        emb.transform(rows[:, :-1])
    other = np.array([frame_moments(s[:, :3]) for s in sets])
    with pytest.raises(ValueError, match="moments of 3 features; fitted on 4"):
        emb.transform(other)
    with pytest.raises(ValueError, match="at least one set without NaN; all 2 rows"):
        GaussianMomentEmbedding().fit(np.full((2, rows.shape[1]), np.nan))
    with pytest.raises(ValueError, match="reg == -1"):
        GaussianMomentEmbedding(reg=-1).fit(rows)
    with pytest.raises(ValueError, match="frames must be 2-D"):
        frame_moments(np.zeros(5))


def test_descriptor_moments_of_real_clips(data_root, tmp_path):
    from emoset.datasets.corpora import load_ravdess
    from emoset.io.media import load_audio

    clips = [c for c in load_ravdess(data_root) if c.speaker == "01"][:3]
    step = OpenSmileDescriptorMoments(bandwidth=None, cache_dir=tmp_path).fit(clips)
    X, info = step.extract(clips)
    assert X.shape == (3, 351) and step.n_features_out_ == 351
    assert list(step.feature_names_[:2]) == ["n_frames", "mean_Loudness_sma3"]
    assert list(info["status"]) == ["ok"] * 3 and not info["cached"].any()
    frames = opensmile_descriptors(load_audio(clips[0].audio, sr=SR), SR)
    assert X[0, 0] == len(frames) > 100  # 10 ms frames of a 3-4 s clip
    assert np.array_equal(X[0], frame_moments(frames))
    again, info = step.extract(clips)  # read back from the cache
    assert info["cached"].all() and np.array_equal(again, X)
    assert (
        make_audio_features("egemaps-lld").get_params() == OpenSmileDescriptorMoments().get_params()
    )
    with pytest.raises(ValueError, match="not offered for descriptor moments"):
        OpenSmileDescriptorMoments(normalize="speaker").fit(clips)


def test_speech_image_sets_refuse_per_speaker_standardisation_at_once():
    """Moments are not z-scored per group: refused when the pipeline is built (not after a
    training run's video), and the default subsystems leave the sets out with ``normalize``."""
    from emoset.recognizer.subsystems import default_audio_subsystems, make_audio_pipeline

    with pytest.raises(ValueError, match="not offered for descriptor moments"):
        make_audio_pipeline("egemaps-lld", normalize="speaker")
    assert list(default_audio_subsystems()) == ["audio-svm", "audio-lld-svm"]
    assert list(default_audio_subsystems(normalize="session")) == ["audio-svm"]
    assert list(default_audio_subsystems(("librosa",), sets=False)) == ["audio-svm"]
    with pytest.raises(ValueError, match="sets=True cannot go with normalize='speaker'"):
        default_audio_subsystems(normalize="speaker", sets=True)


def test_speech_image_set_subsystem_on_real_clips(data_root, feature_cache, tmp_path):
    """The recognizer with the speech image sets as a subsystem: above chance on unseen RAVDESS
    actors, the same scores after saving and loading, a timeline of a long recording, and a
    card that says what it reads."""
    from emoset.datasets.corpora import load_ravdess
    from emoset.recognizer.card import describe_model, format_card
    from emoset.recognizer.persistence import load_model, save_model
    from emoset.recognizer.subsystems import make_audio_pipeline
    from emoset.recognizer.system import AudioVisualEmotionRecognizer

    clips = [c for c in load_ravdess(data_root) if int(c.speaker) <= 8 and c.id[-5:-3] == "01"]
    train = [c for c in clips if int(c.speaker) <= 6]
    test = [c for c in clips if int(c.speaker) > 6]
    pipe = make_audio_pipeline("egemaps-lld", probability=False)
    assert [name for name, _ in pipe.steps] == ["features", "embed", "scale", "svm"]
    model = AudioVisualEmotionRecognizer(
        video={}, audio={"speech-sets": pipe}, cache_dir=feature_cache
    ).fit(train)
    y = np.array([c.label for c in test], dtype=object)
    pred = model.predict(test)
    majority = max(np.mean(y == k) for k in set(y))
    assert np.mean(pred == y) > majority + 0.15, (np.mean(pred == y), majority)
    path = tmp_path / "sets.skops"
    save_model(model, path)
    loaded = load_model(path, cache_dir=feature_cache)
    np.testing.assert_array_equal(loaded.decision_function(test), model.decision_function(test))
    assert "descriptors of 10 ms frames, as a Gaussian" in format_card(describe_model(loaded))
    # a long recording: the test actors' clips one after another, in 2 s windows
    import soundfile as sf

    from emoset.io.media import load_audio

    long = np.concatenate([load_audio(c.audio, sr=SR) for c in test[:6]])
    wav = tmp_path / "long.wav"
    sf.write(wav, long, SR)
    rows = loaded.predict_timeline(wav, window=2.0, hop=1.0)
    assert len(rows) >= int((long.size / SR - 2.0) // 1.0) + 1 and rows["start"].iloc[0] == 0
    assert rows["end"].iloc[-1] == pytest.approx(long.size / SR, abs=0.01)
    assert rows["label"].notna().mean() > 0.8 and set(rows["label"].dropna()) <= set(model.classes_)
