"""``emoset predict`` on one clip aligns its faces while it imports the estimators.

The command forks a child (:func:`emoset.utils.early.start_early_clip`) that aligns the
clip's faces with the default video subsystem's settings and runs the emotion CNN on them;
the clip's extraction takes them only for exactly its own settings, and otherwise (or if the
child failed or warned) makes them itself. Real full-frame CREMA-D clips. (The speech records
the child makes, and the whole command: tests/app/test_predict_ahead.py.)
"""

import functools
import logging
import sys

import numpy as np
import pytest
from _orphans import exits_when_orphaned

from emoset.app.predict_ahead import clip_work, kind_part
from emoset.utils import early
from emoset.video._clip import _per_person, _spec_key
from emoset.video.clip_faces import (
    DEFAULT_FEATURE,
    align_clip,
    default_faces_part,
    default_features,
    faces_part,
    features_part,
)
from emoset.video.extract import ImageSetFeatures, make_frame_features
from emoset.video.faces import FaceAligner

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the early process is forked: Linux only"
)

#: The child's work without a model file: the file's kind, the default model's faces and
#: CNN features.
FACES_WORK = functools.partial(clip_work, model=None)


@pytest.fixture(scope="module")
def clips(data_root):
    paths = sorted((data_root / "cremad" / "native" / "video").glob("1001_DFA_*_XX.mp4"))[:2]
    if len(paths) != 2:
        pytest.skip(f"the full-frame CREMA-D clips are not in {data_root}")
    return paths


def _start(path, work=FACES_WORK):
    """Start the child and wait until it has sent everything (a part asked for before the
    child has started it is left to the caller: the tests here take what it made)."""
    early.start_early_clip(path, work)
    child = early._early_clip.child
    with child.changed:
        assert child.changed.wait_for(lambda: child.over, timeout=300)


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


def test_the_faces_and_features_made_ahead_are_the_extractions_own(clips):
    aligner, options = _default()
    expected = align_clip(clips[0], None, aligner, options)
    assert expected["n_faces"] > 30
    cnn = make_frame_features("cnn")
    features = _per_person(cnn, expected["faces"], expected["person"], 128)
    _start(clips[0])
    got = early.take_early_clip(clips[0], faces_part(clips[0], None, aligner, options))
    _same(got, expected)
    values = early.take_early_clip(clips[0], features_part(_spec_key(cnn)))
    assert values.dtype == np.float32 and np.array_equal(values, features)
    assert early._early_clip is not None  # one part left: the file's kind
    assert early.take_early_clip(clips[0], kind_part(clips[0])) == "video"
    assert early._early_clip is None  # everything it made was taken: it is ended


@pytest.mark.parametrize("allow_partial", [False, True])
def test_the_child_makes_what_the_default_video_subsystem_asks_for(clips, allow_partial):
    """The parts the child lists are those ``ImageSetFeatures()``'s extraction asks for."""
    step = ImageSetFeatures(allow_partial=allow_partial).fit()
    theirs = faces_part(clips[0], None, step.make_aligner(), step._options())
    assert default_faces_part(clips[0], allow_partial=allow_partial) == theirs
    plan, _ = clip_work(clips[0], model=None, allow_partial=allow_partial)
    assert theirs in plan and features_part(_spec_key(make_frame_features(step.feature))) in plan
    assert DEFAULT_FEATURE == _spec_key(make_frame_features("cnn"))
    other = ImageSetFeatures(feature="hog", aligner=FaceAligner(48), allow_partial=allow_partial)
    other = other.fit()
    assert faces_part(clips[0], None, other.make_aligner(), other._options()) not in plan


