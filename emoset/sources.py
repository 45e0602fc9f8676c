"""Long and live sources: a file, a URL or a capture device, read once and in order.

:func:`open_source` opens what FFmpeg opens (a media file; ``http(s)://``, ``rtsp://``,
``udp://`` URLs; a V4L2 device such as ``/dev/video0``) and :func:`iter_media` yields its video
frames and audio chunks in one demultiplexing pass, as :mod:`emoset.timeline` consumes them.
The readers of whole clips are in :mod:`emoset.media`.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .media import (
    _COLORS,
    MediaError,
    _check_file,
    _check_frame_args,
    _GrayLevels,
    _video_streams,
)

__all__ = ["iter_media", "open_source"]


def _is_url(source) -> bool:
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
    if _is_url(source):
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
    keep_error = report is not None
    report = {} if report is None else report
    container = open_source(source, timeout=timeout)
    name = str(source)
    with container:
        vids = _video_streams(container) if video else []
        auds = list(container.streams.audio[:1]) if audio else []
        vstream = vids[0] if vids else None
        astream = auds[0] if auds else None
        report.update(has_video=vstream is not None, has_audio=astream is not None)
        report.update(fps=None, width=None, height=None, n_decoded=0, error=None)
        if vstream is None and astream is None:
            raise MediaError(name, "neither a video nor an audio stream in the source")
        starts = []
        for st in (vstream, astream):
            if st is not None and st.start_time is not None and st.time_base:
                starts.append(float(st.start_time * st.time_base))
        origin = min(starts) if starts else None
        report["origin"] = origin
        rate = None
        if vstream is not None:
            rate = vstream.average_rate or vstream.guessed_rate
            report.update(
                fps=float(rate) if rate else None,
                width=int(vstream.codec_context.width),
                height=int(vstream.codec_context.height),
            )
        resampler = None
        if astream is not None:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=int(audio_sr))
        step = None if fps is None else 1.0 / float(fps)
        next_t = None
        start = float(start) if start else None
        if start is not None:
            try:
                container.seek(int(((origin or 0.0) + start) * av.time_base), backward=True)
            except av.error.FFmpegError as exc:
                raise MediaError(name, f"cannot seek to {start:g} s ({exc})") from exc
            if step is not None:  # the grid a pass from the beginning keeps: from the video's start
                v0 = 0.0
                if vstream is not None and vstream.start_time is not None and origin is not None:
                    v0 = float(vstream.start_time * vstream.time_base) - origin
                next_t = v0 + math.ceil((start - v0) / step - 1e-6) * step
        n_video = 0
        audio_start = None
        n_samples = 0
        fmt = _COLORS[color]
        gray = fmt == "gray"
        to_gray = _GrayLevels()
        streams = [s for s in (vstream, astream) if s is not None]
        try:
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    if packet.stream is vstream:
                        n_video += 1
                        report["n_decoded"] = n_video
                        t = frame.time
                        if t is None:
                            t = (n_video - 1) / float(rate or fps or 25.0)
                        if origin is None:
                            origin = report["origin"] = t
                        t -= origin
                        if start is not None and t + 1e-6 < start:
                            continue
                        if step is not None:
                            if next_t is None:
                                next_t = t
                            if t + 1e-6 < next_t:
                                continue
                            next_t += step * max(1, int((t - next_t) // step) + 1)
                        yield (
                            "video",
                            t,
                            to_gray.convert(frame) if gray else frame.to_ndarray(format=fmt),
                        )
                    else:
                        if audio_start is None:
                            t = frame.time if frame.time is not None else 0.0
                            if origin is None:
                                origin = report["origin"] = t
                            audio_start = t - origin
                        for out in resampler.resample(frame):
                            y = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                            t = audio_start + n_samples / float(audio_sr)
                            n_samples += y.size
                            if start is not None and t < start:  # before the seek point
                                y = y[int(round((start - t) * audio_sr)) :]
                                t = start
                                if not y.size:
                                    continue
                            yield "audio", t, y
            if resampler is not None and audio_start is not None:
                for out in resampler.resample(None):
                    y = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    yield "audio", audio_start + n_samples / float(audio_sr), y
                    n_samples += y.size
        except av.error.FFmpegError as exc:
            if not keep_error:
                raise MediaError(name, f"decoding stopped at an error ({exc})") from exc
            report["error"] = str(exc)
