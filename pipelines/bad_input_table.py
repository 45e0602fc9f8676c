"""What a user sees for bad input: the README's "Bad input" table, from generated files.

Usage::

    python -m pipelines.bad_input_table MODEL.skops [--data-root DIR] [--cache-dir DIR]

Every case below is made on the fly in a temporary folder (from the shared CREMA-D clips where
a real recording is needed: no media is committed), then all of them go through **one**
``emoset predict --json`` call together with a good clip. The table shows, per case, the label
(or none) and what emoset says; the good clip is still predicted, and the exit status is 1
because some clips got no label. ``tests/app/test_bad_input.py`` runs the same cases.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np


def _good(data_root):
    from emoset.datasets.corpora import load_cremad

    return load_cremad(data_root, subsets=["native"])[0]


def _wav(path, signal, rate=16000):
    import soundfile as sf

    sf.write(path, np.asarray(signal, dtype=np.float32), rate, subtype="FLOAT")
    return path


def zero_byte_mp4(tmp, data_root):
    (tmp / "empty.mp4").write_bytes(b"")
    return tmp / "empty.mp4"


def text_named_mp4(tmp, data_root):
    (tmp / "notes.mp4").write_text("this is not a video\n" * 40)
    return tmp / "notes.mp4"


def silent_wav(tmp, data_root):
    return _wav(tmp / "silence.wav", np.zeros(32000))


def nan_wav(tmp, data_root):
    signal = 0.1 * np.sin(np.arange(32000) / 10.0)
    signal[1000:2000] = np.nan
    return _wav(tmp / "nan.wav", signal)


def blip_wav(tmp, data_root):
    return _wav(tmp / "blip.wav", 0.3 * np.sin(np.arange(800) / 5.0))  # 0.05 s


def missing_file(tmp, data_root):
    return tmp / "does_not_exist.mp4"


def directory(tmp, data_root):
    (tmp / "a_folder.mp4").mkdir()
    return tmp / "a_folder.mp4"


def interrupted_download(tmp, data_root):
    data = _good(data_root).video.read_bytes()
    (tmp / "partial.mp4").write_bytes(data[: int(0.3 * len(data))])
    return tmp / "partial.mp4"


def one_frame_no_audio(tmp, data_root):
    import av

    from emoset.io.media import read_frames

    frame = read_frames(_good(data_root).video, max_frames=1)[0]
    path = tmp / "one_frame.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = frame.shape[1], frame.shape[0], "yuv420p"
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def mp4_named_wav(tmp, data_root):
    path = tmp / "really_a_video.wav"
    path.write_bytes(_good(data_root).video.read_bytes())
    return path


def white_noise(tmp, data_root):
    rng = np.random.default_rng(0)
    return _wav(tmp / "white_noise.wav", 0.3 * rng.standard_normal(16000 * 60))


def speech_48k(tmp, data_root):
    from emoset.io.media import load_audio, resample

    speech = load_audio(_good(data_root).audio, sr=None)
    return _wav(tmp / "speech_48k.wav", resample(speech, 16000, 48000), 48000)


def latin1_name(tmp, data_root):
    import os

    name = os.fsdecode(b"caf\xe9.mp4")  # a Latin-1 name: not valid UTF-8
    path = tmp / name
    path.write_bytes(_good(data_root).video.read_bytes())
    return path


def looping_link(tmp, data_root):
    link = tmp / "loop.mp4"
    link.symlink_to(tmp / "loop2.mp4")
    (tmp / "loop2.mp4").symlink_to(link)
    return link


def named_pipe(tmp, data_root):
    import os

    path = tmp / "pipe.mp4"
    os.mkfifo(path)
    return path


#: (case, what it is, file maker)
CASES = [
    ("zero-byte", "zero-byte .mp4", zero_byte_mp4),
    ("text", "text file named .mp4", text_named_mp4),
    ("silence", "digital silence (.wav)", silent_wav),
    ("nan", "wav holding NaN samples", nan_wav),
    ("blip", "0.05 s of audio", blip_wav),
    ("missing", "missing file", missing_file),
    ("directory", "a folder", directory),
    ("loop", "a symbolic link that loops", looping_link),
    ("fifo", "a named pipe (FIFO) named .mp4", named_pipe),
    ("latin1", "a file name that is not UTF-8 (Latin-1 caf\\xe9.mp4)", latin1_name),
    ("partial", "first 30 % of an mp4 (interrupted download)", interrupted_download),
    ("one-frame", "1-frame video, no audio", one_frame_no_audio),
    ("renamed", "mp4 renamed .wav", mp4_named_wav),
    ("noise", "60 s of white noise", white_noise),
    ("48k", "speech at 48 kHz (model trained on 8 kHz)", speech_48k),
]


def make_cases(tmp, data_root):
    """``[(case, description, path)]`` made in ``tmp``."""
    return [(name, what, make(Path(tmp), data_root)) for name, what, make in CASES]


def run_predict(model, paths, cache_dir, extra=()):
    """``emoset predict --json`` in this process: (exit status, records, stderr)."""
    from emoset.app.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = ["predict", str(model), *map(str, paths), "--json", "--cache-dir", str(cache_dir)]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*argv, *extra])
    return code, (json.loads(out.getvalue()) if out.getvalue() else []), err.getvalue()


def _said(record):
    if record["label"] is None:
        return record["error"]
    parts = [f"from {', '.join(record['subsystems'])}"]
    parts += [f"{n} abstained: {w}" for n, w in record["reasons"].items()]
    parts += record["warnings"]
    return "; ".join(parts)


def table(records, cases, tmp):
    lines = ["| input | label | what emoset says |", "|---|---|---|"]
    for (_, what, _), rec in zip(cases, records, strict=False):
        said = _said(rec).replace(str(tmp) + "/", "").replace("|", "/")
        label = rec["label"] if rec["label"] is not None else "none (`null`)"
        lines.append(f"| {what} | {label} | {said} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model saved by 'emoset train'")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args(argv)
    from emoset.datasets.corpora import find_data_root

    data_root = find_data_root(args.data_root)
    with tempfile.TemporaryDirectory() as tmp:
        cases = make_cases(tmp, data_root)
        good = _good(data_root).video
        cache = args.cache_dir or Path(tmp) / "cache"
        code, records, err = run_predict(args.model, [p for _, _, p in cases] + [good], cache)
        print(table(records, cases, tmp))
        print(f"\nexit status {code}; good clip {good.name}: {records[-1]['label']}")
        print(f"\nWhat the command logs:\n\n```\n{err.strip()}\n```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
