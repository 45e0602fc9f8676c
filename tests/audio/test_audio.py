"""Tests for emoset.audio.features (speech features, bandwidth), emoset.decision.abstain and emoset.utils.cache."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from _factories import write_video
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.svm import SVC

from emoset.audio.bandwidth import BANDWIDTH_DROP_DB, estimate_bandwidth
from emoset.audio.features import LibrosaFeatures, OpenSmileDescriptorMoments, OpenSmileFeatures
from emoset.audio.normalize import standardize_per_speaker
from emoset.audio.speech import librosa_feature_names
from emoset.decision.abstain import AbstainingClassifier
from emoset.io.errors import MediaError
from emoset.recognizer.subsystems import make_audio_pipeline
from emoset.utils import cache as _cache

SR = 16000


# --------------------------------------------------------------------------- fixtures


def _voice(duration, sr=SR, f0=160.0, amplitude=0.3, seed=0):
    """A crude voiced signal: a vibrato harmonic series plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(duration * sr))) / sr
    f = f0 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, 8))
    y = y * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t) ** 2) + 0.01 * rng.standard_normal(t.size)
    return (amplitude * y / np.max(np.abs(y))).astype(np.float32)


@pytest.fixture
def make_wav(tmp_path):
    """Factory: write a wav file and return its path."""

    def make(name="tone.wav", duration=1.5, sr=SR, signal=None, **kw):
        y = _voice(duration, sr, **kw) if signal is None else signal
        path = tmp_path / name
        sf.write(path, y, sr, subtype="PCM_16")
        return path

    return make


def _write_mp4(path, *, with_audio, n_frames=10, sr=SR):
    frames = np.stack([np.full((32, 32, 3), 10 * i, dtype=np.uint8) for i in range(n_frames)])
    audio = _voice(n_frames / 25, sr) if with_audio else None
    return write_video(path, frames, fps=25, audio=audio, sample_rate=sr)


def _bad_zero_byte(tmp):
    p = tmp / "empty.wav"
    p.write_bytes(b"")
    return p


def _bad_text(tmp):
    p = tmp / "notes.wav"
    p.write_text("this is not audio\n" * 20)
    return p


def _bad_truncated(tmp):
    full = tmp / "full.wav"
    sf.write(full, _voice(1.0), SR, subtype="PCM_16")
    p = tmp / "truncated.wav"
    p.write_bytes(full.read_bytes()[:30])  # cut inside the header
    return p


def _bad_no_audio_video(tmp):
    return _write_mp4(tmp / "silent_film.mp4", with_audio=False)


def _bad_missing(tmp):
    return tmp / "does_not_exist.wav"


BAD_INPUTS = [
    pytest.param(_bad_zero_byte, id="zero-byte-wav"),
    pytest.param(_bad_text, id="text-file-named-wav"),
    pytest.param(_bad_truncated, id="truncated-wav-header"),
    pytest.param(_bad_no_audio_video, id="mp4-without-audio-track"),
    pytest.param(_bad_missing, id="missing-file"),
]


# --------------------------------------------------------------------------- features


def test_egemaps_has_88_named_functionals(make_wav):
    tr = OpenSmileFeatures().fit()
    X = tr.transform([make_wav()])
    names = tr.get_feature_names_out()
    assert X.shape == (1, 88)
    assert X.dtype == np.float64
    assert np.all(np.isfinite(X))
    assert len(names) == 88
    assert "F0semitoneFrom27.5Hz_sma3nz_amean" in names
    assert "loudness_sma3_amean" in names


@pytest.mark.parametrize(
    "feature_set, n", [("ComParE_2016", 6373), ("emobase", 988)], ids=["compare", "emobase"]
)
def test_other_opensmile_sets(make_wav, feature_set, n):
    tr = OpenSmileFeatures(feature_set)
    X = tr.fit_transform([make_wav()])
    assert X.shape == (1, n) == (1, len(tr.get_feature_names_out()))


def test_librosa_features_shape_and_names(make_wav):
    tr = LibrosaFeatures()
    X = tr.fit_transform([make_wav(), make_wav("b.wav", f0=220.0)])
    names = tr.get_feature_names_out()
    assert X.shape == (2, 371) == (2, len(names))
    assert list(names) == librosa_feature_names(20, (10, 50, 90))
    assert np.all(np.isfinite(X))
    f0 = X[:, list(names).index("f0_semitone_p50")]
    assert f0[1] > f0[0]  # the higher voice has the higher median pitch
    assert X[0, list(names).index("voiced_fraction")] > 0.5


def test_as_frame_is_indexed_by_clip(make_wav):
    from emoset.datasets.corpora import Clip

    a, b = make_wav("a.wav"), make_wav("b.wav", f0=200.0)
    clip = Clip(id="clip_b", video=None, audio=b, label="happy", speaker="s1", corpus="test")
    df = OpenSmileFeatures(as_frame=True).fit_transform([a, clip])
    assert list(df.index) == [str(a), "clip_b"]
    assert df.shape == (2, 88)
    assert df.columns[0] == "F0semitoneFrom27.5Hz_sma3nz_amean"


def test_deterministic(make_wav):
    clips = [make_wav("a.wav"), make_wav("b.wav", f0=250.0)]
    X1 = OpenSmileFeatures().fit_transform(clips)
    X2 = OpenSmileFeatures(n_jobs=2).fit_transform(clips)
    np.testing.assert_array_equal(X1, X2)


def test_video_audio_track_is_used(tmp_path):
    from emoset.datasets.corpora import Clip

    mp4 = _write_mp4(tmp_path / "talk.mp4", with_audio=True, n_frames=25)
    clip = Clip(id="v", video=mp4, audio=None, label="neutral", speaker="s", corpus="test")
    tr = OpenSmileFeatures().fit([mp4, clip])
    X, info = tr.extract([mp4, clip])
    assert np.all(np.isfinite(X))
    np.testing.assert_allclose(X[0], X[1])
    assert list(info["status"]) == ["ok", "ok"]


