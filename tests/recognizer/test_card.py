"""Model cards: what a model says of itself, the card beside it, and the text ``emoset info``
prints; on the session's small recognizer trained on real CREMA-D clips."""

import hashlib
import json
import shutil

import pytest

from emoset.recognizer.card import (
    CARD_FORMAT,
    CORPUS_TERMS,
    describe_model,
    format_card,
    training_data,
)
from emoset.recognizer.persistence import card_path, load_model, read_card, save_model
from emoset.sets.classifiers import ImageSetPLS


def test_describe_model_reads_the_fitted_recognizer(small_recognizer, cremad_split):
    d = describe_model(small_recognizer)
    assert d["type"] == "AudioVisualEmotionRecognizer"
    assert d["classes"] == [str(c) for c in small_recognizer.classes_]
    assert d["n_training_clips"] == len(cremad_split[0])
    by_name = {s["name"]: s for s in d["subsystems"]}
    assert list(by_name) == list(small_recognizer.subsystems_)
    video, audio = by_name["cnn-pls"], by_name["audio-svm"]
    assert video["modality"] == "video" and video["input"].startswith("cnn image sets")
    chosen = small_recognizer.selected_["cnn-pls"]
    set_model = ("mean", "covariance")[chosen]  # the two candidates of make_small_recognizer
    assert video["classifier"] == f"{set_model} set model, rbf kernel, PLS"
    assert (video["chosen"], video["candidates"]) == (chosen + 1, 2)
    assert video["inner_cv_accuracy"] == small_recognizer.candidate_scores_["cnn-pls"][chosen]
    assert video["augmented"] is False and audio["augmented"] is False  # no copies asked for
    assert audio["input"] == "openSMILE eGeMAPSv02 functionals"
    assert "scheme='per_class'" in d["fusion"] and "classes" not in d["fusion"]
    terms = " ".join(d["terms"])
    assert "openSMILE" in terms and "iBUG 300-W" in terms and "mini-Xception" in terms
    assert "librosa" not in terms  # this model does not run it
    assert d["inner_cv_grouped"] is True and small_recognizer.inner_cv_grouped_ is True
    assert "chosen by inner speaker-grouped CV" in format_card(d)
    # a model saved before the record: its card's speaker count says, else no claim
    del d["inner_cv_grouped"]
    card = {"training_data": {"speakers": d["inner_cv"] - 1}}
    assert "not speaker-grouped" in format_card(d, card)
    assert "chosen by inner CV (out-of-fold" in format_card(d)


def test_describe_any_other_estimator():
    d = describe_model(ImageSetPLS("gaussian", kernel="rbf"))
    assert d == {
        "type": "ImageSetPLS",
        "classes": None,
        "parameters": "ImageSetPLS(kernel='rbf', set_model='gaussian')",
    }


def test_training_data_counts_without_paths(cremad_split):
    train, _ = cremad_split
    demographics = {c.speaker: {"age": 20 + int(c.speaker) % 50, "sex": "Female"} for c in train}
    data = training_data(train, demographics=demographics)
    assert data["clips"] == len(train) == sum(data["classes"].values())
    assert data["speakers"] == len({c.speaker for c in train})
    (cremad,) = data["corpora"]
    assert cremad["name"] == "CREMA-D" and "ODbL" in cremad["licence"]
    assert cremad["layouts"] == {"facecrop128": len(train)}
    ages = [demographics[c.speaker]["age"] for c in train]
    assert data["ages"] == [min(ages), max(ages)] and data["sexes"] == {"Female": data["speakers"]}
    assert str(train[0].video.parent) not in json.dumps(data)
    # the same clips, in another order, give the same fingerprint; one clip fewer another
    assert training_data(train[::-1])["clip_list_sha256"] == data["clip_list_sha256"]
    assert training_data(train[1:])["clip_list_sha256"] != data["clip_list_sha256"]


def test_only_corpora_that_allow_it_ship_a_model():
    assert {k for k, t in CORPUS_TERMS.items() if t["ships"]} == {"cremad"}
    assert "NonCommercial" in CORPUS_TERMS["ravdess"]["licence"]


def test_card_saved_beside_the_model_and_checked(small_recognizer, cremad_split, tmp_path):
    card = {"format": CARD_FORMAT, "made_by": "a test", "training_data": training_data(
        cremad_split[0]), "evaluation": None}  # fmt: skip
    path = save_model(small_recognizer, tmp_path / "m.skops", card=card)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    saved = read_card(path)
    assert card_path(path).name == "m.skops.card.json"
    assert saved == {**card, "model_file": "m.skops", "model_sha256": digest}
    again = save_model(small_recognizer, tmp_path / "again.skops", card=card)
    assert card_path(again).read_bytes() == card_path(path).read_bytes().replace(
        b'"m.skops"', b'"again.skops"'
    )
    text = format_card(describe_model(load_model(path)), saved, path="m.skops", digest=digest)
    assert f"SHA-256: {digest}" in text
    assert f"Training data: {len(cremad_split[0])} clips" in text
    assert "Accuracy: not measured" in text and "Made by: a test" in text
    # a card copied beside another model file describes that other file: not shown as its own
    other = shutil.copy(path, tmp_path / "other.skops")
    shutil.copy(card_path(path), card_path(other))
    saved["model_sha256"] = "0" * 64
    text = format_card(describe_model(small_recognizer), saved, path="other.skops", digest=digest)
    assert "written for another file" in text and "Training data" not in text


def test_no_card_and_a_broken_card(small_model_file, tmp_path):
    path = shutil.copy(small_model_file, tmp_path / "m.skops")
    shutil.copy(f"{small_model_file}.sha256", f"{path}.sha256")
    assert read_card(path) is None
    text = format_card(describe_model(load_model(path)), None, path="m.skops")
    assert "No model card beside this file" in text
    card_path(path).write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"m\.skops\.card\.json: not a model card \(a JSON object"):
        read_card(path)
    card_path(path).write_text("{oops")
    with pytest.raises(ValueError, match=r"m\.skops\.card\.json: not a model card \(invalid JSON"):
        read_card(path)
