"""Run feature extraction on a Dask cluster: the one home of ``--dask-scheduler``.

Extraction (faces and frame features of every clip, speech functionals) goes through
joblib (``emoset.utils.cache.parallel_map``); inside :func:`dask_cluster` joblib's backend is
Dask distributed, so each clip becomes one task on the cluster's workers.  Training stays in
the calling process.

Requirements of the cluster
---------------------------
* ``pip install 'emoset[cluster]'`` (Dask distributed) on the client and on every worker,
  with the same emoset version.
* The clips **and the feature cache** at the same paths on every worker and on the client
  (a shared folder: NFS, a cluster file system).  Image-set workers write faces and frame
  features to the cache themselves; speech features are written by the client as results
  arrive.  Every entry is written atomically, so workers never see a torn file.
* A worker that dies mid-run loses only the clips it was processing: Dask reschedules
  them on the other workers, and everything finished is already in the cache (a re-run
  reads it back instead of recomputing it).

The scheduler address comes from ``address`` or, when that is ``None``, from the
environment variable ``$EMOSET_DASK_SCHEDULER`` (:data:`SCHEDULER_ENV`); with neither,
:func:`dask_cluster` does nothing and extraction stays local.

Examples
--------
>>> from emoset.app.cluster import dask_cluster
>>> with dask_cluster(None) as client:  # no address, no $EMOSET_DASK_SCHEDULER: local
...     print(client)
None
"""

from __future__ import annotations

import contextlib
import logging
import os

__all__ = ["SCHEDULER_ENV", "dask_cluster", "scheduler_address", "cluster_n_jobs"]

logger = logging.getLogger(__name__)

#: Environment variable read when no scheduler address is given.
SCHEDULER_ENV = "EMOSET_DASK_SCHEDULER"


def scheduler_address(address=None):
    """The scheduler address to use: ``address``, else ``$EMOSET_DASK_SCHEDULER``, else None.

    Parameters
    ----------
    address : str or None
        E.g. ``"tcp://10.0.0.5:8786"``; an empty string means "local" (overrides the
        environment).

    Returns
    -------
    address : str or None
    """
    if address is None:
        address = os.environ.get(SCHEDULER_ENV) or None
    return address or None


def cluster_n_jobs(n_jobs, client):
    """``n_jobs`` for extraction: every worker thread (``-1``) on a cluster unless set.

    Parameters
    ----------
    n_jobs : int or None
        The caller's setting; ``None`` or ``1`` would run serially in the client.
    client : distributed.Client or None
        From :func:`dask_cluster`.

    Returns
    -------
    n_jobs : int or None
    """
    if client is not None and n_jobs in (None, 1):
        return -1
    return n_jobs


@contextlib.contextmanager
def dask_cluster(address=None, *, timeout=None):
    """Connect to a Dask scheduler; inside, joblib work runs on the cluster's workers.

    Parameters
    ----------
    address : str or None
        Scheduler address (see :func:`scheduler_address`).  ``None`` and no
        ``$EMOSET_DASK_SCHEDULER``: a no-op context yielding ``None``.
    timeout : float or None, default=None
        Seconds to wait for the scheduler; ``None``: Dask's ``distributed.comm.timeouts.connect``
        setting (30 s unless configured, e.g. ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s``).

    Yields
    ------
    client : distributed.Client or None
        The connected client (closed on exit).

    Raises
    ------
    ImportError
        If Dask distributed is not installed (with the install hint).
    OSError
        If the scheduler cannot be reached (naming the address).
    """
    address = scheduler_address(address)
    if address is None:
        yield None
        return
    try:
        import distributed
        import joblib
    except ImportError:
        raise ImportError(
            "A Dask scheduler was given but Dask distributed is not installed: "
            "pip install 'emoset[cluster]'."
        ) from None
    if timeout is None:
        import dask

        timeout = dask.config.get("distributed.comm.timeouts.connect")
    try:
        client = distributed.Client(address, timeout=timeout)
    except OSError as exc:
        raise OSError(f"Cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        n_workers = len(client.scheduler_info().get("workers", {}))
        logger.info(
            "Extraction runs on the Dask cluster at %s (%d workers; dashboard %s).",
            address,
            n_workers,
            client.dashboard_link,
        )
        with joblib.parallel_config(backend="dask"):
            yield client
    finally:
        client.close()
