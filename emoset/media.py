"""Decode video frames and audio tracks.

Frames are streamed with PyAV (FFmpeg) one at a time, so a long clip never sits in memory
unless the caller asks for all of it (:func:`read_frames`). Audio comes back as mono float32
at the requested sample rate, through libsndfile when the file's content is a format it reads
natively (WAV, AIFF, FLAC, Ogg) and through FFmpeg otherwise (the audio track of an mp4, avi,
mkv, ..., mp3, m4a, ...).

What a file holds is read from its content, never from its name: :func:`media_kind` says
whether a file is a video or an audio recording, whatever its extension.
:data:`AUDIO_EXTENSIONS`, :data:`VIDEO_EXTENSIONS` and :data:`MEDIA_EXTENSIONS` are the one list
of usual extensions, for finding the files of a corpus (globbing); they are only hints and never
decide how a file is decoded.

Every failure to read a file raises :class:`MediaError`, whose message names the file and says
what was wrong (missing, empty, not a media file, truncated, no audio track, ...).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

__all__ = [
    "MediaError",
    "MediaInfo",
    "probe",
    "media_kind",
    "iter_frames",
    "read_frames",
    "load_audio",
    "AUDIO_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "MEDIA_EXTENSIONS",
]

logger = logging.getLogger(__name__)

#: Extensions of files that usually hold audio only. A hint for finding the files of a corpus,
#: never used to decide how to decode: see :func:`media_kind`.
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".wma", ".aiff", ".aif"}
)
#: Extensions of containers that usually hold a video stream. A hint for finding the files of
#: a corpus, never used to decide how to decode: see :func:`media_kind`.
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".flv", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".3gp"}
)
#: Every extension of :data:`AUDIO_EXTENSIONS` and :data:`VIDEO_EXTENSIONS`.
MEDIA_EXTENSIONS = AUDIO_EXTENSIONS | VIDEO_EXTENSIONS

_COLORS = {"rgb": "rgb24", "gray": "gray"}

#: libsndfile major formats decoded by libsndfile; any other content goes to FFmpeg.
_SNDFILE_FORMATS = frozenset({"WAV", "WAVEX", "RF64", "AIFF", "FLAC", "OGG"})


class MediaError(RuntimeError):
    """A media file could not be read.

    Parameters
    ----------
    path : str or path-like
        The file that failed.
    reason : str
        What was wrong, in words a user can act on.

    Attributes
    ----------
    path : pathlib.Path
        The file that failed.
    reason : str
        What was wrong.
    """

    def __init__(self, path, reason):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep the two-argument form through pickling (joblib workers)
        return (type(self), (self.path, self.reason))


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds, read from its container header.

    Attributes
    ----------
    path : pathlib.Path
    duration : float
        Seconds (0.0 when the container does not say).
    has_video, has_audio : bool
        Whether the file holds a video or an audio stream. A cover picture attached to an audio
        file, or a still image, is not a video stream.
    fps : float or None
        Average frame rate of the first video stream.
    n_frames : int or None
        Frame count from the header (may be missing or approximate for some containers).
    width, height : int or None
    audio_sr : int or None
        Sample rate of the first audio stream.
    audio_channels : int or None
    """

    path: Path
    duration: float
    has_video: bool
    has_audio: bool
    fps: float | None = None
    n_frames: int | None = None
    width: int | None = None
    height: int | None = None
    audio_sr: int | None = None
    audio_channels: int | None = None


def _check_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise MediaError(path, "no such file")
    if not path.is_file():
        raise MediaError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise MediaError(path, "the file is empty (0 bytes)")
    return path


def _open(path: Path):
    import av

    try:
        return av.open(os.fspath(path), mode="r")
    except av.error.FFmpegError as exc:
        raise MediaError(path, f"not a readable media file or truncated ({exc})") from exc


def _is_still_image(container) -> bool:
    name = container.format.name
    return name in ("image2", "image2pipe") or name.endswith("_pipe")


def _video_streams(container) -> list:
    """The real video streams: no attached cover picture, no still image."""
    from av.stream import Disposition

    if _is_still_image(container):
        return []
    still = Disposition.attached_pic | Disposition.still_image
    return [s for s in container.streams.video if not s.disposition & still]


