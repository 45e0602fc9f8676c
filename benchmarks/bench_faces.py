"""Benchmark: decode, face detection, tracking, alignment and per-frame features on one core.

Measures frames per second of process CPU time (medians of several runs, every thread pool
pinned to one thread, so CPU time is per-core time even on a busy machine)
on the real CREMA-D clips in ``../shared/data`` (or ``$EMOSET_DATA``):

* ``native``: the 6 full-frame 480x360 clips;
* ``native@640x360``: the same frames letterboxed to 640x360 (replicated borders, the face
  keeps its ~100 px) and re-encoded to H.264 in a temporary folder: the "640x360" target;
* ``facecrop``: 10 of the 128x128 face-crop clips.

Stages: decode (``emoset.io.media.read_frames``, gray), detect (dlib HOG on every frame),
landmarks (68-point fit inside the detected box), warp (similarity warp to the crop),
align with detection on every frame, align with tracking (``detect_every=5``), then each
feature on the aligned 64x64 crops (the face descriptor on 150x150 chips), and end to end
(decode + track/align + HOG, and + EmotionCNN).

Prints a markdown table. Usage::

    python benchmarks/bench_faces.py [--repeats 3] [--data PATH] [--n-crops 10]
    python benchmarks/bench_faces.py --face-rate   # face rate on all 86 CREMA-D clips
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from emoset.io.media import read_frames  # noqa: E402
from emoset.video.cnn_features import EmotionCNN, FaceDescriptor  # noqa: E402
from emoset.video.faces import FaceAligner, align_video  # noqa: E402
from emoset.video.frame_features import HOG, LBP, DenseSIFT  # noqa: E402

logger = logging.getLogger("bench_faces")
REPO = Path(__file__).resolve().parents[1]


def _median(func, repeats):
    """Median CPU seconds of this process (one thread: per-core time, robust to a busy host)."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.process_time()
        out = func()
        times.append(time.process_time() - t0)
    return float(np.median(times)), out


