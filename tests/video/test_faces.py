"""Tests for emoset.video.faces: detection, landmarks, alignment and tracking on real CREMA-D clips."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from emoset.video._shapes import CANONICAL_POINTS
from emoset.video.faces import (
    AlignStats,
    FaceAligner,
    align_video,
    find_face_model,
    similarity_transform,
)

CROP = "cremad/facecrop128/video/1003_IEO_SAD_LO.mp4"
NATIVE = "cremad/native/video/1001_DFA_ANG_XX.mp4"


@pytest.fixture(scope="module")
def native_frames(data_root):
    from emoset.io.media import read_frames

    return read_frames(data_root / NATIVE, color="rgb", max_frames=30)


@pytest.fixture(scope="module")
def crop_frames(data_root):
    from emoset.io.media import read_frames

    return read_frames(data_root / CROP, color="gray", max_frames=30)


def _noise_frames(n=6, h=120, w=160, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)


# ---------------------------------------------------------------------------- pure helpers
def test_find_face_model_locates_wheel_files():
    for name in (
        "shape_predictor_5_face_landmarks.dat",
        "shape_predictor_68_face_landmarks.dat",
        "dlib_face_recognition_resnet_model_v1.dat",
    ):
        assert find_face_model(name).is_file()


def test_find_face_model_missing_file():
    with pytest.raises(FileNotFoundError, match="no_such_model.dat"):
        find_face_model("no_such_model.dat")


def test_similarity_transform_recovers_known_transform():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(5, 2)) * 20
    angle, scale, shift = 0.3, 1.7, np.array([4.0, -9.0])
    R = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ R.T + shift
    M = similarity_transform(src, dst)
    np.testing.assert_allclose(M[:, :2], R, atol=1e-10)
    np.testing.assert_allclose(M[:, 2], shift, atol=1e-10)


@pytest.mark.parametrize(
    "src, dst",
    [
        (np.zeros((1, 2)), np.zeros((1, 2))),
        (np.zeros((4, 3)), np.zeros((4, 3))),
        (np.zeros((4, 2)), np.zeros((5, 2))),
    ],
    ids=["one-point", "3d-points", "shape-mismatch"],
)
def test_similarity_transform_bad_input(src, dst):
    with pytest.raises(ValueError, match="similarity_transform needs"):
        similarity_transform(src, dst)


# ---------------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "params, match",
    [
        ({"crop_size": 0}, "crop_size must be an integer >= 8"),
        ({"crop_size": 64.0}, "crop_size must be an integer"),
        ({"upsample": -1}, "upsample must be an integer >= 0"),
        ({"detect_every": 0}, "detect_every must be an integer >= 1"),
        ({"landmarks": 7}, "landmarks must be 5 or 68"),
        ({"max_shape_error": 0}, "max_shape_error must be a positive number"),
        ({"max_scale_change": 0.5}, "max_scale_change must be a number >= 1"),
        ({"min_appearance_corr": 2}, r"min_appearance_corr must be a number in \[-1, 1\]"),
        ({"search_margin": -1}, "search_margin must be None or a number >= 0"),
    ],
    ids=[
        "crop0",
        "crop-float",
        "upsample-neg",
        "every0",
        "lm7",
        "shape-err0",
        "scale-lt1",
        "corr2",
        "margin-neg",
    ],
)
def test_bad_params_raise_at_use(params, match):
    aligner = FaceAligner(**params)  # __init__ only stores
    with pytest.raises(ValueError, match=match):
        aligner.align_frames(_noise_frames(1))


def test_aligner_clones_and_pickles():
    a = FaceAligner(96, detect_every=3, landmarks=5)
    assert clone(a).get_params() == a.get_params()
    assert pickle.loads(pickle.dumps(a)).get_params() == a.get_params()


@pytest.mark.parametrize(
    "frames, match",
    [
        (np.zeros((2, 40, 40), dtype=np.float32), "must be uint8"),
        (np.zeros((2, 40, 40, 4), dtype=np.uint8), r"expected a grayscale \(h, w\) or RGB"),
        (np.zeros((2, 40), dtype=np.uint8), r"expected a grayscale \(h, w\) or RGB"),
    ],
    ids=["float", "rgba", "1d-frames"],
)
def test_bad_frames(frames, match):
    with pytest.raises(ValueError, match=match):
        FaceAligner().align_frames(frames)


# ---------------------------------------------------------------------------- no face
@pytest.mark.parametrize(
    "frames",
    [np.zeros((5, 100, 100), dtype=np.uint8), _noise_frames()],
    ids=["blank", "noise"],
)
def test_no_face_gives_empty_set_and_warning(frames):
    with pytest.warns(UserWarning, match="No face found in any of the"):
        faces, stats = FaceAligner(48).align_frames(frames, source="synthetic")
    assert faces.shape == (0, 48, 48) and faces.dtype == np.uint8
    assert stats.n_frames == len(frames) and stats.n_faces == 0
    assert stats.n_dropped == len(frames) and stats.face_rate == 0.0
    assert stats.landmarks.shape == (0, 68, 2)


def test_empty_input_warns():
    with pytest.warns(UserWarning, match="No face found in any of the 0 frames"):
        faces, stats = FaceAligner().align_frames(np.zeros((0, 50, 50), dtype=np.uint8))
    assert faces.shape == (0, 64, 64) and stats.face_rate == 0.0


# ---------------------------------------------------------------------------- real clips
def test_face_crop_clip(crop_frames):
    faces, stats = FaceAligner(64).align_frames(crop_frames, source="crop")
    assert isinstance(stats, AlignStats)
    assert faces.shape == (stats.n_faces, 64, 64) and faces.dtype == np.uint8
    assert stats.n_frames == len(crop_frames)
    assert stats.face_rate >= 0.95
    assert stats.n_detections + stats.n_tracked == stats.n_frames
    assert stats.landmarks.shape == (stats.n_faces, 68, 2)
    assert faces.std() > 10  # a face, not a flat patch
    # the landmarks mapped into the crop: the eyes sit where the template puts them
    aligned = stats.aligned_landmarks
    assert aligned.shape == (stats.n_faces, 68, 2)
    eyes = np.stack([aligned[:, 36:42].mean(1), aligned[:, 42:48].mean(1)], axis=1)
    np.testing.assert_allclose(eyes, np.broadcast_to(CANONICAL_POINTS[:2] * 64, eyes.shape), atol=3)
    assert not np.allclose(aligned, stats.landmarks, atol=5)  # not the frame's pixels


def test_native_clip_rgb_and_gray_agree(native_frames):
    aligner = FaceAligner(96, detect_every=5)
    faces, stats = aligner.align_frames(native_frames)
    assert faces.shape == (len(native_frames), 96, 96)
    assert stats.face_rate >= 0.95
    import cv2

    gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in native_frames])
    faces_g, _ = aligner.align_frames(gray)
    np.testing.assert_array_equal(faces, faces_g)


def test_alignment_puts_eyes_at_canonical_positions(native_frames):
    """Re-running the landmark model on the aligned crop finds the eyes where they belong."""
    from emoset.video._shapes import CANONICAL_POINTS

    faces, stats = FaceAligner(128, detect_every=1).align_frames(native_frames[:3])
    aligner = FaceAligner(128)
    for face in faces:
        box = aligner.detect(face)
        assert box is not None
        shape, _ = aligner._predict(face, box)
        eyes = np.stack([shape[36:42].mean(0), shape[42:48].mean(0)]) / 128
        np.testing.assert_allclose(eyes, CANONICAL_POINTS[:2], atol=0.03)


def test_tracking_agrees_with_detection_every_frame(native_frames):
    every, tracked = (FaceAligner(64, detect_every=k).align_frames(native_frames) for k in (1, 5))
    (f1, s1), (f5, s5) = every, tracked
    assert s1.n_detections == len(native_frames)
    assert s5.n_detections < s1.n_detections / 3
    np.testing.assert_array_equal(s1.frame_indices, s5.frame_indices)
    iod = np.linalg.norm(s1.landmarks[:, 36:42].mean(1) - s1.landmarks[:, 42:48].mean(1), axis=1)
    err = np.linalg.norm(s1.landmarks - s5.landmarks, axis=2).mean(1)
    assert np.all(err < 0.05 * iod)  # < 5 % of the inter-ocular distance
    assert np.abs(f1.astype(int) - f5.astype(int)).mean() < 4
    # periodic re-detections search a window around the track first
    assert s5.n_roi_detections == s5.n_detections - 1
    full = FaceAligner(64, detect_every=5, search_margin=None).align_frames(native_frames)[1]
    assert full.n_roi_detections == 0
    err = np.linalg.norm(full.landmarks - s5.landmarks, axis=2).mean(1)
    assert np.all(err < 0.05 * iod)


def test_frames_without_face_are_dropped_and_counted(crop_frames):
    frames = crop_frames[:12].copy()
    frames[4:7] = 0  # three blank frames inside the track
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        faces, stats = FaceAligner(64, detect_every=5).align_frames(frames)
    assert stats.n_frames == 12 and stats.n_faces == 9 and stats.n_dropped == 3
    np.testing.assert_array_equal(stats.frame_indices, [0, 1, 2, 3, 7, 8, 9, 10, 11])
    assert stats.n_lost >= 1  # the blank frame broke the track, the detector was re-run
    assert faces.shape == (9, 64, 64)


def test_deterministic(crop_frames):
    a = FaceAligner(64, detect_every=4)
    f1, s1 = a.align_frames(crop_frames)
    f2, s2 = a.align_frames(crop_frames)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(s1.landmarks, s2.landmarks)


def test_five_point_landmarks_and_chips(crop_frames):
    faces, stats = FaceAligner(64, landmarks=5, chips=True).align_frames(crop_frames[:6])
    assert faces.shape == (6, 64, 64)
    assert stats.landmarks.shape == (6, 5, 2)
    assert stats.chips.shape == (6, 150, 150, 3) and stats.chips.dtype == np.uint8


def test_align_video_face_crop_and_native(data_root):
    faces, stats = align_video(data_root / CROP, crop_size=64, max_frames=20)
    assert faces.shape == (20, 64, 64) and stats.source == "1003_IEO_SAD_LO.mp4"
    faces, stats = align_video(data_root / NATIVE, FaceAligner(64), max_frames=10)
    assert stats.face_rate >= 0.95


@pytest.mark.parametrize(
    "clip, n", [("1064_TIE_SAD_XX", 16), ("1076_MTI_NEU_XX", 3)], ids=["16-frames", "3-frames"]
)
def test_truncated_clips_are_aligned(data_root, clip, n):
    faces, stats = align_video(data_root / f"cremad/facecrop128/video/{clip}.mp4")
    assert stats.n_frames == n
    assert faces.shape[0] == stats.n_faces >= 0.95 * n


def test_align_video_errors(data_root, tmp_path):
    from emoset.io.errors import MediaError

    with pytest.raises(TypeError, match="either an aligner or FaceAligner parameters"):
        align_video(data_root / CROP, FaceAligner(), crop_size=32)
    with pytest.raises(MediaError, match="missing.mp4"):
        align_video(tmp_path / "missing.mp4")


def test_thread_safe(crop_frames, native_frames):
    """dlib models keep scratch state: each thread must get its own copy."""
    from concurrent.futures import ThreadPoolExecutor

    clips = [crop_frames[:15], native_frames[:15]] * 3
    aligner = FaceAligner(64, detect_every=2)
    serial = [aligner.align_frames(c)[0] for c in clips]
    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(lambda c: aligner.align_frames(c)[0], clips))
    for a, b in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(a, b)


def test_shipped_face_detector_is_dlibs(native_frames, crop_frames, tmp_path):
    """emoset loads dlib's frontal face detector from the copy it ships (dlib's own format,
    about a millisecond instead of 0.3 s): the copy is byte for byte what this dlib saves of
    its detector, and the loaded detector finds the same boxes with the same scores."""
    from pathlib import Path

    import dlib

    import emoset
    from emoset.video.tracking import DETECTOR_FILE, _new_detector

    name = DETECTOR_FILE.format(version=dlib.__version__)
    shipped = Path(emoset.__file__).parent / "models" / name
    if not shipped.is_file():
        pytest.skip(
            f"dlib {dlib.__version__} is not the version emoset's copy of its detector was "
            f"saved by (emoset uses dlib's own then); `python tools/save_face_detector.py` "
            f"saves {name}"
        )
    theirs = dlib.get_frontal_face_detector()
    theirs.save(str(tmp_path / "dlib.svm"))
    assert shipped.read_bytes() == (tmp_path / "dlib.svm").read_bytes()
    ours = _new_detector()
    ours.save(str(tmp_path / "ours.svm"))
    assert (tmp_path / "ours.svm").read_bytes() == shipped.read_bytes()
    found = 0
    for frame in [*native_frames[::10], *crop_frames[::10]]:
        gray = (
            frame if frame.ndim == 2 else np.ascontiguousarray(frame.mean(axis=2).astype(np.uint8))
        )
        for upsample in (0, 1):
            a, b = ours.run(gray, upsample, -0.5), theirs.run(gray, upsample, -0.5)
            assert [(r.left(), r.top(), r.right(), r.bottom()) for r in a[0]] == [
                (r.left(), r.top(), r.right(), r.bottom()) for r in b[0]
            ]
            assert list(a[1]) == list(b[1]) and list(a[2]) == list(b[2])
            found += len(a[0])
    assert found >= 6  # faces were found: the boxes compared are real ones
