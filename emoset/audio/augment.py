"""Speech augmentation: the recording conditions a training corpus does not have, seeded.

A speech model trained on one studio's clips meets other microphones, rooms, levels and
telephone lines. Training on copies of the clips passed through such conditions (noise at
several signal-to-noise ratios, reverberation, gain, small speed and pitch changes, the
telephone band) is, with several corpora and per-speaker normalisation, where cross-corpus
speech-emotion work finds most of its gain [1]_ [2]_.

Every function here maps a mono float signal to another one, with its parameters drawn from a
:class:`numpy.random.Generator`; :func:`augment_signal` draws them from a seed, so an augmented
copy depends only on the clip's content, the kind and the seed (the feature extractors derive
the seed from the file's SHA-256 and ``augmentation_seed``: the same copy on every run, in any
order, on any machine, and cacheable like the clip itself).

Why not audiomentations: it installs from wheels (0.43.1 with numpy-minmax, numpy-rms,
python-stretch and soxr), but draws its randomness from the global ``random`` and
:data:`numpy.random` states (no generator or seed argument), so reproducible copies would mean
overwriting the caller's global random state in every worker, and its reverberation needs
pyroomacoustics or impulse-response files. The conditions below are a few lines of NumPy and
SciPy each.

References
----------
.. [1] B. Schuller et al., "Cross-corpus acoustic emotion recognition: variances and
   strategies", IEEE Trans. Affective Computing 1(2), 2010, pp. 119-131.
.. [2] T. Ko, V. Peddinti, D. Povey and S. Khudanpur, "Audio augmentation for speech
   recognition", Proc. Interspeech, 2015, pp. 3586-3589.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..io.media import resample
from .speech import require_librosa

__all__ = [
    "AUGMENTATIONS",
    "NOISE_SNRS_DB",
    "add_noise",
    "augment_signal",
    "augmentation_seed",
    "change_gain",
    "change_speed",
    "reverberate",
    "shift_pitch",
    "telephone_band",
]

#: The kinds of augmented copy :func:`augment_signal` makes.
AUGMENTATIONS = ("noise", "reverb", "gain", "speed", "pitch", "telephone")

#: Signal-to-noise ratios (dB) a ``"noise"`` copy is made at (one drawn per copy).
NOISE_SNRS_DB = (5.0, 10.0, 20.0)


def _rms(y):
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if y.size else 0.0


def add_noise(signal, snr_db, rng, *, color="white"):
    """The signal plus stationary noise at ``snr_db`` below its RMS level.

    Parameters
    ----------
    signal : ndarray of shape (n_samples,)
    snr_db : float
        Signal-to-noise ratio in dB (of the whole clip's RMS).
    rng : numpy.random.Generator
    color : {"white", "pink"}, default="white"
        Flat spectrum, or power falling as 1/f (closer to room and fan noise).

    Returns
    -------
    noisy : ndarray of float32, shape (n_samples,)
    """
    y = np.asarray(signal, dtype=np.float64)
    noise = rng.standard_normal(y.size)
    if color == "pink":
        spectrum = np.fft.rfft(noise)
        f = np.arange(spectrum.size, dtype=float)
        f[0] = 1.0
        noise = np.fft.irfft(spectrum / np.sqrt(f), n=y.size)
    elif color != "white":
        raise ValueError(f"color must be 'white' or 'pink'; got {color!r}.")
    level = _rms(noise)
    if level > 0:
        noise *= _rms(y) / level * 10 ** (-snr_db / 20)
    return np.clip(y + noise, -1.0, 1.0).astype(np.float32)


def reverberate(signal, sampling_rate, rt60, rng, *, drr_db=3.0):
    """The signal in a synthetic room: convolved with an exponentially decaying noise tail.

    The impulse response is a direct path followed by Gaussian noise whose level falls by
    60 dB in ``rt60`` seconds, scaled so the direct path carries ``drr_db`` more energy than
    the tail (a statistical room model). The output keeps the input's peak level.

    Parameters
    ----------
    signal : ndarray of shape (n_samples,)
    sampling_rate : int
    rt60 : float
        Reverberation time in seconds.
    rng : numpy.random.Generator
    drr_db : float, default=3.0
        Direct-to-reverberant energy ratio in dB.

    Returns
    -------
    reverberant : ndarray of float32, shape (n_samples,)
    """
    from scipy.signal import fftconvolve

    y = np.asarray(signal, dtype=np.float64)
    n = max(2, int(round(1.2 * rt60 * sampling_rate)))
    t = np.arange(n) / float(sampling_rate)
    tail = rng.standard_normal(n) * np.exp(-3.0 * np.log(10.0) * t / rt60)
    tail[0] = 0.0
    tail *= 10 ** (-drr_db / 20) / max(np.sqrt(np.sum(tail**2)), 1e-12)
    tail[0] = 1.0
    out = fftconvolve(y, tail)[: y.size]
    peak_in, peak_out = np.max(np.abs(y), initial=0.0), np.max(np.abs(out), initial=0.0)
    if peak_out > 0:
        out *= peak_in / peak_out
    return out.astype(np.float32)


def change_gain(signal, gain_db):
    """The signal ``gain_db`` louder (negative: quieter), clipped to [-1, 1]."""
    y = np.asarray(signal, dtype=np.float64) * 10 ** (gain_db / 20)
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def change_speed(signal, sampling_rate, factor):
    """The signal played ``factor`` times faster (tempo and pitch together, as a tape).

    Parameters
    ----------
    signal : ndarray of shape (n_samples,)
    sampling_rate : int
    factor : float
        Above 1: faster and higher; below 1: slower and lower.

    Returns
    -------
    faster : ndarray of float32, about ``n_samples / factor`` samples at ``sampling_rate``
    """
    y = np.asarray(signal, dtype=np.float32)
    return resample(y, int(round(sampling_rate * factor)), int(sampling_rate))


def shift_pitch(signal, sampling_rate, semitones):
    """The signal ``semitones`` higher (negative: lower) at the same tempo (librosa's, an
    optional dependency: ``pip install 'emoset[librosa]'``)."""
    librosa = require_librosa("Pitch-shifted copies (shift_pitch)")
    y = np.asarray(signal, dtype=np.float32)
    return librosa.effects.pitch_shift(y, sr=int(sampling_rate), n_steps=float(semitones)).astype(
        np.float32
    )


def telephone_band(signal, sampling_rate):
    """The signal as a narrowband telephone line carries it: 300-3400 Hz, 8 kHz, 8-bit mu-law.

    Returns
    -------
    telephone : ndarray of float32
        At 8000 Hz.
    rate : int
        8000.
    """
    from scipy.signal import butter, sosfiltfilt

    y = np.asarray(signal, dtype=np.float64)
    high = min(3400.0, 0.45 * sampling_rate)
    sos = butter(4, [300.0, high], btype="bandpass", fs=float(sampling_rate), output="sos")
    if y.size > 3 * 2 * len(sos):
        y = sosfiltfilt(sos, y)
    y = resample(y.astype(np.float32), int(sampling_rate), 8000).astype(np.float64)
    mu = 255.0
    compressed = np.sign(y) * np.log1p(mu * np.minimum(np.abs(y), 1.0)) / np.log1p(mu)
    quantised = np.round(compressed * 127.0) / 127.0
    y = np.sign(quantised) * ((1.0 + mu) ** np.abs(quantised) - 1.0) / mu
    return y.astype(np.float32), 8000


def augmentation_seed(seed, kind, content):
    """A 63-bit seed for one augmented copy, from the user's seed, the kind and the content.

    Parameters
    ----------
    seed : int
    kind : str
    content : str
        What identifies the clip's audio (the SHA-256 of its file).

    Returns
    -------
    seed : int
    """
    digest = hashlib.sha256(f"{int(seed)}:{kind}:{content}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def augment_signal(signal, sampling_rate, kind, *, seed):
    """One augmented copy of a signal, its parameters drawn from ``seed``.

    ======================  ===================================================================
    ``kind``                the copy
    ======================  ===================================================================
    ``"noise"``             white or pink noise at an SNR drawn from :data:`NOISE_SNRS_DB`
    ``"reverb"``            a synthetic room, RT60 0.2-0.8 s, direct-to-reverberant 0-6 dB
    ``"gain"``              -12 to +6 dB (clipped)
    ``"speed"``             0.9-1.1 times the speed
    ``"pitch"``             -2 to +2 semitones, same tempo
    ``"telephone"``         300-3400 Hz, 8 kHz, 8-bit mu-law
    ======================  ===================================================================

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
        Mono audio in [-1, 1].
    sampling_rate : int
    kind : str
        One of :data:`AUGMENTATIONS`.
    seed : int

    Returns
    -------
    augmented : ndarray of float32
    rate : int
        Its sampling rate (8000 for ``"telephone"``, else ``sampling_rate``).
    params : dict
        The drawn parameters.

    Examples
    --------
    >>> y = np.sin(np.linspace(0, 400 * np.pi, 16000)).astype(np.float32) * 0.5
    >>> a, rate, params = augment_signal(y, 16000, "noise", seed=1)
    >>> b, _, _ = augment_signal(y, 16000, "noise", seed=1)
    >>> bool(np.array_equal(a, b)), rate, sorted(params)
    (True, 16000, ['color', 'snr_db'])
    """
    if kind not in AUGMENTATIONS:
        raise ValueError(f"kind must be one of {list(AUGMENTATIONS)}; got {kind!r}.")
    rng = np.random.default_rng(seed)
    y = np.asarray(signal, dtype=np.float32).reshape(-1)
    sr = int(sampling_rate)
    if kind == "noise":
        params = {
            "snr_db": float(rng.choice(NOISE_SNRS_DB)),
            "color": str(rng.choice(["white", "pink"])),
        }
        return add_noise(y, params["snr_db"], rng, color=params["color"]), sr, params
    if kind == "reverb":
        params = {"rt60": float(rng.uniform(0.2, 0.8)), "drr_db": float(rng.uniform(0.0, 6.0))}
        return reverberate(y, sr, params["rt60"], rng, drr_db=params["drr_db"]), sr, params
    if kind == "gain":
        params = {"gain_db": float(rng.uniform(-12.0, 6.0))}
        return change_gain(y, params["gain_db"]), sr, params
    if kind == "speed":
        params = {"factor": float(rng.uniform(0.9, 1.1))}
        return change_speed(y, sr, params["factor"]), sr, params
    if kind == "pitch":
        params = {"semitones": float(rng.uniform(-2.0, 2.0))}
        return shift_pitch(y, sr, params["semitones"]), sr, params
    out, rate = telephone_band(y, sr)
    return out, rate, {}
