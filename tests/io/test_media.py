"""emoset.io.media on the real CREMA-D / RAVDESS files and on broken files made here."""

import pickle
import shutil
import struct
import warnings

import numpy as np
import pytest
from _factories import truncate_file, write_audio, write_video

from emoset.io.errors import MediaError, TruncatedMediaError, TruncationCheck, TruncationWarning
from emoset.io.media import (
    AUDIO_EXTENSIONS,
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    check_truncation,
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


# --------------------------------------------------------------------- truncation


@pytest.fixture
def cut_native(tmp_path, native_clip):
    """An interrupted download: the first 30 % of a faststart mp4 (its header survives)."""
    return truncate_file(native_clip, tmp_path / "cut.mp4", 0.3)


_CUT = r"cut\.mp4: truncated: decoded 0\.\d\d s of 2\.27 s"


def test_truncated_download_raises_naming_file_and_numbers(cut_native):
    info = probe(cut_native)  # the header survived: it still promises the whole clip
    assert info.n_frames == 68 and info.duration == pytest.approx(2.27, abs=0.01)
    with pytest.raises(TruncatedMediaError, match=_CUT) as exc:
        read_frames(cut_native)
    check = exc.value.check
    assert check.stream == "video" and check.truncated and check.error is None
    assert check.expected == pytest.approx(2.27, abs=0.01) and check.decoded < 0.5
    with pytest.raises(TruncatedMediaError, match=_CUT):
        load_audio(cut_native)
    assert isinstance(exc.value, MediaError)


def test_iter_frames_raises_after_the_last_good_frame(cut_native):
    frames = []
    with pytest.raises(TruncatedMediaError, match=_CUT):
        for frame in iter_frames(cut_native, color="gray"):
            frames.append(frame)
    with pytest.warns(TruncationWarning, match=r"truncated: decoded [\d.]+ s of [\d.]+ s"):
        partial = read_frames(cut_native, color="gray", allow_partial=True)
    assert 0 < len(frames) == len(partial) < 68
    assert np.array_equal(np.stack(frames), partial)


def test_allow_partial_returns_what_decoded_with_one_warning(cut_native):
    with pytest.warns(TruncationWarning, match=_CUT + "; using the part that decoded") as rec:
        frames = read_frames(cut_native, allow_partial=True)
    assert len(rec) == 1 and issubclass(rec[0].category, UserWarning)
    assert rec[0].filename == __file__  # stacklevel points at the caller, not at media.py
    assert rec[0].message.check == check_truncation(cut_native, "video")
    assert len(frames) == pytest.approx(rec[0].message.check.decoded * 29.97, abs=0.5)

    with pytest.warns(TruncationWarning, match=_CUT) as rec:
        y = load_audio(cut_native, sr=16000, allow_partial=True)
    assert len(rec) == 1 and rec[0].filename == __file__
    assert len(y) / 16000 == pytest.approx(rec[0].message.check.decoded, abs=0.01)

    with pytest.warns(TruncationWarning, match=_CUT) as rec:
        n = sum(1 for _ in iter_frames(cut_native, allow_partial=True))
    assert len(rec) == 1 and rec[0].filename == __file__ and n == len(frames)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warn=False: the same samples, no warning at all
        quiet = load_audio(cut_native, sr=16000, allow_partial=True, warn=False)
        with pytest.raises(TruncatedMediaError, match=_CUT):
            load_audio(cut_native, warn=False)  # without allow_partial it still raises
    assert np.array_equal(quiet, y)


def test_check_truncation_reports_the_numbers(cut_native, native_clip):
    check = check_truncation(cut_native)  # a video file: its video stream
    assert isinstance(check, TruncationCheck) and check.stream == "video" and check.truncated
    assert check.reason.startswith("truncated: decoded 0.")
    audio = check_truncation(cut_native, "audio")
    assert audio.truncated and audio.decoded < 0.3 * audio.expected
    whole = check_truncation(native_clip)
    assert not whole.truncated and whole.reason == "complete: decoded 2.27 s of 2.27 s"


def test_decoding_error_part_way_is_truncation(tmp_path, facecrop):
    """The cut AAC track of a CREMA-D clip fails to decode part way: that too is truncation."""
    cut = truncate_file(facecrop / "video" / "1005_IEO_ANG_HI.mp4", tmp_path / "cut.mp4", 0.3)
    check = check_truncation(cut, "audio")
    assert check.truncated and check.error is not None
    match = r"cut\.mp4: truncated: decoded 0\.\d\d s of 2\.56 s; decoding stopped at an error"
    with pytest.raises(TruncatedMediaError, match=match):
        load_audio(cut)
    with pytest.warns(TruncationWarning, match=match):
        y = load_audio(cut, sr=None, allow_partial=True)
    assert len(y) / 8000 == pytest.approx(check.decoded, abs=0.01)


def test_nothing_decoded_raises_even_when_partial_allowed(tmp_path, native_clip):
    cut = truncate_file(native_clip, tmp_path / "cut.mp4", 0.06)  # the header and hardly more
    with pytest.raises(TruncatedMediaError, match=r"cut\.mp4: truncated: decoded 0\.00 s of"):
        read_frames(cut, allow_partial=True)
    for warn in (True, False):
        with pytest.raises(TruncatedMediaError, match=r"cut\.mp4: truncated: decoded 0\.00 s of"):
            load_audio(cut, allow_partial=True, warn=warn)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("clip.mp4", {"faststart": True}),
        ("clip.mkv", {"audio_codec": "libopus", "sample_rate": 48000}),
        ("clip.webm", {"codec": "libvpx", "audio_codec": "libopus", "sample_rate": 48000}),
        ("clip.avi", {"codec": "mjpeg", "audio_codec": "pcm_s16le"}),
    ],
    ids=["mp4-faststart", "mkv", "webm", "avi"],
)
@pytest.mark.parametrize("audio_seconds", [1.0, 3.0], ids=["audio-shorter", "audio-longer"])
def test_video_containers(tmp_path, name, kwargs, audio_seconds):
    """Complete files pass whatever their streams' lengths; the same files cut in half fail."""
    frames = np.zeros((50, 48, 64, 3), np.uint8)
    frames[:, :, ::7] = 255
    audio = _tone(audio_seconds, kwargs.get("sample_rate", 16000))
    path = write_video(tmp_path / name, frames, audio=audio, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_frames(path)) == 50
        load_audio(path)
    video = check_truncation(path, "video")
    assert not video.truncated and video.expected == pytest.approx(2.0, abs=0.05)
    cut = truncate_file(path, tmp_path / ("cut." + name.split(".")[1]), 0.5)
    with pytest.raises(TruncatedMediaError, match=r"cut\.\w+: truncated: decoded"):
        read_frames(cut)
    audio = check_truncation(cut, "audio")
    if name.endswith(".avi"):  # an AVI header counts video frames, not audio samples
        assert audio.expected is None and not audio.truncated
    else:
        assert audio.truncated and audio.expected == pytest.approx(audio_seconds, abs=0.1)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_late_start_is_not_truncation(tmp_path, suffix):
    """Matroska's DURATION is where a track ends: a video starting 1 s late still passes."""
    path = _write_video(tmp_path / ("late" + suffix), n_frames=50, with_audio=True, start_frame=25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_frames(path)) == 50
    check = check_truncation(path, "video")
    assert check.reason == "complete: decoded 2.00 s of 2.00 s"


