"""Corpus loaders on the real folders in ../shared/data and on layouts made here."""

import csv
import os
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import emoset
from emoset.datasets.corpora import (
    EMOTIONS,
    Clip,
    clip_speakers,
    find_data_root,
    load_afew,
    load_cremad,
    load_cremad_human_votes,
    load_ravdess,
    to_emotiw,
)
from emoset.datasets.manifest import load_manifest
from emoset.datasets.splits import load_split, shipped_splits, speaker_kfold, write_split
from emoset.utils import resources as _resources


def _manifest_rows(data_root, corpus):
    with open(data_root / "manifest.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r["corpus"] == corpus]


_ALIASES = {"angry": "anger", "fearful": "fear", "surprised": "surprise"}


def test_cremad_finds_all_86_clips_with_labels_and_speakers(data_root):
    clips = load_cremad(data_root)
    assert len(clips) == 86
    assert Counter(c.subset for c in clips) == {"facecrop128": 80, "native": 6}
    expected = {Path(r["video"]).stem: r for r in _manifest_rows(data_root, "cremad")}
    assert {c.id for c in clips} == set(expected)
    for c in clips:
        row = expected[c.id]
        assert c.label == row["emotion"], c.id
        assert c.speaker == row["speaker"], c.id
        assert c.intensity == row["intensity"], c.id
        assert c.video.name == Path(row["video"]).name and c.video.is_file()
        assert c.audio.name == Path(row["audio"]).name and c.audio.is_file()
    assert len({c.speaker for c in clips}) == 56


def test_cremad_subset_filter(data_root):
    clips = load_cremad(data_root, subsets=["native"])
    assert len(clips) == 6 and {c.speaker for c in clips} == {"1001"}


def test_cremad_human_votes(data_root):
    votes = load_cremad_human_votes(data_root)
    assert len(votes) == 7442
    assert votes["1001_IEO_HAP_HI"] == {"voice": "happy", "face": "happy", "av": "happy"}
    clips = load_cremad(data_root, subsets=["facecrop128"])
    assert all("human" in c.meta for c in clips)
    # the crowd's majority vote on the 80 face-crop clips (ties count as wrong)
    for modality, expected in (("voice", 0.375), ("face", 0.5875), ("av", 0.675)):
        acc = np.mean([c.meta["human"][modality] == c.label for c in clips])
        assert acc == pytest.approx(expected), modality


def test_ravdess_finds_1200_speech_clips(data_root):
    clips = load_ravdess(data_root)
    assert len(clips) == 1200
    assert len({c.speaker for c in clips}) == 20
    assert Counter(c.label for c in clips) == {
        "neutral": 80,
        "calm": 160,
        "happy": 160,
        "sad": 160,
        "anger": 160,
        "fear": 160,
        "disgust": 160,
        "surprise": 160,
    }
    assert all(c.video is None and c.audio.suffix == ".flac" for c in clips)
    expected = {r["audio"]: r for r in _manifest_rows(data_root, "ravdess")}
    for c in clips:
        row = expected[str(c.audio.relative_to(data_root))]
        assert c.label == _ALIASES.get(row["emotion"], row["emotion"])
        assert c.speaker == row["speaker"]
        assert c.intensity == row["intensity"]
        assert c.meta["sex"] == ("male" if int(c.speaker) % 2 else "female")


def test_manifest_matches_folder_loaders(data_root):
    clips = load_manifest(data_root / "manifest.csv")
    assert Counter(c.corpus for c in clips) == {"cremad": 86, "ravdess": 1200}
    assert {c.label for c in clips} <= set(EMOTIONS)
    by_audio = {c.audio: c for c in load_ravdess(data_root) + load_cremad(data_root)}
    for c in clips:
        assert by_audio[c.audio].label == c.label


def _touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_ravdess_pairs_video_with_speech_audio(tmp_path):
    root = tmp_path / "RAVDESS"
    _touch(root / "Actor_03" / "01-01-05-02-01-01-03.mp4")
    _touch(root / "Actor_03" / "03-01-05-02-01-01-03.wav")
    _touch(root / "Actor_03" / "02-01-05-02-01-01-03.mp4")  # video-only: no speech, ignored
    _touch(root / "Actor_03" / "03-01-06-01-02-02-03.wav")  # audio only
    _touch(root / "Actor_03" / "03-02-06-01-02-02-03.wav")  # song channel
    clips = load_ravdess(root)
    assert [c.id for c in clips] == ["01-05-02-01-01-03", "01-06-01-02-02-03"]
    paired, audio_only = clips
    assert paired.video.name == "01-01-05-02-01-01-03.mp4"
    assert paired.audio.name == "03-01-05-02-01-01-03.wav"
    assert paired.label == "anger" and paired.intensity == "strong" and paired.speaker == "03"
    assert audio_only.video is None and audio_only.label == "fear"
    assert len(load_ravdess(root, channel="song")) == 1


def test_cremad_official_layout(tmp_path):
    root = tmp_path / "CREMA-D"
    _touch(root / "VideoFlash" / "1001_DFA_ANG_XX.flv")
    _touch(root / "AudioWAV" / "1001_DFA_ANG_XX.wav")
    _touch(root / "AudioWAV" / "1002_IEO_HAP_HI.wav")
    clips = load_cremad(root)
    assert [(c.id, c.subset, c.label, c.intensity) for c in clips] == [
        ("1001_DFA_ANG_XX", "official", "anger", "unspecified"),
        ("1002_IEO_HAP_HI", "official", "happy", "high"),
    ]
    assert clips[0].video.suffix == ".flv" and clips[1].video is None
    assert clips[1].audio_source == clips[1].audio


def test_afew_layout(tmp_path):
    for part, emo, name in [
        ("Train", "Angry", "000001"),
        ("Train", "Surprise", "000002"),
        ("Val", "Neutral", "000003"),
    ]:
        _touch(tmp_path / f"{part}_AFEW" / emo / f"{name}.avi")
    clips = load_afew(tmp_path)
    assert [(c.id, c.label, c.subset) for c in clips] == [
        ("Train/000001", "anger", "Train"),
        ("Train/000002", "surprise", "Train"),
        ("Val/000003", "neutral", "Val"),
    ]
    assert all(c.speaker is None and c.audio_source == c.video for c in clips)
    with pytest.raises(ValueError, match="have no speaker"):
        clip_speakers(clips)


def test_to_emotiw_drops_calm():
    clips = [
        Clip("a", None, Path("a.wav"), "calm", "01", "ravdess"),
        Clip("b", None, Path("b.wav"), "anger", "01", "ravdess"),
    ]
    assert [(c.id, c.label) for c in to_emotiw(clips)] == [("b", "Angry")]


def test_speaker_kfold_is_speaker_independent(data_root):
    clips = load_ravdess(data_root)
    folds = speaker_kfold(clips, 5)
    assert len(folds) == 5
    seen = np.concatenate([test for _, test in folds])
    assert sorted(seen) == list(range(len(clips)))
    for train, test in folds:
        assert not {clips[i].speaker for i in train} & {clips[i].speaker for i in test}


def test_shipped_split_files(data_root):
    for name, clips in (
        ("cremad_5fold", load_cremad(data_root)),
        ("ravdess_5fold", load_ravdess(data_root)),
    ):
        folds = load_split(name, clips)
        assert len(folds) == 5
        for train, test in folds:
            assert len(set(train) | set(test)) == len(clips)
            assert not {clips[i].speaker for i in train} & {clips[i].speaker for i in test}


def test_split_files_are_package_data(tmp_path, monkeypatch):
    assert shipped_splits() == ["cremad_5fold", "ravdess_5fold"]
    folder = _resources.emoset_data("splits")
    package = Path(emoset.__file__).parent
    assert Path(str(folder)).parent == package / "data"
    assert not (package.parent / "data" / "splits").exists()  # the old place is gone
    monkeypatch.chdir(tmp_path)  # nothing is looked up relative to the working directory
    rows = list(csv.DictReader(_resources.emoset_data("splits", "ravdess_5fold.csv").open()))
    clips = [Clip(r["id"], None, Path("x.wav"), "sad", r["speaker"], r["corpus"]) for r in rows]
    folds = load_split("ravdess_5fold", clips)
    assert len(folds) == 5 and sum(len(test) for _, test in folds) == len(rows) == 1200


def test_make_splits_reproduces_the_shipped_files(data_root, tmp_path):
    from pipelines import make_splits

    assert make_splits.main(["--data-root", str(data_root), "--out", str(tmp_path)]) == 0
    for name in shipped_splits():
        shipped = _resources.emoset_data("splits", f"{name}.csv").read_bytes()
        assert (tmp_path / f"{name}.csv").read_bytes() == shipped, name


@pytest.mark.slow  # builds the wheel (shared with tests/test_wheel.py)
def test_split_files_load_from_an_installed_wheel(data_root, dists, tmp_path):
    """Unpack the built wheel elsewhere and read the splits from there."""
    _, wheel = dists
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path / "site")
    assert "emoset/data/splits/cremad_5fold.csv" in names
    assert "emoset/data/splits/ravdess_5fold.csv" in names
    script = (
        "import emoset, emoset.datasets as d\n"
        f"clips = d.load_cremad({str(data_root)!r})\n"
        "print(emoset.__file__, len(d.load_split('cremad_5fold', clips)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(tmp_path / "site" / "emoset" / "__init__.py"), "5"]


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        ("id,corpus,speaker\nc0,x,s0\n", ValueError, r"missing column\(s\) \['fold'\]"),
        ("id,corpus,speaker,fold\nc0,x,s0,first\n", ValueError, r"line 2: fold 'first' is not"),
    ],
    ids=["no-fold-column", "fold-not-integer"],
)
def test_bad_split_files(tmp_path, content, error, match):
    path = tmp_path / "s.csv"
    path.write_text(content)
    with pytest.raises(error, match=match):
        load_split(path, [Clip("c0", None, Path("0.wav"), "sad", "s0", "x")])


