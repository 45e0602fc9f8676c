"""The emoset command: train on real clips, predict a clip it never saw, evaluate."""

import gc
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emoset.app.cli import build_parser, main
from emoset.datasets.corpora import load_cremad

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def speakers(data_root):
    clips = load_cremad(data_root, subsets=["facecrop128"])
    all_speakers = sorted({c.speaker for c in clips})
    held_out = all_speakers[::5]
    return clips, held_out


@pytest.fixture(scope="module")
def model_path(data_root, speakers, tmp_path_factory, feature_cache):
    _, held_out = speakers
    out = tmp_path_factory.mktemp("model")
    path = out / "model.skops"
    code = main(
        [
            "train",
            "--data-root",
            str(data_root),
            "--subsets",
            "facecrop128",
            "--exclude-speakers",
            ",".join(held_out),
            "--video",
            "cnn",
            "--cache-dir",
            str(feature_cache),
            "-o",
            str(path),
        ]
    )
    assert code == 0
    return path


def test_train_writes_model_and_digest(model_path, speakers):
    import hashlib

    from emoset.recognizer.persistence import load_model

    digest, name = (model_path.parent / "model.skops.sha256").read_text().split()
    assert name == "model.skops" and digest == hashlib.sha256(model_path.read_bytes()).hexdigest()
    model = load_model(model_path)
    assert list(model.classes_) == ["anger", "disgust", "fear", "happy", "neutral", "sad"]
    assert set(model.subsystems_) == {"cnn-pls", "audio-svm", "audio-lld-svm"}  # default audio


