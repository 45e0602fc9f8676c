"""fetch_cremad / fetch_ravdess and ``pipelines/fetch_data.py`` against a loopback server.

The server (``tests/_loopback.py``) serves a tiny CREMA-D and a fake Zenodo record of RAVDESS;
any connection outside loopback fails the test.
"""

import functools
import gzip
import io
import json
import re
import zipfile
from pathlib import Path

import _loopback
import pytest

from emoset.datasets.corpora import load_cremad, load_ravdess
from emoset.datasets.download import ChecksumError, DownloadError
from emoset.datasets.fetch import CREMAD_DEFAULT_ACTORS, fetch_cremad, fetch_ravdess, get_data_home

# The loopback server fixtures (tests/_loopback.py), bound here so that pytest finds them.
loopback_only = _loopback.loopback_only
server = _loopback.server
refused_url = _loopback.refused_url
_payload, _sha256, _md5 = _loopback._payload, _loopback._sha256, _loopback._md5


# --------------------------------------------------------------------------- CREMA-D


def _cremad_corpus(server):
    """Serve a tiny CREMA-D (2 actors) and return its file list rows."""
    rows = []
    names = ["1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1002_DFA_SAD_XX"]
    for i, name in enumerate(names):
        for path in (f"VideoFlash/{name}.flv", f"AudioWAV/{name}.wav"):
            data = _payload(3000 + 100 * i + len(path), seed=i)
            server.files["/media/" + path] = data
            rows.append({"path": path, "sha256": _sha256(data), "size": len(data)})
    table = (
        b'"","FileName","VoiceVote","VoiceLevel","FaceVote","FaceLevel","MultiModalVote",'
        b'"MultiModalLevel"\n'
        b'"1","1001_DFA_ANG_XX","A","80","A","90","A","85"\n'
        b'"2","1001_IEO_HAP_HI","H","70","N:H","50","H","60"\n'
    )
    server.files["/raw/processedResults/summaryTable.csv"] = table
    rows.append(
        {"path": "processedResults/summaryTable.csv", "sha256": _sha256(table), "size": len(table)}
    )
    return rows


def _cremad_kwargs(server, rows):
    return dict(
        file_list=rows,
        base_url=server.url + "/media/",
        meta_url=server.url + "/raw",
        progress=False,
        n_jobs=2,
        timeout=5.0,
    )


def test_fetch_cremad_end_to_end(server, tmp_path):
    rows = _cremad_corpus(server)
    kwargs = _cremad_kwargs(server, rows)
    plan = fetch_cremad(tmp_path, actors=[1001], dry_run=True, **kwargs)
    assert len(plan.files) == 5 and len(plan.missing) == 5 and "ODbL" in plan.licence
    assert not (tmp_path / "cremad").exists()

    clips = fetch_cremad(tmp_path, actors=[1001], **kwargs)
    assert [c.id for c in clips] == ["1001_DFA_ANG_XX", "1001_IEO_HAP_HI"]
    for c in clips:
        assert c.subset == "official" and c.speaker == "1001"
        assert c.video == tmp_path / "cremad" / "VideoFlash" / f"{c.id}.flv"
        assert c.audio == tmp_path / "cremad" / "AudioWAV" / f"{c.id}.wav"
    assert clips[1].meta["human"] == {"voice": "happy", "face": ("neutral", "happy"), "av": "happy"}
    assert server.requests("/media/VideoFlash/1002_DFA_SAD_XX.flv") == []
    assert not list((tmp_path / "cremad").rglob("*.part"))

    # The loaders read the fetched folder by themselves.
    loaded = load_cremad(tmp_path)
    assert [c.id for c in loaded] == [c.id for c in clips]
    assert loaded[0].meta["human"]["av"] == "anger"

    # A second call finds everything in place and asks the server nothing.
    n_requests = len(server.log)
    assert fetch_cremad(tmp_path, actors=[1001], **kwargs) == clips
    assert len(server.log) == n_requests
    assert len(fetch_cremad(tmp_path, actors=[1001], dry_run=True, **kwargs).missing) == 0


def test_fetch_cremad_audio_only_all_actors(server, tmp_path):
    rows = _cremad_corpus(server)
    clips = fetch_cremad(
        tmp_path, modalities=["audio"], human_votes=False, **_cremad_kwargs(server, rows)
    )
    assert [c.speaker for c in clips] == ["1001", "1001", "1002"]
    assert all(c.video is None and c.audio.suffix == ".wav" for c in clips)
    assert not (tmp_path / "cremad" / "processedResults").exists()


