"""Frame-level speech descriptors in NumPy and SciPy, as librosa 0.11 defines them.

What :func:`emoset.audio.speech.librosa_functionals` summarises: the power spectrum, log-mel
spectrum and MFCCs with their deltas, spectral centroid, bandwidth, roll-off, flatness and
contrast, zero-crossing rate, RMS level and YIN's F0. librosa computes a few of these steps
(absolute square of a complex spectrum, zero crossings, local minima, YIN's parabolic
interpolation) with numba, which compiles them when librosa first uses them on a machine:
15-40 s before the first clip, and a crash seen once when workers compiled into an empty cache
together. Here every step is written in NumPy and SciPy with the same arithmetic, in the same
precision and order, so the values equal librosa's (``tests/audio/test_descriptors.py`` compares
them with librosa on the shared clips) and nothing compiles.

Each function takes the arguments ``librosa_functionals`` passes, with librosa's defaults for
the rest (Hann window, centred frames, zero padding, Slaney mel scale with 128 bands, Slaney
area normalisation, orthonormal DCT-II, Savitzky-Golay deltas with interpolated edges).
"""

from __future__ import annotations

import numpy as np

#: Levels below this power (1e-10, -100 dB) are clipped before taking logarithms.
AMIN = 1e-10

#: Frames transformed at a time by :func:`power_spectrum` (each frame is transformed alone, so
#: the block size bounds memory without changing a value).
_BLOCK = 1024


def frames_of(y, frame_length, hop_length):
    """The frames of a 1-d signal as the columns of a read-only view, shape (frame_length, n)."""
    return np.lib.stride_tricks.sliding_window_view(y, frame_length)[::hop_length].T


def _centred(y, frame_length, mode="constant"):
    half = int(frame_length // 2)
    return np.pad(y, (half, half), mode=mode)


def power_spectrum(y, n_fft, hop_length):
    """``|STFT|**2`` of a float32 signal: periodic Hann window, centred frames, zero padding.

    Returns
    -------
    S : ndarray of float32, shape (1 + n_fft // 2, 1 + len(y) // hop_length)
    """
    import scipy.fft
    from scipy.signal import get_window

    window = get_window("hann", n_fft, fftbins=True)[:, None]  # float64, as librosa's
    frames = frames_of(_centred(y, n_fft), n_fft, hop_length)
    # column-major as librosa stores it: reductions over frequency then add in the same order
    spectrum = np.zeros((1 + n_fft // 2, frames.shape[1]), dtype=np.complex64, order="F")
    for a in range(0, frames.shape[1], _BLOCK):  # a few MB at a time, however long the signal
        spectrum[:, a : a + _BLOCK] = scipy.fft.rfft(window * frames[:, a : a + _BLOCK], axis=0)
    return np.abs(spectrum) ** 2


def fft_frequencies(sampling_rate, n_fft):
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sampling_rate)


def _hz_to_mel(hz):
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log = hz >= 1000.0
    mel = np.where(log, 15.0 + np.log(np.maximum(hz, 1000.0) / 1000.0) / (np.log(6.4) / 27.0), mel)
    return mel


def _mel_to_hz(mel):
    mel = np.asarray(mel, dtype=np.float64)
    hz = (200.0 / 3) * mel
    log = mel >= 15.0
    hz[log] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel[log] - 15.0))
    return hz


def mel_filters(sampling_rate, n_fft, n_mels=128):
    """Triangular mel filters from 0 Hz to Nyquist, Slaney-normalised, float32 (n_mels, bins)."""
    freqs = fft_frequencies(sampling_rate, n_fft)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sampling_rate / 2.0), n_mels + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, freqs)
    weights = np.zeros((n_mels, freqs.size), dtype=np.float32)
    for i in range(n_mels):
        rising = -ramps[i] / widths[i]
        falling = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2 : n_mels + 2] - edges[:n_mels]))[:, None]
    return weights


def power_to_db(power, top_db=None, amin=AMIN):
    """``10 log10`` of a power (floor ``amin``), optionally ``top_db`` below its maximum."""
    db = 10.0 * np.log10(np.maximum(amin, power))
    db -= 10.0 * np.log10(np.maximum(amin, 1.0))
    if top_db is not None:
        db = np.maximum(db, db.max() - top_db)
    return db


