"""The whole recognizer on real CREMA-D clips: nested selection, abstention with reasons,
out-of-distribution flags, persistence without paths or pickles, determinism."""

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import make_small_recognizer

from emoset.datasets.corpora import Clip
from emoset.decision.fusion import WeightedScoreFusion
from emoset.recognizer.card import describe_model, format_card
from emoset.recognizer.persistence import load_model, save_model
from emoset.recognizer.subsystems import make_audio_pipeline
from emoset.recognizer.system import AudioVisualEmotionRecognizer
from emoset.sets.classifiers import ImageSetPLS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def test_fit_selects_on_training_clips_only(small_recognizer, cremad_split):
    train, test = cremad_split
    fitted = small_recognizer
    assert not {c.speaker for c in train} & {c.speaker for c in test}
    assert set(fitted.subsystems_) == {"cnn-pls", "audio-svm"}
    assert fitted.modalities_ == {"cnn-pls": "video", "audio-svm": "audio"}
    assert len(fitted.candidate_scores_["cnn-pls"]) == 2
    assert fitted.oof_scores_["cnn-pls"].shape == (len(train), 6)
    best = fitted.selected_["cnn-pls"]
    assert fitted.candidate_scores_["cnn-pls"][best] == max(fitted.candidate_scores_["cnn-pls"])
    assert list(fitted.classes_) == ["anger", "disgust", "fear", "happy", "neutral", "sad"]
    # every subsystem is a Pipeline clips -> features -> classifier; no cache folder kept
    for pipe in fitted.subsystems_.values():
        assert pipe.steps[0][0] == "features" and pipe.steps[0][1].cache_dir is None


def test_estimator_contract(small_recognizer, cremad_split, feature_cache):
    """clone round trip, params unchanged by fit, not-fitted error, pickle round trip."""
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    fitted = small_recognizer
    params = make_small_recognizer(feature_cache).get_params(deep=False)
    assert clone(fitted).get_params(deep=False).keys() == params.keys()
    # fit wrote no parameter, not even inside the pipelines it was given
    assert pickle.dumps(fitted.get_params(deep=False)) == pickle.dumps(params)
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        clone(fitted).predict(cremad_split[1])
    again = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(again.predict(cremad_split[1]), fitted.predict(cremad_split[1]))


def test_predicts_unseen_speakers_above_the_majority_class(small_recognizer, cremad_split):
    """Better than saying the test split's own most frequent class for every clip (disgust,
    7 of 23: 0.30), which no trivial model can beat; measured 16 of 23 (0.70)."""
    from collections import Counter

    _, test = cremad_split
    y = np.array([c.label for c in test])
    pred = small_recognizer.predict(test)
    assert set(pred) <= set(small_recognizer.classes_)
    majority = max(Counter(y.tolist()).values()) / len(y)
    assert len(y) == 23 and majority == pytest.approx(7 / 23)
    assert np.mean(pred == y) > majority
    assert small_recognizer.score(test, y) == pytest.approx(np.mean(pred == y))
    proba = small_recognizer.predict_proba(test)
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_records_say_what_each_clip_got(small_recognizer, cremad_split):
    _, test = cremad_split
    records = small_recognizer.predict_records(test)
    for rec, clip in zip(records, test, strict=True):
        d = rec.to_dict()
        assert d["clip"] == clip.id and d["path"] == str(clip.video)
        assert d["label"] == max(d["scores"], key=d["scores"].get) and d["error"] is None
        assert d["subsystems"] and set(d["subsystems"]) | set(d["reasons"]) == {
            "cnn-pls",
            "audio-svm",
        }
        assert d["ood"] == any(v > 1 for v in d["distances"].values())
        json.dumps(d)
    # most unseen actors' clips are near the training data in both subsystems
    both = [r for r in records if len(r.subsystems) == 2]
    assert len(both) >= 0.8 * len(records)


