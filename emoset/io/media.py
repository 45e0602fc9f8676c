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

Truncation
----------
A file cut short (an interrupted download or copy) often still opens and decodes, only
shorter. The readers compare the duration they decoded with the duration the file's header
promises and treat a decoding error part way as truncation too. By default a truncated file
raises :class:`TruncatedMediaError` (``"...: truncated: decoded 0.23 s of 2.27 s"``); with
``allow_partial=True`` the part that decoded is returned and one :class:`TruncationWarning` (a
``UserWarning``) says the same. Both carry a :class:`TruncationCheck` with the numbers, as does
:func:`check_truncation`, which decodes a file only to measure it.

The promised duration is taken only where a header states it: the sample tables of mp4/mov/m4a,
the per-track ``DURATION`` of Matroska/WebM, the frame count of AVI video, the data size of
WAV/RF64/AIFF, the sample count of FLAC and the Xing/VBRI frame count of mp3. Other containers
(mpeg, mpeg-ts, flv, ogg, raw streams, mp3 without such a header, live streams) are not checked
for truncation, only for decoding errors. The tolerance is two frame durations for video, two
packet durations for compressed audio and 1024 samples for WAV, AIFF and FLAC (whose headers
count samples exactly), so a complete file is never flagged.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..utils.messages import what_is
from ._durations import _promised_seconds, _riff_header_frames
from .errors import MediaError, TruncatedMediaError, TruncationCheck, TruncationWarning

