"""People: every face tracked, tracks grouped into people, shot cuts, who speaks.

The scenes are built at test time from the CREMA-D face crops (tests/_people.py): actors side
by side at different sizes, three faces, a dialogue cut between two actors, a person leaving
and coming back after another's shot. The truth (which actor is where, whose voice is heard)
is known from how each scene was built.
"""

import numpy as np
import pytest
from _people import FPS, SR, load_clip, shots, side_by_side, three

from emoset.datasets import load_cremad
from emoset.io.media import read_frames
from emoset.video.faces import FaceAligner
from emoset.video.people import PeopleTracker, ShotCuts, small_view, track_people
from emoset.video.speakers import attribute_speech, mouth_motion, voice_levels

#: Clips cut short upstream (16 and 3 frames): not material for scenes.
SHORT = {"1064_TIE_SAD_XX", "1076_MTI_NEU_XX"}


@pytest.fixture(scope="module")
def actors(data_root):
    """The first face-crop clip of each actor: ``[(speaker, (frames, audio, levels))]``."""
    clips = load_cremad(data_root, subsets=["facecrop128"])
    first = {}
    for c in sorted(clips, key=lambda c: c.id):
        if c.id not in SHORT:
            first.setdefault(c.speaker, c)
    return [(s, load_clip(first[s])) for s in sorted(first)]


def _purity(scene, found):
    """Share of faces whose person holds mostly that actor; and the people per actor."""
    truth = np.array(
        [scene.actor_at(f, b) for f, b in zip(found.frame_indices, found.boxes, strict=True)],
        dtype=object,
    )
    assert all(t is not None for t in truth), "a face where no actor was put"
    right = 0
    for k in range(len(found.people)):
        mine = truth[found.person == k]
        right += max(np.sum(mine == a) for a in set(mine))
    people_of = {a: set(found.person[truth == a].tolist()) for a in scene.places}
    return right / len(truth), people_of


def test_two_actors_side_by_side_are_two_people(actors):
    scene = side_by_side(actors[0][1], actors[1][1])
    found = track_people(scene.frames, FaceAligner(64))
    purity, people_of = _purity(scene, found)
    assert [p.id for p in found.people] == ["P1", "P2"]
    assert purity == 1.0 and people_of == {"a": {0}, "b": {1}}  # the larger face first
    # both faces in (nearly) every frame, each box where that actor was put
    assert found.people[0].n_frames >= len(scene.frames) - 2
    assert found.people[1].n_frames >= len(scene.frames) - 2
    assert found.extra["n_cuts"] == 0 and found.extra["n_descriptors"] == 0


def test_three_faces(actors):
    scene = three(actors[2][1], actors[3][1], actors[4][1])
    found = track_people(scene.frames, FaceAligner(64))
    purity, people_of = _purity(scene, found)
    assert len(found.people) == 3 and purity == 1.0
    assert sorted(len(v) for v in people_of.values()) == [1, 1, 1]