def test_one_face_is_scored_by_the_mean_model(small_recognizer, cremad_split, tmp_path):
    """The small model's CNN subsystem keeps the mean: one face is enough to summarise (the
    set models that need more abstain: tests/sets/test_informative_frames.py)."""
    from _factories import write_video

    from emoset.io.media import read_frames

    clip = cremad_split[1][0]
    one = write_video(tmp_path / "one_frame.mp4", read_frames(clip.video, max_frames=1))
    short = Clip("one", one, clip.audio, clip.label, clip.speaker, "cremad")
    records = small_recognizer.predict_records([short, clip])
    chosen = small_recognizer.subsystems_["cnn-pls"].steps[-1][1]
    assert chosen.estimator.set_model == "mean" and chosen.min_frames_ == 1
    assert records[0].subsystems == ["cnn-pls", "audio-svm"] and records[0].label is not None
    assert records[1].subsystems == ["cnn-pls", "audio-svm"]


def test_unscorable_clip_gets_no_label(small_recognizer, tmp_path):
    """Nothing to score: no label and the reasons, never the prior class."""
    from _factories import write_video

    frames = np.zeros((1, 96, 96, 3), np.uint8)
    one_frame_no_audio = write_video(tmp_path / "still.mp4", frames)
    with pytest.warns(UserWarning, match="1 of 1 clip\\(s\\) could not be scored"):
        assert small_recognizer.predict([one_frame_no_audio]).tolist() == [None]
    (rec,) = small_recognizer.predict_records([one_frame_no_audio])
    assert rec.label is None and set(rec.scores.values()) == {None}
    assert "still.mp4" in rec.reasons["audio-svm"] and "no audio" in rec.reasons["audio-svm"]
    assert "no face found in 1 frame(s)" in rec.reasons["cnn-pls"]
    assert rec.error.startswith("no subsystem could score this clip")
    assert np.isnan(small_recognizer.decision_function([one_frame_no_audio])).all()


def test_video_abstains_without_face_and_audio_decides(small_recognizer, cremad_split):
    clip = cremad_split[1][0]
    no_video = Clip(clip.id, None, clip.audio, clip.label, clip.speaker, "cremad")
    scores = small_recognizer.subsystem_scores([no_video])
    assert np.isnan(scores["cnn-pls"]).all() and not np.isnan(scores["audio-svm"]).any()
    expected = small_recognizer.classes_[np.argmax(scores["audio-svm"][0])]
    assert small_recognizer.predict([no_video])[0] == expected


def test_speech_far_from_training_is_flagged_not_answered(small_recognizer, data_root, tmp_path):
    """White noise and a pure tone abstain (ood); wideband speech gets distinct scores."""
    import soundfile as sf

    from emoset.datasets.corpora import load_cremad
    from emoset.io.media import load_audio, resample

    rng = np.random.default_rng(0)
    noise = tmp_path / "noise.wav"
    sf.write(noise, (0.3 * rng.standard_normal(16000 * 60)).astype(np.float32), 16000)
    native = [c.audio for c in load_cremad(data_root, subsets=["native"])]  # 16 kHz speech
    fast = []
    for rate in (44100, 48000):
        path = tmp_path / f"native0_{rate}.wav"
        sf.write(path, resample(load_audio(native[0], sr=None), 16000, rate), rate)
        fast.append(path)
    records = small_recognizer.predict_records([noise, *native, *fast])
    assert records[0].label is None and records[0].ood
    assert "far from the training data" in records[0].reasons["audio-svm"]
    scores = small_recognizer.subsystem_scores(native + fast)["audio-svm"]
    scored = scores[~np.isnan(scores).any(axis=1)]
    assert len(scored) >= 4  # the CREMA-D speech is near the training data ...
    assert len({tuple(np.round(s, 6)) for s in scored}) == len(scored)  # ... and not a constant
    np.testing.assert_allclose(scores[len(native)], scores[0], atol=0.05)  # 44.1 kHz ~ 16 kHz


def test_save_load_roundtrip_has_no_paths(
    small_recognizer, small_model_file, cremad_split, feature_cache
):
    _, test = cremad_split
    data = small_model_file.read_bytes()
    trainer_cache = str(small_recognizer.cache_dir).encode()
    assert trainer_cache not in data  # the trainer's folders stay on the trainer's machine
    assert load_model(small_model_file).cache_dir is None
    # the caller's cache, as a user on another machine would pass theirs. Cache keys hold every
    # parameter of a feature step, so a step restored with other parameters would miss it and
    # compute its own features; the shared cache only spares recomputing identical ones
    again = load_model(small_model_file, cache_dir=feature_cache)
    assert again.cache_dir == feature_cache
    assert np.array_equal(again.predict(test), small_recognizer.predict(test))


