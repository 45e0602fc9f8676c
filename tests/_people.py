"""Videos with several people, built from the shared CREMA-D clips at test time.

Every builder returns the frames (RGB, uint8) and the audio (16 kHz) of a scene, plus what a
test needs to check it: where each actor's face is, in which frames, and whose voice is heard.
The face crops are 128x128 at 25 fps (faces about 100 px); pasted onto a gray canvas at their
size or scaled, they stay within what dlib finds without upsampling (80 px and up).
"""

import numpy as np

FPS = 25
SR = 16000
BACKGROUND = 96


def load_clip(clip):
    """``(frames, audio, levels)`` of a face-crop clip: RGB frames, 16 kHz audio, dB per frame."""
    from emoset.io.media import load_audio, read_frames
    from emoset.video.speakers import voice_levels

    frames = read_frames(clip.video, color="rgb")
    audio = load_audio(clip.video, sr=SR)
    levels = voice_levels(audio, SR, np.arange(len(frames)) / FPS, 1 / FPS)
    return frames, audio, levels


def resize(frames, side):
    import cv2

    if frames.shape[1] == side:
        return frames
    return np.stack([cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in frames])


def still(frames, n):
    """A listener: the clip's first frame held, with a slow sway of one pixel (no speech)."""
    out = np.repeat(frames[:1], n, axis=0)
    for k in range(n):
        out[k] = np.roll(frames[0], int(round(np.sin(2 * np.pi * k / 50))), axis=1)
    return out


def canvas(n, height, width):
    return np.full((n, height, width, 3), BACKGROUND, np.uint8)


def paste(canvas_frames, frames, top, left, rows=None):
    """Put ``frames`` (one per canvas frame in ``rows``) at ``(top, left)``."""
    rows = range(len(canvas_frames)) if rows is None else rows
    side = frames.shape[1]
    for k, r in enumerate(rows):
        canvas_frames[r, top : top + side, left : left + side] = frames[k]
    return canvas_frames


def fit(audio, n_frames):
    """Audio cut or padded with silence to ``n_frames`` video frames."""
    n = int(round(n_frames / FPS * SR))
    out = np.zeros(n, np.float32)
    out[: min(n, len(audio))] = audio[:n]
    return out
