"""emoset's models are read without importing skops, exactly as skops reads them.

:func:`emoset.recognizer._skops_subset.read_plain` builds the plain part of the skops format
(emoset's estimators, four scikit-learn types, plain values and arrays); anything else is
left to skops (``NotPlain``), with all of its checks. Real models: the one trained on the
CREMA-D training actors, and the model emoset ships.
"""

import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from skops.io import _protocol, _trusted_types

from emoset.recognizer import _skops_subset as subset
from emoset.recognizer.persistence import (
    _emoset_class,
    load_model,
    pretrained_model_path,
    save_model,
)


def _skops(data):
    return sio.loads(data, trusted=sio.get_untrusted_types(data=data))


def _plain(data):
    return subset.read_plain(data, _emoset_class)


def _with_schema(data, change):
    """The skops file ``data`` with ``change(schema)`` applied to its schema.json."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            content = src.read(name)
            if name == "schema.json":
                schema = json.loads(content)
                text = change(schema)  # a change may give the whole text
                content = (json.dumps(schema) if text is None else text).encode()
            dst.writestr(name, content)
    return out.getvalue()


def test_a_trained_model_is_read_as_skops_reads_it(small_model_file, tmp_path):
    """Saved again, the model read here and the one skops reads are the file, byte for byte:
    the same types, parameters, fitted arrays (values and dtypes) and sharing."""
    data = small_model_file.read_bytes()
    ours, theirs = _plain(data), _skops(data)
    assert type(ours) is type(theirs)
    again = save_model(ours, tmp_path / "ours.skops").read_bytes()
    assert again == save_model(theirs, tmp_path / "theirs.skops").read_bytes() == data


def test_the_shipped_model_loads_without_importing_skops(tmp_path):
    path = pretrained_model_path()
    if not path.is_file():
        pytest.skip(f"{path} is not built in this checkout ('make pretrained')")
    code = (
        "import sys\n"
        "from emoset.recognizer.persistence import load_pretrained, save_model\n"
        "model = load_pretrained()\n"
        "print([m for m in ('skops', 'skops.io') if m in sys.modules])\n"
        f"save_model(model, {str(tmp_path / 'again.skops')!r})\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    assert (tmp_path / "again.skops").read_bytes() == path.read_bytes()


def test_what_it_reads_is_a_subset_of_what_skops_trusts():
    t = _trusted_types
    assert subset.PROTOCOL == _protocol.PROTOCOL
    assert subset.SKLEARN_TYPES <= set(t.SKLEARN_ESTIMATOR_TYPE_NAMES)
    numpy = set(t.NUMPY_DTYPE_TYPE_NAMES)
    trusted = {
        "TypeNode": set(t.PRIMITIVE_TYPE_NAMES) | set(t.CONTAINER_TYPE_NAMES) | numpy,
        "NdArrayNode": {"numpy.ndarray"} | numpy,
        "ListNode": {"builtins.list"},
        "TupleNode": {"builtins.tuple"},
        "DictNode": {"builtins.dict"},
    }
    assert subset._TYPES.keys() == trusted.keys()
    for kind, names in subset._TYPES.items():
        assert set(names) <= trusted[kind], kind
        assert all(name == f"{t.__module__}.{t.__name__}" for name, t in names.items()), kind


def test_objects_saved_once_are_shared_as_skops_shares_them():
    shared = {"weights": np.arange(3.0)}
    data = sio.dumps([shared, shared, (1, "a", None), {"k": np.float32(2.5)}])
    ours, theirs = _plain(data), _skops(data)
    assert ours[0] is ours[1] and theirs[0] is theirs[1]
    assert ours[2] == theirs[2] == (1, "a", None)
    assert type(ours[3]["k"]) is type(theirs[3]["k"]) is np.float32


def test_object_arrays_are_read_as_skops_reads_them():
    for array in (
        np.array(["a", ["b", "c"], 3], dtype=object),
        np.array([[1, "a"], [2, "b"]], dtype=object),
    ):
        data = sio.dumps({"names": array})
        ours, theirs = _plain(data)["names"], _skops(data)["names"]
        assert ours.dtype == theirs.dtype == object and ours.shape == theirs.shape
        assert ours.tolist() == theirs.tolist() == array.tolist()

    def shape_is_an_item(schema):  # an id shared by an item and the shape: the item's node
        node = schema["content"]["names"]
        node["shape"]["__id__"] = node["content"][1]["__id__"]

    data = _with_schema(sio.dumps({"names": np.array([7, [8, 9]], dtype=object)}), shape_is_an_item)
    ours, theirs = _plain(data)["names"], _skops(data)["names"]
    assert ours.shape == theirs.shape and ours.tolist() == theirs.tolist()


def test_other_files_are_left_to_skops(small_model_file, tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), np.arange(20) % 2
    other = LogisticRegression().fit(X, y)  # trusted by skops, not one of emoset's types
    with pytest.raises(subset.NotPlain, match="LogisticRegression"):
        _plain(sio.dumps(other))
    path = save_model(other, tmp_path / "other.skops")
    np.testing.assert_array_equal(load_model(path).predict_proba(X), other.predict_proba(X))

    with pytest.raises(subset.NotPlain, match="FunctionTransformer"):
        _plain(sio.dumps(FunctionTransformer(np.log1p)))
    with pytest.raises(subset.NotPlain, match="node kind FunctionNode"):
        _plain(sio.dumps({"scaler": StandardScaler(), "f": np.sum}))

    data = small_model_file.read_bytes()
    for change, match in [
        (lambda s: s.update(protocol=1), "protocol 1"),
        (lambda s: s.update(protocol=True), "protocol True"),
        (lambda s: s.update(__module__="os", __class__="system"), "os.system"),
        (lambda s: s.update(__class__="AudioVisualEmotionRecognizr"), "Recognizr"),
        (lambda s: s.update(__module__="emoset.recognizer.persistence", __class__="Path"), "Path"),
        (
            lambda s: s.update(__loader__="TypeNode", __module__="builtins", __class__="eval"),
            "eval",
        ),
        (
            lambda s: s.update(__loader__="TypeNode", __module__="numpy", __class__="double"),
            "double",
        ),
        (lambda s: s.update(__loader__="DictNode", __module__="collections"), "collections"),
        (lambda s: s.update(__module__="sklearn", __class__="svm._classes.SVC"), "svm._classes"),
        (lambda s: s.__delitem__("__module__"), "without its class"),
    ]:
        with pytest.raises(subset.NotPlain, match=match):
            _plain(_with_schema(data, change))


def test_a_type_outside_the_subset_is_refused_by_skops_as_before(tmp_path):
    """A function, a pickled array: not read here; load_model then says what skops says, as
    before, and nothing runs."""
    path = save_model({"f": np.sum}, tmp_path / "f.skops")
    with pytest.raises(ValueError, match="refusing to load types other than emoset estimators"):
        load_model(path)

    arrays = {"a": np.arange(3)}
    pickled = io.BytesIO()
    np.save(pickled, np.array([{"x": 1}], dtype=object), allow_pickle=True)

    def pickle_in(schema):
        schema["content"]["a"]["file"] = "evil.npy"

    buf = io.BytesIO(_with_schema(sio.dumps(arrays), pickle_in))
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr("evil.npy", pickled.getvalue())
    with pytest.raises(subset.NotPlain, match="allow_pickle"):
        _plain(buf.getvalue())
    path = tmp_path / "pickled.skops"
    path.write_bytes(buf.getvalue())
    with pytest.raises(ValueError, match=r"pickled\.skops: not a valid emoset model file"):
        load_model(path, require_digest=False)


def test_an_object_that_contains_itself_is_refused_with_a_message(small_model_file, tmp_path):
    def loop(schema):
        itself = {k: schema[k] for k in ("__class__", "__module__", "__loader__", "__id__")}
        schema["content"]["content"]["classes_"] = itself

    data = small_model_file.read_bytes()
    schema = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("schema.json"))
    assert "classes_" in schema["content"]["content"]
    looped = _with_schema(data, loop)
    with pytest.raises(subset.NotPlain, match="contains itself"):
        _plain(looped)
    path = tmp_path / "loop.skops"
    path.write_bytes(looped)
    with pytest.raises(ValueError, match=r"loop\.skops: .*nested too deeply"):
        load_model(path, require_digest=False)


def test_objects_nested_thousands_deep_are_refused_with_a_message(tmp_path):
    node = '{"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": ['
    deep = '{"protocol": 2, ' + node[1:] + node * 3000 + "]}" * 3001

    path = tmp_path / "deep.skops"
    path.write_bytes(_with_schema(sio.dumps([]), lambda schema: deep))
    with pytest.raises(subset.NotPlain, match="RecursionError"):
        _plain(path.read_bytes())
    with pytest.raises(ValueError, match=r"deep\.skops: .*nested too deeply"):
        load_model(path, require_digest=False)


def _rezipped(data, *, entry=None, content=None):
    """The skops file ``data`` with the zip entry ``entry``'s content replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, content if info.filename == entry else src.read(info.filename))
    return out.getvalue()


