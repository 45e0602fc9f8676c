"""Every documented option of ``emoset train``, ``predict``, ``evaluate`` and ``timeline`` changes
what it should, and nothing it should not.

Tables of options, each row checked against what the option means, computed another way:
the corpus filters against the shared manifest read here with :mod:`csv`; ``train`` against
a recognizer fitted here on the clips the filters leave; ``timeline`` against
:func:`~emoset.recognizer.timeline.predict_timeline` with the same settings. Each row also
differs from the command without the option where it should. The model of ``predict``,
``evaluate`` and ``timeline`` is the session's small one.
"""

import contextlib
import csv
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _factories import truncate_file

from emoset.app.cli import build_parser, main
from emoset.app.commands import _load_corpus, _recognizer
from emoset.datasets import load_cremad
from emoset.recognizer import AudioVisualEmotionRecognizer, load_model, predict_timeline
from emoset.recognizer.persistence import read_card


def _run(argv):
    """``emoset ARGV`` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def manifest(data_root):
    """The shared manifest's rows, read here: what every corpus filter is checked against."""
    with open(data_root / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def _files(rows):
    """Each row's media file (its video, else its audio), relative to the data root."""
    return sorted(r["video"] or r["audio"] for r in rows)


# ---------------------------------------------------------------------- corpus filters
#: (options, which manifest rows they keep)
FILTERS = [
    (["--subsets", "facecrop128"], lambda r: "/facecrop128/" in r["video"]),
    (["--subsets", "native"], lambda r: "/native/" in r["video"]),
    (
        ["--subsets", "facecrop128", "--speakers", "1005,1017,1052"],
        lambda r: "/facecrop128/" in r["video"] and r["speaker"] in {"1005", "1017", "1052"},
    ),
    (
        ["--subsets", "facecrop128", "--exclude-speakers", "1005,1017,1052"],
        lambda r: "/facecrop128/" in r["video"] and r["speaker"] not in {"1005", "1017", "1052"},
    ),
    (
        ["--subsets", "facecrop128", "--speakers", "1005,1017,1052", "--exclude-speakers", "1017"],
        lambda r: "/facecrop128/" in r["video"] and r["speaker"] in {"1005", "1052"},
    ),
    (["--corpus", "ravdess", "--speakers", "03"], lambda r: r["speaker"] == "03"),
    (
        ["--corpus", "manifest", "--manifest", "{root}/manifest.csv", "--speakers", "1001,04"],
        lambda r: r["speaker"] in {"1001", "04"},
    ),
]


@pytest.mark.parametrize("command", ["train", "evaluate"])
@pytest.mark.parametrize(
    ("options", "keep"), FILTERS, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_corpus_filters_keep_exactly_their_clips(command, options, keep, data_root, manifest):
    options = [o.replace("{root}", str(data_root)) for o in options]
    argv = [command, *(["-o", "m.skops"] if command == "train" else ["m.skops"])]
    args = build_parser().parse_args([*argv, "--data-root", str(data_root), *options])
    root = data_root.resolve()
    clips = _load_corpus(args)
    got = sorted(str(Path(c.video or c.audio).resolve().relative_to(root)) for c in clips)
    assert got == _files([r for r in manifest if keep(r)])


@pytest.mark.parametrize(
    ("corpus", "message"),
    [
        ("cremad", "No CREMA-D layout (VideoFlash/ + AudioWAV/, or <subset>/video/ + "
         "<subset>/audio/) found in {root}."),
        ("ravdess", "No RAVDESS Actor_XX folder found in {root} or below it."),
        ("afew", "AFEW partition 'Val' not found: expected {root}/Val_AFEW."),
        ("manifest", "Manifest {root}/manifest.csv not found."),
    ],
)  # fmt: skip
def test_data_root_is_the_one_given(corpus, message, tmp_path):
    """--data-root is read, not the default root (which holds every corpus here)."""
    code, _, err = _run(["evaluate", "m.skops", "--corpus", corpus, "--data-root", tmp_path])
    assert code == 2 and err.strip() == "emoset: error: " + message.format(root=tmp_path)


def test_afew_partitions(tmp_path):
    """AFEW: evaluate reads Val and train reads Train unless --subsets names partitions."""
    for part, name in (("Train", "000001"), ("Val", "000002")):
        (tmp_path / f"{part}_AFEW" / "Happy").mkdir(parents=True)
        (tmp_path / f"{part}_AFEW" / "Happy" / f"{name}.avi").write_bytes(b"x")
    base = ["--corpus", "afew", "--data-root", str(tmp_path)]
    for argv, parts in [
        (["evaluate", "m.skops", *base], ["Val"]),
        (["train", "-o", "m.skops", *base], ["Train"]),
        (["evaluate", "m.skops", *base, "--subsets", "Train", "Val"], ["Train", "Val"]),
    ]:
        assert [c.subset for c in _load_corpus(build_parser().parse_args(argv))] == parts


def test_filters_that_leave_nothing_are_a_usage_error(data_root):
    argv = ["evaluate", "m.skops", "--data-root", str(data_root), "--speakers", "1005"]
    code, _, err = _run([*argv, "--exclude-speakers", "1005"])
    assert code == 2 and "no clips left in corpus 'cremad' after the filters" in err
    # --manifest alone is corpus 'manifest'; with another --corpus it is a contradiction
    argv = ["evaluate", "m.skops", "--manifest", data_root / "manifest.csv"]
    code, _, err = _run([*argv, "--speakers", "nobody"])
    assert (code, err) == (
        2,
        "emoset: error: no clips left in corpus 'manifest' after the filters.\n",
    )
    code, _, err = _run([*argv, "--corpus", "ravdess"])
    assert code == 2
    assert err == (
        "emoset: error: --manifest gives the clips, --corpus ravdess others: give one of them "
        "(or add 'manifest' to --corpus to use both).\n"
    )
    # with 'manifest' among the corpora, both are read
    code, _, err = _run([*argv, "--corpus", "ravdess", "manifest", "--speakers", "nobody"])
    assert (code, err) == (
        2,
        "emoset: error: no clips left in corpus 'ravdess' + 'manifest' after the filters.\n",
    )


# ---------------------------------------------------------------------- train
def _train_args(*options):
    return build_parser().parse_args(["train", "-o", "m.skops", *options])


def _video_estimators(model):
    return [p.steps[-1][1].estimator for cands in model.video.values() for p in cands]


#: (options, the recognizer the command fits, checked)
TRAIN = [
    ([], lambda m: set(m.video) == {"cnn-pls"} and m.audio is None),
    (["--video", "lbp,hog"], lambda m: set(m.video) == {"lbp-pls", "hog-pls"}),
    (["--video", "densesift,cnn"], lambda m: set(m.video) == {"densesift-pls", "cnn-pls"}),
    (["--video", ""], lambda m: m.video == {} and m.audio is None),
    (["--no-audio"], lambda m: m.audio == {} and set(m.video) == {"cnn-pls"}),
    (["--no-speech-sets"], lambda m: list(m.audio) == ["audio-svm"]),
    (["--normalize", "speaker"], lambda m: list(m.audio) == ["audio-svm"]),
    (["--fps", "7.5"], lambda m: m.fps == 7.5),
    (["--landmarks", "none"], lambda m: {e.n_landmarks for e in _video_estimators(m)} == {None}),
    (["--landmarks", "250"], lambda m: {e.n_landmarks for e in _video_estimators(m)} == {250}),
    (["--mirror"], lambda m: m.mirror is True),
    (["--allow-partial"], lambda m: m.allow_partial is True),
    (["--cache-dir", "/tmp/feats"], lambda m: m.cache_dir == "/tmp/feats"),
]


@pytest.mark.parametrize(
    ("options", "check"),
    TRAIN,
    ids=lambda v: " ".join(v) or "defaults" if isinstance(v, list) else "",
)
def test_train_options_reach_the_recognizer(options, check, data_root):
    clips = load_cremad(data_root, subsets=["facecrop128"])[:2]
    model = _recognizer(_train_args(*options), clips, None)
    assert check(model)
    default = _recognizer(_train_args(), clips, None)
    if options:  # the option changed the recognizer (pickles: equal objects, equal bytes)
        assert pickle.dumps(model.get_params(deep=False)) != pickle.dumps(
            default.get_params(deep=False)
        )
    else:
        assert pickle.dumps(model.get_params(deep=False)) == pickle.dumps(
            default.get_params(deep=False)
        )
    assert default.fps is None and default.mirror is False and default.allow_partial is False
    assert default.cache_dir is True and default.n_jobs is None


def test_train_on_audio_clips_only_drops_the_video_subsystems(data_root, caplog):
    from emoset.datasets import load_ravdess

    clips = load_ravdess(data_root)[:3]
    with caplog.at_level("INFO", logger="emoset"):
        model = _recognizer(_train_args(), clips, 3)
    assert model.video == {} and model.n_jobs == 3 and model.verbose == 1  # progress bars
    assert caplog.messages == ["No clip of this corpus has video: training audio subsystems only."]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "auto"), ("none", None), ("auto", "auto"), ("250", 250), ("1", 1)],
)
def test_train_landmarks_option(value, expected):
    argv = [] if value is None else ["--landmarks", value]
    assert _train_args(*argv).landmarks == expected


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_train_rejects_bad_landmarks(value, capsys):
    with pytest.raises(SystemExit, match="^2$"):
        main(["train", "-o", "m.skops", "--landmarks", value])
    assert (
        f"argument --landmarks: expected auto, none or a positive integer; got {value!r}"
        in capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["-o", "{tmp}"], "-o {tmp} is a folder; give the path of a file to write."),
        (
            ["-o", "{tmp}/m.skops"],
            "-o (its digest) {tmp}/m.skops.sha256 is a folder; give the path of a file to write.",
        ),
        (
            ["-o", "{tmp}/n.skops", "--cache-dir", "{tmp}/a-file"],
            "--cache-dir {tmp}/a-file is not a folder (it is a file).",
        ),
    ],
    ids=["-o a folder", "digest a folder", "--cache-dir a file"],
)
def test_train_checks_where_it_writes_before_it_trains(options, message, tmp_path):
    """Each refusal names the option at fault, before the corpus is read (the data root here
    holds none: reading it would be another error)."""
    (tmp_path / "m.skops.sha256").mkdir()
    (tmp_path / "a-file").write_text("")
    options = [o.replace("{tmp}", str(tmp_path)) for o in options]
    code, out, err = _run(["train", "--data-root", tmp_path / "no-corpus", *options])
    assert (code, out) == (2, "")
    assert err == f"emoset: error: {message.format(tmp=tmp_path)}\n"


