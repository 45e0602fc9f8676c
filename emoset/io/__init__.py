"""Reading media: clips decoded frame by frame and as audio, long and live sources read once."""

from .errors import MediaError, TruncatedMediaError, TruncationCheck, TruncationWarning
from .media import (
    AUDIO_EXTENSIONS,
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    MediaInfo,
    check_truncation,
    iter_frames,
    load_audio,
    media_kind,
    probe,
    read_frames,
    resample,
    video_streams,
)
from .sources import is_url, iter_media, open_source

__all__ = [
    "AUDIO_EXTENSIONS",
    "MEDIA_EXTENSIONS",
    "MediaError",
    "MediaInfo",
    "TruncatedMediaError",
    "TruncationCheck",
    "TruncationWarning",
    "VIDEO_EXTENSIONS",
    "check_truncation",
    "is_url",
    "iter_frames",
    "iter_media",
    "load_audio",
    "media_kind",
    "open_source",
    "probe",
    "read_frames",
    "resample",
    "video_streams",
]
