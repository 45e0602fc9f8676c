"""One clip's speech vector: decoded, band-limited, resampled, its functionals or moments.

The per-clip work under the audio transformers (:mod:`emoset.audio.extract`), which run
:func:`extract_clip` on each clip (in parallel, cached by content). It imports no estimator
and not scikit-learn, so ``emoset predict``'s early child (:mod:`emoset.utils.early`)
extracts a clip's speech while the command imports the estimators: a part it makes is
described by :func:`early_part` (the file and every argument of :func:`extract_clip`), and
the extraction takes it only for exactly its own description.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..io.errors import TruncationWarning
from ..io.media import load_audio, probe, resample
from ..utils.cache import file_sha256
from ..utils.early import file_state
from .augment import augment_signal, augmentation_seed
from .bandwidth import estimate_bandwidth
from .moments import frame_moments
from .speech import _opensmile_values, librosa_functionals, opensmile_descriptors

__all__ = [
    "SILENCE_PEAK",
    "early_part",
    "extract_clip",
    "native_rate",
    "signal_record",
]

#: Peak amplitude at or below which a clip counts as digital silence (-80 dBFS).
SILENCE_PEAK = 1e-4


def native_rate(path) -> int | None:
    """The sample rate of a file's first audio stream (None if it cannot be read)."""
    try:
        return probe(path).audio_sr
    except Exception:  # the decoder reports the real problem
        return None


def _decode(path, allow_partial):
    """The file's audio at its own rate, and the truncation note when only part decoded."""
    if not allow_partial:
        return load_audio(path, sr=None), None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncationWarning)
        y = load_audio(path, sr=None, allow_partial=True)
    checks = [w.message.check for w in caught if issubclass(w.category, TruncationWarning)]
    return y, "; ".join(c.reason for c in checks) or None


def extract_clip(
    path, *, kind, params, sampling_rate, band_rate, min_duration, allow_partial, augmentation
):
    """Decode one file (augment it), band-limit it, compute its vector; the cached record.

    ``kind``: ``"opensmile"`` (functionals), ``"opensmile-moments"`` (the moments of the
    frame descriptors) or ``"librosa"``, with the keyword arguments ``params``.
    ``augmentation``: ``None`` or ``(kind, seed)``; the copy's own seed comes from that seed,
    the kind and the file's SHA-256, so it is the same copy in any order and on any machine.
    """
    t0 = time.perf_counter()
    native = native_rate(path) or sampling_rate
    y, partial = _decode(path, allow_partial)
    if augmentation is not None:
        aug, seed = augmentation
        seed = augmentation_seed(seed, aug, file_sha256(path))
        y, native, _ = augment_signal(y, native, aug, seed=seed)
    record = signal_record(
        y,
        native,
        kind=kind,
        params=params,
        sampling_rate=sampling_rate,
        band_rate=band_rate,
        min_duration=min_duration,
    )
    record.update(seconds=time.perf_counter() - t0, partial=partial)
    return record


def signal_record(
    y, native, *, kind, params, sampling_rate, band_rate, min_duration, bandwidth=True
):
    """Band-limit a decoded signal, compute its vector: status, values, duration, bandwidth."""
    bandwidth = estimate_bandwidth(y, native) if bandwidth else None
    rate = native
    if band_rate is not None and native > band_rate:
        y, rate = resample(y, native, band_rate), band_rate
    y = resample(y, rate, sampling_rate)
    duration = y.size / float(sampling_rate)
    status, values = "ok", None
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak <= SILENCE_PEAK:
        status = "silent"
    else:
        if kind == "opensmile":
            values = _opensmile_values(y, sampling_rate, **params)  # names: not needed
        elif kind == "opensmile-moments":
            values = frame_moments(opensmile_descriptors(y, sampling_rate, **params))
        else:
            values, _ = librosa_functionals(y, sampling_rate, **params)
        if not np.all(np.isfinite(values)):
            values, status = None, "nonfinite"
        elif duration < min_duration:
            status = "short"
    return {
        "values": values,
        "status": status,
        "duration": duration,
        "native_sr": int(native),
        "bandwidth": bandwidth,
    }


def early_part(path, **arguments):
    """What the record of ``extract_clip(path, augmentation=None, **arguments)`` made ahead
    is compared on: the file (its size and times: not changed since) and every argument."""
    return ("audio", file_state(path), sorted(arguments.items()))
