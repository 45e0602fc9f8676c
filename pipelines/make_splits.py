"""Write the fixed speaker-independent split files under ``data/splits/``.

Usage: ``python -m pipelines.make_splits [--data-root DIR]``. The files are committed, so every
table in the README is computed on the same folds; re-running this reproduces them exactly
(``StratifiedGroupKFold`` with ``random_state=0``).
"""

import argparse
import logging
import sys
from pathlib import Path

from emoset.datasets import load_cremad, load_ravdess, speaker_kfold, write_split

SPLITS = Path(__file__).resolve().parents[1] / "data" / "splits"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=None, help="data root (default: find_data_root)")
    parser.add_argument("--n-splits", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name, clips in (
        ("cremad", load_cremad(args.data_root)),
        ("ravdess", load_ravdess(args.data_root)),
    ):
        folds = speaker_kfold(clips, args.n_splits, random_state=0)
        path = write_split(SPLITS / f"{name}_{args.n_splits}fold.csv", clips, folds)
        logging.info(
            "%s: %d clips, %d speakers -> %s",
            name,
            len(clips),
            len({c.speaker for c in clips}),
            path,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
