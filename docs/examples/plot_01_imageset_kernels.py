"""
Image-set kernels and ImageSetPLS on CREMA-D
=============================================

Every clip becomes an *image set*: one feature vector per aligned face, here the 128-D
penultimate activations of the emotion CNN. A set model summarises each set as a point on a
manifold (a linear subspace, a covariance matrix, a Gaussian, or just the mean), a kernel
compares those points, and one-vs-rest PLS turns kernel rows into per-emotion scores
(Liu et al., ICMI 2014). This example draws the kernel matrix of each set model over the
CREMA-D clips and measures each model with speaker-independent cross-validation.
"""

# %%
# The clips and their image sets
# ------------------------------
# :func:`~emoset.datasets.corpora.find_data_root` finds the data (``$EMOSET_DATA``,
# ``../shared/data``, ...). Faces and features are cached by content, so only the first run
# decodes and aligns the videos.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GroupKFold, cross_val_score

from emoset import ImageSetPLS, extract_image_sets, load_cremad, make_imageset_pipeline
from emoset.datasets.corpora import find_data_root

cache = os.environ.get("EMOSET_CACHE", os.path.expanduser("~/.cache/emoset"))
clips = load_cremad(find_data_root())
sets, info = extract_image_sets(clips, "cnn", cache_dir=cache, n_jobs=1)
y = np.array([c.label for c in clips])
speakers = np.array([c.speaker for c in clips])
print(
    f"{len(clips)} clips of {len(set(speakers))} actors; frames per set: "
    f"{info['n_faces'].min()} to {info['n_faces'].max()}, feature size {sets[0].shape[1]}"
)

# %%
# A few image sets
# ----------------
# Each set is a cloud of points, one per frame. Projected on the two leading principal axes
# of all frames, the frames of one clip stay together and drift as the expression unfolds.
frames = np.vstack(sets)
mean = frames.mean(axis=0)
axes = np.linalg.svd(frames - mean, full_matrices=False)[2][:2]
fig, ax = plt.subplots(figsize=(6, 4.5))
for emotion, marker in zip(["anger", "happy", "sad", "neutral"], "os^D", strict=True):
    i = int(np.flatnonzero(y == emotion)[0])
    p = (sets[i] - mean) @ axes.T
    ax.plot(p[:, 0], p[:, 1], marker=marker, ms=3, lw=0.8, label=f"{clips[i].id} ({emotion})")
ax.set(xlabel="principal axis 1", ylabel="principal axis 2", title="Frames of four clips")
ax.legend(fontsize=7)

# %%
# Kernel matrices of the four set models
# --------------------------------------
# The first two steps of :func:`~emoset.make_imageset_pipeline` (set model, kernel) give
# the Gram matrix. Clips are sorted by emotion; blocks along the diagonal would mean clips
# of one emotion resemble each other more than they resemble the rest.
order = np.argsort(y, kind="stable")
models = {
    "subspace (projection)": dict(set_model="subspace", kernel="linear", n_dims=5, n_pca=32),
    "covariance (log-Euclidean)": dict(set_model="covariance", kernel="rbf", n_pca=16),
    "Gaussian (SPD embedding)": dict(set_model="gaussian", kernel="rbf", n_pca=16),
    "mean (baseline)": dict(set_model="mean", kernel="rbf", n_pca=32),
}
fig, axs = plt.subplots(1, 4, figsize=(13, 3.6))
for ax, (name, params) in zip(axs, models.items(), strict=True):
    params = dict(params)
    pipe = make_imageset_pipeline(params.pop("set_model"), random_state=0, **params)
    K = pipe[:2].fit_transform([sets[i] for i in order])
    ax.imshow(K, cmap="viridis")
    edges = np.flatnonzero(y[order][1:] != y[order][:-1]) + 0.5
    for e in edges:
        ax.axhline(e, color="white", lw=0.5)
        ax.axvline(e, color="white", lw=0.5)
    ax.set_title(name, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
centres = [np.mean(np.flatnonzero(y[order] == label)) for label in np.unique(y)]
axs[0].set_yticks(centres, np.unique(y), fontsize=7)
fig.tight_layout()

# %%
# Speaker-independent accuracy
# ----------------------------
# :class:`~emoset.ImageSetPLS` chains the same steps with one PLS per emotion. Folds are
# grouped by actor (:class:`~sklearn.model_selection.GroupKFold`), so no actor is in both
# the training and the test part; chance is the majority-class rate. The subspace model
# warns about the 3-frame clip ``1076_MTI_NEU_XX``: its frames span fewer dimensions than
# the basis asks for, so the missing columns are zero.
chance = max(np.mean(y == label) for label in set(y))
accuracy = {}
for name, params in models.items():
    params = dict(params)
    clf = ImageSetPLS(params.pop("set_model"), n_components=5, random_state=0, **params)
    scores = cross_val_score(clf, sets, y, groups=speakers, cv=GroupKFold(5))
    accuracy[name] = scores
    print(f"{name:28s} accuracy {scores.mean():.2f} +- {scores.std():.2f} (chance {chance:.2f})")

fig, ax = plt.subplots(figsize=(6, 3))
names = list(accuracy)
ax.barh(names, [accuracy[n].mean() for n in names], xerr=[accuracy[n].std() for n in names])
ax.axvline(chance, color="k", ls="--", label=f"chance ({chance:.2f})")
ax.set(xlabel="accuracy, 5 speaker-independent folds", xlim=(0, 1))
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
