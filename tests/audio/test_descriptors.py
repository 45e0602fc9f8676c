"""emoset's own frame-level descriptors against librosa's functions, the oracle they follow."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from emoset.audio import _descriptors as d
from emoset.audio.speech import _CONTRAST_FMIN, _N_CONTRAST, _librosa_descriptors
from emoset.io.media import load_audio

librosa = pytest.importorskip("librosa")

SR, N_FFT, HOP, FMIN, FMAX = 16000, 512, 160, 65.0, 600.0


def _librosa_reference(y, pitch="yin"):
    """What ``_librosa_descriptors`` computed with librosa's functions before emoset had its own."""
    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2
    log_mel = librosa.power_to_db(librosa.feature.melspectrogram(S=S, sr=SR), top_db=None)
    mag = np.sqrt(S)
    rms = librosa.feature.rms(S=mag, frame_length=N_FFT, hop_length=HOP)
    frames = np.vstack(
        [
            librosa.feature.spectral_centroid(S=mag, sr=SR),
            librosa.feature.spectral_bandwidth(S=mag, sr=SR),
            librosa.feature.spectral_rolloff(S=mag, sr=SR),
            librosa.feature.spectral_flatness(S=mag),
            librosa.feature.spectral_contrast(
                S=mag, sr=SR, fmin=_CONTRAST_FMIN, n_bands=_N_CONTRAST - 1
            ),
            librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP),
            librosa.amplitude_to_db(rms, ref=1.0, top_db=None),
        ]
    )
    length = max(N_FFT, int(2 ** np.ceil(np.log2(3 * SR / FMIN))))
    f0 = librosa.yin(y, fmin=FMIN, fmax=FMAX, sr=SR, frame_length=length, hop_length=HOP)
    energy = librosa.amplitude_to_db(
        librosa.feature.rms(y=y, frame_length=length, hop_length=HOP)[0], ref=1.0, top_db=None
    )
    return log_mel, frames, f0, energy


def _real_signals(data_root):
    files = sorted((data_root / "ravdess" / "speech").glob("Actor_0[12]/*.flac"))[::30]
    files += sorted((data_root / "cremad" / "facecrop128" / "audio").glob("*.wav"))[::20]
    if len(files) < 4:
        pytest.skip(f"RAVDESS and CREMA-D audio are not in {data_root}")
    return [(f.name, load_audio(f, sr=SR)) for f in files]


def test_descriptors_equal_librosa_on_real_speech(data_root):
    """Bit for bit: spectra, log-mel, the spectral rows, zero crossings, RMS, YIN's F0."""
    for name, y in _real_signals(data_root):
        ours = _librosa_descriptors(y, SR, N_FFT, HOP, FMIN, FMAX, "yin")
        ref = _librosa_reference(y)
        for what, a, b in zip(("log-mel", "frames", "f0", "energy"), ours, ref, strict=True):
            assert a.dtype == b.dtype, (name, what)
            np.testing.assert_array_equal(a, b, err_msg=f"{name}: {what}")
        S = d.power_spectrum(y, N_FFT, HOP)
        np.testing.assert_array_equal(S, np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2)
        m = d.mfcc(ours[0], 20)
        np.testing.assert_array_equal(m, librosa.feature.mfcc(S=ours[0], n_mfcc=20))
        for order in (1, 2):
            np.testing.assert_array_equal(
                d.delta(m, 9, order), librosa.feature.delta(m, width=9, order=order)
            )


