"""Speech features (openSMILE, librosa) and the speech SVM.

Two layers, as elsewhere in emoset:

* pure functions on a decoded signal -- :func:`opensmile_functionals` and
  :func:`librosa_functionals` map a mono float signal to one feature vector;
* scikit-learn transformers -- :class:`OpenSmileFeatures` and
  :class:`LibrosaFeatures` map *clips* (audio paths, video paths or
  :class:`emoset.datasets.Clip` records) to a feature matrix. They decode the
  audio themselves with :func:`emoset.media.load_audio` at a fixed rate
  (16 kHz), so video files work too; they run in parallel with joblib, cache
  each clip's vector on disk keyed by the file's content hash, and turn bad
  clips into NaN rows (abstentions) instead of crashing the batch.

:func:`make_audio_pipeline` chains a transformer (or nothing, for precomputed
matrices) with a :class:`~sklearn.preprocessing.StandardScaler` and an RBF
:class:`~sklearn.svm.SVC` wrapped in :class:`AbstainingClassifier`, which
drops NaN rows in ``fit`` and returns NaN scores for them in
``decision_function`` / ``predict_proba``, so score-level fusion can let the
other modality decide.

Licence note
------------
openSMILE (and the ``opensmile`` Python package) is free for research and
education only; commercial use needs a licence from audEERING. Use
:class:`LibrosaFeatures` (ISC licence) where that matters.

Real-audio behaviour (documented decisions)
-------------------------------------------
* **Sample rate.** Every clip is resampled to ``sampling_rate`` (16 kHz).
  Clips recorded at a lower rate (the CREMA-D face-crop audio is 8 kHz) have
  no energy above their Nyquist frequency (4 kHz): band-energy and spectral
  shape descriptors are biased -- in eGeMAPS the alpha ratio and Hammarberg
  index (which use the 1-5 kHz and 2-5 kHz bands), spectral flux and the MFCCs
  of the upper filters; in ComParE the upper auditory-spectrum bands, roll-off,
  centroid, entropy and related functionals. Pitch, loudness, jitter/shimmer
  and F1-F3 are largely unaffected. Such clips get status ``"upsampled"`` and
  one ``UserWarning`` per call. Do not mix 8 kHz and 16 kHz clips in one model
  without checking the effect.
* **Short clips** (< ``min_duration``, 0.5 s by default) are *not padded*:
  zero padding would add silence that biases the energy and loudness
  functionals, while openSMILE's pitch-based functionals only use voiced
  frames anyway. They are extracted as they are, with status ``"short"`` and
  a ``UserWarning``. If the extractor cannot produce finite values (a clip of
  a few milliseconds), the clip abstains (NaN row, status ``"nonfinite"``).
* **Digital silence** (peak amplitude below -80 dBFS) carries no speech;
  openSMILE would return a vector of mostly zeros that looks like a real
  sample. Such clips abstain: NaN row, status ``"silent"``, ``UserWarning``.
* **Unreadable input** (missing, zero-byte, corrupt, truncated, a video
  without an audio track): with ``on_error="raise"`` the
  :class:`emoset.media.MediaError` naming the file propagates (results
  already finished stay cached); with ``on_error="warn"`` (the default) the
  clip abstains (NaN row, status ``"error: ..."``) and one ``UserWarning``
  lists the failures; the batch always completes.

References
----------
.. [1] F. Eyben, M. Woellmer and B. Schuller, "openSMILE -- the Munich
   versatile and fast open-source audio feature extractor", Proc. ACM
   Multimedia, 2010, pp. 1459-1462.
.. [2] F. Eyben et al., "The Geneva Minimalistic Acoustic Parameter Set
   (GeMAPS) for voice research and affective computing", IEEE Trans.
   Affective Computing 7(2), 2016, pp. 190-202.
.. [3] B. Schuller et al., "The INTERSPEECH 2016 Computational Paralinguistics
   Challenge: Deception, Sincerity & Native Language", Proc. Interspeech,
   2016, pp. 2001-2005.
.. [4] S. R. Livingstone and F. A. Russo, "The Ryerson Audio-Visual Database
   of Emotional Speech and Song (RAVDESS)", PLoS ONE 13(5), 2018, e0196391.
"""

from __future__ import annotations

import functools
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, TransformerMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _cache

__all__ = [
    "OPENSMILE_FEATURE_SETS",
    "AbstainingClassifier",
    "LibrosaFeatures",
    "OpenSmileFeatures",
    "librosa_feature_names",
    "librosa_functionals",
    "make_audio_pipeline",
    "opensmile_functionals",
    "standardize_per_speaker",
]

logger = logging.getLogger(__name__)

#: openSMILE feature sets offered by :class:`OpenSmileFeatures` (functionals level),
#: with their number of functionals.
OPENSMILE_FEATURE_SETS = {"eGeMAPSv02": 88, "ComParE_2016": 6373, "emobase": 988}

#: Peak amplitude at or below which a clip counts as digital silence (-80 dBFS).
SILENCE_PEAK = 1e-4

_ON_ERROR = ("warn", "raise")
_CACHE_FORMAT = 1  # bump when the cached record layout changes


# --------------------------------------------------------------------------- inputs


