"""The feature steps of a predict call: each distinct step once, the audio beside the video.

The video steps hold Python's lock most of their time (dlib's detection and landmarks); the
audio steps mostly do not (FFmpeg decoding, soxr, openSMILE), so on two cores the audio of a
call runs in a thread beside its video. The steps share nothing, so their numbers are those
of one step after the other.
"""

from __future__ import annotations

import functools
import os
from concurrent import futures

#: Extract the audio steps beside the video ones (``False``: one after the other, in turn).
AUDIO_BESIDE_VIDEO = True

#: Most clips a call extracts with the audio beside the video: an interrupted call waits for
#: the audio already started, so a long batch goes one step after the other (its clips can
#: run side by side with ``n_jobs`` instead).
MAX_CLIPS_BESIDE = 4


@functools.cache
def _audio_thread():
    """The one thread of the process that extracts audio beside video (started on first use;
    its openSMILE instance is configured once)."""
    return futures.ThreadPoolExecutor(1, thread_name_prefix="emoset-extract")


# a forked child has the executor but not its thread: it starts its own
os.register_at_fork(after_in_child=_audio_thread.cache_clear)


def extract_steps(steps, X, *, beside):
    """``{key: (features, info)}`` of each feature step in ``steps`` (``{key: (modality,
    step)}``) for the clips X.

    ``beside``: the caller allows the audio steps to run in a thread of their own (the clips
    are extracted in this process, and no step catches warnings: the filters are the whole
    process's). An error in the video steps waits for the audio ones and then goes up, as it
    would have before the audio started.
    """
    audio = [k for k, (modality, _) in steps.items() if modality == "audio"]
    beside = beside and AUDIO_BESIDE_VIDEO and len(X) <= MAX_CLIPS_BESIDE
    if not (beside and audio and len(audio) < len(steps)):
        return {k: step.extract(X) for k, (_, step) in steps.items()}
    future = _audio_thread().submit(lambda: {k: steps[k][1].extract(X) for k in audio})
    try:
        done = {k: step.extract(X) for k, (_, step) in steps.items() if k not in audio}
    except BaseException:
        futures.wait([future])
        raise
    done.update(future.result())
    return {k: done[k] for k in steps}
