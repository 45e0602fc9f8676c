"""Speech functions on a decoded signal: openSMILE and librosa functionals, speech activity.

The pure-function layer under :mod:`emoset.audio.features` (as :mod:`emoset.sets.geometry` is under the
image-set models): each function maps a mono float signal and its sample rate to numbers,
with no files, caching or estimators involved.

* :func:`opensmile_functionals` -- the eGeMAPS, ComParE 2016 or emobase functionals [1]_ [2]_ [3]_;
* :func:`opensmile_descriptors` -- openSMILE's frame-level low-level descriptors (10 ms hops);
* :func:`librosa_functionals` -- licence-free MFCC, spectral and pitch statistics;

openSMILE is free for research and education only; librosa is ISC-licensed.

References
----------
.. [1] F. Eyben, M. Woellmer and B. Schuller, "openSMILE -- the Munich versatile and fast
   open-source audio feature extractor", Proc. ACM Multimedia, 2010, pp. 1459-1462.
.. [2] F. Eyben et al., "The Geneva Minimalistic Acoustic Parameter Set (GeMAPS) for voice
   research and affective computing", IEEE Trans. Affective Computing 7(2), 2016, pp. 190-202.
.. [3] B. Schuller et al., "The INTERSPEECH 2016 Computational Paralinguistics Challenge:
   Deception, Sincerity & Native Language", Proc. Interspeech, 2016, pp. 2001-2005.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing.util
import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np

from . import _descriptors

__all__ = [
    "OPENSMILE_DESCRIPTOR_SETS",
    "OPENSMILE_FEATURE_SETS",
    "librosa_feature_names",
    "librosa_functionals",
    "librosa_window_functionals",
    "opensmile_descriptor_names",
    "opensmile_descriptors",
    "opensmile_feature_names",
    "opensmile_functionals",
    "speech_activity",
]

#: openSMILE feature sets offered by :class:`OpenSmileFeatures` (functionals level),
#: with their number of functionals.
OPENSMILE_FEATURE_SETS = {"eGeMAPSv02": 88, "ComParE_2016": 6373, "emobase": 988}


#: openSMILE feature sets whose low-level descriptors :func:`opensmile_descriptors` returns,
#: with their number of descriptors per frame.
OPENSMILE_DESCRIPTOR_SETS = {"eGeMAPSv02": 25}

#: openSMILE's sink levels: the functionals of a whole signal, or a row per frame.
_LEVELS = {"func": "Functionals", "lld": "LowLevelDescriptors"}


@functools.lru_cache(maxsize=8)
def _smile(feature_set: str, level: str = "func"):
    import opensmile

    return opensmile.Smile(
        feature_set=getattr(opensmile.FeatureSet, feature_set),
        feature_level=getattr(opensmile.FeatureLevel, _LEVELS[level]),
    )


def opensmile_feature_names(feature_set="eGeMAPSv02"):
    """The names of the functionals :func:`opensmile_functionals` returns, in order."""
    if feature_set not in OPENSMILE_FEATURE_SETS:
        raise ValueError(
            f"feature_set must be one of {sorted(OPENSMILE_FEATURE_SETS)}; got {feature_set!r}."
        )
    return list(_smile(feature_set).feature_names)


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
    values = _opensmile_values(signal, sampling_rate, feature_set=feature_set)
    return values, opensmile_feature_names(feature_set)


def opensmile_descriptor_names(feature_set="eGeMAPSv02"):
    """The names of the descriptors :func:`opensmile_descriptors` returns, in order."""
    _check_descriptor_set(feature_set)
    return list(_smile(feature_set, "lld").feature_names)


def _check_descriptor_set(feature_set):
    if feature_set not in OPENSMILE_DESCRIPTOR_SETS:
        raise ValueError(
            f"feature_set must be one of {sorted(OPENSMILE_DESCRIPTOR_SETS)} for frame-level "
            f"descriptors; got {feature_set!r}."
        )


def opensmile_descriptors(signal, sampling_rate=16000, *, feature_set="eGeMAPSv02"):
    """openSMILE's low-level descriptors of one mono signal, a row per 10 ms frame.

    The values ``opensmile.Smile(feature_set, FeatureLevel.LowLevelDescriptors)`` gives (the
    same configuration, fed the same 16-bit samples).

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
        Mono audio in [-1, 1].
    sampling_rate : int, default=16000
    feature_set : {"eGeMAPSv02"}, default="eGeMAPSv02"

    Returns
    -------
    frames : ndarray of float32, shape (n_frames, 25)
        No rows when the signal is too short for one frame (where ``Smile`` gives one row of
        NaN).
    """
    _check_descriptor_set(feature_set)
    x = np.ascontiguousarray(np.asarray(signal, dtype=np.float32).reshape(-1))
    n = OPENSMILE_DESCRIPTOR_SETS[feature_set]
    engine = _engine(feature_set, int(sampling_rate), "lld")
    if engine is not None:
        return engine.rows(x).reshape(-1, n)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Segment too short")
        frame = _smile(feature_set, "lld").process_signal(x, int(sampling_rate))
    rows = frame.to_numpy(dtype=np.float32).reshape(-1, n)
    return rows[:0] if len(rows) == 1 and np.isnan(rows).all() else rows  # its "no frame" row


def _opensmile_values(signal, sampling_rate=16000, *, feature_set="eGeMAPSv02"):
    """The values of :func:`opensmile_functionals` without their names.

    What feature extraction calls: naming the functionals needs an ``opensmile.Smile``,
    whose construction (audobject describing it, which scans every installed distribution,
    and a configuration pass for the names) costs a one-clip ``emoset predict`` about 0.25 s.
    """
    if feature_set not in OPENSMILE_FEATURE_SETS:
        raise ValueError(
            f"feature_set must be one of {sorted(OPENSMILE_FEATURE_SETS)}; got {feature_set!r}."
        )
    x = np.ascontiguousarray(np.asarray(signal, dtype=np.float32).reshape(-1))
    engine = _engine(feature_set, int(sampling_rate))
    if engine is not None:
        return engine.functionals(x)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Segment too short")
        frame = _smile(feature_set).process_signal(x, int(sampling_rate))
    return frame.to_numpy(dtype=np.float32).reshape(-1)


#: Each feature set's configuration file under opensmile's ``core/config`` folder (the
#: values of ``opensmile.FeatureSet``; ``tests/audio/test_audio.py`` checks them).
_SMILE_CONFIGS = {
    "eGeMAPSv02": "egemaps/v02/eGeMAPSv02.conf",
    "ComParE_2016": "compare/ComParE_2016.conf",
    "emobase": "emobase/emobase.conf",
}


#: How ``opensmile.Smile`` initialises openSMILE by default (its ``loglevel``, ``logfile``
#: and ``verbose``).
_SMILE_LOG = {"loglevel": 2, "log_file": None, "debug": False}

_api_lock = threading.Lock()


def _smile_api():
    """opensmile's ctypes binding (``opensmile/core/lib.py``) and its package folder.

    Importing ``opensmile`` itself brings audinterface, audformat and pyarrow's parquet reader
    (about 0.5 s of a one-clip ``emoset predict``), which extraction does not use: the binding
    is loaded from its file on its own when the package is not imported yet (once, whichever
    thread asks first). ``ImportError`` when it is not where opensmile 2.x keeps it,
    ``OSError`` when its library does not load.
    """
    with _api_lock:
        return _load_smile_api()


@functools.lru_cache(maxsize=1)
def _load_smile_api():
    import importlib.util
    import sys

    spec = importlib.util.find_spec("opensmile")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("openSMILE is not installed; install it with `pip install opensmile`.")
    root = Path(next(iter(spec.submodule_search_locations))).resolve()
    lib = sys.modules.get("opensmile.core.lib")
    if lib is None:
        path = root / "core" / "lib.py"
        lib_spec = importlib.util.spec_from_file_location("emoset.audio._opensmile_lib", path)
        if lib_spec is None or not path.is_file():
            raise ImportError(f"opensmile's binding is not at {path}")
        lib = importlib.util.module_from_spec(lib_spec)
        lib_spec.loader.exec_module(lib)
    return lib, root


def _smile_options(feature_set, sampling_rate, level="func"):
    """The configuration file and options ``opensmile.Smile(feature_set, level)`` runs
    openSMILE with for a signal fed from Python (16-bit samples), and opensmile's binding
    (``level``: ``"func"``, the functionals, or ``"lld"``, the low-level descriptors).

    Raises ``ImportError``/``OSError`` when opensmile's files are not where this expects them.
    """
    lib, root = _smile_api()
    config = root / "core" / "config"
    shared = config / "shared"
    files = {
        "sink": shared / "standard_external_data_output_single.conf.inc",
        "bufferModeRbConf": shared / "BufferModeRb.conf.inc",
        "frameModeFunctionalsConf": shared / "FrameModeFunctionals.conf.inc",
        "source": shared / "standard_external_wave_input.conf.inc",
    }
    config_file = config / _SMILE_CONFIGS[feature_set]
    for path in (config_file, *files.values()):
        if not path.is_file():
            raise FileNotFoundError(f"openSMILE configuration file {path} is missing")
    options = {k: str(v) for k, v in files.items()}
    options.update(sinkLevel=level, sampleRate=int(sampling_rate), nBits=16)
    return lib, str(config_file), options


#: openSMILE's HTK sink, reading the level the feature set's configuration gives ``sinkLevel``:
#: openSMILE's external sink looks up the name of every output value each time an instance is
#: reset (8 of the 14 ms a ComParE reset takes); the HTK sink writes the same float32 values
#: to a file and names nothing.
_HTK_SINK = """[componentInstances:cComponentManager]
instance[extsink].type=cHtkSink