def _source_of(item) -> tuple[str, Path]:
    """(clip id, file to read audio from) for a path or a Clip-like record."""
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        return str(path), path
    audio = getattr(item, "audio", None)
    video = getattr(item, "video", None)
    if audio is None and video is None:
        raise TypeError(
            "Each clip must be a path (str or os.PathLike) or a Clip with .audio or .video; "
            f"got {type(item).__name__}: {item!r}."
        )
    path = Path(audio if audio is not None else video)
    return str(getattr(item, "id", path)), path


def _check_clips(X) -> list:
    if isinstance(X, (str, os.PathLike)):
        raise TypeError(
            "X must be a list of clips (paths or Clip records), not a single path; "
            f"got {X!r}. Wrap it in a list."
        )
    if isinstance(X, np.ndarray) and X.ndim == 2:
        raise TypeError(
            f"X must be a list of clips (paths or Clip records); got a {X.shape} array. "
            "For precomputed feature matrices use make_audio_pipeline(features='precomputed')."
        )
    try:
        clips = list(X)
    except TypeError:
        raise TypeError(f"X must be a list of clips; got {type(X).__name__}.") from None
    if not clips:
        raise ValueError("X is empty; at least one clip is needed.")
    return clips


def _native_rate(path: Path) -> int | None:
    from .media import probe

    try:
        return probe(path).audio_sr
    except Exception:  # the decoder reports the real problem
        return None


# --------------------------------------------------------------------------- pure functions


@functools.lru_cache(maxsize=8)
def _smile(feature_set: str):
    import opensmile

    return opensmile.Smile(
        feature_set=getattr(opensmile.FeatureSet, feature_set),
        feature_level=opensmile.FeatureLevel.Functionals,
    )


def opensmile_functionals(signal, sampling_rate=16000, *, feature_set="eGeMAPSv02"):
    """openSMILE functionals of one mono signal.

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
        Mono audio in [-1, 1].
    sampling_rate : int, default=16000
        Rate of ``signal`` in Hz.
    feature_set : {"eGeMAPSv02", "ComParE_2016", "emobase"}, default="eGeMAPSv02"

    Returns
    -------
    values : ndarray of float32, shape (n_features,)
        88 (eGeMAPSv02), 6373 (ComParE_2016) or 988 (emobase) values; may hold
        NaN when the signal is too short for openSMILE.
    names : list of str
        The openSMILE feature names.

    References
    ----------
    .. [1] Eyben et al., openSMILE, ACM Multimedia 2010.
    .. [2] Eyben et al., GeMAPS, IEEE Trans. Affective Computing 2016.
    .. [3] Schuller et al., ComParE, Interspeech 2016.
    """
    if feature_set not in OPENSMILE_FEATURE_SETS:
        raise ValueError(
            f"feature_set must be one of {sorted(OPENSMILE_FEATURE_SETS)}; got {feature_set!r}."
        )
    smile = _smile(feature_set)
    x = np.ascontiguousarray(np.asarray(signal, dtype=np.float32).reshape(-1))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Segment too short")
        frame = smile.process_signal(x, int(sampling_rate))
    return frame.to_numpy(dtype=np.float32).reshape(-1), list(smile.feature_names)


_LLD_SPECTRAL = ("spectral_centroid", "spectral_bandwidth", "spectral_rolloff", "spectral_flatness")
_N_CONTRAST = 7  # 6 bands + valley row
_CONTRAST_FMIN = 100.0


def _stat_names(percentiles) -> list[str]:
    return ["mean", "std"] + [f"p{int(p) if float(p).is_integer() else p}" for p in percentiles]


def librosa_feature_names(n_mfcc=20, percentiles=(10, 50, 90)) -> list[str]:
    """Names of the values :func:`librosa_functionals` returns, in order."""
    llds = []
    for kind in ("mfcc", "mfcc_delta", "mfcc_delta2"):
        llds += [f"{kind}{i}" for i in range(n_mfcc)]
    llds += list(_LLD_SPECTRAL)
    llds += [f"spectral_contrast{i}" for i in range(_N_CONTRAST)]
    llds += ["zcr", "rms_db", "f0_semitone"]
    stats = _stat_names(percentiles)
    return [f"{lld}_{s}" for lld in llds for s in stats] + ["voiced_fraction"]


