"""The reproduction pipeline and the grid search, end to end on the real CREMA-D clips."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

# each runs the whole job in a subprocess; with a cold feature cache on a busy 2-core machine
# that can take longer than the suite's 300 s default
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

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
    fused = ("densesift-pls", "cnn-pls", "audio-svm")  # the main fusion's subsystems
    assert main > max(metrics["subsystems"][n]["accuracy"] for n in fused)
    for fold in metrics["folds"]:  # candidates chosen on training clips, one per subsystem
        assert set(fold["selected"]) == {"densesift-pls", "cnn-pls", "audio-svm"}
    # multiple-kernel fusion and the landmarks SVM beside pick-one, on the same outer folds
    for name in ("mkl-video", "pick-one-video", "mkl-per-class", "mkl-kernel-mean"):
        m = metrics["fusion"][name]
        assert m["n"] == 86 and len(m["fold_accuracy"]) == 5 and m["se"] > 0, name
    assert metrics["subsystems"]["landmarks-svm"]["accuracy"] > chance
    for name, expected in reference.get("multiple_kernel", {}).items():
        assert metrics["fusion"][name]["accuracy"] == pytest.approx(expected, abs=1e-4), name


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
        "## Multiple-kernel fusion beside pick-one",
        "± SE (folds)",
        "mkl-kernel-mean",
        "## Data problems",
        "1076_MTI_NEU_XX",
    ):
        assert needle in report, needle
    for figure in ("confusion.png", "emotion_map.png"):
        assert (out / figure).read_bytes()[:4] == b"\x89PNG"


def test_second_run_reuses_cached_features(quick_run, data_root):
    from emoset.datasets.corpora import load_cremad
    from emoset.video.extract import extract_image_sets

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


#: AFEW's folder name of each CREMA-D label (CREMA-D has no surprise: that folder stays empty).
AFEW_FOLDERS = {
    "anger": "Angry",
    "disgust": "Disgust",
    "fear": "Fear",
    "happy": "Happy",
    "neutral": "Neutral",
    "sad": "Sad",
}


def _afew_clip(clip, path, fps=5):
    """Re-encode a CREMA-D face crop as AFEW ships its clips: MPEG-4 Part 2 in AVI, 720x576,
    the picture scaled to the frame height and letterboxed (black bars), PCM audio."""
    import cv2
    import numpy as np
    import soundfile as sf
    from _factories import write_video

    from emoset.io.media import read_frames

    frames = read_frames(clip.video, color="rgb", fps=fps)
    h, w = frames.shape[1:3]
    scale = min(576 / h, 720 / w)
    nh, nw = 2 * round(h * scale / 2), 2 * round(w * scale / 2)
    canvas = np.zeros((len(frames), 576, 720, 3), np.uint8)
    top, left = (576 - nh) // 2, (720 - nw) // 2
    for i, f in enumerate(frames):
        canvas[i, top : top + nh, left : left + nw] = cv2.resize(f, (nw, nh))
    audio, rate = sf.read(str(clip.audio), dtype="float32", always_2d=False)
    return write_video(
        path, canvas, fps=fps, codec="mpeg4", audio=audio, sample_rate=rate, audio_codec="pcm_s16le"
    )


def _afew_tree(data_root, root, n_train=2, n_val=1):
    """``Train_AFEW/<Emotion>/*.avi`` and ``Val_AFEW/<Emotion>/*.avi`` from the CREMA-D face
    crops, split by actor: no actor is in both."""
    from emoset.datasets.corpora import load_cremad

    clips = sorted(load_cremad(data_root, subsets=["facecrop128"]), key=lambda c: c.id)
    val_actors = {next(c.speaker for c in clips if c.label == e) for e in AFEW_FOLDERS}
    for part in ("Train", "Val"):
        for folder in [*AFEW_FOLDERS.values(), "Surprise"]:
            (root / f"{part}_AFEW" / folder).mkdir(parents=True)
    for label, folder in AFEW_FOLDERS.items():
        train = [c for c in clips if c.label == label and c.speaker not in val_actors]
        val = [c for c in clips if c.label == label and c.speaker in val_actors]
        for part, chosen in (("Train", train[:n_train]), ("Val", val[:n_val])):
            assert len(chosen) == (n_train if part == "Train" else n_val), (label, part)
            for c in chosen:
                _afew_clip(c, root / f"{part}_AFEW" / folder / f"{c.id}.avi")
    return val_actors


def test_afew_layout_end_to_end(data_root, tmp_path):
    """``AFEW_ROOT=... python -m pipelines.emotiw2016 --quick`` on an EmotiW-layout tree made
    from CREMA-D (MPEG-4 Part 2 AVI, 720x576, letterboxed, 5 fps, an empty Surprise folder):
    it trains on Train, reports on Val, and writes every output."""
    import os
    import subprocess
    import sys

    import av

    from emoset.datasets.corpora import load_afew

    root = tmp_path / "AFEW"
    val_actors = _afew_tree(data_root, root)
    clips = load_afew(root)
    assert len(clips) == 18 and not any(c.label == "surprise" for c in clips)
    train_actors = {c.id.split("/")[1].split("_")[0] for c in clips if c.subset == "Train"}
    assert not train_actors & {str(a) for a in val_actors}
    with av.open(str(clips[0].video)) as f:
        v = f.streams.video[0]
        assert (v.codec_context.name, v.width, v.height) == ("mpeg4", 720, 576)
        assert f.streams.audio
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, "-m", "pipelines.emotiw2016", "--quick", "--out", str(out),
         "--cache-dir", str(tmp_path / "cache"), "--n-jobs", "1"],
        capture_output=True,
        text=True,
        cwd=REFERENCE.parents[1],
        env={**os.environ, "AFEW_ROOT": str(root)},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["corpus"]["corpus"] == "AFEW" and metrics["corpus"]["n_clips"] == 18
    assert metrics["labels"] == sorted(AFEW_FOLDERS)  # Surprise: no clip, no class
    assert metrics["extraction"]["clips_without_face"] == 0
    for group in ("subsystems", "fusion"):
        for name, m in metrics[group].items():
            assert m["n"] == 6 and 0 <= m["accuracy"] <= 1, (group, name)
    report = (out / "report.md").read_text()
    assert "EmotiW 2016 reproduction — AFEW" in report and "Multiple-kernel" in report
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_cross_corpus_table_on_real_clips(data_root, feature_cache):
    """``pipelines.cross_corpus``: the peer recipe across corpora and on unseen speakers of both."""
    from emoset.datasets.corpora import load_cremad, load_ravdess
    from pipelines.cross_corpus import make_config, render, run_scenario

    once = [c for c in load_ravdess(data_root) if c.id[-8:-3] == "01-01"]  # one take
    ravdess = [c for c in once if int(c.speaker) <= 8]  # of 8 actors: 120 clips
    corpora = {"cremad": load_cremad(data_root), "ravdess": ravdess}
    peer = make_config("peer", str(feature_cache))
    results = {
        s: {"peer": run_scenario(s, peer, corpora)} for s in ("cremad-to-ravdess", "both-to-unseen")
    }
    across = results["cremad-to-ravdess"]["peer"]["ravdess"]
    assert across["n"] == 88 and across["n_classes"] == 6 and across["coverage"] == 1.0
    unseen = results["both-to-unseen"]["peer"]
    assert unseen["cremad"]["n"] == 86 and unseen["ravdess"]["n"] == 88
    subsets = unseen["cremad"]["by_subset"]  # the face crops and the full-frame clips
    assert {k: v["n"] for k, v in subsets.items()} == {"facecrop128": 80, "native": 6}
    right = sum(v["right"] for v in subsets.values())
    assert right == round(unseen["cremad"]["accuracy"] * 86)
    assert sum(v["labelled"] for v in subsets.values()) == 86  # the peer labels every clip
    for s in unseen.values():  # trained on the other speakers of both corpora
        assert s["accuracy"] > s["chance_majority"]
        assert s["risk_coverage"]["25"] >= s["accuracy"] - 0.05  # confident answers: no worse
    table = render(results)
    assert table.count("| peer |") == 3 and "| both-to-unseen | cremad (86, 6) | peer |" in table
    # shared band: the telephone-band test corpus limits a RAVDESS-trained model's band
    shared = make_config("fusion+speaker-norm+shared-band", str(feature_cache))
    shared.see(ravdess, ravdess)
    assert shared.bandwidth == 8000.0  # RAVDESS alone: 16 kHz audio, its full band
    shared.see(ravdess, corpora["cremad"])
    assert 3000 < shared.bandwidth < 4000  # CREMA-D's 8 kHz clips
    audio = shared._audio()
    assert all(p.get_params()["features__bandwidth"] == shared.bandwidth for p in audio.values())
    # the configurations' names say what they build
    choice = make_config("augment-choice", str(feature_cache))
    assert choice.augment == ("noise", "reverb", "speed") and choice.augment_choice
    assert not make_config("fusion+augment-room", str(feature_cache)).augment_choice
    tuned = make_config("augment-room+compare-C", str(feature_cache))._audio()["audio-svm"]
    assert [p.get_params()["svm__estimator__C"] for p in tuned] == [1.0, 10.0]
    # the speech image sets: a candidate, a subsystem of their own, or not at all
    assert list(make_config("default", str(feature_cache))._audio()) == ["audio-svm"]
    with_sets = make_config("default+lld-subsystem", str(feature_cache))._audio()
    assert list(with_sets) == ["audio-svm", "audio-lld-svm"]
    steps = [n for n, _ in with_sets["audio-lld-svm"][0].steps]
    assert steps == ["features", "embed", "scale", "svm"]
    candidates = make_config("default+lld", str(feature_cache))._audio()["audio-svm"]
    assert type(candidates[-1].steps[0][1]).__name__ == "OpenSmileDescriptorMoments"


def test_speech_image_sets_on_real_clips(data_root, tmp_path):
    """``pipelines.speech_sets``: frame descriptors as image sets, nested CV above chance."""
    from emoset.datasets.corpora import clip_labels, clip_speakers, load_ravdess
    from emoset.datasets.splits import load_split
    from pipelines._speech_frames import frame_descriptors
    from pipelines.speech_sets import _functionals_svm, evaluate, fuse_with_functionals

    clips = [c for c in load_ravdess(data_root) if c.id[-5:-3] == "01" and int(c.speaker) <= 6]
    sets = frame_descriptors(clips, tmp_path)
    assert all(s.ndim == 2 and s.shape[1] == 25 and len(s) > 50 for s in sets)  # 10 ms frames
    again = frame_descriptors(clips, tmp_path)  # read back from the cache
    assert all(np.array_equal(a, b) for a, b in zip(sets, again, strict=True))
    y, groups = clip_labels(clips), clip_speakers(clips)
    folds = [f for f in load_split("ravdess_5fold", clips) if len(f[1])][:2]
    searches = []
    pred, chosen = evaluate(sets, y, groups, folds, inner_splits=2, searches=searches)
    test = np.concatenate([te for _, te in folds])
    majority = max(np.mean(y[test] == c) for c in set(y[test]))
    assert np.mean(pred[test] == y[test]) > majority + 0.1
    assert len(chosen) == 2 and all(p["set_model"] in ("gaussian", "covariance") for p in chosen)
    # the score fusion with the eGeMAPS SVM: weights from inner folds, one per member and fold
    args = SimpleNamespace(cache_dir=str(tmp_path), n_jobs=1)
    svm = _functionals_svm("egemaps", clips, y, groups, folds, args)
    fused, weights = fuse_with_functionals(sets, searches, [svm], y, groups, folds, inner_splits=2)
    assert np.mean(fused[test] == y[test]) > majority + 0.1
    assert len(weights) == 2 and all(len(w) == 2 and sum(w) == pytest.approx(1) for w in weights)


def test_cross_corpus_speech_image_sets_on_real_clips(data_root, feature_cache):
    """The ``sets`` rows of ``pipelines.cross_corpus``: band, per-group standardisation, labels."""
    from emoset.datasets.corpora import load_cremad, load_ravdess
    from pipelines._speech_frames import frame_descriptors
    from pipelines.cross_corpus import SHARED, make_config

    once = [c for c in load_ravdess(data_root) if c.id[-8:-3] == "01-01" and c.label in SHARED]
    train = [c for c in once if int(c.speaker) <= 8]
    test = [c for c in once if 8 < int(c.speaker) <= 12 and c.intensity == "normal"]
    cremad = load_cremad(data_root)
    cache = str(feature_cache)
    model = make_config("sets", cache)
    model.see(train, test)
    assert model.band_rate is None  # RAVDESS alone: its whole 8 kHz band
    shared = make_config("sets+speaker-norm+shared-band", cache)
    shared.see(train, cremad[:12])
    assert shared.band_rate == 8000  # CREMA-D's telephone band limits both corpora
    narrow = frame_descriptors(train[:2], cache, band_rate=8000)
    wide = frame_descriptors(train[:2], cache)
    assert all(a.shape[1] == b.shape[1] == 25 for a, b in zip(narrow, wide, strict=True))
    assert not np.allclose(narrow[0].mean(axis=0), wide[0].mean(axis=0))  # another band
    labels, conf = model.fit(train).answers(test)
    y = np.array([c.label for c in test], dtype=object)
    assert len(labels) == len(test) and set(labels) <= set(SHARED) and np.all(conf <= 1)
    majority = max(np.mean(y == k) for k in set(y))
    assert np.mean(labels == y) > majority + 0.1  # unseen actors of the same corpus
    # per speaker: each test actor (6 clips) is below MIN_GROUP_CLIPS: the training statistics
    norm = make_config("sets+speaker-norm", cache)
    norm.fit(train)
    sets = frame_descriptors(test, cache)
    standard = norm._standardized(test)
    assert np.allclose(standard[0], (sets[0] - norm.mean_) / norm.scale_)
    # a speaker with enough clips is standardised with its own frames' statistics
    actor = [c for c in load_ravdess(data_root) if c.speaker == "09"][:12]
    own = np.vstack(norm._standardized(actor))
    assert np.allclose(own.mean(axis=0), 0, atol=1e-6) and np.allclose(
        own.std(axis=0), 1, atol=1e-3
    )


def test_speech_descriptor_cache_is_per_clip(data_root, tmp_path):
    """Descriptors computed for some clips are read back for a larger batch; only the rest is
    computed (the cache holds arrays only)."""
    from emoset.datasets.corpora import load_ravdess
    from pipelines._speech_frames import frame_descriptors

    clips = load_ravdess(data_root)[:4]
    first = frame_descriptors(clips[:2], tmp_path)
    both = frame_descriptors(clips[3:] + clips[:2], tmp_path)
    assert np.array_equal(both[1], first[0]) and np.array_equal(both[2], first[1])
    with np.load(tmp_path / "speech-lld" / "ravdess.npz", allow_pickle=False) as saved:
        assert sorted(saved["ids"]) == sorted(c.id for c in clips[:2] + clips[3:])


def test_cross_corpus_adaptation_rules_on_generated_scores():
    """The label-free rules of ``pipelines._cross_models`` do what their docstrings state."""
    from itertools import product

    from pipelines._cross_models import (
        balanced_labels,
        em_priors,
        fit_temperature,
        one_se_choice,
        pseudo_labels,
    )

    rng = np.random.default_rng(0)
    # balanced assignment: floor/ceil per class, and the best such assignment (brute force)
    log_p = np.log(rng.dirichlet(np.ones(3) * 0.5, size=7))
    log_p[:, 0] += 3.0  # a model piling onto class 0
    idx = balanced_labels(log_p)
    assert sorted(np.bincount(idx, minlength=3)) == [2, 2, 3]
    feasible = [
        a for a in product(range(3), repeat=7) if sorted(np.bincount(a, minlength=3)) == [2, 2, 3]
    ]
    best = max(log_p[np.arange(7), a].sum() for a in feasible)
    assert log_p[np.arange(7), idx].sum() == pytest.approx(best)
    assert np.bincount(log_p.argmax(axis=1), minlength=3)[0] > 3  # argmax alone piles up
    # EM (Saerens et al.): true posteriors under balanced source priors, a shifted test batch
    means = np.array([[-2.0], [0.0], [2.0]])
    y = rng.choice(3, size=3000, p=[0.6, 0.3, 0.1])
    x = means[y] + rng.normal(size=(3000, 1))
    post = np.exp(-0.5 * (x - means.T) ** 2)
    post /= post.sum(axis=1, keepdims=True)  # the posteriors under priors 1/3 each
    adjusted, priors = em_priors(post, np.full(3, 1 / 3))
    assert np.abs(priors - [0.6, 0.3, 0.1]).max() < 0.04
    assert np.allclose(adjusted.sum(axis=1), 1.0)
    assert np.mean(adjusted.argmax(1) == y) > np.mean(post.argmax(1) == y)
    # temperature: the NLL-optimal scale of scores made 3x too sharp
    assert fit_temperature(3 * np.log(post), y, np.arange(3)) == pytest.approx(3.0, rel=0.1)
    # self-training: at least the rule's posterior, at most ceil(n / 2K) per class
    proba = rng.dirichlet(np.ones(3) * 0.3, size=40)
    proba[5] = np.nan
    rows, labels = pseudo_labels(proba, np.array(["a", "b", "c"]), min_prob=0.5)
    assert 5 not in rows and len(rows) > 0
    assert (proba[rows].max(axis=1) >= 0.5).all()
    assert max(np.unique(labels, return_counts=True)[1]) <= 7  # ceil(40 / 6)
    assert list(labels) == list(np.array(["a", "b", "c"])[proba[rows].argmax(axis=1)])
    # the one-standard-error rule: the first candidate within one SE of the best
    assert one_se_choice([0.40, 0.46, 0.50, 0.49], n=100) == 1  # SE 0.05
    assert one_se_choice([0.40, 0.46, 0.50, 0.49], n=10000) == 2


def test_cross_corpus_adaptation_on_real_clips(data_root, feature_cache):
    """Self-training, balancing, EM and reverse validation on real clips: trained on CREMA-D
    (eGeMAPS, standardised per speaker), adapted to 44 unlabelled RAVDESS clips of 4 actors."""
    from emoset.datasets.corpora import load_cremad, load_ravdess
    from pipelines._cross_models import C_GRID, Recognizer, one_se_choice
    from pipelines.cross_corpus import SHARED, make_config

    cremad = load_cremad(data_root)
    ravdess = [
        c
        for c in load_ravdess(data_root)
        if c.label in SHARED and c.id[-8:-3] == "01-01" and int(c.speaker) <= 4
    ]
    assert len(ravdess) == 44  # 4 actors x (1 neutral + 5 x 2 intensities) x 1 take

    def adapted(name):
        model = make_config(name, str(feature_cache))
        model.fusion_features = ("egemaps",)  # small: eGeMAPS only
        # the small model's posteriors across corpora are all below the rule's 0.5: a lower
        # bound exercises the rule
        model.self_train_min_prob = 0.35
        model.see(cremad, ravdess)
        assert all(c.label == "?" for c in model.unlabelled)  # no test label goes in
        return model.fit(cremad)

    st = adapted("adapted+self-train")
    assert len(st.pseudo_labelled_) == 2  # two rounds
    for rows, labels, proba in st.pseudo_labelled_:
        top = np.nanmax(proba, axis=1)
        assert len(rows) > 0 and (top[rows] >= 0.35).all() and (top < 0.35).any()
        assert max(np.unique(labels, return_counts=True)[1]) <= 4  # ceil(44 / 12)
    rows, _, _ = st.pseudo_labelled_[-1]
    assert len(st.train_y_) == len(cremad) + len(rows)  # the source + the kept pseudo-labels
    labels, _ = st.answers(ravdess)
    Recognizer._fitted.clear()  # fitted anew, not the state kept for the other rules
    again = adapted("adapted+self-train")  # deterministic
    assert list(again.answers(ravdess)[0]) == list(labels)

    bal = adapted("adapted+balanced")
    labels, conf = bal.answers(ravdess)
    counts = np.unique(labels[labels != None], return_counts=True)[1]  # noqa: E711
    plain = bal.model_.predict(ravdess)
    assert max(counts) - min(counts) <= 1 and len(counts) == 6
    assert max(np.unique(plain[plain != None], return_counts=True)[1]) > max(counts)  # noqa: E711
    em = adapted("adapted+em")
    labels, conf = em.answers(ravdess)
    assert np.all(conf[labels != None] > 0)  # noqa: E711
    # the priors are EM's fixed point: the mean of the posteriors re-weighted by them
    assert np.allclose(em.test_posteriors_.mean(axis=0), em.test_priors_, atol=1e-6)
    assert np.abs(em.test_priors_ - em.source_priors_).max() > 0.02  # they moved

    rv = adapted("adapted+reverse-C")
    assert list(rv.reverse_scores_) == list(C_GRID)
    assert rv.C_ == min(
        c for c, s in rv.reverse_scores_.items() if s == max(rv.reverse_scores_.values())
    )
    assert rv.model_.subsystems_["audio-egemaps"].get_params()["svm__estimator__C"] == rv.C_
    se = adapted("adapted+1se-C")  # the inner speaker CV over the C grid, one-SE rule
    grid = Recognizer._fitted[se._fit_key(cremad, grid=True)]["model"]
    for name, accs in grid.candidate_scores_.items():
        assert se.C_[name] == C_GRID[one_se_choice(accs, len(cremad))]
        assert se.C_[name] <= C_GRID[grid.selected_[name]]  # toward stronger regularisation
        assert se.model_.subsystems_[name].get_params()["svm__estimator__C"] == se.C_[name]


def test_cross_corpus_corpus_norm_on_real_clips(data_root, feature_cache, monkeypatch):
    """The ``corpus-norm`` rows: each corpus one session, in training and in the test batch;
    the test batch's features standardised with its own statistics (per actor with
    ``speaker-norm``)."""
    from emoset.audio import extract
    from emoset.audio.normalize import normalization_groups
    from emoset.datasets.corpora import load_cremad, load_ravdess
    from pipelines._cross_models import Recognizer
    from pipelines.cross_corpus import SHARED, make_config

    seen = []  # the groups the features step standardises with, call by call

    def spy(clips, how="speaker", **kwargs):
        groups = normalization_groups(clips, how, **kwargs)
        seen.append(set(groups))
        return groups

    monkeypatch.setattr(extract, "normalization_groups", spy)
    Recognizer._fitted.clear()  # fitted here, not a state kept by another test

    cremad = load_cremad(data_root)
    ravdess = [
        c
        for c in load_ravdess(data_root)
        if c.label in SHARED and c.id[-8:-3] == "01-01" and int(c.speaker) <= 4
    ]
    assert len(ravdess) == 44

    def fitted(name):
        model = make_config(name, str(feature_cache))
        model.fusion_features = ("egemaps",)  # small: eGeMAPS only
        model.see(cremad, ravdess)
        return model.fit(cremad)

    by_corpus = fitted("fusion+corpus-norm")
    assert by_corpus.normalize == "session"
    assert seen and all(g == {"cremad:session:cremad"} for g in seen)  # the training clips
    del seen[:]
    labels, conf = by_corpus.answers(ravdess)
    assert seen and all(g == {"ravdess:session:ravdess"} for g in seen)  # the test batch
    groups = normalization_groups(by_corpus._grouped(cremad + ravdess), "session")
    assert sorted(set(groups)) == ["cremad:session:cremad", "ravdess:session:ravdess"]
    assert len(set(normalization_groups(cremad + ravdess, "session"))) > 2  # folders
    assert all(c.meta.get("session") is None for c in cremad)  # the clips are left as given

    def standardised(model, clips):
        pipe = model.model_.subsystems_["audio-egemaps"]
        return pipe.named_steps["features"].transform(model._grouped(clips))

    Z = standardised(by_corpus, ravdess)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-9)  # one group: the batch
    assert np.median(Z.std(axis=0)) == pytest.approx(1.0)
    actor = np.array([c.speaker for c in ravdess])
    assert np.abs(Z[actor == actor[0]].mean(axis=0)).max() > 0.3  # actors differ within it
    per_actor = standardised(fitted("fusion+speaker-norm"), ravdess)
    np.testing.assert_allclose(per_actor[actor == actor[0]].mean(axis=0), 0.0, atol=1e-9)

    assert (labels != None).sum() >= 40 and set(labels[labels != None]) <= set(SHARED)  # noqa: E711
    assert len(set(labels[labels != None])) >= 2  # noqa: E711
    with pytest.raises(ValueError, match="two ways to standardise"):
        make_config("fusion+corpus-norm+speaker-norm", None)


def test_cross_corpus_svm_grid_candidates_and_gamma():
    """The ``svm-grid`` rows: each default candidate with ``C`` x ``gamma``, the default's first
    (ties keep them); ``gamma`` a multiple of scikit-learn's ``"scale"``, the parameter kept."""
    from sklearn.svm import SVC

    from pipelines._cross_models import SVM_GRID_CS, SVM_GRID_GAMMAS, ScaledGammaSVC
    from pipelines.cross_corpus import make_config

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)) * 3.0, np.repeat([0, 1], 20)
    svc = ScaledGammaSVC(gamma=0.1).fit(X, y)
    reference = SVC(gamma="scale").fit(X, y)
    assert svc.gamma == 0.1 and svc._gamma == pytest.approx(0.1 * reference._gamma, rel=1e-12)
    explicit = SVC(gamma=0.1 * reference._gamma).fit(X, y)
    np.testing.assert_allclose(svc.decision_function(X), explicit.decision_function(X))

    with pytest.raises(ValueError, match="a multiple of 'scale'"):
        ScaledGammaSVC(gamma=-1.0).fit(X, y)
    assert ScaledGammaSVC().fit(X, y)._gamma == reference._gamma  # "scale": SVC's own

    default = make_config("default+lld-subsystem", None)._audio()
    grid = make_config("default+lld-subsystem+svm-grid", None)._audio()
    settings = [(c, g) for c in SVM_GRID_CS for g in SVM_GRID_GAMMAS]
    for name, cands in default.items():
        cands = cands if isinstance(cands, list) else [cands]
        assert len(grid[name]) == len(settings) * len(cands)
        for k, pipe in enumerate(grid[name]):
            (C, gamma), own = settings[k // len(cands)], cands[k % len(cands)]
            est = pipe.get_params()["svm__estimator"]
            assert est.C == C and type(est) is (SVC if gamma == 1.0 else ScaledGammaSVC)
            assert est.gamma == ("scale" if gamma == 1.0 else gamma)
            assert pipe.steps[0][1].get_params() == own.steps[0][1].get_params()
    with pytest.raises(ValueError, match="svm-grid chooses the SVMs' C itself"):
        make_config("default+lld-subsystem+svm-grid+cv-C", None)
