"""Three small Sphinx helpers for emoset's documentation.

* Docstrings name objects where they are defined (``emoset.sets.classifiers.ImageSetPLS``,
  ``~emoset.video.faces.FaceAligner.align_frames``, or ``SubspaceModel`` inside ``emoset.sets.kernels``),
  but the API reference documents what the package exports under its public name
  (``emoset.ImageSetPLS``), and a module's other names on the module's page.
  :func:`resolve_public_name` sends each such reference to the page that documents the object,
  so ``nitpicky`` can hold without writing every docstring twice.
* :func:`check_api_page` compares ``api.rst`` with ``emoset.__all__`` and its groups (the
  comments in ``emoset/__init__.py``) and warns, so the build fails, when a public name is
  missing from the reference or filed under another group.
* :func:`write_model_card` writes what ``emoset info`` prints for the bundled model, for the
  page that shows it (``pretrained.rst``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import logging as logging_module
import re
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

_TITLE_UNDERLINE = re.compile(r"^(=+|-+|~+|\^+)\s*$")


# --------------------------------------------------------------------------- public names
def _lookup(dotted):
    """The object a dotted name points at, importing the longest module prefix; or None."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


_DOCUMENTED = {}


def _documented_names(env):
    """``id(object) -> documented name`` for the classes, functions and modules on the pages."""
    key = id(env)
    if key not in _DOCUMENTED:
        names = {}
        domain = env.get_domain("py")
        for name, entry in sorted(domain.objects.items(), key=lambda item: len(item[0])):
            if entry.objtype in ("class", "exception", "function", "method", "module"):
                obj = _lookup(name)
                if obj is not None:
                    names.setdefault(id(obj), name)
        _DOCUMENTED.clear()
        _DOCUMENTED[key] = names
    return _DOCUMENTED[key]


def _page_module(refdoc):
    """The module that defines the object a generated page documents (or None)."""
    obj = _lookup(refdoc.rsplit("/", 1)[-1])
    if obj is None:
        return None
    if inspect.ismodule(obj):
        return obj.__name__
    return getattr(obj, "__module__", None)


