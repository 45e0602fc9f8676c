"""Write test videos with PyAV: clips concatenated, black stretches, no audio, live formats."""

from fractions import Fraction

import numpy as np


def clip_frames_and_audio(path, sr=16000):
    """All RGB frames and the 16 kHz mono audio of a clip."""
    from emoset.io.media import load_audio, read_frames

    return read_frames(path, color="rgb"), load_audio(path, sr=sr)


def write_av(path, segments, *, fps=Fraction(30000, 1001), sr=16000, fmt=None, audio=True):
    """Write ``segments`` (a list of ``(frames, samples)``) one after the other.

    Each segment's audio is cut or padded with silence to its video's length, so the segment
    boundaries are the same in both streams. ``fmt`` forces a container (e.g. ``"mpegts"``).
    """
    import av

    out = av.open(str(path), mode="w", format=fmt)
    h, w = segments[0][0].shape[1:3]
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height, vs.pix_fmt = w // 2 * 2, h // 2 * 2, "yuv420p"
    vs.options = {"preset": "ultrafast", "crf": "23", "g": "30"}
    as_ = None
    if audio:
        as_ = out.add_stream("aac", rate=sr)
        as_.layout = "mono"
    i_frame = 0
    n_samples = 0
    bounds = []
    for frames, samples in segments:
        t0 = float(i_frame / fps)
        for img in frames:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[: vs.height, : vs.width]))
            vf.pts = i_frame
            vf.time_base = 1 / Fraction(fps)
            for p in vs.encode(vf):
                out.mux(p)
            i_frame += 1
        t1 = float(i_frame / fps)
        bounds.append((t0, t1))
        if as_ is not None:
            n = int(round(t1 * sr)) - n_samples
            y = np.zeros(n, np.float32)
            y[: min(n, len(samples))] = samples[:n]
            for a in range(0, n, 1024):
                chunk = y[a : a + 1024]
                af = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
                af.sample_rate = sr
                af.pts = n_samples + a
                af.time_base = Fraction(1, sr)
                for p in as_.encode(af):
                    out.mux(p)
            n_samples += n
    for p in vs.encode(None):
        out.mux(p)
    if as_ is not None:
        for p in as_.encode(None):
            out.mux(p)
    out.close()
    return bounds
