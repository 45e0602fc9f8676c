"""The Examples of every docstring in emoset run, and show what they print.

Examples that read a corpus read the shared clips (``$EMOSET_DATA`` is the test data root);
those that need a network, a trained model or minutes are marked ``# doctest: +SKIP`` in
the docstring. Each module runs in a temporary working folder, with the session's private
feature cache.
"""

import doctest
import importlib
import pkgutil

import pytest

import emoset

MODULES = sorted(info.name for info in pkgutil.walk_packages(emoset.__path__, "emoset."))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _examples(module):
    """The module's docstring tests that hold examples (a class's methods included)."""
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, module.__name__)
    return [t for t in tests if t.examples]


@pytest.mark.parametrize("name", ["emoset", *MODULES])
def test_docstring_examples(name, data_root, monkeypatch, tmp_path):
    monkeypatch.setenv("EMOSET_DATA", str(data_root))
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    report = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in _examples(module):
        runner.run(test, out=report.append)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, "".join(report)


def test_most_examples_run():
    """Skipped examples stay few: those that need a network, a trained model or minutes
    (measured: 185 examples, 7 of them skipped)."""
    examples = skipped = 0
    for name in ["emoset", *MODULES]:
        for test in _examples(importlib.import_module(name)):
            for example in test.examples:
                examples += 1
                skipped += bool(example.options.get(doctest.SKIP))
    assert examples >= 160 and skipped <= 8, (examples, skipped)
