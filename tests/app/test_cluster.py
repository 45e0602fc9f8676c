"""Tests for emoset.app.cluster: extraction on a Dask cluster (loopback only), --dask-scheduler."""

import logging
import os
import signal
import threading

import numpy as np
import pytest

from emoset.app.cli import main
from emoset.app.cluster import SCHEDULER_ENV, cluster_n_jobs, dask_cluster, scheduler_address
from emoset.datasets.corpora import load_cremad
from emoset.video.extract import extract_image_sets


def test_scheduler_address_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert scheduler_address(None) is None
    monkeypatch.setenv(SCHEDULER_ENV, "tcp://127.0.0.1:8786")
    assert scheduler_address(None) == "tcp://127.0.0.1:8786"
    assert scheduler_address("tcp://10.0.0.5:1") == "tcp://10.0.0.5:1"
    assert scheduler_address("") is None  # explicitly local
    assert cluster_n_jobs(None, None) is None and cluster_n_jobs(3, object()) == 3
    assert cluster_n_jobs(1, object()) == -1


def test_no_address_is_local(monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    with dask_cluster(None) as client:
        assert client is None


@pytest.mark.parametrize(
    ("command", "how"), [("train", "flag"), ("evaluate", "env"), ("timeline", "flag")]
)
def test_cli_commands_connect_to_the_scheduler(
    command, how, data_root, monkeypatch, tmp_path, capsys
):
    """--dask-scheduler / $EMOSET_DASK_SCHEDULER reach train, evaluate and timeline."""
    pytest.importorskip("distributed")
    import dask

    # Dask's own setting bounds the wait for a scheduler (30 s by default)
    monkeypatch.setitem(dask.config.config["distributed"]["comm"]["timeouts"], "connect", "0.2s")
    address = "tcp://127.0.0.1:9"  # the discard port: connection refused at once
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    model = str(tmp_path / "m.skops")
    if command == "timeline":  # nothing listens: the scheduler is reached before anything else
        argv = ["timeline", model, str(tmp_path / "long.mp4"), "--cache-dir", str(tmp_path)]
    else:
        argv = ["train", "-o", model] if command == "train" else ["evaluate", model]
        argv += ["--data-root", str(data_root), "--speakers", "1001"]
        argv += ["--cache-dir", str(tmp_path)]
    if how == "flag":
        argv += ["--dask-scheduler", address]
    else:
        monkeypatch.setenv(SCHEDULER_ENV, address)
    assert main(argv) == 2
    assert f"emoset: error: Cannot reach the Dask scheduler at {address}" in capsys.readouterr().err
    assert not (tmp_path / "m.skops").exists()


def _kill_a_waiting_worker(gate, done, killed):
    """Once one clip's features are computed, SIGKILL a worker that holds another clip at the
    gate (GatedLBP), then open the gate: the run cannot end before the kill."""
    while not done.is_set():
        waiting = sorted(gate.glob("waiting-*"))
        if (gate / "first-done").exists() and waiting:
            pid = int(waiting[0].name.split("-")[1])
            if pid != os.getpid():  # a worker process, never the test's own
                os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            (gate / "open").touch()
            return
        done.wait(0.02)


def test_a_worker_killed_mid_extraction_loses_nothing(data_root, tmp_path):
    """Loopback LocalCluster (2 processes): kill one during extraction; same features as serial.

    The order of events is fixed, whatever the load: the first clip's features are computed
    while every other clip waits at a gate (GatedLBP) until a worker holding one is killed."""
    distributed = pytest.importorskip("distributed")
    from _gated import GatedLBP

    clips = load_cremad(data_root, subsets=["facecrop128"])[:4]
    serial, _ = extract_image_sets(clips, "lbp", fps=5)
    cache, gate = tmp_path / "shared-cache", tmp_path / "gate"
    gate.mkdir()
    feature = GatedLBP(str(gate))
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,  # the killed worker's nanny reports it; expected
    ) as cluster:
        with dask_cluster(cluster.scheduler_address) as client:
            done, killed = threading.Event(), []
            watcher = threading.Thread(target=_kill_a_waiting_worker, args=(gate, done, killed))
            watcher.start()
            try:
                sets, info = extract_image_sets(
                    clips, feature, fps=5, cache_dir=cache, n_jobs=cluster_n_jobs(None, client)
                )
            finally:
                done.set()
                watcher.join()
    assert len(killed) == 1 and killed[0] != os.getpid()
    assert (info["error"] == "").all()
    assert all(np.array_equal(a, b) for a, b in zip(serial, sets, strict=True))
    # everything finished is in the shared cache: a re-run computes nothing
    again, info2 = extract_image_sets(clips, feature, fps=5, cache_dir=cache)
    assert info2["cached"].all()
    assert all(np.array_equal(a, b) for a, b in zip(serial, again, strict=True))