@pytest.mark.parametrize("n", [300, 512, 2049, 4800, 176_123])
def test_short_and_odd_lengths_equal_librosa(n):
    """Signals shorter than YIN's frame, one FFT window long, not a whole number of hops, or
    longer than one block of frames (11 s)."""
    rng = np.random.default_rng(n)
    t = np.arange(n) / SR
    y = (0.3 * np.sin(2 * np.pi * 180.0 * t) + 0.01 * rng.standard_normal(n)).astype(np.float32)
    y = np.pad(y, (0, max(0, N_FFT - n)))  # as _librosa_descriptors pads it
    length = max(N_FFT, int(2 ** np.ceil(np.log2(3 * SR / FMIN))))
    y_pitch = np.pad(y, (0, max(0, length - y.size)))
    ours = _librosa_descriptors(y, SR, N_FFT, HOP, FMIN, FMAX, "yin")
    ref = _librosa_reference(y)
    for what in (0, 1):
        np.testing.assert_array_equal(ours[what], ref[what])
    f0 = librosa.yin(y_pitch, fmin=FMIN, fmax=FMAX, sr=SR, frame_length=length, hop_length=HOP)
    np.testing.assert_array_equal(ours[2], f0)


def test_yin_finds_the_pitch_of_a_tone_and_silence_is_quiet():
    t = np.arange(SR) / SR
    for f in (110.0, 220.0, 330.0):
        y = (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)
        f0 = d.yin(y, fmin=FMIN, fmax=FMAX, sampling_rate=SR, frame_length=1024, hop_length=HOP)
        assert np.median(f0) == pytest.approx(f, rel=0.005)
    silence = np.zeros(SR, np.float32)
    np.testing.assert_allclose(
        d.amplitude_to_db(d.rms_of_signal(silence, 1024, HOP)), -100.0, atol=1e-3
    )
    assert np.all(d.zero_crossing_rate(silence, N_FFT, HOP) == 0)


def test_librosa_features_compile_nothing(tmp_path):
    """The YIN descriptors import neither librosa nor numba (nothing compiles on first use)."""
    script = (
        "import sys, numpy as np\n"
        "from emoset.audio.speech import librosa_functionals\n"
        "t = np.arange(16000) / 16000\n"
        "v, names = librosa_functionals((0.3 * np.sin(2 * np.pi * 150 * t)).astype(np.float32))\n"
        "assert np.isfinite(v).all() and len(v) == len(names) == 371\n"
        "print(sorted(m for m in ('librosa', 'numba', 'llvmlite') if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "[]"


def test_without_librosa_only_pyin_and_pitch_copies_need_it(tmp_path):
    """librosa is optional: the default descriptors work without it; pYIN and pitch-shifted
    copies say how to install it, before any clip is read."""
    script = (
        "import sys\n"
        "sys.modules['librosa'] = None  # as if it were not installed\n"
        "import numpy as np, soundfile as sf\n"
        "from emoset.audio.augment import augment_signal\n"
        "from emoset.audio.features import LibrosaFeatures, OpenSmileFeatures\n"
        "from emoset.recognizer import AudioVisualEmotionRecognizer\n"
        "t = np.arange(16000) / 16000\n"
        "sf.write(sys.argv[1], 0.3 * np.sin(2 * np.pi * 150 * t), 16000)\n"
        "X = LibrosaFeatures(cache_dir=None).fit().transform([sys.argv[1]])\n"
        "print(X.shape, bool(np.isfinite(X).all()))\n"
        "tries = [\n"
        "    lambda: LibrosaFeatures(pitch='pyin').fit(),\n"
        "    lambda: OpenSmileFeatures(augmentation='pitch').fit(),\n"
        "    lambda: augment_signal(t, 16000, 'pitch', seed=0),\n"
        "    lambda: AudioVisualEmotionRecognizer(video={}, augment=['pitch']).fit(\n"
        "        [sys.argv[2]], ['x']),\n"
        "]\n"
        "for make in tries:\n"
        "    try:\n"
        "        make()\n"
        "    except ImportError as e:\n"
        "        print(str(e))\n"
    )
    wav, missing = tmp_path / "tone.wav", tmp_path / "never-read.wav"
    res = subprocess.run(
        [sys.executable, "-c", script, str(wav), str(missing)], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "(1, 371) True"
    assert len(lines) == 5, lines
    for line, what in zip(
        lines[1:],
        (
            'LibrosaFeatures(pitch="pyin")',
            "augmentation='pitch'",
            "shift_pitch",
            "augment=['pitch']",
        ),
        strict=True,
    ):
        assert what in line and "pip install 'emoset[librosa]'" in line, line
