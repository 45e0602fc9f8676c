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


def blank_out(frames, keep):
    """The frames with everything outside the ``keep`` boxes painted the background."""
    out = np.full_like(frames, BACKGROUND)
    for top, left, side in keep:
        out[:, top : top + side, left : left + side] = frames[
            :, top : top + side, left : left + side
        ]
    return out


class Scene:
    """A built video: frames, audio, and the truth about it.

    Attributes
    ----------
    frames : ndarray (n, h, w, 3), audio : ndarray (16 kHz)
    places : dict
        actor -> list of ``(first frame, last frame + 1, top, left, side)`` where their face is.
    voices : dict
        actor -> list of ``(first frame, last frame + 1)`` where their voice is heard.
    """

    def __init__(self, frames, audio, places, voices):
        self.frames, self.audio, self.places, self.voices = frames, audio, places, voices

    def actor_at(self, frame, box):
        """The actor whose face is at ``box`` (left, top, right, bottom) in ``frame``."""
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        for actor, spans in self.places.items():
            for a, b, top, left, side in spans:
                if a <= frame < b and left <= cx < left + side and top <= cy < top + side:
                    return actor
        return None

    def speaker_at(self, frame):
        """The actor whose voice is heard at ``frame`` (None: nobody's)."""
        for actor, spans in self.voices.items():
            if any(a <= frame < b for a, b in spans):
                return actor
        return None

    def alone(self, actor):
        """The single clip of one person: only their face (the rest painted over), and only
        their own voice."""
        frames = np.full_like(self.frames, BACKGROUND)
        for a, b, top, left, side in self.places[actor]:
            frames[a:b, top : top + side, left : left + side] = self.frames[
                a:b, top : top + side, left : left + side
            ]
        audio = np.zeros_like(self.audio)
        for a, b in self.voices.get(actor, []):
            sa, sb = int(round(a / FPS * SR)), int(round(b / FPS * SR))
            audio[sa:sb] = self.audio[sa:sb]
        return frames, audio

    def write(self, path, frames=None, audio=None):
        from _avfiles import write_av

        frames = self.frames if frames is None else frames
        audio = self.audio if audio is None else audio
        write_av(path, [(frames, audio)], fps=FPS, sr=SR)
        return path


def side_by_side(a, b, *, small=104):
    """``a`` speaking in its own voice (128 px), ``b`` listening beside it (``small`` px)."""
    fa, ya, _ = a
    fb, _, _ = b
    n = min(len(fa), 65)
    frames = canvas(n, 200, 340)
    paste(frames, fa[:n], 30, 20)
    paste(frames, still(resize(fb, small), n), 50, 200)
    places = {"a": [(0, n, 30, 20, 128)], "b": [(0, n, 50, 200, small)]}
    return Scene(frames, fit(ya, n), places, {"a": [(0, n)]})


def three(a, b, c):
    """Three faces side by side, ``a`` speaking, the others listening."""
    fa, ya, _ = a
    n = min(len(fa), 65)
    frames = canvas(n, 170, 440)
    paste(frames, fa[:n], 20, 10)
    paste(frames, still(resize(b[0], 112), n), 30, 160)
    paste(frames, still(resize(c[0], 112), n), 30, 300)
    places = {
        "a": [(0, n, 20, 10, 128)],
        "b": [(0, n, 30, 160, 112)],
        "c": [(0, n, 30, 300, 112)],
    }
    return Scene(frames, fit(ya, n), places, {"a": [(0, n)]})


def shots(parts, size=(170, 300)):
    """Shots one after the other: ``parts`` is ``[(actor, (frames, audio, levels), first,
    n, top, left)]``; each shot shows that actor's frames ``first:first + n`` at ``(top,
    left)`` on a canvas of ``size``, with their own sound."""
    parts = [
        (x, clip, first, min(n, len(clip[0]) - first), top, left)
        for x, clip, first, n, top, left in parts
    ]
    total = sum(p[3] for p in parts)
    frames = canvas(total, *size)
    audio = np.zeros(int(round(total / FPS * SR)), np.float32)
    places, voices, k = {}, {}, 0
    for actor, (f, y, _), first, n, top, left in parts:
        paste(frames, f[first : first + n], top, left, range(k, k + n))
        a, b = int(round(k / FPS * SR)), int(round((k + n) / FPS * SR))
        src = y[int(round(first / FPS * SR)) :][: b - a]
        audio[a : a + len(src)] = src
        places.setdefault(actor, []).append((k, k + n, top, left, f.shape[1]))
        voices.setdefault(actor, []).append((k, k + n))
        k += n
    return Scene(frames, audio, places, voices)
