"""Speech across corpora: augmentation, per-speaker/session standardisation, several corpora's
band, the distance check calibrated on other speakers, augmented copies in the recognizer."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from emoset.audio.augment import (
    AUGMENTATIONS,
    NOISE_SNRS_DB,
    augment_signal,
    augmentation_seed,
)
from emoset.audio.features import OpenSmileFeatures
from emoset.audio.normalize import (
    RunningStandardizer,
    normalization_groups,
    recording_session,
    standardize_groups,
)
from emoset.datasets.corpora import Clip, clip_speakers, combine_corpora
from emoset.decision.abstain import AbstainingClassifier
from emoset.io.media import load_audio

SR = 16000


@pytest.fixture(scope="module")
def corpora(data_root):
    from emoset.datasets.corpora import load_cremad, load_ravdess

    return load_cremad(data_root), load_ravdess(data_root)


@pytest.fixture(scope="module")
def speech(corpora):
    """One real RAVDESS sentence (actor 01, angry, strong) at 16 kHz."""
    clip = next(c for c in corpora[1] if c.id == "01-05-02-01-01-01")
    return load_audio(clip.audio, sr=SR)


def _rms(y):
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))


def _band_energy(y, sr, lo, hi):
    spectrum = np.abs(np.fft.rfft(y.astype(np.float64))) ** 2
    f = np.fft.rfftfreq(y.size, 1 / sr)
    return spectrum[(f >= lo) & (f < hi)].sum() / spectrum.sum()


# --------------------------------------------------------------------------- augmentation


@pytest.mark.parametrize("kind", AUGMENTATIONS)
def test_augmentation_is_seeded(speech, kind):
    if kind == "pitch":
        pytest.importorskip("librosa", reason="pitch-shifted copies need the librosa extra")
    a, rate, params = augment_signal(speech, SR, kind, seed=3)
    b, rate_b, params_b = augment_signal(speech, SR, kind, seed=3)
    assert np.array_equal(a, b) and rate == rate_b and params == params_b
    assert a.dtype == np.float32 and np.all(np.isfinite(a)) and np.max(np.abs(a)) <= 1.0
    if kind != "telephone":  # the telephone line has no random parameter
        others = [augment_signal(speech, SR, kind, seed=s)[0] for s in (4, 5)]
        assert any(o.shape != a.shape or not np.allclose(o, a) for o in others)


def test_augmentations_do_what_they_say(speech):
    noisy, _, p = augment_signal(speech, SR, "noise", seed=1)
    assert p["snr_db"] in NOISE_SNRS_DB
    snr = 20 * np.log10(_rms(speech) / _rms(noisy - speech))
    assert abs(snr - p["snr_db"]) < 1.0  # (little clipping in a strong sentence)
    louder, _, p = augment_signal(speech, SR, "gain", seed=1)
    if p["gain_db"] < 0:  # no clipping when quieter
        assert 20 * np.log10(_rms(louder) / _rms(speech)) == pytest.approx(p["gain_db"], abs=0.01)
    faster, _, p = augment_signal(speech, SR, "speed", seed=1)
    assert len(faster) == pytest.approx(len(speech) / p["factor"], rel=0.01)
    if importlib.util.find_spec("librosa") is not None:  # the librosa extra
        higher, _, p = augment_signal(speech, SR, "pitch", seed=1)
        assert len(higher) == len(speech) and -2 <= p["semitones"] <= 2
    phone, rate, _ = augment_signal(speech, SR, "telephone", seed=1)
    assert rate == 8000 and len(phone) == pytest.approx(len(speech) / 2, abs=2)
    assert _band_energy(phone, 8000, 3600, 4000) < 0.01
    assert _band_energy(speech, SR, 3600, 8000) > 0.01  # the original had energy there
    room, _, p = augment_signal(speech, SR, "reverb", seed=1)
    assert 0.2 <= p["rt60"] <= 0.8 and len(room) == len(speech)
    assert np.max(np.abs(room)) == pytest.approx(np.max(np.abs(speech)), rel=1e-5)
    assert 0.3 < np.corrcoef(room, speech)[0, 1] < 0.99  # the direct path, and a tail
    with pytest.raises(ValueError, match="kind must be one of"):
        augment_signal(speech, SR, "underwater", seed=1)


def test_augmentation_seed_follows_seed_kind_and_content():
    seeds = {augmentation_seed(s, k, c) for s in (0, 1) for k in ("noise", "gain") for c in "ab"}
    assert len(seeds) == 8 and all(0 <= s < 2**63 for s in seeds)
    assert augmentation_seed(0, "noise", "a") == augmentation_seed(0, "noise", "a")


def test_augmented_features_are_cached_and_the_same_on_every_run(corpora, tmp_path):
    clips = corpora[1][:3]
    original = OpenSmileFeatures(cache_dir=tmp_path / "a").fit().extract(clips)[0]
    step = OpenSmileFeatures(cache_dir=tmp_path / "a", augmentation="noise").fit()
    X, info = step.extract(clips)
    assert not info["cached"].any()
    X2, info2 = step.extract(clips[::-1])  # another order: the same copies, from the cache
    assert info2["cached"].all() and np.array_equal(X2[::-1], X)
    fresh = OpenSmileFeatures(cache_dir=tmp_path / "b", augmentation="noise").fit()
    assert np.array_equal(fresh.extract(clips)[0], X)  # recomputed: identical
    assert not np.allclose(X, original)  # the originals' cache entries are not the copies'
    other = OpenSmileFeatures(cache_dir=tmp_path / "a", augmentation="noise", augmentation_seed=1)
    assert not np.allclose(other.fit().extract(clips)[0], X)
    with pytest.raises(ValueError, match="augmentation"):
        OpenSmileFeatures(augmentation="echo").fit()


# --------------------------------------------------------------------------- normalisation


def test_standardize_groups_uses_reference_for_small_groups():
    X = np.array([[1.0], [3.0], [10.0], [7.0], [np.nan]])
    Z, small = standardize_groups(X, ["a", "a", "b", "c", "a"], min_clips=2, reference=(5.0, 2.0))
    assert Z[:2].ravel().tolist() == [-1.0, 1.0]  # group a, its own statistics
    assert Z[2:4].ravel().tolist() == [2.5, 1.0] and small.tolist() == [0, 0, 1, 1, 0]
    assert np.isnan(Z[4]).all()


def test_normalization_groups_speaker_else_session(tmp_path):
    def clip(i, speaker, folder, session=None):
        meta = {"session": session} if session else {}
        return Clip(f"c{i}", None, tmp_path / folder / f"{i}.wav", "", speaker, "x", meta=meta)

    clips = [clip(i, "s1", "d1") for i in range(3)] + [clip(3, "s2", "d1"), clip(4, None, "d2")]
    clips.append(clip(5, None, "d2", session="monday"))
    groups = normalization_groups(clips, "speaker", min_clips=3)
    assert list(groups[:3]) == ["x:speaker:s1"] * 3
    assert groups[3] == recording_session(clips[3]) == f"x:folder:{tmp_path / 'd1'}"
    assert groups[4] == f"x:folder:{tmp_path / 'd2'}" and groups[5] == "x:session:monday"
    assert all(g.startswith("x:folder") for g in normalization_groups(clips[:3], "session"))
    assert recording_session(tmp_path / "d3" / "a.wav") == f"folder:{tmp_path / 'd3'}"


def test_running_standardizer_is_causal_and_ends_at_the_batch_statistics():
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((30, 4)) * 3 + 7
    r = RunningStandardizer((np.zeros(4), np.ones(4)), min_count=5)
    out = np.vstack([r.update(rows[:12]), r.update(rows[12:])])  # two pieces of one stream
    again = RunningStandardizer((np.zeros(4), np.ones(4)), min_count=5).update(rows)
    np.testing.assert_allclose(out, again)
    np.testing.assert_allclose(out[:4], rows[:4])  # before 5 rows: the reference statistics
    z = (rows[-1] - rows.mean(axis=0)) / rows.std(axis=0)
    np.testing.assert_allclose(out[-1], z)  # the last row: statistics of all rows
    prefix = RunningStandardizer((np.zeros(4), np.ones(4)), min_count=5).update(rows[:20])
    np.testing.assert_allclose(prefix, out[:20])  # no row depends on a later one


def test_per_speaker_features_on_real_clips(corpora, feature_cache):
    """Each speaker's clips standardised together; a speaker with too few: training stats."""
    ravdess = corpora[1]
    a = [c for c in ravdess if c.speaker == "01"][:6]
    b = [c for c in ravdess if c.speaker == "02"][:6]
    lone = [c for c in ravdess if c.speaker == "03"][:2]
    step = OpenSmileFeatures(cache_dir=feature_cache, normalize="speaker", min_group_clips=4)
    step.fit(a + b)
    X, info = step.extract(a + b + lone)
    for rows in (slice(0, 6), slice(6, 12)):
        np.testing.assert_allclose(X[rows].mean(axis=0), 0.0, atol=1e-9)
    assert list(info["group"][:6]) == ["ravdess:speaker:01"] * 6
    assert info["reason"].iloc[-1].startswith("standardised with the training statistics")
    raw = OpenSmileFeatures(cache_dir=feature_cache).fit().extract(a + b + lone)[0]
    mean, scale = step.norm_reference_
    np.testing.assert_allclose(X[-2:], (raw[-2:] - mean) / scale)
    alone, _ = step.extract(a)  # a speaker's rows do not depend on other speakers'
    np.testing.assert_allclose(alone, X[:6])
    assert np.array_equal(OpenSmileFeatures(cache_dir=feature_cache).fit(a).extract(a)[0], raw[:6])
    with pytest.raises(ValueError, match="needs the training clips"):
        OpenSmileFeatures(normalize="speaker").fit()