def _letterbox_640(paths, folder):
    """Write each clip letterboxed to 640x360 as H.264; return the new paths."""
    import av

    out = []
    for p in paths:
        frames = read_frames(p, color="rgb")
        h, w = frames.shape[1:3]
        left = (640 - w) // 2
        dst = Path(folder) / f"{Path(p).stem}_640x360.mp4"
        with av.open(str(dst), "w") as container:
            stream = container.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
            for f in frames:
                big = cv2.copyMakeBorder(f, 0, 360 - h, left, 640 - w - left, cv2.BORDER_REPLICATE)
                for packet in stream.encode(av.VideoFrame.from_ndarray(big, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        out.append(dst)
    return out


def _bench_group(name, paths, repeats, rows):
    n = sum(len(read_frames(p, color="gray")) for p in paths)
    gray = [read_frames(p, color="gray") for p in paths]

    def row(stage, seconds, count=n):
        rows.append((name, stage, count, count / seconds, 1000 * seconds / count))

    t, _ = _median(lambda: [read_frames(p, color="gray") for p in paths], repeats)
    row("decode (gray)", t)

    aligner = FaceAligner(64)
    boxes = []
    t, boxes = _median(lambda: [[aligner.detect(f) for f in g] for g in gray], repeats)
    row("detect (HOG, every frame)", t)

    def landmarks():
        return [
            [aligner.landmarks(f, b) for f, b in zip(g, bs, strict=True)]
            for g, bs in zip(gray, boxes, strict=True)
        ]

    t, shapes = _median(landmarks, repeats)
    row("landmarks (68 pts in box)", t)
    t, _ = _median(
        lambda: [
            [aligner.warp(f, s) for f, s in zip(g, ss, strict=True)]
            for g, ss in zip(gray, shapes, strict=True)
        ],
        repeats,
    )
    row("warp to 64x64", t)
    for k, margin in ((1, None), (5, None), (5, 0.5), (10, 0.5)):
        a = FaceAligner(64, detect_every=k, search_margin=margin)
        t, res = _median(lambda a=a: [a.align_frames(g) for g in gray], repeats)
        n_faces = sum(r[1].n_faces for r in res)
        n_det = sum(r[1].n_detections for r in res)
        n_roi = sum(r[1].n_roi_detections for r in res)
        label = (
            "align, detect every frame"
            if k == 1
            else f"align, track (detect_every={k}, search_margin={margin})"
        )
        row(f"{label} [{n_faces}/{n} faces, {n_det} detector calls, {n_roi} in window]", t)
        if k == 5 and margin is not None:
            faces = np.concatenate([r[0] for r in res])

    for est in (HOG(), LBP(), DenseSIFT(), EmotionCNN("scores"), EmotionCNN("both")):
        est.fit(faces[:1])
        t, _ = _median(lambda est=est: est.transform(faces), repeats)
        params = ", ".join(f"{k}={v!r}" for k, v in est.get_params().items() if k == "output")
        row(f"{type(est).__name__}({params}) on 64x64", t, len(faces))

    # dlib face descriptor on a few chips (slow: one run on up to 10 faces)
    _, st = FaceAligner(64, chips=True).align_frames(gray[0][:10])
    fd = FaceDescriptor().fit(st.chips)
    t, _ = _median(lambda: fd.transform(st.chips), 1)
    row("FaceDescriptor (150x150 chips)", t, len(st.chips))

    for est in (HOG(), EmotionCNN("scores")):
        est.fit(faces[:1])
        a = FaceAligner(64, detect_every=5)

        def end_to_end(est=est, a=a):
            return [est.transform(a.align_frames(read_frames(p, color="gray"))[0]) for p in paths]

        t, _ = _median(end_to_end, repeats)
        row(f"end to end: decode + track/align + {type(est).__name__}", t)


def _face_rates(data, detect_every):
    """Face rate of every CREMA-D clip (face crops + native) with the default aligner."""
    paths = sorted((data / "cremad/facecrop128/video").glob("*.mp4"))
    paths += sorted((data / "cremad/native/video").glob("*.mp4"))
    aligner = FaceAligner(64, detect_every=detect_every)
    rows = []
    for p in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            _, st = align_video(p, aligner)
        rows.append((p.parent.parent.name, p.stem, st))
    print(f"face rate, FaceAligner(64, detect_every={detect_every}), {len(rows)} clips\n")
    print("| clips | n clips | frames | faces | min rate | clips < 95 % | detector calls | lost |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for group in ("facecrop128", "native"):
        g = [st for name, _, st in rows if name == group]
        print(
            f"| {group} | {len(g)} | {sum(s.n_frames for s in g)} | "
            f"{sum(s.n_faces for s in g)} | {min(s.face_rate for s in g):.3f} | "
            f"{sum(s.face_rate < 0.95 for s in g)} | {sum(s.n_detections for s in g)} | "
            f"{sum(s.n_lost for s in g)} |"
        )
    short = [(stem, st) for _, stem, st in rows if st.n_frames < 20 or st.face_rate < 1]
    if short:
        print("\n| clip | frames | faces |\n|---|---:|---:|")
        for stem, st in short:
            print(f"| {stem} | {st.n_frames} | {st.n_faces} |")
    print()
    return all(st.face_rate >= 0.95 for _, _, st in rows)


def main(argv=None):
    """Run the benchmark and print a markdown table; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-crops", type=int, default=10, help="face-crop clips to use")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument(
        "--face-rate", action="store_true", help="only measure the face rate of all clips"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cv2.setNumThreads(1)
    data = args.data or Path(os.environ.get("EMOSET_DATA", REPO.parent / "shared" / "data"))
    if args.face_rate:
        return 0 if _face_rates(data, 5) else 1
    native = sorted((data / "cremad/native/video").glob("*.mp4"))
    crops = sorted((data / "cremad/facecrop128/video").glob("*.mp4"))
    crops = [p for p in crops if "1064_TIE" not in p.name and "1076_MTI" not in p.name]
    crops = crops[:: max(1, len(crops) // args.n_crops)][: args.n_crops]
    if not native or not crops:
        logger.error("no clips found under %s", data)
        return 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        wide = _letterbox_640(native, tmp)
        for name, paths in (
            ("native 480x360", native),
            ("native@640x360", wide),
            ("facecrop 128x128", crops),
        ):
            logger.info("benchmarking %s (%d clips)", name, len(paths))
            _bench_group(name, paths, args.repeats, rows)
    print(
        f"one core (OMP/BLAS/OpenCV/onnxruntime threads = 1), process CPU time, "
        f"median of {args.repeats} runs\n"
    )
    print("| clips | stage | frames | frames/s | ms/frame |")
    print("|---|---|---:|---:|---:|")
    for name, stage, count, fps, ms in rows:
        print(f"| {name} | {stage} | {count} | {fps:,.0f} | {ms:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
