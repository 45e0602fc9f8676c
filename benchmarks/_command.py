"""The ``emoset`` command timed as a user runs it: a new process each time, cold cache, defaults.

Used by :mod:`benchmarks.bench_stream`. Each run is ``emoset --timings ...`` in a process of
its own with an empty feature cache (``EMOSET_CACHE`` set to a new folder) and BLAS threads
pinned to one; its wall time is measured from the spawn to the exit, its peak RSS from
``wait4`` in a small launcher process (not this benchmark's, whose own peak Linux would count in), and the ``--timings`` line it prints splits that time into start-up (the
interpreter and the parser), imports, model load and the command's stages. The model is the
one ``emoset train --corpus cremad`` writes with every default, trained once by that command
and kept in the benchmark's cache folder (keyed by the source of the package, so a change of
defaults trains it again).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from emoset.app.report import markdown_table

REPO = Path(__file__).resolve().parents[1]
_SCRIPT = Path(sys.executable).with_name("emoset")  # the console script a user runs
EMOSET = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "emoset.app.cli"]

#: The stages a timings line may hold, in the order the tables show them.
STAGES = (
    "start-up",
    "imports",
    "model load",
    "decode",
    "detect/align",
    "decoding audio and waiting for faces",
    "frame features (own thread)",
    "audio (own thread)",
    "waiting for frame features",
    "waiting for audio",
    "scoring",
    "predict",
)


def _env(cache):
    env = dict(os.environ)
    threads = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env.update(threads, EMOSET_CACHE=str(cache), MPLBACKEND="Agg")
    return env


def _code_digest():
    digest = hashlib.sha256()
    for path in sorted((REPO / "emoset").rglob("*.py*")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def default_model(cache_dir, data_root):
    """The model ``emoset train --corpus cremad -o ...`` writes (trained once, then kept)."""
    path = Path(cache_dir) / f"bench-command-default-{_code_digest()}.skops"
    if not path.exists():
        t0 = time.perf_counter()
        argv = ["train", "--corpus", "cremad", "--data-root", str(data_root), "-o", str(path)]
        argv += ["--cache-dir", str(cache_dir)]
        subprocess.run([*EMOSET, *argv], check=True, env=_env(cache_dir), capture_output=True)
        print(f"(trained the default model with emoset train in {time.perf_counter() - t0:.0f} s)")
    return path


#: Starts a command from a small process and reports its exit status, wall time and peak RSS.
#: Linux counts into a process's peak RSS the memory of the process it was forked from (Python
#: starts a child with vfork, so the first program the child runs inherits this benchmark's
#: own peak, hundreds of MB): forked from this small launcher, the command's figure is its own.
_LAUNCHER = """
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(sys.argv[1], "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {wall!r} {usage.ru_maxrss}")
"""


def run_command(argv):
    """``(wall s, peak RSS MB, {stage: s}, stdout)`` of one ``emoset --timings`` process.

    The wall time runs from the command's start to its exit; the peak RSS is the command's
    own (see ``_LAUNCHER``).
    """
    with tempfile.TemporaryDirectory(prefix="emoset-cold-") as tmp:
        out_path, err_path, report = (Path(tmp) / n for n in ("out", "err", "report"))
        command = [*EMOSET, "--timings", *argv]
        launch = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(report), *command]
        with open(out_path, "w") as out, open(err_path, "w") as err:
            subprocess.run(
                launch, env=_env(Path(tmp) / "cache"), stdout=out, stderr=err, check=True
            )
        code, wall, peak_kb = report.read_text().split()
        stdout, stderr = out_path.read_text(), err_path.read_text()
    if int(code) not in (0, 1):
        raise RuntimeError(f"emoset {' '.join(argv)} failed ({code}): {stderr[-500:]}")
    return float(wall), int(peak_kb) / 1024, parse_timings(stderr), stdout


def parse_timings(stderr):
    """``{stage: seconds}`` from the ``emoset: timings (s): ...`` line."""
    line = next((s for s in stderr.splitlines() if s.startswith("emoset: timings (s):")), "")
    pairs = re.findall(r"([a-z/ ()-]+?) (\d+\.\d+)(?:,|$)", line.split(":", 2)[-1])
    return {name.strip(): float(value) for name, value in pairs}


def median_runs(argv, runs):
    """Median wall time and stage times, and the largest peak RSS, of ``runs`` processes."""
    results = [run_command(argv) for _ in range(runs)]
    walls = [r[0] for r in results]
    stages = {
        k: float(np.median([r[2].get(k, 0.0) for r in results]))
        for k in STAGES
        if any(k in r[2] for r in results)
    }
    return float(np.median(walls)), max(r[1] for r in results), stages


def compile_package():
    """Byte-compile emoset's modules, as pip does when it installs the wheel: where
    ``PYTHONDONTWRITEBYTECODE`` is set (as in CI) a checkout never gets them, and every run
    would compile the package's source again (about 0.3 s), which no installed copy does."""
    import compileall

    if not compileall.compile_dir(REPO / "emoset", quiet=1):
        raise RuntimeError(f"could not byte-compile {REPO / 'emoset'}")


