"""Saving and loading models: skops (no pickle), a SHA-256 digest, no paths from the file.

:func:`save_model` writes a fitted estimator with skops, which stores objects as an explicit
description rather than as code, and a ``<model>.sha256`` file beside it. Before writing, every
folder setting in the estimator tree (``cache_dir``, ``memory``) is
cleared, so a model carries no path of the machine that trained it.

:func:`load_model` checks the digest, refuses any type that is not an emoset estimator or a
plain scikit-learn / NumPy type skops trusts, and hands every nested estimator the *caller's*
cache folder: a path stored in a model file is never used, so a model cannot make emoset read
(let alone run) anything from a folder of the author's choosing.

A model may have a card beside it, ``<model>.card.json`` (:func:`read_card`; its content is
:mod:`emoset.recognizer.card`'s). emoset ships one model, trained by ``make pretrained`` on the
corpora whose licence allows it: :func:`load_pretrained` (``emoset predict`` and ``emoset
timeline`` use it when no model is given).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib
import io
import json
import lzma
import re
import sys
import threading
import zipfile
import zlib
from pathlib import Path

from sklearn.base import BaseEstimator

from .._version import __version__
from ..utils.cache import atomic_write_bytes
from ..utils.messages import shown, what_is
from ..utils.resources import pretrained_model_path
from ._skops_subset import NotPlain, read_plain

__all__ = [
    "card_path",
    "load_model",
    "load_pretrained",
    "read_card",
    "save_model",
]

#: Parameters that name folders of the machine, not the model: cleared on save, the caller's
#: on load.
_MACHINE_PARAMS = {"cache_dir": None, "memory": None}

#: Parameters added after models were saved, whose value here is what those models did:
#: ``{class name: {parameter: value}}``, set on load where a saved estimator lacks them (any
#: other missing parameter refuses the model, see :func:`_check_params_present`).
_ADDED_PARAMS = {"AudioVisualEmotionRecognizer": {"augment_choice": False}}

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def _estimators(obj, seen=None):
    """Every scikit-learn estimator reachable from ``obj`` (parameters and fitted attributes)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, BaseEstimator):
        yield obj
        children = list(vars(obj).values())
    elif isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple)):
        children = list(obj)
    else:
        return
    for child in children:
        yield from _estimators(child, seen)


def _set_machine_params(model, values):
    for est in _estimators(model):
        names = est.get_params(deep=False)
        for name, value in values.items():
            if name in names:
                setattr(est, name, value)  # plain attribute: no validation, no side effect


def _emoset_class(name):
    """The emoset estimator class a model file names as ``module.Class``, or ``None``.

    ``None`` for a name outside emoset, for a class that is not an estimator defined in
    emoset, and for an emoset path that does not exist (a class that moved or was removed).
    """
    import importlib
    import inspect

    module, _, attr = name.rpartition(".")
    if not module.startswith("emoset.") or not attr:
        return None
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None
    if (
        inspect.isclass(obj)
        and issubclass(obj, BaseEstimator)
        and obj.__module__.startswith("emoset.")
    ):
        return obj
    return None


def _missing_emoset_class(name):
    """Whether ``name`` is an emoset path that this emoset does not have at all."""
    import importlib

    module, _, attr = name.rpartition(".")
    if not module.startswith("emoset."):
        return False
    try:
        return not hasattr(importlib.import_module(module), attr)
    except ImportError:
        return True


def card_path(path):
    """Where the card of the model at ``path`` is: ``<path>.card.json``."""
    return Path(str(path) + ".card.json")


#: Packages skops's first import need not import. skops lists scikit-learn's estimator types
#: when it is imported (``all_estimators``), walking every package of scikit-learn: the walk
#: imports scikit-learn's vendored array-API wrapper of dask, which imports dask.array (0.15 s
#: or more of every ``emoset`` command that loads a model), although the list leaves
#: ``sklearn.externals`` out. The walk passes over a package that cannot be imported, so these
#: are blocked (``None`` in ``sys.modules``) while skops is imported: it trusts the same types
#: (``tests/recognizer/test_system.py`` compares them with a plain import's).
_SKIPPED_BY_SKOPS = ("sklearn.externals.array_api_compat.dask.array",)


_SKOPS_IMPORT = threading.Lock()

#: What reading a damaged or crafted model file can raise besides a ValueError: its zip (an
#: entry compressed in an unknown way, encrypted or corrupted), an array's header (a shape
#: too large to hold), a value out of its type's range.
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    RuntimeError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    OverflowError,
    MemoryError,
    OSError,
    EOFError,
)