__all__ = [
    "MediaInfo",
    "video_streams",
    "probe",
    "media_kind",
    "check_truncation",
    "iter_frames",
    "read_frames",
    "load_audio",
    "resample",
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
#: Slack for audio read by libsndfile, in samples: its formats state the exact length, so this
#: only absorbs a header's rounding (one codec packet's worth, 64 ms at 16 kHz).
_SNDFILE_SLACK = 1024
#: Audio packets are at least this many samples long when counting the tolerance.
_MIN_PACKET = 1152


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
    try:
        problem = what_is(path)
    except OSError as exc:  # e.g. a name too long for the file system
        raise MediaError(path, f"not a usable path ({exc.strerror or exc})") from None
    if problem is not None:
        raise MediaError(path, problem)
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


def video_streams(container) -> list:
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
        videos = video_streams(container)
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
    >>> from emoset.datasets import load_cremad
    >>> clip = load_cremad(subsets=["native"])[0]
    >>> media_kind(clip.video), media_kind(clip.audio)
    ('video', 'audio')
    """
    path = _check_file(path)
    with _open(path) as container:
        if video_streams(container):
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


# --------------------------------------------------------------------------- video


class _GrayLevels:
    """Grayscale frames from the luma plane through a table of FFmpeg's own gray levels.

    Converting an 8-bit YUV frame to gray maps each luma level to one gray level (limited
    to full range); FFmpeg's converter does it pixel by pixel, a lookup table does it several
    times faster. The table is FFmpeg's conversion of a frame holding every level, made for
    each pixel format and colour range met, and used only once it has converted the stream's
    first frame exactly as FFmpeg does; otherwise (other formats, a mismatch) every frame
    goes through FFmpeg.
    """

    _YUV8 = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p"})

    def __init__(self):
        self._tables = {}  # (pixel format, colour range) -> table, or None: use FFmpeg

    def _table(self, frame):
        import av

        try:
            key = (frame.format.name, int(frame.color_range))
        except AttributeError:  # a PyAV without colour ranges: FFmpeg converts
            key = (frame.format.name, None)
        if key not in self._tables:
            table = None
            if key[0] in self._YUV8 and key[1] is not None:
                probe = av.VideoFrame(16, 16, key[0])
                probe.color_range = key[1]
                levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
                plane = probe.planes[0]
                rows = np.zeros((plane.height, plane.line_size), np.uint8)
                rows[:, :16] = levels
                plane.update(rows)
                table = probe.to_ndarray(format="gray").reshape(-1)
                if not np.array_equal(table[self._luma(frame)], frame.to_ndarray(format="gray")):
                    table = None  # not a plain level map here: FFmpeg converts every frame
            self._tables[key] = table
        return self._tables[key]

    @staticmethod
    def _luma(frame):
        plane = frame.planes[0]
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return rows[: frame.height, : frame.width]

    def convert(self, frame):
        table = self._table(frame)
        if table is None:
            return frame.to_ndarray(format="gray")
        import cv2

        return cv2.LUT(self._luma(frame), table)


def _check_frame_args(color, fps, max_frames):
    if color not in _COLORS:
        raise ValueError(f"color must be one of {sorted(_COLORS)}; got {color!r}.")
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number or None; got {fps!r}.")
    if max_frames is not None and (int(max_frames) != max_frames or max_frames < 0):
        raise ValueError(f"max_frames must be a non-negative integer or None; got {max_frames!r}.")


def _settle(check, *, allow_partial, nothing_decoded, stacklevel):
    """Raise or warn about a truncated stream; ``stacklevel`` counts from the caller of this."""
    if not check.truncated:
        return
    if allow_partial and not nothing_decoded:
        warnings.warn(TruncationWarning(check), stacklevel=stacklevel + 1)
        return
    raise TruncatedMediaError(check)


def _frames(path, *, fmt, fps, max_frames, allow_partial, stacklevel, report=None):
    """Decode the first real video stream; ``fmt=None`` decodes without converting frames.

    ``report``, a list, receives the :class:`TruncationCheck` when the stream was decoded to its
    end (not when ``max_frames`` stopped it); a truncated stream raises or warns as
    ``allow_partial`` says unless ``report`` is given.
    """
    import av

    path = _check_file(path)
    with _open(path) as container:
        videos = video_streams(container)
        if not videos:
            raise MediaError(path, "no video stream in the file")
        stream = videos[0]
        stream.thread_type = "AUTO"
        time_base = stream.time_base or Fraction(1, 1)
        rate = stream.average_rate or stream.guessed_rate
        frame_s = 1.0 / float(rate) if rate else None
        # a frame without a duration lasts one frame at the stream's rate (timestamp units)
        frame_ts = max(1, round(1 / (rate * time_base))) if rate else 0
        step = None if fps is None else 1.0 / float(fps)
        next_t = None
        to_gray = _GrayLevels()
        n_out = 0
        index = -1
        first = stream.start_time  # earliest presentation time (timestamp units)
        end = None  # latest presentation end decoded (timestamp units)
        error = None
        if max_frames == 0:
            return
        try:
            for index, frame in enumerate(container.decode(stream)):
                pts = frame.pts
                if pts is not None:
                    if first is None or pts < first:
                        first = pts
                    pts_end = pts + (frame.duration or frame_ts)
                    if end is None or pts_end > end:
                        end = pts_end
                if step is not None:
                    if pts is not None:
                        t = float(pts * time_base)
                    else:  # no timestamps: count frames at the stream's own rate
                        t = index / float(rate or fps)
                    if next_t is None:
                        next_t = t
                    if t + 1e-6 < next_t:
                        continue
                    next_t += step * max(1, int((t - next_t) // step) + 1)
                if fmt == "gray":
                    yield to_gray.convert(frame)
                elif fmt is not None:
                    yield frame.to_ndarray(format=fmt)
                n_out += 1
                if max_frames is not None and n_out >= max_frames:
                    return
        except av.error.FFmpegError as exc:
            error = str(exc)
        n_decoded = index + 1
        expected = _promised_seconds(path, container, stream)
    if end is not None and first is not None:
        decoded = float((end - first) * time_base)
    else:  # no timestamps: count frames
        decoded = n_decoded * (frame_s or 0.0)
    check = TruncationCheck(
        path=path,
        stream="video",
        expected=expected,
        decoded=decoded,
        tolerance=2.0 * (frame_s or 0.04) + 1e-3,
        error=error,
    )
    if report is not None:
        report.append(check)
        return
    _settle(
        check, allow_partial=allow_partial, nothing_decoded=n_decoded == 0, stacklevel=stacklevel
    )
    if n_decoded == 0:
        raise MediaError(path, "the video stream holds no decodable frame")


def iter_frames(
    path, *, color="rgb", fps=None, max_frames=None, allow_partial=False
) -> Iterator[np.ndarray]:
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
        Stop after this many frames have been yielded (a file that ends sooner is still
        checked for truncation).
    allow_partial : bool, default=False
        What to do with a truncated file (see the module notes): ``False`` raises
        :class:`TruncatedMediaError` after the last frame that decoded; ``True`` stops there
        with one :class:`TruncationWarning`. A file of which not one frame decodes raises in
        both cases.

    Yields
    ------
    frame : ndarray of uint8

    Raises
    ------
    MediaError
        If the file is missing, empty, unreadable, or has no video stream.
    TruncatedMediaError
        If the video ends well before its header says, or decoding fails part way (raised
        after the frames that decoded have been yielded).
    ValueError
        If ``color``, ``fps`` or ``max_frames`` is invalid (raised at the call, before any
        decoding).

    Warns
    -----
    TruncationWarning
        With ``allow_partial=True``, once, when the file is truncated.

    Examples
    --------
    >>> from emoset.datasets import load_cremad
    >>> clip = load_cremad(subsets=["native"])[0]
    >>> frames = list(iter_frames(clip.video, color="gray", fps=10))
    >>> len(frames), frames[0].shape
    (23, (360, 480))
    """
    _check_frame_args(color, fps, max_frames)
    return _frames(
        path,
        fmt=_COLORS[color],
        fps=fps,
        max_frames=max_frames,
        allow_partial=allow_partial,
        stacklevel=2,  # the frame that resumes the generator
    )


def read_frames(path, *, color="rgb", fps=None, max_frames=None, allow_partial=False) -> np.ndarray:
    """Decode the frames of a video into one array.

    Same parameters, errors and warnings as :func:`iter_frames`.

    Returns
    -------
    frames : ndarray of uint8, shape (n_frames, height, width[, 3])
    """
    _check_frame_args(color, fps, max_frames)
    frames = list(
        _frames(
            path,
            fmt=_COLORS[color],
            fps=fps,
            max_frames=max_frames,
            allow_partial=allow_partial,
            stacklevel=3,  # read_frames resumes the generator; its caller is one further
        )
    )
    if not frames:
        info = probe(path)
        shape = (0, info.height or 0, info.width or 0) + ((3,) if color == "rgb" else ())
        return np.zeros(shape, dtype=np.uint8)
    return np.stack(frames)


# --------------------------------------------------------------------------- audio


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


def _read_sndfile(path: Path, f):
    """Read an open libsndfile handle; keep what decoded before an error."""
    import soundfile as sf

    sr = int(f.samplerate)
    if f.format == "FLAC":
        promised = f.frames if 0 < f.frames < 2**62 else None  # STREAMINFO's sample count
    elif f.format == "OGG":
        promised = None  # Ogg states no length up front
    else:
        promised = _riff_header_frames(path)
    error = None
    with f:
        try:
            chunks = [f.read(dtype="float32", always_2d=True)]
        except (sf.LibsndfileError, RuntimeError) as exc:
            error = str(exc) or type(exc).__name__
            chunks = []
    if error is not None:  # read again in small blocks, up to the error
        with sf.SoundFile(os.fspath(path)) as g:
            try:
                while True:
                    block = g.read(1024, dtype="float32", always_2d=True)
                    if not len(block):
                        break
                    chunks.append(block)
            except (sf.LibsndfileError, RuntimeError):
                pass
    y = np.concatenate(chunks) if chunks else np.zeros((0, 1), np.float32)
    check = TruncationCheck(
        path=path,
        stream="audio",
        expected=None if promised is None else promised / sr,
        decoded=len(y) / sr,
        tolerance=_SNDFILE_SLACK / sr,
        error=error,
    )
    return _to_mono(y), sr, check


def _read_ffmpeg_audio(path: Path):
    import av

    with _open(path) as container:
        if not container.streams.audio:
            raise MediaError(path, "no audio track in the file")
        stream = container.streams.audio[0]
        sr = int(stream.codec_context.sample_rate)
        packet = max(int(stream.codec_context.frame_size or 0), _MIN_PACKET)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        chunks = []
        n_in = 0
        error = None
        try:
            for frame in container.decode(stream):
                n_in += frame.samples
                packet = max(packet, frame.samples)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            error = str(exc)
        try:
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError:  # nothing was fed in
            pass
        expected = _promised_seconds(path, container, stream)
    y = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    check = TruncationCheck(
        path=path,
        stream="audio",
        expected=expected,
        decoded=n_in / sr,
        tolerance=2.0 * packet / sr + 1e-3,
        error=error,
    )
    return y, sr, check


def _read_audio(path: Path):
    f = _open_sndfile(path)
    if f is not None:
        return _read_sndfile(path, f)
    return _read_ffmpeg_audio(path)


def load_audio(path, *, sr=16000, allow_partial=False, warn=True) -> np.ndarray:
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
    allow_partial : bool, default=False
        What to do with a truncated file (see the module notes): ``False`` raises
        :class:`TruncatedMediaError`; ``True`` returns the samples that decoded with one
        :class:`TruncationWarning`. A file of which no sample decodes raises in both cases.
    warn : bool, default=True
        With ``allow_partial=True``: ``False`` returns what a truncated file decoded without the
        warning (the caller does not need it; ``warnings.catch_warnings`` would change the
        filters of the whole process, threads beside the caller included).

    Returns
    -------
    y : ndarray of float32, shape (n_samples,)
        Samples in [-1, 1]; channels are averaged.

    Raises
    ------
    MediaError
        If the file is missing, empty, unreadable, has no audio track, or holds no samples.
    TruncatedMediaError
        If the audio ends well before its header says, or decoding fails part way.
    ValueError
        If ``sr`` is not a positive integer or None.

    Warns
    -----
    TruncationWarning
        With ``allow_partial=True`` (and ``warn``), once, when the file is truncated.
    """
    if sr is not None and (int(sr) != sr or sr <= 0):
        raise ValueError(f"sr must be a positive integer or None; got {sr!r}.")
    path = _check_file(path)
    y, file_sr, check = _read_audio(path)
    if warn or not allow_partial or y.size == 0:
        _settle(check, allow_partial=allow_partial, nothing_decoded=y.size == 0, stacklevel=2)
    if y.size == 0:
        raise MediaError(path, "the audio track holds no samples")
    if not np.all(np.isfinite(y)):
        raise MediaError(path, "the audio holds NaN or infinite samples")
    return resample(y, file_sr, int(sr) if sr is not None else file_sr)


# --------------------------------------------------------------------------- checks


def check_truncation(path, stream=None) -> TruncationCheck:
    """Decode a stream to its end and compare its length with what the header promises.

    Nothing is raised or warned for a truncated file: the returned record says it, for a
    per-clip report (``check.reason`` reads e.g. ``"truncated: decoded 0.23 s of 2.27 s"``).

    Parameters
    ----------
    path : str or path-like
        A video or audio file.
    stream : {"video", "audio"} or None, default=None
        The stream to check; ``None`` checks the video of a video file and the audio of an
        audio file (see :func:`media_kind`).

    Returns
    -------
    check : TruncationCheck
        ``check.truncated`` says whether the stream is cut short; ``check.expected`` is None
        when the container states no duration to compare with.

    Raises
    ------
    MediaError
        If the file is missing, empty, not a media file, or lacks the stream.
    ValueError
        If ``stream`` is not one of the choices.

    Examples
    --------
    >>> from emoset.datasets import load_cremad
    >>> clip = load_cremad(subsets=["native"])[0]
    >>> check = check_truncation(clip.video, "audio")
    >>> check.truncated, round(check.expected, 2), round(check.decoded, 2)
    (False, 2.27, 2.28)
    """
    if stream not in (None, "video", "audio"):
        raise ValueError(f"stream must be 'video', 'audio' or None; got {stream!r}.")
    if stream is None:
        stream = media_kind(path)
    if stream == "audio":
        return _read_audio(_check_file(path))[2]
    report = []
    for _ in _frames(
        path, fmt=None, fps=None, max_frames=None, allow_partial=True, stacklevel=2, report=report
    ):
        pass
    return report[0]


# the long and live sources have their own module; importable from here as before
