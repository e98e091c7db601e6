"""Where the work runs: a given client, a cluster by address, or a LocalCluster."""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from distinc.exceptions import ClusterError

logger = logging.getLogger("distinc")


def scheduler_address(explicit: str | None = None) -> str | None:
    """``explicit``, else ``DASK_SCHEDULER_ADDRESS``, else dask's ``scheduler-address`` config."""
    if explicit:
        return explicit
    import dask

    address = os.environ.get("DASK_SCHEDULER_ADDRESS") or dask.config.get("scheduler-address", None)
    return str(address) if address else None


@contextmanager
def dask_client(address: str | None = None, *, client: Any = None) -> Iterator[Any]:
    """Yield a Dask client: ``client`` itself, one connected to ``address``, or a LocalCluster's.

    The LocalCluster is sized to the machine (one single-threaded worker process per core) and
    asks for a free dashboard port, so several runs on one host never clash.
    """
    if client is not None:
        yield client
        return
    import dask
    from distributed import Client, LocalCluster

    address = scheduler_address(address)
    if address:
        try:
            # dask's own setting, so DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT applies
            remote = Client(address, timeout=dask.config.get("distributed.comm.timeouts.connect"))
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"Cannot reach the Dask scheduler at {address!r} ({exc}). Check the address, "
                "or omit --scheduler to run on a local cluster.",
                address=address,
            ) from exc
        with remote:
            logger.info("connected to %s (dashboard: %s)", address, remote.dashboard_link)
            yield remote
        return
    dashboard = ":0" if importlib.util.find_spec("bokeh") else None
    with (
        LocalCluster(
            n_workers=os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=dashboard,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as local,
    ):
        yield local
