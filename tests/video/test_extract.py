"""Clips -> image sets: real clips, the cache, resume after an interruption, bad clips."""

import joblib
import numpy as np
import pytest
from _factories import write_video

from emoset.datasets.corpora import Clip, load_cremad
from emoset.utils.cache import default_cache_dir
from emoset.video.extract import ImageSetFeatures, extract_image_sets, make_frame_features
from emoset.video.frame_features import HOG, LBP


@pytest.fixture(scope="module")
def few_clips(data_root):
    crops = load_cremad(data_root, subsets=["facecrop128"])
    native = load_cremad(data_root, subsets=["native"])
    return crops[:3] + native[:1]


def _noise_video(path, n=12):
    rng = np.random.default_rng(0)
    return write_video(path, rng.integers(0, 255, (n, 96, 96, 3), dtype=np.uint8))


def test_real_clips_to_image_sets(few_clips, tmp_path):
    sets, info = extract_image_sets(few_clips, ["hog", "lbp"], cache_dir=tmp_path)
    assert set(sets) == {"hog", "lbp"}
    assert list(info.index) == [c.id for c in few_clips]
    for name, transformer in (("hog", HOG()), ("lbp", LBP())):
        d = transformer.fit(np.zeros((1, 64, 64), np.uint8)).n_features_out_
        for s, (_, row) in zip(sets[name], info.iterrows(), strict=True):
            assert s.dtype == np.float32 and s.shape == (row["n_faces"], d)
    assert (info["face_rate"] >= 0.95).all()
    assert (info["n_frames"] > 50).all() and (info["error"] == "").all()
    assert not info["cached"].any()
    # each set carries its clip's id, for the warnings of the set models
    from emoset.utils.setnames import set_label

    assert [set_label(s, i) for i, s in enumerate(sets["lbp"])] == [c.id for c in few_clips]
    # a mirrored set is named as such: a warning about it must not read as its original's twice
    mirrored, _ = extract_image_sets(few_clips[:1], "mirrored-lbp", cache_dir=tmp_path)
    assert set_label(mirrored[0], 0) == f"{few_clips[0].id} (mirrored)"


def test_cache_hit_gives_identical_sets(few_clips, tmp_path):
    first, _ = extract_image_sets(few_clips[:2], "hog", fps=5, cache_dir=tmp_path)
    again, info = extract_image_sets(few_clips[:2], "hog", fps=5, cache_dir=tmp_path)
    assert info["cached"].all() and (info["seconds_align"] == 0).all()
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    # a new feature on cached faces: faces come from the cache, the feature is computed
    lbp, info = extract_image_sets(few_clips[:2], "lbp", fps=5, cache_dir=tmp_path)
    assert info["cached"].all() and (info["seconds_lbp"] > 0).all()
    # different parameters are a different entry
    hog4, _ = extract_image_sets(few_clips[:1], HOG(cell_size=16), fps=5, cache_dir=tmp_path)
    assert hog4[0].shape[1] != first[0].shape[1]


def test_interrupted_batch_resumes(few_clips, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"")
    batch = [few_clips[0], few_clips[1], bad, few_clips[2]]
    from emoset.io.errors import MediaError

    with pytest.raises(MediaError, match=r"broken\.mp4: the file is empty"):
        extract_image_sets(batch, "hog", fps=5, cache_dir=tmp_path, on_error="raise")
    # the two clips before the failure were stored the moment they were done
    with pytest.warns(UserWarning, match=r"1 of 4 clips gave no image set .*broken \(.*empty"):
        sets, info = extract_image_sets(batch, "hog", fps=5, cache_dir=tmp_path)
    assert list(info["cached"]) == [True, True, False, False]
    assert info.loc["broken", "error"].endswith("broken.mp4: the file is empty (0 bytes)")
    assert sets[2].shape == (0, sets[0].shape[1])
    assert len(sets[3]) > 0


def test_no_face_clip_abstains_with_warning(tmp_path):
    video = _noise_video(tmp_path / "noise.mp4")
    with pytest.warns(UserWarning, match=r"no face found in 12 frame\(s\)"):
        sets, info = extract_image_sets([video], "hog")
    assert sets[0].shape[0] == 0 and info.loc["noise", "n_frames"] == 12
    assert info.loc["noise", "error"] == ""