def test_real_native_video_matches_its_wav(data_root):
    from emoset.datasets.corpora import load_cremad

    native = [c for c in load_cremad(data_root) if c.subset == "native"][:1]
    tr = OpenSmileFeatures()
    X = tr.fit_transform([native[0].video, native[0].audio])
    assert np.all(np.isfinite(X))
    # AAC vs PCM: same speech, so the mean pitch agrees closely
    np.testing.assert_allclose(X[0, 0], X[1, 0], rtol=0.05)


# --------------------------------------------------------------------------- cache


def test_cache_hit_reads_back_without_recomputing(make_wav, tmp_path, monkeypatch):
    import emoset.audio.extract as audio

    clips = [make_wav("a.wav"), make_wav("b.wav", f0=200.0)]
    tr = OpenSmileFeatures(cache_dir=tmp_path / "cache").fit(clips)
    X1, info = tr.extract(clips)
    assert not info["cached"].any()
    assert len(list((tmp_path / "cache" / "audio-opensmile").rglob("*.npz"))) == 2
    assert not list((tmp_path / "cache").rglob("*.pkl"))  # arrays and JSON, never a pickle

    def boom(*args, **kwargs):
        raise AssertionError("recomputed a cached clip")

    monkeypatch.setattr(audio, "extract_clip", boom)
    X2, info = tr.extract(clips)
    assert info["cached"].all()
    np.testing.assert_array_equal(X1, X2)


def test_cache_key_follows_content_and_parameters(make_wav, tmp_path):
    path = make_wav("a.wav")
    cache = tmp_path / "cache"
    OpenSmileFeatures(cache_dir=cache).fit().transform([path])
    tr = OpenSmileFeatures(cache_dir=cache).fit()
    assert tr.extract([path])[1]["cached"].all()
    tr_other = OpenSmileFeatures(cache_dir=cache, min_duration=0.1).fit()
    assert not tr_other.extract([path])[1]["cached"].any()  # other parameters, other key
    limited = OpenSmileFeatures(cache_dir=cache, bandwidth=3000).fit()
    assert not limited.extract([path])[1]["cached"].any()  # another band, another key
    sf.write(path, _voice(1.5, f0=300.0), SR, subtype="PCM_16")  # same name, new content
    assert not tr.extract([path])[1]["cached"].any()


def test_failed_batch_keeps_finished_results(make_wav, tmp_path):
    good1, good2 = make_wav("good1.wav"), make_wav("good2.wav", f0=200.0)
    bad = _bad_zero_byte(tmp_path)
    cache = tmp_path / "cache"
    tr = OpenSmileFeatures(cache_dir=cache, on_error="raise", n_jobs=1)
    with pytest.raises(MediaError, match=re.escape(str(bad))):
        tr.fit_transform([good1, bad, good2])
    tr = OpenSmileFeatures(cache_dir=cache, bandwidth=None).fit()
    X, info = tr.extract([good1, bad, good2])
    assert list(info["cached"]) == [True, False, False]  # good1 survived the crash
    assert np.isnan(X[1]).all() and np.isfinite(X[[0, 2]]).all()


def test_cache_helpers(tmp_path):
    assert _cache.make_key({"a": 1, "b": [1, 2]}) == _cache.make_key({"b": [1, 2], "a": 1})
    assert _cache.make_key("x", 1) != _cache.make_key("x", 2)
    f = tmp_path / "f.bin"
    _cache.atomic_write_bytes(f, b"abc")
    assert f.read_bytes() == b"abc"
    assert _cache.file_sha256(f) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temp file left
    store = _cache.DiskCache(tmp_path / "store")
    assert store.get("00ff", None) is None
    store.put("00ff", {"v": 1, "name": "x", "none": None, "a": np.arange(3.0)})
    got = store.get("00ff")
    assert got["v"] == 1 and got["name"] == "x" and got["none"] is None and "00ff" in store
    np.testing.assert_array_equal(got["a"], np.arange(3.0))
    assert store.get("00ff", "bad", check=lambda r: r["a"].shape == (4,)) == "bad"
    store.path("00ff").write_bytes(b"torn")  # a damaged entry counts as missing
    assert store.get("00ff", "missing") == "missing"
    with pytest.raises(TypeError, match="only numeric or boolean arrays"):
        store.put("00fe", {"objects": np.array([object()])})


def _square_or_fail(x):
    if x == 3:
        raise ValueError("three is bad")
    return {"square": x * x}


def test_parallel_map_order_failures_and_resume(tmp_path):
    items = [1, 2, 3, 4]
    out, cached = _cache.parallel_map(
        _square_or_fail,
        items,
        n_jobs=2,
        on_error="return",
        cache=tmp_path,
        key=lambda x: _cache.make_key("sq", x),
    )
    assert [o["square"] for o in out[:2]] == [1, 4] and out[3] == {"square": 16}
    assert not any(cached)
    assert isinstance(out[2], _cache.Failure) and out[2].index == 2
    assert out[2].message == "ValueError: three is bad"
    out, cached = _cache.parallel_map(
        _square_or_fail,
        items,
        on_error="return",
        cache=tmp_path,
        key=lambda x: _cache.make_key("sq", x),
    )
    assert cached == [True, True, False, True]  # failures are never cached
    with pytest.raises(ValueError, match="three is bad"):
        _cache.parallel_map(_square_or_fail, items, n_jobs=1, on_error="raise")
    with pytest.raises(ValueError, match="on_error must be"):
        _cache.parallel_map(_square_or_fail, items, on_error="ignore")


# --------------------------------------------------------------------------- bad audio


