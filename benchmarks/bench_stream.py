"""Timelines of long and live video: speed against real time, per-stage times, latency, memory.

``python -m benchmarks stream [--seconds 60] [--minutes 10] [--hops 0.5,2] [--n-jobs 1,2]
[--segment 15] [--fps 10] [--command-runs 3] [--only-command]
[--no-live] [--plot FILE.png]``

First, the commands as a user runs them (:mod:`benchmarks._command`): ``emoset timeline`` on
the input and ``emoset predict`` on one full-frame clip, each a new process with an empty
feature cache and every default, with the model ``emoset train --corpus cremad`` writes; wall
time from start to exit split into start-up, imports, model load and the work (the
timeline's work by stage), peak RSS; and ``emoset --help``. Then the in-process figures:

The input is made from the six full-frame CREMA-D clips of actor 1001 (speech, one emotion
each): each frame padded to 640x360, written as H.264 at 30 fps with its AAC audio, the clips
looped to the requested length. The model is the default recognizer (DenseSIFT and CNN image
sets with the Liu et al. set-model candidates, openSMILE/librosa SVM candidates, per-class
fusion) trained on the 80 CREMA-D face-crop clips, reading video at ``--fps`` frames per
second; it is trained once and kept in the cache folder.

Reported, for each hop and ``--n-jobs`` value (segments of ``--segment`` seconds run side by
side; a short warm-up run first loads the models in this process and the workers): the wall
time against the source's length (x real time), the time per stage (decode, detect/align,
frame features, audio features, kernels/PLS/fusion; seconds per minute of source, summed over
the segments) and RSS (this process and its workers) at the start and end of the run and its
largest value while it ran (sampled every 20 windows). Then, unless ``--no-live``, the file is
served from a paced HTTP server on 127.0.0.1 (bytes sent at the rate the file plays) and the
median and 95th percentile of the per-window latency are reported against the hop. BLAS/OpenMP threads should be pinned to one (``make bench`` does it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _data_root():
    env = os.environ.get("EMOSET_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _rss_mb():
    """RSS of this process and its worker processes (MB)."""
    import psutil

    me = psutil.Process()
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def make_input(path, seconds, *, size=(640, 360), fps=30):
    """Loop the six full-frame clips into one 640x360 30 fps H.264 + AAC file."""
    import av
    import cv2

    from emoset.io.media import load_audio, read_frames

    clips = sorted((_data_root() / "cremad" / "native" / "video").glob("1001_DFA_*_XX.mp4"))
    if not clips:
        raise SystemExit(f"the full-frame CREMA-D clips are not under {_data_root()}")
    w, h = size
    segments = []
    for p in clips:
        frames = read_frames(p, color="rgb")
        fh, fw = frames.shape[1:3]
        top, left = (h - fh) // 2, (w - fw) // 2
        padded = [
            cv2.copyMakeBorder(f, top, h - fh - top, left, w - fw - left, cv2.BORDER_REPLICATE)
            for f in frames
        ]
        segments.append((padded, load_audio(p, sr=16000)))
    out = av.open(str(path), mode="w")
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
    vs.options = {"preset": "veryfast", "crf": "23", "g": str(2 * fps)}
    aus = out.add_stream("aac", rate=16000)
    aus.layout = "mono"
    n_frames = int(round(seconds * fps))
    i = n_samples = 0
    while i < n_frames:
        for frames, audio in segments:
            for img in frames:
                if i >= n_frames:
                    break
                vf = av.VideoFrame.from_ndarray(img, format="rgb24")
                vf.pts, vf.time_base = i, Fraction(1, fps)
                out.mux(vs.encode(vf))
                i += 1
            n = int(round(i / fps * 16000)) - n_samples
            y = np.zeros(n, np.float32)
            y[: min(n, len(audio))] = audio[:n]
            for a in range(0, n, 1024):
                af = av.AudioFrame.from_ndarray(y[None, a : a + 1024], format="flt", layout="mono")
                af.sample_rate, af.pts, af.time_base = 16000, n_samples + a, Fraction(1, 16000)
                out.mux(aus.encode(af))
            n_samples += n
            if i >= n_frames:
                break
    out.mux(vs.encode(None))
    out.mux(aus.encode(None))
    out.close()
    return path


def default_model(cache_dir, fps):
    """The default recognizer trained on the 80 face-crop clips (cached as a skops file)."""
    from benchmarks._command import _code_digest
    from emoset.datasets.corpora import load_cremad
    from emoset.recognizer.persistence import load_model, save_model
    from emoset.recognizer.system import AudioVisualEmotionRecognizer

    # keyed by the package's code: a model of another checkout (other defaults) is not reused
    path = Path(cache_dir) / f"bench-stream-default-fps{fps:g}-{_code_digest()}.skops"
    if path.exists():
        try:
            return load_model(path, cache_dir=cache_dir), 0.0
        except ValueError as exc:  # saved by another version of emoset: train again
            print(f"(not using the cached model: {exc})")
    clips = load_cremad(_data_root(), subsets=["facecrop128"])
    t0 = time.perf_counter()
    model = AudioVisualEmotionRecognizer(fps=fps, cache_dir=cache_dir, n_jobs=1).fit(clips)
    seconds = time.perf_counter() - t0
    save_model(model, path)
    return model, seconds


class _Paced(threading.Thread):
    """HTTP on 127.0.0.1 sending a file chunked at the rate it plays (a live source)."""

    def __init__(self, data, seconds):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        rate = len(data) / seconds

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                t0 = time.monotonic()
                sent = 0
                try:
                    while sent < len(data):
                        due = min(len(data), int((time.monotonic() - t0) * rate) + 65536)
                        if due > sent:
                            chunk = data[sent:due]
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                            self.wfile.flush()
                            sent = due
                        time.sleep(0.02)
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass
                self.close_connection = True

        super().__init__(daemon=True)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/live.ts"

    def run(self):
        self.httpd.serve_forever(0.05)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _run(model, source, **kwargs):
    from emoset.recognizer.timeline import stream_timeline

    run = stream_timeline(model, source, **kwargs)
    rss = [(0.0, _rss_mb())]
    rows = []
    t0 = time.perf_counter()
    for row in run:
        rows.append(row)
        if len(rows) % 20 == 0:
            rss.append((row["end"], _rss_mb()))
    wall = time.perf_counter() - t0
    rss.append((rows[-1]["end"] if rows else 0.0, _rss_mb()))
    return run, rows, wall, rss


def _rss_summary(rss):
    """Start, after the first tenth of the source, largest, end (MB)."""
    end = rss[-1][0]
    tenth = next((m for t, m in rss if t >= 0.1 * end), rss[-1][1])
    return f"{rss[0][1]:.0f} / {tenth:.0f} / {max(m for _, m in rss):.0f} / {rss[-1][1]:.0f}"


def _commands(cache, seconds, runs):
    """The emoset commands as a user runs them (see :mod:`benchmarks._command`)."""
    from benchmarks._command import command_table
    from benchmarks._command import default_model as command_model

    model = command_model(cache, _data_root())
    clip = max(
        (_data_root() / "cremad" / "native" / "video").glob("1001_*_XX.mp4"),
        key=lambda p: p.stat().st_size,
    )
    with tempfile.TemporaryDirectory(prefix="emoset-bench-") as tmp:
        src = make_input(Path(tmp) / "input.mp4", seconds)
        print(
            f"As a user runs it: the model `emoset train --corpus cremad` writes, every default, "
            f"a new process per run (median of {runs}), an empty feature cache, one BLAS thread; "
            f"the input is {seconds:.0f} s of 640x360 30 fps H.264 + AAC.\n"
        )
        print(command_table(model, src, clip, runs), "\n", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench_stream", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="input length (default 60)")
    parser.add_argument("--minutes", type=float, default=None, help="input length in minutes")
    parser.add_argument("--hops", default="0.5,2", help="hops to time (s, comma-separated)")
    parser.add_argument(
        "--n-jobs", default="1,2", help="segments run side by side (comma-separated values)"
    )
    parser.add_argument(
        "--segment", type=float, default=15.0, help="s of windows per segment (default 15)"
    )
    parser.add_argument("--window", type=float, default=2.0)
    parser.add_argument("--fps", type=float, default=10.0, help="video frames read per second")
    parser.add_argument("--no-live", action="store_true", help="skip the paced live run")
    parser.add_argument("--plot", default=None, help="save the first hop's timeline plot")
    parser.add_argument("--cache-dir", default=None, help="feature cache and trained model")
    parser.add_argument(
        "--command-runs", type=int, default=3, help="runs of each emoset command (median)"
    )
    parser.add_argument("--only-command", action="store_true", help="time the emoset commands only")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    seconds = args.minutes * 60 if args.minutes else args.seconds
    from emoset.utils.cache import default_cache_dir

    cache = Path(args.cache_dir) if args.cache_dir else Path(default_cache_dir())
    cache.mkdir(parents=True, exist_ok=True)
    if args.command_runs:
        _commands(cache, seconds, args.command_runs)
        if args.only_command:
            return 0
    model, train_s = default_model(cache, args.fps)
    if train_s:
        print(f"(trained the default model in {train_s:.0f} s; cached for the next run)")
    subsystems = ", ".join(
        f"{n} ({type(p.steps[0][1]).__name__})" for n, p in model.subsystems_.items()
    )
    print(f"model: {subsystems}; video read at {args.fps:g} fps\n")
    with tempfile.TemporaryDirectory(prefix="emoset-bench-") as tmp:
        t0 = time.perf_counter()
        src = make_input(Path(tmp) / "input.mp4", seconds)
        print(
            f"input: {seconds:.0f} s, 640x360 30 fps H.264 + AAC, {src.stat().st_size / 2**20:.1f} MB "
            f"(written in {time.perf_counter() - t0:.0f} s)\n"
        )
        print(
            "Per stage: seconds per minute of source, summed over the segments (the audio "
            "runs in a thread of its own beside the video stages).\n"
        )
        print(
            "| hop (s) | n_jobs | windows | x real time | decode | detect/align | frame features "
            "| audio | kernels/PLS/fusion | RSS start / at 10 % / max / end (MB) |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")  # one column per stage
        first = None
        for n_jobs in {int(n) for n in args.n_jobs.split(",")}:  # one-time loading, workers
            _run(model, src, max_seconds=2 * args.window, n_jobs=n_jobs, segment=args.window)
        for hop in [float(h) for h in args.hops.split(",")]:
            for n_jobs in [int(n) for n in args.n_jobs.split(",")]:
                run, rows, wall, rss = _run(
                    model, src, window=args.window, hop=hop, n_jobs=n_jobs, segment=args.segment
                )
                s = run.stats["seconds"]
                per_min = 60.0 / run.stats["duration"]
                stages = " | ".join(
                    f"{s[k] * per_min:.1f}"
                    for k in ("decode", "detect_align", "features", "audio_work", "classify")
                )
                print(
                    f"| {hop:g} | {n_jobs} | {len(rows)} | {run.stats['duration'] / wall:.1f}x "
                    f"| {stages} | {_rss_summary(rss)} |",
                    flush=True,
                )
                if first is None:
                    first = (run, rows)
        if args.plot and first is not None:
            import pandas as pd

            from emoset.app.report import plot_timeline

            frame = pd.DataFrame(first[1], columns=first[0].columns)
            frame = frame[frame["end"] <= min(seconds, 40.0)]
            plot_timeline(frame, args.plot, title="Six CREMA-D clips, looped (window 2 s)")
            print(f"\nplot: {args.plot}")
        if not args.no_live:
            # the same file as MPEG-TS over a paced loopback HTTP server
            import av

            ts = Path(tmp) / "input.ts"
            with av.open(str(src)) as inp, av.open(str(ts), "w", format="mpegts") as out:
                streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
                for packet in inp.demux():
                    if packet.dts is None:
                        continue
                    packet.stream = streams[packet.stream.index]
                    out.mux(packet)
            server = _Paced(ts.read_bytes(), seconds)
            server.start()
            print(
                "\n| live (paced HTTP) hop (s) | windows | latency median | p95 | max "
                "| p95 / hop | dropped frames | ended |"
            )
            print("|---|---|---|---|---|---|---|---|")
            try:
                for hop in [float(h) for h in args.hops.split(",")]:
                    run, rows, wall, rss = _run(
                        model, server.url, window=args.window, hop=hop, live=True
                    )
                    lat = np.array([r["latency"] for r in rows])
                    p95 = float(np.percentile(lat, 95))
                    print(
                        f"| {hop:g} | {len(rows)} | {np.median(lat):.3f} s | {p95:.3f} s "
                        f"| {lat.max():.3f} s | {p95 / hop:.2f} | {run.stats['dropped']['video']} "
                        f"| {run.stats['ended']} |",
                        flush=True,
                    )
            finally:
                server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