def librosa_functionals(
    signal,
    sampling_rate=16000,
    *,
    n_mfcc=20,
    n_fft=512,
    hop_length=160,
    fmin=65.0,
    fmax=600.0,
    pitch="yin",
    percentiles=(10, 50, 90),
):
    """Frame-level descriptors from librosa summarised by statistics.

    Descriptors (one value per 10 ms frame by default): ``n_mfcc`` MFCCs and
    their first and second deltas, spectral centroid, bandwidth, 85 % roll-off,
    flatness, 7 spectral-contrast rows, zero-crossing rate, RMS energy in dB
    and F0 in semitones above 27.5 Hz (voiced frames only). Each is summarised
    by mean, standard deviation and ``percentiles``; the fraction of voiced
    frames is appended.

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
    sampling_rate : int, default=16000
    n_mfcc : int, default=20
    n_fft : int, default=512
        Analysis window in samples (32 ms at 16 kHz).
    hop_length : int, default=160
        Frame step in samples (10 ms at 16 kHz).
    fmin, fmax : float, default=65.0, 600.0
        F0 search range in Hz.
    pitch : {"yin", "pyin"}, default="yin"
        ``"pyin"`` (probabilistic YIN) gives a proper voicing decision but is
        ~50x slower and JIT-compiles on first use. ``"yin"`` is fast; its
        voicing is energy-based (frames within 30 dB of the loudest frame whose
        F0 is inside the search range).
    percentiles : sequence of float, default=(10, 50, 90)

    Returns
    -------
    values : ndarray of float32, shape (n_features,)
        Ordered as :func:`librosa_feature_names`. F0 statistics are 0 when no
        frame is voiced (whisper, noise), with ``voiced_fraction`` 0.
    names : list of str

    Notes
    -----
    A licence-free alternative to openSMILE; the descriptors follow the
    usual speech-emotion baselines rather than a standardised set such as
    GeMAPS [1]_.

    References
    ----------
    .. [1] Eyben et al., GeMAPS, IEEE Trans. Affective Computing 2016.
    """
    import librosa

    if pitch not in ("yin", "pyin"):
        raise ValueError(f"pitch must be 'yin' or 'pyin'; got {pitch!r}.")
    sr = int(sampling_rate)
    y = np.asarray(signal, dtype=np.float32).reshape(-1)
    min_len = n_fft
    if y.size < min_len:  # librosa needs one full window
        y = np.pad(y, (0, min_len - y.size))
    kw = dict(n_fft=n_fft, hop_length=hop_length)
    S = np.abs(librosa.stft(y, **kw)) ** 2
    mel = librosa.feature.melspectrogram(S=S, sr=sr)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=n_mfcc)
    width = min(9, mfcc.shape[1] if mfcc.shape[1] % 2 else mfcc.shape[1] - 1)
    if width >= 3:
        d1 = librosa.feature.delta(mfcc, width=width)
        d2 = librosa.feature.delta(mfcc, order=2, width=width)
    else:
        d1 = np.zeros_like(mfcc)
        d2 = np.zeros_like(mfcc)
    mag = np.sqrt(S)
    spectral = [
        librosa.feature.spectral_centroid(S=mag, sr=sr),
        librosa.feature.spectral_bandwidth(S=mag, sr=sr),
        librosa.feature.spectral_rolloff(S=mag, sr=sr),
        librosa.feature.spectral_flatness(S=mag),
        librosa.feature.spectral_contrast(
            S=mag, sr=sr, fmin=_CONTRAST_FMIN, n_bands=_N_CONTRAST - 1
        ),
    ]
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop_length)
    rms = librosa.feature.rms(S=mag, frame_length=n_fft, hop_length=hop_length)
    rms_db = librosa.amplitude_to_db(rms, ref=1.0, top_db=None)
    frames = np.vstack([mfcc, d1, d2, *spectral, zcr, rms_db])
    n_frames = frames.shape[1]

    frame_length = max(n_fft, int(2 ** np.ceil(np.log2(3 * sr / fmin))))
    if y.size < frame_length:
        y_pitch = np.pad(y, (0, frame_length - y.size))
    else:
        y_pitch = y
    if pitch == "pyin":
        f0, voiced, _ = librosa.pyin(
            y_pitch, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame_length, hop_length=hop_length
        )
        voiced = np.asarray(voiced, dtype=bool) & np.isfinite(f0)
    else:
        f0 = librosa.yin(
            y_pitch, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame_length, hop_length=hop_length
        )
        e = librosa.amplitude_to_db(
            librosa.feature.rms(y=y_pitch, frame_length=frame_length, hop_length=hop_length)[0],
            ref=1.0,
            top_db=None,
        )
        voiced = (e > e.max() - 30.0) & (f0 > fmin * 1.01) & (f0 < fmax * 0.99)
    m = min(len(f0), n_frames)
    f0 = f0[:m]
    voiced = voiced[:m]
    semis = np.full(m, np.nan)
    semis[voiced] = 12.0 * np.log2(f0[voiced] / 27.5)

    def stats(row):
        row = row[np.isfinite(row)]
        if row.size == 0:
            return np.zeros(2 + len(percentiles))
        return np.concatenate([[row.mean(), row.std()], np.percentile(row, percentiles)])

    rows = [stats(r) for r in frames] + [stats(semis)]
    values = np.concatenate(rows + [[voiced.mean() if m else 0.0]]).astype(np.float32)
    return values, librosa_feature_names(n_mfcc, percentiles)


# --------------------------------------------------------------------------- per-clip worker


def _extract_clip(path, *, kind, params, sampling_rate, min_duration):
    """Decode one file and compute its vector; the record that gets cached."""
    from .media import load_audio

    t0 = time.perf_counter()
    y = load_audio(path, sr=sampling_rate)
    native_sr = _native_rate(path)
    duration = y.size / float(sampling_rate)
    status = "ok"
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak <= SILENCE_PEAK:
        values = None
        status = "silent"
    else:
        if kind == "opensmile":
            values, _ = opensmile_functionals(y, sampling_rate, **params)
        else:
            values, _ = librosa_functionals(y, sampling_rate, **params)
        if not np.all(np.isfinite(values)):
            values = None
            status = "nonfinite"
        elif duration < min_duration:
            status = "short"
    return {
        "values": values,
        "status": status,
        "duration": duration,
        "seconds": time.perf_counter() - t0,
        "native_sr": native_sr,
    }


