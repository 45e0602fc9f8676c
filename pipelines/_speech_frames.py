"""The frame-level speech descriptors of the pipelines' image-set experiments, cached per clip.

Shared by :mod:`pipelines.speech_sets` (speech as image sets, in corpus) and
:mod:`pipelines.cross_corpus` (the same across corpora): each clip's eGeMAPSv02 low-level
descriptors (:func:`emoset.audio.speech.opensmile_descriptors`, 25 per 10 ms frame, at 16 kHz,
optionally limited to the band of a lower rate first), cached in
``<cache-dir>/speech-lld/<corpus>[-<rate>hz].npz`` (arrays and the clip ids they belong to, no
pickle; keyed by clip id within a corpus, so a corpus whose files change needs a fresh cache
folder). The recognizer's own speech image sets
(:class:`emoset.audio.features.OpenSmileDescriptorMoments`) are cached by the package's
content-keyed cache instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoset.audio.speech import opensmile_descriptors
from emoset.io.media import load_audio

#: The grid searched inside every outer training fold.
GRID = {"set_model": ["gaussian", "covariance"], "n_components": [10, 20]}


def frame_descriptors(clips, cache_dir, *, band_rate=None):
    """Each clip's eGeMAPSv02 low-level descriptors, ``(n_frames, 25)`` (cached per clip).

    ``band_rate``: limit the audio to the band of this sample rate first (16 kHz -> ``band_rate``
    -> 16 kHz, soxr), as the recognizer limits a clip to its training band; ``None``: the clip's
    own band. Clips of several corpora may be mixed (``Clip.corpus`` names the cache file).
    """
    by_corpus = {}
    for c in clips:
        by_corpus.setdefault(c.corpus, []).append(c)
    found = {}
    for corpus, members in by_corpus.items():
        found.update(_corpus_descriptors(members, cache_dir, corpus, band_rate))
    return [found[c.id] for c in clips]


def _cache_file(cache_dir, corpus, band_rate):
    suffix = "" if band_rate is None else f"-{int(band_rate)}hz"
    return Path(cache_dir) / "speech-lld" / f"{corpus}{suffix}.npz"


def _read_cache(path):
    """``{clip id: array}`` saved in ``path`` (empty when absent); arrays only, no pickle."""
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as saved:
        return {str(i): saved[f"clip{k}"] for k, i in enumerate(saved["ids"])}


def _write_cache(path, found):
    ids = sorted(found)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, ids=np.array(ids), **{f"clip{k}": found[i] for k, i in enumerate(ids)})
    tmp.replace(path)


def _corpus_descriptors(clips, cache_dir, corpus, band_rate):
    path = _cache_file(cache_dir, corpus, band_rate)
    found = _read_cache(path)
    missing = [c for c in clips if c.id not in found]
    if missing:
        for c in missing:
            frames = opensmile_descriptors(_audio16(c, band_rate), 16000).astype(np.float64)
            found[c.id] = frames[np.all(np.isfinite(frames), axis=1)]
        _write_cache(path, found)
    return {c.id: found[c.id] for c in clips}


def _audio16(clip, band_rate=None):
    from emoset.io.media import resample

    y = load_audio(clip.audio or clip.video, sr=16000)
    if band_rate is not None and band_rate < 16000:
        y = resample(resample(y, 16000, int(band_rate)), int(band_rate), 16000)
    return y
