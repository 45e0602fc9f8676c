"""Write the fixed speaker-independent split files shipped in ``emoset/data/splits/``.

Usage: ``python -m pipelines.make_splits [--data-root DIR] [--out DIR]``. The files are committed
and ship inside the package (``emoset.datasets.splits.load_split("cremad_5fold", clips)``), so every
table in the README is computed on the same folds; re-running this reproduces them exactly
(``StratifiedGroupKFold`` with ``random_state=0``). ``--out`` writes them elsewhere instead.
"""

import argparse
import logging
import sys
from pathlib import Path

from emoset.datasets.corpora import load_cremad, load_ravdess
from emoset.datasets.splits import speaker_kfold, write_split


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None, help="data root (default: find_data_root)")
    parser.add_argument("--n-splits", type=int, default=5)
    parser.add_argument(
        "--out", default=None, help="folder for the files (default: emoset/data/splits/)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for corpus, clips in (
        ("cremad", load_cremad(args.data_root)),
        ("ravdess", load_ravdess(args.data_root)),
    ):
        folds = speaker_kfold(clips, args.n_splits, random_state=0)
        name = f"{corpus}_{args.n_splits}fold"
        path = write_split(
            name if args.out is None else Path(args.out) / f"{name}.csv", clips, folds
        )
        logging.info(
            "%s: %d clips, %d speakers -> %s",
            corpus,
            len(clips),
            len({c.speaker for c in clips}),
            path,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
