"""Reading the plain part of the skops format without importing skops.

``import skops.io`` lists every scikit-learn estimator type by importing all of scikit-learn
(about 220 modules, 0.25 s), and ``skops.io.loads`` walks the file's schema twice (once to
list its types, once to build them). An emoset model uses a handful of node kinds and types:
its estimators, their parameters and fitted arrays. :func:`read_plain` builds such a file
directly, accepting a strict subset of what ``skops.io.loads`` accepts:

- node kinds: JSON values, lists, tuples, dicts, NumPy arrays stored in NumPy's own format
  (read with ``allow_pickle=False``) or as object arrays of such values, types, and objects;
- types: Python's plain values and containers, NumPy's scalar types, the scikit-learn
  estimators in :data:`SKLEARN_TYPES`, and the estimator classes defined in emoset (the
  ``allowed`` callable of the caller);
- the skops protocol :data:`PROTOCOL` only.

Anything else (another node kind, type or protocol, or a file this reader cannot parse)
raises :class:`NotPlain`, and the caller loads the file with skops itself, with all of its
checks and messages. Objects are built as skops builds them (``cls.__new__`` and then
``__setstate__`` or the instance dictionary), and objects saved once are shared as skops
shares them (by the schema's ``__id__``); nothing from the file is ever executed.
"""

from __future__ import annotations

import importlib
import io
import json
import zipfile

import numpy as np

__all__ = ["PROTOCOL", "SKLEARN_TYPES", "NotPlain", "read_plain"]

#: The skops protocol whose nodes are read here (``skops.io._protocol.PROTOCOL``; a test
#: keeps them equal). Files of another protocol are left to skops.
PROTOCOL = 2

#: The scikit-learn types of emoset's models (``module.Class``; all trusted by skops by
#: default, a test checks it).
SKLEARN_TYPES = frozenset(
    {
        "sklearn.decomposition._pca.PCA",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.svm._classes.SVC",
    }
)

#: NumPy's scalar types, by the names skops gives them (those of its trusted list that an
#: array or a parameter of a model can have).
_NUMPY_SCALARS = {
    f"numpy.{t.__name__}": t
    for t in (np.bool_, np.str_, np.bytes_, np.longlong, np.ulonglong, np.longdouble)
    + tuple(getattr(np, f"{kind}{bits}") for kind in ("int", "uint") for bits in (8, 16, 32, 64))
    + (np.float16, np.float32, np.float64, np.complex64, np.complex128, np.clongdouble)
}

#: The types each node kind may name here (skops's defaults for the kind, or fewer).
_TYPES = {
    "TypeNode": {f"builtins.{t.__name__}": t for t in (int, float, str, bool, list, tuple)}
    | _NUMPY_SCALARS,
    "NdArrayNode": {"numpy.ndarray": np.ndarray} | _NUMPY_SCALARS,
    "ListNode": {"builtins.list": list},
    "TupleNode": {"builtins.tuple": tuple},
    "DictNode": {"builtins.dict": dict},
}


class NotPlain(Exception):
    """The file uses more of the skops format than :func:`read_plain` reads."""


class _Reader:
    def __init__(self, zip_file, allowed):
        self.zip_file = zip_file
        self.allowed = allowed  # "module.Class" -> an emoset estimator class or None
        self.memo = {}
        self.building = set()

    def type_of(self, state):
        name = f"{state['__module__']}.{state['__class__']}"
        loader = state["__loader__"]
        if loader == "ObjectNode":
            cls = None
            if name in SKLEARN_TYPES:
                module, _, attr = name.rpartition(".")
                cls = getattr(importlib.import_module(module), attr)
            elif name.startswith("emoset."):
                cls = self.allowed(name)
        else:
            cls = _TYPES[loader].get(name)
        if cls is None:
            raise NotPlain(f"type {name} ({loader})")
        return cls

    def build(self, state):
        if not isinstance(state, dict) or not all(
            isinstance(state.get(key), str) for key in ("__class__", "__module__", "__loader__")
        ):
            raise NotPlain("a node without its class, module and loader")
        if "." in state["__class__"]:  # skops looks the class up as one attribute
            raise NotPlain(f"a class named {state['__class__']}")
        saved_id = state.get("__id__")
        if saved_id in self.memo:  # (skops's test: an unhashable id fails there too)
            return self.memo[saved_id]
        if saved_id and saved_id in self.building:
            raise NotPlain("an object that contains itself")
        loader = state["__loader__"]
        if loader == "JsonNode":
            obj = json.loads(state["content"])
        else:
            self.building.add(saved_id)
            obj = self._build(loader, state)
            self.building.discard(saved_id)
        if saved_id:
            self.memo[saved_id] = obj
        return obj

    def _build(self, loader, state):
        if loader != "ObjectNode" and loader not in _TYPES:
            raise NotPlain(f"node kind {loader}")
        cls = self.type_of(state)
        if loader == "TypeNode":
            return cls
        if loader in ("ListNode", "TupleNode", "DictNode"):
            return self._container(cls, state)
        if loader == "NdArrayNode":
            return self._array(cls, state)
        instance = cls.__new__(cls)
        content = state.get("content")
        attrs = None if content is None else self.build(content)
        if attrs is not None:
            if hasattr(instance, "__setstate__"):
                instance.__setstate__(attrs)
            else:
                instance.__dict__.update(attrs)
        return instance

    def _container(self, cls, state):
        if cls is dict:
            key_types = self.build(state["key_types"])
            if not isinstance(key_types, list) or not all(
                t in (str, int, float, bool) for t in key_types
            ):
                raise NotPlain("dictionary keys of other types")
            items = state["content"].items()
            return {
                t(key): self.build(value) for t, (key, value) in zip(key_types, items, strict=True)
            }
        items = [self.build(value) for value in state["content"]]
        return items if cls is list else tuple(items)

    def _array(self, cls, state):
        kind = state["type"]
        if kind == "numpy":
            array = np.load(io.BytesIO(self.zip_file.read(state["file"])), allow_pickle=False)
            return array if cls is np.ndarray else cls(array)
        if kind == "json" and cls is np.ndarray:
            items = [self.build(value) for value in state["content"]]  # first, as skops
            shape = self.build(state["shape"])
            if len(shape) != 1:
                return np.array(items, dtype=object)
            array = np.empty(len(items), dtype=object)
            for i, value in enumerate(items):  # item by item: a list item stays a list
                array[i] = value
            return array
        raise NotPlain(f"an array stored as {kind!r}")


def read_plain(data, allowed):
    """The object a skops file holds, if the file uses only the plain subset (module doc).

    Parameters
    ----------
    data : bytes
        The file's content.
    allowed : callable
        ``"module.Class"`` (an ``emoset.`` name) -> the emoset estimator class it names, or
        ``None`` if it names none.

    Returns
    -------
    obj : object

    Raises
    ------
    NotPlain
        If the file uses anything else, or cannot be read as a skops file: the caller then
        loads it with skops, which accepts it or says what is wrong.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zip_file:
            schema = json.loads(zip_file.read("schema.json"))
            protocol = schema.get("protocol") if isinstance(schema, dict) else None
            if type(protocol) is not int or protocol != PROTOCOL:
                raise NotPlain(f"skops protocol {protocol!r}")
            return _Reader(zip_file, allowed).build(schema)
    except NotPlain:
        raise
    except Exception as exc:  # any failure: skops reads the file and says what is wrong
        raise NotPlain(f"{type(exc).__name__}: {exc}") from None
