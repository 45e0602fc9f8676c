"""Speech features of clips (openSMILE, librosa) and the speech SVM pipeline.

Two layers, as elsewhere in emoset: the pure functions on a decoded signal live in
:mod:`emoset.speech` (:func:`~emoset.speech.opensmile_functionals`,
:func:`~emoset.speech.librosa_functionals`, :func:`~emoset.speech.estimate_bandwidth`); this
module holds the scikit-learn transformers :class:`OpenSmileFeatures` and
:class:`LibrosaFeatures`, which map *clips* (audio paths, video paths or
:class:`emoset.datasets.Clip` records) to a feature matrix. They decode the audio themselves
with :func:`emoset.media.load_audio` (so video files work too), band-limit it to the training
bandwidth and resample it to a fixed rate (16 kHz), run in parallel with joblib, cache each
clip's vector on disk keyed by the file's content hash, and turn bad clips into NaN rows
(abstentions) instead of crashing the batch. ``extract`` returns the features with a
per-clip table of what happened; ``transform`` the features alone (a transform never changes
the estimator).

:func:`make_audio_pipeline` chains a transformer (or nothing, for precomputed
matrices) with a :class:`~sklearn.preprocessing.StandardScaler` and an RBF
:class:`~sklearn.svm.SVC` wrapped in :class:`~emoset.abstain.AbstainingClassifier`,
which drops NaN rows in ``fit`` and returns NaN scores (with a reason) for
unusable clips and clips far from the training data, so score-level fusion
lets the other modality decide.

Licence note
------------
openSMILE (and the ``opensmile`` Python package) is free for research and
education only; commercial use needs a licence from audEERING. Use
:class:`LibrosaFeatures` (ISC licence) where that matters.

Real-audio behaviour (documented decisions)
-------------------------------------------
* **Bandwidth.** A model trained on telephone-band speech (the CREMA-D face-crop
  audio is 8 kHz: nothing above 4 kHz) sees empty upper bands in every training
  clip; wideband speech at prediction would put energy where the model never saw
  any and land far from every training clip (an RBF SVM then answers with its
  intercept, the same for every clip). So ``fit`` measures the bandwidth of the
  training clips (:func:`~emoset.speech.estimate_bandwidth`, low decile: ``bandwidth_``), and
  every clip, in training and prediction, is low-passed to that band (resampled
  to the smallest standard rate covering it, ``band_rate_``) before it is
  resampled to ``sampling_rate``. A clip whose own bandwidth is clearly lower
  than the training bandwidth is flagged (``narrowband``) with a warning.
* **Short clips** (< ``min_duration``, 0.5 s by default) are *not padded*:
  zero padding would add silence that biases the energy and loudness
  functionals, while openSMILE's pitch-based functionals only use voiced
  frames anyway. They are extracted as they are, with status ``"short"``. If the
  extractor cannot produce finite values (a clip of a few milliseconds), the
  clip abstains (NaN row, status ``"nonfinite"``).
* **Digital silence** (peak amplitude below -80 dBFS) carries no speech;
  openSMILE would return a vector of mostly zeros that looks like a real
  sample. Such clips abstain: NaN row, status ``"silent"``.
* **Unreadable input** (missing, zero-byte, corrupt, truncated, a video
  without an audio track): with ``on_error="raise"`` the
  :class:`emoset.media.MediaError` naming the file propagates (results
  already finished stay cached); with ``on_error="warn"`` (the default) the
  clip abstains (NaN row, status ``"error"``, the error as its reason). One
  ``UserWarning`` per call sums up every problem; the batch always completes.

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
import numbers
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

from . import _cache
from ._validation import check_choice
from ._version import __version__
from ._warnings import summarise, warn_caller
from .abstain import AbstainingClassifier
from .media import MediaError
from .speech import (
    OPENSMILE_FEATURE_SETS,
    band_rate,
    covering_rate,
    estimate_bandwidth,
    librosa_feature_names,
    librosa_functionals,
    librosa_window_functionals,
    opensmile_feature_names,
    opensmile_functionals,
)

__all__ = [
    "LibrosaFeatures",
    "OpenSmileFeatures",
    "make_audio_pipeline",
    "warn_audio_problems",
]

logger = logging.getLogger(__name__)


#: Peak amplitude at or below which a clip counts as digital silence (-80 dBFS).
SILENCE_PEAK = 1e-4

_ON_ERROR = ("warn", "raise")


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


def _probe_clip(path):
    """Native rate, measured bandwidth and duration of one file (what ``fit`` learns from)."""
    from .media import load_audio

    y = load_audio(path, sr=None)
    rate = _native_rate(path) or 16000
    return {
        "native_sr": int(rate),
        "bandwidth": estimate_bandwidth(y, rate),
        "duration": y.size / float(rate),
    }


# --------------------------------------------------------------------------- per-clip worker


def _decode(path, allow_partial):
    """The file's audio at its own rate, and the truncation note when only part decoded."""
    from .media import TruncationWarning, load_audio

    if not allow_partial:
        return load_audio(path, sr=None), None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncationWarning)
        y = load_audio(path, sr=None, allow_partial=True)
    checks = [w.message.check for w in caught if issubclass(w.category, TruncationWarning)]
    return y, "; ".join(c.reason for c in checks) or None