# --------------------------------------------------------------------------- several corpora


def test_combine_corpora_on_the_real_corpora(corpora):
    cremad, ravdess = corpora
    union = combine_corpora([cremad, ravdess])
    shared = combine_corpora([cremad, ravdess], classes="shared")
    assert len(union) == 86 + 1200 and len({c.label for c in union}) == 8
    assert {c.label for c in shared} == {c.label for c in cremad} and len(shared) == 86 + 880
    speakers = set(clip_speakers(shared))
    assert len(speakers) == len({c.speaker for c in cremad}) + 20  # corpus:speaker, never merged
    with pytest.raises(ValueError, match="classes must be one of"):
        combine_corpora([cremad], classes="all")


def test_band_of_several_corpora_is_the_narrowest(corpora, feature_cache):
    cremad, ravdess = corpora
    alone = [OpenSmileFeatures(cache_dir=feature_cache).fit(c[:12]).bandwidth_ for c in corpora]
    both = OpenSmileFeatures(cache_dir=feature_cache).fit(cremad[:12] + ravdess[:12])
    assert alone[0] < alone[1]  # the CREMA-D clips are narrower than RAVDESS's
    assert both.bandwidth_ == pytest.approx(min(alone))


# --------------------------------------------------------------------------- distance check


def test_distance_check_is_calibrated_on_other_speakers():
    """A speaker repeating a sentence has near twins; the threshold comes from other speakers."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((8, 5)) * 3
    X = np.vstack([c + 0.05 * rng.standard_normal((6, 5)) for c in centres])
    y = np.tile(["a", "b"], 24)
    groups = np.repeat(np.arange(8), 6)
    plain = AbstainingClassifier(ood_quantile=0.9).fit(X, y)
    by_speaker = AbstainingClassifier(ood_quantile=0.9).fit(X, y, groups=groups)
    assert by_speaker.ood_threshold_ > 5 * plain.ood_threshold_
    new_speaker = rng.standard_normal((20, 5)) * 3  # speakers like the training ones
    labelled = [np.mean(m.predict(new_speaker) != None) for m in (plain, by_speaker)]  # noqa: E711
    assert labelled[0] < 0.2 < 0.7 < labelled[1]
    with pytest.raises(ValueError, match="groups must have shape"):
        AbstainingClassifier().fit(X, y, groups=groups[:5])


# --------------------------------------------------------------------------- the recognizer


def _ravdess_once(corpora, speakers):
    """Statement 1, first repetition, of the given RAVDESS actors (8 clips each)."""
    return [c for c in corpora[1] if c.id[-8:-3] == "01-01" and c.speaker in speakers]


def _speech_model(feature_cache, augment, features=("egemaps",), **params):
    from emoset.recognizer.subsystems import make_audio_pipeline
    from emoset.recognizer.system import AudioVisualEmotionRecognizer

    audio = {"audio-svm": [make_audio_pipeline(f, probability=False) for f in features]}
    return AudioVisualEmotionRecognizer(
        video={}, audio=audio, cache_dir=feature_cache, inner_cv=3, augment=augment, **params
    )


def test_recognizer_trains_on_augmented_copies(corpora, feature_cache):
    train = _ravdess_once(corpora, {"01", "02", "03", "05"})
    test = _ravdess_once(corpora, {"04", "06"})

    def model(augment):
        return _speech_model(feature_cache, augment)

    fitted = model(("gain", "noise")).fit(train)
    assert fitted.oof_scores_["audio-svm"].shape == (len(train), 8)  # the clips only
    svm = fitted.subsystems_["audio-svm"][-1]
    assert svm.estimator_.shape_fit_[0] == 3 * len(train)  # trained on the copies too
    assert len(svm.ood_reference_) == len(train)  # distance check: the originals only
    again = model(("gain", "noise")).fit(train)
    records = fitted.predict_records(test)
    labels = np.array([r.label for r in records], dtype=object)
    np.testing.assert_array_equal(labels, [r.label for r in again.predict_records(test)])
    assert all(r.reasons for r in records if r.label is None)  # an abstention says why
    y = np.array([c.label for c in test])
    majority = max(np.mean(y == label) for label in set(y))
    assert np.mean(labels == y) > majority  # abstentions count as wrong
    with pytest.raises(ValueError, match="augment must be a list"):
        model("noise").fit(train)
    assert fitted.augmented_ == {"audio-svm": True}


def test_inner_cv_chooses_whether_a_candidate_trains_on_augmented_copies(corpora, feature_cache):
    """``augment_choice``: each speech candidate is tried on the clips alone and with their
    augmented copies; the inner speaker CV keeps the better, and the kept one was trained as
    tried (the same out-of-fold accuracies as the recognizer without the choice)."""
    train = _ravdess_once(corpora, {"01", "02", "03", "05", "07", "08"})
    test = _ravdess_once(corpora, {"04", "06"})
    kinds = ("gain", "noise")
    features = ("egemaps", "librosa")
    chosen = _speech_model(feature_cache, kinds, features, augment_choice=True).fit(train)
    plain = _speech_model(feature_cache, (), features).fit(train)
    augmented = _speech_model(feature_cache, kinds, features).fit(train)
    tried = chosen.candidate_scores_["audio-svm"]
    assert len(tried) == 4  # egemaps, egemaps + copies, librosa, librosa + copies
    np.testing.assert_allclose(tried[0::2], plain.candidate_scores_["audio-svm"])
    np.testing.assert_allclose(tried[1::2], augmented.candidate_scores_["audio-svm"])
    k = chosen.selected_["audio-svm"]
    assert tried[k] == max(tried) and k == int(np.argmax(tried))  # ties: the earlier one
    assert chosen.augmented_["audio-svm"] == bool(k % 2)
    svm = chosen.subsystems_["audio-svm"][-1]
    assert svm.estimator_.shape_fit_[0] == (3 if k % 2 else 1) * len(train)
    y = np.array([c.label for c in test])
    labels = np.array([r.label for r in chosen.predict_records(test)], dtype=object)
    again = _speech_model(feature_cache, kinds, features, augment_choice=True).fit(train)
    np.testing.assert_array_equal(labels, [r.label for r in again.predict_records(test)])
    assert np.mean(labels == y) > max(np.mean(y == label) for label in set(y))
    with pytest.raises(ValueError, match="augment_choice must be True or False"):
        _speech_model(feature_cache, kinds, augment_choice="yes").fit(train)
    # without augment there is nothing to choose: one try per candidate
    alone = _speech_model(feature_cache, (), features, augment_choice=True).fit(train)
    assert len(alone.candidate_scores_["audio-svm"]) == 2 and alone.augmented_ == {
        "audio-svm": False
    }


def test_timeline_standardises_with_the_running_statistics_of_its_source(corpora, tmp_path):
    """A model trained with ``normalize``: each window of a timeline is standardised with the
    statistics of the source's windows so far (the training statistics before enough)."""
    import soundfile as sf

    from emoset.recognizer.subsystems import make_audio_pipeline
    from emoset.recognizer.system import AudioVisualEmotionRecognizer
    from emoset.recognizer.timeline import predict_timeline

    ravdess = corpora[1]
    once = [c for c in ravdess if c.id[-8:-3] == "01-01"]
    train = [c for c in once if c.speaker in {"01", "02", "03"}]
    pipe = make_audio_pipeline("egemaps", probability=False, normalize="speaker")
    pipe.set_params(features__min_group_clips=3)
    model = AudioVisualEmotionRecognizer(
        video={}, audio={"audio-svm": pipe}, cache_dir=tmp_path / "cache", inner_cv=3
    ).fit(train)
    source = tmp_path / "actor04.wav"  # six sentences of an unseen actor, one after another
    y = np.concatenate([load_audio(c.audio, sr=SR) for c in once if c.speaker == "04"][:6])
    sf.write(source, y, SR, subtype="PCM_16")
    timeline = predict_timeline(model, source, window=2.0, hop=1.0)
    step = model.subsystems_["audio-svm"][0]
    bounds = list(zip(timeline["start"], timeline["end"], strict=True))
    raw, _, _ = step.extract_windows(load_audio(source, sr=SR), SR, bounds, standardize=False)
    running = step.running_standardizer().update(raw)
    fixed = step.extract_windows(load_audio(source, sr=SR), SR, bounds)[0]  # training stats
    np.testing.assert_allclose(running[:2], fixed[:2])  # before 3 windows: the same
    assert not np.allclose(running[3:], fixed[3:])
    svm = model.subsystems_["audio-svm"][1:]
    labels = timeline["label"].to_numpy(dtype=object)
    assert np.mean([lab is not None for lab in labels]) >= 0.9

    def agree(rows):  # the fusion's per-class weights can turn a close call: not all windows
        return np.mean(svm.predict(rows) == labels)

    assert agree(running) >= 0.8 and agree(running) > agree(fixed) + 0.3