@pytest.mark.parametrize("make_bad", BAD_INPUTS)
def test_bad_input_abstains_in_batch(make_bad, make_wav, tmp_path):
    good = make_wav()
    bad = make_bad(tmp_path)
    tr = OpenSmileFeatures(cache_dir=tmp_path / "cache").fit()
    with pytest.warns(UserWarning, match=r"1 of 2 clips could not be read"):
        X = tr.transform([good, bad])
    assert np.isfinite(X[0]).all()
    assert np.isnan(X[1]).all()
    _, info = tr.extract([good, bad])
    assert list(info["status"]) == ["ok", "error"]
    assert info["reason"].iloc[1].startswith(str(bad))  # the MediaError's own words


@pytest.mark.parametrize("make_bad", BAD_INPUTS)
def test_bad_input_raises_naming_the_file(make_bad, tmp_path):
    bad = make_bad(tmp_path)
    with pytest.raises(MediaError, match=re.escape(bad.name)):
        OpenSmileFeatures(on_error="raise").fit_transform([bad])


def test_short_clip_warns_and_is_not_padded(make_wav):
    tr = OpenSmileFeatures().fit()
    short = make_wav("short.wav", duration=0.2)
    with pytest.warns(UserWarning, match=r"shorter than min_duration=0.5 s"):
        X = tr.transform([short])
    assert np.isfinite(X).all()
    _, info = tr.extract([short])
    assert list(info["status"]) == ["short"]
    assert info["duration"].iloc[0] == pytest.approx(0.2, abs=1e-3)


def test_very_short_clip_abstains(make_wav):
    tr = OpenSmileFeatures().fit()
    blip = make_wav("blip.wav", duration=0.005)
    with pytest.warns(UserWarning, match="non-finite features"):
        X = tr.transform([blip])
    assert np.isnan(X).all() and list(tr.extract([blip])[1]["status"]) == ["nonfinite"]


@pytest.mark.parametrize(
    "cls",
    [OpenSmileFeatures, LibrosaFeatures, OpenSmileDescriptorMoments],
    ids=["opensmile", "librosa", "moments"],
)
def test_digital_silence_abstains(make_wav, cls):
    silent = make_wav("zeros.wav", duration=2.0, signal=np.zeros(2 * SR, np.float32))
    tr = cls().fit()
    voice = make_wav()
    with pytest.warns(UserWarning, match="digital silence"):
        X = tr.transform([silent, voice])
    assert np.isnan(X[0]).all() and np.isfinite(X[1]).all()
    info = tr.extract([silent, voice])[1]
    assert list(info["status"]) == ["silent", "ok"]
    assert "digital silence" in info["reason"].iloc[0]


def test_bandwidth_of_narrowband_and_upsampled_speech(make_wav):
    from emoset.io.media import load_audio

    low = make_wav("low.wav", sr=8000)
    high = make_wav("high.wav", sr=SR)
    assert estimate_bandwidth(load_audio(low, sr=None), 8000) < 4000
    assert estimate_bandwidth(load_audio(high, sr=None), SR) > 6000
    # 8 kHz speech stored at 16 kHz is still narrowband: the content decides, not the header
    assert estimate_bandwidth(load_audio(low, sr=SR), SR) < 4000
    assert estimate_bandwidth(np.zeros(1000), SR) is None


def _scipy_bandwidth(y, rate):
    """:func:`estimate_bandwidth` with SciPy's Welch spectrum (what it used before)."""
    from scipy.signal import welch

    if not np.any(y):
        return None
    f, p = welch(y, fs=float(rate), nperseg=min(1024, y.size))
    return float(f[np.flatnonzero(p > p.max() * 10 ** (-BANDWIDTH_DROP_DB / 10))[-1]])


@pytest.mark.parametrize("size", [2, 7, 1023, 1024, 1025, 5000, 300_001])
def test_welch_spectrum_is_scipys(size):
    from scipy.signal import welch

    from emoset.audio.bandwidth import _welch

    y = np.random.default_rng(size).standard_normal(size) * 0.3 + 0.1
    for n in {min(1024, size), min(7, size)}:
        f, p = welch(y, fs=22050.0, nperseg=n)
        f2, p2 = _welch(y, 22050.0, n, block=64)  # several blocks for the long signal
        np.testing.assert_array_equal(f2, f)
        np.testing.assert_allclose(p2, p, rtol=1e-12, atol=1e-15 * p.max())


def test_bandwidth_of_real_clips_is_unchanged(data_root):
    """The NumPy spectrum gives the bandwidth SciPy's did, on real speech of both corpora
    (their 8 and 16 kHz CREMA-D files, 48 kHz RAVDESS) and on their first 1,000 samples."""
    from emoset.io.media import load_audio, probe

    files = sorted((data_root / "cremad").rglob("*.wav"))[:12]
    files += sorted((data_root / "cremad").rglob("*.mp4"))[:3]
    files += sorted((data_root / "ravdess").rglob("*.flac"))[::100]
    seen = set()
    for path in files:
        y = load_audio(path, sr=None)
        rate = probe(path).audio_sr
        for part in (y, y[:1000]):
            got = estimate_bandwidth(part, rate)
            assert got == _scipy_bandwidth(part, rate), path
            seen.add(got)
    seen.discard(None)  # digital silence at the start of a file
    assert min(seen) < 4000 < 7000 < max(seen)  # narrow- and wideband clips were among them