def test_dialogue_cuts_keep_each_actor_one_person(actors):
    """A/B/A/B shots of one second, both faces in the same place: the cuts end the tracks,
    the face descriptors give each actor back their id."""
    (_, a), (_, b) = actors[5], actors[6]
    order = [("a", a), ("b", b)] * 2
    scene = shots(
        [(x, clip, (k // 2) * 25, 25, 0, 0) for k, (x, clip) in enumerate(order)], (128, 128)
    )
    found = track_people(scene.frames, FaceAligner(64))
    purity, people_of = _purity(scene, found)
    assert found.extra["n_cuts"] == 3 and found.extra["n_tracks"] == 4
    assert purity >= 0.95 and people_of == {"a": {0}, "b": {1}}


def test_leaving_and_coming_back_after_another_shot(actors):
    """Actor a on the left, then b on the right (a gone), then a back on the left: P1 again."""
    (_, a), (_, b) = actors[7], actors[8]
    scene = shots([("a", a, 0, 30, 20, 10), ("b", b, 0, 30, 20, 160), ("a", a, 30, 30, 20, 10)])
    found = track_people(scene.frames, FaceAligner(64))
    purity, people_of = _purity(scene, found)
    assert [p.id for p in found.people] == ["P1", "P2"]
    assert purity >= 0.95 and people_of == {"a": {0}, "b": {1}}
    assert found.extra["n_descriptors"] > 0  # asked only when someone was off screen


def test_a_person_asked_about_on_a_blurred_first_face_is_known_by_their_sharp_ones(actors):
    """B, then A whose first 8 frames are blurred (A's identity is asked on that first face,
    B being off screen), B again, A again: A's second shot is compared with A's sharpest faces
    of the first one, not with the blurred face it was asked about on (which made a third
    person of A in these two scenes before)."""
    import cv2

    for k in (0, 2):
        (_, a), (_, b) = actors[k], actors[k + 1]
        frames = a[0].copy()
        for j in range(8):
            frames[j] = cv2.GaussianBlur(frames[j], (0, 0), 4.0)
        blurred = (frames, *a[1:])
        scene = shots(
            [
                ("b", b, 0, 25, 20, 160),
                ("a", blurred, 0, 45, 20, 10),
                ("b", b, 25, 20, 20, 160),
                ("a", a, 45, 20, 20, 10),
            ]
        )
        found = track_people(scene.frames, FaceAligner(64))
        purity, people_of = _purity(scene, found)
        assert [p.id for p in found.people] == ["P1", "P2"], k
        assert purity == 1.0 and people_of == {"b": {0}, "a": {1}}, k


def test_one_face_is_aligned_exactly_as_the_single_face_path(data_root):
    """Every frame of a one-face clip gives the same aligned face with or without people."""
    clips = load_cremad(data_root)
    for clip in [c for c in clips if "native" in str(c.video)][:3] + clips[:3]:
        frames = read_frames(clip.video, color="gray")
        faces, stats = FaceAligner(64).align_frames(frames, warn_no_face=False)
        found = track_people(frames, FaceAligner(64))
        assert len(found.people) == 1
        np.testing.assert_array_equal(found.faces, faces)
        np.testing.assert_array_equal(found.frame_indices, stats.frame_indices)


def test_small_faces_are_counted_not_tracked(actors):
    scene = side_by_side(actors[0][1], actors[1][1], small=104)
    found = track_people(scene.frames, FaceAligner(64), min_face_size=80)
    assert len(found.people) == 1 and found.extra["n_small_faces"] > 0


def test_shot_cuts_on_real_clips(data_root):
    """No cut within a clip; a cut between two actors' clips."""
    clips = [c for c in load_cremad(data_root, subsets=["facecrop128"]) if c.id not in SHORT]
    cuts = ShotCuts()
    inside = 0
    for clip in clips[:12]:
        cuts = ShotCuts()
        for frame in read_frames(clip.video, color="gray"):
            inside += cuts.update(small_view(frame))
    assert inside == 0
    found = 0
    for x, y in zip(clips[:12], clips[12:24], strict=True):
        cuts = ShotCuts()
        cuts.update(small_view(read_frames(x.video, color="gray")[-1]))
        found += cuts.update(small_view(read_frames(y.video, color="gray")[0]))
    assert found >= 11


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"discover_every": 0}, "discover_every must be an integer >= 1"),
        ({"max_missed": -1}, "max_missed must be an integer >= 0"),
        ({"identity_threshold": 0}, "identity_threshold must be a positive number"),
        ({"min_face_size": 0}, "min_face_size must be an integer >= 1"),
    ],
    ids=["discover_every", "max_missed", "identity_threshold", "min_face_size"],
)
def test_tracker_parameters_are_checked(bad, match):
    with pytest.raises(ValueError, match=match):
        PeopleTracker(FaceAligner(64), **bad)


def test_the_voice_goes_to_the_mouth_that_follows_it(actors):
    """One actor speaking beside a listener, several pairs: the speaker gets the voice in at
    least 90 % of the windows with speech; the listener alone is a voice off screen."""
    right = total = off = heard_off = 0
    for k in range(0, 16, 2):
        scene = side_by_side(actors[k][1], actors[k + 1][1])
        found = track_people(scene.frames, FaceAligner(64))
        n = len(scene.frames)
        times = np.arange(n) / FPS
        levels = voice_levels(scene.audio, SR, times, 1 / FPS)
        motion = mouth_motion(found.faces, found.person, found.frame_indices)
        windows, owner, _ = attribute_speech(
            times, levels, found.person, found.frame_indices, motion, n_people=2
        )
        for w in windows:
            if w["speaker"] is not None:
                total += 1
                right += w["speaker"] == 0  # P1 is the speaker, the larger face
        listener = found.person == 1
        windows, _, _ = attribute_speech(
            times,
            levels,
            np.zeros(listener.sum(), np.int64),
            found.frame_indices[listener],
            motion[listener],
            n_people=1,
        )
        heard = [w["speaker"] for w in windows if w["speaker"] is not None]
        off += sum(s == -1 for s in heard)
        heard_off += len(heard)
    assert total >= 12 and right / total >= 0.9
    assert heard_off >= 12 and off / heard_off >= 0.9  # the listener is not the voice


