"""A forked child left behind by a process that exits without ending it (as a killed command
would): for the tests that check such a child exits instead of waiting forever."""

import os
import subprocess
import sys
import time


def exits_when_orphaned(code, pid_file):
    """Run ``code`` (which starts a child, writes its pid to ``pid_file`` and exits without
    ending it) and wait until the child has exited; True if it did within 5 minutes."""
    # no pipe: the child holds what it inherited, and a pipe would wait for it too
    done = subprocess.run(
        [sys.executable, "-c", code],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
    )
    assert done.returncode == 0
    pid = int(pid_file.read_text())
    for _ in range(3000):  # at most 5 minutes on a loaded machine
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":  # exited; its new parent has not reaped it yet
            return True
        time.sleep(0.1)
    os.kill(pid, 9)
    return False
