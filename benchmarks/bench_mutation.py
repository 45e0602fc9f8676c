"""Mutation testing of the core modules: how many small bugs the fast tests catch.

``python -m benchmarks mutation [MODULE ...] [--tests FILE ...] [--max-children N] [--list]``

For each module, mutmut (the ``dev`` extra) plants one small change at a time in a copy of
the package (an operator, a constant, a comparison, an argument dropped...) and runs the
module's fast tests against it; a mutant that no test notices *survives*. The table gives
per module the mutants, those killed, those surviving (and their share), timeouts and those
no test reached; ``--list`` names the survivors (``mutmut show NAME`` in the work folder,
``.cache/mutation/<module>``, shows the change). Not part of ``make bench``: it takes from
minutes (fusion) to hours (the whole list) on two cores, so name the modules.

``--tests`` replaces the module's test files (e.g. to measure the tests of an older commit);
``--only`` mutates only the functions named (the CLI is measured on its option handling:
:data:`ONLY`).
The shared clips must be reachable (``$EMOSET_DATA`` or ``../shared/data``).
"""

from __future__ import annotations

import argparse
import configparser
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: module -> (source file or files, its fast tests)
MODULES = {
    "geometry": (
        "emoset/sets/geometry.py",
        ["tests/sets/test_geometry.py", "tests/sets/test_geometry_limits.py"],
    ),
    "imagesets": (
        "emoset/sets/imagesets.py",
        ["tests/sets/test_imagesets.py", "tests/sets/test_imagesets_limits.py"],
    ),
    "kernels": ("emoset/sets/kernels.py", ["tests/sets/test_kernels.py"]),
    "pls": ("emoset/sets/pls.py", ["tests/sets/test_pls.py"]),
    "fusion": (
        "emoset/decision/fusion.py",
        ["tests/decision/test_fusion.py", "tests/decision/test_fusion_by_hand.py"],
    ),
    # AbstainingClassifier: its own tests, and the others that fit one
    "abstain": (
        "emoset/decision/abstain.py",
        [
            "tests/decision/test_abstain.py",
            "tests/audio/test_audio.py",
            "tests/video/test_mirror.py",
            "tests/sets/test_informative_frames.py",
            "tests/decision/test_fusion.py",
            "tests/test_common.py",
        ],
    ),
    "frame_features": (
        "emoset/video/frame_features.py",
        [
            "tests/video/test_frame_features.py",
            "tests/video/test_feature_oracles.py",
            "tests/video/test_frame_feature_checks.py",
        ],
    ),
    # the command line: its parser (cli.py) and what the commands do with the options
    "cli": (
        ("emoset/app/cli.py", "emoset/app/commands.py"),
        ["tests/app/test_cli_options.py"],
    ),
}

#: Modules measured on some functions only: the CLI's option handling (its other functions
#: run whole commands: minutes a mutant).
ONLY = {"cli": ["_load_corpus", "_recognizer", "_train", "_landmarks", "_cache_dir"]}


def _sources(source):
    """A module's source files, as a tuple."""
    return (source,) if isinstance(source, str) else tuple(source)


STATUSES = ("killed", "survived", "timeout", "no tests")

#: Folders copied beside the package: the tests, and the tools and pipelines they import.
COPIED = ("tests", "tools", "pipelines")