[extsink:cHtkSink]
reader.dmLevel = \\cm[sinkLevel{func}:sink level]
filename = \\cm[htkFile{rows.htk}:HTK output file]
append = 0
"""


def _read_htk(path):
    """The rows of an HTK feature file openSMILE wrote (big-endian header and values)."""
    raw = Path(path).read_bytes()
    n, size = int.from_bytes(raw[:4], "big"), int.from_bytes(raw[8:10], "big")
    if len(raw) < 12 or len(raw) != 12 + n * size or size % 4:
        raise OSError(f"{path}: {len(raw)} bytes, not an HTK file of {n} rows of {size} bytes")
    if not n:
        return np.zeros((0, 0), dtype=np.float32)
    values = np.frombuffer(raw, ">f4", count=n * size // 4, offset=12)
    return values.astype(np.float32).reshape(n, size // 4)


class _SmileEngine:
    """One openSMILE instance that analyses signal after signal, configured once.

    ``opensmile.Smile.process_signal`` builds, configures and frees an openSMILE instance for
    every signal, and wraps the result in pandas: for a timeline's hundreds of 2 s windows that
    set-up costs as much as the analysis. openSMILE's own API resets an instance after a run
    so it can run again without configuring it anew; this engine does that, feeding each
    signal exactly as ``Smile`` does (16-bit samples, the same configuration and options), so
    its values are the same numbers (``tests/audio/test_audio.py`` compares them on the shared
    clips). openSMILE instances keep state while they run: one engine per thread.

    The rows come through openSMILE's HTK sink, to a file in a folder of the engine's own: a
    run's file is renamed before the reset that closes it (and opens a new one for the next
    run), then read. Where that cannot be set up (no writable temporary folder), they come
    through the external sink's callback, as ``Smile`` takes them.
    """

    _SOURCE, _SINK = "extsource", "extsink"  # the components opensmile's configurations name

    def __init__(self, feature_set, sampling_rate, level="func"):
        lib, config_file, options = _smile_options(feature_set, sampling_rate, level)
        self._n_features = OPENSMILE_FEATURE_SETS[feature_set] if level == "func" else None
        self._smile = self._folder = None
        self._pid = os.getpid()
        folder = None
        if os.name == "posix":  # (a file still open cannot be renamed on Windows)
            try:
                folder = tempfile.mkdtemp(prefix="emoset-opensmile-")
            except OSError:
                pass
        if folder is not None:
            # the folder goes with the engine, in the process that made it: when the engine
            # goes, or when the process ends (a process multiprocessing forked too)
            multiprocessing.util.Finalize(
                self, _remove_folder, args=(folder, self._pid), exitpriority=0
            )
            sink = Path(folder, "sink.conf.inc")
            htk = dict(options, sink=str(sink), htkFile=str(Path(folder, "rows.htk")))
            try:
                sink.write_text(_HTK_SINK)
                self._smile = self._make(lib, config_file, htk)
                self._folder = folder
            except Exception:  # a full disk, a path openSMILE's options cannot carry: the callback
                pass
        if self._smile is None:
            # made here, so an opensmile these settings do not fit falls back to Smile (see
            # _engine) instead of failing on every signal
            self._smile = self._make(lib, config_file, options)
        # (no reference back to the engine: it goes as soon as its thread does)
        self._remake = functools.partial(
            self._make, lib, config_file, htk if self._folder else options
        )

    @staticmethod
    def _make(lib, config_file, options):
        smile = lib.OpenSMILE()
        smile.initialize(config_file=config_file, options=options, **_SMILE_LOG)
        return smile

    def functionals(self, x):
        """The functionals of one float32 signal in [-1, 1] (NaN when it is too short)."""
        values = self.rows(x).reshape(-1)
        if not values.size:
            return np.full(self._n_features, np.nan, dtype=np.float32)
        return values

    def rows(self, x):
        """What the sink receives for one float32 signal in [-1, 1]: one row per output (the
        functionals: one row; the descriptors: one per frame), ``(0, 0)`` when none."""
        samples = (x.copy() * np.float32(32768)).astype(np.int16)  # as Smile feeds it
        rows = []
        smile, self._smile = self._smile, None
        if smile is None:  # the last run failed
            smile = self._remake()
        try:
            if self._folder is None:
                smile.external_sink_set_callback_ex(
                    self._SINK, lambda data, meta: rows.append(data.copy())
                )
            smile.external_audio_source_write_data(self._SOURCE, samples.tobytes())
            smile.external_audio_source_set_eoi(self._SOURCE)
            smile.run()
            if self._folder is not None:
                done = Path(self._folder, "done.htk")
                os.replace(Path(self._folder, "rows.htk"), done)
                smile.reset()  # closes the run's file, opens the next run's
                self._smile = smile
                values = _read_htk(done)
                done.unlink()
                return values
            smile.reset()
        except Exception as exc:  # the binding's own exception class cannot cross processes
            self._smile = None
            smile.free()  # before another instance opens the file
            raise RuntimeError(f"openSMILE failed: {exc}") from None
        self._smile = smile
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack(rows).astype(np.float32)

    def __del__(self):
        # a forked child (a face process, a segment worker, predict's early child) that drops
        # the engines its parent made must not close their files: the descriptors are shared
        smile = getattr(self, "_smile", None)
        if smile is not None and getattr(self, "_pid", None) == os.getpid():
            smile.free()


def _remove_folder(folder, pid):
    if os.getpid() == pid:
        shutil.rmtree(folder, ignore_errors=True)


_engines = threading.local()


def _engine(feature_set, sampling_rate, level="func"):
    """This thread's :class:`_SmileEngine` for a feature set, rate and level (None: use
    ``Smile``). A forked process makes its own: the engines its thread inherited share their
    parent's files (an open file's offset, the folder a run's file is renamed in)."""
    engines = getattr(_engines, "by_key", None)
    if engines is None or _engines.pid != os.getpid():
        engines = _engines.by_key = {}
        _engines.pid = os.getpid()
    key = (feature_set, sampling_rate, level)
    if key not in engines:
        try:
            engines[key] = _SmileEngine(feature_set, sampling_rate, level)
        except Exception as exc:  # another opensmile layout: use its public API
            logging.getLogger(__name__).debug(
                "openSMILE through opensmile.Smile (%s at %d Hz): %s",
                feature_set,
                sampling_rate,
                exc,
            )
            engines[key] = None
    return engines[key]


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
    """librosa's frame-level descriptors summarised by statistics.

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
        ``"pyin"`` (probabilistic YIN, librosa's) gives a proper voicing decision
        but is ~50x slower and JIT-compiles on first use. ``"yin"`` is fast; its
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
    GeMAPS [1]_. They are librosa's (``stft``, ``melspectrogram``, ``mfcc``,
    ``delta``, ``spectral_*``, ``zero_crossing_rate``, ``rms``, ``yin``) with
    the parameters above, computed in NumPy and SciPy by
    ``emoset.audio._descriptors`` to the same values, so that nothing is
    JIT-compiled on a machine's first use (librosa compiles its numba
    functions then: 15-40 s); only ``pitch="pyin"`` calls librosa.

    References
    ----------
    .. [1] Eyben et al., GeMAPS, IEEE Trans. Affective Computing 2016.
    """
    if pitch not in ("yin", "pyin"):
        raise ValueError(f"pitch must be 'yin' or 'pyin'; got {pitch!r}.")
    log_mel, frames, f0, energy = _librosa_descriptors(
        signal, sampling_rate, n_fft, hop_length, fmin, fmax, pitch
    )
    frames = np.vstack([_mfcc_rows(log_mel, n_mfcc), frames])
    values = _librosa_summary(frames, f0, energy, fmin, fmax, percentiles)
    return values, librosa_feature_names(n_mfcc, percentiles)


