"""
Ready on first use: the bundled model, its card and the report page
====================================================================

emoset ships a trained model (``emoset/models/cremad.skops``, built by ``make pretrained`` from
the CREMA-D clips), so the command answers without a model argument: ``emoset predict
CLIP``, ``emoset info`` and ``emoset timeline SOURCE --html report.html``. Here the three run
in-process through :func:`emoset.app.cli.main`, exactly as on a shell.
"""

# %%
# ``emoset info``: the model's card
# ---------------------------------
# What it was trained on and under which licence, its subsystems, its speaker-independent
# accuracy beside chance and the CREMA-D crowd raters, what it was not trained on.
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from emoset.app.cli import main
from emoset.datasets.corpora import find_data_root

cache = os.environ.get("EMOSET_CACHE", os.path.expanduser("~/.cache/emoset"))
status = main(["info"])

# %%
# ``emoset predict`` with no model given
# --------------------------------------
# A full-frame clip (its face found, aligned and featurised, its speech analysed) and the
# speech of a face-crop clip on its own. These clips were among the model's training clips:
# the card's cross-validated accuracy, not this answer, says how it does on new speakers.
root = find_data_root()
video = root / "cremad" / "native" / "video" / "1001_DFA_HAP_XX.mp4"
speech = root / "cremad" / "facecrop128" / "audio" / "1005_IEO_ANG_HI.wav"
status = main(["predict", str(video), str(speech), "--cache-dir", cache])

# %%
# ``emoset timeline --html``
# --------------------------
# Windows of 2 s every 0.5 s, written as one page that needs no network: the video (embedded,
# being small), a lane of score curves over the label band, a cursor that follows playback.
out = Path(tempfile.mkdtemp(prefix="emoset-report-"))
status = main(["timeline", str(video), "--html", str(out / "report.html"), "--cache-dir", cache])
print(f"{(out / 'report.html').stat().st_size / 1e6:.2f} MB page, exit status {status}")

# %%
# The page in a browser
# ---------------------
# A screenshot taken by the test that opens such a page in headless Chromium
# (``tests/app/test_timeline_page.py``, ``make screenshots``): the six full-frame clips of
# actor 1001 joined into one 13-s video, the cursor at 2 s, the pointer over the window at
# 5-7 s showing its scores and why the speech subsystem abstained there.
here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
shot = plt.imread(here.parent / "images" / "timeline_report.png")
fig, ax = plt.subplots(figsize=(9, 9 * shot.shape[0] / shot.shape[1]))
ax.imshow(shot)
ax.set_axis_off()
fig.tight_layout()
plt.show()
