"""A video with its timeline drawn on it: the tracked face box and the current label.

:func:`write_overlay` re-encodes a file (H.264, and its sound as AAC) with what
:func:`emoset.recognizer.timeline.predict_timeline` found in it.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..io.errors import MediaError
from ..io.media import video_streams
from ..io.sources import open_source
from ..utils.validation import check_output

__all__ = ["write_overlay"]

_BOX_COLOR = (40, 220, 40)
_MAX_BOX_GAP = 0.25  # s between a frame and the nearest tracked face drawn on it


def _label_at(t, ends, labels):
    """The label of the latest window ended by ``t`` (the first window's until then)."""
    done = np.flatnonzero(ends <= t + 1e-6)
    i = done[-1] if len(done) else (0 if len(ends) else None)
    return None if i is None else (labels[i] or "no label")


def _draw_people(img, t, boxes, lanes, gap):
    """Every face of the frame kept nearest ``t``, boxed, with its person's id and label."""
    import cv2

    near = boxes[np.abs(boxes[:, 0] - t) <= gap] if len(boxes) else boxes
    for k in np.unique(near[:, 1]).astype(int) if len(near) else []:
        mine = near[near[:, 1] == k]
        j = int(np.argmin(np.abs(mine[:, 0] - t)))
        x0, y0, x1, y1 = (int(round(v)) for v in mine[j, 2:])
        cv2.rectangle(img, (x0, y0), (x1, y1), _BOX_COLOR, 2)
        person = f"P{k + 1}"
        ends, labels = lanes.get(person, (np.zeros(0), []))
        text = f"{person} {_label_at(t, ends, labels) or ''}".strip()
        y = max(16, y0 - 6)
        cv2.rectangle(img, (x0, y - 16), (x0 + 9 * len(text) + 6, y + 4), (0, 0, 0), -1)
        cv2.putText(img, text, (x0 + 3, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    return img


def _draw(img, t, boxes, ends, labels):
    """Draw the face box nearest in time and the label of the latest window ended by ``t``."""
    import cv2

    if len(boxes):
        j = int(np.argmin(np.abs(boxes[:, 0] - t)))
        if abs(boxes[j, 0] - t) <= _MAX_BOX_GAP:
            x0, y0, x1, y1 = (int(round(v)) for v in boxes[j, 1:])
            cv2.rectangle(img, (x0, y0), (x1, y1), _BOX_COLOR, 2)
    text = _label_at(t, ends, labels) or ""
    if text:
        cv2.rectangle(img, (0, 0), (10 + 14 * len(text), 34), (0, 0, 0), -1)
        cv2.putText(img, text, (6, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    return img


class _AudioOut:
    """The source's sound re-encoded as AAC into the output (first stream, at its own rate)."""

    def __init__(self, out, stream):
        import av

        rate = int(stream.codec_context.sample_rate or stream.rate or 48000)
        channels = int(getattr(stream.codec_context, "channels", 0) or 1)
        layout = "stereo" if channels >= 2 else "mono"
        self.stream = out.add_stream("aac", rate=rate)
        self.stream.layout = layout
        self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        self.rate = rate
        self.n = None
        self.out = out

    def add(self, frame, origin):
        if self.n is None:  # the sound starts where the source's does, against the picture
            start = (frame.time - origin) if frame.time is not None else 0.0
            self.n = max(0, int(round(start * self.rate)))
        for f in self.resampler.resample(frame):
            self._encode(f)

    def _encode(self, f):
        if f is not None:
            f.pts = self.n
            f.time_base = Fraction(1, self.rate)
            self.n += f.samples
        for packet in self.stream.encode(f):
            self.out.mux(packet)

    def close(self):
        if self.n is None:
            return
        for f in self.resampler.resample(None):
            self._encode(f)
        self._encode(None)


def write_overlay(timeline, source, path, *, crf=23, audio=True):
    """Re-encode a video file with the tracked face box and the current label drawn on it.

    Parameters
    ----------
    timeline : pandas.DataFrame
        From :func:`~emoset.recognizer.timeline.predict_timeline` on ``source`` (its
        ``attrs["faces"]`` gives the boxes). With a ``person`` column (``people=True``) every
        face is drawn with its person's id and that person's current label
        (``attrs["people_faces"]``).
    source : str or path-like
        The video file the timeline was made from.
    path : str or path-like
        Output file: H.264 (and AAC sound) in the container its extension names, e.g. ``.mp4``.
    crf : int, default=23
        H.264 quality (lower is better).
    audio : bool, default=True
        Copy the source's sound (re-encoded as AAC); a source without sound gives a silent
        video either way.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    emoset.io.errors.MediaError
        If the source cannot be opened or has no video stream.
    """

    path = Path(path)
    people = "person" in timeline.columns
    if people:  # every face, with its person's id and label
        boxes = np.asarray(timeline.attrs.get("people_faces", np.zeros((0, 6))), dtype=float)
        boxes = boxes.reshape(-1, 6)
        lanes = {
            k: (rows["end"].to_numpy(dtype=float), rows["label"].tolist())
            for k, rows in timeline[timeline["person"].notna()].groupby("person", sort=False)
        }

        # the faces of the one frame the timeline kept nearest: not those of a cut away
        gap = 0.6 / float(timeline.attrs.get("fps") or 25.0)

        def draw(img, t):
            return _draw_people(img, t, boxes, lanes, gap)

    else:
        boxes = np.asarray(timeline.attrs.get("faces", np.zeros((0, 5))), dtype=np.float64)
        boxes = boxes.reshape(-1, 5)
        ends = timeline["end"].to_numpy(dtype=float)
        labels = timeline["label"].tolist()

        def draw(img, t):
            return _draw(img, t, boxes, ends, labels)

    path = check_output(path, inputs=[source], what="overlay")
    # written beside its place under a temporary name (with the extension, which names the
    # container), then moved there: a failed run leaves no half file, an old one stays whole
    part = path.with_name(f".{path.stem}.{os.getpid()}.part{path.suffix}")
    try:
        origin = timeline.attrs.get("origin")
        _encode_overlay(source, part, draw, origin_of_rows=origin, crf=crf, audio=audio)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path


def _encode_overlay(source, path, draw, *, origin_of_rows, crf, audio):
    """Decode ``source``, draw on each frame with ``draw(img, t)``, encode into ``path``."""
    import av

    with open_source(source) as container:
        vids = video_streams(container)
        if not vids:
            raise MediaError(str(source), "no video stream to draw the timeline on")
        vin = vids[0]
        ain = container.streams.audio[0] if audio and container.streams.audio else None
        starts = [
            float(s.start_time * s.time_base)
            for s in (vin, ain)
            if s is not None and s.start_time is not None and s.time_base
        ]
        origin = min(starts, default=0.0)  # time zero of the output
        # time zero of the timeline's rows
        drawn_from = origin if origin_of_rows is None else float(origin_of_rows)
        rate = Fraction(vin.average_rate or vin.guessed_rate or 25).limit_denominator(1001)
        with av.open(str(path), mode="w") as out:
            vout = out.add_stream("libx264", rate=rate)
            vout.width = vin.codec_context.width // 2 * 2
            vout.height = vin.codec_context.height // 2 * 2
            vout.pix_fmt = "yuv420p"
            vout.options = {"crf": str(int(crf)), "preset": "veryfast"}
            aout = None if ain is None else _AudioOut(out, ain)
            streams = [s for s in (vin, ain) if s is not None]
            last_pts = -1
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    if packet.stream is ain:
                        aout.add(frame, origin)
                        continue
                    t = frame.time if frame.time is not None else (last_pts + 1) / rate
                    img = frame.to_ndarray(format="rgb24")
                    img = np.ascontiguousarray(img[: vout.height, : vout.width])
                    img = draw(img, t - drawn_from)
                    drawn = av.VideoFrame.from_ndarray(img, format="rgb24")
                    # on the source's clock (a late stream keeps its offset), one tick a frame
                    last_pts = max(last_pts + 1, int(round((t - origin) * rate)))
                    drawn.pts, drawn.time_base = last_pts, 1 / rate
                    for p in vout.encode(drawn):
                        out.mux(p)
            for p in vout.encode(None):
                out.mux(p)
            if aout is not None:
                aout.close()
