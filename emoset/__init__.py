"""emoset: audio-visual emotion recognition with image-set manifold kernels.

Faces are found and aligned in every frame, each frame becomes a feature vector, the frames of a
clip form an image set summarised by a subspace, covariance or Gaussian on a Riemannian
manifold, manifold kernels feed one-vs-rest PLS classifiers, the speech track goes through
openSMILE and an SVM, and per-class weighted late fusion combines the scores.
"""

import logging

from .datasets import Clip, load_afew, load_cremad, load_manifest, load_ravdess
from .media import MediaError, load_audio, read_frames

__version__ = "0.1.0.dev0"

__all__ = [
    "__version__",
    "Clip",
    "MediaError",
    "load_afew",
    "load_audio",
    "load_cremad",
    "load_manifest",
    "load_ravdess",
    "read_frames",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
