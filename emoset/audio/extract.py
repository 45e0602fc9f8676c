"""Clips to speech feature vectors: the machinery under the audio transformers.

:class:`~emoset.audio.features.OpenSmileFeatures` and :class:`~emoset.audio.features.LibrosaFeatures` differ only
in the functionals they compute (:mod:`emoset.audio.speech`); everything else is here, in their
common base class: resolving clips (audio paths, video paths or
:class:`~emoset.datasets.corpora.Clip` records) to the file to decode, decoding with
:func:`emoset.io.media.load_audio`, measuring the training bandwidth in ``fit`` and
band-limiting every clip to it, resampling to the analysis rate, running clips in parallel
with joblib, caching each clip's vector on disk keyed by the file's content hash, and the
per-clip table of what happened (``extract``), summed up in one warning per call
(:func:`warn_audio_problems`).

Real-audio behaviour (documented decisions)
-------------------------------------------
* **Bandwidth.** A model trained on telephone-band speech (the CREMA-D face-crop
  audio is 8 kHz: nothing above 4 kHz) sees empty upper bands in every training
  clip; wideband speech at prediction would put energy where the model never saw
  any and land far from every training clip (an RBF SVM then answers with its
  intercept, the same for every clip). So ``fit`` measures the bandwidth of the
  training clips (:func:`~emoset.audio.bandwidth.estimate_bandwidth`, low decile: ``bandwidth_``), and
  every clip, in training and prediction, is low-passed to that band (resampled
  to the smallest standard rate covering it, ``band_rate_``) before it is
  resampled to ``sampling_rate``. A clip whose own bandwidth is clearly lower
  than the training bandwidth (a lower standard rate, or below :data:`NARROW_FRACTION` of
  it) is flagged (``narrowband``) with a warning.
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
  :class:`emoset.io.errors.MediaError` naming the file propagates (results
  already finished stay cached); with ``on_error="warn"`` (the default) the
  clip abstains (NaN row, status ``"error"``, the error as its reason). One
  ``UserWarning`` per call sums up every problem; the batch always completes.
"""

from __future__ import annotations

import functools
import logging
import numbers
import os
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._version import __version__
from ..io.errors import MediaError
from ..io.media import load_audio, resample
from ..utils import cache as _cache
from ..utils.early import early_clip_waiting, take_early_clip
from ..utils.messages import shown, summarise, warn_caller
from ..utils.validation import check_choice
from .augment import AUGMENTATIONS
from .bandwidth import band_rate, covering_rate, estimate_bandwidth
from .clip_audio import SILENCE_PEAK, early_part, extract_clip, native_rate, signal_record
from .moments import descriptor_window_moments
from .normalize import (
    NORMALIZATIONS,
    RunningStandardizer,
    normalization_groups,
    standardize_groups,
)
from .speech import (
    librosa_window_functionals,
    require_librosa,
)

__all__ = ["NARROW_FRACTION", "warn_audio_problems"]

logger = logging.getLogger(__name__)


#: A clip whose measured bandwidth is below this share of the training bandwidth is flagged
#: ``narrowband`` even within one standard rate (a 1 kHz file, 0.5 kHz of speech, against a
#: 3.8 kHz telephone-band model). The clips of one corpus here lie within 3 % of their corpus's
#: low decile (CREMA-D 3.78-3.83 kHz, RAVDESS 7.7-8.0 kHz).
NARROW_FRACTION = 0.75

_ON_ERROR = ("warn", "raise")


# --------------------------------------------------------------------------- inputs


def _source_of(item) -> tuple[str, Path]:
    """(clip id, file to read audio from) for a path or a Clip-like record."""
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        return shown(path), path
    audio = getattr(item, "audio", None)
    video = getattr(item, "video", None)
    if audio is None and video is None:
        raise TypeError(
            "Each clip must be a path (str or os.PathLike) or a Clip with .audio or .video; "
            f"got {type(item).__name__}: {item!r}."
        )
    path = Path(audio if audio is not None else video)
    return shown(getattr(item, "id", path)), path


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