#: Sixteen actors, two of them excluded: 20 clips, 3 of them of the excluded actors.
SPEAKERS = ["1003", "1005", "1008", "1009", "1010", "1011", "1013", "1015"]
SPEAKERS += ["1016", "1017", "1018", "1019", "1021", "1022", "1024", "1025"]
EXCLUDED = ["1005", "1009"]


def test_train_fits_on_exactly_the_filtered_clips(data_root, feature_cache, tmp_path):
    """--speakers and --exclude-speakers: the saved model is the one fitted here on the clips
    of the 14 actors left (an audio-only recognizer, --video ''), not on all 16."""
    path = tmp_path / "m.skops"
    argv = ["train", "--data-root", data_root, "--subsets", "facecrop128", "--video", ""]
    argv += ["--speakers", ",".join(SPEAKERS), "--exclude-speakers", ",".join(EXCLUDED)]
    code, out, err = _run([*argv, "--cache-dir", feature_cache, "-o", path])
    assert code == 0
    assert "INFO emoset: Training on 17 clips of cremad (14 speakers)." in err.splitlines()
    assert out.splitlines() == [
        f"saved {path} (classes: anger, disgust, fear, happy, neutral, sad; subsystems: "
        "audio-svm, audio-lld-svm)"
    ]
    # --no-speech-sets: the functionals SVM alone, and the card says how it was made
    alone = tmp_path / "alone.skops"
    code, out, err = _run([*argv, "--cache-dir", feature_cache, "--no-speech-sets", "-o", alone])
    assert code == 0 and out.strip().endswith("subsystems: audio-svm)"), out + err
    assert read_card(alone)["made_by"].endswith("--video '' --no-speech-sets")
    model = load_model(path, cache_dir=feature_cache)
    clips = load_cremad(data_root, subsets=["facecrop128"])
    kept = [c for c in clips if c.speaker in SPEAKERS and c.speaker not in EXCLUDED]
    left_out = [c for c in clips if c.speaker in EXCLUDED]
    assert (len(kept), len(left_out)) == (17, 3)
    assert len(model.oof_scores_["audio-svm"]) == len(kept)
    ours = AudioVisualEmotionRecognizer(video={}, cache_dir=feature_cache).fit(kept)
    np.testing.assert_allclose(model.decision_function(left_out), ours.decision_function(left_out))
    every = AudioVisualEmotionRecognizer(video={}, cache_dir=feature_cache).fit(kept + left_out)
    assert not np.allclose(every.decision_function(left_out), ours.decision_function(left_out))
    # for a model without video, what `emoset predict CLIP` makes ahead is its speech alone
    from emoset.app.predict_ahead import clip_work

    plan, _ = clip_work(left_out[0].video, model=str(alone))
    assert [part[0] for part in plan] == ["kind", "audio"]


