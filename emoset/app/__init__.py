"""The ``emoset`` command and what it draws and writes: overlays, figures and tables, the
timeline report page, Dask."""

import lazy_loader

# Loaded on first use (imports in __init__.pyi): the ``emoset`` command's parser
# (emoset.app.cli) starts without the plotting and video-writing modules.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
