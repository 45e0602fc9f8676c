"""
Late fusion and its weights
===========================

The face and the voice fail on different clips, so their scores are combined late: each
subsystem scores every emotion, the scores are normalised per subsystem, and
:class:`~emoset.WeightedScoreFusion` adds them with one weight per subsystem *and emotion*
(Ding et al., ICMI 2016), chosen on out-of-fold scores of the training clips.

:class:`~emoset.AudioVisualEmotionRecognizer` does all of this inside ``fit`` (next
example); here the steps are spelled out on CREMA-D with two subsystems: emotion-CNN image
sets -> PLS, and eGeMAPS speech functionals -> SVM.
"""

# %%
# Two subsystems
# --------------
# The speech of most clips here is 8 kHz, so every clip is band-limited to 4 kHz, a fixed
# choice that learns nothing from the test clips.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone

from emoset import (
    ImageSetPLS,
    OpenSmileFeatures,
    WeightedScoreFusion,
    extract_image_sets,
    load_cremad,
    make_audio_pipeline,
)
from emoset.datasets.corpora import find_data_root
from emoset.datasets.splits import load_split
from emoset.decision.fusion import out_of_fold_scores
from emoset.decision.scoring import aligned_scores, scores_accuracy

cache = os.environ.get("EMOSET_CACHE", os.path.expanduser("~/.cache/emoset"))
clips = load_cremad(find_data_root())
y = np.array([c.label for c in clips])
speakers = np.array([c.speaker for c in clips])
classes = np.unique(y)
chance = max(np.mean(y == c) for c in classes)

sets, _ = extract_image_sets(clips, "cnn", cache_dir=cache, n_jobs=1)
speech = OpenSmileFeatures(bandwidth=4000, cache_dir=cache, n_jobs=1).fit_transform(clips)
inputs = {"video": sets, "audio": speech}
subsystems = {
    "video": ImageSetPLS("gaussian", kernel="rbf", n_pca=16, n_components=5, random_state=0),
    "audio": make_audio_pipeline("precomputed", probability=False),
}


def take(X, idx):
    return [X[i] for i in idx] if isinstance(X, list) else X[idx]


# %%
# Fusion inside speaker-independent folds
# ---------------------------------------
# The outer folds are emoset's fixed CREMA-D split (``cremad_5fold``, grouped by actor).
# Inside each training part, :func:`~emoset.decision.fusion.out_of_fold_scores` scores every
# training clip with models that never saw its actor; the fusion weights are fitted on
# those scores, then applied to the scores of the subsystems refitted on the whole training
# part. The test actors are used once.
folds = load_split("cremad_5fold", clips)
fused = {
    "global": np.full((len(y), len(classes)), np.nan),
    "per_class": np.full((len(y), len(classes)), np.nan),
}
alone = {name: np.full((len(y), len(classes)), np.nan) for name in subsystems}
weights = []
for train, test in folds:
    oof, test_scores = {}, {}
    for name, est in subsystems.items():
        X = inputs[name]
        oof[name] = out_of_fold_scores(
            est, take(X, train), y[train], groups=speakers[train], cv=4, classes=classes
        )
        model = clone(est).fit(take(X, train), y[train])
        test_scores[name] = aligned_scores(model, take(X, test), classes)
        alone[name][test] = test_scores[name]
    for scheme in fused:
        fusion = WeightedScoreFusion(scheme, classes=classes).fit(oof, y[train])
        fused[scheme][test] = fusion.decision_function(test_scores)
        if scheme == "per_class":
            weights.append(fusion.weights_)

results = {
    "video: CNN image sets -> PLS": scores_accuracy(alone["video"], y, classes),
    "audio: eGeMAPS -> SVM": scores_accuracy(alone["audio"], y, classes),
    "fusion, one weight per subsystem": scores_accuracy(fused["global"], y, classes),
    "fusion, per-class weights": scores_accuracy(fused["per_class"], y, classes),
}
for name, acc in results.items():
    print(f"{name:34s} accuracy {acc:.2f} (chance {chance:.2f})")

# %%
# The weights
# -----------
# The share of each subsystem in each emotion's fused score, averaged over the five outer
# folds (each column sums to 1). Where one modality is the better judge of an emotion it
# gets the larger share.
W = np.mean(weights, axis=0)
fig, ax = plt.subplots(figsize=(7, 2.6))
im = ax.imshow(W, cmap="Oranges", vmin=0, vmax=1)
for (i, j), w in np.ndenumerate(W):
    ax.text(j, i, f"{w:.2f}", ha="center", va="center")
ax.set_xticks(range(len(classes)), classes)
ax.set_yticks(range(len(subsystems)), list(subsystems))
ax.set_title("per-class fusion weights (mean over 5 folds)")
fig.colorbar(im, ax=ax)
fig.tight_layout()

# %%
# Accuracy of each subsystem and of the fusion
# --------------------------------------------
fig, ax = plt.subplots(figsize=(6.5, 2.8))
ax.barh(list(results), list(results.values()), color=["C0", "C1", "C2", "C3"])
ax.axvline(chance, color="k", ls="--", label=f"chance ({chance:.2f})")
ax.invert_yaxis()
ax.set(xlabel="accuracy, 5 speaker-independent folds", xlim=(0, 1))
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