# ---------------------------------------------------------------------- predict, evaluate
@pytest.fixture(scope="module")
def two_clips(cremad_split):
    return [c.video for c in cremad_split[1][:2]]


def test_predict_json_and_text(small_model_file, two_clips, feature_cache):
    base = ["predict", small_model_file, *two_clips, "--cache-dir", feature_cache]
    code, out, _ = _run([*base, "--json"])
    records = json.loads(out)
    assert code == 0 and [r["path"] for r in records] == [str(p) for p in two_clips]
    assert all("people" not in r for r in records)
    code, text, _ = _run(base)
    lines = [line for line in text.splitlines() if not line.startswith(" ")]
    assert code == 0 and len(lines) == len(records)
    for line, r in zip(lines, records, strict=True):  # path: label   (scores; from subsystems)
        assert line.startswith(f"{r['path']}: {r['label']}   ({r['label']} ")
        assert line.endswith(f"from {', '.join(r['subsystems'])})")


def test_predict_people_cache_dir_and_n_jobs(small_model_file, two_clips, feature_cache, tmp_path):
    base = ["predict", small_model_file, two_clips[0], "--json"]
    _, out, _ = _run([*base, "--cache-dir", feature_cache])
    (plain,) = json.loads(out)
    # --people: a list of people per clip, the one actor labelled from their face and voice
    _, out, _ = _run([*base, "--cache-dir", feature_cache, "--people"])
    (record,) = json.loads(out)
    assert {k: v for k, v in record.items() if k != "people"} == plain
    assert [p["person"] for p in record["people"]] == ["P1"] and record["people"][0]["label"]
    # --cache-dir: the features go to that folder (and the answer is the same)
    fresh = tmp_path / "cache"
    _, out, _ = _run([*base, "--cache-dir", fresh, "--n-jobs", "2"])
    assert any(fresh.rglob("*.npz"))
    (again,) = json.loads(out)
    assert again["label"] == plain["label"]
    np.testing.assert_allclose(list(again["scores"].values()), list(plain["scores"].values()))