def _skops_io():
    """``skops.io``, imported without the packages its type list skips (one thread at a time:
    another would see the half-imported module, or the blocked packages)."""
    with _SKOPS_IMPORT:
        if "skops.io" in sys.modules:
            return importlib.import_module("skops.io")
        blocked = [name for name in _SKIPPED_BY_SKOPS if name not in sys.modules]
        for name in blocked:
            sys.modules[name] = None
        try:
            return importlib.import_module("skops.io")
        finally:
            for name in blocked:
                if name in sys.modules and sys.modules[name] is None:
                    del sys.modules[name]


def save_model(model, path, *, card=None):
    """Save a fitted model with skops (no pickle: loading never runs code from the file).

    Folder settings (``cache_dir``, ``memory`` of every nested estimator) are not saved;
    :func:`load_model` sets the caller's. The bytes depend only on the model: the same fitted
    model, saved twice or in two processes, gives the same file and digest (the memory
    addresses, random names and save times skops would write are replaced by numbers in the
    order of the content and a fixed date).

    Parameters
    ----------
    model : estimator
    path : str or path-like
        Usually ``*.skops``; written atomically. ``<path>.sha256`` records its digest in the
        ``sha256sum`` format.
    card : dict or None
        A model card (:mod:`emoset.recognizer.card`): written as ``<path>.card.json`` with the
        model's file name and SHA-256 added (``model_file``, ``model_sha256``), so a card can
        be told from one of another file. JSON only, keys in the given order: the same card
        gives the same bytes.

    Returns
    -------
    path : pathlib.Path
    """
    sio = _skops_io()

    path = Path(path)
    clean = copy.deepcopy(model)
    _set_machine_params(clean, _MACHINE_PARAMS)
    data = _canonical_skops(sio.dumps(clean))
    digest = hashlib.sha256(data).hexdigest()
    if card is not None:
        card = {**card, "model_file": path.name, "model_sha256": digest}
        card_bytes = (json.dumps(card, indent=2, ensure_ascii=False) + "\n").encode()
    with _writing(path):  # the model, its digest and card from one writer, never two
        atomic_write_bytes(path, data)
        atomic_write_bytes(Path(str(path) + ".sha256"), f"{digest}  {path.name}\n".encode())
        if card is not None:
            atomic_write_bytes(card_path(path), card_bytes)
    return path


