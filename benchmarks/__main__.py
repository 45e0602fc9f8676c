"""Run every benchmark (``make bench``): ``python -m benchmarks [name ...]``.

``python -m benchmarks NAME --option ...`` runs one benchmark with its own options (see
``python -m benchmarks NAME --help``).

Each ``bench_*.py`` module has ``main(argv) -> int`` and prints a markdown table. BLAS and
OpenMP threads should be pinned to one (the Makefile does it) so that timings are per core;
every figure is a median of several runs, and comparisons (ours vs. a peer) are measured in the
same run.
"""

import importlib
import pkgutil
import sys
from pathlib import Path

#: Benchmarks that run only when named (``python -m benchmarks mutation``).
ON_REQUEST = ("bench_mutation",)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    split = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    wanted, options = argv[:split], argv[split:]
    here = Path(__file__).resolve().parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    known = set(names) | {n.removeprefix("bench_") for n in names}
    # other words go to the one benchmark named: python -m benchmarks mutation fusion cli
    options = [a for a in wanted if a not in known] + options
    wanted = [a for a in wanted if a in known]
    if argv[:1] in (["mutation"], ["bench_mutation"]):  # all its words are modules ("kernels")
        wanted, options = argv[:1], argv[1:]
    # mutation testing takes hours: it runs when named, never as part of every benchmark
    default = [n for n in names if n not in ON_REQUEST]
    chosen = [n for n in names if n in wanted or n.removeprefix("bench_") in wanted]
    chosen = chosen if wanted else default
    if options and len(chosen) != 1:
        raise SystemExit("options go to one benchmark: python -m benchmarks NAME --option ...")
    status = 0
    for name in chosen:
        print(f"\n## {name}\n", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        status |= int(module.main(options) or 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
