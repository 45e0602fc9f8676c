"""Speech: pure functions on a decoded signal, openSMILE and librosa functionals, normalisation."""

from .extract import SILENCE_PEAK, warn_audio_problems
from .features import AUDIO_FEATURE_SETS, LibrosaFeatures, OpenSmileFeatures, make_audio_features
from .normalize import standardize_per_speaker
from .speech import (
    BANDWIDTH_DROP_DB,
    OPENSMILE_FEATURE_SETS,
    STANDARD_RATES,
    band_rate,
    covering_rate,
    estimate_bandwidth,
    librosa_feature_names,
    librosa_functionals,
    librosa_window_functionals,
    opensmile_feature_names,
    opensmile_functionals,
    speech_activity,
)

__all__ = [
    "AUDIO_FEATURE_SETS",
    "BANDWIDTH_DROP_DB",
    "LibrosaFeatures",
    "OPENSMILE_FEATURE_SETS",
    "OpenSmileFeatures",
    "SILENCE_PEAK",
    "STANDARD_RATES",
    "band_rate",
    "covering_rate",
    "estimate_bandwidth",
    "librosa_feature_names",
    "librosa_functionals",
    "librosa_window_functionals",
    "make_audio_features",
    "opensmile_feature_names",
    "opensmile_functionals",
    "speech_activity",
    "standardize_per_speaker",
    "warn_audio_problems",
]
