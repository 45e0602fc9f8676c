"""``emoset predict`` on one clip aligns its faces while it imports the estimators.

The command forks a child (:func:`emoset.video.face_process.start_early_clip`) that aligns
the clip's faces with the default video subsystem's settings; the clip's extraction takes
them only for exactly its own settings, and otherwise (or if the child failed or warned)
aligns the clip itself. Real full-frame CREMA-D clips.
"""

import logging
import subprocess
import sys

import numpy as np
import pytest
from _orphans import exits_when_orphaned

from emoset.video import face_process as early
from emoset.video.clip_faces import align_clip, default_clip_faces, early_settings
from emoset.video.extract import ImageSetFeatures
from emoset.video.faces import FaceAligner

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the early process is forked: Linux only"
)


@pytest.fixture(scope="module")
def clips(data_root):
    paths = sorted((data_root / "cremad" / "native" / "video").glob("1001_DFA_*_XX.mp4"))[:2]
    if len(paths) != 2:
        pytest.skip(f"the full-frame CREMA-D clips are not in {data_root}")
    return paths


@pytest.fixture(autouse=True)
def _no_child_left():
    """A test that fails half-way leaves no early process for the next one to take."""
    yield
    early.end_early_clip()


def _default():
    step = ImageSetFeatures().fit()
    return step.make_aligner(), step._options()


def _same(a, b):
    assert a.keys() == b.keys()
    for key in a.keys() - {"seconds"}:
        x, y = a[key], b[key]
        assert (
            np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
            if isinstance(x, np.ndarray)
            else x == y
        ), key


def test_the_faces_aligned_ahead_are_the_extractions_own(clips):
    aligner, options = _default()
    expected = align_clip(clips[0], None, aligner, options)
    assert expected["n_faces"] > 30
    early.start_early_clip(clips[0], default_clip_faces)
    got = early.take_early_clip(clips[0], early_settings(clips[0], None, aligner, options))
    _same(got, expected)
    assert early._early_clip is None


@pytest.mark.parametrize("allow_partial", [False, True])
def test_the_child_aligns_with_the_default_video_subsystems_settings(clips, allow_partial):
    """What the child sends first is what ``ImageSetFeatures()``'s extraction asks for."""
    step = ImageSetFeatures(allow_partial=allow_partial).fit()
    theirs = early_settings(clips[0], None, step.make_aligner(), step._options())
    faces = default_clip_faces(clips[0], allow_partial=allow_partial)
    assert next(faces) == theirs
    faces.close()
    other = ImageSetFeatures(feature="hog", aligner=FaceAligner(48), allow_partial=allow_partial)
    other = other.fit()
    assert early_settings(clips[0], None, other.make_aligner(), other._options()) != theirs


