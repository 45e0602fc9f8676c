"""The documentation cannot rot: the API reference lists emoset.__all__, the gallery's imports
exist, and the site builds offline with warnings as errors.

The slow test builds the API reference, the user guide (its figures are computed from the real
clips during the build, so it runs the whole chain: alignment, CNN features, kernels, PLS, the
recognizer and its fusion) and the data pages, and renders the gallery without running it
(``-D plot_gallery=0``): the seven examples add about 1.5 min of CPU with warm feature caches
and several more cold, and ``make docs`` runs them. The fast tests check what a non-executed
gallery cannot: that every name an example imports from emoset still exists.
"""

import ast
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
EXAMPLES = sorted((DOCS / "examples").glob("plot_*.py"))

sys.path.insert(0, str(DOCS / "_ext"))
import emoset_docs  # noqa: E402

sys.path.remove(str(DOCS / "_ext"))


def test_api_reference_lists_every_public_name_in_its_group():
    import emoset

    assert emoset_docs.api_problems(Path(emoset.__file__), DOCS / "api.rst") == []


def test_api_check_names_what_is_missing(tmp_path):
    import emoset

    api = tmp_path / "api.rst"
    api.write_text((DOCS / "api.rst").read_text().replace("   ImageSetPLS\n", ""))
    problems = emoset_docs.api_problems(Path(emoset.__file__), api)
    assert problems == ["not in the API reference: ImageSetPLS"]


def test_gallery_has_six_examples_with_titles():
    assert len(EXAMPLES) >= 6
    for path in EXAMPLES:
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and doc.splitlines()[1].startswith("==="), f"{path.name}: no title"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_gallery_imports_exist(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module.split(".")[0] == "emoset":
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{path.name}: {node.module}.{alias.name}"


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 2 min of CPU with a cold feature cache
def test_docs_build_offline_without_warnings(data_root, feature_cache, tmp_path):
    source = tmp_path / "docs"
    shutil.copytree(
        DOCS,
        source,
        ignore=shutil.ignore_patterns(
            "_build", "generated", "auto_examples", "sg_execution_times.rst", "__pycache__"
        ),
    )
    env = {
        **os.environ,
        "EMOSET_DATA": str(data_root),
        "EMOSET_CACHE": str(feature_cache),
        "MPLBACKEND": "Agg",
        "TQDM_DISABLE": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        # no network: a build that reached for intersphinx inventories would fail here
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }
    out = tmp_path / "html"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q"]
    cmd += ["-D", "plot_gallery=0", str(source), str(out)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-5000:]

    import emoset

    for name in set(emoset.__all__) - {"__version__"}:
        assert (out / "generated" / f"emoset.{name}.html").is_file(), name
    guide = (out / "user_guide.html").read_text()
    figures = [p for p in (out / "_images").glob("user_guide-*.png")]
    assert len(figures) >= 5 and guide.count("user_guide-") >= 5
    for page in ("data.html", "modules.html", "auto_examples/index.html"):
        assert (out / page).is_file(), page
    for path in EXAMPLES:
        assert (out / "auto_examples" / f"{path.stem}.html").is_file(), path.name
    licences = (out / "data.html").read_text()
    for term in ("ODbL", "BY-NC-SA", "EULA", "research licence", "iBUG 300-W", "MIT"):
        assert term in licences, term