def _data_root():
    env = os.environ.get("EMOSET_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def _pytest_section():
    """The project's pytest settings (markers, warnings as errors, strict xfails)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(REPO / "setup.cfg")
    return dict(parser["tool:pytest"])


def prepare(work, source, tests):
    """A fresh work folder: the package, the tests and a setup.cfg for this module."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "emoset", work / "emoset", ignore=ignore)
    for folder in COPIED:  # what the tests read besides the package
        shutil.copytree(REPO / folder, work / folder, ignore=ignore)
    config = configparser.ConfigParser(interpolation=None)
    config["tool:pytest"] = _pytest_section()
    config["mutmut"] = {
        "source_paths": "emoset",
        "only_mutate": "\n" + "\n".join(_sources(source)),
        "also_copy": "\n" + "\n".join(f"{f}/" for f in COPIED if f != "tests"),
        "pytest_add_cli_args_test_selection": "\n" + "\n".join(tests),
        "pytest_add_cli_args": "\n-p\nno:cacheprovider\n-p\nno:xdist\n-q\n-m\nnot slow",
    }
    with open(work / "setup.cfg", "w") as f:
        config.write(f)


def _patterns(source, functions):
    """mutmut's names of the mutants of these functions of ``source`` (in whichever of its
    files defines them)."""
    modules = [s.removesuffix(".py").replace("/", ".") for s in _sources(source)]
    return [f"{m}.x_{f}__mutmut_*" for m in modules for f in functions]


#: ``mutmut run`` again (it resumes) while mutants are left unchecked: mutmut 3.8.1 can stop
#: with a KeyError when a test's own child process ends (the abstain tests, for one).
RESUMES = 4


def run(work, max_children, patterns=()):
    """``mutmut run`` in ``work`` (only the mutants matching ``patterns`` when given);
    returns ``{mutant name: status}``."""
    env = dict(os.environ, EMOSET_DATA=str(_data_root().resolve()))
    env.setdefault("NUMBA_CACHE_DIR", str(work / "numba"))
    # one feature cache for every mutant's run: the clips are decoded and aligned once
    env.setdefault("EMOSET_TEST_FEATURES", str(work.parent / "features"))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *patterns]
    for attempt in range(1 + RESUMES):
        # what mutmut said, for when it fails
        with open(work / "mutmut.log", "a" if attempt else "w") as log:
            subprocess.run(
                cmd, cwd=work, env=env, check=False, stdout=log, stderr=subprocess.STDOUT
            )
        results = _results(work, env, patterns)
        if "not checked" not in results.values():
            break
    return results


def _results(work, env, patterns):
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    results = dict(re.findall(r"^\s+(\S+): (.+)$", out, flags=re.MULTILINE))
    if patterns:
        results = {k: v for k, v in results.items() if any(fnmatch(k, p) for p in patterns)}
    return results


def summarise(name, results):
    counts = Counter(results.values())
    total = len(results)
    survived = counts["survived"]
    other = total - sum(counts[s] for s in STATUSES)
    share = f"{100 * survived / total:.1f} %" if total else "-"
    return (
        f"| {name} | {total} | {counts['killed']} | {survived} | {share} | "
        f"{counts['timeout']} | {counts['no tests']} | {other} |"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks mutation", description=__doc__)
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"of {', '.join(MODULES)}")
    parser.add_argument("--tests", nargs="+", default=None, help="test files to run instead")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--list", action="store_true", help="name the surviving mutants")
    parser.add_argument(
        "--only", nargs="+", default=None, metavar="FUNCTION", help="mutate these functions only"
    )
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "mutation")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    if importlib_missing("mutmut"):
        print("mutmut is not installed: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    modules = args.modules or list(MODULES)
    print("| module | mutants | killed | survived | survived share | timeout | no test | other |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    survivors, status = {}, 0
    for name in modules:
        source, tests = MODULES[name]
        work = args.work / name
        prepare(work, source, args.tests or tests)
        only = args.only or ONLY.get(name, [])
        results = run(work, args.max_children, _patterns(source, only))
        if not any(v in ("killed", "survived") for v in results.values()):
            print(f"| {name} | nothing measured: see {work / 'mutmut.log'} |")
            status = 1
            continue
        print(summarise(name, results), flush=True)
        survivors[name] = sorted(k for k, v in results.items() if v == "survived")
    if args.list:
        for name, names in survivors.items():
            print(f"\n{name}: {len(names)} surviving mutant(s)")
            for mutant in names:
                print(f"    {mutant}")
    return status


def importlib_missing(name):
    import importlib.util

    return importlib.util.find_spec(name) is None


if __name__ == "__main__":
    sys.exit(main())
