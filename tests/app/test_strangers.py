"""Strangers' files, the second round: no traceback, no overwritten file, no answer from nothing.

Each case is made at test time (generated files, the shared clips, loopback servers) and goes
through the ``emoset`` command or the library as a careless or hostile user would send it.
"""

import json
import os
import shutil
import socket
import threading
import time
import warnings

import numpy as np
import pytest
import soundfile as sf

from emoset.app.cli import main
from emoset.io.errors import MediaError
from emoset.recognizer.persistence import load_model, save_model
from emoset.utils.cache import DiskCache

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def native(data_root):
    from emoset.datasets.corpora import load_cremad

    return load_cremad(data_root, subsets=["native"])


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.out, out.err


# --------------------------------------------------------------------------- timelines


def _speech_then_silence(tmp_path, native):
    from emoset.io.media import load_audio

    y = load_audio(native[0].audio, sr=16000)
    signal = np.concatenate([y, np.zeros(3 * 16000, np.float32)])
    path = tmp_path / "speech_then_silence.wav"
    sf.write(path, signal, 16000, subtype="FLOAT")
    return path


def test_timeline_table_with_and_without_labels(small_model_file, native, tmp_path, capsys):
    """Some windows labelled, the silent ones not: the default table prints both."""
    path = _speech_then_silence(tmp_path, native)
    code, out, _ = _run(["timeline", small_model_file, path, "--window", "1", "--hop", "1"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert any(" - " in line for line in lines[1:])  # a window without a label
    assert any("digital silence" in line for line in lines)
    assert sum(" - " not in line for line in lines[1:] if line.strip()[:1].isdigit()) >= 1


def test_outputs_that_cannot_be_written_are_refused_before_the_run(
    small_model_file, native, tmp_path, capsys
):
    """An overlay in an image's name or drawn on a recording without video, a plot in a
    video's name: refused at once (they failed after the whole run, exit 2), nothing written."""
    wav = _speech_then_silence(tmp_path, native)
    cases = [
        ([native[0].video, "--overlay", tmp_path / "o.png"], "--overlay", ".mp4"),
        ([wav, "--overlay", tmp_path / "o.mp4"], "--overlay", "no video stream"),
        ([native[0].video, "--plot", tmp_path / "p.mp4"], "--plot", ".png"),
    ]
    for argv, flag, says in cases:
        code, out, err = _run(
            ["timeline", small_model_file, *argv, "--csv", tmp_path / "t.csv"], capsys
        )
        assert code == 2 and flag in err and says in err and not out, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [wav.name]


def test_overlay_never_replaces_an_input(small_model_file, native, tmp_path, capsys):
    video = tmp_path / "in.mp4"
    shutil.copy(native[0].video, video)
    before = video.read_bytes()
    (tmp_path / "hard.mp4").hardlink_to(video)
    (tmp_path / "soft.mp4").symlink_to(video)
    for target in (video, tmp_path / "hard.mp4", tmp_path / "soft.mp4"):
        code, _, err = _run(["timeline", small_model_file, video, "--overlay", target], capsys)
        assert code == 2 and "--overlay" in err and "would be overwritten" in err
    code, _, err = _run(["timeline", small_model_file, video, "--csv", video], capsys)
    assert code == 2 and "--csv" in err
    assert video.read_bytes() == before
    code, _, err = _run(["timeline", small_model_file, video, "--plot", tmp_path], capsys)
    assert code == 2 and "is a folder" in err


def test_truncated_file_gets_no_timeline_unless_allowed(small_model_file, native, tmp_path, capsys):
    data = native[0].video.read_bytes()
    partial = tmp_path / "partial.mp4"
    partial.write_bytes(data[: int(0.5 * len(data))])
    code, out, err = _run(["timeline", small_model_file, partial, "--hop", "1"], capsys)
    assert code == 1 and "no timeline" in err and "truncated: decoded" in err and not out
    code, out, err = _run(
        ["timeline", small_model_file, partial, "--hop", "1", "--allow-partial"], capsys
    )
    assert code == 0 and "truncated: decoded" in err and out


class _Silent:
    """A TCP server on 127.0.0.1 that accepts and then sends nothing (or a little, then stops)."""

    def __init__(self, payload=b""):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.payload = payload
        self.stop = threading.Event()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/live.ts"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conns = []
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conns.append(conn)
            if self.payload:
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: video/mp2t\r\n\r\n" + self.payload)
        for c in conns:
            c.close()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.mark.timeout(120)
def test_a_url_that_sends_nothing_ends_with_a_message(small_model_file, capsys):
    server = _Silent()
    try:
        code, _, err = _run(
            ["timeline", small_model_file, server.url, "--stall-timeout", "1"], capsys
        )
    finally:
        server.close()
    assert code in (1, 2) and server.url in err  # the URL as written, with its "//"


# --------------------------------------------------------------------------- caches


def test_damaged_cache_entries_are_named_dropped_and_recomputed(
    small_recognizer, native, tmp_path, caplog
):
    from emoset.recognizer.timeline import predict_timeline

    video = tmp_path / "clip.mp4"
    shutil.copy(native[1].video, video)
    kw = dict(window=1.0, hop=1.0, segment=1.0, cache_dir=tmp_path / "c")
    first = predict_timeline(small_recognizer, video, **kw)
    entries = sorted((tmp_path / "c" / "timeline").rglob("*.npz"))
    assert len(entries) >= 2
    from emoset.utils import cache as cache_module

    for entry, edit in zip(entries, ("no stats", "rows=5"), strict=False):
        record = cache_module._decode(entry.read_bytes())
        if edit == "no stats":
            del record["stats"]
        else:
            record["rows"] = 5
        key = entry.stem
        entry.write_bytes(cache_module._encode(record, key))  # decodes, with its digest
    with caplog.at_level("WARNING", logger="emoset.utils.cache"):
        again = predict_timeline(small_recognizer, video, **kw)
    assert again.attrs["from_cache"] == len(entries) - 2
    named = [r.getMessage() for r in caplog.records if "Ignoring invalid cache entry" in r.message]
    assert len(named) == 2 and all(str(tmp_path) in m for m in named)
    np.testing.assert_array_equal(again["label"].to_numpy(), first["label"].to_numpy())


def test_swapped_or_edited_cache_entries_are_refused(tmp_path):
    import io

    cache = DiskCache(tmp_path)
    cache.put("a" * 64, {"values": np.arange(3.0), "n": 1})
    cache.put("b" * 64, {"values": np.arange(3.0) + 10, "n": 2})
    shutil.copy(cache.path("b" * 64), cache.path("a" * 64))  # a swapped entry
    assert cache.get("a" * 64, None) is None
    cache.put("a" * 64, {"values": np.arange(3.0), "n": 1})
    # an entry edited but well formed: its header keeps the old digest, its contents differ
    with np.load(cache.path("a" * 64), allow_pickle=False) as npz:
        members = {k: npz[k] for k in npz.files}
    header = json.loads(members["__record__"].tobytes())
    header["fields"]["n"] = 7
    members["__record__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **members)
    cache.path("a" * 64).write_bytes(buffer.getvalue())
    assert cache.get("a" * 64, None) is None
    cache.put("a" * 64, {"values": np.arange(3.0), "n": 1})
    assert cache.get("a" * 64)["n"] == 1


# --------------------------------------------------------------------------- paths and models


def test_paths_that_are_not_files_say_what_they_are(small_model_file, tmp_path, capsys):
    folder = tmp_path / "model_dir.skops"
    folder.mkdir()
    fifo = tmp_path / "model.fifo"
    os.mkfifo(fifo)
    for path, words in ((folder, "is a folder"), (fifo, "is a named pipe (FIFO)")):
        code, _, err = _run(["predict", path, small_model_file], capsys)
        assert code == 2 and words in err
    loop = tmp_path / "loop.skops"
    loop.symlink_to(tmp_path / "loop2.skops")
    (tmp_path / "loop2.skops").symlink_to(loop)
    code, _, err = _run(["predict", loop, small_model_file], capsys)
    assert code == 2 and "a symbolic link that loops" in err
    manifest = tmp_path / "m.csv"
    manifest.write_text("video,audio,emotion,speaker\n/dev/zero,,anger,1\n")
    from emoset.datasets.manifest import load_manifest

    with pytest.raises(ValueError, match=r"m\.csv, line 2: video file /dev/zero is a character"):
        load_manifest(manifest)


def test_url_in_a_message_keeps_its_slashes():
    err = MediaError("http://127.0.0.1:9/x.ts", "cannot open the source")
    assert str(err) == "http://127.0.0.1:9/x.ts: cannot open the source"


def test_outputs_are_checked_before_training(data_root, tmp_path, capsys):
    start = time.monotonic()
    code, _, err = _run(["train", "--corpus", "cremad", "-o", tmp_path], capsys)
    assert code == 2 and "is a folder" in err
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    code, _, err = _run(
        ["train", "-o", tmp_path / "m.skops", "--cache-dir", blocker, "--data-root", data_root],
        capsys,
    )
    assert code == 2 and "--cache-dir" in err and "not a folder" in err
    assert not (tmp_path / "m.skops").exists()
    assert time.monotonic() - start < 60  # refused at once, not after training (minutes)


def test_a_name_the_terminal_cannot_show_keeps_the_batch(data_root, tmp_path):
    """Under an ASCII locale (``LC_ALL=C``, no UTF-8 mode) a clip named ``café.mp4`` is printed
    with an escape; it ended the batch with a UnicodeEncodeError, every answer lost."""
    import subprocess
    import sys

    clips = sorted((data_root / "cremad" / "native" / "video").glob("1001_DFA_*_XX.mp4"))[:2]
    odd = tmp_path / "caf\u00e9.mp4"
    shutil.copy(clips[0], odd)
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "EMOSET_CACHE": str(tmp_path / "c")}
    env.pop("PYTHONIOENCODING", None)
    done = subprocess.run(
        [sys.executable, "-m", "emoset.app.cli", "predict", str(odd), str(clips[1])],
        capture_output=True,
        env=env,
        timeout=300,
    )
    out = done.stdout.decode("ascii")
    assert done.returncode == 0, done.stderr.decode("ascii", "replace")
    assert "caf\\xe9.mp4: " in out and f"{clips[1].name}: " in out


def test_a_name_with_a_newline_is_one_line_of_output(data_root, tmp_path, capsys, monkeypatch):
    """A clip named ``a<newline>b.wav`` (or with a tab) is one line of the plain output, its
    name escaped; the JSON output keeps the name as it is."""
    monkeypatch.setenv("EMOSET_CACHE", str(tmp_path / "c"))
    wav = next((data_root / "cremad" / "facecrop128" / "audio").glob("*.wav"))
    odd = tmp_path / "a\nb\t.wav"
    shutil.copy(wav, odd)
    missing = tmp_path / "x\ny.mp4"
    code, out, _ = _run(["predict", odd, missing], capsys)
    lines = out.splitlines()
    assert code == 1 and len(lines) == 2, out
    assert lines[0].startswith(str(tmp_path / "a\\nb\\t.wav") + ": ")
    assert lines[1].startswith(str(tmp_path / "x\\ny.mp4") + ": no label (")
    assert "\\n" in lines[1].split(": no label (")[1]  # the name inside the reason too
    code, out, _ = _run(["predict", odd, "--json"], capsys)
    assert code == 0 and json.loads(out)[0]["path"] == str(odd)


def test_a_1_khz_recording_is_labelled_with_a_caveat(data_root, tmp_path, capsys, monkeypatch):
    """Speech stored at 1 kHz (0.5 kHz of band) against the telephone-band bundled model: an
    answer with a caveat naming both bands (it was labelled with no word)."""
    import soundfile as sf

    from emoset.io.media import load_audio

    monkeypatch.setenv("EMOSET_CACHE", str(tmp_path / "c"))
    wav = next((data_root / "cremad" / "facecrop128" / "audio").glob("*.wav"))
    low = tmp_path / "one_khz.wav"
    sf.write(low, load_audio(wav, sr=1000), 1000)
    code, out, _ = _run(["predict", low], capsys)
    assert code == 0
    said = "    caveat: audio bandwidth 0.5 kHz is below the training bandwidth 3.8 kHz"
    assert out.splitlines()[1:] == [said]


def test_a_cache_variable_that_names_no_folder_is_named(data_root, tmp_path, capsys, monkeypatch):
    """``EMOSET_CACHE`` under a file: refused before any work, the message naming the variable
    (it failed part way with a bare NotADirectoryError, or gave each clip no label)."""
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setenv("EMOSET_CACHE", str(blocker / "cache"))
    clip = next((data_root / "cremad" / "native" / "video").glob("1001_DFA_ANG_*.mp4"))
    code, out, err = _run(["predict", clip], capsys)
    assert code == 2 and "EMOSET_CACHE" in err and "a_file" in err and not out


def test_training_never_replaces_what_it_reads(data_root, tmp_path, capsys):
    """``train -o`` naming its manifest or one of its clips is refused before training, and
    a digest file's name is not a model's: each file is left as it was."""
    clip = tmp_path / "a.mp4"
    shutil.copy(next((data_root / "cremad" / "native" / "video").glob("1001_DFA_ANG_*.mp4")), clip)
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"video,audio,emotion,speaker\n{clip},,anger,1001\n")
    before = {p: p.read_bytes() for p in (clip, manifest)}
    for target in (manifest, clip):
        code, _, err = _run(
            ["train", "--corpus", "manifest", "--manifest", manifest, "-o", target], capsys
        )
        assert code == 2 and "would be overwritten" in err and target.name in err, err
    code, _, err = _run(
        ["train", "--corpus", "manifest", "--manifest", manifest, "-o", tmp_path / "x.sha256"],
        capsys,
    )
    assert code == 2 and "digest file" in err
    assert {p: p.read_bytes() for p in before} == before


def test_two_writers_never_leave_one_model_beside_the_other_digest(tmp_path):
    """Two processes save different models to one path at once, again and again: every
    time the model loads (its digest is its own)."""
    import multiprocessing as mp

    path = tmp_path / "m.skops"
    ctx = mp.get_context("fork")
    for round_ in range(6):
        barrier = ctx.Barrier(2)
        procs = [ctx.Process(target=_save_after, args=(barrier, path, k)) for k in (1, 2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
            assert p.exitcode == 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = load_model(path)  # raises if the digest is the other writer's
        assert model.n_dims in (1, 2), round_


def _save_after(barrier, path, k):
    from emoset.sets.imagesets import SubspaceModel

    model = SubspaceModel(n_dims=k).fit([np.eye(4)[:3] + i for i in range(3)])
    barrier.wait()
    save_model(model, path)


def test_json_of_an_evaluation_is_valid_json(small_model_file, data_root, capsys):
    code, out, _ = _run(
        [
            "evaluate",
            small_model_file,
            "--corpus",
            "cremad",
            "--data-root",
            data_root,
            "--speakers",
            "1001",
            "--json",
        ],
        capsys,
    )
    assert code in (0, 1)
    json.loads(out)  # no NaN: JSON has none
    assert "NaN" not in out


def test_a_zip_bomb_is_refused_before_it_fills_the_disk(tmp_path):
    import zipfile

    from emoset.datasets.archive import extract_zip
    from emoset.datasets.download import DownloadError

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Actor_01/zeros.wav", b"\0" * (50 * 2**20))  # 50 MB of zeros: ~50 kB
    assert bomb.stat().st_size < 2**20
    with pytest.raises(DownloadError, match=r"bomb\.zip: member 'Actor_01/zeros\.wav' expands"):
        extract_zip(bomb, tmp_path / "out")
    with pytest.raises(DownloadError, match=r"would expand to 52\.4 MB, more than the 1\.0 MB"):
        extract_zip(bomb, tmp_path / "out", max_expanded=2**20, max_ratio=10**6)
    assert not (tmp_path / "out" / "Actor_01" / "zeros.wav").exists()


def test_n_jobs_zero_is_one_message_everywhere(capsys):
    """One message in the command's words (no Python "None", no int() literal error)."""
    for command in (["predict", "m.skops", "a.mp4"], ["timeline", "m.skops", "a.mp4"]):
        for value in ("0", "abc", "1.5"):
            with pytest.raises(SystemExit) as stop:
                main([*command, "--n-jobs", value])
            assert stop.value.code == 2
            err = capsys.readouterr().err
            said = f"--n-jobs must be a non-zero whole number (-1: every core); got '{value}'."
            assert said in err and "None" not in err and "int()" not in err


def test_a_manifest_is_its_corpus(tmp_path, capsys):
    manifest = tmp_path / "m.csv"
    manifest.write_text("video,audio,emotion,speaker\n")
    code, _, err = _run(
        ["evaluate", "m.skops", "--manifest", manifest, "--corpus", "ravdess"], capsys
    )
    assert code == 2 and "--manifest gives the clips, --corpus ravdess others" in err


def test_a_scikit_learn_model_is_not_an_emoset_model(tmp_path, capsys):
    from sklearn.svm import SVC

    path = save_model(SVC().fit(np.eye(4), [0, 1, 0, 1]), tmp_path / "svc.skops")
    code, _, err = _run(["predict", path, path], capsys)
    assert code == 2 and "holds a SVC, not an emoset model" in err


def test_labels_the_model_does_not_know_count_as_wrong(small_model_file, native, tmp_path, capsys):
    rows = ["video,audio,emotion,speaker"]
    for i, clip in enumerate(native[:4]):
        label = "surprise" if i == 0 else clip.label  # CREMA-D has no surprise
        rows.append(f"{clip.video},{clip.audio},{label},{clip.speaker}")
    manifest = tmp_path / "with_surprise.csv"
    manifest.write_text("\n".join(rows) + "\n")
    code, out, err = _run(["evaluate", small_model_file, "--manifest", manifest, "--json"], capsys)
    metrics = json.loads(out)
    assert "1 clip(s) are labelled with classes this model does not know (surprise: 1)" in err
    assert metrics["unknown_labels"] == ["surprise"]
    assert metrics["recall"]["surprise"] == 0.0
    assert metrics["uar"] < 1.0 and metrics["accuracy"] <= 0.75
