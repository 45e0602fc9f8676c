"""emoset.media on the real CREMA-D / RAVDESS files and on broken files made here."""

import shutil

import numpy as np
import pytest
from _factories import write_audio, write_video

from emoset.media import (
    AUDIO_EXTENSIONS,
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    MediaError,
    iter_frames,
    load_audio,
    media_kind,
    probe,
    read_frames,
)


def _tone(seconds, sr=16000):
    t = np.arange(int(sr * seconds)) / sr
    return 0.3 * np.sin(2 * np.pi * 440 * t)


def _write_video(path, n_frames=20, size=(64, 48), fps=25, with_audio=False, **kwargs):
    """A small video (H.264 mp4 by default) with moving content and an optional 440 Hz track."""
    frames = np.zeros((n_frames, size[1], size[0], 3), np.uint8)
    for i in range(n_frames):
        frames[i, :, (i * 3) % size[0]] = 255
    audio = _tone(n_frames / fps) if with_audio else None
    return write_video(path, frames, fps=fps, audio=audio, **kwargs)


@pytest.fixture(scope="module")
def facecrop(data_root):
    return data_root / "cremad" / "facecrop128"


@pytest.fixture(scope="module")
def native_clip(data_root):
    return data_root / "cremad" / "native" / "video" / "1001_DFA_ANG_XX.mp4"


def test_probe_facecrop(facecrop):
    info = probe(facecrop / "video" / "1005_IEO_ANG_HI.mp4")
    assert (info.width, info.height) == (128, 128)
    assert info.fps == pytest.approx(25.0)
    assert info.has_video and info.has_audio
    assert info.audio_sr == 8000


def test_frames_rgb_and_gray_shapes(facecrop):
    path = facecrop / "video" / "1005_IEO_ANG_HI.mp4"
    rgb = read_frames(path)
    gray = read_frames(path, color="gray")
    assert rgb.dtype == np.uint8 and rgb.ndim == 4 and rgb.shape[1:] == (128, 128, 3)
    assert gray.shape == rgb.shape[:3]
    # 2.6 s at 25 fps
    assert abs(len(rgb) - 2.6 * 25) <= 2
    assert len(rgb) == probe(path).n_frames
    # gray is the luma of the same frames, not another decode
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    assert np.abs(luma - gray).mean() < 3.0


def test_native_frames_full_size(native_clip):
    frames = read_frames(native_clip, max_frames=5)
    assert frames.shape == (5, 360, 480, 3)


def test_target_fps_drops_frames(native_clip):
    info = probe(native_clip)
    all_frames = sum(1 for _ in iter_frames(native_clip, color="gray"))
    ten = sum(1 for _ in iter_frames(native_clip, color="gray", fps=10))
    assert all_frames == info.n_frames
    assert abs(ten - info.duration * 10) <= 2
    # asking for more than the native rate never duplicates frames
    assert sum(1 for _ in iter_frames(native_clip, fps=100)) == all_frames


def test_iter_frames_streams(native_clip):
    it = iter_frames(native_clip)
    first = next(it)
    assert first.shape == (360, 480, 3)
    it.close()  # closing the generator releases the container


@pytest.mark.parametrize("sr", [8000, 16000, 22050])
def test_audio_of_video_resampled(native_clip, sr):
    y = load_audio(native_clip, sr=sr)
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) / sr == pytest.approx(probe(native_clip).duration, abs=0.1)
    assert 0 < np.abs(y).max() <= 1.0


def test_audio_wav_8k_native_rate(facecrop):
    wav = facecrop / "audio" / "1005_IEO_ANG_HI.wav"
    y = load_audio(wav, sr=None)
    y16 = load_audio(wav, sr=16000)
    assert len(y16) == 2 * len(y)
    assert len(y) / 8000 == pytest.approx(2.6, abs=0.1)


