"""Where a version trains: one task on a single host, or ``xgboost.dask`` across hosts."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from distinc.exceptions import ConfigurationError
from distinc.trainers.workers import cluster_workers


@dataclass(frozen=True)
class Placement:
    """``local``: one task with ``threads`` threads on one of ``workers`` (empty: any worker).
    ``dask``: ``xgboost.dask`` on every worker."""

    backend: str
    threads: int = 1
    workers: tuple[str, ...] = ()


def place(workers: Mapping[str, Mapping[str, Any]], choice: str) -> Placement:
    """Pick the backend for the scheduler's ``workers`` (address -> info with host, nthreads).

    ``auto`` trains locally when every worker is on one host; ``local`` forced on several hosts
    uses the host with the most threads.

    Examples
    --------
    >>> one_host = {"tcp://a:1": {"host": "a", "nthreads": 1}, "tcp://a:2": {"host": "a",
    ...             "nthreads": 1}}
    >>> place(one_host, "auto")
    Placement(backend='local', threads=2, workers=())
    >>> two_hosts = {"tcp://a:1": {"host": "a", "nthreads": 4}, "tcp://b:1": {"host": "b",
    ...              "nthreads": 2}}
    >>> place(two_hosts, "auto").backend
    'dask'
    >>> place(two_hosts, "local")
    Placement(backend='local', threads=4, workers=('tcp://a:1',))
    """
    if not workers:
        raise ConfigurationError("The Dask cluster has no workers; start some and rerun.")
    hosts: dict[str, list[str]] = {}
    threads: dict[str, int] = {}
    for address, info in sorted(workers.items()):
        host = str(info.get("host", address))
        hosts.setdefault(host, []).append(address)
        threads[host] = threads.get(host, 0) + int(info.get("nthreads") or 1)
    if choice == "dask" or (choice == "auto" and len(hosts) > 1):
        return Placement("dask")
    host = max(sorted(hosts), key=lambda name: threads[name])
    return Placement("local", threads[host], tuple(hosts[host]) if len(hosts) > 1 else ())


# How long placement waits for a first worker: a nanny restarting its worker (after a crash or
# a memory kill) leaves the scheduler briefly without any.
WORKER_WAIT_SECONDS = 60


def available_workers(client: Any) -> Mapping[str, Mapping[str, Any]]:
    """The cluster's workers, waiting up to ``WORKER_WAIT_SECONDS`` for one if there are none."""
    workers = cluster_workers(client)
    if not workers:
        with contextlib.suppress(TimeoutError):
            client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        workers = cluster_workers(client)
    return workers