@pytest.mark.parametrize("suffix", [".wav", ".aiff", ".flac", ".mp3"])
def test_audio_file_shorter_than_its_header(tmp_path, suffix):
    """WAV/AIFF data sizes, FLAC sample counts and mp3 Xing headers promise a length."""
    path = write_audio(tmp_path / ("tone" + suffix), _tone(2.0))
    whole = check_truncation(path)
    assert not whole.truncated and whole.expected == pytest.approx(2.0, abs=0.01)
    cut = truncate_file(path, tmp_path / ("cut" + suffix), 0.5)
    match = r"cut\.\w+: truncated: decoded [01]\.\d\d s of 2\.00 s"
    with pytest.raises(TruncatedMediaError, match=match):
        load_audio(cut)
    with pytest.warns(TruncationWarning, match=match):
        y = load_audio(cut, sr=16000, allow_partial=True)
    assert 0 < len(y) < 1.2 * 16000


def test_streamed_wav_header_is_not_truncation(tmp_path):
    """A WAV written to a pipe never gets its data size filled in (0xFFFFFFFF): length unknown."""
    path = write_audio(tmp_path / "tone.wav", _tone(2.0))
    data = bytearray(path.read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = struct.pack("<I", 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_audio(path, sr=16000)) == 32000
    assert check_truncation(path).expected is None


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("stream.ts", lambda p: _write_video(p, n_frames=50, with_audio=True)),
        ("noxing.mp3", lambda p: write_audio(p, _tone(2.0), options={"write_xing": "0"})),
    ],
    ids=["mpeg-ts", "mp3-without-xing"],
)
def test_unknown_length_is_not_checked(tmp_path, name, write):
    """Containers that state no reliable length (live-style streams) are not checked."""
    path = write(tmp_path / name)
    cut = truncate_file(path, tmp_path / ("cut." + name.split(".")[1]), 0.5)
    check = check_truncation(cut)
    assert check.expected is None and not check.truncated
    assert (
        check.reason
        == f"not checked: decoded {check.decoded:.2f} s; the header states no {check.stream} duration"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_audio(cut)


def test_subsampling_is_not_truncation(native_clip, cut_native):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_frames(native_clip, fps=5, color="gray")) == pytest.approx(2.27 * 5, abs=1)
        assert len(read_frames(native_clip, max_frames=3)) == 3
        assert len(read_frames(cut_native, max_frames=3)) == 3  # stopped before the cut
    with pytest.raises(TruncatedMediaError, match=_CUT):
        read_frames(cut_native, fps=10)
    with pytest.raises(TruncatedMediaError, match=_CUT):
        read_frames(cut_native, max_frames=60)  # the file ends before 60 frames