class _BaseAudioFeatures(TransformerMixin, BaseEstimator):
    """Shared machinery: clip resolution, caching, parallelism, abstentions."""

    _kind = ""

    # subclasses define: _params(), _names(), _validate()

    def _validate_common(self):
        if self.on_error not in _ON_ERROR:
            raise ValueError(f"on_error must be one of {_ON_ERROR}; got {self.on_error!r}.")
        if int(self.sampling_rate) != self.sampling_rate or self.sampling_rate < 8000:
            raise ValueError(
                f"sampling_rate must be an integer >= 8000 Hz; got {self.sampling_rate!r}."
            )
        if not (np.isfinite(self.min_duration) and self.min_duration >= 0):
            raise ValueError(f"min_duration must be >= 0 seconds; got {self.min_duration!r}.")

    def fit(self, X=None, y=None):
        """Validate the parameters and record the output feature names.

        Feature extraction is stateless: nothing is learnt from ``X``.

        Parameters
        ----------
        X : list of clips, optional
            Ignored (accepted for pipeline compatibility).
        y : ignored

        Returns
        -------
        self
        """
        self._validate_common()
        self._validate()
        self.feature_names_ = np.asarray(self._names(), dtype=object)
        self.n_features_out_ = len(self.feature_names_)
        return self

    def get_feature_names_out(self, input_features=None):
        """The names of the output columns (openSMILE / librosa names).

        Returns
        -------
        names : ndarray of str objects, shape (n_features_out_,)
        """
        check_is_fitted(self)
        return self.feature_names_.copy()

    def _cache_key(self, params):
        from . import __version__

        versions = {"emoset": __version__, **self._versions()}
        record = {
            "kind": self._kind,
            "params": params,
            "sampling_rate": int(self.sampling_rate),
            "min_duration": float(self.min_duration),
            "format": _CACHE_FORMAT,
            "versions": versions,
        }

        def key(item):
            return _cache.make_key(record, _cache.file_sha256(_source_of(item)[1]))

        return key

    def transform(self, X):
        """Extract one feature vector per clip.

        Parameters
        ----------
        X : list of clips
            Audio file paths, video file paths (their first audio track) or
            :class:`~emoset.datasets.Clip` records (``.audio``, else the
            audio track of ``.video``).

        Returns
        -------
        features : ndarray of shape (n_clips, n_features_out_) or DataFrame
            float64; a DataFrame indexed by clip id (``Clip.id``, or the path
            as given) with the feature names as columns when ``as_frame``.
            Clips that abstain are rows of NaN (see ``status_``).

        Raises
        ------
        emoset.media.MediaError
            With ``on_error="raise"``, for the first unreadable clip.
        """
        check_is_fitted(self)
        self._validate_common()
        clips = _check_clips(X)
        sources = [_source_of(c) for c in clips]
        ids = [s[0] for s in sources]
        paths = [s[1] for s in sources]
        params = self._params()
        func = functools.partial(
            _extract_clip,
            kind=self._kind,
            params=params,
            sampling_rate=int(self.sampling_rate),
            min_duration=float(self.min_duration),
        )
        cache = None
        if self.cache_dir is not None:
            cache = _cache.DiskCache(Path(self.cache_dir) / f"audio-{self._kind}")
        records, from_cache = _cache.parallel_map(
            func,
            paths,
            key=self._cache_key(params) if cache is not None else None,
            cache=cache,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            desc=f"{type(self).__name__}",
            on_error="raise" if self.on_error == "raise" else "return",
        )
        n_out = self.n_features_out_
        out = np.full((len(clips), n_out), np.nan)
        status, failures = [], {}
        durations = np.full(len(clips), np.nan)
        seconds = np.full(len(clips), np.nan)
        for i, rec in enumerate(records):
            if isinstance(rec, _cache.Failure):
                status.append(f"error: {rec.message}")
                failures[ids[i]] = status[-1]
                continue
            durations[i] = rec["duration"]
            seconds[i] = rec["seconds"]
            status.append(rec["status"])
            if rec["values"] is None:
                failures[ids[i]] = rec["status"]
            else:
                out[i] = rec["values"]
        low_sr = []
        for i, rec in enumerate(records):
            if isinstance(rec, _cache.Failure):
                continue
            native = rec["native_sr"]
            if native is not None and native < self.sampling_rate:
                low_sr.append(ids[i])
                if status[i] == "ok":
                    status[i] = "upsampled"
        self.status_ = status
        self.failures_ = failures
        self.durations_ = durations
        self.extraction_seconds_ = seconds
        self.from_cache_ = np.asarray(from_cache, dtype=bool)
        self._warn(ids, status, low_sr)
        if self.as_frame:
            import pandas as pd

            return pd.DataFrame(
                out, index=pd.Index(ids, name="clip"), columns=list(self.feature_names_)
            )
        return out

    def _warn(self, ids, status, low_sr):
        def listing(names):
            shown = ", ".join(names[:5])
            return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")

        groups = {
            "error": [i for i, s in zip(ids, status, strict=True) if s.startswith("error")],
            "silent": [i for i, s in zip(ids, status, strict=True) if s == "silent"],
            "nonfinite": [i for i, s in zip(ids, status, strict=True) if s == "nonfinite"],
            "short": [i for i, s in zip(ids, status, strict=True) if s == "short"],
        }
        if groups["error"]:
            detail = "; ".join(
                f"{i}: {s[7:]}" for i, s in zip(ids, status, strict=True) if s.startswith("error")
            )[:2000]
            warnings.warn(
                f"{len(groups['error'])} of {len(ids)} clips could not be read and "
                f"abstain (NaN rows; see failures_): {detail}",
                UserWarning,
                stacklevel=3,
            )
        if groups["silent"]:
            warnings.warn(
                f"{len(groups['silent'])} clip(s) are digital silence (peak <= -80 dBFS) "
                f"and abstain as NaN rows: {listing(groups['silent'])}",
                UserWarning,
                stacklevel=3,
            )
        if groups["nonfinite"]:
            warnings.warn(
                f"{len(groups['nonfinite'])} clip(s) gave non-finite features (too "
                f"short to analyse) and abstain as NaN rows: "
                f"{listing(groups['nonfinite'])}",
                UserWarning,
                stacklevel=3,
            )
        if groups["short"]:
            warnings.warn(
                f"{len(groups['short'])} clip(s) are shorter than min_duration="
                f"{self.min_duration} s; features were computed without padding and "
                f"are less reliable: {listing(groups['short'])}",
                UserWarning,
                stacklevel=3,
            )
        if low_sr:
            warnings.warn(
                f"{len(low_sr)} clip(s) have a native sample rate below "
                f"{self.sampling_rate} Hz and were upsampled; their spectrum above the "
                f"native Nyquist frequency is empty, which biases band-energy and "
                f"spectral-shape features: {listing(low_sr)}",
                UserWarning,
                stacklevel=3,
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags


class OpenSmileFeatures(_BaseAudioFeatures):
    """openSMILE functionals of each clip (eGeMAPS, ComParE 2016, emobase).

    The audio is decoded with :func:`emoset.media.load_audio`, resampled to
    ``sampling_rate`` and passed to ``opensmile.Smile.process_signal`` at the
    functionals level, so audio and video files are handled alike.

    Parameters
    ----------
    feature_set : {"eGeMAPSv02", "ComParE_2016", "emobase"}, default="eGeMAPSv02"
        88, 6373 or 988 functionals.
    sampling_rate : int, default=16000
        Rate every clip is resampled to before analysis.
    min_duration : float, default=0.5
        Clips shorter than this (seconds) are analysed unpadded with a warning.
    n_jobs : int or None, default=None
        Clips processed in parallel with joblib; the backend is the caller's
        (:func:`joblib.parallel_config`).
    cache_dir : str or path-like or None, default=None
        Folder for the on-disk cache. Each clip's vector is stored atomically
        as soon as it is computed, keyed by the SHA-256 of the file's bytes,
        the parameters and the emoset/opensmile versions: a second call (or a
        resumed, interrupted one) reads finished clips back.
    verbose : int, default=0
        Show a tqdm progress bar when > 0.
    on_error : {"warn", "raise"}, default="warn"
        What an unreadable clip does: abstain as a NaN row with a warning, or
        raise :class:`emoset.media.MediaError` naming the file.
    as_frame : bool, default=False
        Return a :class:`pandas.DataFrame` indexed by clip id.

    Attributes
    ----------
    feature_names_ : ndarray of str
        openSMILE's feature names (also :meth:`get_feature_names_out`).
    n_features_out_ : int
    status_ : list of str
        Per clip of the last :meth:`transform`: ``"ok"``, ``"upsampled"``,
        ``"short"``, ``"silent"``, ``"nonfinite"`` or ``"error: <message>"``.
    failures_ : dict
        Clip id -> status, for every clip that abstained (NaN row).
    durations_, extraction_seconds_ : ndarray of shape (n_clips,)
        Decoded duration and the time decoding plus extraction took (as first
        computed, also for cached clips); NaN for unreadable clips.
    from_cache_ : ndarray of bool, shape (n_clips,)

    Notes
    -----
    The open-source openSMILE licence allows research and education use only;
    commercial use needs a licence from audEERING. :class:`LibrosaFeatures`
    is the unrestricted alternative. See the module documentation for how
    low sample rates, short clips, silence and unreadable files are handled.

    References
    ----------
    .. [1] F. Eyben, M. Woellmer and B. Schuller, "openSMILE -- the Munich
       versatile and fast open-source audio feature extractor", ACM
       Multimedia, 2010.
    .. [2] F. Eyben et al., "The Geneva Minimalistic Acoustic Parameter Set
       (GeMAPS) for voice research and affective computing", IEEE Trans.
       Affective Computing 7(2), 2016.
    .. [3] B. Schuller et al., "The INTERSPEECH 2016 Computational
       Paralinguistics Challenge", Interspeech, 2016.

    Examples
    --------
    >>> from emoset.audio import OpenSmileFeatures
    >>> X = OpenSmileFeatures(cache_dir=".cache").fit_transform(["a.wav", "b.mp4"])  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (2, 88)
    """

    _kind = "opensmile"

    def __init__(
        self,
        feature_set="eGeMAPSv02",
        *,
        sampling_rate=16000,
        min_duration=0.5,
        n_jobs=None,
        cache_dir=None,
        verbose=0,
        on_error="warn",
        as_frame=False,
    ):
        self.feature_set = feature_set
        self.sampling_rate = sampling_rate
        self.min_duration = min_duration
        self.n_jobs = n_jobs
        self.cache_dir = cache_dir
        self.verbose = verbose
        self.on_error = on_error
        self.as_frame = as_frame

    def _validate(self):
        if self.feature_set not in OPENSMILE_FEATURE_SETS:
            raise ValueError(
                f"feature_set must be one of {sorted(OPENSMILE_FEATURE_SETS)}; "
                f"got {self.feature_set!r}."
            )

    def _params(self):
        return {"feature_set": self.feature_set}

    def _names(self):
        return list(_smile(self.feature_set).feature_names)

    def _versions(self):
        import opensmile

        return {"opensmile": opensmile.__version__}


class LibrosaFeatures(_BaseAudioFeatures):
    """Licence-free speech functionals computed with librosa.

    MFCCs with deltas and delta-deltas, spectral centroid, bandwidth,
    roll-off, flatness and contrast, zero-crossing rate, RMS energy and F0
    (YIN or pYIN) with the voiced fraction, each summarised by mean, standard
    deviation and percentiles (:func:`librosa_functionals`).

    Parameters
    ----------
    n_mfcc : int, default=20
    pitch : {"yin", "pyin"}, default="yin"
        F0 tracker; see :func:`librosa_functionals`.
    percentiles : tuple of float, default=(10, 50, 90)
    sampling_rate : int, default=16000
    min_duration : float, default=0.5
    n_jobs, cache_dir, verbose, on_error, as_frame
        As in :class:`OpenSmileFeatures`.

    Attributes
    ----------
    feature_names_, n_features_out_, status_, failures_, durations_, extraction_seconds_, from_cache_
        As in :class:`OpenSmileFeatures`.

    Notes
    -----
    Use this extractor where openSMILE's research-only licence rules it out
    (librosa is ISC-licensed). It has 20 * 3 * 5 + 14 * 5 + 1 = 371 features
    with the defaults.

    References
    ----------
    .. [1] B. McFee et al., "librosa: Audio and music signal analysis in
       Python", Proc. SciPy, 2015.
    .. [2] M. Mauch and S. Dixon, "pYIN: A fundamental frequency estimator
       using probabilistic threshold distributions", ICASSP, 2014.
    """

    _kind = "librosa"

    def __init__(
        self,
        n_mfcc=20,
        *,
        pitch="yin",
        percentiles=(10, 50, 90),
        sampling_rate=16000,
        min_duration=0.5,
        n_jobs=None,
        cache_dir=None,
        verbose=0,
        on_error="warn",
        as_frame=False,
    ):
        self.n_mfcc = n_mfcc
        self.pitch = pitch
        self.percentiles = percentiles
        self.sampling_rate = sampling_rate
        self.min_duration = min_duration
        self.n_jobs = n_jobs
        self.cache_dir = cache_dir
        self.verbose = verbose
        self.on_error = on_error
        self.as_frame = as_frame

    def _validate(self):
        if int(self.n_mfcc) != self.n_mfcc or self.n_mfcc < 1:
            raise ValueError(f"n_mfcc must be a positive integer; got {self.n_mfcc!r}.")
        if self.pitch not in ("yin", "pyin"):
            raise ValueError(f"pitch must be 'yin' or 'pyin'; got {self.pitch!r}.")
        p = np.asarray(self.percentiles, dtype=float)
        if p.ndim != 1 or np.any((p < 0) | (p > 100)):
            raise ValueError(f"percentiles must be numbers in [0, 100]; got {self.percentiles!r}.")

    def _params(self):
        return {
            "n_mfcc": int(self.n_mfcc),
            "pitch": self.pitch,
            "percentiles": tuple(float(p) for p in self.percentiles),
        }

    def _names(self):
        return librosa_feature_names(int(self.n_mfcc), tuple(self.percentiles))

    def _versions(self):
        import librosa

        return {"librosa": librosa.__version__}


# --------------------------------------------------------------------------- classifier


def _finite_rows(X):
    return np.all(np.isfinite(X), axis=1)


class AbstainingClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A classifier that abstains on rows with missing (NaN) features.

    Clips whose features could not be extracted (unreadable, silent) are NaN
    rows. ``fit`` drops them with a warning; ``decision_function``,
    ``predict_proba`` and ``predict_log_proba`` return NaN rows for them, so a
    score-level fusion can fall back on the other modality; ``predict``
    returns ``abstain_label`` for them.

    Parameters
    ----------
    estimator : classifier or None, default=None
        The wrapped classifier; ``None`` means ``SVC()`` (RBF).
    probability : bool, default=False
        Also calibrate probabilities (Platt sigmoid on 5-fold cross-validated
        decision values, then one model refit on all rows, i.e.
        ``CalibratedClassifierCV(estimator, ensemble=False)`` -- what the
        deprecated ``SVC(probability=True)`` did). Costs about six fits.
        Without it, ``predict_proba`` is that of the wrapped estimator, if any.
    abstain_label : object or None, default=None
        What :meth:`predict` returns for NaN rows; ``None`` means the most
        frequent training class (the prior's best guess).

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone, trained on the finite rows.
    calibrator_ : CalibratedClassifierCV or None
        Set when ``probability=True``.
    classes_ : ndarray
    n_features_in_ : int
    n_abstained_fit_ : int
        Rows dropped in ``fit``.
    majority_ : object
        The most frequent training class.

    References
    ----------
    .. [1] J. Platt, "Probabilistic outputs for support vector machines and
       comparisons to regularized likelihood methods", Advances in Large
       Margin Classifiers, 1999.
    """

    def __init__(self, estimator=None, *, probability=False, abstain_label=None):
        self.estimator = estimator
        self.probability = probability
        self.abstain_label = abstain_label

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the wrapped classifier on the rows without NaN.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            May contain NaN rows (abstentions); infinities are rejected
            (``ValueError``).
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        **fit_params
            Passed to the wrapped estimator's ``fit`` (per-sample arrays are
            subset to the kept rows).

        Returns
        -------
        self
        """
        from sklearn.calibration import CalibratedClassifierCV

        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        keep = _finite_rows(X)
        self.n_abstained_fit_ = int((~keep).sum())
        if keep.sum() == 0:
            raise ValueError(f"All {len(X)} training rows hold NaN; nothing to fit.")
        if self.n_abstained_fit_:
            warnings.warn(
                f"Dropping {self.n_abstained_fit_} of {len(X)} training rows with NaN "
                "features (abstentions).",
                UserWarning,
                stacklevel=2,
            )
        n = len(X)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=float)
            if sample_weight.shape != (n,):
                raise ValueError(
                    f"sample_weight must have shape ({n},); got {sample_weight.shape}."
                )
            if not np.any(sample_weight[keep] > 0):
                raise ValueError("sample_weight is zero for every usable row.")
            fit_params = {**fit_params, "sample_weight": sample_weight}
            positive = sample_weight[keep] > 0
            if len(np.unique(y[keep][positive])) < 2:
                raise ValueError(
                    "sample_weight leaves fewer than 2 classes with positive weight "
                    "among the usable rows."
                )
        params = {
            k: (np.asarray(v)[keep] if hasattr(v, "__len__") and len(v) == n else v)
            for k, v in fit_params.items()
        }
        base = self.estimator if self.estimator is not None else SVC()
        Xk, yk = X[keep], y[keep]
        values, counts = np.unique(yk, return_counts=True)
        if self.probability:
            cv = int(min(5, counts.min()))
            if cv < 2:
                raise ValueError(
                    "probability=True needs at least 2 training rows of every class; "
                    f"class {values[np.argmin(counts)]!r} has {counts.min()} sample(s)."
                )
            self.calibrator_ = CalibratedClassifierCV(
                clone(base), method="sigmoid", cv=cv, ensemble=False
            ).fit(Xk, yk, **params)
            self.estimator_ = self.calibrator_.calibrated_classifiers_[0].estimator
        else:
            self.calibrator_ = None
            self.estimator_ = clone(base).fit(Xk, yk, **params)
        self.classes_ = self.estimator_.classes_
        self.majority_ = values[np.argmax(counts)]
        return self

    def _split(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return X, _finite_rows(X)

    def _scores(self, X, model, method):
        X, keep = self._split(X)
        fn = getattr(model, method)
        if keep.any():
            part = np.asarray(fn(X[keep]), dtype=float)
        else:
            part = np.asarray(fn(np.zeros((1, X.shape[1]))), dtype=float)[:0]
        out = np.full((len(X),) + part.shape[1:], np.nan)
        out[keep] = part
        return out

    def predict(self, X):
        """Predicted labels; ``abstain_label`` (or the majority class) for NaN rows."""
        X, keep = self._split(X)
        fill = self.majority_ if self.abstain_label is None else self.abstain_label
        dtype = np.result_type(self.classes_.dtype, np.asarray(fill).dtype)
        if self.classes_.dtype.kind != np.asarray(fill).dtype.kind:
            dtype = object
        out = np.empty(len(X), dtype=dtype)
        out[:] = fill
        if keep.any():
            out[keep] = self.estimator_.predict(X[keep])
        return out

    def _base(self):
        est = getattr(self, "estimator_", None)
        if est is None:
            est = self.estimator if self.estimator is not None else SVC()
        return est

    @available_if(lambda self: hasattr(self._base(), "decision_function"))
    def decision_function(self, X):
        """Decision values of the wrapped classifier; NaN rows for abstentions."""
        check_is_fitted(self)
        return self._scores(X, self.estimator_, "decision_function")

    def _has_proba(self):
        return bool(self.probability) or hasattr(self._base(), "predict_proba")

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities (columns in ``classes_`` order); NaN rows for abstentions."""
        check_is_fitted(self)
        model = self.calibrator_ if self.calibrator_ is not None else self.estimator_
        return self._scores(X, model, "predict_proba")

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Log class probabilities; NaN rows for abstentions."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


_FEATURES = {
    "egemaps": lambda kw: OpenSmileFeatures("eGeMAPSv02", **kw),
    "compare": lambda kw: OpenSmileFeatures("ComParE_2016", **kw),
    "emobase": lambda kw: OpenSmileFeatures("emobase", **kw),
    "librosa": lambda kw: LibrosaFeatures(**kw),
}


def make_audio_pipeline(
    features="egemaps",
    *,
    C=1.0,
    gamma="scale",
    class_weight="balanced",
    probability=True,
    random_state=0,
    n_jobs=None,
    cache_dir=None,
    verbose=0,
    on_error="warn",
    memory=None,
):
    """The speech classifier: features -> StandardScaler -> RBF SVM (abstaining on NaN rows).

    Parameters
    ----------
    features : {"egemaps", "compare", "emobase", "librosa", "precomputed"} or transformer
        The first step. ``"precomputed"`` (or ``None``) builds the pipeline on
        a feature matrix -- the fast way to grid-search, extracting once. A
        transformer instance is used as given.
    C : float, default=1.0
    gamma : "scale", "auto" or float, default="scale"
    class_weight : "balanced" or None, default="balanced"
    probability : bool, default=True
        Calibrate probabilities (Platt scaling, see :class:`AbstainingClassifier`)
        so ``predict_proba`` is available for fusion; ``False`` fits ~6x faster
        (use it inside grid searches scored on labels).
    random_state : int, default=0
        Passed to the SVC.
    n_jobs, cache_dir, verbose, on_error
        Passed to the feature transformer when ``features`` is a name.
    memory : str or joblib.Memory or None
        ``Pipeline(memory=...)``.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``[("features", ...),] ("scale", StandardScaler()), ("svm",
        AbstainingClassifier(SVC(...)))``. Grid-search keys are
        ``svm__estimator__C`` and ``svm__estimator__gamma``. The scaler
        ignores NaN when fitting and passes NaN rows through; the SVM drops
        them in ``fit`` (warning) and returns NaN scores for them.

    Notes
    -----
    Speaker-independent results on RAVDESS speech (8 classes, 20 actors,
    nested 5-fold CV) are in ``results/audio/`` (``pipelines/audio_results.py``):
    about 49 % (eGeMAPS), 56 % (ComParE) and 67 % (ComParE with
    :func:`standardize_per_speaker`) accuracy, chance 12.5 %.

    References
    ----------
    .. [1] B. Schuller et al., "The INTERSPEECH 2016 Computational
       Paralinguistics Challenge", Interspeech, 2016 (SVM baseline on openSMILE
       functionals).
    .. [2] S. R. Livingstone and F. A. Russo, "The Ryerson Audio-Visual
       Database of Emotional Speech and Song (RAVDESS)", PLoS ONE 13(5), 2018.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV, GroupKFold
    >>> pipe = make_audio_pipeline("precomputed")
    >>> grid = {"svm__estimator__C": [1, 10], "svm__estimator__gamma": ["scale", 1e-4]}
    >>> search = GridSearchCV(pipe, grid, cv=GroupKFold(4))
    """
    svm = AbstainingClassifier(
        SVC(kernel="rbf", C=C, gamma=gamma, class_weight=class_weight, random_state=random_state),
        probability=probability,
    )
    steps = [("scale", StandardScaler()), ("svm", svm)]
    if features is None or (isinstance(features, str) and features == "precomputed"):
        pass
    elif isinstance(features, str):
        if features not in _FEATURES:
            raise ValueError(
                f"features must be one of {sorted(_FEATURES) + ['precomputed']} or a "
                f"transformer; got {features!r}."
            )
        kw = dict(n_jobs=n_jobs, cache_dir=cache_dir, verbose=verbose, on_error=on_error)
        steps.insert(0, ("features", _FEATURES[features](kw)))
    elif hasattr(features, "transform"):
        steps.insert(0, ("features", features))
    else:
        raise TypeError(f"features must be a name or a transformer; got {type(features).__name__}.")
    return Pipeline(steps, memory=memory)


def standardize_per_speaker(X, speakers, *, min_clips=2):
    """Z-normalise features within each speaker (NaN-aware).

    Each speaker's rows are centred and scaled with that speaker's own mean
    and standard deviation, removing much of the between-speaker variation.
    It uses no labels, so in speaker-independent evaluation it is legitimate
    for test speakers too -- but it is *transductive*: it needs several
    (unlabelled) clips of the test speaker at once.

    Parameters
    ----------
    X : array-like of shape (n_clips, n_features)
        May hold NaN rows (abstentions), which stay NaN and are ignored in
        the statistics.
    speakers : array-like of shape (n_clips,)
    min_clips : int, default=2
        Speakers with fewer finite rows are standardised with the statistics
        of all clips instead (with a warning).

    Returns
    -------
    Xs : ndarray of float64, shape (n_clips, n_features)
    """
    X = np.asarray(X, dtype=float)
    speakers = np.asarray(speakers)
    if X.ndim != 2 or len(speakers) != len(X):
        raise ValueError(
            f"X must be 2-D with one speaker per row; got X {X.shape} and {len(speakers)} speakers."
        )
    finite = _finite_rows(X)
    out = np.full_like(X, np.nan)

    def zscore(rows, ref):
        mu = ref.mean(axis=0)
        sd = ref.std(axis=0)
        sd[sd < 1e-12] = 1.0
        return (rows - mu) / sd

    few = []
    global_ref = X[finite]
    for spk in np.unique(speakers):
        rows = (speakers == spk) & finite
        if not rows.any():
            continue
        if rows.sum() < min_clips:
            few.append(str(spk))
            out[rows] = zscore(X[rows], global_ref)
        else:
            out[rows] = zscore(X[rows], X[rows])
    if few:
        warnings.warn(
            f"{len(few)} speaker(s) have fewer than {min_clips} usable clips and were "
            f"standardised with global statistics: {', '.join(few[:5])}",
            UserWarning,
            stacklevel=2,
        )
    return out