def test_unknown_split_name_lists_the_shipped_ones():
    with pytest.raises(
        FileNotFoundError,
        match=r"No split 'afew_5fold' ships with emoset .*\['cremad_5fold', 'ravdess_5fold'\]",
    ):
        load_split("afew_5fold", [])


def test_write_split_by_name_writes_package_data(tmp_path, monkeypatch):
    monkeypatch.setattr(_resources, "emoset_data", lambda *parts: tmp_path.joinpath(*parts))
    (tmp_path / "splits").mkdir()
    clips = [Clip(f"c{i}", None, Path(f"{i}.wav"), "sad", f"s{i % 2}", "x") for i in range(4)]
    folds = [(np.array([1, 3]), np.array([0, 2])), (np.array([0, 2]), np.array([1, 3]))]
    assert write_split("toy_2fold", clips, folds) == tmp_path / "splits" / "toy_2fold.csv"
    assert shipped_splits() == ["toy_2fold"]
    assert [sorted(test) for _, test in load_split("toy_2fold", clips)] == [[0, 2], [1, 3]]
    with pytest.raises(ValueError, match=r"1 clip\(s\) are in no test fold \(first: c3\)"):
        write_split("toy_2fold", clips, [(np.array([3]), np.array([0, 1, 2]))])


def test_split_roundtrip_and_leak_detection(tmp_path):
    clips = [Clip(f"c{i}", None, Path(f"{i}.wav"), "sad", f"s{i % 3}", "x") for i in range(6)]
    folds = [(np.array([1, 2, 4, 5]), np.array([0, 3])), (np.array([0, 3]), np.array([1, 2, 4, 5]))]
    path = write_split(tmp_path / "s.csv", clips, folds)
    again = load_split(path, clips)
    assert [sorted(t) for _, t in again] == [[0, 3], [1, 2, 4, 5]]
    leaky = [(np.array([1, 2, 3, 4, 5]), np.array([0]))] + [
        (np.array([0]), np.array([1, 2, 3, 4, 5]))
    ]
    path = write_split(tmp_path / "leak.csv", clips, leaky)
    with pytest.raises(ValueError, match=r"fold 0 has speaker\(s\) \['s0'\] in both"):
        load_split(path, clips)
    with pytest.raises(ValueError, match=r"clip x/extra is not in the split file"):
        load_split(path, clips + [Clip("extra", None, Path("e.wav"), "sad", "s9", "x")])


