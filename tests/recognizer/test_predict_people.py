"""Each person's emotion: predict_people, clip records with people, timelines with people, CLI.

Scenes are built from the CREMA-D face crops (tests/_people.py). A person's label is checked
against the same model's label of that person's single clip: the scene with everyone else
painted over and only their own voice.
"""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from _people import load_clip, shots, side_by_side, three

from emoset.app.cli import main
from emoset.datasets import load_cremad
from emoset.recognizer.people import PEOPLE_COLUMNS

SHORT = {"1064_TIE_SAD_XX", "1076_MTI_NEU_XX"}


@pytest.fixture(scope="module")
def actors(data_root):
    clips = load_cremad(data_root, subsets=["facecrop128"])
    first = {}
    for c in sorted(clips, key=lambda c: c.id):
        if c.id not in SHORT:
            first.setdefault(c.speaker, c)
    return [load_clip(first[s]) for s in sorted(first)]


@pytest.fixture(scope="module")
def scenes(actors, tmp_path_factory):
    """Built videos on disk, with the truth about each."""
    folder = tmp_path_factory.mktemp("people")
    a = actors
    built = {
        "side_by_side": side_by_side(a[10], a[11]),
        "side_by_side_2": side_by_side(a[12], a[13], small=112),
        "three": three(a[14], a[15], a[16]),
        "dialogue": shots(
            [
                (x, c, (k // 2) * 25, 25, 0, 0)
                for k, (x, c) in enumerate([("a", a[17]), ("b", a[18])] * 2)
            ],
            (128, 128),
        ),
        "reentry": shots(
            [
                ("a", a[19], 0, 30, 20, 10),
                ("b", a[20], 0, 30, 20, 160),
                ("a", a[19], 30, 30, 20, 10),
            ]
        ),
    }
    return {name: (scene, scene.write(folder / f"{name}.mp4")) for name, scene in built.items()}


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return func(*args, **kwargs)


def _actor_of(scene, row):
    """The actor a people row is about, from where their median box is."""
    x0, y0, x1, y1 = row["box"]
    first = int(round(row["start"] * 25))
    for actor, spans in scene.places.items():
        for a, b, top, left, side in spans:
            inside = left <= (x0 + x1) / 2 < left + side and top <= (y0 + y1) / 2 < top + side
            if inside and a <= first < b:
                return actor
    return None


def test_people_rows_and_labels_agree_with_each_persons_own_clip(
    small_recognizer, scenes, tmp_path
):
    """Each person's row says who, where, when, whether speaking; its label is the label of
    that person's single clip in at least 90 % of the people of the built scenes."""
    agree, total = 0, 0
    for name, (scene, path) in scenes.items():
        table = _quiet(small_recognizer.predict_people, path)
        assert list(table.columns) == PEOPLE_COLUMNS + list(small_recognizer.classes_)
        people = table[table["person"].notna()]
        assert len(people) == len(scene.places), name
        assert [_actor_of(scene, r) for _, r in people.iterrows()] == list(scene.places), name
        for _, row in people.iterrows():
            actor = _actor_of(scene, row)
            frames, audio = scene.alone(actor)
            single = scene.write(tmp_path / f"{name}_{actor}.mp4", frames, audio)
            (record,) = _quiet(small_recognizer.predict_records, [single])
            assert record.n_people == 1
            assert record.label is not None and row["label"] is not None
            agree += record.label == row["label"]
            total += 1
            scored = [c for c in small_recognizer.classes_ if np.isfinite(row[c])]
            assert row["label"] is None or len(scored) == len(small_recognizer.classes_)
    assert total == 11
    print(f"people labelled as their own clip: {agree} of {total}")
    assert agree / total >= 0.9, f"{agree} of {total}"


def test_speaker_gets_the_voice_and_listeners_do_not(small_recognizer, scenes):
    scene, path = scenes["side_by_side"]
    table = _quiet(small_recognizer.predict_people, path)
    speaker, listener = table.iloc[0], table.iloc[1]
    assert speaker["person"] == "P1" and speaker["speaking"] > 0.2
    assert "audio-svm" not in speaker["reason"]
    assert listener["speaking"] == 0 and "audio-svm: not speaking" in listener["reason"]
    assert table.attrs["main"] == "P1" and table.attrs["speech"] > 0.5


def test_clip_records_name_the_main_person_and_warn(small_recognizer, scenes, cremad_split):
    _, path = scenes["three"]
    (record,) = _quiet(small_recognizer.predict_records, [path])
    assert record.n_people == 3 and record.person == "P1"
    assert any("3 people seen" in w and "P1" in w for w in record.warnings)
    with pytest.warns(UserWarning, match=r"1 of 1 clip\(s\) show more than one person"):
        small_recognizer.predict([path])
    one = _quiet(small_recognizer.predict_records, cremad_split[1][:3])
    assert all(r.n_people == 1 and r.person == "P1" and not r.warnings for r in one)


def test_timeline_rows_per_window_and_person(small_recognizer, scenes):
    scene, path = scenes["dialogue"]
    tl = _quiet(small_recognizer.predict_timeline, path, window=1.0, hop=0.5, people=True)
    assert "person" in tl.columns and tl["person"].notna().all()
    # a one-second shot window sees one person, who is the one on screen then and speaks
    for start, person in [(0.0, "P1"), (1.0, "P2"), (2.0, "P1"), (3.0, "P2")]:
        rows = tl[tl["start"] == start]
        assert rows["person"].tolist() == [person]
        assert rows["subsystems"].iloc[0] == "cnn-pls,audio-svm"
    # windows across a cut hold both, one of them heard
    across = tl[tl["start"] == 0.5]
    assert sorted(across["person"]) == ["P1", "P2"]
    assert across["reason"].str.contains("not speaking").sum() == 1
    faces = tl.attrs["people_faces"]
    assert faces.shape[1] == 6 and set(np.unique(faces[:, 1])) == {0.0, 1.0}


def test_a_voice_no_visible_mouth_follows_is_reported_apart(small_recognizer, actors, tmp_path):
    """A listener on screen while someone unseen speaks: a row of person None, the voice's."""
    from _people import BACKGROUND, Scene, canvas, fit, paste, still

    speaking, listening = actors[21], actors[22]
    n = min(len(speaking[0]), 65)
    frames = canvas(n, 170, 200)
    paste(frames, still(listening[0], n), 20, 36)
    scene = Scene(frames, fit(speaking[1], n), {"b": [(0, n, 20, 36, 128)]}, {})
    assert BACKGROUND == frames[0, 0, 0, 0]
    path = scene.write(tmp_path / "voice_over.mp4")
    table = _quiet(small_recognizer.predict_people, path)
    assert table["person"].tolist() == ["P1", None]
    assert "not speaking" in table.iloc[0]["reason"]
    voice = table.iloc[1]
    assert "voice off screen" in voice["reason"] and voice["speaking"] is None
    assert table.attrs["off_screen"] > 0.5
    assert voice["label"] is not None
    assert np.isfinite(voice[list(small_recognizer.classes_)].astype(float)).all()


def test_cli_predict_people_json(small_model_file, scenes, capsys):
    _, path = scenes["side_by_side"]
    code = main(["predict", str(small_model_file), str(path), "--people", "--json"])
    assert code == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["n_people"] == 2 and record["person"] == "P1"
    assert [p["person"] for p in record["people"]] == ["P1", "P2"]
    fields = {"person", "start", "end", "n_frames", "speaking", "box", "label", "reason", "scores"}
    assert set(record["people"][0]) == fields and len(record["people"][0]["box"]) == 4
    assert main(["predict", str(small_model_file), str(path), "--people"]) == 0
    out = capsys.readouterr().out
    assert "P1:" in out and "P2:" in out and "not speaking" in out


def test_cli_timeline_people(small_model_file, scenes, tmp_path, capsys):
    _, path = scenes["reentry"]
    csv, plot, overlay = tmp_path / "t.csv", tmp_path / "t.png", tmp_path / "o.mp4"
    args = ["timeline", str(small_model_file), str(path), "--people", "--window", "1"]
    args += ["--hop", "0.5", "--csv", str(csv), "--plot", str(plot), "--overlay", str(overlay)]
    assert main(args) == 0
    table = pd.read_csv(csv)
    assert "person" in table.columns and set(table["person"].dropna()) == {"P1", "P2"}
    assert plot.stat().st_size > 10_000 and overlay.stat().st_size > 10_000
    main(["timeline", str(small_model_file), str(path), "--people", "--jsonl"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["person"] for r in rows} == {"P1", "P2"}


def test_speech_without_a_face(small_recognizer, actors, tmp_path):
    """Nobody on screen while someone speaks: one row, the voice off screen."""
    from _people import Scene, canvas, fit

    voice = actors[23]
    n = min(len(voice[0]), 65)
    scene = Scene(canvas(n, 160, 160), fit(voice[1], n), {}, {})
    table = _quiet(small_recognizer.predict_people, scene.write(tmp_path / "empty_room.mp4"))
    assert table["person"].tolist() == [None]
    assert "voice off screen" in table.iloc[0]["reason"] and table.iloc[0]["label"] is not None


def test_people_timeline_is_one_pass_and_smoothed_per_person(small_recognizer, scenes):
    from emoset.recognizer.timeline import smooth_timeline, stream_timeline

    _, path = scenes["reentry"]
    run = stream_timeline(small_recognizer, path, window=1.0, hop=0.5, people=True, segment=1.0)
    rows = _quiet(list, run)
    assert run.stats["n_segments"] == 1 and {"P1", "P2"} <= {r["person"] for r in rows}
    table = run.to_frame(rows)
    smooth = smooth_timeline(table, 3)
    classes = list(small_recognizer.classes_)
    for _, mine in table.groupby("person"):
        got = smooth.loc[mine.index, classes].to_numpy(dtype=float)
        want = mine[classes].rolling(3, center=True, min_periods=1).mean().to_numpy(dtype=float)
        np.testing.assert_allclose(got, want)


def test_dropped_frames_do_not_count_as_consecutive_mouth_motion(small_recognizer, actors):
    """A live source that drops frames: the mouth's motion is not measured across the gap."""
    from emoset.recognizer.people import WindowPeople, frame_gap_limit

    steps = small_recognizer.feature_steps()
    video = [n for n in steps if small_recognizer.modalities_[n] == "video"]
    frames = actors[0][0][:6]
    limit = frame_gap_limit(None, 25.0)
    motions = {}
    for name, times in {
        "steady": [0.04 * i for i in range(6)],
        "gap": [0, 0.04, 0.08, 0.4, 0.44, 0.48],
    }.items():
        people = WindowPeople(steps, video, source=name)
        motions[name] = [
            people.track(f, i, t, limit)[1][0][2]
            for i, (f, t) in enumerate(zip(frames, times, strict=True))
        ]
    assert np.isnan(motions["steady"][0]) and np.all(np.isfinite(motions["steady"][1:]))
    assert np.isnan(motions["gap"][3]), "motion measured across 8 dropped frames"
    assert np.allclose(
        np.delete(motions["gap"], 3), np.delete(motions["steady"], 3), equal_nan=True
    )
    # without times (a file read frame by frame) the indices alone decide, as before
    people = WindowPeople(steps, video)
    plain = [people.track(f, i)[1][0][2] for i, f in enumerate(frames)]
    assert np.allclose(plain, motions["steady"], equal_nan=True)


@pytest.mark.parametrize("source_fps, fps", [(25, 20), (30, 25), (12.5, 10), (25, 10), (30, None)])
def test_frames_kept_on_the_grid_are_never_taken_for_drops(source_fps, fps):
    """The frame grid of a file read at ``fps`` keeps frames up to a grid step and a source
    frame apart: no kept pair is beyond the limit, and one with two frames missing is (one
    missing frame can hide in the grid's slack at a reduced rate)."""
    from emoset.io.sources import _FrameGrid
    from emoset.recognizer.people import frame_gap_limit

    class Frame:
        def __init__(self, t):
            self.time = t

    report = {"fps": float(source_fps), "origin": None, "n_decoded": 0}
    grid = _FrameGrid(None, fps, report)
    kept = [t for k in range(250) if (t := grid.keep(Frame(k / source_fps))) is not None]
    gaps = np.diff(kept)
    assert len(kept) > 50
    for k in range(len(gaps)):
        assert gaps[k] <= frame_gap_limit(fps, source_fps, gaps[max(0, k - 25) : k]), k
    two_missing = gaps.max() + 2.0 / source_fps
    assert two_missing > frame_gap_limit(fps, source_fps) + 0.5 / source_fps, two_missing
