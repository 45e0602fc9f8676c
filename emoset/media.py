"""Decode video frames and audio tracks.

Frames are streamed with PyAV (FFmpeg) one at a time, so a long clip never sits in memory
unless the caller asks for all of it (:func:`read_frames`). Audio comes back as mono float32
at the requested sample rate, from a plain audio file (wav, flac, ...) through libsndfile or
from the audio track of a video (mp4, avi, flv, ...) through FFmpeg.

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
    "iter_frames",
    "read_frames",
    "load_audio",
    "resample",
    "AUDIO_EXTENSIONS",
    "VIDEO_EXTENSIONS",
]

logger = logging.getLogger(__name__)

#: Extensions read directly by libsndfile (no FFmpeg involved).
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".aiff", ".aif"})
#: Container extensions that usually hold a video stream.
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".flv", ".mkv", ".mov", ".webm", ".m4v", ".mpg"})

_COLORS = {"rgb": "rgb24", "gray": "gray"}


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
        video = container.streams.video[0] if container.streams.video else None
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


def iter_frames(path, *, color="rgb", fps=None, max_frames=None) -> Iterator[np.ndarray]:
    """Stream the frames of a video, one decoded frame at a time.

    Parameters
    ----------
    path : str or path-like
        A video file (mp4, avi, flv, ...).
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
        if not container.streams.video:
            raise MediaError(path, "no video stream in the file")
        stream = container.streams.video[0]
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


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample a mono float signal with soxr (high quality); a no-op at equal rates.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    sr_in, sr_out : int
        Rates in Hz.

    Returns
    -------
    y : ndarray of float32
    """
    if sr_in == sr_out or y.size == 0:
        return y
    import soxr

    return soxr.resample(y, sr_in, sr_out, quality="HQ").astype(np.float32, copy=False)


def _load_with_soundfile(path: Path):
    import soundfile as sf

    try:
        y, sr = sf.read(os.fspath(path), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise MediaError(path, f"not a readable audio file or truncated ({exc})") from exc
    return _to_mono(np.asarray(y, dtype=np.float32)), int(sr)


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
        An audio file (wav, flac, ogg, aiff: read by libsndfile) or any container FFmpeg reads
        (mp4, avi, flv, mkv, m4a, ...: its first audio track).
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
    if path.suffix.lower() in AUDIO_EXTENSIONS:
        try:
            y, file_sr = _load_with_soundfile(path)
        except MediaError:
            y, file_sr = _load_with_ffmpeg(path)  # e.g. a compressed track in a .wav wrapper
    else:
        y, file_sr = _load_with_ffmpeg(path)
    if y.size == 0:
        raise MediaError(path, "the audio track holds no samples")
    if not np.all(np.isfinite(y)):
        raise MediaError(path, "the audio holds NaN or infinite samples")
    return resample(y, file_sr, int(sr) if sr is not None else file_sr)
