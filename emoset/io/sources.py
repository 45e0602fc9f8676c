"""Long and live sources: a file, a URL or a capture device, read once and in order.

:func:`open_source` opens what FFmpeg opens (a media file; ``http(s)://``, ``rtsp://``,
``udp://`` URLs; a V4L2 device such as ``/dev/video0``) and :func:`iter_media` yields its video
frames and audio chunks in one demultiplexing pass, as :mod:`emoset.recognizer.timeline` consumes them.
The readers of whole clips are in :mod:`emoset.io.media`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .errors import MediaError
from .media import _COLORS, _check_file, _check_frame_args, _GrayLevels, video_streams

__all__ = ["is_url", "iter_media", "open_source"]


def is_url(source) -> bool:
    return isinstance(source, str) and "://" in source


def open_source(source, *, timeout=None):
    """Open a file, a URL or a capture device with PyAV, for :func:`iter_media`.

    Parameters
    ----------
    source : str or path-like
        A media file; a URL FFmpeg reads (``http(s)://``, ``rtsp://``, ``udp://``, ...); or a
        V4L2 device such as ``/dev/video0`` (opened with FFmpeg's ``v4l2`` input).
    timeout : float or None
        Seconds FFmpeg waits to open a network source and for each read of it before giving
        up (``None``: FFmpeg's own defaults, which may wait for ever).

    Returns
    -------
    container : av.container.InputContainer

    Raises
    ------
    MediaError
        If the file is missing or empty, or FFmpeg cannot open the source.
    """
    import av

    options = {}
    fmt = None
    if is_url(source):
        name = str(source)
    elif str(source).startswith("/dev/video"):
        name, fmt = str(source), "v4l2"
    else:
        name = os.fspath(_check_file(source))
    kwargs = {} if timeout is None else {"timeout": (float(timeout), float(timeout))}
    try:
        return av.open(name, mode="r", format=fmt, options=options, **kwargs)
    except av.error.FFmpegError as exc:
        raise MediaError(name, f"cannot open the source ({exc})") from exc


def iter_media(
    source,
    *,
    color="rgb",
    fps=None,
    audio_sr=16000,
    video=True,
    audio=True,
    timeout=None,
    report=None,
    start=None,
    only=None,
):
    """Stream a source's video frames and audio in one pass, in the order they arrive.

    One demultiplexing pass serves both streams, so a live source (which can be read only
    once) gives both, and a long file is decoded once. Video frames are resampled to ``fps``
    (dropped, never duplicated) and converted only when kept.

    Parameters
    ----------
    source : str or path-like
        See :func:`open_source`.
    color : {"rgb", "gray"}, default="rgb"
    fps : float or None
        Keep at most one video frame per ``1 / fps`` seconds; ``None`` keeps every frame.
    audio_sr : int, default=16000
        Rate of the mono float32 audio chunks.
    video, audio : bool, default=True
        Which streams to read (a missing stream is simply absent from the output).
    timeout : float or None
        See :func:`open_source`.
    start : float or None
        Seek to this many seconds into a file first (to the key frame before it, decoding
        from there); nothing earlier is yielded. Kept frames stay on the grid of ``1 / fps``
        steps from the start of the source, so a run from ``start`` keeps the frames a run
        from the beginning keeps there.
    report : dict or None
        Filled with ``"has_video"``, ``"has_audio"``, ``"fps"`` (the source's frame rate),
        ``"width"``, ``"height"``, ``"n_decoded"`` (video frames decoded), ``"origin"`` (the
        source timestamp, in seconds, that ``t`` counts from) and ``"error"`` (the decoder
        error that ended the stream early, or None). Without it such an error raises.
    only : {"video", "audio"} or None
        Decode and yield this stream alone, timed and reported as a pass that reads both
        ``video`` and ``audio`` (the same ``t``, ``origin`` and report), so two passes over
        a file, one for each stream, can run side by side (files only: a live source is read
        once).

    Yields
    ------
    kind : {"video", "audio"}
    t : float
        Seconds since the start of the source (the earliest timestamp of its streams).
    data : ndarray
        A ``(h, w, 3)`` or ``(h, w)`` uint8 frame, or a float32 chunk of audio samples
        starting at ``t``.

    Raises
    ------
    MediaError
        If the source cannot be opened, holds neither a video nor an audio stream, or (without
        ``report``) fails part way.
    """
    import av

    _check_frame_args(color, fps, None)
    if only not in (None, "video", "audio"):
        raise ValueError(f"iter_media: only must be None, 'video' or 'audio'; got {only!r}.")
    keep_error = report is not None
    report = {} if report is None else report
    container = open_source(source, timeout=timeout)
    name = str(source)
    with container:
        vstream, astream = _streams(container, name, video=video, audio=audio, report=report)
        decoded = [s for s in (vstream, astream) if s is not None]
        if only is not None:
            decoded = [s for s in decoded if s.type == only]
        if vstream in decoded and _is_local_file(source):
            # FFmpeg decodes frames in threads of its own, outside the GIL (the same frames;
            # not for a live source, where each thread would hold a frame back)
            vstream.thread_type = "AUTO"
        start = float(start) if start else None
        grid = _FrameGrid(vstream, fps, report)
        if start is not None:
            try:
                if report["origin"] is None:
                    # streams without a start time (a WAV file): a pass from the beginning counts
                    # time from its first decoded frame, so this one must too, not from the
                    # first frame after the seek
                    report["origin"] = _first_frame_time(container, vstream, astream)
                container.seek(
                    int(((report["origin"] or 0.0) + start) * av.time_base), backward=True
                )
            except av.error.FFmpegError as exc:
                raise MediaError(name, f"cannot seek to {start:g} s ({exc})") from exc
            grid.start_at(start)
        chunks = None if astream not in decoded else _AudioChunks(audio_sr, start, report)
        convert = _converter(color)
        try:
            if not decoded:  # only the stream the source lacks: nothing to yield
                return
            for packet in container.demux(*decoded):
                for frame in packet.decode():
                    if packet.stream is vstream:
                        t = grid.keep(frame)
                        if t is not None:
                            yield "video", t, convert(frame)
                    else:
                        yield from chunks.add(frame)
            if chunks is not None:
                yield from chunks.flush()
        except av.error.FFmpegError as exc:
            if not keep_error:
                raise MediaError(name, f"decoding stopped at an error ({exc})") from exc
            report["error"] = str(exc)


def _first_frame_time(container, *streams):
    """The time of the first frame decoded from ``streams`` (0 when it has none)."""
    for packet in container.demux(*[s for s in streams if s is not None]):
        for frame in packet.decode():
            return frame.time if frame.time is not None else 0.0
    return 0.0


def _is_local_file(source):
    try:
        return Path(os.fspath(source)).is_file()
    except (TypeError, ValueError, OSError):
        return False


def _streams(container, name, *, video, audio, report):
    """The first video and audio streams asked for; fills ``report`` with what the source has."""
    vids = video_streams(container) if video else []
    auds = list(container.streams.audio[:1]) if audio else []
    vstream = vids[0] if vids else None
    astream = auds[0] if auds else None
    report.update(has_video=vstream is not None, has_audio=astream is not None)
    report.update(fps=None, width=None, height=None, n_decoded=0, error=None)
    if vstream is None and astream is None:
        raise MediaError(name, "neither a video nor an audio stream in the source")
    starts = [
        float(st.start_time * st.time_base)
        for st in (vstream, astream)
        if st is not None and st.start_time is not None and st.time_base
    ]
    report["origin"] = min(starts) if starts else None
    if vstream is not None:
        rate = vstream.average_rate or vstream.guessed_rate
        report.update(
            fps=float(rate) if rate else None,
            width=int(vstream.codec_context.width),
            height=int(vstream.codec_context.height),
        )
    return vstream, astream


def _converter(color):
    """Frame -> ndarray in ``color`` (gray through emoset's own level table)."""
    fmt = _COLORS[color]
    if fmt == "gray":
        return _GrayLevels().convert
    return lambda frame: frame.to_ndarray(format=fmt)


class _FrameGrid:
    """Which decoded video frames to keep: at most one per ``1 / fps`` s, on a fixed grid."""

    def __init__(self, vstream, fps, report):
        self.vstream = vstream
        self.report = report
        self.rate = report["fps"]
        self.fps = fps
        self.step = None if fps is None else 1.0 / float(fps)
        self.next_t = None
        self.start = None
        self.n = 0

    def start_at(self, start):
        """Keep nothing before ``start`` s, and the frames a pass from the beginning keeps."""
        self.start = start
        if self.step is None:
            return
        v0, origin = 0.0, self.report["origin"]
        st = self.vstream
        if st is not None and st.start_time is not None and origin is not None:
            v0 = float(st.start_time * st.time_base) - origin
        self.next_t = v0 + math.ceil((start - v0) / self.step - 1e-6) * self.step

    def keep(self, frame):
        """The frame's time (s since the source's origin) if it is kept, else ``None``."""
        self.n += 1
        self.report["n_decoded"] = self.n
        t = frame.time
        if t is None:
            t = (self.n - 1) / float(self.rate or self.fps or 25.0)
        if self.report["origin"] is None:
            self.report["origin"] = t
        t -= self.report["origin"]
        if self.start is not None and t + 1e-6 < self.start:
            return None
        if self.step is not None:
            if self.next_t is None:
                self.next_t = t
            if t + 1e-6 < self.next_t:
                return None
            self.next_t += self.step * max(1, int((t - self.next_t) // self.step) + 1)
        return t


class _AudioChunks:
    """Decoded audio frames -> mono float32 chunks at ``rate``, timed from the first frame."""

    def __init__(self, rate, start, report):
        import av

        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=int(rate))
        self.rate = float(rate)
        self.start = start
        self.report = report
        self.t0 = None
        self.n_samples = 0

    def add(self, frame):
        if self.t0 is None:
            t = frame.time if frame.time is not None else 0.0
            if self.report["origin"] is None:
                self.report["origin"] = t
            self.t0 = t - self.report["origin"]
        for out in self.resampler.resample(frame):
            y = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            t = self.t0 + self.n_samples / self.rate
            self.n_samples += y.size
            if self.start is not None and t < self.start:  # before the seek point
                y = y[int(round((self.start - t) * self.rate)) :]
                t = self.start
                if not y.size:
                    continue
            yield "audio", t, y

    def flush(self):
        if self.t0 is None:
            return
        for out in self.resampler.resample(None):
            y = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            yield "audio", self.t0 + self.n_samples / self.rate, y
            self.n_samples += y.size
