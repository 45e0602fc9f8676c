"""
Bad input and abstention
========================

A recognizer meets files it cannot use: cut downloads, files that are not media at all,
silence, noise, clips far shorter than anything it was trained on. emoset never answers the
prior class for such a clip. A subsystem that has no basis for a clip *abstains* (NaN scores
and a reason), the fusion decides from the subsystems left, and a clip no subsystem can score
gets no label and the reasons. :meth:`~emoset.AudioVisualEmotionRecognizer.predict_records`
reports all of it, one :class:`~emoset.ClipResult` per input.
"""

# %%
# A small recognizer
# ------------------
# One video subsystem (emotion-CNN image sets, mean pooling -> PLS) and one audio subsystem
# (eGeMAPS -> SVM), trained on four of the five folds of emoset's fixed CREMA-D split.
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import soundfile as sf

from emoset import (
    AudioVisualEmotionRecognizer,
    ImageSetPLS,
    load_cremad,
    make_audio_pipeline,
    make_video_pipeline,
)
from emoset.datasets.corpora import find_data_root
from emoset.datasets.splits import load_split

cache = os.environ.get("EMOSET_CACHE", os.path.expanduser("~/.cache/emoset"))
clips = load_cremad(find_data_root())
train, test = load_split("cremad_5fold", clips)[1]
video = make_video_pipeline(
    "cnn", ImageSetPLS("mean", kernel="rbf", n_pca=32, n_components=5, random_state=0)
)
model = AudioVisualEmotionRecognizer(
    video={"video": video},
    audio={"audio": make_audio_pipeline("egemaps", probability=False)},
    inner_cv=3,
    cache_dir=cache,
    n_jobs=1,
)
model.fit([clips[i] for i in train])
print("trained on", len(train), "clips; classes:", ", ".join(model.classes_))

# %%
# The inputs
# ----------
# A held-out clip as it should be, and what can go wrong with it. ``1076_MTI_NEU_XX`` is a
# real CREMA-D clip that was cut upstream to 3 frames (0.1 s); the others are made here from
# a held-out clip.
tmp = Path(tempfile.mkdtemp(prefix="emoset-bad-input-"))
good = next(clips[i] for i in test if clips[i].id != "1076_MTI_NEU_XX")
short = next(clips[i] for i in test if clips[i].id == "1076_MTI_NEU_XX")
data = good.video.read_bytes()
(tmp / "cut_download.mp4").write_bytes(data[: len(data) * 2 // 5])
(tmp / "not_a_video.mp4").write_text("<html>404 Not Found</html>\n")
rate = 16000
sf.write(tmp / "silence.wav", np.zeros(2 * rate, dtype=np.float32), rate)
noise = np.random.default_rng(0).normal(0, 0.3, 2 * rate).astype(np.float32)
sf.write(tmp / "white_noise.wav", noise, rate)
inputs = {
    "held-out clip (video + its audio)": good.video,
    "its speech alone (.wav)": good.audio,
    "3-frame clip from the corpus": short.video,
    "cut download (40 % of the file)": tmp / "cut_download.mp4",
    "not a video (an HTML page)": tmp / "not_a_video.mp4",
    "missing file": tmp / "missing.mp4",
    "digital silence (.wav)": tmp / "silence.wav",
    "white noise (.wav)": tmp / "white_noise.wav",
}

# %%
# One record per input
# --------------------
# The warnings ``predict_records`` raises say the same as the records; they are silenced here
# to keep the output short.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    records = model.predict_records([str(p) for p in inputs.values()])
table = pd.DataFrame([r.to_dict() for r in records], index=list(inputs))
table["label"] = table["label"].fillna("(no label)")
print(table[["label", "subsystems", "ood"]].to_string())
for name, r in zip(inputs, records, strict=True):
    for sub, why in r.reasons.items():
        print(f"{name}: {sub} abstained: {why}")
    for caveat in r.warnings:
        print(f"{name}: caveat: {caveat}")

# %%
# Using what decodes of a cut file
# --------------------------------
# By default a truncated file is unreadable. With ``allow_partial=True`` the part that
# decodes is scored, and the record carries the caveat.
model.set_params(allow_partial=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    (partial,) = model.predict_records([str(tmp / "cut_download.mp4")])
model.set_params(allow_partial=False)
print(f"label {partial.label} from {partial.subsystems}; caveats: {partial.warnings}")
for sub, why in partial.reasons.items():
    print(f"{sub} abstained: {why}")
shutil.rmtree(tmp, ignore_errors=True)

# %%
# Who decided
# -----------
# Green: the subsystem scored the input; orange: it abstained. An input with both orange gets
# no label.
used = np.array([[sub in r.subsystems for sub in model.subsystems_] for r in records])
fig, ax = plt.subplots(figsize=(6.5, 3.8))
ax.imshow(
    used,
    cmap=plt.matplotlib.colors.ListedColormap(["#f0a050", "#6cbf6c"]),
    vmin=0,
    vmax=1,
    aspect="auto",
)
for i in range(len(records)):
    for j in range(len(model.subsystems_)):
        ax.text(j, i, "scored" if used[i, j] else "abstained", ha="center", va="center", fontsize=8)
ax.set_xticks(range(len(model.subsystems_)), list(model.subsystems_))
ax.set_yticks(
    range(len(records)),
    [f"{n}  ->  {r.label or 'no label'}" for n, r in zip(inputs, records, strict=True)],
    fontsize=8,
)
ax.set_title("subsystems used per input, and the fused label", fontsize=9)
fig.tight_layout()
plt.show()
