"""
Set model x kernel: a grid search grouped by speaker
====================================================

:class:`~emoset.ImageSetPLS` is an ordinary scikit-learn classifier over a list of image
sets, so :class:`~sklearn.model_selection.GridSearchCV` can choose the set model and the
kernel. Two rules keep the estimate honest:

* every split is grouped by actor (:class:`~sklearn.model_selection.GroupKFold` with
  ``groups=speakers``), so the model is always scored on actors it has not seen;
* the grid's best score is optimistic (it is the maximum of twelve noisy estimates), so the
  accuracy reported is *nested*: the search runs inside each outer training fold and the
  chosen configuration is scored once on the outer test actors.
"""

# %%
# Image sets
# ----------
import os
import shutil
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, GroupKFold

from emoset import ImageSetPLS, extract_image_sets, load_cremad
from emoset.datasets.corpora import find_data_root

cache = os.environ.get("EMOSET_CACHE", os.path.expanduser("~/.cache/emoset"))
clips = load_cremad(find_data_root())
sets, _ = extract_image_sets(clips, "cnn", cache_dir=cache, n_jobs=1)
y = np.array([c.label for c in clips])
speakers = np.array([c.speaker for c in clips])
chance = max(np.mean(y == label) for label in set(y))

# %%
# The grid
# --------
# Frames go through a 16-D PCA (fitted on training frames only) to keep the covariance
# models small for about 70 training clips. ``memory`` caches the set-model step, so the
# three kernels of a set model share one PCA and one set of summaries per fold.
grid = {
    "set_model": ["subspace", "covariance", "gaussian", "mean"],
    "kernel": ["linear", "poly", "rbf"],
}
memory = tempfile.mkdtemp(prefix="emoset-grid-")
base = ImageSetPLS(n_pca=16, n_dims=5, n_components=5, memory=memory, random_state=0)
search = GridSearchCV(base, grid, cv=GroupKFold(3))

# %%
# Nested, speaker-independent accuracy
# ------------------------------------
# The outer loop holds out a fifth of the actors; the search sees only the others.
outer = GroupKFold(5)
correct, chosen, inner_scores = [], [], []
for train, test in outer.split(sets, y, speakers):
    search.fit([sets[i] for i in train], y[train], groups=speakers[train])
    pred = search.predict([sets[i] for i in test])
    correct.extend(pred == y[test])
    chosen.append(f"{search.best_params_['set_model']}/{search.best_params_['kernel']}")
    inner_scores.append(pd.DataFrame(search.cv_results_))
shutil.rmtree(memory, ignore_errors=True)
print(f"nested accuracy {np.mean(correct):.2f} (chance {chance:.2f})")
print("chosen in the five outer folds:", ", ".join(chosen))

# %%
# The whole grid, descriptively
# -----------------------------
# How the configurations compared inside the searches: each cell is the inner
# speaker-grouped accuracy, averaged over the five outer training folds. Picking the best
# cell afterwards would be picking on test data; the nested figure above is the one to quote.
table = pd.concat(inner_scores).groupby(["param_set_model", "param_kernel"])["mean_test_score"]
table = table.mean().unstack("param_kernel")
table = table.loc[grid["set_model"], grid["kernel"]]
print(table.round(2))

fig, ax = plt.subplots(figsize=(5.5, 3.8))
im = ax.imshow(table.to_numpy(), cmap="Blues", vmin=0, vmax=max(0.6, table.to_numpy().max()))
for (i, j), value in np.ndenumerate(table.to_numpy()):
    ax.text(j, i, f"{value:.2f}", ha="center", va="center")
ax.set_xticks(range(table.shape[1]), table.columns)
ax.set_yticks(range(table.shape[0]), table.index)
ax.set_title(f"speaker-grouped CV accuracy (chance {chance:.2f})")
fig.colorbar(im, ax=ax)
fig.tight_layout()
plt.show()