def probe(path) -> MediaInfo:
    """Read what a media file holds without decoding it.

    Parameters
    ----------
    path : str or path-like
        A video or audio file.

    Returns
    -------
    info : MediaInfo

    Raises
    ------
    MediaError
        If the file is missing, empty, or not a media file FFmpeg can open.
    """
    path = _check_file(path)
    with _open(path) as container:
        videos = _video_streams(container)
        video = videos[0] if videos else None
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = container.duration / 1e6 if container.duration else 0.0
        info = dict(
            path=path,
            duration=float(duration),
            has_video=video is not None,
            has_audio=audio is not None,
        )
        if video is not None:
            rate = video.average_rate or video.guessed_rate
            info.update(
                fps=float(rate) if rate else None,
                n_frames=int(video.frames) or None,
                width=int(video.codec_context.width),
                height=int(video.codec_context.height),
            )
        if audio is not None:
            info.update(
                audio_sr=int(audio.codec_context.sample_rate),
                audio_channels=int(audio.codec_context.channels),
            )
    return MediaInfo(**info)


def media_kind(path) -> str:
    """Say whether a file is a video or an audio recording, from its content.

    The extension plays no part: an mp4 renamed ``.wav`` is a video, a wav renamed ``.mp4`` is
    audio.

    Parameters
    ----------
    path : str or path-like
        Any file.

    Returns
    -------
    kind : {"video", "audio"}
        ``"video"`` when the file holds a video stream (a cover picture attached to an audio
        file does not count), ``"audio"`` when it holds audio only.

    Raises
    ------
    MediaError
        If the file is missing, empty, not a media file, a still image, or holds neither video
        nor audio (e.g. subtitles only).

    Examples
    --------
    >>> media_kind("1001_DFA_ANG_XX.mp4")  # doctest: +SKIP
    'video'
    """
    path = _check_file(path)
    with _open(path) as container:
        if _video_streams(container):
            return "video"
        if container.streams.audio:
            return "audio"
        if _is_still_image(container):
            raise MediaError(
                path, f"a still image ({container.format.name}), not an audio or video file"
            )
        found = sorted({s.type for s in container.streams}) or ["no stream at all"]
        raise MediaError(
            path, f"neither a video nor an audio stream in the file (found: {', '.join(found)})"
        )