def test_the_child_imports_no_estimator(clips):
    """The command and its child import neither scikit-learn nor SciPy's optimisers (0.7 s)
    before the child has aligned the clip: that is why it is ready first."""
    code = (
        "import sys\n"
        "import emoset.app.cli\n"
        "from emoset.video.clip_faces import default_clip_faces\n"
        f"faces = list(default_clip_faces({str(clips[0])!r}))\n"
        "assert faces[1] is not None and faces[1]['n_faces'] > 30, faces[1]\n"
        "print(sorted(m for m in ('sklearn', 'scipy.optimize', 'skops', 'pandas') "
        "if m in sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_a_dialogue_is_aligned_ahead_as_the_extraction_aligns_it(data_root, tmp_path):
    """Cuts between two actors: each new track may be someone seen before, so the child
    compares faces with dlib's descriptor (importing scikit-learn then); the same people and
    faces as the extraction's own."""
    from _people import load_clip, shots

    from emoset.datasets import load_cremad

    crops = load_cremad(data_root, subsets=["facecrop128"])
    first = {}
    for c in sorted(crops, key=lambda c: c.id):
        first.setdefault(c.speaker, c)
    a, b = (load_clip(first[s]) for s in sorted(first)[:2])
    parts = [(x, c, (k // 2) * 25, 25, 0, 0) for k, (x, c) in enumerate([("a", a), ("b", b)] * 2)]
    path = shots(parts, (128, 128)).write(tmp_path / "dialogue.mp4")
    aligner, options = _default()
    expected = align_clip(path, None, aligner, options)
    assert len(np.unique(expected["person"])) == 2 and expected["n_tracks"] >= 3
    early.start_early_clip(path, default_clip_faces)
    got = early.take_early_clip(path, early_settings(path, None, aligner, options))
    assert got is not None
    _same(got, expected)


def test_other_settings_or_another_clip_do_not_take_them(clips, tmp_path):
    aligner, (fps, *rest) = _default()
    early.start_early_clip(clips[0], default_clip_faces)
    child = early._early_clip[2]
    settings = early_settings(clips[0], None, aligner, (5.0, *rest))  # 5 frames a second
    assert early.take_early_clip(clips[0], settings) is None
    assert early._early_clip is None and not child.is_alive()

    early.start_early_clip(clips[0], default_clip_faces)
    child = early._early_clip[2]
    settings = early_settings(clips[1], None, aligner, (fps, *rest))
    assert early.take_early_clip(clips[1], settings) is None  # not this clip's: left alone
    assert early._early_clip is not None
    early.end_early_clip()
    assert early._early_clip is None and not child.is_alive()

    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n")
    early.start_early_clip(bad, default_clip_faces)  # fails in the child: nothing to take
    child = early._early_clip[2]
    assert early.take_early_clip(bad, early_settings(bad, None, aligner, (fps, *rest))) is None
    assert early._early_clip is None and not child.is_alive()


def test_a_file_changed_since_the_child_started_is_aligned_anew(clips, tmp_path):
    aligner, options = _default()
    path = tmp_path / "clip.mp4"
    path.write_bytes(clips[0].read_bytes())
    early.start_early_clip(path, default_clip_faces)
    assert early._early_clip[1].poll(300)  # the child has looked at the file (its settings)
    before = early_settings(path, None, aligner, options)
    path.write_bytes(clips[1].read_bytes())  # then another clip under the same name
    after = early_settings(path, None, aligner, options)
    assert after != before
    assert early.take_early_clip(path, after) is None


def test_the_extraction_takes_them_and_gives_the_same_sets(clips, caplog):
    expected = ImageSetFeatures().fit().transform([clips[0]])
    early.start_early_clip(clips[0], default_clip_faces)
    with caplog.at_level(logging.DEBUG, logger="emoset.video.face_process"):
        got = ImageSetFeatures().fit().transform([clips[0]])
    assert "aligned by the process the command started early" in caplog.text
    assert np.array_equal(got[0], expected[0]) and len(got[0]) > 30
    assert early._early_clip is None

    early.start_early_clip(clips[0], default_clip_faces)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="emoset.video.face_process"):
        got = ImageSetFeatures(fps=5).fit().transform([clips[0]])  # not what it aligned
    assert "started early" not in caplog.text
    assert early._early_clip is None and 0 < len(got[0]) < len(expected[0])


def test_taken_faces_are_cached_and_a_cached_clip_ends_the_child(clips, tmp_path, caplog):
    step = ImageSetFeatures(cache_dir=tmp_path / "cache").fit()
    early.start_early_clip(clips[0], default_clip_faces)
    with caplog.at_level(logging.DEBUG, logger="emoset.video.face_process"):
        first, info = step.extract([clips[0]])
    assert "aligned by the process the command started early" in caplog.text
    assert not info["cached"].iloc[0]
    early.start_early_clip(clips[0], default_clip_faces)
    child = early._early_clip[2]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="emoset.video.face_process"):
        again, info = step.extract([clips[0]])
    assert info["cached"].iloc[0] and "started early" not in caplog.text
    assert np.array_equal(again[0], first[0])
    assert early._early_clip is None and not child.is_alive()


def test_a_child_whose_command_died_does_not_wait_for_it(clips, tmp_path):
    """The command killed (here: gone without ending its child): the child finishes, fails to
    send and exits, rather than waiting forever on a pipe it holds both ends of."""
    pid_file = tmp_path / "pid"
    code = (
        "import os\n"
        "from emoset.video import face_process as early\n"
        "from emoset.video.clip_faces import default_clip_faces\n"
        f"early.start_early_clip({str(clips[0])!r}, default_clip_faces)\n"
        f"open({str(pid_file)!r}, 'w').write(str(early._early_clip[2].pid))\n"
        "os._exit(0)\n"
    )
    assert exits_when_orphaned(code, pid_file), "the early child of a dead command did not exit"


def test_the_command_aligns_a_clip_before_it_loads_the_model(small_model_file, clips, tmp_path):
    """``emoset predict`` (the console command's own process): the same answer as main()."""
    argv = ["predict", "--model", str(small_model_file), str(clips[1]), "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "emoset.app.cli", "-vv", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "EMOSET_CACHE": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stderr
    assert "aligned by the process the command started early" in done.stderr
    reference = subprocess.run(  # main(argv) from Python: no early start
        [sys.executable, "-c", f"import sys; from emoset.app.cli import main; main({argv!r})"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "EMOSET_CACHE": str(tmp_path / "cache2")},
    )
    assert reference.returncode == 0, reference.stderr
    assert "started early" not in reference.stderr
    assert done.stdout == reference.stdout


def test_a_missing_clip_says_so_with_or_without_a_child(clips, tmp_path):
    path = tmp_path / "gone.mp4"
    _, info = ImageSetFeatures().fit().extract([path])
    assert info["error"].iloc[0].endswith("gone.mp4: no such file")
    path.write_bytes(clips[0].read_bytes())
    early.start_early_clip(path, default_clip_faces)
    child = early._early_clip[2]
    path.unlink()  # gone before the extraction looks at it
    _, info = ImageSetFeatures().fit().extract([path])
    assert info["error"].iloc[0].endswith("gone.mp4: no such file")
    assert early._early_clip is None and not child.is_alive()