def librosa_window_functionals(
    signal,
    sampling_rate,
    bounds,
    *,
    n_mfcc=20,
    n_fft=512,
    hop_length=160,
    fmin=65.0,
    fmax=600.0,
    pitch="yin",
    percentiles=(10, 50, 90),
):
    """:func:`librosa_functionals` of many windows of one signal, its descriptors computed once.

    The spectra, spectral descriptors and F0 of the whole signal are computed once; each
    window takes the frames centred inside it (``1 + n // hop_length`` frames for ``n``
    samples, as for a clip of that length) and computes its MFCCs (with the log-mel floor
    and the deltas of that window alone) and statistics. Overlapping windows (a timeline's)
    share the expensive part. Frames within half an analysis window of a window's edges see
    the neighbouring signal instead of padding, so values there differ slightly from
    analysing the window alone.

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
    sampling_rate : int
    bounds : sequence of (start, end)
        Sample indices of each window in ``signal``.
    n_mfcc, n_fft, hop_length, fmin, fmax, pitch, percentiles
        As in :func:`librosa_functionals`.

    Returns
    -------
    values : ndarray of float32, shape (n_windows, n_features)
        NaN rows for windows without a frame centred in them.
    """
    if pitch not in ("yin", "pyin"):
        raise ValueError(f"pitch must be 'yin' or 'pyin'; got {pitch!r}.")
    log_mel, frames, f0, energy = _librosa_descriptors(
        signal, sampling_rate, n_fft, hop_length, fmin, fmax, pitch
    )
    n = len(librosa_feature_names(n_mfcc, percentiles))
    out = np.zeros((len(bounds), n), dtype=np.float32)
    for i, (a, b) in enumerate(bounds):
        lo = -(-int(a) // hop_length)  # first frame centred at or after the window's start
        hi = min(frames.shape[1], lo + 1 + (int(b) - int(a)) // hop_length)
        if hi <= lo:  # no frame centred in the window (it starts in the signal's last hop)
            out[i] = np.nan
            continue
        e = None if energy is None else energy[lo:hi]
        rows = np.vstack([_mfcc_rows(log_mel[:, lo:hi], n_mfcc), frames[:, lo:hi]])
        out[i] = _librosa_summary(rows, f0[lo:hi], e, fmin, fmax, percentiles)
    return out


def require_librosa(what):
    """librosa, imported: an optional dependency that only pYIN and pitch-shifted copies use.

    Raises
    ------
    ImportError
        Naming ``what`` needed it and how to install it, when librosa is not installed.
    """
    try:
        import librosa
    except ModuleNotFoundError as exc:
        if exc.name != "librosa":  # installed, but broken: its own error says why
            raise
        raise ImportError(
            f"{what} needs librosa, an optional dependency of emoset: "
            "pip install 'emoset[librosa]'."
        ) from None
    return librosa


def _librosa_descriptors(signal, sampling_rate, n_fft, hop_length, fmin, fmax, pitch):
    """Log-mel spectrum, the other frame-level descriptors, F0, and (YIN) frame energy in dB.

    Computed by ``emoset.audio._descriptors`` (NumPy and SciPy, the same values as librosa's
    functions, nothing compiled); pYIN is librosa's own. With pYIN the energy is ``None`` and
    F0 is NaN where unvoiced.
    """
    sr = int(sampling_rate)
    y = np.asarray(signal, dtype=np.float32).reshape(-1)
    min_len = n_fft
    if y.size < min_len:  # one full analysis window
        y = np.pad(y, (0, min_len - y.size))
    S = _descriptors.power_spectrum(y, n_fft, hop_length)
    # log-mel before power_to_db's 80 dB floor, which is relative to the loudest frame of
    # whatever is analysed: each window sets its own (_mfcc_rows)
    log_mel = _descriptors.log_mel(S, sr, n_fft)
    mag = np.sqrt(S)
    frames = np.vstack(
        [
            _descriptors.spectral_shape(mag, sr, n_fft),
            _descriptors.spectral_contrast(mag, sr, n_fft, _CONTRAST_FMIN, _N_CONTRAST - 1),
            _descriptors.zero_crossing_rate(y, n_fft, hop_length),
            _descriptors.amplitude_to_db(_descriptors.rms_of_spectrum(mag, n_fft)),
        ]
    )

    frame_length = max(n_fft, int(2 ** np.ceil(np.log2(3 * sr / fmin))))
    if y.size < frame_length:
        y_pitch = np.pad(y, (0, frame_length - y.size))
    else:
        y_pitch = y
    if pitch == "pyin":
        librosa = require_librosa('pitch="pyin"')
        f0, voiced, _ = librosa.pyin(
            y_pitch, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame_length, hop_length=hop_length
        )
        voiced = np.asarray(voiced, dtype=bool) & np.isfinite(f0)
        return log_mel, frames, np.where(voiced, f0, np.nan), None
    f0 = _descriptors.yin(
        y_pitch,
        fmin=fmin,
        fmax=fmax,
        sampling_rate=sr,
        frame_length=frame_length,
        hop_length=hop_length,
    )
    energy = _descriptors.amplitude_to_db(
        _descriptors.rms_of_signal(y_pitch, frame_length, hop_length)
    )
    return log_mel, frames, f0, energy


def _mfcc_rows(log_mel, n_mfcc):
    """MFCCs and their deltas of some frames' log-mel spectrum (80 dB below its loudest)."""
    log_mel = np.maximum(log_mel, log_mel.max() - 80.0)
    mfcc = _descriptors.mfcc(log_mel, n_mfcc)
    width = min(9, mfcc.shape[1] if mfcc.shape[1] % 2 else mfcc.shape[1] - 1)
    if width >= 3:
        d1 = _descriptors.delta(mfcc, width)
        d2 = _descriptors.delta(mfcc, width, order=2)
    else:
        d1 = np.zeros_like(mfcc)
        d2 = np.zeros_like(mfcc)
    return np.vstack([mfcc, d1, d2])


def _librosa_summary(frames, f0, energy, fmin, fmax, percentiles):
    """Statistics of the descriptors of some frames, F0 of the voiced ones, voiced fraction.

    ``energy`` (YIN): a frame is voiced within 30 dB of the loudest frame with F0 inside the
    search range; ``None`` (pYIN): F0 is NaN where unvoiced.
    """
    if energy is None:
        voiced = np.isfinite(f0)
    else:
        voiced = (energy > energy.max() - 30.0) & (f0 > fmin * 1.01) & (f0 < fmax * 0.99)
    m = min(len(f0), frames.shape[1])
    f0 = f0[:m]
    voiced = voiced[:m]
    semis = np.full(m, np.nan)
    semis[voiced] = 12.0 * np.log2(f0[voiced] / 27.5)

    def stats(row):
        row = row[np.isfinite(row)]
        if row.size == 0:
            return np.zeros(2 + len(percentiles))
        return np.concatenate([[row.mean(), row.std()], np.percentile(row, percentiles)])

    out = np.zeros((frames.shape[0], 2 + len(percentiles)))
    finite = np.isfinite(frames).all(axis=1) if frames.shape[1] else np.zeros(len(out), bool)
    if finite.any():  # one call for the rows without gaps (the same numbers, row by row)
        ok = frames[finite]
        pct = np.percentile(ok, percentiles, axis=1).T
        out[finite] = np.column_stack([ok.mean(axis=1), ok.std(axis=1), pct])
    for i in np.flatnonzero(~finite):
        out[i] = stats(frames[i])
    rows = [out.reshape(-1), stats(semis)]
    return np.concatenate(rows + [[voiced.mean() if m else 0.0]]).astype(np.float32)


# --------------------------------------------------------------------------- activity


def speech_activity(signal, sampling_rate, *, frame=0.03, threshold_db=-45.0):
    """Fraction of a signal's frames loud enough to hold speech (a simple energy detector).

    The signal is cut into non-overlapping frames of ``frame`` seconds; a frame is active when
    its RMS level is above ``threshold_db`` dBFS. Enough to tell speech from pauses and room
    noise in recorded speech (peak-normalised corpora, interviews), not from loud music.

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
        Mono audio in [-1, 1].
    sampling_rate : int
    frame : float, default=0.03
        Frame length in seconds.
    threshold_db : float, default=-45.0
        Level in dBFS (RMS) above which a frame counts as active.

    Returns
    -------
    activity : float
        In [0, 1]; 0.0 for a signal shorter than one frame.
    """
    y = np.asarray(signal, dtype=np.float64).reshape(-1)
    n = max(1, int(round(frame * sampling_rate)))
    m = y.size // n
    if m == 0:
        return 0.0
    rms = np.sqrt(np.mean(y[: m * n].reshape(m, n) ** 2, axis=1))
    return float(np.mean(rms > 10 ** (threshold_db / 20)))