@pytest.fixture(scope="module")
def serial_lbp(few_clips):
    """LBP image sets of the first three clips (5 frames a second), extracted in this process
    without a cache."""
    sets, _ = extract_image_sets(few_clips[:3], "lbp", fps=5)
    return sets


def test_parallel_backend_is_callers_choice(few_clips, serial_lbp):
    with joblib.parallel_config(backend="threading"):
        threaded, _ = extract_image_sets(few_clips[:2], "lbp", fps=5, n_jobs=2)
    assert all(np.array_equal(a, b) for a, b in zip(serial_lbp[:2], threaded, strict=True))


def test_runs_on_a_dask_cluster(few_clips, serial_lbp):
    """joblib.parallel_config(backend="dask") sends the clips to a Dask cluster (loopback)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster), joblib.parallel_config(backend="dask"):
            on_dask, info = extract_image_sets(few_clips[:3], "lbp", fps=5, n_jobs=2)
    assert all(np.array_equal(a, b) for a, b in zip(serial_lbp, on_dask, strict=True))
    assert (info["error"] == "").all()


def test_fps_and_max_frames(few_clips):
    sets, info = extract_image_sets(few_clips[:1], "lbp", fps=5, max_frames=8)
    assert info["n_frames"].iloc[0] == 8 and len(sets[0]) <= 8


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("EMOSET_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("EMOSET_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "emoset"


@pytest.mark.parametrize(
    ("features", "error", "match"),
    [
        ("sift2", ValueError, "Unknown frame feature 'sift2'"),
        ([], ValueError, "features is empty"),
        (3, TypeError, "features must be a name"),
        ([object()], TypeError, "must be a name or a transformer"),
    ],
    ids=["unknown-name", "empty", "wrong-type", "not-a-transformer"],
)
def test_bad_features(features, error, match, tmp_path):
    with pytest.raises(error, match=match):
        extract_image_sets([tmp_path / "x.mp4"], features)


def test_bad_on_error(tmp_path):
    with pytest.raises(ValueError, match="on_error must be 'warn' or 'raise'"):
        extract_image_sets([tmp_path / "x.mp4"], "hog", on_error="ignore")


def test_make_frame_features_clones():
    hog = HOG(cell_size=4)
    made = make_frame_features(hog)
    assert made is not hog and made.get_params() == hog.get_params()


def test_image_set_features_transformer(few_clips, tmp_path):
    """The Pipeline step gives what extract_image_sets gives; audio-only clips get empty sets."""
    audio_only = Clip("voice", None, few_clips[0].audio, "sad", "1001", "cremad")
    step = ImageSetFeatures("lbp", fps=5, cache_dir=tmp_path).fit()
    sets, info = step.extract(few_clips[:2] + [audio_only])
    direct, _ = extract_image_sets(few_clips[:2], "lbp", fps=5, cache_dir=tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(sets[:2], direct, strict=True))
    assert sets[2].shape == (0, step.n_features_out_) and "audio-only" in info.loc["voice", "error"]
    params = step.get_params()
    with pytest.warns(UserWarning, match=r"1 of 3 clips gave no image set"):
        step.transform(few_clips[:2] + [audio_only])
    assert step.get_params() == params  # a transform changes nothing
    with pytest.raises(TypeError, match="not a single path"):
        step.transform(few_clips[0].video)


def test_cache_holds_no_pickle_and_ignores_one(few_clips, tmp_path):
    """Every cache file is an .npz of arrays + JSON; a pickle put in its place never runs."""
    import pickle

    clean, _ = extract_image_sets(few_clips[:2], "lbp", fps=5, cache_dir=tmp_path)
    files = sorted((tmp_path / "image_sets").rglob("*"))
    files = [f for f in files if f.is_file()]
    assert files and all(f.suffix == ".npz" for f in files)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for f in files:
        f.write_bytes(pickle.dumps(Payload()))
    again, info = extract_image_sets(few_clips[:2], "lbp", fps=5, cache_dir=tmp_path)
    assert not marker.exists()  # nothing from the cache was executed
    assert not info["cached"].any()  # invalid entries are recomputed ...
    assert all(np.array_equal(a, b) for a, b in zip(clean, again, strict=True))  # ... exactly
    # ... and rewritten: the same files hold arrays again, read back by the next run
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            assert z.files
    third, info = extract_image_sets(few_clips[:2], "lbp", fps=5, cache_dir=tmp_path)
    assert info["cached"].all()
    assert all(np.array_equal(a, b) for a, b in zip(clean, third, strict=True))


def test_frame_featurizer_gives_the_rows_of_extract(few_clips):
    """Aligning frame by frame and featurising (timelines) gives the clip's image set."""
    from emoset.io.media import iter_frames
    from emoset.video.faces import FaceTrack

    step = ImageSetFeatures("hog", fps=10).fit()
    clip = few_clips[-1]  # a full-frame clip: the face is found, then tracked
    (expected,), _ = step.extract([clip])
    track = FaceTrack(step.make_aligner())
    found = [track.update(f) for f in iter_frames(clip.video, color="gray", fps=10)]
    faces = np.stack([f.face for f in found if f is not None])
    rows = step.frame_featurizer()(faces)
    assert rows.dtype == np.float32 and np.array_equal(rows, expected)
    assert step.frame_featurizer()(faces[:0]).shape == (0, step.n_features_out_)