def _extract_clip(path, *, kind, params, sampling_rate, band_rate, min_duration, allow_partial):
    """Decode one file, band-limit it, compute its vector; the record that gets cached."""
    t0 = time.perf_counter()
    native = _native_rate(path) or sampling_rate
    y, partial = _decode(path, allow_partial)
    record = _signal_record(
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


def _signal_record(y, native, *, kind, params, sampling_rate, band_rate, min_duration):
    """Band-limit a decoded signal, compute its vector: status, values, duration, bandwidth."""
    from .media import resample

    bandwidth = estimate_bandwidth(y, native)
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
            values, _ = opensmile_functionals(y, sampling_rate, **params)
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


def _span(start, end, rate):
    """The samples of ``[start, end)`` seconds at ``rate``."""
    a = max(0, int(round(start * rate)))
    return slice(a, max(a, int(round(end * rate))))


def _check_record(n_features):
    def check(record):
        values = record["values"]
        return values is None or (values.dtype == np.float32 and values.shape == (n_features,))

    return check


_REASONS = {
    "silent": "digital silence (peak at or below -80 dBFS)",
    "nonfinite": "too short to analyse (non-finite features)",
}


class _BaseAudioFeatures(TransformerMixin, BaseEstimator):
    """Shared machinery: clip resolution, bandwidth, caching, parallelism, abstentions."""

    _kind = ""

    # subclasses define: _params(), _names(), _validate(), _versions()

    def _validate_common(self):
        from sklearn.utils import check_scalar

        check_choice("on_error", self.on_error, _ON_ERROR)
        check_scalar(self.sampling_rate, "sampling_rate", numbers.Integral, min_val=8000)
        check_scalar(self.min_duration, "min_duration", numbers.Real, min_val=0)
        if not (self.bandwidth in (None, "auto") or isinstance(self.bandwidth, numbers.Real)):
            raise ValueError(
                f"bandwidth must be 'auto', a frequency in Hz or None; got {self.bandwidth!r}."
            )
        if isinstance(self.bandwidth, numbers.Real) and not self.bandwidth > 0:
            raise ValueError(f"bandwidth must be a positive frequency; got {self.bandwidth!r}.")

    def fit(self, X=None, y=None):
        """Validate the parameters, record the feature names and the training bandwidth.

        Parameters
        ----------
        X : list of clips, optional
            Training clips. With ``bandwidth="auto"`` their measured bandwidths set the band
            every clip is limited to (see ``bandwidth``); without clips there is no limit.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_common()
        self._validate()
        self.feature_names_ = np.asarray(self._names(), dtype=object)
        self.n_features_out_ = len(self.feature_names_)
        self.bandwidth_ = None
        if isinstance(self.bandwidth, numbers.Real):
            self.bandwidth_ = float(self.bandwidth)
        elif self.bandwidth == "auto" and X is not None:
            self.bandwidth_ = self._training_bandwidth(_check_clips(X))
        self.band_rate_ = band_rate(self.bandwidth_, int(self.sampling_rate))
        return self

    def _training_bandwidth(self, clips):
        """Low decile of the clips' measured bandwidths, capped at the analysis Nyquist."""
        paths = [_source_of(c)[1] for c in clips]
        cache = None
        if self._cache_root() is not None:
            cache = _cache.DiskCache(self._cache_root() / "audio-probe")
        records, _ = _cache.parallel_map(
            _probe_clip,
            paths,
            key=lambda p: _cache.make_key(
                "audio-probe", _cache.CACHE_FORMAT, _cache.file_sha256(p)
            ),
            cache=cache,
            n_jobs=self.n_jobs,
            desc="bandwidth",
            on_error="return",
        )
        found = [
            r["bandwidth"]
            for r in records
            if not isinstance(r, _cache.Failure) and r["bandwidth"] is not None
        ]
        if not found:
            return None
        return float(min(np.quantile(found, 0.1), int(self.sampling_rate) / 2))

    def _warm_up(self):
        """Prepare, in this process, what parallel workers would otherwise all build at once."""

    def _cache_root(self):
        """The cache folder: ``cache_dir``, the default one for ``True``, or None."""
        if self.cache_dir is True:
            return _cache.default_cache_dir()
        return None if self.cache_dir is None else Path(self.cache_dir)

    def get_feature_names_out(self, input_features=None):
        """The names of the output columns (openSMILE / librosa names).

        Returns
        -------
        names : ndarray of str objects, shape (``n_features_out_``,)
        """
        check_is_fitted(self)
        return self.feature_names_.copy()

    def _cache_key(self, params):
        versions = {"emoset": __version__, **self._versions()}
        record = {
            "kind": self._kind,
            "params": params,
            "sampling_rate": int(self.sampling_rate),
            "band_rate": self.band_rate_,
            "min_duration": float(self.min_duration),
            "allow_partial": bool(self.allow_partial),
            "format": _cache.CACHE_FORMAT,
            "versions": versions,
        }

        def key(path):
            return _cache.make_key(record, _cache.file_sha256(path))

        return key

    def extract(self, X):
        """Feature vectors and the per-clip table of what happened.

        Parameters
        ----------
        X : list of clips
            Audio file paths, video file paths (their first audio track) or
            :class:`~emoset.datasets.Clip` records (``.audio``, else the audio track of
            ``.video``).

        Returns
        -------
        features : ndarray of shape (n_clips, ``n_features_out_``)
            float64; NaN rows for clips that abstain.
        info : pandas.DataFrame
            One row per clip, indexed by clip id: ``path``, ``status`` (``"ok"``, ``"short"``,
            ``"silent"``, ``"nonfinite"`` or ``"error"``), ``reason`` (why a clip abstains, or
            a caveat; ``""`` otherwise), ``duration`` (s, after decoding), ``native_sr``,
            ``bandwidth`` (Hz, measured), ``narrowband`` (bandwidth clearly below the training
            bandwidth), ``cached`` and ``seconds`` (decoding plus extraction, as first
            computed).

        Raises
        ------
        emoset.media.MediaError
            With ``on_error="raise"``, for the first unreadable clip.
        """
        import pandas as pd

        check_is_fitted(self)
        self._validate_common()
        clips = _check_clips(X)
        sources = [_source_of(c) for c in clips]
        paths = [s[1] for s in sources]
        params = self._params()
        func = functools.partial(
            _extract_clip,
            kind=self._kind,
            params=params,
            sampling_rate=int(self.sampling_rate),
            band_rate=self.band_rate_,
            min_duration=float(self.min_duration),
            allow_partial=bool(self.allow_partial),
        )
        cache = None
        if self._cache_root() is not None:
            cache = _cache.DiskCache(self._cache_root() / f"audio-{self._kind}")
        if self.n_jobs not in (None, 1):
            self._warm_up()
        records, from_cache = _cache.parallel_map(
            func,
            paths,
            key=self._cache_key(params) if cache is not None else None,
            cache=cache,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            desc=f"{type(self).__name__}",
            on_error="raise" if self.on_error == "raise" else "return",
            check=_check_record(self.n_features_out_),
        )
        out = np.full((len(clips), self.n_features_out_), np.nan)
        rows = []
        for i, (rec, path) in enumerate(zip(records, paths, strict=True)):
            rows.append(self._info_row(rec, path, from_cache[i]))
            if not isinstance(rec, _cache.Failure) and rec["values"] is not None:
                out[i] = rec["values"]
        info = pd.DataFrame(rows, index=pd.Index([s[0] for s in sources], name="clip"))
        return out, info

    def extract_signal(self, signal, sampling_rate):
        """The feature vector of one decoded signal, as :meth:`extract` computes it for a file.

        For callers that decode a long recording once and cut it into pieces
        (:mod:`emoset.timeline`): the piece is band-limited to the training band, resampled
        and analysed as a clip of that length would be. Nothing is cached.

        Parameters
        ----------
        signal : array-like of shape (n_samples,)
            Mono audio in [-1, 1].
        sampling_rate : int
            Rate of ``signal`` in Hz.

        Returns
        -------
        values : ndarray of shape (``n_features_out_``,)
            float64; NaN where the signal abstains (digital silence, non-finite features).
        status : str
            ``"ok"``, ``"short"``, ``"silent"`` or ``"nonfinite"`` (see :meth:`extract`).
        reason : str
            Why it abstains, or a caveat; ``""`` otherwise.
        """
        check_is_fitted(self)
        y = np.asarray(signal, dtype=np.float32).reshape(-1)
        rec = _signal_record(
            y,
            int(sampling_rate),
            kind=self._kind,
            params=self._params(),
            sampling_rate=int(self.sampling_rate),
            band_rate=self.band_rate_,
            min_duration=float(self.min_duration),
        )
        values = np.full(self.n_features_out_, np.nan)
        if rec["values"] is not None:
            values[:] = rec["values"]
        reason = _REASONS.get(rec["status"], "")
        if rec["status"] == "short":
            reason = f"shorter than min_duration={self.min_duration} s ({rec['duration']:.2f} s)"
        return values, rec["status"], reason

    def extract_windows(self, signal, sampling_rate, bounds):
        """Feature vectors of windows of one decoded signal (a timeline's overlapping windows).

        Each window is analysed as :meth:`extract_signal` analyses a piece, except that the
        signal is band-limited and resampled once and, for librosa descriptors, the
        frame-level descriptors are computed once and summarised per window
        (:func:`emoset.speech.librosa_window_functionals`); openSMILE analyses each piece.

        Parameters
        ----------
        signal : array-like of shape (n_samples,)
            Mono audio in [-1, 1].
        sampling_rate : int
        bounds : sequence of (start, end)
            Seconds from the start of ``signal``.

        Returns
        -------
        values : ndarray of shape (n_windows, ``n_features_out_``)
            NaN rows where a window abstains.
        status, reason : list of str
            As :meth:`extract_signal` returns them, one per window.
        """
        check_is_fitted(self)
        y = np.asarray(signal, dtype=np.float32).reshape(-1)
        native = int(sampling_rate)
        if self._kind != "librosa":
            out = [self.extract_signal(y[_span(a, b, native)], native) for a, b in bounds]
            values = np.array([o[0] for o in out]).reshape(len(bounds), self.n_features_out_)
            return values, [o[1] for o in out], [o[2] for o in out]
        from .media import resample

        rate = native
        if self.band_rate_ is not None and native > self.band_rate_:
            y, rate = resample(y, native, self.band_rate_), self.band_rate_
        sr = int(self.sampling_rate)
        y = resample(y, rate, sr)
        spans = [_span(a, b, sr) for a, b in bounds]
        values = np.full((len(bounds), self.n_features_out_), np.nan)
        loud = [
            i for i, sl in enumerate(spans) if y[sl].size and np.max(np.abs(y[sl])) > SILENCE_PEAK
        ]
        if loud:
            got = librosa_window_functionals(
                y, sr, [(spans[i].start, spans[i].stop) for i in loud], **self._params()
            )
            values[loud] = got
        status, reason = [], []
        for i, sl in enumerate(spans):
            duration = (sl.stop - sl.start) / sr
            st = "ok"
            if not np.isfinite(values[i]).all():
                st = "silent" if i not in loud else "nonfinite"
                values[i] = np.nan
            elif duration < float(self.min_duration):
                st = "short"
            why = _REASONS.get(st, "")
            if st == "short":
                why = f"shorter than min_duration={self.min_duration} s ({duration:.2f} s)"
            status.append(st)
            reason.append(why)
        return values, status, reason

    def _info_row(self, rec, path, cached):
        row = {
            "path": str(path),
            "status": "error",
            "reason": "",
            "duration": np.nan,
            "native_sr": np.nan,
            "bandwidth": np.nan,
            "narrowband": False,
            "cached": bool(cached),
            "seconds": np.nan,
        }
        if isinstance(rec, _cache.Failure):  # a MediaError names the file and says what
            row["reason"] = str(rec.error) if isinstance(rec.error, MediaError) else rec.message
            return row
        row.update({k: rec[k] for k in ("status", "duration", "native_sr", "seconds")})
        row["bandwidth"] = np.nan if rec["bandwidth"] is None else rec["bandwidth"]
        row["reason"] = _REASONS.get(rec["status"], "")
        if rec["status"] == "short":
            row["reason"] = (
                f"shorter than min_duration={self.min_duration} s "
                f"({rec['duration']:.2f} s): less reliable features"
            )
        if rec.get("partial"):
            row["reason"] = "; ".join(r for r in (row["reason"], rec["partial"]) if r)
        limit = self.bandwidth_
        if (
            limit is not None
            and rec["bandwidth"] is not None
            and covering_rate(rec["bandwidth"]) < covering_rate(limit)
        ):
            row["narrowband"] = True
            note = (
                f"audio bandwidth {rec['bandwidth'] / 1000:.1f} kHz is below the training "
                f"bandwidth {limit / 1000:.1f} kHz"
            )
            row["reason"] = "; ".join(r for r in (row["reason"], note) if r)
        return row

    def transform(self, X):
        """One feature vector per clip (see :meth:`extract`); one warning sums up bad clips.

        Parameters
        ----------
        X : list of clips

        Returns
        -------
        features : ndarray of shape (n_clips, ``n_features_out_``) or DataFrame
            float64 (NaN rows for clips that abstain); a DataFrame indexed by clip id with the
            feature names as columns when ``as_frame``.
        """
        out, info = self.extract(X)
        warn_audio_problems(info, min_duration=self.min_duration)
        if self.as_frame:
            import pandas as pd

            return pd.DataFrame(out, index=info.index, columns=list(self.feature_names_))
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags


def warn_audio_problems(info, *, min_duration=0.5):
    """One summarised ``UserWarning`` for the clips of an audio ``info`` table with a problem.

    Parameters
    ----------
    info : pandas.DataFrame
        As returned by ``extract`` of :class:`OpenSmileFeatures` / :class:`LibrosaFeatures`.
    min_duration : float
        The extractor's ``min_duration`` (for the message).
    """
    parts = []
    groups = [
        ("error", "could not be read and abstain"),
        ("silent", "are digital silence (peak <= -80 dBFS) and abstain"),
        ("nonfinite", "gave non-finite features (too short to analyse) and abstain"),
        ("short", f"are shorter than min_duration={min_duration} s (features less reliable)"),
    ]
    for status, text in groups:
        rows = info[info["status"] == status]
        if len(rows):
            detail = [
                f"{i} ({r})" if status == "error" else str(i) for i, r in rows["reason"].items()
            ]
            parts.append(f"{len(rows)} of {len(info)} clips {text}: {summarise(detail)}")
    narrow = info[info["narrowband"]]
    if len(narrow):
        parts.append(
            f"{len(narrow)} of {len(info)} clips have a narrower audio band than the training "
            f"clips (band-energy and spectral features are biased): {summarise(list(narrow.index))}"
        )
    if parts:
        warn_caller("; ".join(parts) + ".")


class OpenSmileFeatures(_BaseAudioFeatures):
    """openSMILE functionals of each clip (eGeMAPS, ComParE 2016, emobase).

    The audio is decoded with :func:`emoset.media.load_audio`, band-limited to the
    training bandwidth, resampled to ``sampling_rate`` and passed to
    ``opensmile.Smile.process_signal`` at the functionals level, so audio and video
    files are handled alike.

    Parameters
    ----------
    feature_set : {"eGeMAPSv02", "ComParE_2016", "emobase"}, default="eGeMAPSv02"
        88, 6373 or 988 functionals.
    bandwidth : "auto", float or None, default="auto"
        Band every clip is low-passed to before analysis: ``"auto"`` learns it in
        :meth:`fit` from the training clips (the low decile of their measured
        bandwidths, see :func:`estimate_bandwidth`); a number is a fixed limit in Hz;
        ``None`` keeps every clip's own band.
    sampling_rate : int, default=16000
        Rate every clip is resampled to before analysis.
    min_duration : float, default=0.5
        Clips shorter than this (seconds) are analysed unpadded with a warning.
    n_jobs : int or None, default=None
        Clips processed in parallel with joblib; the backend is the caller's
        (:func:`joblib.parallel_config`).
    cache_dir : str, path-like, True or None, default=None
        Folder for the on-disk cache (``True``: the default cache folder,
        ``$EMOSET_CACHE`` or ``~/.cache/emoset``). Each clip's vector is stored atomically
        as soon as it is computed, keyed by the SHA-256 of the file's bytes,
        the parameters and the emoset/opensmile versions: a second call (or a
        resumed, interrupted one) reads finished clips back.
    verbose : int, default=0
        Show a tqdm progress bar when > 0.
    on_error : {"warn", "raise"}, default="warn"
        What an unreadable clip does: abstain as a NaN row with a warning, or
        raise :class:`emoset.media.MediaError` naming the file.
    allow_partial : bool, default=False
        Use what decodes of a truncated file (its reason then says e.g. "truncated:
        decoded 0.7 s of 2.3 s") instead of treating it as unreadable.
    as_frame : bool, default=False
        Return a :class:`pandas.DataFrame` indexed by clip id.

    Attributes
    ----------
    feature_names_ : ndarray of str
        openSMILE's feature names (also :meth:`get_feature_names_out`).
    n_features_out_ : int
    bandwidth_ : float or None
        Band limit in Hz (``None``: none).
    band_rate_ : int or None
        The standard rate every clip is resampled to first to apply that limit
        (``None`` when the limit is at or above ``sampling_rate / 2``).

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
        bandwidth="auto",
        sampling_rate=16000,
        min_duration=0.5,
        n_jobs=None,
        cache_dir=None,
        verbose=0,
        on_error="warn",
        allow_partial=False,
        as_frame=False,
    ):
        self.feature_set = feature_set
        self.bandwidth = bandwidth
        self.sampling_rate = sampling_rate
        self.min_duration = min_duration
        self.n_jobs = n_jobs
        self.cache_dir = cache_dir
        self.verbose = verbose
        self.on_error = on_error
        self.allow_partial = allow_partial
        self.as_frame = as_frame

    def _validate(self):
        check_choice("feature_set", self.feature_set, OPENSMILE_FEATURE_SETS)

    def _params(self):
        return {"feature_set": self.feature_set}

    def _names(self):
        return opensmile_feature_names(self.feature_set)

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
    bandwidth : "auto", float or None, default="auto"
    sampling_rate : int, default=16000
    min_duration : float, default=0.5
    n_jobs, cache_dir, verbose, on_error, allow_partial, as_frame
        As in :class:`OpenSmileFeatures`.

    Attributes
    ----------
    feature_names_, n_features_out_, bandwidth_, band_rate_
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
        bandwidth="auto",
        sampling_rate=16000,
        min_duration=0.5,
        n_jobs=None,
        cache_dir=None,
        verbose=0,
        on_error="warn",
        allow_partial=False,
        as_frame=False,
    ):
        self.n_mfcc = n_mfcc
        self.pitch = pitch
        self.percentiles = percentiles
        self.bandwidth = bandwidth
        self.sampling_rate = sampling_rate
        self.min_duration = min_duration
        self.n_jobs = n_jobs
        self.cache_dir = cache_dir
        self.verbose = verbose
        self.on_error = on_error
        self.allow_partial = allow_partial
        self.as_frame = as_frame

    def _validate(self):
        from sklearn.utils import check_scalar

        check_scalar(self.n_mfcc, "n_mfcc", numbers.Integral, min_val=1)
        check_choice("pitch", self.pitch, ("yin", "pyin"))
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

    def _warm_up(self):
        """Compile librosa's numba functions once here before the workers start.

        numba's on-disk cache is not safe for concurrent first compilation: workers that all
        compile the same functions into an empty cache can crash (seen once in ``librosa.yin``
        on a fresh machine). After one compilation here they load the finished cache.
        """
        t = np.arange(int(self.sampling_rate) // 2) / float(self.sampling_rate)
        librosa_functionals(
            0.1 * np.sin(2 * np.pi * 150.0 * t), int(self.sampling_rate), **self._params()
        )


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
    ood_quantile=0.99,
    memory=None,
):
    """The speech classifier: features -> StandardScaler -> RBF SVM (abstaining with a reason).

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
    ood_quantile : float or None, default=0.99
        Out-of-distribution check of the SVM (see :class:`~emoset.abstain.AbstainingClassifier`):
        a clip farther from every training clip than this quantile of the training
        nearest-neighbour distances (times the margin) is abstained on. ``None``: no check.
    memory : str or joblib.Memory or None
        ``Pipeline(memory=...)``. joblib's cache stores pickles: give it a folder only you
        write to.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps ``[("features", ...),] ("scale", StandardScaler()), ("svm",
        AbstainingClassifier(SVC(...)))``. Grid-search keys are
        ``svm__estimator__C`` and ``svm__estimator__gamma``. The scaler
        ignores NaN when fitting and passes NaN rows through; the SVM drops
        them in ``fit`` (warning) and returns NaN scores for them and for clips
        far from the training data.

    Notes
    -----
    Speaker-independent results on RAVDESS speech (8 classes, 20 actors, 1200 clips, nested
    5-fold CV with ``C`` and ``gamma`` tuned inside each training fold;
    ``python -m pipelines.audio_results``, README section "Speech"): 48.8 % (eGeMAPS) and
    56.5 % (ComParE) accuracy, chance 12.5 %; 66.8 % with ComParE and
    :func:`emoset.normalize.standardize_per_speaker` (transductive: it needs several clips of
    each test speaker). Measured beside it: ANOVA-F feature selection (ComParE +1.2 points,
    eGeMAPS -1.0), a linear SVM (-2.0 on ComParE) and a score fusion of the eGeMAPS and ComParE
    SVMs (58.1 %, +1.6; +2.4 on CREMA-D) -- gains within the standard error over the folds
    (about 2 points), so this pipeline is unchanged; the fusion is two subsystems (give the
    recognizer both pipelines), not one pipeline. ``C=1`` and ``gamma="scale"`` are untuned
    defaults: search them (see Examples) when there are enough training speakers.

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
        ood_quantile=ood_quantile,
    )
    steps = [("scale", StandardScaler()), ("svm", svm)]
    if features is None or (isinstance(features, str) and features == "precomputed"):
        pass
    elif isinstance(features, str):
        check_choice("features", features, [*_FEATURES, "precomputed"])
        kw = dict(n_jobs=n_jobs, cache_dir=cache_dir, verbose=verbose, on_error=on_error)
        steps.insert(0, ("features", _FEATURES[features](kw)))
    elif hasattr(features, "transform"):
        steps.insert(0, ("features", features))
    else:
        raise TypeError(f"features must be a name or a transformer; got {type(features).__name__}.")
    return Pipeline(steps, memory=memory)
