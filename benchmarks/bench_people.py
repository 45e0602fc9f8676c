"""Benchmark: people tracking at 640x360 with 1, 2 and 4 faces, on one core.

Scenes are built from the CREMA-D face crops in ``../shared/data`` (or ``$EMOSET_DATA``): each
face crop (128x128, face about 100 px) is pasted on a 640x360 gray frame, 1, 2 or 4 of them
side by side, the first speaking and the others held still (listeners), and the scene is
encoded to H.264 in a temporary folder. For each scene it measures process CPU time (medians
of several runs, every thread pool pinned to one thread):

* decode: the 640x360 H.264 frames, gray (what a scene costs whatever its faces);
* today's path: :meth:`~emoset.video.faces.FaceAligner.align_frames` (the largest face only);
* people: :func:`~emoset.video.people.track_people` (every face, tracks, identities);
* features: the emotion CNN's 128-d features of every aligned face;
* end to end: decode + people + CNN features;
* landmarks alone: dlib's 68 points of every tracked face, on its box (the part of ``people``
  that no face can skip).

and prints frames per second per core, milliseconds per frame, and the cost of each extra
face against one face: of the face work alone and of the whole frame (decode included); then
what each extra face would cost were a face's work only its 68 landmarks and CNN features,
beside the work the faces of a frame share.
Usage::

    python -m benchmarks people [--repeats 3] [--data PATH] [--clips 6]
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from emoset.io.media import read_frames  # noqa: E402
from emoset.video.cnn_features import EmotionCNN  # noqa: E402
from emoset.video.faces import FaceAligner  # noqa: E402
from emoset.video.people import track_people  # noqa: E402

logger = logging.getLogger("bench_people")
REPO = Path(__file__).resolve().parents[1]
SIZE = (360, 640)
#: Where the faces go on the 640x360 frame (top, left), in order.
SPOTS = [(40, 40), (40, 480), (200, 200), (200, 330)]


def _median(func, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.process_time()
        out = func()
        times.append(time.process_time() - t0)
    return float(np.median(times)), out


def _scene(clips, n_faces, path):
    """``n_faces`` face crops on a 640x360 frame, the first moving, the others still."""
    import av

    frames = [read_frames(c, color="rgb") for c in clips[:n_faces]]
    n = min(len(f) for f in frames)
    out = np.full((n, *SIZE, 3), 96, np.uint8)
    for k, (f, (top, left)) in enumerate(zip(frames, SPOTS, strict=False)):
        out[:, top : top + 128, left : left + 128] = f[:n] if k == 0 else f[:1]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = SIZE[1], SIZE[0], "yuv420p"
        for img in out:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def main(argv=None):
    """Run the benchmark and print a markdown table; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clips", type=int, default=6, help="scenes per face count")
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cv2.setNumThreads(1)
    data = args.data or Path(os.environ.get("EMOSET_DATA", REPO.parent / "shared" / "data"))
    crops = sorted((data / "cremad/facecrop128/video").glob("*.mp4"))
    crops = [p for p in crops if "1064_TIE" not in p.name and "1076_MTI" not in p.name]
    if len(crops) < 4 * args.clips:
        logger.error("not enough face-crop clips under %s", data)
        return 1
    cnn = EmotionCNN("features").fit(np.zeros((1, 64, 64), np.uint8))
    read_frames(crops[0], color="gray")  # warm up: the first decode loads FFmpeg's codecs
    rows, per_frame, whole, floor = [], {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for n_faces in (1, 2, 4):
            paths = [
                _scene(crops[4 * k : 4 * k + 4], n_faces, Path(tmp) / f"s{n_faces}_{k}.mp4")
                for k in range(args.clips)
            ]
            gray = [read_frames(p, color="gray") for p in paths]
            n = sum(len(g) for g in gray)
            logger.info("%d face(s): %d scenes, %d frames", n_faces, len(paths), n)
            t_dec, _ = _median(
                lambda p=paths: [read_frames(x, color="gray") for x in p], args.repeats
            )
            t_old, _ = _median(
                lambda g=gray: [FaceAligner(64).align_frames(x, warn_no_face=False) for x in g],
                args.repeats,
            )
            t_people, found = _median(
                lambda g=gray: [track_people(x, FaceAligner(64)) for x in g], args.repeats
            )
            faces = np.concatenate([f.faces for f in found])
            t_cnn, _ = _median(lambda f=faces: cnn.transform(f), args.repeats)
            t_lm, _ = _median(lambda g=gray, f=found: _landmarks_alone(g, f), args.repeats)
            seen = sum(len(f.people) for f in found) / len(found)
            total = t_dec + t_people + t_cnn
            per_frame[n_faces] = (t_people + t_cnn) / n
            whole[n_faces] = total / n
            floor[n_faces] = (t_lm + t_cnn) / len(faces)
            rows += [
                (n_faces, seen, "decode (gray)", n / t_dec, 1000 * t_dec / n),
                (n_faces, seen, "today's path: largest face only", n / t_old, 1000 * t_old / n),
                (n_faces, seen, "people: every face tracked", n / t_people, 1000 * t_people / n),
                (n_faces, seen, "emotion CNN on every face", n / t_cnn, 1000 * t_cnn / n),
                (n_faces, seen, "end to end: decode + people + CNN", n / total, 1000 * total / n),
                (n_faces, seen, "68 landmarks alone, every face", n / t_lm, 1000 * t_lm / n),
            ]
    print(
        f"640x360 H.264, one core (OMP/BLAS/OpenCV/onnxruntime threads = 1), process CPU "
        f"time, median of {args.repeats} runs, {args.clips} scenes per row\n"
    )
    print("| faces | people found (mean) | stage | frames/s | ms/frame |")
    print("|---:|---:|---|---:|---:|")
    for n_faces, seen, stage, fps, ms in rows:
        print(f"| {n_faces} | {seen:.1f} | {stage} | {fps:,.0f} | {ms:.2f} |")
    print("\nEach extra face against one face (per frame):\n")
    print(
        "| faces | face work (people + CNN), ms | each extra face, x one face's face work "
        "| whole frame (decode + people + CNN), ms | each extra face, x one face's frame |"
    )
    print("|---:|---:|---:|---:|---:|")
    for n_faces in per_frame:
        work, frame = per_frame[n_faces], whole[n_faces]
        cells = [f"{n_faces}", f"{1000 * work:.2f}", "-", f"{1000 * frame:.2f}", "-"]
        if n_faces > 1:
            cells[2] = f"{_extra(per_frame, n_faces):.2f}"
            cells[4] = f"{_extra(whole, n_faces):.2f}"
        print("| " + " | ".join(cells) + " |")
    counts = np.array(list(whole), dtype=float)
    slope, shared = np.polyfit(counts, [whole[n] for n in whole], 1)  # frame = shared + n x face
    least = float(np.median(list(floor.values())))
    print(
        f"\nA line through the 1-, 2- and 4-face frames: {1000 * shared:.2f} ms shared by the "
        f"faces of a frame (decode, the tracker's once-a-frame work) + {1000 * slope:.2f} ms a "
        f"face, so each extra face costs {slope / (shared + slope):.2f}x a one-face frame. A "
        f"face's own least work, its 68 landmarks and CNN features, is {1000 * least:.2f} ms: "
        f"were that all a face cost, each extra face would cost "
        f"{least / (shared + least):.2f}x."
    )
    return 0


def _extra(cost, n_faces):
    """What each face beyond the first adds, as a share of the one-face cost."""
    return (cost[n_faces] - cost[1]) / cost[1] / (n_faces - 1)


def _landmarks_alone(gray, found):
    """dlib's landmarks of every tracked face on its box: the per-face work no tracker skips."""
    aligner = FaceAligner(64)
    for frames, people in zip(gray, found, strict=True):
        for i, box in zip(people.frame_indices, people.boxes, strict=True):
            aligner._predict(frames[i], box)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
