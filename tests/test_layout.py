"""The package's layout holds: imports run downwards, subpackages keep their private names.

Read from the source with :mod:`ast` (nothing is imported): every ``from ... import`` inside
``emoset/`` is resolved to the module it names, and

* a subpackage imports only from the subpackages below it (:data:`LAYERS`);
* no private name (``_x``) and no private module crosses a subpackage's border;
* emoset's own modules are imported at the top of a module, never inside a function (an import
  that defers a heavy dependency a process may not need is listed in :data:`DEFERRED`, with
  why, and every entry is used);
  what loads on first use is declared at the top too, and read here as imports: the
  ``__init__.pyi`` stubs of the lazily loaded packages and ``lazy_loader.load("emoset...")``;
* no module is longer than :data:`MAX_MODULE_LINES` lines and no function longer than
  :data:`MAX_FUNCTION_LINES` lines of code.
"""

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "emoset"

#: Subpackages from the top down; each may import only from those after it. ``utils`` and
#: ``io`` are the ground floor; the five in the middle do not import one another, except
#: ``datasets`` reading media (``io``) and ``video``/``audio`` reading clips' files.
LAYERS = {
    "app": {"recognizer", "decision", "sets", "video", "audio", "datasets", "io", "utils"},
    "recognizer": {"decision", "sets", "video", "audio", "datasets", "io", "utils"},
    "decision": {"utils"},
    "sets": {"utils"},
    "video": {"io", "utils"},
    "audio": {"io", "utils"},
    "datasets": {"io", "utils"},
    "io": {"utils"},
    "utils": set(),
}

#: ``(module, imported module)`` pairs imported inside a function on purpose, with why.
DEFERRED = {
    ("emoset.video.people", "emoset.video.cnn_features"): (
        "the face descriptor imports scikit-learn; emoset predict's early child aligns a clip "
        "without it (emoset.video.clip_faces) unless a track may be someone seen before"
    ),
}

MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 80


def _modules():
    """Every module, and the ``.pyi`` stubs that hold a lazily loaded package's imports."""
    found = [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.pyi")]
    return sorted(p for p in found if "models" not in p.parts)


def _dotted(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _lazy_load(node):
    """The module of a ``lazy_loader.load("emoset....")`` call, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner, args = node.func.value, node.args
    if not (isinstance(owner, ast.Name) and owner.id == "lazy_loader" and node.func.attr == "load"):
        return None
    if args and isinstance(args[0], ast.Constant) and str(args[0].value).startswith("emoset"):
        return args[0].value
    return None


def _imports(path):
    """``(node, imported module, names, inside a function)`` for every emoset import."""
    tree = ast.parse(path.read_text())
    package = _dotted(path) if path.stem == "__init__" else _dotted(path).rpartition(".")[0]
    functions = [
        n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    inner = {id(n) for f in functions for n in ast.walk(f)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] == "emoset":
                yield node, module, [a.name for a in node.names], id(node) in inner
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "emoset":
                    yield node, alias.name, [], id(node) in inner
        elif _lazy_load(node):
            yield node, _lazy_load(node), [], id(node) in inner


def _subpackage(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_subpackage_is_in_the_layers():
    found = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert found == set(LAYERS)


def test_imports_run_downwards():
    wrong = []
    for path in _modules():
        here = _subpackage(_dotted(path))
        for node, module, _, _ in _imports(path):
            there = _subpackage(module)
            if here is None or there is None or there == here:
                continue
            if there not in LAYERS[here]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{node.lineno} imports {module}")
    assert wrong == []


def test_no_private_name_crosses_a_subpackage():
    wrong = []
    for path in _modules():
        here = _subpackage(_dotted(path))
        for node, module, names, _ in _imports(path):
            if _subpackage(module) == here:
                continue
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if module != "emoset._version" and any(
                p.startswith("_") and not p.startswith("__") for p in module.split(".")
            ):
                private.append(module)
            if private:
                wrong.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {private}")
    assert wrong == []


def test_emoset_is_imported_at_the_top_of_modules():
    wrong, found = [], set()
    for path in _modules():
        for node, module, _, inside in _imports(path):
            key = (_dotted(path), module)
            if inside and key not in DEFERRED:
                wrong.append(f"{path.relative_to(PACKAGE)}:{node.lineno} imports {module}")
            if inside:
                found.add(key)
    wrong += [f"DEFERRED lists {key}, which no module imports" for key in DEFERRED.keys() - found]
    assert wrong == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_readable(path):
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    lines = source.splitlines()
    tree = ast.parse(source)
    long = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:] or body  # the docstring is not code
            span = lines[body[0].lineno - 1 : node.end_lineno]
            code = [s for s in span if s.strip() and not s.strip().startswith("#")]
            if len(code) > MAX_FUNCTION_LINES:
                long.append(f"{node.name}: {len(code)} lines of code")
    assert long == []


@pytest.mark.parametrize(
    "package", ["emoset", "emoset.app", "emoset.audio", "emoset.utils", "emoset.video"]
)
def test_lazy_packages_export_what_their_stub_lists(package):
    """A lazily loaded package's names are its stub's imports, and each one loads."""
    module = importlib.import_module(package)
    stub = PACKAGE.parent.joinpath(*package.split("."), "__init__.pyi")
    tree = ast.parse(stub.read_text())
    listed = next(
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in n.targets)
    )
    assert sorted(module.__all__) == sorted(listed)
    assert all(getattr(module, name) is not None for name in listed)
