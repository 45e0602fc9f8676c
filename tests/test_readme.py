"""The README's Python examples run as written (on the real clips of ../shared/data)."""

import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.slow


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_the_quick_start():
    blocks = _python_blocks()
    assert len(blocks) >= 2
    assert re.search(r"from emoset import .*ImageSetPLS", blocks[0])


def test_the_quick_start_begins_with_the_three_commands():
    """A new user's first three commands: the bundled model, its card, the report page."""
    section = README.read_text().split("## Quick start", 1)[1]
    first = re.search(r"```(\w+)\n(.*?)```", section, flags=re.S)
    assert first.group(1) == "bash"
    commands = [line.split("#")[0].split() for line in first.group(2).strip().splitlines()]
    assert commands == [
        ["emoset", "predict", "clip.mp4"],
        ["emoset", "info"],
        ["emoset", "timeline", "long.mp4", "--html", "r.html"],
    ]


def test_readme_examples_run(data_root, tmp_path, monkeypatch, capsys, feature_cache):
    monkeypatch.setenv("EMOSET_DATA", str(data_root))
    monkeypatch.setenv("EMOSET_CACHE", str(feature_cache))  # cache_dir=True: the shared cache
    monkeypatch.chdir(tmp_path)
    namespace = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for block in _python_blocks():
            exec(compile(block, str(README), "exec"), namespace)
    ours = [w for w in caught if issubclass(w.category, UserWarning)]
    assert all(w.filename == str(README) for w in ours), [(w.filename, w.message) for w in ours]
    out = capsys.readouterr().out
    found = re.search(r"speaker-independent accuracy (\d\.\d+) \(chance (\d\.\d+)\)", out)
    accuracy, chance = float(found.group(1)), float(found.group(2))
    assert chance == pytest.approx(18 / 86, abs=0.005)  # 18 fear clips of 86
    assert accuracy > chance + 0.1
    assert (tmp_path / "model.skops").is_file()
    assert len(namespace["test"]) > 0 and not {c.speaker for c in namespace["test"]} & {
        c.speaker for c in namespace["train"]
    }