def test_audio_flac(data_root):
    flac = data_root / "ravdess" / "speech" / "Actor_01" / "03-01-01-01-01-01-01.flac"
    y = load_audio(flac, sr=16000)
    assert len(y) / 16000 == pytest.approx(3.303, abs=0.01)


def test_video_audio_matches_wav(data_root):
    """The mp4's AAC track and the separate wav are the same speech."""
    video = data_root / "cremad" / "native" / "video" / "1001_DFA_ANG_XX.mp4"
    wav = data_root / "cremad" / "native" / "audio" / "1001_DFA_ANG_XX.wav"
    a, b = load_audio(video), load_audio(wav)
    n = min(len(a), len(b))
    assert abs(len(a) - len(b)) < 0.05 * 16000  # AAC priming/padding only
    # compare loudness envelopes (50 ms windows): the codec changes samples, not the speech
    ea = np.convolve(np.abs(a[:n]), np.ones(800) / 800, "valid")
    eb = np.convolve(np.abs(b[:n]), np.ones(800) / 800, "valid")
    assert np.corrcoef(ea, eb)[0, 1] > 0.9


def test_truncated_upstream_clip_decodes(facecrop):
    """1076_MTI_NEU_XX is only 3 frames long: short, but a valid file."""
    frames = read_frames(facecrop / "video" / "1076_MTI_NEU_XX.mp4")
    assert frames.shape == (3, 128, 128, 3)


def test_generated_video_roundtrip(tmp_path):
    path = _write_video(tmp_path / "gen.mp4", n_frames=20, with_audio=True)
    info = probe(path)
    assert info.has_audio and info.n_frames == 20
    assert read_frames(path, color="gray").shape == (20, 48, 64)
    assert len(load_audio(path, sr=16000)) / 16000 == pytest.approx(0.8, abs=0.1)


# --------------------------------------------------------------------- bad input


def _zero_byte(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    return path


def _text_as_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    return path


def _truncated_mp4(tmp_path):
    good = _write_video(tmp_path / "good.mp4", n_frames=30)
    data = good.read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: len(data) // 3])
    return path


def _missing(tmp_path):
    return tmp_path / "nope.mp4"


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (_zero_byte, r"empty\.mp4: the file is empty \(0 bytes\)"),
        (_text_as_mp4, r"notes\.mp4: not a readable media file"),
        (
            _truncated_mp4,
            r"truncated\.mp4: (not a readable media file or truncated|decoding failed)",
        ),
        (_missing, r"nope\.mp4: no such file"),
    ],
    ids=["zero-byte", "text-named-mp4", "truncated-mp4", "missing"],
)
def test_bad_video_raises_media_error(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(MediaError, match=match):
        read_frames(path)
    with pytest.raises(MediaError, match=match):
        load_audio(path)


def test_video_without_audio_track(tmp_path):
    path = _write_video(tmp_path / "silent.mp4", n_frames=10)
    assert probe(path).has_audio is False
    with pytest.raises(MediaError, match=r"silent\.mp4: no audio track in the file"):
        load_audio(path)


def test_truncated_real_wav(tmp_path, data_root):
    src = data_root / "cremad" / "facecrop128" / "audio" / "1005_IEO_ANG_HI.wav"
    path = tmp_path / "cut.wav"
    path.write_bytes(src.read_bytes()[:30])  # header cut in the middle
    with pytest.raises(MediaError, match=r"cut\.wav: "):
        load_audio(path)


def test_media_error_names_file_and_pickles(tmp_path):
    import pickle

    err = MediaError(tmp_path / "x.mp4", "broken")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.path == err.path


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"color": "bgr"}, "color must be one of"),
        ({"fps": 0}, "fps must be a positive"),
        ({"max_frames": -1}, "max_frames must be a non-negative"),
    ],
    ids=["color", "fps", "max_frames"],
)
def test_bad_parameters(native_clip, kwargs, match):
    with pytest.raises(ValueError, match=match):
        read_frames(native_clip, **kwargs)


