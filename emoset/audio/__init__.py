"""Speech: pure functions on a decoded signal, openSMILE and librosa functionals, per-speaker
normalisation, augmentation."""

import lazy_loader

# Loaded on first use (imports in __init__.pyi): a process that only extracts one clip's
# speech (emoset.audio.clip_audio) does not import scikit-learn and the transformers.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
