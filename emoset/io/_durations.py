"""How long a file says its streams are: the durations headers promise, for truncation checks.

:mod:`emoset.io.media` compares what it decoded with these. A duration is taken only where a
header states it (the sample tables of mp4/mov/m4a, Matroska's per-track ``DURATION`` tag, an
mp3's Xing/Info/VBRI frame count, the WAV/AIFF frame counts); elsewhere there is nothing to
compare with.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

__all__: list[str] = []


def _format_names(container) -> set:
    return set(container.format.name.split(","))


def _matroska_duration(stream) -> float | None:
    """The per-track ``DURATION`` tag Matroska muxers write (``HH:MM:SS.nnnnnnnnn``).

    It is the track's end time, which exceeds its length when the track starts late.
    """
    for key, value in stream.metadata.items():
        if key.upper().split("-")[0] == "DURATION":
            try:
                h, m, s = value.strip().split(":")
                return int(h) * 3600 + int(m) * 60 + float(s)
            except ValueError:
                return None
    return None


def _mp3_has_frame_count(path: Path) -> bool:
    """Whether an mp3 starts with a Xing/Info/VBRI header (a frame count, not a guess)."""
    with open(path, "rb") as f:
        head = f.read(10)
        offset = 0
        if len(head) == 10 and head[:3] == b"ID3":
            size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14
            size |= (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
            offset = 10 + size + (10 if head[5] & 0x10 else 0)
        f.seek(offset)
        data = f.read(4096)
    for i in range(len(data) - 1):
        if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0:
            frame = data[i : i + 200]
            return any(tag in frame for tag in (b"Xing", b"Info", b"VBRI"))
    return False


def _promised_seconds(path: Path, container, stream) -> float | None:
    """What the header says a stream lasts, where the container states it (see module doc)."""
    names = _format_names(container)
    seconds = None
    if names & {"mov", "mp4", "wav", "aiff", "flac", "w64"}:
        if stream.duration and stream.time_base:
            seconds = float(stream.duration * stream.time_base)
    elif "matroska" in names:
        seconds = _matroska_duration(stream)  # where the track ends, not how long it lasts
        if seconds is not None and stream.start_time and stream.time_base:
            seconds -= max(0.0, float(stream.start_time * stream.time_base))
    elif "avi" in names:
        if stream.type == "video" and stream.frames:
            rate = stream.average_rate or stream.guessed_rate
            seconds = float(stream.frames / rate) if rate else None
    elif "mp3" in names and stream.duration and stream.time_base and _mp3_has_frame_count(path):
        seconds = float(stream.duration * stream.time_base)
    return seconds if seconds is not None and seconds > 0 else None


def _riff_header_frames(path: Path) -> int | None:
    """Sample frames a WAV/RF64 or AIFF header promises (None: unknown or not such a file).

    libsndfile silently shortens a file whose data chunk runs past the end of the file, so the
    promise has to be read from the header itself.
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12:
            return None
        tag, form = head[:4], head[8:12]
        if tag in (b"RIFF", b"RIFX", b"RF64", b"BW64") and form == b"WAVE":
            endian, wav = (">" if tag == b"RIFX" else "<"), True
        elif tag == b"FORM" and form in (b"AIFF", b"AIFC"):
            endian, wav = ">", False
        else:
            return None
        block_align = fmt_tag = ds64 = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
            if wav and cid == b"data":
                if size == 0xFFFFFFFF and ds64 is not None:
                    size = ds64
                if size in (0, 0xFFFFFFFF) or not block_align:
                    return None  # written as a stream: the size was never filled in
                if fmt_tag not in (1, 3, 6, 7, 0xFFFE):  # compressed: no fixed block per frame
                    return None
                return size // block_align
            body = f.read(min(size, 64))
            if wav and cid == b"fmt " and len(body) >= 14:
                fmt_tag, _, _, _, block_align = struct.unpack(endian + "HHIIH", body[:14])
            elif wav and cid == b"ds64" and len(body) >= 16:
                ds64 = struct.unpack("<Q", body[8:16])[0]
            elif not wav and cid == b"COMM" and len(body) >= 6:
                frames = struct.unpack(">I", body[2:6])[0]
                return frames or None
            f.seek(size - len(body) + (size & 1), os.SEEK_CUR)