def test_landmarks_and_mirrored_features_of_real_clips(few_clips, tmp_path):
    """``landmarks`` reads the aligned points (kept with the cached faces); ``mirrored-*`` the
    flipped faces; an older cache entry without the points is re-aligned, not misread."""
    from emoset.utils.cache import DiskCache
    from emoset.video._clip import _faces_key
    from emoset.video.extract import _people
    from emoset.video.faces import FaceAligner

    clips = few_clips[:1]
    sets, info = extract_image_sets(
        clips, ["landmarks", "mirrored-landmarks", "lbp", "mirrored-lbp"], fps=5, cache_dir=tmp_path
    )
    n = int(info["n_faces"].iloc[0])
    assert n >= 5 and sets["landmarks"][0].shape == sets["mirrored-landmarks"][0].shape == (n, 272)
    assert not np.allclose(sets["landmarks"][0], sets["mirrored-landmarks"][0])
    assert not np.allclose(sets["lbp"][0], sets["mirrored-lbp"][0])
    cache = DiskCache(tmp_path / "image_sets")
    options = (5, None, False, _people(None, 0.5))
    key = _faces_key(clips[0].video, clips[0].audio, FaceAligner(64), options)
    record = cache.get(key)
    assert record["landmarks"].shape == (n, 68, 2)
    cache.put(key, {k: v for k, v in record.items() if k != "landmarks"})  # an older entry
    again, info2 = extract_image_sets(clips, "landmarks", fps=5, cache_dir=tmp_path)
    assert not info2["cached"].iloc[0]
    np.testing.assert_array_equal(again[0], sets["landmarks"][0])


def test_mirrored_step_is_the_same_step_on_mirrored_faces():
    from emoset.video.frame_features import Mirrored

    step = ImageSetFeatures("cnn", fps=5, max_frames=20)
    mirror = step.mirrored()
    assert mirror.feature == "mirrored-cnn" and mirror.fps == 5 and mirror.max_frames == 20
    assert mirror.mirrored().feature == "cnn" and step.feature == "cnn"
    custom = ImageSetFeatures(HOG(cell_size=16)).mirrored()
    assert isinstance(custom.feature, Mirrored) and custom.feature.transformer.cell_size == 16
    assert isinstance(custom.mirrored().feature, HOG)
    with pytest.raises(ValueError, match="Unknown frame feature 'mirrored-nope'"):
        ImageSetFeatures("nope").mirrored()


def test_no_set_reason_tells_no_frame_from_no_face():
    from emoset.video.extract import no_set_reason

    assert no_set_reason({"error": "", "n_faces": 0, "n_frames": 0}) == "no video frame"
    assert (
        no_set_reason({"error": "", "n_faces": 0, "n_frames": 5}) == "no face found in 5 frame(s)"
    )
    assert no_set_reason({"error": "x.mp4: truncated", "n_faces": 0, "n_frames": 0}) == (
        "x.mp4: truncated"
    )
    assert no_set_reason({"error": "", "n_faces": 3, "n_frames": 5}) == ""