# --------------------------------------------------------------------- errors


def test_missing_root_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Data root .*nowhere does not exist"):
        find_data_root(tmp_path / "nowhere")


def test_no_default_root(tmp_path, monkeypatch):
    import emoset.datasets.corpora as ds

    monkeypatch.setenv("EMOSET_DATA", str(tmp_path / "absent"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        ds, "__file__", str(tmp_path / "pkg" / "emoset" / "datasets" / "corpora.py")
    )
    with pytest.raises(
        FileNotFoundError, match=r"No emotion corpus found; looked at \$EMOSET_DATA"
    ):
        find_data_root()
    _touch(tmp_path / "home" / "emoset_data" / "cremad" / "AudioWAV" / "1001_DFA_ANG_XX.wav")
    assert find_data_root() == tmp_path / "home" / "emoset_data"  # where the fetchers put data


def test_env_root_wins(tmp_path, monkeypatch):
    _touch(tmp_path / "mine" / "manifest.csv", b"")
    monkeypatch.setenv("EMOSET_DATA", str(tmp_path / "mine"))
    assert find_data_root() == tmp_path / "mine"


@pytest.mark.parametrize(
    ("files", "loader", "error", "match"),
    [
        (["cremad/video/not_a_clip.mp4"], load_cremad, ValueError, "not a CREMA-D clip name"),
        (["cremad/other/x.txt"], load_cremad, FileNotFoundError, "No CREMA-D layout"),
        (["ravdess/x.txt"], load_ravdess, FileNotFoundError, "No RAVDESS Actor_XX folder"),
    ],
    ids=["bad-cremad-name", "no-cremad-layout", "no-ravdess-actors"],
)
def test_loader_errors(tmp_path, files, loader, error, match):
    for f in files:
        _touch(tmp_path / f)
    with pytest.raises(error, match=match):
        loader(tmp_path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("video,audio,emotion\n", r"missing column\(s\) \['speaker'\]"),
        ("video,audio,emotion,speaker\n,a.wav,sad,1\n", r"line 2: audio file .*a\.wav not found"),
        ("video,audio,emotion,speaker\n,,sad,1\n", "line 2: neither a video nor an audio file"),
        ("video,audio,emotion,speaker\n,{wav},bored,1\n", "line 2: unknown emotion 'bored'"),
    ],
    ids=["missing-column", "missing-file", "no-media", "unknown-label"],
)
def test_manifest_errors(tmp_path, content, match):
    wav = _touch(tmp_path / "ok.wav")
    path = tmp_path / "m.csv"
    path.write_text(content.format(wav=wav))
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        load_manifest(path)


