"""What ``emoset predict`` makes of one clip while it imports the estimators and loads a model.

The command forks a child at once (:func:`emoset.utils.early.start_early_clip`) that runs
:func:`clip_work`: it reads in the model file what its subsystems extract, then makes the
file's kind, the clip's faces as the default video subsystem aligns them, their emotion CNN
features and the clip's speech records. The extraction takes each only for exactly its own
settings (:mod:`emoset.utils.early`); the rest it makes itself, and so does it a part the
child has not started when it is asked for (a long clip's speech, then made beside the
child's faces). On two cores the command's imports (0.8 s, most of them scikit-learn's) and
the child's work run side by side.

The model is read from its skops description (``schema.json``, plain JSON): which feature
steps its subsystems start with and their plain settings. Nothing in it is built or run, and
the command still loads the model as it always does, checking its digest: a description the
child misreads only makes parts that nobody takes.
"""

from __future__ import annotations

import functools
import json
import warnings
import zipfile

from ..audio.clip_audio import early_part, extract_clip
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
    """The child's work on one clip (see :mod:`emoset.utils.early`): its plan and a maker
    for each part, in the order the child makes them: the file's kind (video or sound), the
    faces as the default video subsystem aligns them (if the model's video subsystems align
    so, or its file cannot be read) and their CNN features (if a video subsystem reads them),
    then the records of the model's speech subsystems. ``video=False``: a sound file, no
    faces.

    The speech comes last: for a short clip the child has made it by the time the command
    asks for it; for a longer one the command, finding it not started, makes it itself
    beside the child's faces (as it would without the child)."""
    steps = model_steps(model) if model is not None else []
    plan, makers = [kind_part(path)], [functools.partial(_quietly, media_kind, path)]
    sets = [s for m, n, s in steps if n == "ImageSetFeatures"]
    if video and (not steps or (sets and all(_default_video(s) for s in sets))):
        made = {}

        def faces():  # None if aligning failed or warned: the command aligns the clip itself
            made["faces"] = _quietly(default_faces, path, allow_partial=allow_partial)
            return made["faces"]

        def features():
            aligned = made.get("faces")
            return None if aligned is None else _quietly(default_features, aligned)

        plan.append(default_faces_part(path, allow_partial=allow_partial))
        makers.append(faces)
        if not steps or any(s.get("feature") == "cnn" for s in sets):
            plan.append(features_part(DEFAULT_FEATURE))
            makers.append(features)
    for module, name, settings in steps:
        arguments = speech_arguments(module, name, settings, allow_partial=allow_partial)
        if arguments is not None and early_part(path, **arguments) not in plan:
            plan.append(early_part(path, **arguments))
            makers.append(
                functools.partial(_quietly, extract_clip, path, **arguments, augmentation=None)
            )
    return plan, makers
