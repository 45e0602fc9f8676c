"""emoset's own frame-level descriptors against librosa's functions, the oracle they follow."""

from __future__ import annotations

import numpy as np
import pytest

from emoset.audio import _descriptors as d
from emoset.audio.speech import _CONTRAST_FMIN, _N_CONTRAST, _librosa_descriptors
from emoset.io.media import load_audio

librosa = pytest.importorskip("librosa", reason="librosa (dev extra) is the oracle")
if not librosa.__version__.startswith("0.11."):
    pytest.skip(
        f"the descriptors follow librosa 0.11; librosa {librosa.__version__} is installed",
        allow_module_level=True,
    )

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