def test_predict_allow_partial(small_model_file, two_clips, feature_cache, tmp_path):
    partial = truncate_file(two_clips[0], tmp_path / "partial.mp4", 0.6)
    base = ["predict", small_model_file, partial, "--json", "--cache-dir", feature_cache]
    code, out, _ = _run(base)
    (record,) = json.loads(out)
    assert code == 1 and record["label"] is None and "truncated" in record["error"]
    code, out, _ = _run([*base, "--allow-partial"])
    (record,) = json.loads(out)
    assert code == 0 and record["label"] is not None
    assert any("truncated" in w for w in record["warnings"])


def test_evaluate_filters_and_json(small_model_file, data_root, feature_cache):
    base = ["evaluate", small_model_file, "--data-root", data_root, "--subsets", "facecrop128"]
    base += ["--cache-dir", feature_cache, "--speakers", "1005,1017,1052"]
    code, out, _ = _run([*base, "--exclude-speakers", "1017", "--json"])
    metrics = json.loads(out)
    assert code == 0 and metrics["n"] == 6  # 2 clips of 1005, 4 of 1052
    code, out, _ = _run([*base, "--json"])
    assert json.loads(out)["n"] == 9  # and 3 of 1017
    code, text, _ = _run(base)
    assert text.startswith("9 clips: accuracy ")
    assert f"accuracy {json.loads(out)['accuracy']:.3f}" in text.splitlines()[0]