def test_train_writes_a_card_and_info_prints_it(model_path, speakers, capsys):
    from emoset.recognizer.persistence import read_card

    clips, held_out = speakers
    card = read_card(model_path)
    digest = (model_path.parent / "model.skops.sha256").read_text().split()[0]
    assert card["model_sha256"] == digest and card["model_file"] == "model.skops"
    assert card["made_by"] == (
        "emoset train --corpus cremad --subsets facecrop128 --exclude-speakers "
        f"{','.join(held_out)} --video cnn"
    )
    trained = [c for c in clips if c.speaker not in held_out]
    assert card["training_data"]["clips"] == len(trained)
    assert card["training_data"]["corpora"][0]["name"] == "CREMA-D"
    assert card["evaluation"] is None
    capsys.readouterr()
    assert main(["info", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert f"SHA-256: {digest}" in out
    assert "cnn-pls (video): cnn image sets" in out and "audio-svm (audio)" in out
    assert "audio-lld-svm (audio): openSMILE eGeMAPSv02 descriptors of 10 ms frames" in out
    assert f"Training data: {len(trained)} clips of {len({c.speaker for c in trained})} " in out
    assert "licence: Open Database License (ODbL) 1.0" in out
    assert "Accuracy: not measured" in out
    assert main(["info", str(model_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["sha256"] == digest and info["card"] == card
    names = [s["name"] for s in info["model"]["subsystems"]]
    assert names == ["cnn-pls", "audio-svm", "audio-lld-svm"]


def test_predict_unseen_clip_json(model_path, speakers, capsys, feature_cache):
    clips, held_out = speakers
    unseen = [c for c in clips if c.speaker in held_out][:3]
    capsys.readouterr()
    argv = ["predict", str(model_path), *[str(c.video) for c in unseen], "--json"]
    assert main([*argv, "--cache-dir", str(feature_cache)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in out] == [str(c.video) for c in unseen]
    assert [r["clip"] for r in out] == [c.video.stem for c in unseen]
    for r in out:
        assert r["label"] in r["scores"]
        assert sum(r["scores"].values()) == pytest.approx(1.0, abs=1e-3)
        assert max(r["scores"], key=r["scores"].get) == r["label"]
        assert set(r["subsystems"]) == {"cnn-pls", "audio-svm", "audio-lld-svm"}
        assert r["error"] is None and r["ood"] is False


def test_predict_audio_file_uses_audio_only(model_path, speakers, capsys, feature_cache):
    clips, held_out = speakers
    unseen = [c for c in clips if c.speaker in held_out][0]
    capsys.readouterr()
    argv = ["predict", str(model_path), str(unseen.audio), "--cache-dir", str(feature_cache)]
    assert main(argv) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith(str(unseen.audio) + ": ")
    assert line.endswith("from audio-svm, audio-lld-svm)")


def test_evaluate_says_when_it_is_given_the_training_clips(
    model_path, speakers, data_root, capsys, feature_cache
):
    """The card lists its training clips (corpus/id, no path): evaluating the model on some of
    them says so once, in the log, and the JSON counts them; held-out speakers count 0."""
    from emoset.recognizer.persistence import read_card

    clips, held_out = speakers
    listed = read_card(model_path)["training_data"]["clip_ids"]
    assert listed == sorted(f"cremad/{c.id}" for c in clips if c.speaker not in held_out)
    trained = sorted({c.speaker for c in clips} - set(held_out))[:1]
    base = ["evaluate", str(model_path), "--data-root", str(data_root), "--subsets"]
    base += ["facecrop128", "--cache-dir", str(feature_cache), "--json", "--speakers"]
    capsys.readouterr()
    assert main([*base, ",".join([*trained, held_out[0]])]) == 0
    out, err = capsys.readouterr()
    metrics = json.loads(out)
    n_seen = sum(c.speaker in trained for c in clips)
    assert metrics["seen_in_training"] == n_seen > 0
    said = [line for line in err.splitlines() if "in this model's training data" in line]
    assert said == [
        f"WARNING emoset: {n_seen} of {metrics['n']} clips were in this model's training data "
        + said[0].split("training data ", 1)[1]
    ]
    assert "accuracy on them says nothing about new speakers" in said[0]
    assert main([*base, held_out[0]]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["seen_in_training"] == 0 and "training data" not in err


def test_evaluate_on_held_out_speakers(model_path, speakers, data_root, capsys, feature_cache):
    _, held_out = speakers
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                str(model_path),
                "--data-root",
                str(data_root),
                "--subsets",
                "facecrop128",
                "--speakers",
                ",".join(held_out),
                "--cache-dir",
                str(feature_cache),
                "--json",
            ]
        )
        == 0
    )
    metrics = json.loads(capsys.readouterr().out)
    clips = [c for c in speakers[0] if c.speaker in held_out]
    assert metrics["n"] == len(clips)
    assert metrics["chance"]["uniform"] == pytest.approx(1 / 6)
    # the command reports exactly what the loaded model predicts on those clips
    import numpy as np

    from emoset.recognizer.persistence import load_model

    pred = load_model(model_path, cache_dir=feature_cache).predict(clips)
    expected = float(np.mean(pred == np.array([c.label for c in clips])))
    assert metrics["accuracy"] == pytest.approx(expected)
    assert metrics["unscored"] == {}


def test_errors_are_clear(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "none.skops"), str(tmp_path / "x.mp4")]) == 2
    assert "Model file" in capsys.readouterr().err
    bogus = tmp_path / "bogus.skops"
    bogus.write_text("not a model")
    assert main(["predict", str(bogus), str(bogus)]) == 2  # no digest beside it: refused
    assert "bogus.skops.sha256 beside it" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        build_parser().parse_args(["train"])  # -o is required


def test_main_leaves_logging_as_it_found_it(tmp_path):
    import logging

    root = logging.getLogger()
    before = (list(root.handlers), root.level, logging.getLogger("emoset").handlers[:])
    main(["predict", str(tmp_path / "none.skops"), str(tmp_path / "x.mp4")])
    after = (list(root.handlers), root.level, logging.getLogger("emoset").handlers[:])
    assert after == before


def test_train_mirror_option(data_root, speakers, feature_cache, tmp_path):
    from emoset.recognizer.persistence import load_model

    assert build_parser().parse_args(["train", "-o", "m.skops"]).mirror is False
    clips, _ = speakers
    keep = sorted({c.speaker for c in clips})[:8]
    path = tmp_path / "mirror.skops"
    argv = ["train", "--data-root", str(data_root), "--subsets", "facecrop128"]
    argv += ["--speakers", ",".join(keep), "--video", "lbp", "--no-audio", "--fps", "5"]
    argv += ["--cache-dir", str(feature_cache), "--mirror", "-o", str(path)]
    assert main(argv) == 0
    model = load_model(path)
    assert model.mirror is True and set(model.subsystems_) == {"lbp-pls"}


def test_help_and_version_import_no_estimator():
    """``emoset --help`` and ``--version`` parse arguments only: the estimators load with a command."""
    code = (
        "import sys\n"
        "from emoset.app.cli import main\n"
        "for argv in (['--version'], ['--help'], ['predict', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('numpy', 'sklearn', 'scipy', 'pandas', 'cv2', 'av', 'onnxruntime', 'dlib', 'opensmile')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"
    # and a command still finds what it needs
    import emoset

    assert "ImageSetPLS" in emoset.__all__ and emoset.ImageSetPLS.__name__ == "ImageSetPLS"


def test_benchmark_reports_the_commands_own_peak_memory():
    """The command benchmark's peak RSS is the command's own: Linux counts into a child's peak
    the memory of the process it was started from, so a large benchmark process must not show
    in the figure of a small command (``emoset --help``)."""
    from benchmarks._command import run_command

    ballast = np.ones(400 * 2**20 // 8)  # this process holds over 400 MB while it runs
    wall, peak_mb, _, stdout = run_command(["--help"])
    assert ballast.sum() > 0
    assert "usage: emoset" in stdout and wall > 0
    assert 5 < peak_mb < 200


def test_timings_split_the_run(small_model_file, data_root, tmp_path, capsys):
    """``--timings`` says where the time went; the benchmark reads the same line."""
    from benchmarks._command import parse_timings

    clip = str(next((data_root / "cremad" / "native" / "video").glob("1001_DFA_*_XX.mp4")))
    cache = str(tmp_path / "cache")
    model = str(small_model_file)
    argv = ["--timings", "timeline", model, clip, "--csv", str(tmp_path / "t.csv")]
    frozen = gc.get_freeze_count()
    assert main([*argv, "--cache-dir", cache]) == 0
    # only the command's own process exempts what it loaded from the garbage collector
    assert gc.get_freeze_count() == frozen
    stages = parse_timings(capsys.readouterr().err)
    for stage in ("imports", "model load", "decode", "detect/align", "audio (own thread)"):
        assert stage in stages
    assert "start-up" not in stages  # called from Python: no process start to measure from
    assert stages["frame features (own thread)"] > 0
    assert stages["total"] >= stages["model load"] + stages["decode"]
    assert main(["--timings", "predict", model, clip, "--cache-dir", cache]) == 0
    stages = parse_timings(capsys.readouterr().err)
    assert set(stages) == {"imports", "model load", "predict", "total"}


def test_predict_with_the_bundled_model(data_root, capsys, feature_cache):
    """No model given: the model shipped with emoset labels a real clip."""
    from emoset.recognizer import load_pretrained

    clip = data_root / "cremad" / "native" / "video" / "1001_DFA_ANG_XX.mp4"
    capsys.readouterr()
    assert main(["predict", str(clip), "--json", "--cache-dir", str(feature_cache)]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    bundled = load_pretrained(cache_dir=feature_cache)
    assert record["path"] == str(clip) and record["error"] is None
    assert record["label"] in [str(c) for c in bundled.classes_]
    assert record == bundled.predict_records([clip])[0].to_dict() | {"path": str(clip)}
    assert set(record["subsystems"]) <= set(bundled.subsystems_)
    assert "audio-svm" in record["subsystems"]


def test_the_model_as_an_option_or_first(model_path, speakers, capsys, feature_cache):
    clips, held_out = speakers
    clip = str(next(c for c in clips if c.speaker in held_out).audio)
    cache = ["--cache-dir", str(feature_cache), "--json"]
    outs = []
    for argv in (["predict", str(model_path), clip], ["predict", clip, "--model", str(model_path)]):
        capsys.readouterr()
        assert main([*argv, *cache]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0] == outs[1] and outs[0][0]["path"] == clip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["predict", "--model", "{m}", "{m}", "x.wav"], "two models: --model"),
        (["predict", "{m}"], "is a model; give the clips to label after it"),
        (["timeline", "{m}"], "is a model; give the source to label after it"),
        (["timeline", "a.mp4", "b.mp4"], "one source at a time; got 2: a.mp4, b.mp4"),
        (["timeline", "{m}", "a.mp4", "b.mp4"], "one source at a time; got 2"),
        (["predict", "x.wav", "--model", "{d}/none.skops"], "Model file .*none.skops not found"),
    ],
    ids=[
        "two-models",
        "predict-model-only",
        "timeline-model-only",
        "two-sources",
        "model-and-two-sources",
        "missing-model-option",
    ],  # fmt: skip
)
def test_model_arguments_that_cannot_be_read_one_way(model_path, tmp_path, capsys, argv, message):
    import re

    argv = [a.format(m=model_path, d=tmp_path) for a in argv]
    assert main(argv) == 2
    assert re.search(message, capsys.readouterr().err)


def test_option_choices_match_the_estimators():
    """The parser keeps its own copies of these choices (it imports no estimator)."""
    from emoset.app import cli
    from emoset.audio import AUGMENTATIONS, NORMALIZATIONS
    from emoset.datasets import CLASS_CHOICES

    assert cli.CLASS_CHOICES == CLASS_CHOICES
    assert cli.NORMALIZATIONS == NORMALIZATIONS and cli.AUGMENTATIONS == AUGMENTATIONS


def test_several_corpora_load_as_one(data_root):
    from emoset.app.commands import UsageError, _load_corpus

    def load(*argv):
        return _load_corpus(build_parser().parse_args(["train", "-o", "m.skops", *argv]))

    both = load("--data-root", str(data_root), "--corpus", "cremad", "ravdess")
    assert len(both) == 86 + 1200 and len({c.label for c in both}) == 8
    shared = load(
        "--data-root", str(data_root), "--corpus", "ravdess", "cremad", "--classes", "shared"
    )
    assert len(shared) == 880 + 86 and len({c.label for c in shared}) == 6
    one = load(
        "--data-root", str(data_root), "--corpus", "cremad", "ravdess", "--speakers", "ravdess:01"
    )
    assert len(one) == 60 and {c.corpus for c in one} == {"ravdess"}
    with pytest.raises(UsageError, match="more than once"):
        load("--data-root", str(data_root), "--corpus", "cremad", "cremad")
    with pytest.raises(UsageError, match="--manifest gives the clips"):
        load("--corpus", "cremad", "--manifest", str(data_root / "manifest.csv"))


def test_train_on_two_corpora_normalized_and_augmented(data_root, feature_cache, tmp_path):
    """emoset train --corpus cremad ravdess --classes shared --normalize speaker --augment gain"""
    from emoset.recognizer.persistence import load_model

    path = tmp_path / "both.skops"
    argv = ["train", "--data-root", str(data_root), "--corpus", "cremad", "ravdess"]
    argv += ["--classes", "shared", "--speakers", "1001,1052,ravdess:01"]
    argv += ["--normalize", "speaker", "--augment", "gain", "--augment-choice", "--video", ""]
    argv += ["--cache-dir", str(feature_cache), "-o", str(path)]
    assert main(argv) == 0
    model = load_model(path)
    assert list(model.classes_) == ["anger", "disgust", "fear", "happy", "neutral", "sad"]
    assert model.augment == ("gain",) and model.augment_choice is True
    tried = model.candidate_scores_["audio-svm"]  # each feature set without and with copies
    assert len(tried) == 6 and tried[model.selected_["audio-svm"]] == max(tried)
    assert model.augmented_["audio-svm"] == bool(model.selected_["audio-svm"] % 2)
    step = model.subsystems_["audio-svm"][0]
    assert step.normalize == "speaker" and step.bandwidth_ < 5000  # CREMA-D's band


def test_predict_aligns_ahead_no_sound_file():
    """The suffixes ``emoset predict`` starts no early alignment for (no faces in a sound
    file) are emoset's list of sound files' extensions, kept apart so that the parser
    imports neither NumPy nor PyAV."""
    from emoset.app.cli import _SOUND_SUFFIXES
    from emoset.io.media import AUDIO_EXTENSIONS

    assert _SOUND_SUFFIXES == AUDIO_EXTENSIONS
