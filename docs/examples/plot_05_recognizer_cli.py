"""
The whole recognizer: the ``emoset`` command and ``predict_records``
=====================================================================

:class:`~emoset.AudioVisualEmotionRecognizer` is the complete system: video subsystems
(image sets -> PLS, the set model picked by inner cross-validation), audio subsystems (speech
functionals -> SVM, the feature set picked the same way) and per-class weighted fusion fitted on
out-of-fold scores. The ``emoset`` command trains, evaluates and applies it; here it runs
in-process through :func:`emoset.app.cli.main`, exactly as ``emoset ...`` on a shell. Then the
saved model is loaded in Python and :meth:`~emoset.AudioVisualEmotionRecognizer.predict_records`
says, for each clip, the label, the scores and which subsystems decided.
"""

# %%
# Hold out a fifth of the actors
# ------------------------------
# The actors of the first fold of emoset's fixed CREMA-D split are never seen in training.
import os
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from emoset import load_cremad, load_model
from emoset.app.cli import main
from emoset.datasets.corpora import find_data_root
from emoset.datasets.splits import load_split

cache = os.environ.get("EMOSET_CACHE", os.path.expanduser("~/.cache/emoset"))
root = find_data_root()
clips = load_cremad(root)
_, test = load_split("cremad_5fold", clips)[0]
held_out = sorted({clips[i].speaker for i in test})
print(f"{len(test)} clips of {len(held_out)} held-out actors: {', '.join(held_out)}")

# %%
# ``emoset train``
# ----------------
# One video subsystem (emotion-CNN image sets, the default; ``--video densesift,cnn`` adds DenseSIFT) and
# the default audio subsystem. The model is saved with skops, its SHA-256 beside it.
out = Path(tempfile.mkdtemp(prefix="emoset-example-"))
model_path = out / "model.skops"
common = ["--data-root", str(root), "--cache-dir", cache, "--n-jobs", "1"]
held = ",".join(held_out)
status = main(
    ["train", "--corpus", "cremad", "--exclude-speakers", held, "--video", "cnn"]
    + ["-o", str(model_path), *common]
)
print("exit status", status, "| files:", sorted(p.name for p in out.iterdir()))

# %%
# ``emoset evaluate`` on the held-out actors
# ------------------------------------------
# Accuracy and unweighted average recall, with both chance levels beside them.
status = main(["evaluate", str(model_path), "--corpus", "cremad", "--speakers", held, *common])

# %%
# ``emoset predict`` on files
# ---------------------------
# Each path is one clip: a video with its own audio track (both subsystems decide), or an
# audio file alone (the audio subsystem decides; the video subsystem abstains).
clip = clips[test[0]]
status = main(["predict", str(model_path), str(clip.video), str(clip.audio), *common[2:]])
print(f"(true emotion: {clip.label}; exit status {status})")

# %%
# ``predict_records`` in Python
# -----------------------------
# :func:`~emoset.load_model` checks the digest and rebuilds only emoset's and scikit-learn's
# types. ``predict_records`` gives one :class:`~emoset.ClipResult` per clip: the label (or
# ``None`` and the reason), the fused scores, and the subsystems used.
model = load_model(model_path, cache_dir=cache)
test_clips = [clips[i] for i in test]
records = model.predict_records(test_clips)
table = pd.DataFrame([r.to_dict() for r in records]).set_index("clip")
table["true"] = [c.label for c in test_clips]
print(table[["true", "label", "subsystems"]].to_string())
accuracy = np.mean(table["label"] == table["true"])
chance = max(np.mean(table["true"] == c) for c in set(table["true"]))
print(f"accuracy on the held-out actors {accuracy:.2f} (chance {chance:.2f})")

# %%
# The fused scores of the held-out clips
# --------------------------------------
# Each row is a clip's softmax over the fused scores (a ranking, not a calibrated
# probability); the box marks the true emotion.
scores = pd.DataFrame([r.scores for r in records], index=table.index)
fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(scores) + 1.2))
ax.imshow(scores.to_numpy(dtype=float), cmap="Greens", aspect="auto", vmin=0)
for i, true in enumerate(table["true"]):
    j = list(scores.columns).index(true)
    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
ax.set_xticks(range(scores.shape[1]), scores.columns)
ax.set_yticks(range(len(scores)), scores.index, fontsize=7)
ax.set_title(
    f"fused scores of held-out actors (accuracy {accuracy:.2f}, chance {chance:.2f})", fontsize=9
)
fig.tight_layout()
plt.show()
shutil.rmtree(out, ignore_errors=True)  # the model and its digest
