"""The workers of a Dask cluster, as the scheduler reports them now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def cluster_workers(client: Any) -> Mapping[str, Mapping[str, Any]]:
    """Worker address -> info (host, nthreads, memory_limit...), asked of the scheduler.

    Not ``client.scheduler_info()``: it returns an attribute that the client's periodic refresh
    replaces, without worker details, so it can come back with no workers at all.
    """
    identity = client.sync(client.scheduler.identity, n_workers=-1)
    workers: Mapping[str, Mapping[str, Any]] = identity["workers"]
    return workers
