"""
The speech SVM on RAVDESS
=========================

The audio subsystem: openSMILE's eGeMAPS functionals (88 per clip) of the speech, a
standard scaler and an RBF SVM that abstains instead of guessing
(:func:`~emoset.make_audio_pipeline`). Six RAVDESS actors keep the example quick (360 clips,
8 emotions); every accuracy is leave-one-actor-out.

openSMILE's licence allows research and education only; :class:`~emoset.LibrosaFeatures`
is the drop-in alternative for other uses (``make_audio_pipeline("librosa")``).
"""

# %%
# Features, extracted once
# ------------------------
# Extracting inside every cross-validation fold would give the same numbers (the features
# are cached by content), but extracting once and cross-validating the ``"precomputed"``
# pipeline is the quick way.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold

from emoset import OpenSmileFeatures, load_ravdess, make_audio_pipeline, standardize_per_speaker
from emoset.app.report import chance_levels, classification_metrics
from emoset.datasets.corpora import find_data_root

cache = os.environ.get("EMOSET_CACHE", os.path.expanduser("~/.cache/emoset"))
actors = ["01", "02", "03", "04", "05", "06"]  # odd: male, even: female
clips = [c for c in load_ravdess(find_data_root()) if c.speaker in actors]
X = OpenSmileFeatures("eGeMAPSv02", cache_dir=cache, n_jobs=1).fit_transform(clips)
y = np.array([c.label for c in clips])
speakers = np.array([c.speaker for c in clips])
chance = chance_levels(y)
print(
    f"{X.shape[0]} clips x {X.shape[1]} functionals, {len(set(y))} emotions, {len(actors)} actors"
)

# %%
# Leave one actor out
# -------------------
# Each actor's clips are predicted by a model trained on the five others. The SVM abstains
# (label ``None``) on a clip far from all its training clips; an abstention counts as wrong.
svm = make_audio_pipeline("precomputed", probability=False)
cv = GroupKFold(len(actors))


def leave_one_actor_out(features):
    pred = np.empty(len(y), dtype=object)
    for train, test in cv.split(features, y, speakers):
        pred[test] = clone(svm).fit(features[train], y[train]).predict(features[test])
    return np.array(["(abstained)" if p is None else p for p in pred])


pred = leave_one_actor_out(X)
m = classification_metrics(y, pred, labels=sorted(set(y)))
print(f"{np.sum(pred == '(abstained)')} abstentions")
print(
    f"accuracy {m['accuracy']:.2f}, UAR {m['uar']:.2f} "
    f"(chance: majority {chance['majority']:.2f}, uniform {chance['uniform']:.2f})"
)

# %%
# Per-speaker normalisation
# -------------------------
# Z-scoring each actor's features with that actor's own statistics removes much of the
# difference between voices. It uses no labels, but it needs several clips of the test actor
# at once (it is *transductive*), so emoset never applies it by default and reports it
# separately.
Xz = standardize_per_speaker(X, speakers)
pred_z = leave_one_actor_out(Xz)
mz = classification_metrics(y, pred_z, labels=sorted(set(y)))
print(f"with per-speaker z-scores: accuracy {mz['accuracy']:.2f}, UAR {mz['uar']:.2f}")

# %%
# Confusions
# ----------
# Rows are the true emotion, each normalised to the share of its clips.
cm = np.array(m["confusion"], dtype=float)[: len(m["recall"])]  # rows: the true emotions
rates = cm / cm.sum(axis=1, keepdims=True)
fig, ax = plt.subplots(figsize=(6, 5))
ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
for (i, j), r in np.ndenumerate(rates):
    ax.text(
        j,
        i,
        f"{r:.2f}",
        ha="center",
        va="center",
        fontsize=7,
        color="white" if r > 0.6 else "black",
    )
ax.set_xticks(range(len(m["labels"])), m["labels"], rotation=45, ha="right")
ax.set_yticks(range(len(m["recall"])), list(m["recall"]))
ax.set(
    xlabel="predicted",
    ylabel="true",
    title=f"eGeMAPS SVM, leave one actor out\naccuracy {m['accuracy']:.2f} "
    f"(chance {chance['majority']:.2f})",
)
fig.tight_layout()

# %%
# Accuracy by held-out actor
# --------------------------
per_actor = [np.mean(pred[speakers == a] == y[speakers == a]) for a in actors]
per_actor_z = [np.mean(pred_z[speakers == a] == y[speakers == a]) for a in actors]
fig, ax = plt.subplots(figsize=(6, 3))
x = np.arange(len(actors))
ax.bar(x - 0.2, per_actor, 0.4, label="features as extracted")
ax.bar(x + 0.2, per_actor_z, 0.4, label="per-speaker z-scores")
ax.axhline(chance["majority"], color="k", ls="--", label="chance (majority)")
ax.set_xticks(x, [f"actor {a}" for a in actors])
ax.set(ylabel="accuracy", ylim=(0, 1))
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
