"""The workers of a Dask cluster, as the scheduler reports them now."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from fsspec.utils import get_protocol

from distinc.exceptions import ConfigurationError


def cluster_workers(client: Any) -> Mapping[str, Mapping[str, Any]]:
    """Worker address -> info (host, nthreads, memory_limit...), asked of the scheduler.

    Not ``client.scheduler_info()``: it returns an attribute that the client's periodic refresh
    replaces, without worker details, so it can come back with no workers at all.
    """
    identity = client.sync(client.scheduler.identity, n_workers=-1)
    workers: Mapping[str, Mapping[str, Any]] = identity["workers"]
    return workers


def require_reachable_data(client: Any, url: str) -> None:
    """Refuse ``memory://`` data when the cluster's workers are other processes.

    fsspec's memory file system lives inside one process: workers in their own processes
    (the default LocalCluster's, or any remote cluster's) would find every file missing.
    """
    if get_protocol(url) != "memory":
        return
    here = os.getpid()
    if any(pid != here for pid in client.run(os.getpid).values()):
        raise ConfigurationError(
            f"The data {url!r} is in this process's memory, which the Dask workers (separate "
            "processes) cannot see. Use a client whose workers run in this process "
            "(distributed.Client(processes=False)), or put the data on a shared file system.",
            url=url,
        )
