"""Boosting on a delta larger than the worker's memory, with XGBoost's external memory.

``xgboost.ExtMemQuantileDMatrix`` pulls the delta through a ``DataIter`` one partition at a
time, twice (once to sketch the feature quantiles, once to write the quantised pages to a cache
on the worker's local disk), then trains from the cache, which it memory-maps. What stays in
memory grows with the rows, not the features: each row's label, weight, gradient pair,
prediction and tree position (a few tens of bytes), plus the cache pages in use.
"""

from __future__ import annotations

import math
from typing import Any

from distinc.trainers.boosting.fitting import BoostingTask, draw
from distinc.trainers.boosting.rows import Rows, read_rows

# The in-memory path holds a delta about this many times over (float32 rows, their
# concatenation, the DMatrix's own copy); past ``MEMORY_SHARE`` of the worker's limit the
# delta goes through external memory.
BYTES_PER_VALUE = 16
MEMORY_SHARE = 0.5
# Parameters with which the quantised cache cannot train (``exact`` needs the raw values).
IN_MEMORY_TREE_METHODS = ("exact", "approx")


def worker_memory_limit() -> float:
    """The memory limit of the Dask worker running this task (infinite when none is set)."""
    from distributed import get_worker

    try:
        limit = get_worker().memory_manager.memory_limit
    except ValueError:  # not inside a worker task
        return math.inf
    return float(limit) if limit else math.inf


def needs_external_memory(task: BoostingTask, limit: float) -> bool:
    """Whether ``task``'s delta is too large to train in memory under ``limit`` bytes.

    Only sessions that add trees can train from the quantised cache (refreshing leaves reads the
    raw values), and only with the ``hist`` tree method.

    Examples
    --------
    >>> from distinc.trainers.boosting.params import Session
    >>> from types import SimpleNamespace
    >>> task = SimpleNamespace(rows=(1000,), feature_names=["a", "b"], params={},
    ...                        sessions=(Session("add", 10),))
    >>> needs_external_memory(task, limit=40_000), needs_external_memory(task, limit=10**9)
    (True, False)
    """
    values = sum(task.rows) * max(1, len(task.feature_names or ()))
    return (
        BYTES_PER_VALUE * values > MEMORY_SHARE * limit
        and all(session.kind == "add" for session in task.sessions)
        and task.params.get("tree_method") not in IN_MEMORY_TREE_METHODS
    )


def external_matrix(task: BoostingTask, threads: int, cache_prefix: str) -> tuple[Any, Rows | None]:
    """The delta (and replayed rows) as an ``ExtMemQuantileDMatrix`` cached under
    ``cache_prefix``, and the rows drawn for the reservoir while reading it."""
    import xgboost

    class Partitions(xgboost.DataIter):
        """Each partition of the delta, then the replayed rows, as one batch."""

        def __init__(self) -> None:
            super().__init__(cache_prefix=cache_prefix)
            self.position = 0
            self.drawn: list[Rows] | None = [] if task.draws else None
            self.first_pass = True
            self.weighted = task.replay is not None and task.replay.weights is not None

        def next(self, input_data: Any) -> bool:
            count = len(task.keys) + (task.replay is not None)
            if self.position == count:
                return False
            i = self.position
            if i < len(task.keys):
                rows = read_rows(task.source, task.keys[i], task.contract, task.coding)
                if self.first_pass and self.drawn is not None:
                    self.drawn.append(draw(rows, task, i))
            else:
                rows = task.replay  # type: ignore[assignment]
            weights = rows.weights
            if weights is None and self.weighted:
                import numpy as np

                weights = np.ones(len(rows), np.float32)
            input_data(
                data=rows.features,
                label=rows.labels,
                weight=weights,
                feature_names=task.feature_names,
                feature_types=task.feature_types,
            )
            self.position += 1
            return True

        def reset(self) -> None:
            if self.position:
                self.first_pass = False
            self.position = 0

    batches = Partitions()
    matrix = xgboost.ExtMemQuantileDMatrix(
        batches,
        nthread=threads,
        max_bin=task.params.get("max_bin"),
        enable_categorical=task.categorical,
    )
    drawn = Rows.concat(batches.drawn) if batches.drawn else None
    return matrix, drawn
