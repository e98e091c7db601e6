"""The multi-host backend: ``xgboost.dask`` trains across every worker of the cluster.

Each delta partition is read by one task (``dask.delayed``, never fused, so partition identity
is kept) whose result stays on the worker that read it; ``xgboost.dask`` trains where the data
sits. The same read also draws the partition's share of the replay reservoir.

XGBoost's collective cannot survive losing a worker, and without a timeout the survivors wait
for the lost one forever; a collective timeout turns that into an error (nothing is committed,
and the rerun trains again).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from distinc.dataset.partition import DataSource
from distinc.trainers import task_faults
from distinc.trainers.boosting.fitting import (
    VALIDATION,
    BoostingOutcome,
    BoostingTask,
    draw,
    run_sessions,
)
from distinc.trainers.boosting.rows import Rows, read_rows, read_validation


def read_partition(task: BoostingTask, index: int) -> tuple[np.ndarray, np.ndarray, Rows]:
    """Features, labels and the reservoir's draw of delta partition ``index``."""
    rows = read_rows(task.source, task.keys[index], task.contract, task.coding)
    task_faults.reach(task.keys[index])
    return rows.features, rows.labels, draw(rows, task, index)


def validation_part(task: BoostingTask, source: DataSource, key: str) -> tuple[Any, ...]:
    rows = read_validation(source, key, task.contract, task.coding)
    return rows.features, rows.labels


def replay_arrays(rows: Rows) -> tuple[Any, ...]:
    weights = np.ones(len(rows), np.float32) if rows.weights is None else rows.weights
    return rows.features, rows.labels, weights


def _stack(parts: Sequence[Any], shapes: Sequence[tuple[float, ...]], column: int) -> Any:
    """One Dask array of item ``column`` of every delayed part, one block per part."""
    import dask.array as da

    return da.concatenate(
        [
            da.from_delayed(part[column], shape=shape, dtype=np.float32)
            for part, shape in zip(parts, shapes, strict=True)
        ]
    )


def _dmatrix(client: Any, task: BoostingTask, data: Any, labels: Any, weights: Any = None) -> Any:
    import xgboost.dask

    return xgboost.dask.DaskDMatrix(
        client,
        data,
        labels,
        weight=weights,
        feature_names=task.feature_names,
        feature_types=task.feature_types,
        enable_categorical=task.categorical,
    )


def _read(client: Any, reads: list[Any]) -> list[Any]:
    """``reads`` computed and kept on the workers; the first failed read raises its own error.

    ``xgboost.dask`` would report a failed part only as ``AssertionError: error``, losing the
    message that names the partition.
    """
    from distributed import futures_of, wait

    kept: list[Any] = client.persist(reads)
    futures = futures_of(kept)
    wait(futures)
    for future in futures:
        if future.status == "error":
            future.result()
    return kept


def train_dask(client: Any, task: BoostingTask, parent: Any) -> BoostingOutcome:
    """Train every session of ``task`` with ``xgboost.dask`` on ``client``'s workers."""
    import dask
    import dask.array as da
    import xgboost.collective
    import xgboost.dask

    token = uuid.uuid4().hex[:8]
    # Every read task needs the task (vocabularies can be large): shipped once, not per task.
    slim = client.scatter(dataclasses.replace(task, replay=None), hash=False)
    width = len(task.contract.features)
    # The validation set is read first: a file the model cannot take fails before the delta.
    evals = []
    if task.validation is not None:
        source, keys = task.validation
        checks = _read(
            client, [dask.delayed(validation_part, pure=True)(slim, source, key) for key in keys]
        )
        unknown = [(np.nan, width)] * len(checks)
        data = _stack(checks, unknown, 0)
        labels = _stack(checks, [shape[:1] for shape in unknown], 1)
        evals.append((_dmatrix(client, task, data, labels), VALIDATION))
    reads = _read(
        client,
        [
            dask.delayed(read_partition, pure=True)(
                slim, i, dask_key_name=f"distinc-xgb-read-{token}-{i}"
            )
            for i in range(len(task.keys))
        ],
    )
    parts, shapes = list(reads), [(rows, width) for rows in task.rows]
    weights = None
    if task.replay is not None and len(task.replay):
        replay = dask.delayed(replay_arrays)(client.scatter(task.replay))
        parts.append(replay)
        shapes.append((len(task.replay), width))
        weights = da.concatenate(
            [da.ones((rows,), chunks=rows, dtype=np.float32) for rows in task.rows]
            + [da.from_delayed(replay[2], shape=(len(task.replay),), dtype=np.float32)]
        )
    dtrain = _dmatrix(
        client,
        task,
        _stack(parts, shapes, 0),
        _stack(parts, [shape[:1] for shape in shapes], 1),
        weights,
    )

    def fit(
        params: dict[str, Any], rounds: int, model: Any, callbacks: list[Any]
    ) -> tuple[Any, Mapping[str, Any]]:
        result = xgboost.dask.train(
            client,
            params,
            dtrain,
            num_boost_round=rounds,
            evals=evals,
            xgb_model=model,
            callbacks=callbacks,
            verbose_eval=False,
            coll_cfg=xgboost.collective.Config(timeout=task.collective_timeout),
        )
        return result["booster"], result["history"]

    booster, scores, best = run_sessions(
        fit, task, parent, params=task.params, evaluated=bool(evals)
    )
    drawn = None
    if task.draws:
        drawn = Rows.concat(client.compute([read[2] for read in reads], sync=True))
    return BoostingOutcome(booster, drawn, scores, best)