def log_mel(S, sampling_rate, n_fft):
    """The log-mel spectrum (dB, no floor relative to the maximum) of a power spectrum."""
    mel = np.einsum("...ft,mf->...mt", S, mel_filters(sampling_rate, n_fft), optimize=True)
    return power_to_db(mel)


def _unit_sum(S):
    """Each column of ``S`` divided by its sum (columns summing to ~0 left as they are)."""
    total = np.sum(np.abs(S).astype(float), axis=0, keepdims=True)
    total[total < np.finfo(S.dtype).tiny] = 1.0
    out = np.empty_like(S)
    out[:] = S / total
    return out


def spectral_shape(mag, sampling_rate, n_fft):
    """Centroid, bandwidth, 85 % roll-off and flatness of a magnitude spectrum, (4, n_frames)."""
    freq = fft_frequencies(sampling_rate, n_fft)
    p = _unit_sum(mag)
    centroid = np.sum(freq[:, None] * p, axis=0, keepdims=True)
    deviation = np.abs(np.subtract.outer(centroid[0], freq).T)
    bandwidth = np.sum(p * deviation**2, axis=0, keepdims=True) ** 0.5
    cumulative = np.cumsum(mag, axis=0)
    below = cumulative < 0.85 * cumulative[-1:]
    rolloff = np.nanmin(np.where(below, np.nan, 1) * freq[:, None], axis=0, keepdims=True)
    power = np.maximum(AMIN, mag**2.0)
    flatness = np.exp(np.mean(np.log(power), axis=0, keepdims=True)) / np.mean(
        power, axis=0, keepdims=True
    )
    return np.vstack([centroid, bandwidth, rolloff, flatness])