def test_afew_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("AFEW_ROOT", raising=False)
    with pytest.raises(FileNotFoundError, match=r"needs root=\.\.\. or \$AFEW_ROOT"):
        load_afew()
    with pytest.raises(FileNotFoundError, match="AFEW partition 'Train' not found"):
        load_afew(tmp_path)


# --------------------------------------------------------------------- manifests as users write them

_GOOD_MANIFEST = (
    "video,audio,emotion,speaker,note\n"
    ",clips/a.wav,Angry,s1,first take\n"
    'clips/c.mp4,clips/b.wav,sad,s2,"quiet, then loud"\n'
)


def _media(tmp_path):
    for name in ("a.wav", "b.wav", "c.mp4"):
        _touch(tmp_path / "clips" / name)


@pytest.mark.parametrize(
    ("prefix", "encoding", "transform"),
    [
        (b"", "utf-8", lambda t: t),
        (b"\xef\xbb\xbf", "utf-8", lambda t: t),
        (b"\xef\xbb\xbf", "utf-8", lambda t: t.replace("\n", "\r\n")),
        (b"", "utf-8", lambda t: t.replace("\n", "\r")),
        (b"\xff\xfe", "utf-16-le", lambda t: t.replace("\n", "\r\n")),
        (b"\xfe\xff", "utf-16-be", lambda t: t),
        (b"\xff\xfe", "utf-16-le", lambda t: t.replace(",", "\t").replace('"quiet\t', '"quiet,')),
        (b"\xef\xbb\xbf", "utf-8", lambda t: t.replace(",", ";").replace('"quiet;', '"quiet,')),
        (
            b"",
            "utf-8",
            lambda t: t.replace("video,audio,emotion,speaker", " Video,AUDIO , Emotion,Speaker"),
        ),
        (b"", "utf-8", lambda t: "\n" + t.replace("\n", "\n\n,,,,\n", 1) + ",,,,\n\n"),
        (b"", "utf-8", lambda t: t.replace("emotion", "label")),
    ],
    ids=[
        "utf8",
        "utf8-bom",
        "utf8-bom-crlf",
        "cr-only",
        "utf16le-bom-crlf",
        "utf16be-bom",
        "utf16-tab-separated",
        "semicolon-separated",
        "header-case-and-spaces",
        "blank-and-empty-rows",
        "label-column",
    ],
)
def test_manifest_encodings_and_dialects(tmp_path, prefix, encoding, transform):
    _media(tmp_path)
    path = tmp_path / "m.csv"
    path.write_bytes(prefix + transform(_GOOD_MANIFEST).encode(encoding))
    clips = load_manifest(path)
    assert [(c.id, c.label, c.speaker) for c in clips] == [("a", "anger", "s1"), ("c", "sad", "s2")]
    assert clips[0].video is None and clips[0].audio == tmp_path / "clips" / "a.wav"
    assert clips[1].video == tmp_path / "clips" / "c.mp4"
    assert [dict(c.meta) for c in clips] == [{"note": "first take"}, {"note": "quiet, then loud"}]


