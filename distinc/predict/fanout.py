"""One Dask task per partition of a dataset, with the model broadcast to every worker once.

Dask's Active Memory Manager drops the extra copies of the model as the tasks needing them
finish, so a worker that dies late in the run can take the last copy with it. The whole fan-out
then runs again: its tasks only read partitions and (re)write their own output files.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from distinc.dataset.listing import list_partitions
from distinc.dataset.partition import DataSource
from distinc.exceptions import DataError
from distinc.trainers.resume import rerunning
from distinc.trainers.workers import require_reachable_data


def per_partition(
    client: Any,
    function: Callable[..., Any],
    source: DataSource,
    model: Any,
    *,
    name: str,
    **arguments: Any,
) -> list[Any]:
    """``function(key, source, model, **arguments)`` for every partition, in key order; a
    dataset without any is refused, as a mistyped path is the likely cause."""
    keys = [part.key for part in list_partitions(source)]
    if not keys:
        raise DataError(f"No Parquet files under {source.url!r}.", url=source.url)
    require_reachable_data(client, source.url)

    def attempt() -> list[Any]:
        shared = client.scatter(model, broadcast=True)
        token = uuid.uuid4().hex[:8]
        futures = client.map(
            function,
            keys,
            key=[f"distinc-{name}-{token}-{i}" for i in range(len(keys))],
            retries=1,
            source=source,
            model=shared,
            **arguments,
        )
        return list(client.gather(futures))

    return rerunning(
        client,
        attempt,
        what=f"running every {name} task again",
        gives_up="Check the workers and run it again.",
    )