def test_the_child_imports_no_estimator(clips):
    """The command and its child import neither scikit-learn nor SciPy's optimisers
    (0.7 s) before they have made the clip's faces, features and speech: that is why they
    are ready first."""
    from emoset.utils.resources import pretrained_model_path

    code = (
        "import sys\n"
        "import emoset.app.cli\n"
        "from emoset.app.predict_ahead import clip_work\n"
        f"plan, makers = clip_work({str(clips[0])!r}, model={str(pretrained_model_path())!r})\n"
        "made = [make() for make in makers]\n"
        "assert [p[0] for p in plan] == ['kind', 'faces', 'features', 'audio', 'audio']\n"
        "assert made[0] == 'video' and made[1]['n_faces'] > 30, made[1]\n"
        "assert made[2].shape == (made[1]['n_faces'], 128)\n"
        "assert made[3]['status'] == made[4]['status'] == 'ok'\n"
        "print(sorted(m for m in ('sklearn', 'scipy.optimize', 'skops', 'pandas') "
        "if m in sys.modules))\n"
    )
    run = __import__("subprocess").run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_a_dialogue_is_aligned_ahead_as_the_extraction_aligns_it(data_root, tmp_path):
    """Cuts between two actors: each new track may be someone seen before, so the child
    compares faces with dlib's descriptor (importing scikit-learn then); the same people,
    faces and features (each person's on their own) as the extraction's."""
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
    features = _per_person(make_frame_features("cnn"), expected["faces"], expected["person"], 128)
    _start(path)
    got = early.take_early_clip(path, faces_part(path, None, aligner, options))
    assert got is not None
    _same(got, expected)
    assert np.array_equal(early.take_early_clip(path, features_part(DEFAULT_FEATURE)), features)
    assert np.array_equal(default_features(expected), features)


def test_other_settings_or_another_clip_do_not_take_them(clips, tmp_path):
    aligner, (fps, *rest) = _default()
    early.start_early_clip(clips[0], FACES_WORK)  # still aligning when it is asked
    child = early._early_clip.child.process
    part = faces_part(clips[0], None, aligner, (5.0, *rest))  # 5 frames a second
    assert early.take_early_clip(clips[0], part, needed=True) is None
    child.join(60)
    assert not child.is_alive()  # stopped: its later parts are of no use

    _start(clips[0])
    child = early._early_clip.child.process
    part = faces_part(clips[1], None, aligner, (fps, *rest))
    assert early.take_early_clip(clips[1], part, needed=True) is None  # another clip's
    assert early._early_clip is not None  # left alone
    assert early.take_early_clip(clips[0], features_part(["other", "feature", {}])) is None
    assert early._early_clip is not None  # a part it does not make, not needed: left alone
    early.end_early_clip()
    assert early._early_clip is None and not child.is_alive()

    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n")
    _start(bad)  # fails in the child: nothing to take
    child = early._early_clip.child.process
    part = faces_part(bad, None, aligner, (fps, *rest))
    assert early.take_early_clip(bad, part, needed=True) is None
    child.join(60)
    assert not child.is_alive()


def test_a_file_changed_since_the_child_started_is_aligned_anew(clips, tmp_path):
    aligner, options = _default()
    path = tmp_path / "clip.mp4"
    path.write_bytes(clips[0].read_bytes())
    early.start_early_clip(path, FACES_WORK)
    child = early._early_clip.child
    with child.changed:  # the child has looked at the file (its plan has come)
        assert child.changed.wait_for(lambda: child.plan is not None, timeout=300)
    before = faces_part(path, None, aligner, options)
    path.write_bytes(clips[1].read_bytes())  # then another clip under the same name
    after = faces_part(path, None, aligner, options)
    assert after != before
    assert early.take_early_clip(path, after) is None


