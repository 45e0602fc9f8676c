"""Benchmark: training on tens of thousands of clips, exact kernels versus Nyström.

Generated image sets stand in for a large corpus: ``d = 128`` frame features (CNN features
after PCA), 30-120 frames per clip, 7 classes, each class with its own mean and subspace.
For each of the recognizer's video candidates (:func:`emoset.recognizer.subsystems.video_candidates`:
subspace/projection, covariance and Gaussian/log-Euclidean RBF, mean/RBF) and for
``n = 1,000, 5,000, 20,000`` training clips it measures, each case in a fresh subprocess:

* ``fit`` and ``predict`` wall time (``predict`` on 700 held-out clips), BLAS pinned to one
  thread and ``n_jobs=1`` (so the times are per core);
* the peak resident memory of the process (``ru_maxrss``) and its memory once the clips are
  generated ("data": the interpreter, NumPy and the clips, before emoset is imported), so
  ``peak - data`` is what importing emoset and training add;
* the held-out accuracy (chance is 1/7).

The exact kernel runs only where its ``n x n`` Gram matrix fits (up to ``--exact-max``
clips, 5,000 by default): at 20,000 clips one Gram matrix is 3.2 GB in float64 and the PLS
works on centred copies of it, so it is skipped and its time estimated from the exponent
fitted on the smaller sizes.  The Nyström rows use ``n_landmarks = --landmarks`` (1,000).
The table ends with the exponents ``b`` of ``time ~ n^b`` and ``c`` of ``memory ~ n^c``
fitted over all sizes for each model and method; a skipped size is extrapolated with the
exponents between the two largest measured sizes (memory is linear, from the frames, at
small ``n`` and quadratic, from the Gram matrix, at large ``n``: the local growth is the
honest one).
The goal on a 2-core, 24 GB machine: 20,000 clips fit in at most 10 minutes and 8 GB.

Usage::

    python -m benchmarks.bench_scale [--quick] [--sizes 1000 5000 20000] [--landmarks 1000]
"""

import os

# Pin BLAS threads before numpy is imported (speed-ups must not come from threads).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

logger = logging.getLogger("bench_scale")

MODELS = ("subspace", "covariance", "gaussian", "mean")
N_CLASSES = 7
N_TEST = 700
D = 128


def make_sets(n_sets, *, random_state=0, class_seed=12345):
    """``n_sets`` ragged image sets ``(30..120, 128)`` and labels of 7 classes."""
    crng = np.random.default_rng(class_seed)
    means = 0.4 * crng.normal(size=(N_CLASSES, D)) / np.sqrt(D)
    bases = np.linalg.qr(crng.normal(size=(N_CLASSES, D, 8)))[0]
    shared = np.linalg.qr(crng.normal(size=(D, 16)))[0]
    rng = np.random.default_rng(random_state)
    y = rng.integers(0, N_CLASSES, size=n_sets)
    sets = []
    for c in y:
        m = int(rng.integers(30, 121))
        frames = rng.normal(size=(m, 8)) @ (0.7 * bases[c].T)
        frames += rng.normal(size=(m, 16)) @ (2.0 * shared.T)  # shared nuisance (pose, id)
        frames += rng.normal(size=(m, D)) + means[c]
        sets.append(frames)
    return sets, y


def _rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _estimator(model, landmarks):
    from emoset.recognizer.subsystems import video_candidates

    est = {e.set_model: e for e in video_candidates(0)}[model]
    return est.set_params(n_landmarks=landmarks)


def run_case(model, n, landmarks):
    """Fit and predict one case in this process; return a dict of measurements."""
    sets, y = make_sets(n, random_state=1)
    test, y_test = make_sets(N_TEST, random_state=2)
    data_mb = _rss_mb()
    est = _estimator(model, landmarks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short subspaces etc.: not what is measured here
        t0 = time.perf_counter()
        est.fit(sets, y)
        t1 = time.perf_counter()
        acc = float(np.mean(est.predict(test) == y_test))
        t2 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "model": model,
        "n": n,
        "landmarks": landmarks,
        "fit_s": t1 - t0,
        "predict_s": t2 - t1,
        "peak_mb": peak_mb,
        "data_mb": data_mb,
        "accuracy": acc,
    }


