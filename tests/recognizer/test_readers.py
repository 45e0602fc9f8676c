"""A file's faces aligned in a process of its own: the same faces, hence the same rows.

Reading a file, a serial timeline pass forks a child that decodes the video stream and aligns
its faces (:class:`emoset.video.face_process.FaceProcess`) while the pass decodes the audio
itself (:func:`emoset.io.sources.iter_media` with ``only``). The inputs are made from three of
the full-frame CREMA-D clips of actor 1001, written with PyAV into a temporary folder.
"""

import queue
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from _avfiles import clip_frames_and_audio, write_av
from _orphans import exits_when_orphaned

from emoset.io.errors import MediaError
from emoset.io.sources import iter_media
from emoset.recognizer.timeline import TimelineOptions, TimelineRun
from emoset.video.face_process import FaceProcess, _decode_ahead
from emoset.video.faces import FaceAligner, FaceTrack

FPS = 5


@pytest.fixture(scope="module")
def video(data_root, tmp_path_factory):
    """Three full-frame clips one after the other (about 6.5 s, 640x360 after padding)."""
    paths = sorted((data_root / "cremad" / "native" / "video").glob("1001_DFA_*_XX.mp4"))[:3]
    if len(paths) != 3:
        pytest.skip(f"the full-frame CREMA-D clips are not in {data_root}")
    path = tmp_path_factory.mktemp("readers") / "three.mp4"
    write_av(path, [clip_frames_and_audio(p) for p in paths])
    return path


@pytest.fixture(scope="module")
def model(small_recognizer):
    import copy

    return copy.deepcopy(small_recognizer).set_params(fps=FPS)


def _pass(model, path, face_process, **options):
    run = TimelineRun(model, path, TimelineOptions(**options))
    one = run._pass(0, None, face_process=face_process)
    return one, pd.DataFrame(list(one), columns=one.columns)


def test_the_same_rows_as_aligning_in_the_pass(model, video):
    beside, rows = _pass(model, video, True)
    alone, expected = _pass(model, video, False)
    assert beside.face_process and not alone.face_process
    assert len(rows) == len(expected) >= 10
    assert rows.equals(expected)
    assert rows["n_faces"].min() > 0  # the faces came through
    assert np.array_equal(beside.stats["faces"], alone.stats["faces"])
    for key in ("n_frames", "n_decoded", "duration", "ended", "has_video", "has_audio"):
        assert beside.stats[key] == alone.stats[key], key
    assert beside.stats["n_decoded"] > beside.stats["n_frames"] > 0  # 30 fps read at 5


def test_a_pass_from_a_later_window_seeks_as_in_the_pass(model, video):
    run = TimelineRun(model, video, TimelineOptions())
    rows, stats = {}, {}
    for face_process in (True, False):
        one = run._pass(6, 10, face_process=face_process)
        rows[face_process] = pd.DataFrame(list(one), columns=one.columns)
        stats[face_process] = one.stats
    assert rows[True]["start"].tolist() == [3.0, 3.5, 4.0, 4.5]
    assert rows[True].equals(rows[False])
    # a pass that stops at its last window still has the process's counts and times
    assert stats[True]["ended"] == stats[False]["ended"] == "end of segment"
    assert stats[True]["n_frames"] == stats[False]["n_frames"] > 0
    assert stats[True]["n_decoded"] >= stats[True]["n_frames"]
    assert stats[True]["seconds"]["detect_align"] > 0


def test_faces_equal_a_track_in_this_process(video):
    aligners = [FaceAligner(), FaceAligner(crop_size=48, landmarks=5)]
    got = list(FaceProcess(video, aligners, color="gray", fps=FPS, audio_sr=16000, start=1.0))
    tracks = [FaceTrack(a) for a in aligners]
    items = iter_media(video, color="gray", fps=FPS, start=1.0, only="video")
    n = 0
    for (t, faces), (kind, t0, frame) in zip(got, items, strict=True):
        assert kind == "video" and t == t0 >= 1.0
        for track, face in zip(tracks, faces, strict=True):
            found = track.update(frame)
            assert found is not None and face is not None
            mine = (found.face, found.chip, found.aligned_landmarks, found.box)
            for a, b in zip(face, mine, strict=True):
                assert (a is None and b is None) or np.array_equal(a, b)
        n += 1
    assert n >= 20 and got[1][1][1][0].shape == (48, 48)