def test_the_extraction_takes_them_and_gives_the_same_sets(clips, caplog):
    expected = ImageSetFeatures().fit().transform([clips[0]])
    _start(clips[0])
    with caplog.at_level(logging.DEBUG, logger="emoset.utils.early"):
        got = ImageSetFeatures().fit().transform([clips[0]])
    assert "faces of" in caplog.text and "features of" in caplog.text
    assert np.array_equal(got[0], expected[0]) and len(got[0]) > 30

    _start(clips[0])
    child = early._early_clip.child.process
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="emoset.utils.early"):
        got = ImageSetFeatures(fps=5).fit().transform([clips[0]])  # not what it aligned
    assert "started early" not in caplog.text
    assert 0 < len(got[0]) < len(expected[0])
    child.join(60)
    assert not child.is_alive()

    _start(clips[0])
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="emoset.utils.early"):
        got = ImageSetFeatures("hog").fit().transform([clips[0]])  # its faces, another feature
    assert "faces of" in caplog.text and "features of" not in caplog.text
    assert got[0].shape[0] == expected[0].shape[0]


def test_taken_faces_are_cached_and_a_cached_clip_takes_nothing(clips, tmp_path, caplog):
    step = ImageSetFeatures(cache_dir=tmp_path / "cache").fit()
    _start(clips[0])
    with caplog.at_level(logging.DEBUG, logger="emoset.utils.early"):
        first, info = step.extract([clips[0]])
    assert "faces of" in caplog.text and "features of" in caplog.text
    assert not info["cached"].iloc[0]
    _start(clips[0])
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="emoset.utils.early"):
        again, info = step.extract([clips[0]])
    assert info["cached"].iloc[0] and "started early" not in caplog.text
    assert np.array_equal(again[0], first[0])


def test_faces_that_warned_in_the_child_are_made_again(clips, monkeypatch):
    """A warning while the child aligns (here: a truncated file's, simulated) gives no faces:
    the extraction aligns the clip itself, and the user sees the warning."""
    calls = []

    def warned(*args, **kwargs):
        calls.append(1)
        __import__("warnings").warn("simulated trouble", UserWarning, stacklevel=1)
        return align_clip(*args, **kwargs)

    monkeypatch.setattr("emoset.video.clip_faces.align_clip", warned)
    plan, makers = clip_work(clips[0], model=None)
    assert plan[1][0] == "faces"
    assert makers[1]() is None and calls == [1]
    assert makers[2]() is None  # no faces: no features


def test_faces_that_failed_in_the_child_leave_the_rest_to_make(tmp_path):
    """A file with sound and no video stream: its faces fail in the child, which gives None
    for them (the extraction meets the error itself) and goes on to the next part."""
    from _factories import write_audio

    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)
    sound = write_audio(tmp_path / "sound.m4a", tone)
    plan, makers = clip_work(sound, model=None)
    assert [p[0] for p in plan] == ["kind", "faces", "features"]
    assert [make() for make in makers] == ["audio", None, None]


def test_a_child_whose_command_died_does_not_wait_for_it(clips, tmp_path):
    """The command gone without ending its child (as a killed command would): the child
    ends with it, rather than aligning on for nobody or waiting forever on its pipe."""
    pid_file = tmp_path / "pid"
    code = (
        "import functools, os\n"
        "from emoset.utils import early\n"
        "from emoset.app.predict_ahead import clip_work\n"
        f"early.start_early_clip({str(clips[0])!r}, functools.partial(clip_work, model=None))\n"
        f"open({str(pid_file)!r}, 'w').write(str(early._early_clip.child.process.pid))\n"
        "os._exit(0)\n"
    )
    assert exits_when_orphaned(code, pid_file), "the early child of a dead command did not exit"


def test_a_missing_clip_says_so_with_or_without_a_child(clips, tmp_path):
    path = tmp_path / "gone.mp4"
    _, info = ImageSetFeatures().fit().extract([path])
    assert info["error"].iloc[0].endswith("gone.mp4: no such file")
    path.write_bytes(clips[0].read_bytes())
    early.start_early_clip(path, FACES_WORK)
    path.unlink()  # gone before the extraction looks at it
    _, info = ImageSetFeatures().fit().extract([path])
    assert info["error"].iloc[0].endswith("gone.mp4: no such file")