def test_truncation_error_pickles(cut_native):
    """Errors cross joblib's process boundary with their numbers."""
    with pytest.raises(TruncatedMediaError, match=_CUT) as exc:
        read_frames(cut_native)
    again = pickle.loads(pickle.dumps(exc.value))
    assert str(again) == str(exc.value) and again.check == exc.value.check


def test_check_truncation_bad_stream(native_clip):
    with pytest.raises(ValueError, match="stream must be 'video', 'audio' or None; got 'both'"):
        check_truncation(native_clip, "both")


def test_short_real_clips_are_complete(facecrop):
    """1064_TIE_SAD_XX (16 frames) and 1076_MTI_NEU_XX (3) are short but internally consistent."""
    for name, n, seconds in [("1064_TIE_SAD_XX", 16, 0.64), ("1076_MTI_NEU_XX", 3, 0.12)]:
        video = facecrop / "video" / f"{name}.mp4"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert len(read_frames(video)) == n
            load_audio(video)
            load_audio(facecrop / "audio" / f"{name}.wav")
        check = check_truncation(video)
        assert check.expected == pytest.approx(seconds) and check.decoded == pytest.approx(seconds)


def test_no_real_file_is_flagged(data_root):
    """Every CREMA-D video (both streams) and wav, and 100 RAVDESS flacs, are checked and pass."""
    videos = sorted(data_root.glob("cremad/*/video/*.mp4"))
    wavs = sorted(data_root.glob("cremad/*/audio/*.wav"))
    flacs = sorted(data_root.glob("ravdess/speech/Actor_*/*.flac"))[::12]
    assert (len(videos), len(wavs), len(flacs)) == (86, 86, 100)
    jobs = [(p, "video") for p in videos] + [(p, "audio") for p in videos + wavs + flacs]
    bad = []
    for path, stream in jobs:
        check = check_truncation(path, stream)
        if check.truncated or check.expected is None:
            bad.append(f"{path.name} {stream}: {check.reason}")
    assert not bad, "\n".join(bad)


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


def test_gray_frames_through_the_level_table_equal_ffmpegs(data_root):
    """The luma-table shortcut gives FFmpeg's own gray frames, bit for bit, or is not used."""
    import av

    from emoset.io.media import _GrayLevels

    paths = sorted((data_root / "cremad" / "native" / "video").glob("1001_*.mp4"))[:2]
    paths += sorted((data_root / "cremad" / "facecrop128" / "video").glob("*.mp4"))[:2]
    if len(paths) < 4:
        pytest.skip(f"CREMA-D clips of actor 1001 are not in {data_root}")
    for path in paths:
        levels = _GrayLevels()
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                assert np.array_equal(levels.convert(frame), frame.to_ndarray(format="gray"))
        assert all(t is not None for t in levels._tables.values())  # the table was used
    # a format without a plain level map (RGB) is converted by FFmpeg
    rgb = av.VideoFrame.from_ndarray(np.full((8, 8, 3), 200, np.uint8), format="rgb24")
    levels = _GrayLevels()
    assert np.array_equal(levels.convert(rgb), rgb.to_ndarray(format="gray"))
    assert list(levels._tables.values()) == [None]