def read_card(path):
    """The card beside the model at ``path`` (``<path>.card.json``), or ``None``.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    card : dict or None
        Compare its ``model_sha256`` with the model file's digest before trusting it to
        describe that file (:func:`emoset.recognizer.card.format_card` does).

    Raises
    ------
    ValueError
        If the card is not a JSON object.
    """
    where = card_path(path)
    if not where.is_file():
        return None
    try:
        card = json.loads(where.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{shown(where)}: not a model card (invalid JSON: {exc}).") from None
    if not isinstance(card, dict):
        raise ValueError(f"{shown(where)}: not a model card (a JSON object was expected).")
    return card


#: Date of every entry of a saved model (the earliest a zip file can hold): no save time.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _canonical_skops(data):
    """The same skops file with every run-dependent byte made a function of the content.

    skops names a saved array after its object's ``id()`` (a memory address), a bytes object
    after a random UUID, gives every object an ``__id__`` that is its memory address, and dates
    every zip entry with the time of saving. Here the ``__id__`` values are renumbered 1, 2, ...
    and the data files ``1.npy``, ``2.bin``, ... in the order ``schema.json`` first names them
    (the same sharing of objects, so the file loads to the same model), ``schema.json`` is
    written without indentation (a third of its size), and every entry is dated 1980-01-01
    with fixed attributes, stored uncompressed.

    Parameters
    ----------
    data : bytes
        A skops file (``skops.io.dumps``).

    Returns
    -------
    data : bytes
    """
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        schema = json.loads(src.read("schema.json"))
        ids, files = {}, {}

        def renumber(node):
            if isinstance(node, list):
                for item in node:
                    renumber(item)
            elif isinstance(node, dict):
                for key, value in node.items():
                    if key == "__id__" and isinstance(value, int):
                        node[key] = ids.setdefault(value, len(ids) + 1)  # 0 is never memoised
                    elif key == "file" and isinstance(value, str):
                        node[key] = files.setdefault(value, f"{len(files) + 1}{Path(value).suffix}")
                    else:
                        renumber(value)

        renumber(schema)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
            entries = [(new, src.read(old)) for old, new in files.items()]
            entries.append(("schema.json", json.dumps(schema, separators=(",", ":")).encode()))
            for name, content in entries:
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.create_system = 3  # Unix, wherever it was saved
                info.external_attr = 0o644 << 16
                dst.writestr(info, content)
    return out.getvalue()


@contextlib.contextmanager
def _writing(path):
    """Hold an exclusive lock on ``<path>.lock`` (POSIX ``flock``) while a model is written.

    Two processes saving to one path at once would otherwise interleave their renames and
    leave one's model beside the other's digest (which loading then refuses). The lock file
    stays (empty) beside the model; where ``fcntl`` is missing (Windows) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(str(path) + ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: Parameters that change how fast or where a model runs, never what it computes.
_RUN_PARAMS = frozenset({*_MACHINE_PARAMS, "n_jobs", "verbose"})


def model_digest(model):
    """SHA-256 of what a fitted model computes: its classes, parameters and fitted arrays.

    Folders, cores and verbosity (``cache_dir``, ``memory``, ``n_jobs``, ``verbose``) and
    private run-time state (attributes starting with ``_``) are left out, so a model loaded
    twice, or given other cores, has the same digest. :mod:`emoset.recognizer.timeline` keys its cached
    segments on it.

    Parameters
    ----------
    model : estimator

    Returns
    -------
    digest : str
        64 hex characters.
    """
    import numbers

    import numpy as np

    h = hashlib.sha256()
    seen = {}  # id -> object: the objects stay alive, so an id is never reused meanwhile

    def feed_items(items):
        for key, value in items:
            feed(key)
            feed(value)

    def feed(obj):
        if obj is None or isinstance(obj, (bool, numbers.Number, str, bytes)):
            h.update(f"{type(obj).__name__}:{obj!r};".encode())
            return
        if isinstance(obj, np.ndarray):
            arr = np.ascontiguousarray(obj)
            h.update(f"nd:{arr.dtype.str}:{arr.shape};".encode())
            h.update(arr.tobytes() if arr.dtype.kind != "O" else repr(arr.tolist()).encode())
            return
        if id(obj) in seen:
            h.update(b"seen;")
            return
        seen[id(obj)] = obj
        if isinstance(obj, dict):
            h.update(f"dict:{len(obj)};".encode())
            feed_items(sorted(obj.items(), key=lambda kv: repr(kv[0])))
        elif isinstance(obj, (list, tuple)):
            h.update(f"{type(obj).__name__}:{len(obj)};".encode())
            for item in obj:
                feed(item)
        elif callable(obj) and hasattr(obj, "__qualname__"):  # a function or a class
            h.update(f"callable:{getattr(obj, '__module__', '')}.{obj.__qualname__};".encode())
        elif hasattr(obj, "__dict__"):
            h.update(f"{type(obj).__module__}.{type(obj).__qualname__};".encode())
            skip = _RUN_PARAMS if isinstance(obj, BaseEstimator) else frozenset()
            state = sorted(
                (k, v) for k, v in vars(obj).items() if not k.startswith("_") and k not in skip
            )
            h.update(f"state:{len(state)};".encode())
            feed_items(state)
        else:
            h.update(f"{type(obj).__module__}.{type(obj).__qualname__}:{obj!r};".encode())

    feed(model)
    return h.hexdigest()


def _recorded_digest(path, sidecar):
    text = sidecar.read_text(encoding="utf-8", errors="replace").strip()
    fields = text.split()
    if not fields:
        raise ValueError(f"{path}: its digest file {sidecar.name} is empty; refusing to load.")
    digest = fields[0].lstrip("\\")  # sha256sum escapes names with a leading backslash
    if not _HEX64.match(digest):
        raise ValueError(
            f"{path}: {sidecar.name} does not start with a SHA-256 digest (64 hex digits); "
            f"got {fields[0][:80]!r}."
        )
    return digest.lower()


def load_pretrained(*, cache_dir=None):
    """Load the model shipped with emoset: :func:`load_model` on its path
    (:func:`~emoset.utils.resources.pretrained_model_path`).

    What it was trained on, how well it does and its licence: its card
    (:func:`read_card`, ``emoset info``).

    Parameters
    ----------
    cache_dir : str, path-like, True or None
        As in :func:`load_model`.

    Returns
    -------
    model : emoset.recognizer.system.AudioVisualEmotionRecognizer

    Raises
    ------
    FileNotFoundError
        If this emoset was built without the model (in a checkout: ``make pretrained``).
    """
    path = pretrained_model_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"emoset's bundled model {shown(path)} is missing: this installation was built "
            "without it (in a checkout, 'make pretrained' builds it); or pass a model file."
        )
    return load_model(path, cache_dir=cache_dir)


def load_model(path, *, cache_dir=None, require_digest=True):
    """Load a model saved by :func:`save_model`.

    The skops format rebuilds objects from an explicit list of types instead of unpickling code.
    Beyond the types skops itself trusts (scikit-learn, NumPy, SciPy), only estimator classes
    defined in emoset are accepted; a file naming any other type is refused. The SHA-256 in
    ``<path>.sha256`` (``sha256sum`` format, any case) must match: it detects a damaged or
    modified file (it cannot tell who wrote it — keep models you did not make out of reach).

    A file made only of emoset's estimators, the scikit-learn types emoset uses, plain values
    and arrays is read without importing skops (whose import takes 0.25 s; a strict subset of
    what skops accepts, built as skops builds it); any other file is loaded by skops itself.

    Parameters
    ----------
    path : str or path-like
    cache_dir : str, path-like, True or None
        The feature cache every nested estimator uses from now on (the caller's; ``None``: no
        persistent cache). A folder named in the file is never used.
    require_digest : bool, default=True
        Refuse a model without its ``.sha256`` file.

    Returns
    -------
    model : estimator

    Raises
    ------
    FileNotFoundError
        If the file (or, with ``require_digest``, its digest file) is missing.
    ValueError
        If the digest file is empty or malformed, the digest does not match, the file is not a
        valid model, or it names a type outside the allowed ones.
    """
    path = Path(path)
    problem = what_is(path)
    if problem == "no such file":
        raise FileNotFoundError(f"Model file {shown(path)} not found.")
    if problem is not None:
        raise ValueError(f"Model file {shown(path)} is {problem}, not a model file.")
    data = path.read_bytes()  # read once: hashed, inspected and loaded from memory
    sidecar = Path(str(path) + ".sha256")
    if sidecar.is_file():
        expected = _recorded_digest(path, sidecar)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ValueError(
                f"{path}: SHA-256 {actual} does not match the recorded {expected} "
                f"({sidecar.name}); refusing to load a modified model."
            )
    elif require_digest:
        raise FileNotFoundError(
            f"{path}: no {sidecar.name} beside it: emoset train and emoset.save_model write "
            "it; from Python, load_model(..., require_digest=False) loads a file you trust."
        )
    try:  # an emoset model's plain content is read without importing skops (0.25 s)
        model = read_plain(data, _emoset_class)
    except NotPlain:
        model = _skops_loads(path, data)
    _check_params_present(model, path)
    _set_machine_params(model, {**_MACHINE_PARAMS, "cache_dir": cache_dir})
    return model


def _skops_loads(path, data):
    """The model in ``data`` (the bytes of the file ``path``) loaded by skops, which accepts
    the types it trusts; beyond them only emoset's estimator classes are accepted."""
    sio = _skops_io()
    try:
        untrusted = sio.get_untrusted_types(data=data)
        refused = [t for t in untrusted if _emoset_class(t) is None]
        missing = sorted(t for t in refused if _missing_emoset_class(t))
        if missing:
            raise ValueError(
                f"{path}: names {', '.join(missing)}, which emoset {__version__} does not "
                "have (a class that moved or was removed since the model was saved); train "
                "the model again with this emoset."
            )
        if refused:
            raise ValueError(
                f"{path}: refusing to load types other than emoset estimators: {sorted(refused)}."
            )
        model = sio.loads(data, trusted=untrusted)
    except ValueError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ValueError(f"{path}: not a valid emoset model file ({exc}).") from None
    except RecursionError:  # objects nested thousands deep, or one that contains itself
        raise ValueError(
            f"{path}: not a valid emoset model file (its objects are nested too deeply)."
        ) from None
    except _DAMAGED as exc:  # a damaged or crafted file: its zip, an array or a value
        raise ValueError(
            f"{path}: not a valid emoset model file ({type(exc).__name__}: {exc})."
        ) from None
    return model


def _check_params_present(model, path):
    """Refuse a model whose estimators lack parameters this emoset has (an older version)."""
    import inspect

    for est in _estimators(model):
        for name, value in _ADDED_PARAMS.get(type(est).__name__, {}).items():
            if not hasattr(est, name):
                setattr(est, name, value)  # the behaviour of the models saved before it
        init = inspect.signature(type(est).__init__).parameters.values()
        names = [p.name for p in init if p.name != "self" and p.kind != p.VAR_KEYWORD]
        missing = [name for name in names if not hasattr(est, name)]
        if missing:
            raise ValueError(
                f"{path}: saved by another emoset version: its {type(est).__name__} has no "
                f"parameter(s) {missing}; train the model again with emoset {__version__}."
            )
