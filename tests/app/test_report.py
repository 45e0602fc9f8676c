"""Metrics, chance levels, human references and figures."""

import numpy as np
import pytest

from emoset.app.report import (
    chance_levels,
    classification_metrics,
    human_accuracy,
    markdown_table,
    plot_confusion_matrix,
    plot_emotion_map,
    risk_coverage,
)
from emoset.datasets.corpora import load_cremad


def test_metrics_by_hand():
    y = np.array(["a", "a", "a", "b", "c", "c"])
    p = np.array(["a", "b", "a", "b", "a", "c"])
    m = classification_metrics(y, p)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["recall"] == {"a": pytest.approx(2 / 3), "b": 1.0, "c": 0.5}
    assert m["uar"] == pytest.approx((2 / 3 + 1 + 0.5) / 3)
    assert m["confusion"] == [[2, 1, 0], [0, 1, 0], [1, 0, 1]]


def test_predictions_outside_labels_count_as_wrong():
    # a tied human vote ("tie") or a class the corpus lacks is an error for UAR too
    m = classification_metrics(["a", "a", "b", "b"], ["a", "tie", "b", "c"], labels=["a", "b"])
    assert m["accuracy"] == 0.5 and m["uar"] == 0.5
    assert m["recall"] == {"a": 0.5, "b": 0.5}
    assert m["labels"] == ["a", "b", "c", "tie"]
    assert m["confusion"][:2] == [[1, 0, 0, 1], [0, 1, 1, 0]]  # rows of the true classes


def test_absent_class_recall_is_nan_and_skipped_in_uar():
    m = classification_metrics(["a", "a"], ["a", "b"], labels=["a", "b"])
    assert np.isnan(m["recall"]["b"]) and m["uar"] == 0.5


def test_risk_coverage_by_hand():
    y = ["a", "b", "a", "b", "a"]
    pred = ["a", "a", None, "b", "b"]
    r = risk_coverage(y, pred, [0.9, 0.8, 5.0, 0.7, 0.1], coverages=(0.2, 0.4, 0.8, 1.0))
    assert r["coverage"] == 0.8 and r["accuracy"] == 0.4 and r["accuracy_labelled"] == 0.5
    # the abstention's confidence is ignored: order 0.9 (right), 0.8 (wrong), 0.7 (right), 0.1
    assert r["curve"] == {"20": 1.0, "40": 0.5, "80": 0.5, "100": r["curve"]["100"]}
    assert np.isnan(r["curve"]["100"])  # only 4 of 5 clips were labelled
    with pytest.raises(ValueError, match="one length"):
        risk_coverage(y, pred, [1.0])


def test_chance_levels():
    assert chance_levels(["a", "a", "a", "b"]) == {"majority": 0.75, "uniform": 0.5}


def test_human_accuracy_on_real_votes(data_root):
    clips = load_cremad(data_root, subsets=["facecrop128"])
    assert human_accuracy(clips, "voice")["accuracy"] == pytest.approx(0.375)
    assert human_accuracy(clips, "face")["accuracy"] == pytest.approx(0.5875)
    assert human_accuracy(clips, "av")["accuracy"] == pytest.approx(0.675)
    assert human_accuracy(clips, "av")["n"] == 80
    assert human_accuracy(clips, "av")["uar"] == pytest.approx(0.725, abs=1e-3)  # ties: wrong
    with pytest.raises(ValueError, match="modality must be one of"):
        human_accuracy(clips, "smell")


def test_human_accuracy_none_without_votes(data_root):
    clips = load_cremad(data_root, with_human_votes=False)
    assert human_accuracy(clips, "av") is None


def test_markdown_table():
    table = markdown_table(
        [{"a": "x", "b": 0.12345}, {"a": "y", "b": float("nan")}], headers={"b": "acc"}
    )
    assert table.splitlines() == ["| a | acc |", "|---|---|", "| x | 0.123 |", "| y | – |"]
    assert markdown_table([]) == ""


def test_figures_are_written(tmp_path):
    cm = [[3, 1], [0, 4]]
    path = plot_confusion_matrix(cm, ["anger", "sad"], tmp_path / "cm.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    rng = np.random.default_rng(0)
    path = plot_emotion_map(rng.normal(size=(20, 2)), ["a", "b"] * 10, tmp_path / "map.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=r"points must have shape \(n_clips, 2\)"):
        plot_emotion_map(np.zeros((4, 3)), ["a"] * 4, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_a_persons_lane_breaks_while_they_are_not_seen():
    """P1 is seen in 0-6 s and 10-16 s, P2 throughout (2-s windows, 1-s hop): P1's curves
    and label band leave 6-10 s empty; P2's are drawn through."""
    import pandas as pd
    from matplotlib.figure import Figure

    from emoset.app.report import _plot_lane

    def windows(starts, person):
        return pd.DataFrame(
            {"start": starts, "end": starts + 2.0, "person": person, "label": "happy"}
            | {"happy": 0.7, "sad": 0.3}
        )

    p1 = windows(np.r_[0.0:5.0, 10.0:15.0], "P1")
    p2 = windows(np.arange(15.0), "P2")
    colors = {"happy": "y", "sad": "b"}
    for rows, absent in ((p1, True), (p2, False)):
        ax, band = Figure().subplots(2, 1)
        _plot_lane(ax, band, rows, ["happy", "sad"], colors, rows["person"][0], 1.0)
        x = ax.lines[0].get_xdata()
        assert np.isnan(x).sum() == int(absent), rows["person"][0]
        assert len(band.patches) == len(rows)
        covered = [(p.get_x(), p.get_x() + p.get_width()) for p in band.patches]
        inside = [a < 8.0 < b for a, b in covered]
        assert any(inside) is not absent
    assert covered[0][0] == 0.0 and covered[-1][1] == 16.0