def resolve_public_name(app, env, node, contnode):
    """``missing-reference`` handler: find where a Python reference is documented.

    The target is tried as written, inside the class and module of the reference and inside
    the module that defines the object of the page; the first that names a documented object
    (by name, or by identity under another name, e.g. ``emoset.sets.classifiers.ImageSetPLS`` ->
    ``emoset.ImageSetPLS``) is used.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    contexts = []
    module, cls = node.get("py:module"), node.get("py:class")
    if module and cls:
        contexts.append(f"{module}.{cls}")
    for context in (cls, module, _page_module(node.get("refdoc", ""))):
        if context and context not in contexts:
            contexts.append(context)
    candidates = [f"{context}.{target}" for context in contexts] + [target]
    domain = env.get_domain("py")
    documented = _documented_names(env)
    # last resort: a name documented once anywhere (``load_cremad_human_votes`` written in a
    # docstring of emoset.datasets.fetch means emoset.datasets.corpora.load_cremad_human_votes)
    # (aliased entries are the canonical names autodoc adds for the same objects)
    ends = [n for n, e in domain.objects.items() if n.endswith("." + target) and not e.aliased]
    if len(ends) == 1:
        candidates.append(ends[0])
    for candidate in candidates:
        name = candidate if candidate in domain.objects else None
        if name is None and candidate.startswith("emoset"):
            obj = _lookup(candidate)
            name = None if obj is None else documented.get(id(obj))
        if name is None:
            continue
        new = node.deepcopy()
        new["reftarget"] = name
        for key in ("py:module", "py:class"):
            if key in new:
                del new[key]
        resolved = domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], name, new, contnode
        )
        if resolved is None and node["reftype"] != "obj":
            resolved = domain.resolve_xref(
                env, node["refdoc"], app.builder, "obj", name, new, contnode
            )
        if resolved is not None:
            return resolved
    return None


# --------------------------------------------------------------------------- api.rst check
def package_groups(init_py):
    """``[(comment, [names...]), ...]`` of ``__all__`` in ``emoset/__init__.py``, in order.

    The grouped ``__all__`` is in the stub ``emoset/__init__.pyi`` beside it when there is one
    (the package loads its names on first use; the stub holds their imports).
    """
    stub = Path(init_py).with_suffix(".pyi")
    source = (stub if stub.is_file() else Path(init_py)).read_text(encoding="utf-8")
    tree = ast.parse(source)
    node = next(
        n
        for n in tree.body
        if isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in n.targets)
    )
    lines = source.splitlines()[node.lineno - 1 : node.end_lineno]
    groups = []
    for line in lines:
        text = line.strip()
        if text.startswith("#"):
            groups.append((text.lstrip("# ").strip(), []))
        for name in re.findall(r"[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']", text):
            if name == "__version__":
                continue
            if not groups:
                groups.append(("", []))
            groups[-1][1].append(name)
    return [(title, names) for title, names in groups if names]


def api_page_groups(api_rst):
    """``[(section title, [names...]), ...]``: the ``emoset.*`` autosummary entries of api.rst.

    Only the part under ``.. currentmodule:: emoset`` counts (until the next currentmodule).
    """
    lines = Path(api_rst).read_text(encoding="utf-8").splitlines()
    groups, module, in_summary = [], None, False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(".. currentmodule::"):
            module = stripped.split("::", 1)[1].strip()
            continue
        if i + 1 < len(lines) and _TITLE_UNDERLINE.match(lines[i + 1]) and stripped:
            if len(lines[i + 1].strip()) >= len(stripped):
                groups.append((stripped, []))
                in_summary = False
                continue
        if stripped.startswith(".. autosummary::"):
            in_summary = True
            continue
        if in_summary:
            if not stripped or stripped.startswith(":"):
                continue
            if not line.startswith((" ", "\t")):
                in_summary = False
                continue
            if module == "emoset" and groups:
                groups[-1][1].append(stripped.lstrip("~").removeprefix("emoset."))
    return [(title, names) for title, names in groups if names]


def api_problems(init_py, api_rst):
    """What ``api.rst`` misses or misfiles, as sentences (empty when it matches ``__all__``)."""
    expected = package_groups(init_py)
    found = api_page_groups(api_rst)
    problems = []
    want = [n for _, names in expected for n in names]
    have = [n for _, names in found for n in names]
    missing = [n for n in want if n not in have]
    extra = [n for n in have if n not in want]
    if missing:
        problems.append(f"not in the API reference: {', '.join(missing)}")
    if extra:
        problems.append(f"in the API reference but not in emoset.__all__: {', '.join(extra)}")
    if not missing and not extra:
        for (group, names), (title, listed) in zip(expected, found, strict=False):
            if set(names) != set(listed):
                problems.append(
                    f"section {title!r} should list the group '# {group}' of emoset.__all__ "
                    f"({', '.join(names)}); it lists {', '.join(listed)}"
                )
        if len(expected) != len(found):
            problems.append(
                f"emoset.__all__ has {len(expected)} groups but the API reference has "
                f"{len(found)} sections of emoset names"
            )
    return problems


def check_api_page(app):
    import emoset

    init_py = Path(emoset.__file__)
    api_rst = Path(app.srcdir) / "api.rst"
    for problem in api_problems(init_py, api_rst):
        logger.warning(
            "api.rst does not match emoset.__all__: %s (edit docs/api.rst)",
            problem,
            location=str(api_rst),
        )


def skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out members a class inherits from outside emoset.

    scikit-learn's mixins add ``get_params``, ``set_output``, ``set_fit_request``...; built-in
    exceptions add ``with_traceback``, ``errno``... Their own documentation covers them.
    """
    if what not in ("class", "exception"):
        return None
    if isinstance(obj, property):
        obj = obj.fget
    owner = getattr(obj, "__objclass__", None)
    if owner is not None:
        module = owner.__module__
    elif callable(obj):
        module = getattr(obj, "__module__", None) or "builtins"
    else:
        return None
    return True if not module.startswith("emoset") else None


def drop_type_docstrings(app, what, name, obj, options, lines):
    """A constant without a ``#:`` comment gets no text, not the docstring of ``str``/``tuple``."""
    if what in ("data", "attribute") and lines:
        own = type(obj).__doc__ or ""
        if "\n".join(lines).strip() == inspect.cleandoc(own).strip():
            lines.clear()


_ROOT_LOGGING = (list(logging_module.getLogger().handlers), logging_module.getLogger().level)


def reset_logging(gallery_conf, fname):
    """sphinx-gallery resetter: the root logger as it was before the examples ran."""
    root = logging_module.getLogger()
    handlers, level = _ROOT_LOGGING
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging_module.captureWarnings(False)


def write_model_card(app):
    """``generated/model_card.txt``: what ``emoset info`` prints for the bundled model."""
    import hashlib

    from emoset.recognizer import describe_model, format_card, load_pretrained, read_card
    from emoset.utils.resources import pretrained_model_path

    path = pretrained_model_path()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    text = format_card(
        describe_model(load_pretrained()),
        read_card(path),
        path="emoset/models/" + path.name,
        digest=digest,
    )
    out = Path(app.srcdir) / "generated" / "model_card.txt"
    out.parent.mkdir(exist_ok=True)
    if not out.is_file() or out.read_text() != text:  # unchanged: no rebuild of the page
        out.write_text(text)


def setup(app):
    app.connect("autodoc-process-docstring", drop_type_docstrings)
    app.connect("autodoc-skip-member", skip_foreign_members)
    app.connect("missing-reference", resolve_public_name)
    app.connect("builder-inited", check_api_page)
    app.connect("builder-inited", write_model_card)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