def test_training_bandwidth_limits_wideband_speech(make_wav):
    """A model fitted on 8 kHz speech sees 16 kHz speech through the same 4 kHz band."""
    from emoset.io.media import resample

    train = [
        make_wav(f"t{i}.wav", sr=8000, signal=resample(_voice(1.5, f0=130.0 + 20 * i), SR, 8000))
        for i in range(3)
    ]
    wide = _voice(1.5, f0=120.0)
    high = make_wav("high.wav", signal=wide)  # 16 kHz, noise up to 8 kHz
    low = make_wav("low.wav", sr=8000, signal=resample(wide, SR, 8000))  # the same at 8 kHz
    tr = OpenSmileFeatures().fit(train)
    assert tr.band_rate_ == 8000
    X, info = tr.extract([low, high])
    assert not info["narrowband"].any()
    unlimited = OpenSmileFeatures(bandwidth=None).fit().transform([low, high])

    def relative_difference(A):
        return np.abs(A[1] - A[0]) / (np.abs(A[0]) + np.abs(A[1]) + 1e-9)

    # measured: at most 0.006 with the limit (PCM rounding), 0.46 without it
    assert relative_difference(X).max() < 0.02 < relative_difference(unlimited).max()


def test_narrowband_input_is_flagged(make_wav):
    wide = [make_wav(f"wide{i}.wav", sr=SR, f0=130.0 + 15 * i) for i in range(3)]
    low = make_wav("low.wav", sr=8000)
    tr = OpenSmileFeatures().fit(wide)
    assert tr.band_rate_ is None  # the training clips fill the 8 kHz band: nothing to limit
    with pytest.warns(UserWarning, match="narrower audio band than the training clips"):
        X = tr.transform([low, wide[0]])
    assert np.isfinite(X).all()
    info = tr.extract([low, wide[0]])[1]
    assert list(info["narrowband"]) == [True, False]
    assert "below the training bandwidth" in info["reason"].iloc[0]
    # within one standard rate: a 1 kHz file against a telephone-band (8 kHz) model
    phone = [make_wav(f"phone{i}.wav", sr=8000, f0=130.0 + 15 * i) for i in range(3)]
    tiny = make_wav("tiny.wav", sr=1000, f0=150.0)
    narrow = OpenSmileFeatures().fit(phone)
    info = narrow.extract([tiny, phone[0]])[1]
    assert list(info["narrowband"]) == [True, False]
    assert "bandwidth 0.5 kHz is below the training bandwidth" in info["reason"].iloc[0]


@pytest.mark.parametrize(
    "params, X, exc, match",
    [
        ({"feature_set": "GeMAPS"}, None, ValueError, "feature_set must be one of"),
        ({"on_error": "ignore"}, None, ValueError, "on_error must be one of"),
        ({"sampling_rate": 4000}, None, ValueError, "sampling_rate == 4000, must be >= 8000"),
        ({"bandwidth": "wide"}, None, ValueError, "bandwidth must be 'auto'"),
        ({}, "single.wav", TypeError, "not a single path"),
        ({}, np.zeros((3, 88)), TypeError, "precomputed"),
        ({}, [], ValueError, "X is empty"),
        ({}, [3.5], TypeError, "must be a path"),
    ],
    ids=[
        "bad-feature-set",
        "bad-on-error",
        "low-sampling-rate",
        "bad-bandwidth",
        "single-path",
        "matrix",
        "empty",
        "number",
    ],
)
def test_invalid_arguments(params, X, exc, match):
    tr = OpenSmileFeatures(**params)
    with pytest.raises(exc, match=match):
        tr.fit()
        tr.transform(X)


def test_estimator_basics(make_wav):
    from sklearn.exceptions import NotFittedError

    tr = OpenSmileFeatures("emobase", n_jobs=2, cache_dir="x", verbose=1)
    assert clone(tr).get_params() == tr.get_params()
    with pytest.raises(NotFittedError, match="not fitted"):
        tr.transform([make_wav()])
    tr2 = pickle.loads(pickle.dumps(OpenSmileFeatures().fit()))
    assert tr2.n_features_out_ == 88


# --------------------------------------------------------------------------- classifier


