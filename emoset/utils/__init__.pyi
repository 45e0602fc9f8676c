"""Types of :mod:`emoset.utils`: what its ``__init__.py`` loads on first use (lazy_loader)."""

from .cache import (
    DiskCache,
    Failure,
    atomic_write_bytes,
    default_cache_dir,
    file_digests,
    file_sha256,
    make_key,
    parallel_map,
)
from .messages import shown, summarise, warn_caller, what_is
from .resources import PRETRAINED_MODEL_FILE, emoset_data, package_file, pretrained_model_path
from .setnames import copy_names, name_sets, set_label, unreported
from .validation import (
    check_choice,
    check_folder,
    check_int,
    check_n_jobs,
    check_output,
    check_positive,
)

__all__ = [
    "PRETRAINED_MODEL_FILE",
    "DiskCache",
    "Failure",
    "atomic_write_bytes",
    "check_choice",
    "check_folder",
    "check_int",
    "check_n_jobs",
    "check_output",
    "check_positive",
    "copy_names",
    "default_cache_dir",
    "emoset_data",
    "file_digests",
    "file_sha256",
    "make_key",
    "name_sets",
    "package_file",
    "pretrained_model_path",
    "parallel_map",
    "set_label",
    "shown",
    "summarise",
    "unreported",
    "warn_caller",
    "what_is",
]