def test_only_one_stream_is_timed_as_both(video):
    both_report, video_report, audio_report = {}, {}, {}
    both = list(iter_media(video, color="gray", fps=FPS, report=both_report))
    frames = list(iter_media(video, color="gray", fps=FPS, report=video_report, only="video"))
    audio = list(iter_media(video, color="gray", fps=FPS, report=audio_report, only="audio"))
    assert [i[:2] for i in frames] == [i[:2] for i in both if i[0] == "video"]
    assert [i[:2] for i in audio] == [i[:2] for i in both if i[0] == "audio"]
    assert np.array_equal(frames[7][2], [i for i in both if i[0] == "video"][7][2])
    assert np.array_equal(
        np.concatenate([i[2] for i in audio]),
        np.concatenate([i[2] for i in both if i[0] == "audio"]),
    )
    for key in ("origin", "fps", "has_video", "has_audio"):
        assert video_report[key] == audio_report[key] == both_report[key], key
    assert video_report["n_decoded"] == both_report["n_decoded"] > 0
    assert audio_report["n_decoded"] == 0
    with pytest.raises(ValueError, match="only must be None, 'video' or 'audio'; got 'faces'"):
        next(iter_media(video, only="faces"))


def test_an_unreadable_file_is_the_same_error(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n")
    with pytest.raises(MediaError, match="notes.mp4: cannot open the source") as raised:
        list(FaceProcess(bad, [FaceAligner()], color="gray", fps=None, audio_sr=16000, start=None))
    assert raised.value.path.name == "notes.mp4"


def test_stopping_early_ends_the_process(video):
    faces = FaceProcess(video, [FaceAligner()], color="gray", fps=FPS, audio_sr=16000, start=None)
    first = next(iter(faces))
    assert first[0] == 0.0
    faces.close()
    assert not faces._process.is_alive()
    assert faces._process.exitcode is not None


def test_the_decoder_thread_runs_ahead_by_at_most_its_queue(video, tmp_path):
    media = {"color": "gray", "fps": FPS, "audio_sr": 16000, "start": None}
    out, report, seconds = queue.Queue(maxsize=2), {}, {"decode": 0.0}
    thread = threading.Thread(target=_decode_ahead, args=(video, report, media, seconds, out))
    thread.start()
    for _ in range(6000):  # until the queue is full (at most a minute on a loaded machine)
        if out.full():
            break
        thread.join(0.01)
    assert out.full() and thread.is_alive()  # it waits for the alignment to take a frame
    got = [out.get()]
    while got[-1] is not None:
        got.append(out.get())
    thread.join()
    expected = list(iter_media(video, only="video", **media))
    assert [item[1] for item, _ in got[:-1]] == [item[1] for item in expected]
    assert np.array_equal(got[5][0][2], expected[5][2])
    counts = [n for _, n in got[:-1]]  # frames decoded up to each kept one (30 fps read at 5)
    assert counts == sorted(counts) and counts[-1] <= report["n_decoded"] and counts[1] > 2
    assert seconds["decode"] > 0
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n")
    out = queue.Queue()
    _decode_ahead(bad, {}, media, {"decode": 0.0}, out)
    error = out.get_nowait()
    assert isinstance(error, MediaError) and error.path.name == "notes.mp4" and out.empty()


class _HeldPipe:
    """The child's end of the pipe of a parent that reads nothing until ``release`` is set;
    with ``fail_at``, the send of that message (counted from 1) raises ``error`` instead."""

    def __init__(self, fail_at=None, error=BrokenPipeError):
        self.release, self.sent, self.tries = threading.Event(), [], 0
        self.fail_at, self.error = fail_at, error

    def send(self, message):
        self.release.wait()
        self.tries += 1
        if self.tries == self.fail_at:
            raise self.error("the parent is gone")
        self.sent.append(message)

    def close(self):
        pass


def _child_thread(monkeypatch, video, pipe, media):
    """``face_process._work`` in a thread of this process (not forked), and a list that
    grows by one item per frame it aligns."""
    from emoset.video import face_process

    monkeypatch.setattr(face_process, "in_child", lambda parent_end: None)
    aligned = []
    update = FaceTrack.update
    monkeypatch.setattr(FaceTrack, "update", lambda t, f, **kw: aligned.append(1) or update(t, f))
    args = (pipe, None, str(video), [FaceAligner()], media)
    return threading.Thread(target=face_process._work, args=args, daemon=True), aligned


def test_the_alignment_does_not_wait_for_a_parent_that_is_not_reading(video, monkeypatch):
    """A command importing the estimators and loading its model reads no faces for a second
    or more: the child aligns on, its messages held by its sending thread, and the parent
    then gets every one of them in order."""
    from emoset.video import face_process

    media = {"color": "gray", "fps": FPS, "audio_sr": 16000, "start": None}
    n_frames = len(list(iter_media(video, only="video", **media)))
    assert n_frames < face_process._BACKLOG * face_process._SEND_EVERY  # all fit in the backlog
    pipe = _HeldPipe()
    child, aligned = _child_thread(monkeypatch, video, pipe, media)
    child.start()
    try:
        seen, still = 0, 0
        while len(aligned) < n_frames and still < 6000:  # stalled a minute: it waits for us
            child.join(0.01)
            still = still + 1 if len(aligned) == seen else 0
            seen = len(aligned)
        assert len(aligned) == n_frames and not pipe.sent  # all aligned, nothing read yet
    finally:
        pipe.release.set()
    child.join(120)
    assert not child.is_alive()
    kinds = [m[0] for m in pipe.sent]
    assert kinds == ["frames"] * (len(kinds) - 1) + ["end"]
    times = [t for m in pipe.sent[:-1] for t, _ in m[1]]
    assert times == [item[1] for item in iter_media(video, only="video", **media)]


@pytest.mark.parametrize("error", [BrokenPipeError, TypeError])
def test_a_failed_send_ends_the_alignment(video, monkeypatch, error):
    """Once a send fails (the parent gone, or a message that cannot be sent) the child stops
    aligning at its next message and ends, instead of aligning the rest of the file or
    waiting on a full queue; a failure that is not the pipe's reaches the parent as the
    error."""
    from emoset.video import face_process

    monkeypatch.setattr(face_process, "_BACKLOG", 1)
    media = {"color": "gray", "fps": None, "audio_sr": 16000, "start": None}
    n_frames = len(list(iter_media(video, only="video", **media)))
    pipe = _HeldPipe(fail_at=2, error=error)
    pipe.release.set()
    child, aligned = _child_thread(monkeypatch, video, pipe, media)
    child.start()
    child.join(120)  # a few seconds; a child waiting on its queue would never end
    assert not child.is_alive()
    # at most: the one sent, the failed one, one queued behind it, one waiting for room
    # while the sender failed, and the one being aligned when the failure was seen
    assert len(aligned) <= 5 * face_process._SEND_EVERY < n_frames
    assert pipe.sent[0][0] == "frames"
    if error is BrokenPipeError:
        assert len(pipe.sent) == 1
    else:
        assert pipe.sent[1:] == [
            ("error", None, "sending the faces failed: TypeError: the parent is gone")
        ]


class _Faces:
    """A stand-in for a FaceProcess: ``frames`` in order, then its end (``error``)."""

    def __init__(self, times, error=None):
        self.times, self.final_error = times, error
        self.n_decoded, self.error, self.closed = 0, None, False

    def __iter__(self):
        for i, t in enumerate(self.times):
            self.n_decoded = i + 1
            yield t, [None]
        self.error = self.final_error

    def close(self):
        self.closed = True


def _audio(times, report, error=None):
    for t in times:
        yield "audio", t, np.zeros(4, np.float32)
    report["error"] = error


def test_merged_in_time_order_and_cut_where_a_stream_failed():
    """beside_faces on generated items: time order; a decoding error in either stream ends
    the other where the failing one stopped (a pass that demultiplexes both stops there)."""
    from emoset.recognizer._readers import beside_faces

    report = {}
    faces = _Faces([0.0, 0.2, 0.4])
    items = list(beside_faces(_audio([0.1, 0.3, 0.5], report), faces, report))
    assert [(k, t) for k, t, _ in items] == [
        ("faces", 0.0),
        ("audio", 0.1),
        ("faces", 0.2),
        ("audio", 0.3),
        ("faces", 0.4),
        ("audio", 0.5),
    ]
    assert faces.closed and report["n_decoded"] == 3 and report["error"] is None

    report = {}  # the video failed after 0.2 s: no sound after its last frame
    faces = _Faces([0.0, 0.2], error="Invalid data found")
    items = list(beside_faces(_audio([0.1, 0.3, 0.5], report), faces, report))
    assert [t for _, t, _ in items] == [0.0, 0.1, 0.2]
    assert report["error"] == "Invalid data found" and report["n_decoded"] == 2

    report = {}  # the audio failed after 0.1 s: no frame after its last sound
    faces = _Faces([0.0, 0.2, 0.4])
    items = list(beside_faces(_audio([0.1], report, error="bad packet"), faces, report))
    assert [t for _, t, _ in items] == [0.0, 0.1]
    assert report["error"] == "bad packet" and faces.closed


def test_aligner_settings_are_face_aligners():
    """The sklearn-free settings a face process can be started with before the estimators are
    imported are FaceAligner's parameters and defaults."""
    from emoset.video.tracking import ALIGNER_DEFAULTS, AlignerSettings

    assert FaceAligner().get_params() == ALIGNER_DEFAULTS == AlignerSettings().get_params()
    assert AlignerSettings(crop_size=48).crop_size == 48
    with pytest.raises(TypeError, match="unknown parameters"):
        AlignerSettings(size=48)


def test_the_face_process_module_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = (
        "import sys, emoset.video.face_process\n"
        "print(sorted(m for m in ('sklearn', 'scipy', 'onnxruntime', 'emoset.video.faces') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_a_process_started_early_is_taken_for_its_settings_only(model, video, caplog):
    import logging

    from emoset.video import face_process as early
    from emoset.video.tracking import AlignerSettings

    settings = {"color": "gray", "fps": FPS, "audio_sr": 16000, "audio": True, "start": None}
    _, expected = _pass(model, video, False)
    early.start_early(video, [AlignerSettings()], **settings)
    started = early._early[1]
    with caplog.at_level(logging.DEBUG, logger="emoset.recognizer.timeline"):
        one, rows = _pass(model, video, True)
    assert "aligned by the process the command started early" in caplog.text
    assert rows.equals(expected)
    assert early._early is None and not started._process.is_alive()

    early.start_early(video, [AlignerSettings()], **{**settings, "fps": 7.0})
    started = early._early[1]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="emoset.recognizer.timeline"):
        one, rows = _pass(model, video, True)  # reads 5 frames a second, not 7: its own
    assert "started early" not in caplog.text
    assert rows.equals(expected)
    assert not started._process.is_alive()
    early.end_early()  # nothing left: a no-op


def test_the_command_starts_aligning_before_it_loads_the_model(small_model_file, video, tmp_path):
    """``emoset timeline`` (the console command's own process) starts the face process before
    importing the estimators; with the model's settings the pass takes it: the same table."""
    import subprocess
    import sys

    out, ref = tmp_path / "early.csv", tmp_path / "in-process.csv"
    argv = ["timeline", "--model", str(small_model_file), str(video), "--fps", str(FPS)]
    cache = ["--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run(
        [sys.executable, "-m", "emoset.app.cli", "-vv", *argv, "--csv", str(out), *cache],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "aligned by the process the command started early" in done.stderr
    from emoset.app.cli import main

    assert main([*argv, "--csv", str(ref), "--cache-dir", str(tmp_path / "cache2")]) == 0
    assert out.read_text() == ref.read_text()


def test_an_early_process_no_pass_can_take_is_ended(model, video, tmp_path):
    """A run whose passes do not align in a face process (people mode here; also segments in
    workers, live sources) ends the command's early process at once instead of leaving it to
    decode the whole file beside the run."""
    from emoset.video import face_process as early
    from emoset.video.tracking import AlignerSettings

    settings = {"color": "gray", "fps": FPS, "audio_sr": 16000, "audio": True, "start": None}
    early.start_early(video, [AlignerSettings()], **settings)
    started = early._early[1]
    TimelineRun(model, video, TimelineOptions(people=True))._pass(0, None, face_process=True)
    assert early._early is None and not started._process.is_alive()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc: Linux only")
def test_a_face_process_whose_parent_died_exits(video, tmp_path):
    """The parent killed (here: gone without ending its child): the child's sends fail and it
    exits, rather than waiting forever on a pipe it holds both ends of."""
    pid_file = tmp_path / "pid"
    code = (
        "import os\n"
        "from emoset.video.face_process import FaceProcess\n"
        "from emoset.video.tracking import AlignerSettings\n"
        f"p = FaceProcess({str(video)!r}, [AlignerSettings()], color='gray', fps=None, "
        "audio_sr=16000, start=None)\n"
        f"open({str(pid_file)!r}, 'w').write(str(p._process.pid))\n"
        "os._exit(0)\n"
    )
    assert exits_when_orphaned(code, pid_file), "the face process of a dead parent did not exit"
