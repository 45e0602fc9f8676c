"""Run every benchmark (``make bench``): ``python -m benchmarks [name ...]``.

Each ``bench_*.py`` module has ``main(argv) -> int`` and prints a markdown table. BLAS and
OpenMP threads should be pinned to one (the Makefile does it) so that timings are per core;
every figure is a median of several runs, and comparisons (ours vs. a peer) are measured in the
same run.
"""

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    here = Path(__file__).resolve().parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    chosen = [n for n in names if not argv or n in argv or n.removeprefix("bench_") in argv]
    status = 0
    for name in chosen:
        print(f"\n## {name}\n", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        status |= int(module.main([]) or 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
