"""Download CREMA-D and RAVDESS from their official public locations (``make data``).

Usage::

    python -m pipelines.fetch_data                      # default subset, asks before downloading
    python -m pipelines.fetch_data --dry-run            # only print the plan
    python -m pipelines.fetch_data --yes                # no question (CI, make reproduce-*)
    python -m pipelines.fetch_data --corpus cremad --actors all
    python -m pipelines.fetch_data --corpus ravdess --actors 1-4 --ravdess-parts speech_audio speech_video

Default subset (a fresh machine, about 650 MB):

- CREMA-D: video + audio of the 12 actors in ``emoset.datasets.fetch.CREMAD_DEFAULT_ACTORS`` (6 female,
  6 male; 977 clips, 1954 files, 441.8 MB) and the crowd raters' ``summaryTable.csv`` (449 kB),
  from github.com/CheyneyComputerScience/CREMA-D (ODbL 1.0);
- RAVDESS: the speech audio of all 24 actors (``Audio_Speech_Actors_01-24.zip``, about 200 MB,
  1440 clips), from zenodo.org/records/1188976 (CC BY-NC-SA 4.0, non-commercial).

Files go to ``--data-home``, else ``$EMOSET_DATA``, else ``~/emoset_data``; set
``EMOSET_DATA`` to that folder so that the loaders find it. ``--actors`` takes ids, ranges and
``all``: CREMA-D ids are 1001-1091 and RAVDESS ids 1-24, so with ``--corpus all`` each id goes to
the corpus it belongs to.
"""

import argparse
import logging
import os
import sys

from emoset.datasets.download import DownloadError, format_size
from emoset.datasets.fetch import (
    CREMAD_DEFAULT_ACTORS,
    RAVDESS_PARTS,
    fetch_cremad,
    fetch_ravdess,
    get_data_home,
)

DEFAULT_RAVDESS_PARTS = ("speech_audio",)


def _parse_actors(values):
    """``["1001-1003", "7", "all"]`` -> (cremad ids or None, ravdess ids or None, all?)."""
    if not values:
        return None, None, False
    if any(v.lower() == "all" for v in values):
        return None, None, True
    numbers = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            lo, _, hi = item.partition("-")
            try:
                lo_i, hi_i = int(lo), int(hi or lo)
            except ValueError:
                raise SystemExit(
                    f"--actors: {item!r} is not an id or a range like 1001-1012."
                ) from None
            numbers += range(lo_i, hi_i + 1)
    cremad = [str(n) for n in numbers if n >= 1000]
    ravdess = [n for n in numbers if n < 1000]
    return cremad, ravdess, False


def _ask(question) -> bool:
    if not sys.stdin.isatty():
        print(f"{question} -> no answer possible (stdin is not a terminal); pass --yes.")
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Licences: CREMA-D ODbL 1.0 / DbCL 1.0; RAVDESS CC BY-NC-SA 4.0 (non-commercial).",
    )
    parser.add_argument("--corpus", choices=("cremad", "ravdess", "all"), default="all")
    parser.add_argument(
        "--actors",
        nargs="+",
        metavar="ID",
        help="actor ids or ranges (1001-1012, 1-24) or 'all'; default: the small subset",
    )
    parser.add_argument(
        "--cremad-modalities",
        nargs="+",
        choices=("video", "audio"),
        default=["video", "audio"],
    )
    parser.add_argument(
        "--ravdess-parts",
        nargs="+",
        choices=sorted(RAVDESS_PARTS),
        default=list(DEFAULT_RAVDESS_PARTS),
    )
    parser.add_argument("--data-home", default=None, help="default: $EMOSET_DATA or ~/emoset_data")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, download nothing")
    parser.add_argument(
        "--verify", action="store_true", help="re-hash files already present (slow)"
    )
    parser.add_argument("--jobs", type=int, default=4, help="concurrent CREMA-D downloads")
    return parser


def _jobs(args, parser) -> list:
    """``[(fetch function, keyword arguments)]`` for the requested corpora and actors."""
    cremad_ids, ravdess_ids, everything = _parse_actors(args.actors)
    explicit = args.actors is not None and not everything
    corpora = ("cremad", "ravdess") if args.corpus == "all" else (args.corpus,)
    jobs = []
    if "cremad" in corpora:
        if explicit and not cremad_ids and args.corpus == "cremad":
            parser.error("--actors: CREMA-D actor ids are 1001-1091.")
        if not explicit or cremad_ids:
            if everything:
                actors = None
            else:
                actors = cremad_ids if explicit else CREMAD_DEFAULT_ACTORS
            options = dict(
                actors=actors,
                modalities=tuple(args.cremad_modalities),
                verify_existing=args.verify,
                n_jobs=args.jobs,
            )
            jobs.append((fetch_cremad, options))
    if "ravdess" in corpora:
        if explicit and not ravdess_ids and args.corpus == "ravdess":
            parser.error("--actors: RAVDESS actor ids are 1-24.")
        if not explicit or ravdess_ids:
            options = dict(
                actors=ravdess_ids if explicit else None,
                parts=tuple(args.ravdess_parts),
                verify_existing=args.verify,
            )
            jobs.append((fetch_ravdess, options))
    return jobs


def _print_plans(plans) -> int:
    """Print each plan and a few of its URLs; return the bytes still to download."""
    total = sum(plan.missing_bytes for _, _, plan in plans)
    for _, _, plan in plans:
        print(plan.summary())
        for f in plan.missing[:3]:
            print(f"    {f.url}")
        if len(plan.missing) > 3:
            print(f"    ... and {len(plan.missing) - 3} more")
    n_missing = sum(len(plan.missing) for _, _, plan in plans)
    print(f"To download: {n_missing} file(s), {format_size(total)}.")
    return total


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    jobs = _jobs(args, parser)
    home = get_data_home(args.data_home)
    try:
        plans = [(fetch, kw, fetch(home, dry_run=True, **kw)) for fetch, kw in jobs]
    except (DownloadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    total = _print_plans(plans)
    if args.dry_run:
        return 0
    if total and not args.yes and not _ask("Download now, accepting the licences above?"):
        print("Nothing downloaded.")
        return 1
    logging.getLogger("emoset").setLevel(logging.INFO)
    for fetch, kw, plan in plans:
        try:
            clips = fetch(home, **kw)
        except (DownloadError, ValueError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{plan.corpus}: {len(clips)} clip(s) ready in {plan.folder}")
    if os.environ.get("EMOSET_DATA") != str(home):
        print(f"The loaders read $EMOSET_DATA: export EMOSET_DATA={home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
