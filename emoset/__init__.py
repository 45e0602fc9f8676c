"""emoset: audio-visual emotion recognition with image-set manifold kernels.

Faces are found and aligned in every frame, each frame becomes a feature vector, the frames of a
clip form an image set summarised by a subspace, covariance or Gaussian on a Riemannian
manifold, manifold kernels feed one-vs-rest PLS classifiers, the speech track goes through
openSMILE and an SVM, and per-class weighted late fusion combines the scores.

>>> from emoset import ImageSetPLS
"""

import logging

import lazy_loader

# The public names load on first use (PEP 562; the imports are in __init__.pyi, which type
# checkers and editors read too): ``import emoset`` and ``emoset --help`` do not import
# scikit-learn, and ``from emoset import ImageSetPLS`` works as before.
__getattr__, __dir__, _names = lazy_loader.attach_stub(__name__, __file__)

# the subpackages (``emoset.sets`` works after ``import emoset``) are not in ``__all__``
_SUBPACKAGES = (
    "app",
    "audio",
    "datasets",
    "decision",
    "io",
    "recognizer",
    "sets",
    "utils",
    "video",
)
__all__ = [name for name in _names if name not in _SUBPACKAGES]

logging.getLogger(__name__).addHandler(logging.NullHandler())
