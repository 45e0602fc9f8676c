"""A frame feature that waits at a gate the test opens: the order of events across processes
without a race (tests/app/test_cluster.py)."""

import os
import time
from pathlib import Path

from emoset.video.frame_features import LBP


class GatedLBP(LBP):
    """LBP whose first transform runs at once and whose others wait for the test.

    The gate is a folder shared by the processes: the first call creates ``first`` there (an
    exclusive create: one process wins) and, done, ``first-done``; every other call writes
    ``waiting-<its pid>`` and waits for ``open``. The features are LBP's.
    """

    def __init__(self, gate="", n_points=8, *, radius=1, grid=4):
        super().__init__(n_points, radius=radius, grid=grid)
        self.gate = gate

    def transform(self, X):
        gate = Path(self.gate)
        try:
            os.close(os.open(gate / "first", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            (gate / f"waiting-{os.getpid()}").touch()
            deadline = time.monotonic() + 240  # a broken test fails instead of hanging
            while not (gate / "open").exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the gate {gate} was never opened") from None
                time.sleep(0.02)
            return super().transform(X)
        out = super().transform(X)
        (gate / "first-done").touch()
        return out
