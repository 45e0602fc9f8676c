"""Benchmark: manifold kernel matrices and PLS fits at AFEW size (1,156 sets).

Times, with BLAS pinned to one thread and as medians of several runs:

* the log-Euclidean Gram matrix of 1,156 SPD matrices (d = 64 and 128): ours
  (:class:`emoset.sets.kernels.LogEuclideanKernel`: one batched ``eigh`` + one GEMM on
  half-vectorised logs) against pyRiemann's ``kernel_logeuclid`` on the same matrices, with
  the maximum absolute difference of the two results;
* the Grassmann projection Gram matrix (``n_dims = 10``) for reference;
* :class:`emoset.sets.pls.OneVsRestPLSClassifier` fit + predict on the 1156 x 1156 kernel with
  7 classes, ``backend="ikpls"`` against ``backend="sklearn"``.

Prints a markdown table.  Usage::

    python benchmarks/bench_kernels.py [--repeats 5] [--dims 64 128] [--n-sets 1156]
"""

import os

# Pin BLAS threads before numpy is imported (speed-ups must not come from threads).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from emoset.sets.imagesets import CovarianceModel, SubspaceModel  # noqa: E402
from emoset.sets.kernels import LogEuclideanKernel, ProjectionKernel  # noqa: E402
from emoset.sets.pls import OneVsRestPLSClassifier  # noqa: E402

logger = logging.getLogger("bench_kernels")


def _pyriemann_kernel():
    try:
        from pyriemann.geometry.kernel import kernel_logeuclid
    except ImportError:
        try:
            from pyriemann.utils.kernel import kernel_logeuclid
        except ImportError:
            return None
    return kernel_logeuclid


def _median_time(func, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def _make_sets(n_sets, d, rng):
    """Ragged sets of 20-80 frames with correlated features (like CNN face features)."""
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    return [rng.normal(size=(int(rng.integers(20, 81)), d)) @ mix for _ in range(n_sets)]


def main(argv=None):
    """Run the benchmark and print a markdown table; return 0 on success."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-sets", type=int, default=1156)
    parser.add_argument("--dims", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pyriemann-repeats", type=int, default=3)
    parser.add_argument("--n-classes", type=int, default=7)
    parser.add_argument("--n-components", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    try:
        from threadpoolctl import threadpool_info, threadpool_limits

        limiter = threadpool_limits(limits=1)
        blas = ", ".join(f"{i['internal_api']}={i['num_threads']}" for i in threadpool_info())
    except ImportError:
        limiter, blas = None, "threadpoolctl not installed (env vars set to 1)"

    rng = np.random.default_rng(args.seed)
    kernel_logeuclid = _pyriemann_kernel()
    rows = []
    gram_for_pls = None
    y = rng.integers(0, args.n_classes, size=args.n_sets)
    for d in args.dims:
        logger.info("d=%d: generating %d sets", d, args.n_sets)
        sets = _make_sets(args.n_sets, d, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            C = CovarianceModel().fit_transform(sets)
            U = SubspaceModel(n_dims=10).fit_transform(sets)
        # Interleave ours and pyRiemann so that load changes on a shared machine hit both.
        ours_t, pyr_t, eigh_t = [], [], []
        K_ours = K_pyr = None
        for r in range(max(args.repeats, args.pyriemann_repeats)):
            if r < args.repeats:
                t, K_ours = _median_time(lambda C=C: LogEuclideanKernel().fit_transform(C), 1)
                ours_t.append(t)
                eigh_t.append(_median_time(lambda C=C: np.linalg.eigh(C), 1)[0])
            if kernel_logeuclid is not None and r < args.pyriemann_repeats:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t, K_pyr = _median_time(lambda C=C: kernel_logeuclid(C), 1)
                pyr_t.append(t)
        t_ours, t_eigh = float(np.median(ours_t)), float(np.median(eigh_t))
        if kernel_logeuclid is not None:
            t_pyr = float(np.median(pyr_t))
            diff = float(np.max(np.abs(K_ours - K_pyr)) / np.max(np.abs(K_pyr)))
            rows.append(
                (
                    f"log-Euclidean Gram, d={d}",
                    f"{t_ours:.3f} (batched eigh alone: {t_eigh:.3f})",
                    f"{t_pyr:.3f} (pyRiemann)",
                    f"{t_pyr / t_ours:.1f}x",
                    f"rel. max diff {diff:.1e}",
                )
            )
        else:
            rows.append((f"log-Euclidean Gram, d={d}", f"{t_ours:.3f}", "n/a", "", ""))
        t_proj, _ = _median_time(lambda U=U: ProjectionKernel().fit_transform(U), args.repeats)
        rows.append((f"projection Gram, d={d}, r=10", f"{t_proj:.3f}", "", "", ""))
        if gram_for_pls is None:
            gram_for_pls = K_ours

    K = gram_for_pls
    for strategy in ("ovr", "pls2"):
        times = {}
        preds = {}
        for backend in ("ikpls", "sklearn"):

            def run(backend=backend, strategy=strategy):
                clf = OneVsRestPLSClassifier(
                    args.n_components, strategy=strategy, backend=backend
                ).fit(K, y)
                return clf.decision_function(K)

            times[backend], preds[backend] = _median_time(run, args.repeats)
        diff = float(np.max(np.abs(preds["ikpls"] - preds["sklearn"])))
        rows.append(
            (
                f"PLS fit+predict {args.n_sets}x{args.n_sets}, {args.n_classes} classes, "
                f"A={args.n_components}, {strategy}",
                f"{times['ikpls']:.3f} (ikpls)",
                f"{times['sklearn']:.3f} (sklearn)",
                f"{times['sklearn'] / times['ikpls']:.1f}x",
                f"max score diff {diff:.1e}",
            )
        )

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"BLAS threads: {blas}; load average {load}; n_sets={args.n_sets}; "
        f"medians of {args.repeats} runs "
        f"({args.pyriemann_repeats} for pyRiemann)\n"
    )
    print("| task | ours [s] | reference [s] | speed-up | agreement |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if limiter is not None:
        limiter.restore_original_limits()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