def test_fetch_cremad_reports_bad_files_and_keeps_good_ones(server, tmp_path):
    rows = _cremad_corpus(server)
    rows[0] = dict(rows[0], sha256="f" * 64)  # VideoFlash/1001_DFA_ANG_XX.flv
    rows[-1] = dict(rows[-1], sha256="e" * 64)  # the summary table: only a warning
    with pytest.raises(
        DownloadError, match=r"1 of 6 CREMA-D file\(s\) failed.*1001_DFA_ANG_XX\.flv.*sha256"
    ):
        fetch_cremad(tmp_path, **_cremad_kwargs(server, rows))
    assert not (tmp_path / "cremad" / "VideoFlash" / "1001_DFA_ANG_XX.flv").exists()
    assert len(list((tmp_path / "cremad").rglob("*.wav"))) == 3
    assert not (tmp_path / "cremad" / "processedResults" / "summaryTable.csv").exists()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            dict(actors=["0999"]),
            ValueError,
            r"Unknown CREMA-D actor\(s\) \['0999'\].*2 actors \(1001\.\.1002\)",
        ),
        (
            dict(modalities=["smell"]),
            ValueError,
            r"modalities must be a non-empty subset .*got \['smell'\]",
        ),
        (dict(modalities=[]), ValueError, r"modalities must be a non-empty subset"),
        (dict(n_jobs=0), ValueError, r"n_jobs == 0, must be >= 1"),
        (dict(n_jobs="4"), TypeError, r"n_jobs must be an instance of int, not str"),
        (dict(retries=-1), ValueError, r"retries == -1, must be >= 0"),
        (dict(timeout=0.0), ValueError, r"timeout == 0.0, must be > 0"),
    ],
    ids=[
        "unknown-actor",
        "unknown-modality",
        "no-modality",
        "zero-jobs",
        "jobs-as-text",
        "negative-retries",
        "zero-timeout",
    ],
)
def test_fetch_cremad_bad_arguments(server, tmp_path, kwargs, error, match):
    rows = _cremad_corpus(server)
    with pytest.raises(error, match=match):
        fetch_cremad(tmp_path, **{**_cremad_kwargs(server, rows), **kwargs})
    assert server.log == []


def test_shipped_cremad_file_list():
    plan = fetch_cremad("/nonexistent-emoset-home", dry_run=True, progress=False)
    clips = [f for f in plan.files if "processedResults" not in f.url]
    assert len(clips) == 14884 and 3.0e9 < plan.total_bytes < 3.1e9
    assert all(re.fullmatch(r"[0-9a-f]{64}", f.sha256) for f in plan.files)
    assert all(f.url.startswith("https://media.githubusercontent.com/") for f in clips)
    small = fetch_cremad(
        "/nonexistent-emoset-home", actors=CREMAD_DEFAULT_ACTORS, dry_run=True, human_votes=False
    )
    assert len(small.files) == 1954 and small.total_bytes == 441_788_431


def test_shipped_cremad_list_matches_shared_copy(data_root):
    shared = data_root / "cremad_official_files.csv"
    if not shared.is_file():
        pytest.skip(f"{shared} not found")
    shipped = Path(__file__).parents[2] / "emoset" / "data" / "cremad_official_files.csv.gz"
    assert gzip.decompress(shipped.read_bytes()) == shared.read_bytes()
    table = data_root / "cremad" / "meta" / "summaryTable.csv"
    plan = fetch_cremad("/nonexistent-emoset-home", actors=["1001"], dry_run=True)
    (meta,) = [f for f in plan.files if f.dest.name == "summaryTable.csv"]
    assert meta.sha256 == _sha256(table.read_bytes()) and meta.size == table.stat().st_size


def test_fetch_cremad_offline_is_one_clear_error(server, refused_url, tmp_path):
    rows = _cremad_corpus(server)
    kwargs = {**_cremad_kwargs(server, rows), "base_url": refused_url.rsplit("/", 1)[0]}
    with pytest.raises(DownloadError, match=r"6 of 6 CREMA-D file\(s\) failed.*refused"):
        fetch_cremad(tmp_path, retries=0, **kwargs)


