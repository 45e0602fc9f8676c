"""How much of the spectrum a recording really fills, and the sample rate that keeps that band.

A model trained on telephone-band speech (nothing above 4 kHz) sees wideband speech through
the same band (:mod:`emoset.audio.extract`): :func:`estimate_bandwidth` measures a clip's
band from its content, :func:`band_rate` gives the standard rate that limits clips to it.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BANDWIDTH_DROP_DB",
    "STANDARD_RATES",
    "band_rate",
    "covering_rate",
    "estimate_bandwidth",
]

#: Sample rates a band limit is rounded up to (the Nyquist frequency of the first that covers
#: the training bandwidth is the limit).
STANDARD_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)

#: A clip's bandwidth is the highest frequency whose power is within this many dB of the peak.
BANDWIDTH_DROP_DB = 60.0


def estimate_bandwidth(signal, sampling_rate):
    """The audible bandwidth of a signal: the highest frequency carrying real energy.

    Welch's power spectrum (1024-sample segments) is taken at the file's own rate; the bandwidth
    is the highest frequency whose power is within :data:`BANDWIDTH_DROP_DB` (60 dB) of the
    spectrum's peak. Speech recorded at 8 kHz and stored at 16 kHz has a bandwidth of about
    3.9 kHz, not 8 kHz: the measure looks at the content, not at the header.

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
    sampling_rate : int

    Returns
    -------
    bandwidth : float or None
        In Hz; ``None`` for a signal without energy.
    """
    y = np.asarray(signal, dtype=np.float64).reshape(-1)
    if y.size < 2 or not np.any(y):
        return None
    f, p = _welch(y, float(sampling_rate), min(1024, y.size))
    if not np.any(p > 0):
        return None
    above = np.flatnonzero(p > p.max() * 10 ** (-BANDWIDTH_DROP_DB / 10))
    return float(f[above[-1]])


def _welch(y, rate, n, *, block=256):
    """Welch's power spectral density of ``y``: segments of ``n`` samples overlapping by half,
    each less its mean and under a periodic Hann window, their one-sided periodograms
    averaged (``scipy.signal.welch``'s defaults, whose import costs a command 0.06 s; a test
    compares the two). The segments are transformed ``block`` at a time, so a long recording
    takes no more memory than its samples. Returns the frequencies and the density."""
    segments = np.lib.stride_tricks.sliding_window_view(y, n)[:: n - n // 2]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    total = np.zeros(n // 2 + 1)
    for start in range(0, len(segments), block):
        part = segments[start : start + block]
        spectra = np.fft.rfft((part - part.mean(axis=1, keepdims=True)) * window, axis=1)
        total += np.sum(spectra.real**2 + spectra.imag**2, axis=0)
    power = total / (len(segments) * rate * np.sum(window**2))
    power[1 : n - n // 2] *= 2.0  # the negative frequencies folded in (not 0, not Nyquist)
    return np.fft.rfftfreq(n, 1.0 / rate), power


def covering_rate(bandwidth):
    """The smallest standard rate whose Nyquist frequency covers ``bandwidth`` (5 % slack)."""
    for rate in STANDARD_RATES:
        if rate / 2 >= 0.95 * bandwidth:
            return rate
    return STANDARD_RATES[-1]


def band_rate(bandwidth, sampling_rate):
    """The standard rate that limits clips to ``bandwidth`` (None: no limit needed)."""
    if bandwidth is None:
        return None
    rate = covering_rate(bandwidth)
    return rate if rate < sampling_rate else None
