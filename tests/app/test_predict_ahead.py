"""What ``emoset predict`` makes of one clip while it imports the estimators.

The command forks a child (:mod:`emoset.app.predict_ahead`, :mod:`emoset.utils.early`) that
reads in the model file what its subsystems extract and makes the clip's kind, its speech
records, faces and CNN features; the extraction takes each only for exactly its own
settings. Real CREMA-D clips, the model emoset ships and a model trained here. (The faces
and features alone: tests/video/test_early_clip.py.)
"""

import functools
import logging
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from emoset.app.predict_ahead import clip_work, kind_part, model_steps, speech_arguments
from emoset.audio.clip_audio import early_part, extract_clip
from emoset.recognizer import load_model
from emoset.utils import early
from emoset.utils.resources import pretrained_model_path

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the early process is forked: Linux only"
)

SHIPPED = pretrained_model_path()


@pytest.fixture(scope="module")
def clip(data_root):
    path = data_root / "cremad" / "native" / "video" / "1001_DFA_DIS_XX.mp4"
    if not path.is_file():
        pytest.skip(f"the full-frame CREMA-D clips are not in {data_root}")
    return path


@pytest.fixture(autouse=True)
def _no_child_left():
    yield
    early.end_early_clip()


def _speech_steps(model, cache_dir=None):
    """The runtime feature step of each speech subsystem, as predict runs them."""
    return [
        model._runtime_step(pipe.steps[0][1], cache_dir)
        for name, pipe in model.subsystems_.items()
        if model.modalities_[name] == "audio"
    ]


@pytest.mark.parametrize("allow_partial", [False, True])
def test_the_speech_the_child_reads_in_the_model_is_what_it_extracts(
    small_model_file, allow_partial
):
    """For the shipped model (ComParE functionals and eGeMAPS descriptor moments) and one
    trained here (eGeMAPS functionals): the arguments read in the file are those the loaded
    model's steps extract with."""
    for path in (SHIPPED, small_model_file):
        model = load_model(path).set_params(allow_partial=allow_partial)
        theirs = [step._clip_arguments() for step in _speech_steps(model)]
        ours = [
            speech_arguments(m, n, s, allow_partial=allow_partial) for m, n, s in model_steps(path)
        ]
        assert [a for a in ours if a is not None] == theirs and theirs


def test_what_the_child_cannot_read_it_does_not_make(tmp_path, clip):
    assert model_steps(tmp_path / "missing.skops") == []
    (tmp_path / "text.skops").write_text("not a model\n")
    assert model_steps(tmp_path / "text.skops") == []
    with zipfile.ZipFile(tmp_path / "other.skops", "w") as archive:
        archive.writestr("schema.json", '{"content": {"content": {}}}')
    assert model_steps(tmp_path / "other.skops") == []
    module, name = "emoset.audio.features", "OpenSmileFeatures"
    settings = {"feature_set": "eGeMAPSv02", "sampling_rate": 16000, "band_rate_": None}
    settings.update(min_duration=0.5, augmentation=None)
    assert speech_arguments(module, name, settings, allow_partial=False)["kind"] == "opensmile"
    augmented = {**settings, "augmentation": "noise"}
    assert speech_arguments(module, name, augmented, allow_partial=False) is None
    assert speech_arguments(module, "LibrosaFeatures", settings, allow_partial=False) is None
    assert speech_arguments(module, name, {"feature_set": "x"}, allow_partial=False) is None
    # an unreadable model: the default model's faces and features, no speech
    plan, _ = clip_work(clip, model=tmp_path / "text.skops")
    assert [p[0] for p in plan] == ["kind", "faces", "features"]
    plan, _ = clip_work(clip, model=tmp_path / "text.skops", video=False)
    assert [p[0] for p in plan] == ["kind"]


def test_the_speech_records_made_ahead_are_the_extractions_own(clip):
    model = load_model(SHIPPED)
    steps = _speech_steps(model)
    plan, makers = clip_work(clip, model=SHIPPED)
    assert [p[0] for p in plan] == ["kind", "faces", "features", "audio", "audio"]
    assert makers[0]() == "video"
    for step, part, make in zip(steps, plan[3:], makers[3:], strict=True):
        assert part == early_part(clip, **step._clip_arguments())
        record = make()
        expected = extract_clip(clip, **step._clip_arguments(), augmentation=None)
        assert record.keys() == expected.keys()
        assert np.array_equal(record["values"], expected["values"])
        assert record["status"] == expected["status"] == "ok"


def test_a_prediction_with_the_parts_made_ahead_is_the_same(clip, tmp_path, caplog):
    """Every part the child made is taken, and the records are those made without it."""
    expected = load_model(SHIPPED, cache_dir=tmp_path / "a").predict_records([clip])
    early.start_early_clip(clip, functools.partial(clip_work, model=SHIPPED))
    child = early._early_clip.child
    with child.changed:  # everything made (a part not started when asked is not taken)
        assert child.changed.wait_for(lambda: child.over, timeout=300)
    model = load_model(SHIPPED, cache_dir=tmp_path / "b")
    with caplog.at_level(logging.DEBUG, logger="emoset.utils.early"):
        got = model.predict_records([clip])
    taken = [r.getMessage().split(" of ")[0] for r in caplog.records if "started early" in r.msg]
    assert sorted(taken) == ["audio", "audio", "faces", "features"]
    assert repr(got) == repr(expected) and got[0].label is not None


def _run(argv, cache):
    env = {**os.environ, "EMOSET_CACHE": str(cache)}
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("sound", [False, True], ids=["video", "sound"])
def test_the_command_makes_the_clip_ahead_and_answers_the_same(
    small_model_file, clip, data_root, tmp_path, sound
):
    """``emoset predict`` (the console command's own process) takes what its child made and
    prints what ``main()`` prints (no early start), for a video and for a sound file."""
    if sound:
        clip = data_root / "cremad" / "native" / "audio" / "1001_DFA_DIS_XX.wav"
    argv = ["predict", "--model", str(small_model_file), str(clip), "--json"]
    done = _run([sys.executable, "-m", "emoset.app.cli", "-vv", *argv], tmp_path / "a")
    assert done.returncode == 0, done.stderr
    taken = [line for line in done.stderr.splitlines() if "started early" in line]
    # which parts the command takes depends on how far the child has got when it asks (a
    # part not started is made by the command): the answer does not
    assert 1 <= len(taken) <= (2 if sound else 4), done.stderr  # kind, speech[, faces, features]
    code = f"import sys; from emoset.app.cli import main; sys.exit(main({argv!r}))"
    reference = _run([sys.executable, "-c", code], tmp_path / "b")
    assert reference.returncode == 0, reference.stderr
    assert "started early" not in reference.stderr
    assert done.stdout == reference.stdout


def test_the_command_with_the_shipped_model_answers_as_without_its_child(clip, tmp_path):
    done = _run([sys.executable, "-m", "emoset.app.cli", "-vv", "predict", str(clip)], tmp_path)
    assert done.returncode == 0, done.stderr
    taken = [line for line in done.stderr.splitlines() if "started early" in line]
    assert 1 <= len(taken) <= 5, done.stderr  # kind, faces, features, two speech records
    assert kind_part(clip)[1][0] == os.path.realpath(clip)
    plain = _run(
        [
            sys.executable,
            "-c",
            "import sys; from emoset.app.cli import main; "
            f"sys.exit(main(['predict', {str(clip)!r}]))",
        ],
        tmp_path / "b",
    )
    assert plain.returncode == 0 and plain.stdout == done.stdout
