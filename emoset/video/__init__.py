"""Faces found, tracked and aligned in every frame; frame features; clips turned into image sets."""

import lazy_loader

# Loaded on first use (imports in __init__.pyi): a process that only aligns faces
# (emoset.video.tracking) does not import scikit-learn and the frame features.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