def test_bad_sample_rate(native_clip):
    with pytest.raises(ValueError, match="sr must be a positive integer"):
        load_audio(native_clip, sr=-5)


def test_copy_keeps_working(tmp_path, native_clip):
    """A file is read by path, not by name: a copy elsewhere decodes identically."""
    copy = tmp_path / "copy.mp4"
    shutil.copy(native_clip, copy)
    assert np.array_equal(read_frames(copy, max_frames=3), read_frames(native_clip, max_frames=3))


# --------------------------------------------------------------------- kind by content


def test_media_kind_of_real_files(facecrop, data_root):
    assert media_kind(facecrop / "video" / "1005_IEO_ANG_HI.mp4") == "video"
    assert media_kind(facecrop / "audio" / "1005_IEO_ANG_HI.wav") == "audio"
    flac = data_root / "ravdess" / "speech" / "Actor_01" / "03-01-01-01-01-01-01.flac"
    assert media_kind(flac) == "audio"


def test_media_kind_ignores_the_extension(tmp_path, native_clip, facecrop):
    video_as_wav = tmp_path / "video.wav"
    shutil.copy(native_clip, video_as_wav)
    assert media_kind(video_as_wav) == "video"
    assert np.array_equal(load_audio(video_as_wav), load_audio(native_clip))
    assert read_frames(video_as_wav, max_frames=2).shape == (2, 360, 480, 3)

    wav = facecrop / "audio" / "1005_IEO_ANG_HI.wav"
    wav_as_mp4 = tmp_path / "audio.mp4"
    shutil.copy(wav, wav_as_mp4)
    assert media_kind(wav_as_mp4) == "audio"
    assert np.array_equal(load_audio(wav_as_mp4, sr=None), load_audio(wav, sr=None))
    with pytest.raises(MediaError, match=r"audio\.mp4: no video stream in the file"):
        read_frames(wav_as_mp4)


@pytest.mark.parametrize("suffix", [".mp3", ".flac"])
def test_cover_picture_is_not_video(tmp_path, suffix):
    path = write_audio(tmp_path / ("song" + suffix), _tone(1.0), cover_art=True)
    assert media_kind(path) == "audio"
    assert probe(path).has_video is False
    assert len(load_audio(path)) == pytest.approx(16000, abs=1200)
    with pytest.raises(MediaError, match=r"song\.\w+: no video stream in the file"):
        read_frames(path)


def _png(tmp_path):
    from PIL import Image

    path = tmp_path / "still.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path)
    return path


def _subtitles(tmp_path):
    path = tmp_path / "subs.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n\n")
    return path


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (_zero_byte, r"empty\.mp4: the file is empty \(0 bytes\)"),
        (_text_as_mp4, r"notes\.mp4: not a readable media file"),
        (_missing, r"nope\.mp4: no such file"),
        (_png, r"still\.png: a still image \(png_pipe\), not an audio or video file"),
        (
            _subtitles,
            r"subs\.srt: neither a video nor an audio stream in the file \(found: subtitle",
        ),
    ],
    ids=["zero-byte", "text-named-mp4", "missing", "png", "subtitles"],
)
def test_media_kind_errors(tmp_path, make, match):
    with pytest.raises(MediaError, match=match):
        media_kind(make(tmp_path))


def test_extensions_have_one_home():
    """The lists cli.py and datasets.py used to keep are all here, as hints for globbing."""
    cli_audio = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aiff", ".aif"}
    assert cli_audio <= AUDIO_EXTENSIONS
    assert {".mp4", ".flv", ".avi"} <= VIDEO_EXTENSIONS
    assert MEDIA_EXTENSIONS == AUDIO_EXTENSIONS | VIDEO_EXTENSIONS
    assert not AUDIO_EXTENSIONS & VIDEO_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in MEDIA_EXTENSIONS)