# ---------------------------------------------------------------------- timeline
@pytest.fixture(scope="module")
def clip(data_root):
    """A 3.2 s face-crop clip with its sound."""
    return data_root / "cremad" / "facecrop128" / "video" / "1061_MTI_FEA_XX.mp4"


@pytest.fixture(scope="module")
def model(small_model_file):
    return load_model(small_model_file)


def _timeline(small_model_file, clip, options, tmp_path):
    """The command's CSV as a table, with the cache folder it used."""
    cache, out = tmp_path / "cache", tmp_path / "t.csv"
    code, _, err = _run(
        ["timeline", small_model_file, clip, "--csv", out, "--cache-dir", cache, *options]
    )
    assert code == 0, err
    return pd.read_csv(out, keep_default_na=False, na_values=[""]), cache


@pytest.fixture(scope="module")
def default_timeline(small_model_file, clip, tmp_path_factory):
    return _timeline(small_model_file, clip, [], tmp_path_factory.mktemp("default"))[0]


def _same_rows(got, expected, classes):
    assert got["start"].tolist() == pytest.approx(expected["start"].tolist())
    assert got["end"].tolist() == pytest.approx(expected["end"].tolist())
    assert got["label"].tolist() == expected["label"].tolist()
    assert got["n_faces"].tolist() == expected["n_faces"].tolist()
    np.testing.assert_allclose(got[classes].to_numpy(float), expected[classes].to_numpy(float))


SCORES = ["anger", "disgust", "fear", "happy", "neutral", "sad"]

#: (options, the same settings for predict_timeline, how the rows differ from the defaults',
#: segments cached: one per segment of a run that ends normally; none when max_seconds ends
#: it, as a stopped run's rows are not stored)
TIMELINE = [
    (["--window", "1", "--hop", "0.25"], {"window": 1.0, "hop": 0.25},
     lambda t, d: len(t) > len(d) and t["start"].iloc[1] == 0.25 and t["end"].iloc[0] == 1, 1),
    (["--smooth", "3"], {"smooth": 3},
     lambda t, d: t["start"].equals(d["start"]) and not np.allclose(t[SCORES], d[SCORES]), 1),
    (["--max-seconds", "1.5"], {"max_seconds": 1.5},
     lambda t, d: len(t) < len(d) and t["end"].max() <= 1.5, 0),
    (["--fps", "5"], {"fps": 5.0}, lambda t, d: (t["n_faces"] < d["n_faces"]).all(), 1),
    # 3.2 s of windows every 0.5 s, two windows a segment
    (["--segment", "1"], {"segment": 1.0}, lambda t, d: t["start"].equals(d["start"]), 4),
    (["--people"], {"people": True}, lambda t, d: (t["person"] == "P1").all(), 1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("options", "params", "differs", "n_cached"),
    TIMELINE,
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_timeline_options(
    options, params, differs, n_cached, small_model_file, model, clip, default_timeline, tmp_path
):
    got, cache = _timeline(small_model_file, clip, options, tmp_path)
    expected = predict_timeline(model, clip, **{"window": 2.0, "hop": 0.5, **params})
    assert [str(c) for c in model.classes_] == SCORES
    _same_rows(got, expected, SCORES)
    assert differs(got, default_timeline)
    assert expected.attrs["n_segments"] == max(n_cached, 1)
    assert len(list((cache / "timeline").rglob("*.npz"))) == n_cached


def test_timeline_defaults(default_timeline, model, clip):
    _same_rows(default_timeline, predict_timeline(model, clip), [str(c) for c in model.classes_])
    assert default_timeline["start"].tolist() == [0.0, 0.5, 1.0, 1.5]  # 2 s windows every 0.5 s


def test_timeline_jsonl_and_live(small_model_file, clip, default_timeline, tmp_path):
    """--jsonl prints the rows; --live reads the file as a stream: the same rows, with latency."""
    base = ["timeline", small_model_file, clip, "--cache-dir", tmp_path]
    code, out, _ = _run([*base, "--jsonl"])
    rows = pd.DataFrame([json.loads(line) for line in out.splitlines()])
    assert code == 0 and rows["label"].tolist() == default_timeline["label"].tolist()
    code, out, _ = _run([*base, "--live"])
    live = pd.DataFrame([json.loads(line) for line in out.splitlines()])
    assert code == 0 and live["label"].tolist() == default_timeline["label"].tolist()
    assert "latency" in live and "latency" not in rows