def iter_frames(path, *, color="rgb", fps=None, max_frames=None) -> Iterator[np.ndarray]:
    """Stream the frames of a video, one decoded frame at a time.

    Parameters
    ----------
    path : str or path-like
        A video file (mp4, avi, mkv, ...; recognised by content, not by extension).
    color : {"rgb", "gray"}, default="rgb"
        ``"rgb"`` yields ``(height, width, 3)`` uint8 frames, ``"gray"`` yields ``(height, width)``.
    fps : float or None, default=None
        Target frame rate. Frames are dropped (never duplicated) so that at most one frame is
        kept per ``1 / fps`` seconds of presentation time; ``None`` keeps every frame.
    max_frames : int or None, default=None
        Stop after this many frames have been yielded.

    Yields
    ------
    frame : ndarray of uint8

    Raises
    ------
    MediaError
        If the file is missing, empty, unreadable, has no video stream, or decoding fails part way.
    ValueError
        If ``color``, ``fps`` or ``max_frames`` is invalid.

    Examples
    --------
    >>> for frame in iter_frames("clip.mp4", color="gray", fps=10):  # doctest: +SKIP
    ...     print(frame.shape)
    """
    if color not in _COLORS:
        raise ValueError(f"color must be one of {sorted(_COLORS)}; got {color!r}.")
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number or None; got {fps!r}.")
    if max_frames is not None and (int(max_frames) != max_frames or max_frames < 0):
        raise ValueError(f"max_frames must be a non-negative integer or None; got {max_frames!r}.")
    import av

    path = _check_file(path)
    fmt = _COLORS[color]
    with _open(path) as container:
        videos = _video_streams(container)
        if not videos:
            raise MediaError(path, "no video stream in the file")
        stream = videos[0]
        stream.thread_type = "AUTO"
        time_base = stream.time_base or Fraction(1, 1)
        step = None if fps is None else 1.0 / float(fps)
        next_t = None
        n_out = 0
        index = -1
        if max_frames == 0:
            return
        try:
            for index, frame in enumerate(container.decode(stream)):
                if step is not None:
                    if frame.pts is not None:
                        t = float(frame.pts * time_base)
                    else:  # no timestamps: count frames at the stream's own rate
                        t = index / float(stream.average_rate or stream.guessed_rate or fps)
                    if next_t is None:
                        next_t = t
                    if t + 1e-6 < next_t:
                        continue
                    next_t += step * max(1, int((t - next_t) // step) + 1)
                yield frame.to_ndarray(format=fmt)
                n_out += 1
                if max_frames is not None and n_out >= max_frames:
                    return
        except av.error.FFmpegError as exc:
            raise MediaError(path, f"decoding failed after frame {index + 1} ({exc})") from exc
    if n_out == 0 and index < 0:
        raise MediaError(path, "the video stream holds no decodable frame")


def read_frames(path, *, color="rgb", fps=None, max_frames=None) -> np.ndarray:
    """Decode the frames of a video into one array.

    Same parameters as :func:`iter_frames`.

    Returns
    -------
    frames : ndarray of uint8, shape (n_frames, height, width[, 3])
    """
    frames = list(iter_frames(path, color=color, fps=fps, max_frames=max_frames))
    if not frames:
        info = probe(path)
        shape = (0, info.height or 0, info.width or 0) + ((3,) if color == "rgb" else ())
        return np.zeros(shape, dtype=np.uint8)
    return np.stack(frames)


def _to_mono(y: np.ndarray) -> np.ndarray:
    return y if y.ndim == 1 else y.mean(axis=1)


def _resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out or y.size == 0:
        return y
    import soxr

    return soxr.resample(y, sr_in, sr_out, quality="HQ").astype(np.float32, copy=False)


def _sndfile_magic(path: Path) -> bool:
    """Whether the content starts like WAV, AIFF, FLAC or Ogg (the formats read by libsndfile).

    Checked before libsndfile sees the file, as libsndfile hands other formats (mp3) to
    decoders that print to the terminal.
    """
    with open(path, "rb") as f:
        head = f.read(12)
    if head[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64"):
        return head[8:12] == b"WAVE"
    if head[:4] == b"FORM":
        return head[8:12] in (b"AIFF", b"AIFC")
    return head[:4] in (b"fLaC", b"OggS")


def _open_sndfile(path: Path):
    """A libsndfile handle when the content is a format it reads natively, else None."""
    import soundfile as sf

    if not _sndfile_magic(path):
        return None
    try:
        f = sf.SoundFile(os.fspath(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None  # e.g. a compressed codec in a WAV wrapper, or video in Ogg: FFmpeg reads it
    if f.format not in _SNDFILE_FORMATS:
        f.close()
        return None
    return f


def _load_with_soundfile(path: Path, f):
    import soundfile as sf

    with f:
        try:
            y = f.read(dtype="float32", always_2d=False)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise MediaError(path, f"not a readable audio file or truncated ({exc})") from exc
        sr = int(f.samplerate)
    return _to_mono(np.asarray(y, dtype=np.float32)), sr


def _load_with_ffmpeg(path: Path):
    import av

    with _open(path) as container:
        if not container.streams.audio:
            raise MediaError(path, "no audio track in the file")
        stream = container.streams.audio[0]
        sr = int(stream.codec_context.sample_rate)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        chunks = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            raise MediaError(path, f"audio decoding failed ({exc})") from exc
    y = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return y, sr


def load_audio(path, *, sr=16000) -> np.ndarray:
    """Read the audio of an audio or video file as mono float32.

    Parameters
    ----------
    path : str or path-like
        An audio file or a video with an audio track, recognised by content, not by extension:
        WAV, AIFF, FLAC and Ogg are read by libsndfile, anything else FFmpeg reads (mp4, avi,
        mkv, flv, mp3, m4a, ...: its first audio track) by FFmpeg.
    sr : int or None, default=16000
        Output sample rate in Hz; the signal is resampled with soxr (high quality) when the
        file's rate differs. ``None`` keeps the file's own rate (see :func:`probe`).

    Returns
    -------
    y : ndarray of float32, shape (n_samples,)
        Samples in [-1, 1]; channels are averaged.

    Raises
    ------
    MediaError
        If the file is missing, empty, unreadable, truncated, has no audio track, or holds no
        samples.
    ValueError
        If ``sr`` is not a positive integer or None.
    """
    if sr is not None and (int(sr) != sr or sr <= 0):
        raise ValueError(f"sr must be a positive integer or None; got {sr!r}.")
    path = _check_file(path)
    f = _open_sndfile(path)
    if f is not None:
        y, file_sr = _load_with_soundfile(path, f)
    else:
        y, file_sr = _load_with_ffmpeg(path)
    if y.size == 0:
        raise MediaError(path, "the audio track holds no samples")
    if not np.all(np.isfinite(y)):
        raise MediaError(path, "the audio holds NaN or infinite samples")
    return _resample(y, file_sr, int(sr) if sr is not None else file_sr)
