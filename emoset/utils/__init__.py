"""Helpers every subpackage shares: the feature cache, warnings aimed at the caller,
parameter checks, packaged resources, names of image sets."""

import lazy_loader

# Loaded on first use (imports in __init__.pyi): the ``emoset`` command's parser needs
# emoset.utils.validation, not the caches (NumPy, joblib).
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
