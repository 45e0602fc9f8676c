"""Bad input never gets a made-up label, never a traceback: predict, evaluate, train.

The cases are the README's "Bad input" table (``pipelines/bad_input_table.py``), made from
generated files and the shared clips, run through the ``emoset`` command in one batch.
"""

import csv

import pytest

from emoset.app.cli import main
from pipelines.bad_input_table import make_cases, run_predict

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def batch(small_model_file, data_root, feature_cache, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    cases = make_cases(tmp, data_root)
    from emoset.datasets.corpora import load_cremad

    good = load_cremad(data_root, subsets=["native"])[1].video
    code, records, err = run_predict(
        small_model_file, [p for *_, p in cases] + [good], feature_cache
    )
    return (
        {name: rec for (name, _, _), rec in zip(cases, records, strict=False)},
        records,
        code,
        err,
    )


def test_one_batch_all_reported_good_clip_still_predicted(batch):
    by_case, records, code, err = batch
    assert code == 1  # some clips got no label; the command still answered for every clip
    assert len(records) == len(by_case) + 1 and records[-1]["label"] is not None
    assert "got no label" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("zero-byte", ["empty.mp4", "empty (0 bytes)"]),
        ("text", ["notes.mp4", "not a"]),
        ("silence", ["digital silence"]),
        ("nan", ["nan.wav", "NaN"]),
        ("blip", ["too short"]),
        ("missing", ["does_not_exist.mp4", "no such file"]),
        ("directory", ["a_folder.mp4", "a folder"]),
        ("loop", ["loop.mp4", "a symbolic link that loops"]),
        ("fifo", ["pipe.mp4", "a named pipe (FIFO)"]),
        ("partial", ["partial.mp4", "truncated", " s of "]),
        ("noise", ["far from the training data"]),
    ],
)
def test_no_label_and_the_reason(batch, case, fragments):
    rec = batch[0][case]
    assert rec["label"] is None and set(rec["scores"].values()) == {None}
    for fragment in fragments:
        assert fragment in rec["error"], (fragment, rec["error"])


def test_a_name_that_is_not_utf8_is_answered_like_any_other(batch):
    rec = batch[0]["latin1"]
    assert rec["label"] is not None and rec["clip"] == "caf\\xe9"
    assert rec["path"].endswith("caf\\xe9.mp4")


def test_one_frame_is_one_face(batch, small_recognizer):
    """A one-frame video without sound: its one face is scored by a set model that can
    summarise one face (the small model's CNN subsystem keeps the mean), never by the audio."""
    rec = batch[0]["one-frame"]
    assert small_recognizer.subsystems_["cnn-pls"].steps[-1][1].min_frames_ == 1
    assert rec["label"] is not None and rec["subsystems"] == ["cnn-pls"]
    assert "no audio track" in rec["reasons"]["audio-svm"]


def test_content_decides_the_media_kind_and_speech_of_any_rate_is_scored(batch):
    by_case = batch[0]
    renamed = by_case["renamed"]  # an mp4 named .wav is read as the video it is
    assert renamed["label"] is not None and "cnn-pls" in renamed["subsystems"]
    fast = by_case["48k"]  # bandwidth-matched: scored, near the training data
    assert fast["label"] is not None and fast["subsystems"] == ["audio-svm"]
    assert fast["distances"]["audio-svm"] < 1 and not fast["ood"]
    assert by_case["noise"]["ood"] is True


def test_allow_partial_scores_what_decoded(small_model_file, data_root, feature_cache, tmp_path):
    cases = dict((n, p) for n, _, p in make_cases(tmp_path, data_root))
    code, records, _ = run_predict(
        small_model_file, [cases["partial"]], feature_cache, extra=["--allow-partial"]
    )
    assert code == 0 and records[0]["label"] is not None
    assert any("truncated" in w for w in records[0]["warnings"])


def _manifest(path, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["video", "audio", "emotion", "speaker"])
        writer.writerows(rows)
    return path


def test_evaluate_and_train_on_a_corpus_with_bad_clips(
    small_model_file, data_root, feature_cache, tmp_path, capsys
):
    from emoset.datasets.corpora import load_cremad

    cases = {n: p for n, _, p in make_cases(tmp_path, data_root)}
    good = load_cremad(data_root, subsets=["facecrop128"])[:24]
    rows = [[c.video, c.audio, c.label, c.speaker] for c in good]
    rows += [[cases["zero-byte"], "", "anger", "9001"], [cases["partial"], "", "sad", "9002"]]
    rows += [["", cases["silence"], "happy", "9003"], ["", cases["blip"], "fear", "9004"]]
    manifest = _manifest(tmp_path / "corpus.csv", rows)
    common = [
        "--corpus",
        "manifest",
        "--manifest",
        str(manifest),
        "--cache-dir",
        str(feature_cache),
    ]
    capsys.readouterr()
    assert main(["evaluate", str(small_model_file), *common]) == 1
    out = capsys.readouterr()
    assert "no label, counted wrong" in out.out and "empty.mp4" in out.out
    assert "Traceback" not in out.err
    model = tmp_path / "m.skops"
    assert main(["train", *common, "--video", "cnn", "-o", str(model)]) == 0
    out = capsys.readouterr()
    assert model.is_file() and "Traceback" not in out.err
    said = [line for line in out.err.splitlines() if "cannot be used" in line]
    assert len(said) == 1 and "4 of 28 training clips" in said[0]  # said once, all four
    assert said[0].startswith("WARNING py.warnings: ")  # one log line, not a source excerpt


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p.with_name(p.name + ".sha256").write_text(""), "is empty"),
        (lambda p: p.write_bytes(p.read_bytes()[:500]), "does not match the recorded"),
        (lambda p: p.with_name(p.name + ".sha256").unlink(), "beside it"),
    ],
    ids=["empty-digest", "truncated-model", "no-digest"],
)
def test_model_problems_exit_2(small_model_file, tmp_path, capsys, setup, message):
    import shutil

    model = tmp_path / "model.skops"
    shutil.copy(small_model_file, model)
    shutil.copy(str(small_model_file) + ".sha256", str(model) + ".sha256")
    setup(model)
    capsys.readouterr()
    assert main(["predict", str(model), str(model)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("emoset: error: ") and "model.skops" in err and message in err


def test_manifest_problems_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("video,audio,emotion\nx.mp4\n")  # a row shorter than the header
    capsys.readouterr()
    assert main(["train", "--corpus", "manifest", "--manifest", str(bad), "-o", "m.skops"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("emoset: error: ") and "bad.csv" in err and "Traceback" not in err
