"""
Emotion over time in a long video
=================================

A recognizer trained on short clips labels a long video window by window:
:meth:`~emoset.AudioVisualEmotionRecognizer.predict_timeline` slides a 2 s window every
0.5 s, aligns and featurises every kept frame once, cuts the audio into the same windows and
fuses the subsystems' scores per window. Here the six full-frame CREMA-D clips of actor 1001
(one per emotion) are joined into one 13 s video, so the answer is known segment by segment.
The same runs on a live stream with ``live=True`` or ``emoset timeline MODEL URL --live``.
"""

# %%
# A small recognizer, reading video at 5 frames per second
# --------------------------------------------------------
# Emotion-CNN image sets (mean pooling -> PLS) and eGeMAPS -> SVM, trained on the 80
# face-crop clips (actor 1001 is not among them).
import os
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import matplotlib.pyplot as plt
import numpy as np

from emoset import (
    AudioVisualEmotionRecognizer,
    ImageSetPLS,
    load_cremad,
    make_audio_pipeline,
    make_video_pipeline,
)
from emoset.datasets.corpora import find_data_root
from emoset.io.media import load_audio, read_frames

cache = os.environ.get("EMOSET_CACHE", os.path.expanduser("~/.cache/emoset"))
root = find_data_root()
video = make_video_pipeline(
    "cnn", ImageSetPLS("mean", kernel="rbf", n_pca=32, n_components=5, random_state=0)
)
model = AudioVisualEmotionRecognizer(
    video={"video": video},
    audio={"audio": make_audio_pipeline("egemaps", probability=False)},
    fps=5,
    inner_cv=3,
    cache_dir=cache,
    n_jobs=1,
)
model.fit(load_cremad(root, subsets=["facecrop128"]))

# %%
# One long video from six clips
# -----------------------------
# Written with PyAV: H.264 video and AAC audio, each clip's audio placed under its frames.
clips = sorted((root / "cremad" / "native" / "video").glob("1001_DFA_*_XX.mp4"))
path = Path(tempfile.mkdtemp(prefix="emoset-timeline-")) / "six_emotions.mp4"
fps, sr = Fraction(30000, 1001), 16000
bounds = []
with av.open(str(path), "w") as out:
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height, vs.pix_fmt = 480, 360, "yuv420p"
    aus = out.add_stream("aac", rate=sr)
    aus.layout = "mono"
    n_frames = n_samples = 0
    for clip in clips:
        start = float(n_frames / fps)
        for img in read_frames(clip):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = n_frames, 1 / fps
            out.mux(vs.encode(frame))
            n_frames += 1
        bounds.append((start, float(n_frames / fps), clip.stem.split("_")[2]))
        n = int(round(n_frames / fps * sr)) - n_samples
        y = np.zeros(n, np.float32)
        speech = load_audio(clip, sr=sr)[:n]
        y[: len(speech)] = speech
        for a in range(0, n, 1024):
            chunk = av.AudioFrame.from_ndarray(y[None, a : a + 1024], format="flt", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = sr, n_samples + a, Fraction(1, sr)
            out.mux(aus.encode(chunk))
        n_samples += n
    out.mux(vs.encode(None))
    out.mux(aus.encode(None))

# %%
# The timeline
# ------------
# One row per window: its span, the fused label, a score per class (softmax of the fused
# scores), the aligned faces it holds, whether it has speech, and the subsystems that scored.
timeline = model.predict_timeline(path, window=2.0, hop=0.5)
print(timeline[["start", "end", "label", "n_faces", "speech", "subsystems"]].to_string())
print("time per stage (s):", {k: round(v, 2) for k, v in timeline.attrs["seconds"].items()})

# %%
# Scores over time
# ----------------
# Each window's scores at its centre; the true emotion of each segment along the top.
classes = [str(c) for c in model.classes_]
mid = (timeline["start"] + timeline["end"]) / 2
fig, ax = plt.subplots(figsize=(9, 3.5))
for c in classes:
    ax.plot(mid, timeline[c], label=c)
for t0, t1, emotion in bounds:
    ax.axvline(t0, color="0.6", lw=0.8)
    ax.text((t0 + t1) / 2, 0.95, emotion, ha="center", va="top", fontsize=9)
ax.set_xlabel("time (s)")
ax.set_ylabel("score (softmax)")
ax.set_ylim(0, 1)
ax.legend(ncol=6, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2))
fig.tight_layout()
plt.show()