def _probe_clip(path):
    """Native rate, measured bandwidth and duration of one file (what ``fit`` learns from)."""
    y = load_audio(path, sr=None)
    rate = native_rate(path) or 16000
    return {
        "native_sr": int(rate),
        "bandwidth": estimate_bandwidth(y, rate),
        "duration": y.size / float(rate),
    }


# --------------------------------------------------------------------------- per-clip worker


def _made_ahead(extract, arguments, path):
    """``extract(path)``, or the record ``emoset predict``'s early child made of exactly it
    (:mod:`emoset.utils.early`, :func:`~emoset.audio.clip_audio.early_part`)."""
    record = None
    if early_clip_waiting(path):
        record = take_early_clip(path, early_part(path, **arguments))
    return extract(path) if record is None else record


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

    def _check_dependencies(self):
        """Raise if an optional package this step needs is missing (librosa for pitch-shifted
        copies): :meth:`fit` and :meth:`extract` check it with the parameters, the per-signal
        routes too (a fitted or loaded step on another machine)."""
        if self.augmentation == "pitch":
            require_librosa("augmentation='pitch'")

    def _validate_common(self):
        from sklearn.utils import check_scalar

        check_choice("on_error", self.on_error, _ON_ERROR)
        check_scalar(self.sampling_rate, "sampling_rate", numbers.Integral, min_val=8000)
        check_scalar(self.min_duration, "min_duration", numbers.Real, min_val=0)
        if self.normalize is not None:
            check_choice("normalize", self.normalize, NORMALIZATIONS)
        check_scalar(self.min_group_clips, "min_group_clips", numbers.Integral, min_val=2)
        if self.augmentation is not None:
            check_choice("augmentation", self.augmentation, AUGMENTATIONS)
        check_scalar(self.augmentation_seed, "augmentation_seed", numbers.Integral, min_val=0)
        self._check_dependencies()
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
        self.norm_reference_ = None
        if self.normalize is not None:
            if X is None:
                raise ValueError(
                    f"normalize={self.normalize!r} needs the training clips in fit (their "
                    "statistics standardise clips whose speaker or session is too small)."
                )
            raw, _ = self._extract(_check_clips(X), augmentation=None)
            finite = raw[np.all(np.isfinite(raw), axis=1)]
            if not len(finite):
                raise ValueError("normalize needs training clips with features; none has any.")
            scale = finite.std(axis=0)
            scale[scale < 1e-12] = 1.0
            self.norm_reference_ = np.vstack([finite.mean(axis=0), scale])
        return self

    def _training_bandwidth(self, clips):
        """The band every training corpus has: the lowest of the corpora's low deciles.

        Each corpus's (``Clip.corpus``; paths count as one) bandwidth is the low decile of its
        clips' measured bandwidths, so a small telephone-band corpus beside a large wideband
        one still limits everything to its band. Capped at the analysis Nyquist frequency.
        """
        corpora = [str(getattr(c, "corpus", "")) for c in clips]
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
        found = {}
        for corpus, r in zip(corpora, records, strict=True):
            if not isinstance(r, _cache.Failure) and r["bandwidth"] is not None:
                found.setdefault(corpus, []).append(r["bandwidth"])
        if not found:
            return None
        low = min(float(np.quantile(v, 0.1)) for v in found.values())
        return float(min(low, int(self.sampling_rate) / 2))

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

    def _cache_key(self, params, augmentation=None):
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
        if augmentation is not None:  # the key of an original clip is unchanged
            record["augmentation"] = list(augmentation)

        def key(path):
            return _cache.make_key(record, _cache.file_sha256(path))

        return key

    def extract(self, X):
        """Feature vectors and the per-clip table of what happened.

        Parameters
        ----------
        X : list of clips
            Audio file paths, video file paths (their first audio track) or
            :class:`~emoset.datasets.corpora.Clip` records (``.audio``, else the audio track of
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
        emoset.io.errors.MediaError
            With ``on_error="raise"``, for the first unreadable clip.

        Notes
        -----
        With ``augmentation`` set, each clip's audio is first replaced by its augmented copy
        (:func:`~emoset.audio.augment.augment_signal`, seeded by ``augmentation_seed`` and
        the file's SHA-256). With ``normalize`` set, the features are standardised per group
        of the clips given together (:func:`~emoset.audio.normalize.normalization_groups`):
        ``info`` then also has ``group`` (the speaker or session key) and ``reason`` says
        where a group was too small and the training statistics were used.
        """
        check_is_fitted(self)
        self._validate_common()  # optional packages too: once here, not once per clip
        clips = _check_clips(X)
        augmentation = None
        if self.augmentation is not None:
            augmentation = (self.augmentation, int(self.augmentation_seed))
        out, info = self._extract(clips, augmentation=augmentation)
        if self.normalize is None:
            return out, info
        groups = normalization_groups(clips, self.normalize, min_clips=int(self.min_group_clips))
        out, small = standardize_groups(
            out, groups, min_clips=int(self.min_group_clips), reference=tuple(self.norm_reference_)
        )
        info["group"] = groups
        size = info.groupby("group")["group"].transform("size").to_numpy()
        for i in np.flatnonzero(small):
            note = (
                f"standardised with the training statistics (its {self.normalize} group has "
                f"{size[i]} clip(s); {self.min_group_clips} are needed)"
            )
            info.iloc[i, info.columns.get_loc("reason")] = "; ".join(
                r for r in (info["reason"].iloc[i], note) if r
            )
        return out, info

    def _clip_arguments(self):
        """The arguments of :func:`~emoset.audio.clip_audio.extract_clip` for each clip
        (but ``augmentation``)."""
        return {
            "kind": self._kind,
            "params": self._params(),
            "sampling_rate": int(self.sampling_rate),
            "band_rate": self.band_rate_,
            "min_duration": float(self.min_duration),
            "allow_partial": bool(self.allow_partial),
        }

    def _extract(self, clips, *, augmentation):
        """Raw feature vectors of the clips (cached) and their table; see :meth:`extract`."""
        import pandas as pd

        sources = [_source_of(c) for c in clips]
        paths = [s[1] for s in sources]
        arguments = self._clip_arguments()
        params = arguments["params"]
        func = functools.partial(extract_clip, **arguments, augmentation=augmentation)
        if augmentation is None:
            func = functools.partial(_made_ahead, func, arguments)
        cache = None
        if self._cache_root() is not None:
            cache = _cache.DiskCache(self._cache_root() / f"audio-{self._kind}")
        if self.n_jobs not in (None, 1):
            self._warm_up()
        records, from_cache = _cache.parallel_map(
            func,
            paths,
            key=self._cache_key(params, augmentation) if cache is not None else None,
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
        (:mod:`emoset.recognizer.timeline`): the piece is band-limited to the training band, resampled
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

        Notes
        -----
        With ``normalize`` set, one signal has no speaker or session to be standardised with:
        it is standardised with the training statistics (for a stream, see
        :meth:`extract_windows`).
        """
        check_is_fitted(self)
        self._check_dependencies()
        values, status, reason = self._signal_values(signal, sampling_rate)
        return self._standardized(values[None, :], None)[0], status, reason

    def _standardized(self, values, standardizer):
        """Rows standardised as ``normalize`` asks: a stream's running statistics, else the
        training statistics (unchanged without ``normalize``)."""
        if self.normalize is None:
            return values
        if standardizer is not None:
            return standardizer.update(values)
        return (values - self.norm_reference_[0]) / self.norm_reference_[1]

    def running_standardizer(self):
        """A :class:`~emoset.audio.normalize.RunningStandardizer` for one stream's windows.

        Give it to :meth:`extract_windows` for every group of windows of one source, in order.

        Returns
        -------
        standardizer : RunningStandardizer or None
            ``None`` without ``normalize``.
        """
        check_is_fitted(self)
        if self.normalize is None:
            return None
        return RunningStandardizer(tuple(self.norm_reference_), min_count=int(self.min_group_clips))

    def _signal_values(self, signal, sampling_rate):
        y = np.asarray(signal, dtype=np.float32).reshape(-1)
        arguments = self._clip_arguments()
        del arguments["allow_partial"]  # (a file's decoding)
        # bandwidth: a file's record keeps it; a piece's answer does not need it
        rec = signal_record(y, int(sampling_rate), **arguments, bandwidth=False)
        values = np.full(self.n_features_out_, np.nan)
        if rec["values"] is not None:
            values[:] = rec["values"]
        reason = _REASONS.get(rec["status"], "")
        if rec["status"] == "short":
            reason = f"shorter than min_duration={self.min_duration} s ({rec['duration']:.2f} s)"
        return values, rec["status"], reason

    def extract_windows(
        self, signal, sampling_rate, bounds, *, standardizer=None, standardize=True
    ):
        """Feature vectors of windows of one decoded signal (a timeline's overlapping windows).

        Each window is analysed as :meth:`extract_signal` analyses a piece, except that the
        signal is band-limited and resampled once and, for librosa descriptors and openSMILE's
        frame descriptors (the moments of :class:`~emoset.audio.features.OpenSmileDescriptorMoments`),
        the frame-level descriptors are computed once and summarised per window
        (:func:`emoset.audio.speech.librosa_window_functionals`,
        :func:`emoset.audio.moments.descriptor_window_moments`: only the frames at a window's
        edges differ from analysing it alone); openSMILE's functionals analyse each piece.

        Parameters
        ----------
        signal : array-like of shape (n_samples,)
            Mono audio in [-1, 1].
        sampling_rate : int
        bounds : sequence of (start, end)
            Seconds from the start of ``signal``.
        standardizer : RunningStandardizer or None
            With ``normalize`` set: the stream's running statistics
            (:meth:`running_standardizer`), updated with these windows in order; ``None``:
            the training statistics.
        standardize : bool, default=True
            ``False``: the windows' features before any standardisation, for a caller that
            standardises them itself in stream order (a timeline whose windows are analysed
            in parallel: ``running_standardizer().update(rows)``).

        Returns
        -------
        values : ndarray of shape (n_windows, ``n_features_out_``)
            NaN rows where a window abstains.
        status, reason : list of str
            As :meth:`extract_signal` returns them, one per window.
        """
        check_is_fitted(self)
        self._check_dependencies()
        values, status, reason = self._window_values(signal, sampling_rate, bounds)
        if standardize:
            values = self._standardized(values, standardizer)
        return values, status, reason

    def _window_values(self, signal, sampling_rate, bounds):
        y = np.asarray(signal, dtype=np.float32).reshape(-1)
        native = int(sampling_rate)
        if self._kind == "opensmile":
            out = [self._signal_values(y[_span(a, b, native)], native) for a, b in bounds]
            values = np.array([o[0] for o in out]).reshape(len(bounds), self.n_features_out_)
            return values, [o[1] for o in out], [o[2] for o in out]
        # librosa's descriptors, openSMILE's frame descriptors: computed once for the signal

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
            windows = [(spans[i].start, spans[i].stop) for i in loud]
            if self._kind == "librosa":
                values[loud] = librosa_window_functionals(y, sr, windows, **self._params())
            else:
                values[loud] = descriptor_window_moments(y, sr, windows, **self._params())
        status, reason = [], []
        for i, sl in enumerate(spans):
            duration = y[sl].size / sr  # the samples there are, not the window's nominal span
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
            "path": shown(path),
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
        band = rec["bandwidth"]
        if (
            limit is not None
            and band is not None
            and (covering_rate(band) < covering_rate(limit) or band < NARROW_FRACTION * limit)
        ):
            row["narrowband"] = True
            note = (
                f"bandwidth {rec['bandwidth'] / 1000:.1f} kHz is below the training "
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