def _encrypted(data, name="schema.json"):
    """``data`` with the zip entry ``name`` marked as encrypted in the central directory."""
    at = data.index(b"PK\x01\x02")
    while data[at + 46 : at + 46 + len(name)] != name.encode():
        at = data.index(b"PK\x01\x02", at + 4)
    flags = int.from_bytes(data[at + 8 : at + 10], "little") | 0x1
    return data[: at + 8] + flags.to_bytes(2, "little") + data[at + 10 :]


def _huge_npy():
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)}
    )
    return header.getvalue()


def _int8_keys(schema):
    schema["key_types"]["content"][0].update(__module__="numpy", __class__="int8")
    schema["content"] = {"1000": schema["content"]["k"]}


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (_encrypted, "RuntimeError: .*encrypted"),
        (lambda d: _rezipped(d, entry="1.npy", content=_huge_npy()), "MemoryError"),
        (lambda d: _with_schema(d, _int8_keys), "OverflowError"),
    ],
    ids=["an encrypted entry", "an array too large to hold", "a key out of its type's range"],
)
def test_a_damaged_file_gets_a_message_naming_it(make, match, tmp_path):
    path = save_model({"k": np.arange(3.0)}, tmp_path / "good.skops")
    bad = tmp_path / "bad.skops"
    bad.write_bytes(make(path.read_bytes()))
    with pytest.raises(ValueError, match=rf"bad\.skops: not a valid emoset model file \({match}"):
        load_model(bad, require_digest=False)
