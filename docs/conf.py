"""Sphinx configuration of emoset's documentation (``make docs``).

The build is offline: no intersphinx, no remote images or fonts fetched at build time. It runs
with warnings as errors (``-W --keep-going``) and ``nitpicky``: every cross-reference must
resolve. Names outside emoset (NumPy, scikit-learn, the standard library) cannot be resolved
without intersphinx inventories, so they are listed in ``nitpick_ignore_regex`` below instead.

The gallery (``examples/plot_*.py``) and the user guide's figures run on the real clips
(``emoset.datasets.corpora.find_data_root()``: ``$EMOSET_DATA``, ``../shared/data``, ...). Their
features go to one cache folder, ``$EMOSET_CACHE`` (default: ``.cache/emoset`` in the
checkout, the folder ``make reproduce-emotiw2016`` uses), so a second build recomputes nothing.
``-D plot_gallery=0`` renders the examples without running them.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import emoset  # noqa: E402
from emoset.datasets.corpora import find_data_root  # noqa: E402

REPO = Path(emoset.__file__).resolve().parents[1]

# One feature cache for the gallery and the guide (they read $EMOSET_CACHE).
os.environ.setdefault("EMOSET_CACHE", str(REPO / ".cache" / "emoset"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".cache" / "numba"))
# Progress bars are for terminals; in the examples' captured output they are noise.
os.environ.setdefault("TQDM_DISABLE", "1")

try:  # fail at once, with the places looked at, rather than in every example
    find_data_root()
except FileNotFoundError as exc:
    from sphinx.errors import ConfigError

    raise ConfigError(
        f"emoset's user guide and gallery run on the real emotion clips, and none were found. {exc}"
    ) from None

# -- project ---------------------------------------------------------------------------------
project = "emoset"
author = "the emoset developers"
copyright = "the emoset developers; code BSD-3-Clause"
release = emoset.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
    "emoset_docs",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "examples", "**/sg_execution_times.rst"]
root_doc = "index"
default_role = "literal"
nitpicky = True
# numpydoc turns every *References* section into citations; the docstrings list papers as a
# bibliography rather than citing them as [1] in the text, which is not an error.
suppress_warnings = ["ref.citation"]
# Offline: nothing outside this project is cross-referenced through intersphinx.
intersphinx_mapping = {}
# Names of other projects that appear in signatures, base classes and docstrings; with
# intersphinx inventories they would be links, offline they stay plain text.
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(numpy|np|sklearn|scipy|pandas|pd|joblib|matplotlib|pathlib|os|collections"
        r"|typing|dataclasses|argparse|logging|warnings|importlib|onnxruntime|opensmile|dlib"
        r"|skops|skimage|librosa|ikpls|cv2|av|zipfile|hashlib|functools|tqdm)(\..*)?",
    ),
    (
        r"py:.*",
        r"(ndarray|Path|PathLike|DataFrame|Series|Figure|Axes|Pipeline|BaseEstimator"
        r"|ClassifierMixin|TransformerMixin|MetaEstimatorMixin|GroupKFold|GridSearchCV|SVC"
        r"|StandardScaler|PCA|LogisticRegression|PLSRegression|CalibratedClassifierCV"
        r"|Memory|RandomState|Generator|Mapping|Sequence|Iterable|Iterator|Callable"
        r"|MappingProxyType|ArgumentParser|Namespace)",
    ),
    (
        r"py:.*",
        r"(str|int|float|bool|bytes|dict|list|tuple|set|frozenset|object|type|None"
        r"|Exception|ValueError|TypeError|RuntimeError|OSError|FileNotFoundError|KeyError"
        r"|UserWarning|Warning|ImportError|NotImplementedError)",
    ),
]

# -- autodoc / autosummary / numpydoc --------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autosummary_ignore_module_all = False
autodoc_typehints = "none"  # the numpydoc Parameters sections give the types
# Class pages (_templates/autosummary/class.rst) show inherited members too, for the methods
# emoset's private base classes define; those scikit-learn's mixins add (get_params,
# set_output, set_*_request...) are left out by the emoset_docs extension.
autodoc_member_order = "bysource"
autoclass_content = "class"
add_module_names = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Parameter types link to emoset's own classes; other words stay plain text (offline).
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
# numpydoc's default aliases point into the Python and NumPy inventories: keep those words
# plain (an alias to itself is not a link).
from numpydoc.xref import DEFAULT_LINKS  # noqa: E402

numpydoc_xref_aliases = {word: word for word in DEFAULT_LINKS}
numpydoc_xref_aliases.update(
    {name: f"emoset.{name}" for name in emoset.__all__ if isinstance(getattr(emoset, name), type)}
)
numpydoc_validation_checks = set()
autosummary_context = {"toplevel": sorted(set(emoset.__all__) - {"__version__"})}

# -- sphinx-gallery --------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("emoset",),
    "backreferences_dir": "generated/backreferences",
    "remove_config_comments": True,
    "abort_on_example_error": False,
    "show_memory": False,
    "min_reported_time": 1,
    "download_all_examples": False,
    # the emoset command configures logging in-process: undo it after each example
    "reset_modules": ("matplotlib", "emoset_docs.reset_logging"),
    "capture_repr": (),
}

# -- matplotlib plot directive (the user guide's figures) ------------------------------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 96)]
plot_rcparams = {"figure.autolayout": False}
plot_working_directory = str(DOCS)

# -- HTML ------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"emoset {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
html_last_updated_fmt = None
