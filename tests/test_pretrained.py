"""The model shipped with emoset: its files, its card, that it is the defaults' model, and that
``make pretrained`` (``python -m pipelines.pretrained``) rebuilds the same bytes."""

import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn import config_context
from sklearn.base import clone

from emoset.recognizer import (
    AudioVisualEmotionRecognizer,
    default_audio_subsystems,
    default_video_subsystems,
    load_pretrained,
    read_card,
)
from emoset.utils.resources import pretrained_model_path

REPO = Path(__file__).resolve().parents[1]
#: 6 CREMA-D actors of the face crops (17 clips, every emotion): a build small enough to repeat.
SPEAKERS = "1005,1016,1017,1052,1060,1077"


@pytest.fixture(scope="module")
def shipped():
    path = pretrained_model_path()
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make pretrained` (it ships in the wheel)")
    return path, load_pretrained(), read_card(path)


def test_the_bundled_model_and_its_digest(shipped):
    path, model, card = shipped
    data = path.read_bytes()
    assert len(data) < 20e6  # well inside a wheel
    digest = hashlib.sha256(data).hexdigest()
    assert Path(f"{path}.sha256").read_text().split() == [digest, path.name]
    assert isinstance(model, AudioVisualEmotionRecognizer)
    assert card["model_sha256"] == digest and card["model_file"] == path.name
    assert (path.parent / "cremad.LICENSE").is_file()


def test_the_card_says_what_it_was_trained_on_and_how_well_it_does(shipped):
    _, model, card = shipped
    data, ev = card["training_data"], card["evaluation"]
    assert [c["name"] for c in data["corpora"]] == ["CREMA-D"]  # the only corpus that may ship
    assert "ODbL" in data["corpora"][0]["licence"] and "ODbL 1.0" in card["licence"]
    assert {c["name"] for c in card["excluded_data"]} == {"RAVDESS", "AFEW"}
    assert sorted(data["classes"]) == [str(c) for c in model.classes_]
    assert ev["n"] == data["clips"] == len(next(iter(model.oof_scores_.values())))
    assert "speaker-independent" in ev["protocol"]
    assert ev["accuracy"] > ev["chance"]["majority"] + 0.1  # measured, not a default
    assert ev["uar"] > ev["chance"]["uniform"] + 0.1
    assert set(ev["human"]) == {"voice only", "face only", "audio-visual"}
    limits = " ".join(card["not_trained_on"])
    for topic in ("spontaneous", "languages", "children", "camera angles"):
        assert topic in limits
    assert card["made_by"] == "make pretrained" and "make pretrained" in card["rebuild"]
    text = json.dumps(card)
    assert str(REPO.parent) not in text  # no path of the build machine (its data, its checkout)


def test_the_readme_states_the_cards_numbers(shipped):
    """The quick start quotes the shipped model's size and card: a rebuild that changes them
    fails here until the README says the new numbers."""
    path, _, card = shipped
    ev = card["evaluation"]
    text = " ".join((REPO / "README.md").read_text().split("## Quick start", 1)[1].split())
    assert f"`emoset/models/cremad.skops` ({path.stat().st_size / 1e6:.1f} MB," in text
    assert f"**accuracy {ev['accuracy']:.1%}, UAR {ev['uar']:.1%}**".replace("%", " %") in text
    chance = f"majority class {ev['chance']['majority']:.1%}, uniform {ev['chance']['uniform']:.1%}"
    assert chance.replace("%", " %") in text
    for name, words in (("audio-visual", "audio-visual"), ("face only", "face only")):
        human = ev["human"][name]
        said = f"{human['accuracy']:.1%} / {human['uar']:.1%} {words}".replace("%", " %")
        assert said in text, said
    assert f"{card['training_data']['clips']} CREMA-D clips" in text


def _spec(pipeline):
    """Every step of a pipeline with all its parameters (fitted state left out)."""
    with config_context(print_changed_only=False):
        return [repr(clone(step)) for _, step in pipeline.steps]


def test_the_bundled_model_is_the_defaults_model(shipped):
    """Built from today's defaults: a change of a default subsystem, candidate, frame rate or
    feature makes this fail until ``make pretrained`` rebuilds the shipped model."""
    _, model, _ = shipped
    stale = "the shipped model was built with other defaults: run `make pretrained`"
    run_time = ("cache_dir", "n_jobs", "verbose")
    with config_context(print_changed_only=False):
        mine = {k: repr(v) for k, v in model.get_params(deep=False).items() if k not in run_time}
        default = AudioVisualEmotionRecognizer().get_params(deep=False)
        default = {k: repr(v) for k, v in default.items() if k not in run_time}
    assert mine == default, stale
    candidates = {**default_video_subsystems(), **default_audio_subsystems()}
    assert list(model.subsystems_) == list(candidates), stale
    for name, pipeline in model.subsystems_.items():
        options = [_spec(c) for c in candidates[name]]
        assert _spec(pipeline) in options, f"{name}: {stale}"
        assert len(model.candidate_scores_[name]) == len(options), f"{name}: {stale}"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_make_pretrained_rebuilds_the_same_bytes(data_root, feature_cache, tmp_path):
    """The build, twice on the same clips (six actors, three folds), in processes with
    different hash seeds: the same model, digest and card, byte for byte."""
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        argv = ["--data-root", data_root, "--out", out, "--cache-dir", feature_cache]
        argv += ["--speakers", SPEAKERS, "--folds", "3"]
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.pretrained", *map(str, argv)],
            cwd=REPO,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert done.returncode == 0, done.stderr[-3000:]
        outs.append(out)
    names = sorted(p.name for p in outs[0].iterdir())
    assert names == ["cremad.skops", "cremad.skops.card.json", "cremad.skops.sha256"]
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    card = read_card(outs[0] / "cremad.skops")
    assert card["training_data"]["clips"] == card["evaluation"]["n"] == 17
    assert card["made_by"] == f"python -m pipelines.pretrained --speakers {SPEAKERS} --folds 3"
    assert "speaker_kfold(3" in card["evaluation"]["protocol"]


def test_audio_beside_video_gives_the_records_of_one_after_the_other(
    shipped, data_root, tmp_path, monkeypatch
):
    """A predict call extracts the audio in a thread beside the video: the records, every
    float of the scores included, are those of the two extractions one after the other, on a
    full-frame clip (its own sound) and a face crop with its separate WAV, each from an empty
    feature cache."""
    import threading

    from emoset.audio.features import OpenSmileFeatures
    from emoset.datasets import load_cremad
    from emoset.recognizer import _extraction

    model = copy.copy(shipped[1])  # its own run-time settings
    native = data_root / "cremad" / "native" / "video" / "1001_DFA_ANG_XX.mp4"
    crop = next(c for c in load_cremad(data_root, subsets=["facecrop128"]) if c.audio)
    clips = [str(native), crop]
    where = []
    extract = OpenSmileFeatures.extract

    def spied(self, X):  # the real extraction, and the thread it ran in
        where.append(threading.current_thread().name)
        return extract(self, X)

    monkeypatch.setattr(OpenSmileFeatures, "extract", spied)

    def records(cache):
        model.set_params(cache_dir=str(cache), n_jobs=None, allow_partial=False)
        return [vars(r) for r in model.predict_records(clips)]

    beside = records(tmp_path / "beside")
    monkeypatch.setattr(_extraction, "AUDIO_BESIDE_VIDEO", False)
    in_turn = records(tmp_path / "in_turn")
    half = len(where) // 2  # each audio step (functionals, descriptor moments) once per call
    assert half == 2 and len(where) == 2 * half
    assert all(w.startswith("emoset-extract") for w in where[:half])
    assert all(w == threading.current_thread().name for w in where[half:])
    assert beside == in_turn
    for r in beside:  # both subsystems scored: every score of each is compared
        assert r["label"] is not None and sorted(r["subsystems"]) == sorted(model.subsystems_)