def _flip(path, index):
    data = bytearray(path.read_bytes())
    data[index] ^= 0xFF
    path.write_bytes(bytes(data))


def test_digest_file_formats_and_damage(small_model_file, tmp_path):
    import hashlib
    import shutil

    path = Path(shutil.copy(small_model_file, tmp_path / "m.skops"))
    sidecar = tmp_path / "m.skops.sha256"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for text in (f"{digest}  m.skops\n", f"{digest.upper()}\n", f"{digest} *m.skops"):
        sidecar.write_text(text)
        load_model(path)
    sidecar.write_text("")
    with pytest.raises(ValueError, match=r"m\.skops: its digest file m\.skops\.sha256 is empty"):
        load_model(path)
    sidecar.write_text("not-a-digest  m.skops\n")
    with pytest.raises(ValueError, match=r"does not start with a SHA-256 digest"):
        load_model(path)
    _flip(path, len(path.read_bytes()) // 2)
    sidecar.write_text(hashlib.sha256(path.read_bytes()).hexdigest() + "\n")  # a matching digest
    with pytest.raises(ValueError, match=r"m\.skops: not a valid emoset model file"):
        load_model(path)
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    sidecar.write_text(hashlib.sha256(path.read_bytes()).hexdigest() + "\n")
    with pytest.raises(ValueError, match=r"m\.skops: not a valid emoset model file"):
        load_model(path)
    sidecar.write_text("0" * 64 + "\n")
    with pytest.raises(ValueError, match=r"does not match the recorded"):
        load_model(path)


def _hand_made_model_file(model, path):
    """A skops file written without save_model's clean-up, with a matching digest."""
    import hashlib

    import skops.io as sio

    data = sio.dumps(model)
    path.write_bytes(data)
    Path(str(path) + ".sha256").write_text(hashlib.sha256(data).hexdigest() + "\n")
    return path


class _Payload:
    """Unpickling this creates a marker file: proof that a pickle ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_nothing_read_from_a_model_or_cache_runs(small_recognizer, cremad_split, tmp_path):
    """A model naming a folder of crafted pickles, and a cache of pickles: nothing runs."""
    _, test = cremad_split
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil_cache"
    for sub in ("image_sets/ab", "audio-opensmile/cd"):
        (evil / sub).mkdir(parents=True)
        (evil / sub / "payload.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    crafted = pickle.loads(pickle.dumps(small_recognizer)).set_params(cache_dir=str(evil))
    for pipe in crafted.subsystems_.values():
        pipe.steps[0][1].cache_dir = str(evil)  # nested, as a hand-made file can hold
    path = _hand_made_model_file(crafted, tmp_path / "crafted.skops")
    assert str(evil).encode() in path.read_bytes()
    mine = tmp_path / "my_cache"
    model = load_model(path, cache_dir=mine)
    clean = model.predict(test[:2])
    assert not marker.exists() and not any(evil.rglob("*.npz"))  # the model's folder unused
    files = [f for f in mine.rglob("*") if f.is_file()]
    assert files and all(f.suffix == ".npz" for f in files)  # only the caller's cache written
    for f in files:  # now poison the caller's own cache
        f.write_bytes(pickle.dumps(_Payload(marker)))
    assert np.array_equal(model.predict(test[:2]), clean)  # recomputed, same answers
    assert not marker.exists()


def test_fit_is_identical_across_processes_and_hash_seeds(cremad_split, feature_cache, tmp_path):
    """Same data and seed, same scores and the same saved bytes: two fits in processes with
    different PYTHONHASHSEED."""
    script = textwrap.dedent(
        f"""
        import hashlib, json, sys
        sys.path.insert(0, {str(REPO / "tests")!r})
        import numpy as np
        from conftest import make_small_recognizer
        from emoset.datasets.corpora import load_cremad
        from emoset.recognizer.persistence import save_model
        from emoset.recognizer.subsystems import default_video_subsystems
        clips = load_cremad({str(cremad_split[0][0].video.parents[3])!r}, subsets=["facecrop128"])
        speakers = sorted({{c.speaker for c in clips}})
        train = [c for c in clips if c.speaker not in speakers[::4]][:40]
        test = [c for c in clips if c.speaker in speakers[::4]][:10]
        model = make_small_recognizer({str(feature_cache)!r})
        # two DenseSIFT candidates: a randomized PCA of 2,048-d frames, a choice between them
        video = default_video_subsystems(["densesift"])["densesift-pls"][:2]
        model.set_params(video={{"densesift-pls": video}})
        model.fit(train)
        saved = save_model(model, sys.argv[1]).read_bytes()
        print(hashlib.sha256(saved).hexdigest())
        print(json.dumps(model.decision_function(test).tolist()))
        """
    )
    runs = [  # side by side: each under the other's load
        subprocess.Popen(
            [sys.executable, "-c", script, tmp_path / f"{seed}.skops"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=REPO,
        )
        for seed in ("1", "4242")
    ]
    outs = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr[-2000:]
        outs.append(stdout.strip().splitlines()[-2:])
    assert outs[0][1] == outs[1][1]  # bit-identical (compared as text)
    assert outs[0][0] == outs[1][0]  # the same model file, byte for byte
    assert (tmp_path / "1.skops").read_bytes() == (tmp_path / "4242.skops").read_bytes()


def test_a_model_saves_to_the_same_bytes(small_recognizer, small_model_file, tmp_path):
    """No address, random name or save time in the file: a copy saves to the same bytes."""
    import copy
    import zipfile

    again = save_model(copy.deepcopy(small_recognizer), tmp_path / "copy.skops")
    assert again.read_bytes() == small_model_file.read_bytes()
    with zipfile.ZipFile(again) as z:
        infos = z.infolist()
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    stems = {Path(i.filename).stem for i in infos if i.filename != "schema.json"}
    assert stems == {str(k) for k in range(1, len(infos))}  # 1, 2, ...: no address, no UUID
    assert np.array_equal(load_model(again).classes_, small_recognizer.classes_)


class Untrusted:
    """A type from outside emoset and its libraries."""


def _saved_as_before(model, folder):
    """``folder/old.skops``: ``model`` dumped as is, with its digest beside it."""
    import hashlib

    import skops.io as sio

    path = folder / "old.skops"
    sio.dump(model, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "old.skops.sha256").write_text(f"{digest}  old.skops\n")
    return path


def test_a_model_from_another_version_is_refused_by_name(tmp_path):
    """A saved estimator without a parameter this emoset has: a clean error, not a traceback."""
    from emoset.sets.classifiers import ImageSetPLS

    rng = np.random.default_rng(0)
    sets = [rng.normal(size=(6, 4)) for _ in range(8)]
    old = ImageSetPLS("mean", n_components=2).fit(sets, [0, 1] * 4)
    del old.n_landmarks  # as saved by an emoset from before the parameter existed
    path = _saved_as_before(old, tmp_path)
    with pytest.raises(
        ValueError,
        match=r"old\.skops: saved by another emoset version: its "
        r"ImageSetPLS has no parameter\(s\) \['n_landmarks'\]",
    ):
        load_model(path)


def test_a_model_saved_before_augment_choice_loads_as_it_was(tmp_path):
    """``augment_choice`` came after models were saved: one without it loads with ``False``,
    what it did (any other missing parameter still refuses the model, above)."""
    from emoset.recognizer.system import AudioVisualEmotionRecognizer

    old = AudioVisualEmotionRecognizer(video={}, augment=("noise",))
    del old.augment_choice  # as saved by an emoset from before the parameter existed
    path = _saved_as_before(old, tmp_path)
    loaded = load_model(path)
    assert loaded.augment_choice is False and loaded.augment == ("noise",)
    del loaded.augment
    _saved_as_before(loaded, tmp_path)
    with pytest.raises(ValueError, match=r"has no parameter\(s\) \['augment'\]"):
        load_model(path)


def test_load_refuses_foreign_types(tmp_path):
    path = save_model({"payload": Untrusted(), "f": eval}, tmp_path / "evil.skops")
    with pytest.raises(ValueError, match=r"refusing to load types other than emoset estimators"):
        load_model(path)
    (tmp_path / "evil.skops.sha256").unlink()
    with pytest.raises(FileNotFoundError, match=r"no evil\.skops\.sha256 beside it"):
        load_model(path)
    with pytest.raises(ValueError, match=r"Untrusted"):
        load_model(path, require_digest=False)
    with pytest.raises(FileNotFoundError, match="Model file .*missing.skops not found"):
        load_model(tmp_path / "missing.skops")


@pytest.mark.parametrize(
    ("params", "X", "error", "match"),
    [
        ({}, [], ValueError, "X is empty"),
        ({"inner_cv": 1}, None, ValueError, "inner_cv == 1, must be >= 2"),
        ({"fps": 0}, None, ValueError, "fps must be a positive number of video frames a second"),
        ({"fps": float("nan")}, None, ValueError, "fps must be a positive number"),
        ({"video": {}, "audio": {}}, None, ValueError, "No subsystem"),
        ({"video": {"x": "cnn"}}, None, TypeError, "each candidate must be a Pipeline"),
        (
            {"video": {"x": make_audio_pipeline("precomputed")}},
            None,
            TypeError,
            "the first step must extract features from clips",
        ),
        (
            {
                "video": {"x": ("cnn", ImageSetPLS())},
                "audio": {"x": make_audio_pipeline("egemaps")},
            },
            None,
            ValueError,
            "names must differ between video and audio",
        ),
    ],
    ids=[
        "empty",
        "inner-cv",
        "fps-zero",
        "fps-nan",
        "no-subsystem",
        "bad-video-spec",
        "no-feature-step",
        "name-clash",
    ],
)
def test_bad_input(cremad_split, params, X, error, match):
    train, _ = cremad_split
    model = AudioVisualEmotionRecognizer(**params)
    with pytest.raises(error, match=match):
        model.fit(train[:5] if X is None else X)


def test_classes_of_one_training_clip_each_are_named(cremad_split):
    """Too few speakers for grouped folds and one clip of every class: no fold could hold a
    clip out, and the error says which classes (it was scikit-learn's n_splits message)."""
    train, _ = cremad_split
    clips = [next(c for c in train if c.label == e) for e in ("anger", "sad")]
    with pytest.raises(ValueError, match=r"at least 2 training clips of some class; each of anger"):
        with pytest.warns(UserWarning, match="Fewer than"):  # two speakers: stratified folds
            AudioVisualEmotionRecognizer().fit(clips, groups=["a", "b"])


def test_single_clip_is_a_type_error(small_recognizer, cremad_split):
    with pytest.raises(TypeError, match="not a single clip"):
        small_recognizer.predict(cremad_split[1][0])


def test_inner_cv_without_speakers_warns(cremad_split, feature_cache):
    train, _ = cremad_split
    model = make_small_recognizer(feature_cache).set_params(video={})
    paths = [c.audio for c in train[:30]]
    with pytest.warns(UserWarning, match="No speakers known") as record:
        model.fit(paths, [c.label for c in train[:30]])
    assert all(Path(w.filename).name == "test_system.py" for w in record)  # the caller's line
    # and what the model says of itself does not claim speaker-grouped folds
    assert model.inner_cv_grouped_ is False
    text = format_card(describe_model(model))
    assert "not speaker-grouped" in text and "chosen by inner speaker-grouped" not in text


def test_fusion_is_configurable(cremad_split, feature_cache):
    train, _ = cremad_split
    model = make_small_recognizer(feature_cache, fusion=WeightedScoreFusion(scheme="global"))
    model.fit(train[:40])
    w = model.fusion_.weights_
    assert np.allclose(w, w[:, :1])


def test_keep_candidates_scores_every_candidate(cremad_split, feature_cache, small_recognizer):
    """With keep_candidates every set model is fitted and scored (multiple-kernel fusion); the
    chosen one agrees with the subsystem the recognizer keeps."""
    train, test = cremad_split
    model = make_small_recognizer(feature_cache, keep_candidates=True).fit(train[::2])
    cands = model.candidate_scores(test)["cnn-pls"]
    assert len(cands) == len(model.candidates_["cnn-pls"]) == 2
    k = model.selected_["cnn-pls"]
    np.testing.assert_array_equal(cands[k], model.subsystem_scores(test)["cnn-pls"])
    np.testing.assert_array_equal(
        model.candidate_oof_scores_["cnn-pls"][k], model.oof_scores_["cnn-pls"]
    )
    other = cands[1 - k]
    assert other.shape == (len(test), len(model.classes_))
    assert not np.allclose(other, cands[k], equal_nan=True)
    with pytest.raises(ValueError, match="keep_candidates=True"):
        small_recognizer.candidate_scores(test[:2])


def test_model_digest_sees_every_fitted_part(small_recognizer, small_model_file, tmp_path):
    """The digest the timeline cache is keyed on: the same for a copy, a reload or other
    cores and folders; different when any subsystem's fitted numbers differ."""
    import copy

    from emoset.recognizer.persistence import model_digest

    digest = model_digest(small_recognizer)
    assert len(digest) == 64
    assert model_digest(copy.deepcopy(small_recognizer)) == digest
    assert model_digest(load_model(small_model_file)) == digest
    other = copy.deepcopy(small_recognizer).set_params(n_jobs=3, cache_dir=str(tmp_path))
    assert model_digest(other) == digest
    for name in small_recognizer.subsystems_:  # a change in any one of them
        changed = copy.deepcopy(small_recognizer)
        est = changed.subsystems_[name].steps[-1][1]

        def float_arrays(est):
            return {
                k: v
                for k, v in vars(est).items()
                if k.endswith("_") and isinstance(v, np.ndarray) and v.dtype.kind == "f"
            }

        fitted = float_arrays(est)
        while not fitted:  # an abstaining wrapper: its fitted inner estimator
            est = next(
                v for k, v in vars(est).items() if k.endswith("_") and hasattr(v, "get_params")
            )
            fitted = float_arrays(est)
        key, value = next(iter(fitted.items()))
        setattr(est, key, value + 1e-9)
        assert model_digest(changed) != digest, name


def test_skops_trusts_the_same_types_without_the_packages_emoset_skips():
    """emoset imports skops without the packages its type list skips (dask, via
    scikit-learn's vendored array-API wrapper): skops trusts exactly the types a plain
    ``import skops.io`` gives, dask was not imported, and the package imports later."""
    import importlib.util

    show = textwrap.dedent(
        """
        import json, sys
        {imports}
        from skops.io import _trusted_types as t
        names = {{k: sorted(map(str, v)) for k, v in vars(t).items() if k.endswith("_NAMES")}}
        dask = "dask" in sys.modules
        import sklearn.externals.array_api_compat.dask.array  # not blocked any more
        print(json.dumps([names, dask]))
        """
    )
    plain = "import skops.io"
    ours = "from emoset.recognizer.persistence import _skops_io; _skops_io()"
    out = {}
    for how, imports in (("plain", plain), ("ours", ours)):
        code = show.format(imports=imports)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        out[how] = json.loads(run.stdout)
    (plain_names, plain_dask), (our_names, our_dask) = out["plain"], out["ours"]
    assert our_names == plain_names
    assert sum(map(len, our_names.values())) > 200  # scikit-learn's estimators among them
    assert not our_dask
    if importlib.util.find_spec("dask") is not None:  # dask is an extra (clusters)
        assert plain_dask  # what a plain import costs where dask is installed


def test_two_threads_importing_skops_at_once_both_get_the_whole_module():
    """Two threads that load a model first at the same time (a server, a thread pool): the
    second waits for skops rather than getting the half-imported module."""
    code = textwrap.dedent(
        """
        import threading
        from emoset.recognizer.persistence import _skops_io
        got, start = [], threading.Barrier(4)
        def load():
            start.wait()
            got.append(hasattr(_skops_io(), "load"))
        threads = [threading.Thread(target=load) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(got)
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[True, True, True, True]"
