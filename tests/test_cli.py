"""The emoset command: train on real clips, predict a clip it never saw, evaluate."""

import json

import pytest

from emoset.cli import build_parser, main
from emoset.datasets import load_cremad

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def speakers(data_root):
    clips = load_cremad(data_root, subsets=["facecrop128"])
    all_speakers = sorted({c.speaker for c in clips})
    held_out = all_speakers[::5]
    return clips, held_out


@pytest.fixture(scope="module")
def model_path(data_root, speakers, tmp_path_factory):
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
            str(out / "cache"),
            "-o",
            str(path),
        ]
    )
    assert code == 0
    return path


def test_train_writes_model_and_digest(model_path, capsys):
    assert model_path.is_file()
    assert (model_path.parent / "model.skops.sha256").read_text().split()[1] == "model.skops"


def test_predict_unseen_clip_json(model_path, speakers, capsys):
    clips, held_out = speakers
    unseen = [c for c in clips if c.speaker in held_out][:3]
    capsys.readouterr()
    assert main(["predict", str(model_path), *[str(c.video) for c in unseen], "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["clip"] for r in out] == [str(c.video) for c in unseen]
    for r in out:
        assert r["label"] in r["scores"]
        assert sum(r["scores"].values()) == pytest.approx(1.0, abs=1e-3)
        assert max(r["scores"], key=r["scores"].get) == r["label"]
        assert set(r["subsystems"]) == {"cnn-pls", "audio-svm"}


def test_predict_audio_file_uses_audio_only(model_path, speakers, capsys):
    clips, held_out = speakers
    unseen = [c for c in clips if c.speaker in held_out][0]
    capsys.readouterr()
    assert main(["predict", str(model_path), str(unseen.audio)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(str(unseen.audio) + ": ") and line.endswith("from audio-svm)")


def test_evaluate_on_held_out_speakers(model_path, speakers, data_root, capsys):
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
                "--json",
            ]
        )
        == 0
    )
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n"] == sum(1 for c in speakers[0] if c.speaker in held_out)
    assert 0 <= metrics["accuracy"] <= 1 and metrics["chance"]["uniform"] == pytest.approx(1 / 6)


def test_errors_are_clear(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "none.skops"), str(tmp_path / "x.mp4")]) == 2
    assert "Model file" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        build_parser().parse_args(["train"])  # -o is required