def command_table(model, source, clip, runs):
    """Markdown: the timeline of ``source``, the prediction of ``clip`` and ``--help``, as
    processes; then the timeline's work split by stage."""
    from emoset.io.media import probe

    compile_package()
    length = probe(source).duration
    lines = [
        "| command (new process, cold cache, defaults) | wall s | x real time | start-up "
        "| imports | model load | the work | peak RSS MB |",
        "|" + "---|" * 8,
    ]
    split = None
    with tempfile.TemporaryDirectory(prefix="emoset-bench-out-") as tmp:
        csv = str(Path(tmp) / "t.csv")
        cases = [
            (
                f"timeline MODEL {length:.0f}s.mp4 --csv t.csv",
                ["timeline", model, source, "--csv", csv],
            ),
            (
                f"timeline MODEL {length:.0f}s.mp4 --csv t.csv --segment 15",
                ["timeline", model, source, "--csv", csv, "--segment", "15"],
            ),
            (
                f"timeline MODEL {length:.0f}s.mp4 --csv t.csv --segment 15 --n-jobs 2",
                ["timeline", model, source, "--csv", csv, "--segment", "15", "--n-jobs", "2"],
            ),
            (
                f"timeline MODEL {length:.0f}s.mp4 --csv t.csv --fps 10",
                ["timeline", model, source, "--csv", csv, "--fps", "10"],
            ),
            (f"predict MODEL {Path(clip).name}", ["predict", model, clip]),
        ]
        lengths = (length, length, length, length, probe(clip).duration)
        for (label, argv), seconds in zip(cases, lengths, strict=True):
            wall, rss, st = median_runs([str(a) for a in argv], runs)
            fixed = [st.get(k, 0.0) for k in ("start-up", "imports", "model load")]
            cells = " | ".join(f"{v:.2f}" for v in [*fixed, wall - sum(fixed)])
            lines.append(
                f"| `emoset {label}` | {wall:.2f} | {seconds / wall:.1f}x | {cells} | {rss:.0f} |"
            )
            split = st if split is None else split
        walls = []
        for _ in range(max(runs, 5)):
            t0 = time.perf_counter()
            subprocess.run([*EMOSET, "--help"], check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
        lines.append(f"| `emoset --help` | {np.median(walls):.2f} | | | | | | |")
    stages = [k for k in STAGES[3:] if k in split and k != "predict"]
    lines += [
        "",
        "The timeline's work by stage (s; a forked process decodes the video and aligns the "
        "faces, the main thread decodes the audio, waits for the faces and scores, the frame "
        "features and the audio run in threads of their own; the stages overlap):",
        "",
        markdown_table([split], stages, floatfmt=".2f"),
    ]
    return "\n".join(lines)