def test_someone_else_appearing_after_a_gap_is_someone_else(actors):
    """A leaves, two or four empty frames, B comes in elsewhere (no cut): B is not A."""
    from _people import canvas, paste

    a, b = actors[0][1][0], actors[1][1][0]
    for gap in (0, 2, 4, 8):
        n = 60 + gap
        frames = canvas(n, 360, 640)
        paste(frames, a[:30], 100, 60, range(0, 30))
        paste(frames, b[:30], 100, 450, range(30 + gap, n))
        found = track_people(frames, FaceAligner(64))
        left = found.boxes[:, 0] < 300
        assert set(found.person[left]) == {0} and set(found.person[~left]) == {1}, gap


def test_a_face_that_jumps_keeps_its_person(actors):
    """A jumps two face widths (no cut) while B stays: a new track, the same person."""
    from _people import canvas, paste

    a, b = actors[2][1][0], actors[3][1][0]
    frames = canvas(60, 360, 640)
    paste(frames, b[:60], 100, 450)
    paste(frames, a[:30], 100, 20, range(0, 30))
    paste(frames, a[30:60], 100, 250, range(30, 60))
    found = track_people(frames, FaceAligner(64))
    right = found.boxes[:, 0] > 400
    assert len(set(found.person[~right])) == 1 and len(found.people) == 2
    assert found.extra["n_tracks"] == 3  # the jump ended A's track; the descriptor joined them


def test_each_person_features_on_their_own(actors, tmp_path):
    """Features that look across frames (landmark motion) follow each person, not the frame
    order: a listener held still moves (almost) nothing."""
    from emoset.video.extract import ImageSetFeatures

    scene = side_by_side(actors[0][1], actors[1][1])
    path = scene.write(tmp_path / "two.mp4")
    step = ImageSetFeatures("landmarks").fit()
    sets, _, people = step.extract_people([path])
    speaker, listener = sets[0]
    assert len(people[0]["people"]) == 2
    half = speaker.shape[1] // 2  # the shape, then its frame-to-frame change
    # mixed in frame order, each person's "motion" would jump between two faces
    assert np.abs(listener[1:, half:]).mean() < 0.5 * np.abs(speaker[1:, half:]).mean()


def test_summary_of_people_main_person_and_turns():
    """Who speaks the most is the main person; each voice's turns are runs of whole windows."""
    from emoset.video.people import summarise_people

    rate, n = 25.0, 100
    frames = np.arange(n)
    person = np.r_[np.zeros(n, np.int64), np.ones(n, np.int64)]  # two people, every frame
    frame_indices = np.r_[frames, frames]
    boxes = np.tile([0.0, 0.0, 80.0, 80.0], (2 * n, 1))
    rng = np.random.default_rng(0)
    levels = np.where(rng.random(n) < 0.5, -20.0, -50.0)  # speech, syllable by syllable
    motion = np.r_[(levels + 50) / 5 + rng.random(n), np.full(n, 0.2)]  # P1 follows it
    out = summarise_people(person, frame_indices, boxes, motion, levels, rate, n)
    assert out["main"] == 0 and out["people"][1]["speaking"] == 0
    assert out["people"][0]["speaking"] > 1.0 and out["off_screen"] == 0
    assert all(whose == 0 for _, _, whose in out["turns"])
    assert sum(end - start for start, end, _ in out["turns"]) >= 3.0  # whole windows
    nobody = summarise_people(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0), levels, rate, n
    )
    assert nobody["people"] == [] and nobody["main"] == -1 and nobody["off_screen"] > 1.0