def _blobs(n=60, d=5, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.array(["a", "b", "c"]), n // 3)
    X = rng.standard_normal((n, d))
    for j, label in enumerate("abc"):
        X[:, j] += 3 * (y == label)
    return X, y


def test_abstaining_classifier_handles_nan_rows():
    X, y = _blobs()
    X[[0, 25]] = np.nan
    clf = AbstainingClassifier(SVC(), probability=True)
    with pytest.warns(UserWarning, match="Dropping 2 of 60 training rows"):
        clf.fit(X, y)
    assert clf.n_abstained_fit_ == 2
    Xt = np.vstack([X[1:4], np.full((1, 5), np.nan)])
    dec = clf.decision_function(Xt)
    proba = clf.predict_proba(Xt)
    assert dec.shape == proba.shape == (4, 3)
    assert np.isnan(dec[3]).all() and np.isnan(proba[3]).all()
    assert np.isfinite(dec[:3]).all()
    np.testing.assert_allclose(proba[:3].sum(axis=1), 1.0)
    pred = clf.predict(Xt)
    assert pred[3] is None and list(pred[:3]) == ["a", "a", "a"]  # no made-up answer
    with pytest.warns(UserWarning, match="Dropping 2"):
        other = AbstainingClassifier(SVC(), abstain_label="?").fit(X, y)
    assert other.predict(Xt)[3] == "?"
    all_nan = np.full((2, 5), np.nan)
    assert np.isnan(clf.decision_function(all_nan)).all()
    with pytest.raises(ValueError, match="All 3 training rows are unusable"):
        AbstainingClassifier().fit(np.full((3, 2), np.nan), ["a", "b", "a"])
    with pytest.raises(ValueError, match="contains infinity"):
        AbstainingClassifier().fit(np.array([[np.inf, 0.0], [1.0, 1.0]]), ["a", "b"])


def test_precomputed_pipeline_grid_search_with_nan_rows():
    X, y = _blobs(90)
    X[5] = np.nan
    groups = np.repeat(np.arange(9), 10)
    pipe = make_audio_pipeline("precomputed", probability=False)
    assert [name for name, _ in pipe.steps] == ["scale", "svm"]
    search = GridSearchCV(
        pipe,
        {"svm__estimator__C": [0.1, 10.0], "svm__estimator__gamma": ["scale", 0.01]},
        cv=GroupKFold(3),
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Dropping")
        search.fit(X, y, groups=groups)
    assert search.best_score_ > 0.8
    assert np.isnan(search.decision_function(X[4:6])[1]).all()


def test_make_audio_pipeline_rejects_unknown_features():
    with pytest.raises(ValueError, match="features must be one of"):
        make_audio_pipeline("mfcc")
    with pytest.raises(TypeError, match="features must be a name or a transformer"):
        make_audio_pipeline(42)
    assert make_audio_pipeline("compare").named_steps["features"].feature_set == "ComParE_2016"


def test_standardize_per_speaker():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)) * 5 + np.repeat([[10.0], [-4.0]], 20, axis=0)
    X[3] = np.nan
    spk = np.repeat(["s1", "s2"], 20)
    Z = standardize_per_speaker(X, spk)
    assert np.isnan(Z[3]).all()
    for s in ("s1", "s2"):
        rows = (spk == s) & np.isfinite(Z).all(axis=1)
        np.testing.assert_allclose(Z[rows].mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(Z[rows].std(axis=0), 1.0)
    with pytest.warns(UserWarning, match="fewer than 2 usable clips"):
        standardize_per_speaker(X[:21], spk[:21])
    with pytest.raises(ValueError, match="one speaker per row"):
        standardize_per_speaker(X, spk[:3])


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def ravdess_subset(data_root):
    from emoset.datasets.corpora import load_ravdess

    return [c for c in load_ravdess(data_root) if c.speaker in {"01", "02", "03"}]


def test_audio_pipeline_on_real_ravdess_is_above_chance(ravdess_subset, feature_cache):
    from emoset.datasets.corpora import clip_labels

    cache = feature_cache  # shared: the audio_results test below reads these clips back
    clips = ravdess_subset
    y = clip_labels(clips)
    train = np.array([c.speaker in {"01", "02"} for c in clips])  # test: actor 03 (60 clips)
    pipe = make_audio_pipeline("egemaps", n_jobs=2, cache_dir=cache)
    pipe.fit([c for c, t in zip(clips, train, strict=True) if t], y[train])
    test_clips = [c for c, t in zip(clips, train, strict=True) if not t]
    accuracy = np.mean(pipe.predict(test_clips) == y[~train])
    assert accuracy > 2 / 8  # chance is 1/8 (majority 2/15); measured 0.35
    proba = pipe.predict_proba(test_clips)
    assert proba.shape == (len(test_clips), 8)
    assert pipe.named_steps["features"].extract(test_clips)[1]["cached"].all()  # reused
    assert os.path.isdir(Path(cache) / "audio-opensmile")


# --------------------------------------------------------------------------- audio_results


def test_audio_results_abstention_gets_no_label_and_counts_wrong():
    from pipelines.audio_results import evaluate, fold_scores, model_grid

    X, y = _blobs(90)
    groups = np.tile(np.arange(9), 10)  # 9 speakers, each with clips of every class
    X[[9, 80]] = np.nan  # a training clip (speaker 0) and a test clip (speaker 8) without features
    folds = [(np.flatnonzero(groups < 6), np.flatnonzero(groups >= 6))]
    grid = model_grid("rbf", 5, Cs=[1.0], linear_Cs=[1.0], gammas=[1.0], percentiles=[50])
    y_pred, searches = evaluate("rbf", [X], y, groups, folds, grid=grid, inner_splits=3, n_jobs=1)
    test = folds[0][1]
    assert y_pred[80] is None  # no made-up class
    assert sum(p is None for p in y_pred[test]) == 1
    assert searches[0].best_estimator_.named_steps["svm"].n_abstained_fit_ == 0
    scores = fold_scores(y[test], y_pred[test], [(None, np.arange(len(test)))], ["a", "b", "c"])
    hits = [p == t for p, t in zip(y_pred[test], y[test], strict=True) if p is not None]
    assert np.mean(hits) > 0.9  # the 29 scored clips: well separated blobs
    assert scores["n_abstained"] == 1
    assert scores["accuracy"] == pytest.approx(np.sum(hits) / 30)  # the abstention is wrong


def test_audio_results_command_on_a_tiny_ravdess_subset(data_root, feature_cache, tmp_path):
    """``pipelines.audio_results.main`` end to end: nested CV, fusion, per-speaker rows, files."""
    import json

    from pipelines.audio_results import main

    out = tmp_path / "out"
    argv = [
        "--data-root", str(data_root), "--corpora", "ravdess",
        "--speakers", "01", "02", "03", "04", "--clip-pattern", "^01-..-01-01-01-",
        "--features", "egemaps", "--models", "rbf", "linear",
        "--fuse", "egemaps/rbf+egemaps/linear", "--per-speaker-norm", "--max-folds", "2",
        "--C", "1", "10", "--gamma", "0.1", "1", "--linear-C", "0.01",
        "--cache-dir", str(feature_cache), "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    saved = json.loads((out / "audio_results.json").read_text())
    res = saved["results"]["ravdess"]
    # 4 actors x 8 clips (one per emotion); the committed split puts them in 4 folds, 2 scored
    assert (res["n_folds"], res["n_clips"], res["n_speakers"]) == (2, 16, 2)
    assert res["chance_uniform"] == pytest.approx(1 / 8)
    rows = {(r["key"], r["norm"]): r for r in res["rows"]}
    keys = ["egemaps/rbf", "egemaps/linear", "egemaps/rbf+egemaps/linear"]
    assert set(rows) == {(k, n) for k in keys for n in ("none", "per-speaker z")}
    for row in rows.values():
        assert len(row["accuracy_per_fold"]) == 2
        assert row["accuracy"] == pytest.approx(np.mean(row["accuracy_per_fold"]))
        se = np.std(row["accuracy_per_fold"], ddof=1) / np.sqrt(2)
        assert row["accuracy_se"] == pytest.approx(se)
        assert set(row["recall"]) == set(res["classes"]) and row["n_abstained"] == 0
        assert row["coverage"] == 1.0 and set(row["risk_coverage"]) == {"25", "50", "75", "100"}
        assert row["risk_coverage"]["100"] == pytest.approx(row["accuracy"])
    for params in rows[("egemaps/rbf", "none")]["best_params_per_fold"]:
        assert params["svm__estimator__C"] in (1.0, 10.0)
        assert np.isclose(params["kernel__gamma"], [0.1 / 88, 1 / 88]).any()
    weights = rows[("egemaps/rbf+egemaps/linear", "none")]["fusion_weights_per_fold"]
    assert len(weights) == 2 and all(sum(w) == pytest.approx(1.0) for w in weights)
    table = (out / "audio_results.md").read_text()
    assert "Command: `python -m pipelines.audio_results --data-root" in table
    assert "With per-speaker z-scoring" in table and " ± " in table and "coverage %" in table


def test_clip_pipeline_abstains_on_bad_clips(make_wav, tmp_path):
    low = [make_wav(f"low{i}.wav", f0=110.0 + 3 * i, seed=i) for i in range(8)]
    high = [make_wav(f"high{i}.wav", f0=260.0 + 3 * i, seed=i) for i in range(8)]
    bad = _bad_text(tmp_path)
    X = low + high + [bad]
    y = ["low"] * 8 + ["high"] * 8 + ["low"]
    pipe = make_audio_pipeline("egemaps", cache_dir=tmp_path / "cache", probability=False)
    # pytest re-emits the warnings a ``match`` does not take: one context per message.
    with (
        pytest.warns(UserWarning, match="Dropping 1 of 17 training rows"),
        pytest.warns(UserWarning, match="could not be read"),
    ):
        pipe.fit(X, y)
    with pytest.warns(UserWarning, match="could not be read"):
        scores = pipe.decision_function([bad, low[0], high[0]])
    assert np.isnan(scores[0]) and np.isfinite(scores[1:]).all()
    with pytest.warns(UserWarning, match="could not be read"):
        assert list(pipe.predict([bad, low[0], high[0]])[1:]) == ["low", "high"]


@pytest.mark.slow
def test_first_parallel_run_with_an_empty_numba_cache(make_wav, tmp_path):
    """A fresh machine: empty numba cache, two workers needing librosa's compiled functions
    (pYIN: the YIN descriptors compile nothing, ``tests/audio/test_optional_librosa.py``)."""
    import subprocess

    pytest.importorskip("librosa", reason="pYIN needs the librosa extra")
    import sys

    clips = [str(make_wav(f"v{i}.wav", f0=140.0 + 20 * i, seed=i)) for i in range(4)]
    script = (
        "import sys, numpy as np\n"
        "from emoset.audio.features import LibrosaFeatures\n"
        "X = LibrosaFeatures(pitch='pyin', n_jobs=2).fit().transform(sys.argv[1:])\n"
        "assert np.isfinite(X).all(), X\n"
        "print('ok', X.shape)\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    res = subprocess.run(
        [sys.executable, "-c", script, *clips], capture_output=True, text=True, env=env
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "ok (4, 371)"


@pytest.mark.parametrize("cls", [OpenSmileFeatures, LibrosaFeatures, OpenSmileDescriptorMoments])
def test_extract_signal_equals_extract_of_the_file(make_wav, cls):
    """The per-signal route (timelines) gives the file's features, band limit included."""
    from emoset.io.media import load_audio

    train = [make_wav(f"t{i}.wav", sr=8000, duration=1.0, f0=140.0 + 20 * i) for i in range(2)]
    clip = make_wav("clip.wav", duration=1.2, f0=150.0)
    step = cls().fit(train)
    X, _ = step.extract([clip])
    values, status, reason = step.extract_signal(load_audio(clip, sr=None), SR)
    assert status == "ok" and reason == ""
    assert np.allclose(values, X[0], rtol=1e-6, atol=1e-6)
    values, status, reason = step.extract_signal(np.zeros(SR, np.float32), SR)
    assert status == "silent" and "silence" in reason and np.isnan(values).all()


@pytest.mark.parametrize("cls", [OpenSmileFeatures, LibrosaFeatures, OpenSmileDescriptorMoments])
def test_extract_windows_of_one_signal(data_root, cls):
    """Windows of one recording (a timeline's): a window that is the whole signal is exactly
    the signal's features; overlapping windows stay close to analysing each piece alone."""
    from emoset.io.media import load_audio

    clips = sorted((data_root / "cremad" / "native" / "audio").glob("1001_*.wav"))[:3]
    if len(clips) < 3:
        pytest.skip(f"CREMA-D audio of actor 1001 is not in {data_root}")
    y = np.concatenate([load_audio(c, sr=SR) for c in clips])
    step = cls().fit(clips)
    whole, status, _ = step.extract_windows(y, SR, [(0.0, y.size / SR)])
    alone = step.extract_signal(y, SR)[0]
    assert status == ["ok"] and np.allclose(whole[0], alone, rtol=1e-5, atol=1e-5)
    bounds = [(s, s + 2.0) for s in np.arange(0.0, y.size / SR - 2.0, 0.5)]
    values, status, _ = step.extract_windows(y, SR, bounds)
    pieces = np.stack([step.extract_signal(y[int(a * SR) : int(b * SR)], SR)[0] for a, b in bounds])
    assert values.shape == pieces.shape and set(status) == {"ok"}
    if cls is OpenSmileFeatures:  # openSMILE's functionals analyse each piece
        assert np.array_equal(values, pieces)
    elif cls is OpenSmileDescriptorMoments:  # the frames of each piece, from one analysis
        assert np.array_equal(values[:, 0], pieces[:, 0])  # as many frames as alone
        z = (values - pieces) / (pieces.std(axis=0) + 1e-6)
        assert np.median(np.abs(z)) < 0.05
        # windows off the 10 ms grid (--hop 0.125, odd starts), and too short for two frames
        odd = [(s, s + 2.0) for s in np.arange(0.0, 4.0, 0.125)] + [(0.505, 2.505), (1.0, 1.055)]
        values, status, _ = step.extract_windows(y, SR, odd)
        alone = [step.extract_signal(y[int(a * SR) : int(b * SR)], SR) for a, b in odd]
        assert status == [st for _, st, _ in alone] and status[-1] == "nonfinite"
        assert np.array_equal(values[:-1, 0], [v[0] for v, _, _ in alone[:-1]])
    else:  # shared descriptors: only frames at a window's edges see other context
        z = (values - pieces) / (pieces.std(axis=0) + 1e-6)
        assert np.median(np.abs(z)) < 0.1
    silent = np.zeros(3 * SR, np.float32)
    values, status, reason = step.extract_windows(silent, SR, [(0.0, 2.0), (1.0, 3.0)])
    assert status == ["silent", "silent"] and np.isnan(values).all()
    assert "silence" in reason[0]


def test_speech_activity_tells_speech_from_pauses():
    from emoset.audio.speech import speech_activity

    voiced = _voice(1.0, SR)
    y = np.concatenate([voiced, np.zeros(SR, np.float32)])
    assert speech_activity(y, SR) == pytest.approx(0.5, abs=0.03)
    assert speech_activity(np.zeros(SR), SR) == 0.0
    assert speech_activity(np.zeros(10), SR) == 0.0


def test_opensmile_engine_is_configured_as_smile_is():
    """The engine configures openSMILE as ``Smile`` does without importing the opensmile
    package: the same config file, options, log settings and component names as a Smile of each
    feature set fed from Python, and as many values as Smile names."""
    import opensmile
    from opensmile.core.config import config

    from emoset.audio.speech import (
        _SMILE_LOG,
        OPENSMILE_FEATURE_SETS,
        _smile_options,
        _SmileEngine,
        opensmile_feature_names,
    )

    def norm(options):
        return {k: os.path.normpath(v) if isinstance(v, str) else v for k, v in options.items()}

    for feature_set, n in OPENSMILE_FEATURE_SETS.items():
        smile = opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, feature_set),
            feature_level=opensmile.FeatureLevel.Functionals,
        )
        _, config_file, options = _smile_options(feature_set, 8000)
        expected = smile._options()
        expected.update(
            source=os.path.join(smile.default_config_root, config.EXTERNAL_INPUT_CONFIG),
            sampleRate=8000,
            nBits=16,
        )
        assert os.path.normpath(config_file) == os.path.normpath(smile.config_path)
        assert norm(options) == norm(expected)
        log = (_SMILE_LOG["loglevel"], _SMILE_LOG["log_file"], _SMILE_LOG["debug"])
        assert (smile.loglevel, smile.logfile, smile.verbose) == log
        assert len(opensmile_feature_names(feature_set)) == n
    assert _SmileEngine._SOURCE == config.EXTERNAL_SOURCE_COMPONENT
    assert _SmileEngine._SINK == config.EXTERNAL_OUTPUT_COMPONENT


def test_opensmile_features_without_importing_opensmile(data_root, tmp_path):
    """Extraction loads opensmile's ctypes binding on its own: a fresh process computes a
    clip's ComParE functionals without importing the opensmile package (and audinterface,
    audformat and pyarrow's parquet reader behind it), and they equal ``Smile.process_signal``'s."""
    import opensmile

    from emoset.io.media import load_audio

    clip = sorted((data_root / "ravdess").rglob("*.flac"))[0]
    out = tmp_path / "values.npy"
    code = (
        "import sys, numpy as np\n"
        "from emoset.audio.speech import _opensmile_values\n"
        "from emoset.io.media import load_audio\n"
        f"y = load_audio({str(clip)!r}, sr=16000).astype(np.float32)\n"
        "values = _opensmile_values(y, 16000, feature_set='ComParE_2016')\n"
        f"np.save({str(out)!r}, values)\n"
        "print(sorted(m for m in ('opensmile', 'audinterface', 'audformat', 'pyarrow.parquet') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.ComParE_2016,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    y = load_audio(clip, sr=16000).astype(np.float32)
    theirs = smile.process_signal(y, 16000).to_numpy(dtype=np.float32).reshape(-1)
    np.testing.assert_array_equal(np.load(out), theirs)


def test_reused_opensmile_instance_gives_smiles_numbers(data_root):
    """emoset's openSMILE engine (configured once, reset per signal) against opensmile.Smile.

    The oracle is the opensmile package's own ``Smile.process_signal`` on the same samples:
    whole clips, their first 50 ms, digital silence and a half clip, one after
    another through one instance, for each feature set, at 16 kHz and at 8 kHz (the engine, not
    Smile as its fallback, computes them).
    """
    import opensmile

    from emoset.audio.speech import (
        OPENSMILE_DESCRIPTOR_SETS,
        OPENSMILE_FEATURE_SETS,
        _engine,
        opensmile_descriptor_names,
        opensmile_descriptors,
        opensmile_functionals,
    )
    from emoset.io.media import load_audio

    clips = sorted((data_root / "ravdess").rglob("*.flac"))[:3]
    assert len(clips) == 3
    pieces = []
    for clip in clips:
        y = load_audio(clip, sr=16000).astype(np.float32)
        pieces += [y, y[:800], np.zeros(8000, np.float32), y[: y.size // 2]]
    narrow = load_audio(clips[0], sr=8000).astype(np.float32)
    for feature_set in OPENSMILE_FEATURE_SETS:
        smile = opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, feature_set),
            feature_level=opensmile.FeatureLevel.Functionals,
        )
        for piece, rate in [*((p, 16000) for p in pieces), (narrow, 8000)]:
            assert _engine(feature_set, rate) is not None
            ours, _ = opensmile_functionals(piece, rate, feature_set=feature_set)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Segment too short")
                theirs = smile.process_signal(piece, rate).to_numpy(dtype=np.float32)
            np.testing.assert_array_equal(ours, theirs.reshape(-1))
        whole, _ = opensmile_functionals(pieces[0], 16000, feature_set=feature_set)
        half, _ = opensmile_functionals(pieces[3], 16000, feature_set=feature_set)
        assert np.isfinite(whole).all() and not np.array_equal(whole, half)
    # the frame-level descriptors through the same kind of instance: Smile's LLD rows
    for feature_set, n in OPENSMILE_DESCRIPTOR_SETS.items():
        smile = opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, feature_set),
            feature_level=opensmile.FeatureLevel.LowLevelDescriptors,
        )
        assert opensmile_descriptor_names(feature_set) == list(smile.feature_names)
        for piece, rate in [*((p, 16000) for p in pieces), (narrow, 8000)]:
            assert _engine(feature_set, rate, "lld") is not None
            ours = opensmile_descriptors(piece, rate, feature_set=feature_set)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Segment too short")
                theirs = smile.process_signal(piece, rate).to_numpy(dtype=np.float32)
            if len(theirs) == 1 and np.isnan(theirs).all():  # Smile's row for "no frame"
                theirs = theirs[:0]
            assert ours.shape == (len(theirs), n)
            np.testing.assert_array_equal(ours, theirs)
        assert len(opensmile_descriptors(pieces[0], 16000)) > 100  # 10 ms frames


