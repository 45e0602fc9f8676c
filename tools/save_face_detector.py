"""Write ``emoset/models/dlib_frontal_face_detector-<dlib version>.svm``: dlib's frontal face
detector as dlib itself saves it.

A development script, not part of the installed package. ``dlib.get_frontal_face_detector()``
decodes the detector from a string compiled into dlib, which takes 0.3-0.4 s in every thread
that detects faces (once per process for a one-clip ``emoset predict``); the same detector
saved with its ``save`` method (dlib's own serialization, not pickle) loads with
``dlib.fhog_object_detector(path)`` in about a millisecond. emoset loads the shipped copy only
under the dlib version in its name and otherwise asks dlib for the detector, so a different
dlib never gets a stale detector. The bytes are reproducible (``tests/video/test_faces.py``
checks the shipped file against what the installed dlib saves)::

    python tools/save_face_detector.py      # after upgrading dlib; removes the older copies
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MODELS = Path(__file__).resolve().parents[1] / "emoset" / "models"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, default=MODELS, help="the folder to write to")
    args = parser.parse_args(argv)
    import dlib

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from emoset.video.tracking import DETECTOR_FILE

    path = args.models / DETECTOR_FILE.format(version=dlib.__version__)
    for old in args.models.glob(DETECTOR_FILE.format(version="*")):
        if old != path:
            old.unlink()
    tmp = path.with_suffix(".tmp")
    dlib.get_frontal_face_detector().save(str(tmp))
    tmp.replace(path)
    print(path)


if __name__ == "__main__":
    main()