# --------------------------------------------------------------------------- RAVDESS


def _zip_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _ravdess_corpus(server, *, bad_md5=False):
    """Serve a tiny RAVDESS (3 actors) and its Zenodo record; return the record URL."""
    audio = {}
    files = {}
    for actor in (1, 2, 3):
        for emo in ("01", "05"):
            stem = f"01-{emo}-01-01-01-{actor:02d}"
            audio[f"Actor_{actor:02d}/03-{stem}.wav"] = _payload(500, seed=actor)
            video = {
                f"Actor_{actor:02d}/01-{stem}.mp4": _payload(900, seed=actor),
                f"Actor_{actor:02d}/02-{stem}.mp4": _payload(800, seed=actor),
            }
            key = f"Video_Speech_Actor_{actor:02d}.zip"
            files.setdefault(key, {}).update(video)
    files["Audio_Speech_Actors_01-24.zip"] = audio
    record_path = "/api/records/1188976"
    entries = []
    for key, members in files.items():
        data = _zip_bytes(members)
        server.files[f"{record_path}/files/{key}/content"] = data
        entries.append(
            {
                "key": key,
                "size": len(data),
                "checksum": "md5:" + ("0" * 32 if bad_md5 else _md5(data)),
                "links": {"self": f"{server.url}{record_path}/files/{key}/content"},
            }
        )
    server.json[record_path] = {"id": 1188976, "files": entries}
    return server.url + record_path


def test_fetch_ravdess_end_to_end(server, tmp_path):
    record_url = _ravdess_corpus(server)
    kwargs = dict(record_url=record_url, progress=False, timeout=5.0)
    plan = fetch_ravdess(tmp_path, actors=[1, 2], dry_run=True, **kwargs)
    assert [f.dest.name for f in plan.files] == [
        "Audio_Speech_Actors_01-24.zip",
        "Video_Speech_Actor_01.zip",
        "Video_Speech_Actor_02.zip",
    ]
    assert "NonCommercial" in plan.licence and len(plan.missing) == 3

    clips = fetch_ravdess(tmp_path, actors=[1, 2], **kwargs)
    folder = tmp_path / "ravdess"
    assert sorted(p.name for p in folder.glob("Actor_*")) == ["Actor_01", "Actor_02"]
    assert [c.id for c in clips] == [
        "01-01-01-01-01-01",
        "01-01-01-01-01-02",
        "01-05-01-01-01-01",
        "01-05-01-01-01-02",
    ]
    assert all(c.audio.suffix == ".wav" and c.video.suffix == ".mp4" for c in clips)
    assert clips[0].label == "neutral" and clips[2].label == "anger"
    assert not (folder / ".downloads" / "Video_Speech_Actor_01.zip").exists()
    assert server.requests("/api/records/1188976/files/Video_Speech_Actor_03.zip/content") == []
    assert [c.id for c in load_ravdess(tmp_path)] == [c.id for c in clips]

    # Everything is unpacked: a second call only reads the record.
    n_requests = len(server.log)
    assert fetch_ravdess(tmp_path, actors=[1, 2], **kwargs) == clips
    assert [p for p, _ in server.log[n_requests:]] == ["/api/records/1188976"]

    # One more actor: the all-actor audio zip comes again, only actor 3 is new.
    clips3 = fetch_ravdess(tmp_path, actors=[1, 2, 3], **kwargs)
    assert {c.speaker for c in clips3} == {"01", "02", "03"}
    marker = json.loads((folder / ".fetched" / "Audio_Speech_Actors_01-24.zip.json").read_text())
    assert marker["actors"] == [1, 2, 3] and len(marker["files"]) == 6


def test_fetch_ravdess_audio_part_only_keeps_archive(server, tmp_path):
    record_url = _ravdess_corpus(server)
    clips = fetch_ravdess(
        tmp_path,
        actors=["02"],
        parts="speech_audio",
        record_url=record_url,
        keep_archives=True,
        progress=False,
    )
    assert [c.speaker for c in clips] == ["02", "02"] and all(c.video is None for c in clips)
    assert (tmp_path / "ravdess" / ".downloads" / "Audio_Speech_Actors_01-24.zip").is_file()