def test_opensmile_engine_rows_through_either_sink(data_root, monkeypatch):
    """The engine reads its rows from openSMILE's HTK sink, in a folder of its own that goes
    with it; without a writable temporary folder it takes them from the external sink's
    callback, as Smile does: the same values bit for bit, run after run."""
    import gc
    import tempfile

    from emoset.audio import speech
    from emoset.io.media import load_audio

    clip = sorted((data_root / "ravdess").rglob("*.flac"))[0]
    y = load_audio(clip, sr=16000).astype(np.float32)
    pieces = [y, y[:800], y[: y.size // 2], np.zeros(0, np.float32), y]
    by_file = speech._SmileEngine("ComParE_2016", 16000)
    folder = Path(by_file._folder)
    assert folder.is_dir() and folder.name.startswith("emoset-opensmile-")

    def no_folder(*args, **kwargs):
        raise OSError("read-only file system")

    monkeypatch.setattr(tempfile, "mkdtemp", no_folder)
    by_callback = speech._SmileEngine("ComParE_2016", 16000)
    assert by_callback._folder is None
    for piece in pieces:
        ours, theirs = by_file.rows(piece), by_callback.rows(piece)
        assert ours.dtype == theirs.dtype == np.float32
        assert ours.shape == theirs.shape
        assert ours.shape in ((1, 6373), (0, 0))
        np.testing.assert_array_equal(ours, theirs)
    assert sorted(p.name for p in folder.iterdir()) == ["rows.htk", "sink.conf.inc"]
    del by_file
    gc.collect()
    assert not folder.exists()


def test_a_forked_child_leaves_the_engines_of_other_threads_alone(data_root):
    """A timeline forks a child to align faces; the child drops the states of the parent's
    other threads, and with them those threads' openSMILE engines: it must neither remove
    their folders nor close their files (the descriptors are shared), so the thread's next
    signal gives the same values."""
    import multiprocessing
    import threading

    from emoset.audio.speech import _engine
    from emoset.io.media import load_audio

    clip = sorted((data_root / "ravdess").rglob("*.flac"))[0]
    y = load_audio(clip, sr=16000).astype(np.float32)
    out, made, go = {}, threading.Event(), threading.Event()

    def work():  # the thread's engine is held by its thread-local storage alone
        out["folder"] = Path(_engine("ComParE_2016", 16000)._folder)
        out["before"] = _engine("ComParE_2016", 16000).rows(y)
        made.set()
        go.wait(60)
        out["after"] = _engine("ComParE_2016", 16000).rows(y)

    thread = threading.Thread(target=work)
    thread.start()
    assert made.wait(60)
    child = multiprocessing.get_context("fork").Process(target=gc_collect)
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert out["folder"].is_dir()
    go.set()
    thread.join(60)
    assert out["before"].shape == (1, 6373)
    np.testing.assert_array_equal(out["after"], out["before"])


def _child_rows(conn, y):
    from emoset.audio.speech import _engine

    engine = _engine("ComParE_2016", 16000)
    conn.send((engine._pid, engine._folder, engine.rows(y)))


def test_a_forked_process_makes_its_own_opensmile_engine(data_root):
    """The thread that forks (a command's main thread forking its segment workers or
    predict's early child) hands its thread-local engines to the child: the child makes its
    own, for the engine's open file and folder are the parent's. Both then give the values
    of the signal they analyse."""
    import multiprocessing

    from emoset.audio.speech import _engine
    from emoset.io.media import load_audio

    clips = sorted((data_root / "ravdess").rglob("*.flac"))[:2]
    y, z = (load_audio(c, sr=16000).astype(np.float32) for c in clips)
    mine = _engine("ComParE_2016", 16000)
    first = mine.rows(y)
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=_child_rows, args=(theirs, z))
    child.start()
    assert ours.poll(120)
    pid, folder, rows = ours.recv()
    child.join(60)
    assert pid == child.pid and folder != mine._folder
    assert not os.path.exists(folder)  # the child's own folder went with it
    np.testing.assert_array_equal(rows, _engine("ComParE_2016", 16000).rows(z))
    assert _engine("ComParE_2016", 16000) is mine
    np.testing.assert_array_equal(mine.rows(y), first)


def gc_collect():
    import gc

    gc.collect()
