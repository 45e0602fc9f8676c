"""The reproduction pipeline and the grid search, end to end on the real CREMA-D clips."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REFERENCE = Path(__file__).resolve().parents[1] / "pipelines" / "reference"


@pytest.fixture(scope="module")
def quick_run(data_root, tmp_path_factory, feature_cache):
    """``python -m pipelines.emotiw2016 --quick`` as a user runs it (its whole output kept)."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("emotiw2016")
    argv = ["--quick", "--data-root", str(data_root), "--out", str(out)]
    res = subprocess.run(
        [sys.executable, "-m", "pipelines.emotiw2016", *argv, "--cache-dir", str(feature_cache)],
        capture_output=True,
        text=True,
        cwd=REFERENCE.parents[1],
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return out, feature_cache, res.stdout + res.stderr


def test_quick_reproduction_matches_reference(quick_run):
    out, _, _ = quick_run
    metrics = json.loads((out / "metrics.json").read_text())
    reference = json.loads((REFERENCE / "emotiw2016_cremad_quick.json").read_text())
    assert metrics["corpus"]["n_clips"] == 86
    assert metrics["extraction"]["clips_without_face"] == 0
    chance = metrics["chance"]["majority"]
    for group in ("subsystems", "fusion"):
        for name, expected in reference[group].items():
            got = metrics[group][name]["accuracy"]
            # deterministic (fixed seeds, one BLAS thread): the same clips every run
            assert got == pytest.approx(expected, abs=1e-4), (group, name)
    main = metrics["fusion"][metrics["main_fusion"]]["accuracy"]
    assert main > chance + 0.1
    assert main > max(m["accuracy"] for m in metrics["subsystems"].values())
    for fold in metrics["folds"]:  # candidates chosen on training clips, one per subsystem
        assert set(fold["selected"]) == {"densesift-pls", "cnn-pls", "audio-svm"}


def test_output_is_plain(quick_run):
    """Data problems are summarised once in the log and the report, not warned per fold."""
    _, _, output = quick_run
    warning_lines = [line for line in output.splitlines() if "warn" in line.lower()]
    assert len(warning_lines) <= 3, warning_lines
    assert "Traceback" not in output


def test_report_has_every_table_and_both_figures(quick_run):
    out, _, _ = quick_run
    report = (out / "report.md").read_text()
    for needle in (
        "## Subsystems and fusion",
        "human raters (majority vote), audio-visual",
        "chance (majority class)",
        "## Per-class recall",
        "PLS",
        "Ding et al. 2016",
        "53.9",
        "50.4",
        "40.5",
        "fusion per-class-3 (main)",
        "fusion global-2",
        "## Data problems",
        "1076_MTI_NEU_XX",
    ):
        assert needle in report, needle
    for figure in ("confusion.png", "emotion_map.png"):
        assert (out / figure).read_bytes()[:4] == b"\x89PNG"


def test_second_run_reuses_cached_features(quick_run, data_root):
    from emoset.datasets import load_cremad
    from emoset.extract import extract_image_sets

    _, cache, _ = quick_run
    _, info = extract_image_sets(load_cremad(data_root), ["densesift", "cnn"], cache_dir=cache)
    assert info["cached"].all() and (info["seconds_cnn"] == 0).all()


def test_grid_search_video_and_audio(data_root, tmp_path, capsys, feature_cache):
    from pipelines.grid_search import main

    csv = tmp_path / "video.csv"
    assert (
        main(
            [
                "video",
                "--feature",
                "lbp",
                "--data-root",
                str(data_root),
                "--param",
                "set_model=mean,covariance",
                "--param",
                "kernel=rbf",
                "--param",
                "n_components=5",
                "--cache-dir",
                str(feature_cache),
                "--out",
                str(csv),
            ]
        )
        == 0
    )
    import pandas as pd

    table = pd.read_csv(csv)
    assert len(table) == 2 and set(table["param_set_model"]) == {"mean", "covariance"}
    assert table["mean_test_score"].between(0, 1).all()
    csv = tmp_path / "audio.csv"
    assert (
        main(
            [
                "audio",
                "--feature",
                "egemaps",
                "--data-root",
                str(data_root),
                "--param",
                "C=1,10",
                "--param",
                "gamma=scale",
                "--cache-dir",
                str(feature_cache),
                "--out",
                str(csv),
            ]
        )
        == 0
    )
    assert len(pd.read_csv(csv)) == 2
    assert main(["audio", "--feature", "mfcc"]) == 2
    assert "Audio feature must be one of" in capsys.readouterr().err