def _subprocess_case(model, n, landmarks, timeout):
    cmd = [sys.executable, "-m", "benchmarks.bench_scale", "--case", model, str(n)]
    cmd += ["--landmarks", str(landmarks)] if landmarks else ["--landmarks", "0"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"model": model, "n": n, "landmarks": landmarks, "skipped": f"> {timeout:.0f} s"}
    if res.returncode != 0:
        tail = res.stderr.strip().splitlines()[-1:] or ["?"]
        return {"model": model, "n": n, "landmarks": landmarks, "skipped": f"failed: {tail[0]}"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def fitted_exponent(ns, times):
    """Least-squares slope of ``log(time)`` on ``log(n)`` (``nan`` with fewer than 2 points)."""
    if len(ns) < 2:
        return float("nan")
    return float(np.polyfit(np.log(ns), np.log(times), 1)[0])


def _fmt_case(r):
    method = "exact" if not r["landmarks"] else f"Nyström m={r['landmarks']}"
    if "skipped" in r:
        return f"| {r['model']} | {method} | {r['n']:,} | {r['skipped']} | | | | |"
    return (
        f"| {r['model']} | {method} | {r['n']:,} | {r['fit_s']:.1f} | {r['predict_s']:.2f} "
        f"| {r['peak_mb'] / 1024:.2f} | {(r['peak_mb'] - r['data_mb']) / 1024:.2f} "
        f"| {r['accuracy']:.3f} |"
    )


def report(rows, sizes, landmarks, models):
    """Print the measurements and the fitted exponents as markdown tables."""
    print(
        f"Generated sets: d={D}, 30-120 frames, {N_CLASSES} classes (chance "
        f"{1 / N_CLASSES:.3f}); predict on {N_TEST} clips; BLAS 1 thread, n_jobs=1; "
        f"one subprocess per case.\n"
    )
    print("| set model | method | n | fit s | predict s | peak GiB | peak - data GiB | accuracy |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    order = {m: i for i, m in enumerate(MODELS)}
    rows = sorted(rows, key=lambda r: (order[r["model"]], r["n"], bool(r["landmarks"])))
    for r in rows:
        print(_fmt_case(r))
    largest = max(sizes)
    print(
        f"\n| set model | method | b: fit time ~ n^b | c: memory ~ n^c "
        f"| n = {largest:,}: fit s, peak - data GiB |"
    )
    print("|---|---|---:|---:|---|")
    for model in models:
        for m in (None, landmarks):
            done = [r for r in rows if r["model"] == model and r["landmarks"] == m]
            ok = [r for r in done if "skipped" not in r]
            ns = [r["n"] for r in ok]
            b = fitted_exponent(ns, [r["fit_s"] for r in ok])
            extra = [r["peak_mb"] - r["data_mb"] for r in ok]
            c = fitted_exponent(ns, extra)
            method = "exact" if m is None else f"Nyström m={m}"
            if ok and ok[-1]["n"] == largest:
                at = f"{ok[-1]['fit_s']:.0f} s, {extra[-1] / 1024:.1f} GiB (measured)"
            elif len(ok) >= 2:  # the growth between the two largest sizes, carried on
                scale = largest / ok[-1]["n"]
                b2 = fitted_exponent(ns[-2:], [r["fit_s"] for r in ok[-2:]])
                c2 = fitted_exponent(ns[-2:], extra[-2:])
                at = (
                    f"~{ok[-1]['fit_s'] * scale**b2:.0f} s, ~{extra[-1] / 1024 * scale**c2:.1f} "
                    f"GiB (extrapolated from n={ns[-2]:,}-{ns[-1]:,}: n^{b2:.2f}, n^{c2:.2f})"
                )
            else:
                at = "n/a"
            print(f"| {model} | {method} | {b:.2f} | {c:.2f} | {at} |")


def main(argv=None):
    """Run the benchmark and print markdown tables; return 0 on success."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--landmarks", type=int, default=None)
    parser.add_argument("--exact-max", type=int, default=5000)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--quick", action="store_true", help="n = 250, 500, 1000; m = 100")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per case")
    parser.add_argument("--json", default=None, help="also write the measurements here")
    parser.add_argument("--report", default=None, help="re-print the tables of a --json file")
    parser.add_argument("--case", nargs=2, metavar=("MODEL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:  # one measurement, in this (fresh) process
        landmarks = args.landmarks or None
        print(json.dumps(run_case(args.case[0], int(args.case[1]), landmarks)))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.report:
        with open(args.report) as fh:
            rows = json.load(fh)
        marks = {r["landmarks"] for r in rows if r["landmarks"]}
        models = [m for m in MODELS if any(r["model"] == m for r in rows)]
        report(rows, sorted({r["n"] for r in rows}), marks.pop() if marks else None, models)
        return 0
    sizes = args.sizes or ([250, 500, 1000] if args.quick else [1000, 5000, 20000])
    landmarks = args.landmarks or (100 if args.quick else 1000)
    rows = []
    for model in args.models:
        for n in sizes:
            for m in (None, landmarks):
                if m is None and n > args.exact_max:
                    gram_gb = n * n * 8 / 1e9
                    rows.append(
                        {
                            "model": model,
                            "n": n,
                            "landmarks": None,
                            "skipped": f"skipped: Gram {gram_gb:.1f} GB, PLS copies it",
                        }
                    )
                    continue
                logger.info("%s n=%d %s", model, n, "exact" if m is None else f"m={m}")
                r = _subprocess_case(model, n, m, args.timeout)
                logger.info("  %s", r)
                rows.append(r)
    report(rows, sizes, landmarks, args.models)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