_HEADER = "video,audio,emotion,speaker\n"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (_HEADER + ",clips/a.wav,sad\n", r"m\.csv, line 2: 3 field\(s\) but the header has 4"),
        (_HEADER + ",clips/a.wav,sad,s1,x\n", r"m\.csv, line 2: 5 field\(s\) but the header has 4"),
        (
            _HEADER.replace("\n", "\r\n") + ",clips/a.wav,sad,s1\r\n,clips/b.wav\r\n",
            r"m\.csv, line 3: 2 field\(s\)",
        ),
        (
            "video,audio,emotion,speaker,note\n"
            ',clips/a.wav,sad,s1,"two\nlines"\n'
            ",clips/b.wav,sad\n",
            r"m\.csv, line 4: 3 field\(s\) but the header has 5",
        ),
        (_HEADER + ",clips/a.wav,,s1\n", r"m\.csv, line 2: the emotion field is empty"),
        (
            "video,audio,label,speaker\n,clips/a.wav, ,s1\n",
            r"m\.csv, line 2: the label field is empty",
        ),
        (
            _HEADER + ",clips/a.wav,sad,s1\n,clips/b.wav,bored,s1\n",
            r"m\.csv, line 3: unknown emotion 'bored'",
        ),
        (_HEADER + ",clips/a\x07.wav,sad,s1\n", r"m\.csv, line 2: the audio value .* not a usable"),
        (_HEADER + "clips/\x00c.mp4,,sad,s1\n", r"m\.csv, line 2: the video value .* not a usable"),
        (
            _HEADER + f",{'x' * 300}.wav,sad,s1\n",
            r"m\.csv, line 2: the audio value .* not a usable path \(File name too long\)",
        ),
        ("video,audio,label\n", r"m\.csv, line 1: missing column\(s\) \['speaker'\]"),
        ("video,audio,speaker\n", r"m\.csv, line 1: missing column\(s\) \['emotion'\]"),
        ("id,speaker\n", r"missing column\(s\) \['video', 'audio', 'emotion'\]"),
        ("", r"m\.csv, line 1: missing column\(s\) \['video', 'audio', 'emotion', 'speaker'\]"),
        (
            "video,audio,emotion,speaker,speaker\n",
            r"m\.csv, line 1: column 'speaker' appears twice \(columns 4 and 5\)",
        ),
        ("video,audio,Emotion,emotion,speaker\n", r"column 'emotion' appears twice"),
        (
            _HEADER + ",clips/a.wav,sad,s1\nclips/a.mp4,,sad,s1\n",
            r"m\.csv, line 3: clip id 'a' \(corpus 'manifest'\) is already used on line 2",
        ),
        (
            "id,video,audio,emotion,speaker\n1,,clips/a.wav,sad,s1\n2,,clips/./a.wav,happy,s1\n",
            r"m\.csv, line 3: .*a\.wav is labelled 'happy' here and 'sad' on line 2",
        ),
        (
            _HEADER + ",clips/a.wav,sad,s1\n,clips/a.wav,fearful,s1\n",
            r"m\.csv, line 3: .*a\.wav is labelled 'fear' here and 'sad' on line 2",
        ),
    ],
    ids=[
        "short-row",
        "long-row",
        "short-row-crlf",
        "line-after-multiline-field",
        "empty-emotion",
        "empty-label",
        "unknown-label-line-3",
        "control-character-in-path",
        "nul-in-path",
        "path-too-long",
        "missing-speaker",
        "missing-emotion-named-as-written",
        "missing-three",
        "empty-file",
        "duplicate-column",
        "duplicate-column-other-case",
        "duplicate-id",
        "same-file-two-labels",
        "same-file-two-labels-no-id",
    ],
)
def test_malformed_manifests(tmp_path, content, match):
    _media(tmp_path)
    _touch(tmp_path / "clips" / "a.mp4")
    path = tmp_path / "m.csv"
    path.write_bytes(content.encode())
    with pytest.raises(ValueError, match=match):
        load_manifest(path)


def test_manifest_that_is_not_utf8(tmp_path):
    _media(tmp_path)
    path = tmp_path / "m.csv"
    path.write_bytes((_HEADER + ",clips/a.wav,sad,s1\n,clips/b.wav,sad,René\n").encode("cp1252"))
    with pytest.raises(
        ValueError, match=r"m\.csv, line 3: not valid utf-8 text \(byte 0xe9\); save .* UTF-8"
    ):
        load_manifest(path)


def test_manifest_corpus_filter_still_checks_every_row(tmp_path):
    _media(tmp_path)
    path = tmp_path / "m.csv"
    path.write_text(
        "video,audio,emotion,speaker,corpus\n"
        ",clips/a.wav,sad,s1,mine\n"
        ",clips/missing.wav,sad,s1,theirs\n"
    )
    assert [c.id for c in load_manifest(path, corpus="mine")] == ["a"]
    path.write_text(path.read_text() + ",clips/b.wav,sad,theirs\n")
    with pytest.raises(ValueError, match=r"line 4: 4 field\(s\) but the header has 5"):
        load_manifest(path, corpus="mine")
