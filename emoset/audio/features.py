"""Speech features of clips (openSMILE, librosa) and the speech SVM pipeline.

Two layers, as elsewhere in emoset: the pure functions on a decoded signal live in
:mod:`emoset.audio.speech` (:func:`~emoset.audio.speech.opensmile_functionals`,
:func:`~emoset.audio.speech.librosa_functionals`, :func:`~emoset.audio.bandwidth.estimate_bandwidth`); this
module holds the scikit-learn transformers :class:`OpenSmileFeatures`,
:class:`LibrosaFeatures` and :class:`OpenSmileDescriptorMoments` (the speech image sets), which
map *clips* (audio paths, video paths or
:class:`emoset.datasets.corpora.Clip` records) to a feature matrix. What they share -- decoding the
audio with :func:`emoset.io.media.load_audio` (so video files work too), band-limiting it to the
training bandwidth and resampling it to a fixed rate (16 kHz), running in parallel with joblib,
caching each clip's vector on disk keyed by the file's content hash, and turning bad clips into
NaN rows (abstentions) instead of crashing the batch -- lives in :mod:`emoset.audio.extract`,
with the decisions taken for real audio (bandwidth, short clips, silence, unreadable files).
``extract`` returns the features with a per-clip table of what happened; ``transform`` the
features alone (a transform never changes the estimator).

:func:`make_audio_pipeline` chains a transformer (or nothing, for precomputed
matrices) with a :class:`~sklearn.preprocessing.StandardScaler` and an RBF
:class:`~sklearn.svm.SVC` wrapped in :class:`~emoset.decision.abstain.AbstainingClassifier`,
which drops NaN rows in ``fit`` and returns NaN scores (with a reason) for
unusable clips and clips far from the training data, so score-level fusion
lets the other modality decide.

Licence note
------------
openSMILE (and the ``opensmile`` Python package) is free for research and
education only; commercial use needs a licence from audEERING. Use
:class:`LibrosaFeatures` (ISC licence) where that matters.

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

import numbers

import numpy as np

from ..utils.validation import check_choice
from .extract import _BaseAudioFeatures
from .moments import frame_moment_names
from .normalize import MIN_GROUP_CLIPS
from .speech import (
    OPENSMILE_DESCRIPTOR_SETS,
    OPENSMILE_FEATURE_SETS,
    librosa_feature_names,
    librosa_functionals,
    opensmile_descriptor_names,
    opensmile_feature_names,
    require_librosa,
)

__all__ = [
    "AUDIO_FEATURE_SETS",
    "LibrosaFeatures",
    "OpenSmileDescriptorMoments",
    "OpenSmileFeatures",
    "make_audio_features",
]


class OpenSmileFeatures(_BaseAudioFeatures):
    """openSMILE functionals of each clip (eGeMAPS, ComParE 2016, emobase).

    The audio is decoded with :func:`emoset.io.media.load_audio`, band-limited to the
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
        bandwidths, see :func:`estimate_bandwidth`; with clips of several corpora the
        lowest of the corpora's low deciles, the band every corpus has); a number is a
        fixed limit in Hz; ``None`` keeps every clip's own band.
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
        raise :class:`emoset.io.errors.MediaError` naming the file.
    allow_partial : bool, default=False
        Use what decodes of a truncated file (its reason then says e.g. "truncated:
        decoded 0.7 s of 2.3 s") instead of treating it as unreadable.
    as_frame : bool, default=False
        Return a :class:`pandas.DataFrame` indexed by clip id.
    normalize : {None, "speaker", "session"}, default=None
        Standardise the features of the clips given together per group
        (:func:`~emoset.audio.normalize.normalization_groups`): each speaker with at least
        ``min_group_clips`` clips with its own statistics, the other clips per recording
        session (a manifest's ``session`` column, else the folder), groups still smaller
        with the training clips' statistics (``"session"``: sessions only). No labels are
        used, but a clip's features then depend on the other clips of its group
        (transductive); ``None`` (the default) leaves every clip's features its own.
    min_group_clips : int, default=10
        Fewest clips of a speaker or session standardised with the group's own statistics.
    augmentation : {None, "noise", "reverb", "gain", "speed", "pitch", "telephone"}
        Compute the features of an augmented copy of each clip instead
        (:func:`~emoset.audio.augment.augment_signal`); cached like the originals.
    augmentation_seed : int, default=0
        With the file's SHA-256, the seed of each augmented copy: the same copy on every run.

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
    norm_reference_ : ndarray of shape (2, ``n_features_out_``) or None
        With ``normalize``: mean and standard deviation of the training clips' features,
        for clips whose group is too small.

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
    >>> from emoset.audio.features import OpenSmileFeatures
    >>> from emoset.datasets import load_cremad
    >>> clips = load_cremad(subsets=["native"])[:2]
    >>> X = OpenSmileFeatures().fit_transform([clips[0].audio, clips[1].video])  # wav, mp4
    >>> X.shape
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
        normalize=None,
        min_group_clips=MIN_GROUP_CLIPS,
        augmentation=None,
        augmentation_seed=0,
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
        self.normalize = normalize
        self.min_group_clips = min_group_clips
        self.augmentation = augmentation
        self.augmentation_seed = augmentation_seed

    def _validate(self):
        check_choice("feature_set", self.feature_set, OPENSMILE_FEATURE_SETS)

    def _params(self):
        return {"feature_set": self.feature_set}

    def _names(self):
        return opensmile_feature_names(self.feature_set)

    def _versions(self):
        # what opensmile.__version__ reads, without importing the package
        from importlib.metadata import PackageNotFoundError, version

        try:
            return {"opensmile": version("opensmile")}
        except PackageNotFoundError:  # no metadata (a vendored copy): as opensmile says then
            return {"opensmile": "unknown"}


class OpenSmileDescriptorMoments(OpenSmileFeatures):
    """The frame count, mean and covariance of each clip's openSMILE low-level descriptors.

    A clip's speech as an image set. Ding et al. (EmotiW 2016) fed the frame-level descriptors
    of a clip to an LSTM; emoset treats them as it treats a clip's faces: a set of frames
    (eGeMAPSv02, 25 descriptors per 10 ms), summarised as a Gaussian. This step gives each clip
    the moments of that Gaussian (:func:`~emoset.audio.moments.frame_moments`: 1 + 25 + 325 =
    351 values); :class:`~emoset.sets.imagesets.GaussianMomentEmbedding` standardises them with
    the training clips' statistics and embeds the Gaussian as a log-Euclidean vector, which the
    speech SVM classifies (``make_audio_pipeline("egemaps-lld")``). Decoding, band limit,
    caching, abstentions and a timeline's windows are those of :class:`OpenSmileFeatures`.

    Parameters
    ----------
    feature_set : {"eGeMAPSv02"}, default="eGeMAPSv02"
        The descriptors (:data:`~emoset.audio.speech.OPENSMILE_DESCRIPTOR_SETS`).
    bandwidth, sampling_rate, min_duration, n_jobs, cache_dir, verbose, on_error, allow_partial, as_frame, augmentation, augmentation_seed
        As in :class:`OpenSmileFeatures`.
    normalize : None
        Per-speaker standardisation is not offered for moments (z-scoring a covariance's
        entries would not leave a covariance); ``None`` only.
    min_group_clips : int, default=10
        Unused (``normalize`` is ``None``).

    Attributes
    ----------
    feature_names_, n_features_out_, bandwidth_, band_rate_, norm_reference_
        As in :class:`OpenSmileFeatures` (``n_frames``, ``mean_<descriptor>``,
        ``cov_<descriptor>__<descriptor>``).

    Notes
    -----
    A clip with fewer than two analysable frames abstains (status ``"nonfinite"``). The
    unvoiced frames count too (their pitch-based descriptors are openSMILE's 0), so the
    Gaussian also carries how much of a clip is voiced. Measured (``python -m
    pipelines.cross_corpus``, README "Speech across corpora"): a speech subsystem of its own
    beside the functionals SVM, unseen speakers, RAVDESS 55.1 % against 50.7 %, CREMA-D 48.8 %
    against 44.2 %.

    Examples
    --------
    >>> from emoset.audio.features import OpenSmileDescriptorMoments
    >>> from emoset.datasets import load_cremad
    >>> clips = load_cremad(subsets=["native"])[:2]
    >>> OpenSmileDescriptorMoments().fit_transform([c.audio for c in clips]).shape
    (2, 351)
    """

    _kind = "opensmile-moments"

    def _validate(self):
        check_choice("feature_set", self.feature_set, OPENSMILE_DESCRIPTOR_SETS)
        if self.normalize is not None:
            raise ValueError(
                f"normalize={self.normalize!r} is not offered for descriptor moments (z-scoring "
                "a covariance's entries does not leave a covariance); use normalize=None."
            )

    def _names(self):
        return frame_moment_names(opensmile_descriptor_names(self.feature_set))


class LibrosaFeatures(_BaseAudioFeatures):
    """Licence-free speech functionals: librosa's descriptors, summarised.

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
    normalize, min_group_clips, augmentation, augmentation_seed
        As in :class:`OpenSmileFeatures`.

    Attributes
    ----------
    feature_names_, n_features_out_, bandwidth_, band_rate_, norm_reference_
        As in :class:`OpenSmileFeatures`.

    Notes
    -----
    Use this extractor where openSMILE's research-only licence rules it out
    (librosa is ISC-licensed). It has 20 * 3 * 5 + 14 * 5 + 1 = 371 features
    with the defaults. With ``pitch="yin"`` the descriptors are computed by
    emoset in NumPy and SciPy as librosa defines them (the same values, and
    nothing JIT-compiled on first use); ``pitch="pyin"`` calls librosa, whose
    numba functions compile when it is first used on a machine.

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
        normalize=None,
        min_group_clips=MIN_GROUP_CLIPS,
        augmentation=None,
        augmentation_seed=0,
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
        self.normalize = normalize
        self.min_group_clips = min_group_clips
        self.augmentation = augmentation
        self.augmentation_seed = augmentation_seed

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

    def _check_dependencies(self):
        super()._check_dependencies()
        if self.pitch == "pyin":
            require_librosa('LibrosaFeatures(pitch="pyin")')

    def _versions(self):
        if self.pitch != "pyin":  # emoset's own descriptors (emoset.audio._descriptors)
            return {"descriptors": "librosa-0.11-definitions"}
        return {"librosa": require_librosa('pitch="pyin"').__version__}

    def _warm_up(self):
        """With pYIN, compile librosa's numba functions once here before the workers start.

        numba's on-disk cache is not safe for concurrent first compilation: workers that all
        compile the same functions into an empty cache can crash (seen once in ``librosa.yin``
        on a fresh machine). After one compilation here they load the finished cache.
        """
        if self.pitch != "pyin":
            return
        t = np.arange(int(self.sampling_rate) // 2) / float(self.sampling_rate)
        librosa_functionals(
            0.1 * np.sin(2 * np.pi * 150.0 * t), int(self.sampling_rate), **self._params()
        )


#: Names of the feature sets :func:`make_audio_features` builds.
AUDIO_FEATURE_SETS = ("egemaps", "compare", "emobase", "librosa", "egemaps-lld")


def make_audio_features(name, **params):
    """The feature step of a named feature set.

    Parameters
    ----------
    name : {"egemaps", "compare", "emobase", "librosa", "egemaps-lld"}
        openSMILE's eGeMAPS v02, ComParE 2016 or emobase functionals, the librosa ones, or the
        moments of the eGeMAPS v02 low-level descriptors (:class:`OpenSmileDescriptorMoments`).
    **params
        Of :class:`OpenSmileFeatures` or :class:`LibrosaFeatures` (``n_jobs``, ``cache_dir``,
        ``verbose``, ``on_error``, ...).

    Returns
    -------
    features : OpenSmileFeatures, LibrosaFeatures or OpenSmileDescriptorMoments

    Examples
    --------
    >>> make_audio_features("egemaps").feature_set
    'eGeMAPSv02'
    """
    check_choice("features", name, AUDIO_FEATURE_SETS)
    if name == "librosa":
        return LibrosaFeatures(**params)
    if name == "egemaps-lld":
        return OpenSmileDescriptorMoments(**params)
    feature_set = {"egemaps": "eGeMAPSv02", "compare": "ComParE_2016", "emobase": "emobase"}[name]
    return OpenSmileFeatures(feature_set, **params)