def spectral_contrast(mag, sampling_rate, n_fft, fmin, n_bands, quantile=0.02):
    """Peak-to-valley level (dB) in ``n_bands`` octaves above ``fmin`` and the band below it.

    Returns
    -------
    contrast : ndarray of shape (n_bands + 1, n_frames)
    """
    freq = fft_frequencies(sampling_rate, n_fft)
    octaves = np.zeros(n_bands + 2)
    octaves[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
    if np.any(octaves[:-1] >= 0.5 * sampling_rate):
        raise ValueError(
            f"spectral contrast: {n_bands} octaves above {fmin} Hz exceed the Nyquist "
            f"frequency of {sampling_rate} Hz."
        )
    valley = np.zeros((n_bands + 1, mag.shape[1]))
    peak = np.zeros_like(valley)
    for k, (low, high) in enumerate(zip(octaves[:-1], octaves[1:], strict=True)):
        band = (freq >= low) & (freq <= high)
        idx = np.flatnonzero(band)
        if k > 0:
            band[idx[0] - 1] = True  # each band reaches one bin below its lower edge
        if k == n_bands:
            band[idx[-1] + 1 :] = True  # the last one runs to Nyquist
        rows = mag[band]
        if k < n_bands:
            rows = rows[:-1]
        m = int(np.maximum(np.rint(quantile * np.sum(band)), 1))
        ordered = np.sort(rows, axis=0)
        valley[k] = np.mean(ordered[:m], axis=0)
        peak[k] = np.mean(ordered[-m:], axis=0)
    return power_to_db(peak, top_db=80.0) - power_to_db(valley, top_db=80.0)


def zero_crossing_rate(y, frame_length, hop_length, threshold=1e-10):
    """The share of sign changes between consecutive samples in each (edge-padded) frame."""
    frames = frames_of(_centred(y, frame_length, mode="edge"), frame_length, hop_length)
    quiet = (frames >= -threshold) & (frames <= threshold)
    negative = np.signbit(np.where(quiet, 0, frames))
    crossings = np.zeros(frames.shape, dtype=bool)
    crossings[1:] = negative[1:] != negative[:-1]
    return np.mean(crossings, axis=0, keepdims=True)


def rms_of_spectrum(mag, frame_length):
    """RMS level of each frame from its magnitude spectrum (Parseval), (1, n_frames)."""
    x = np.square(mag)
    x[0] *= 0.5
    if frame_length % 2 == 0:
        x[-1] *= 0.5
    return np.sqrt(2 * np.sum(x, axis=0, keepdims=True) / frame_length**2)


def rms_of_signal(y, frame_length, hop_length):
    """RMS level of each centred, zero-padded frame of a signal, shape (n_frames,)."""
    frames = frames_of(_centred(y, frame_length), frame_length, hop_length)
    return np.sqrt(np.mean(np.square(frames), axis=0))


def amplitude_to_db(amplitude):
    """``20 log10`` of an amplitude (floor 1e-5, -100 dB)."""
    return power_to_db(np.square(np.abs(amplitude)), amin=1e-5**2)


def mfcc(log_mel_db, n_mfcc):
    """The first ``n_mfcc`` coefficients of the orthonormal DCT-II of a log-mel spectrum."""
    import scipy.fft

    return scipy.fft.dct(log_mel_db, axis=-2, type=2, norm="ortho")[..., :n_mfcc, :]


def delta(data, width, order=1):
    """Savitzky-Golay derivative of ``order`` along the frames (polynomial of that order)."""
    from scipy.signal import savgol_filter

    return savgol_filter(data, width, deriv=order, axis=-1, mode="interp", polyorder=order)


def _square_complex(z):
    """``|z|**2`` of a complex64 array in float32."""
    return (z.real**2 + z.imag**2).astype(np.float32)


def yin(y, *, fmin, fmax, sampling_rate, frame_length, hop_length, trough_threshold=0.1):
    """F0 (Hz) of each centred, zero-padded frame by YIN (de Cheveigné & Kawahara 2002).

    The cumulative-mean-normalised difference function from the frames' autocorrelation;
    the period is the first trough below ``trough_threshold`` (else the global minimum),
    refined by parabolic interpolation.
    """
    frames = frames_of(_centred(y, frame_length), frame_length, hop_length)
    min_period = int(np.floor(sampling_rate / fmax))
    max_period = min(int(np.ceil(sampling_rate / fmin)), frame_length - 1)
    periods = [  # each frame alone: blocks bound the memory of a long signal's spectra
        _yin_periods(frames[:, a : a + _BLOCK], min_period, max_period, trough_threshold)
        for a in range(0, frames.shape[1], _BLOCK)
    ]
    return sampling_rate / np.concatenate(periods)


def _yin_periods(frames, min_period, max_period, trough_threshold):
    """YIN's period (samples, interpolated) of each frame (column)."""
    import scipy.fft

    n_pad = scipy.fft.next_fast_len(2 * frames.shape[0] - 1, real=True)
    power = _square_complex(scipy.fft.rfft(frames, n=n_pad, axis=0))
    acf = scipy.fft.irfft(power, n=n_pad, axis=0)[: max_period + 1]

    # the difference function from the autocorrelation and the frame's running energy, the
    # energy's first term taken as 0 (as librosa takes it)
    energy = np.cumsum(np.square(frames), axis=0)
    energy[0] = 0
    diff = np.empty_like(energy)
    diff[0] = 0
    lags = slice(1, max_period + 1)
    diff[lags] = 2 * (acf[0:1] - acf[lags]) - energy[:max_period]
    numerator = diff[min_period : max_period + 1]
    running_mean = np.cumsum(diff[lags], axis=0) / np.arange(1, max_period + 1)[:, None]
    denominator = running_mean[min_period - 1 : max_period]
    d = numerator / (denominator + np.finfo(denominator.dtype).tiny)

    shifts = _parabolic_shifts(d)
    trough = np.zeros(d.shape, dtype=bool)
    trough[1:-1] = (d[1:-1] < d[:-2]) & (d[1:-1] <= d[2:])
    trough[0] = d[0] < d[1]
    trough[-1] = d[-1] < d[-2]
    below = trough & (d < trough_threshold)
    period = np.argmax(below, axis=0)
    none = ~below.any(axis=0)
    period[none] = np.argmin(d, axis=0)[none]
    return min_period + period + shifts[period, np.arange(d.shape[1])]


def _parabolic_shifts(d):
    """Offset of the vertex of the parabola through each point and its two neighbours.

    Computed as librosa's compiled stencil computes it: the neighbours' sum in the input
    precision, the rest in float64, stored in the input precision; 0 at the ends and where the
    vertex would lie more than one step away.
    """
    prev, here, nxt = d[:-2], d[1:-1], d[2:]
    a = (nxt + prev).astype(np.float64) - 2 * here.astype(np.float64)
    b = (nxt - prev).astype(np.float64) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a)
    shifts = np.zeros(d.shape, dtype=d.dtype)
    shifts[1:-1] = inner
    return shifts