def test_fetch_ravdess_checksum_mismatch_extracts_nothing(server, tmp_path):
    record_url = _ravdess_corpus(server, bad_md5=True)
    with pytest.raises(
        ChecksumError, match=r"Audio_Speech_Actors_01-24\.zip .*md5 mismatch: expected 0{32}, got"
    ):
        fetch_ravdess(tmp_path, parts=["speech_audio"], record_url=record_url, progress=False)
    assert not list((tmp_path / "ravdess").glob("Actor_*"))
    assert not list((tmp_path / "ravdess" / ".downloads").iterdir())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(actors=[25]), r"Unknown RAVDESS actor 25; actors are 1 \.\.\. 24"),
        (dict(parts=["speech_smell"]), r"parts must be a non-empty subset .*speech_smell"),
        (dict(retries=-1), r"retries == -1, must be >= 0"),
        (dict(timeout=-5), r"timeout == -5, must be > 0"),
    ],
    ids=["unknown-actor", "unknown-part", "negative-retries", "negative-timeout"],
)
def test_fetch_ravdess_bad_arguments(server, tmp_path, kwargs, match):
    record_url = _ravdess_corpus(server)
    with pytest.raises(ValueError, match=match):
        fetch_ravdess(tmp_path, record_url=record_url, progress=False, **kwargs)
    assert server.log == []


def test_fetch_ravdess_missing_record_file(server, tmp_path):
    record_url = _ravdess_corpus(server)
    with pytest.raises(DownloadError, match=r"has no file 'Audio_Song_Actors_01-24\.zip'"):
        fetch_ravdess(tmp_path, parts=["song_audio"], record_url=record_url, progress=False)


def test_fetch_ravdess_record_unreachable(refused_url, tmp_path):
    with pytest.raises(DownloadError, match=r"Could not read " + re.escape(refused_url)):
        fetch_ravdess(tmp_path, record_url=refused_url, retries=0, progress=False)


# --------------------------------------------------------------------------- data home and script


def test_get_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("EMOSET_DATA", str(tmp_path))
    assert get_data_home() == tmp_path
    assert get_data_home(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("EMOSET_DATA")
    assert get_data_home().name == "emoset_data"


def test_fetch_data_script_dry_run(tmp_path, capsys):
    from pipelines import fetch_data

    assert fetch_data.main(["--corpus", "cremad", "--dry-run", "--data-home", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ODbL" in out and "1955 to download (442.2 MB)" in out
    assert not (tmp_path / "cremad").exists()


def test_fetch_data_script_downloads_after_confirmation(server, tmp_path, monkeypatch, capsys):
    from pipelines import fetch_data

    rows = _cremad_corpus(server)
    loopback = functools.partial(fetch_cremad, **_cremad_kwargs(server, rows))
    monkeypatch.setattr(fetch_data, "fetch_cremad", loopback)
    argv = ["--corpus", "cremad", "--actors", "1001-1002", "--data-home", str(tmp_path)]
    assert fetch_data.main(argv) == 1  # stdin is not a terminal and --yes is missing
    assert "pass --yes" in capsys.readouterr().out and server.log == []
    assert fetch_data.main([*argv, "--yes"]) == 0
    assert "CREMA-D: 3 clip(s) ready" in capsys.readouterr().out
    assert len(load_cremad(tmp_path)) == 3


def test_fetch_cremad_reads_a_gzipped_file_list(server, tmp_path):
    rows = _cremad_corpus(server)
    listing = tmp_path / "files.csv.gz"
    with gzip.open(listing, "wt", newline="") as f:
        f.write("path,sha256,size\n")
        f.writelines(f"{r['path']},{r['sha256']},{r['size']}\n" for r in rows)
    kwargs = {**_cremad_kwargs(server, rows), "file_list": listing}
    clips = fetch_cremad(tmp_path / "home", actors=["1002"], **kwargs)
    assert [c.id for c in clips] == ["1002_DFA_SAD_XX"]
    with pytest.raises(FileNotFoundError, match=r"CREMA-D file list .*nope\.csv not found"):
        fetch_cremad(tmp_path, **{**kwargs, "file_list": tmp_path / "nope.csv"})


def test_fetch_data_script_rejects_actor_of_the_other_corpus(tmp_path):
    from pipelines import fetch_data

    with pytest.raises(SystemExit, match="2"):
        fetch_data.main(["--corpus", "cremad", "--actors", "5", "--data-home", str(tmp_path)])
