"""What ``emoset predict`` makes of one clip while it imports the estimators and loads a model.

The command forks a child at once (:func:`emoset.utils.early.start_early_clip`) that runs
:func:`clip_work`: it reads in the model file what its subsystems extract, then makes the
clip's speech records, its faces as the default video subsystem aligns them, and their
emotion CNN features. The extraction takes each only for exactly its own settings
(:mod:`emoset.utils.early`); the rest it makes itself. On two cores the command's imports
(0.8 s, most of them scikit-learn's) and the child's work run side by side.

The model is read from its skops description (``schema.json``, plain JSON): which feature
steps its subsystems start with and their plain settings. Nothing in it is built or run, and
the command still loads the model as it always does, checking its digest: a description the
child misreads only makes parts that nobody takes.
"""

from __future__ import annotations

import json
import warnings
import zipfile

from ..audio.clip_audio import early_part, extract_clip
from ..audio.speech import release_engines
from ..io.media import media_kind
from ..utils.early import file_state
from ..video.clip_faces import (
    DEFAULT_FEATURE,
    DEFAULT_PEOPLE,
    default_faces,
    default_faces_part,
    default_features,
    features_part,
)

__all__ = ["NOT_PLAIN", "clip_work", "kind_part", "model_steps", "speech_arguments"]

#: The speech feature steps whose records the child makes, by (module, class): the ``kind``
#: of :func:`~emoset.audio.clip_audio.extract_clip` each extracts with.
_SPEECH_STEPS = {
    ("emoset.audio.features", "OpenSmileFeatures"): "opensmile",
    ("emoset.audio.features", "OpenSmileDescriptorMoments"): "opensmile-moments",
}


def model_steps(path):
    """``[(module, class, settings)]``: the first step of each of the model file's subsystems,
    with its settings: the plain JSON values, :data:`NOT_PLAIN` for the others (an object,
    an array); a video step's aligner and frame rate are the model's own where it sets them
    (as it does when it runs the step). ``[]`` if the file is not an emoset model as this
    reads them (then the child makes what the default model uses)."""
    try:
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
        model = _settings(schema["content"]["content"])
        steps = []
        for pipeline in model["subsystems_"]["content"].values():
            node = pipeline["content"]["content"]["steps"]["content"][0]["content"][1]
            settings = _settings(node["content"]["content"])
            if node["__class__"] == "ImageSetFeatures":
                settings.update({k: model[k] for k in ("aligner", "fps") if model[k] is not None})
            steps.append((node["__module__"], node["__class__"], settings))
        return steps
    except Exception:  # any file: the command reads it and says what is wrong
        return []


#: A setting :func:`model_steps` does not read (not a plain JSON value).
NOT_PLAIN = "<not a plain value>"


def _settings(state):
    """An object's state from its skops description: plain JSON values, else :data:`NOT_PLAIN`
    (the subsystems' dictionary is kept as its description)."""
    return {
        k: json.loads(v["content"])
        if v.get("__loader__") == "JsonNode"
        else (v if k == "subsystems_" else NOT_PLAIN)
        for k, v in state.items()
    }


def _default_video(settings):
    """Whether a video step aligns as the default video subsystem does (the faces the child
    makes): the default aligner, every frame, the people tracker's defaults."""
    people = {k: settings.get(k, NOT_PLAIN) for k in DEFAULT_PEOPLE}
    unset = ("aligner", "fps", "max_frames")
    return people == DEFAULT_PEOPLE and all(settings.get(k, NOT_PLAIN) is None for k in unset)


def speech_arguments(module, name, settings, *, allow_partial):
    """The arguments of :func:`~emoset.audio.clip_audio.extract_clip` a speech step with
    these settings extracts a clip with (as ``_BaseAudioFeatures`` gives them), or None for a
    step the child does not make records for (another kind, or augmented)."""
    kind = _SPEECH_STEPS.get((module, name))
    if kind is None or settings.get("augmentation") is not None:
        return None
    try:
        return {
            "kind": kind,
            "params": {"feature_set": settings["feature_set"]},
            "sampling_rate": int(settings["sampling_rate"]),
            "band_rate": settings["band_rate_"],
            "min_duration": float(settings["min_duration"]),
            "allow_partial": bool(allow_partial),
        }
    except (KeyError, TypeError, ValueError):
        return None


def kind_part(path):
    """Whether a file is a video or a sound (:func:`~emoset.io.media.media_kind`), as made
    ahead: compared on the file (its size and times: not changed since)."""
    return "kind", file_state(path)


def _quietly(make, *args, **kwargs):
    """``make(...)``, or None if it failed or warned: the command then makes it itself, and
    meets the error or shows the warning."""
    try:
        with warnings.catch_warnings(record=True) as caught:  # what the filters would show
            made = make(*args, **kwargs)
    except Exception:
        return None
    return None if caught else made


def clip_work(path, *, model, allow_partial=False, video=True):
    """The child's work on one clip (a generator, see :mod:`emoset.utils.early`): the plan,
    then the file's kind (video or sound), the records of the model's speech subsystems, the
    faces (if its video subsystems align as the default one does, or if its file cannot be
    read) and the CNN features of those faces (if a video subsystem reads them).
    ``video=False``: a sound file, no faces."""
    steps = model_steps(model) if model is not None else []
    speech = []
    for module, name, settings in steps:
        arguments = speech_arguments(module, name, settings, allow_partial=allow_partial)
        if arguments is not None and arguments not in speech:
            speech.append(arguments)
    sets = [s for m, n, s in steps if n == "ImageSetFeatures"]
    faces = None
    if video and (not steps or (sets and all(_default_video(s) for s in sets))):
        faces = default_faces_part(path, allow_partial=allow_partial)
    cnn = faces is not None and (not steps or any(s.get("feature") == "cnn" for s in sets))
    plan = [kind_part(path), *(early_part(path, **arguments) for arguments in speech)]
    if faces is not None:
        plan.append(faces)
    if cnn:
        plan.append(features_part(DEFAULT_FEATURE))
    yield plan
    yield _quietly(media_kind, path)
    for arguments in speech:
        yield _quietly(extract_clip, path, **arguments, augmentation=None)
    release_engines()  # openSMILE's folders: the command may end this process, not wait for it
    if faces is not None:
        aligned = default_faces(path, allow_partial=allow_partial)
        yield aligned
        if cnn:
            yield None if aligned is None else _quietly(default_features, aligned)
