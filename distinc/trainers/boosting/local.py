"""The single-host backend: one Dask task trains with every thread of its host.

On one machine, ``xgboost.dask`` splits the data over worker processes that each build
histograms on their share and exchange them every tree level; plain ``xgb.train`` in one
process with all cores does the same work without the exchange. So when every worker is on one
host, the whole version trains in one task on a worker, reading the delta itself (partitions in
parallel threads) and running ``xgb.train(xgb_model=parent)`` with the host's thread count.
A delta too large for the worker's memory goes through XGBoost's external memory instead
(``extmem``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import Any

from distinc.trainers import task_faults
from distinc.trainers.boosting.extmem import (
    external_matrix,
    needs_external_memory,
    worker_memory_limit,
)
from distinc.trainers.boosting.fitting import (
    VALIDATION,
    BoostingOutcome,
    BoostingTask,
    draw,
    run_sessions,
)
from distinc.trainers.boosting.rows import Rows, read_many, read_validation_set

# Parameters through which a user already chose XGBoost's thread count.
THREAD_PARAMS = ("nthread", "n_jobs")


def _dmatrix(rows: Rows, task: BoostingTask, threads: int) -> Any:
    import xgboost

    return xgboost.DMatrix(
        rows.features,
        rows.labels,
        weight=rows.weights,
        feature_names=task.feature_names,
        feature_types=task.feature_types,
        enable_categorical=task.categorical,
        nthread=threads,
    )


def train_local(task: BoostingTask, parent: Any, threads: int) -> BoostingOutcome:
    """Read the delta, train every session on it, and draw the reservoir's share; one process.

    A pure function of its inputs, so a task Dask runs twice returns the same booster.
    """
    from threadpoolctl import threadpool_limits

    # Dask's nanny starts workers with OMP_NUM_THREADS=1, and XGBoost then trains on one
    # OpenMP thread whatever `nthread` asks (1.4-1.6x slower here on two cores).
    with threadpool_limits(limits=_openmp_threads(task, threads), user_api="openmp"):
        return _read_and_train(task, parent, threads)


def _openmp_threads(task: BoostingTask, threads: int) -> int:
    """The thread count XGBoost is asked for: the user's own ``nthread``, else ``threads``."""
    chosen = [task.params.get(name) for name in THREAD_PARAMS]
    asked = [int(value) for value in chosen if isinstance(value, int) and value > 0]
    return asked[0] if asked else threads


def _read_and_train(task: BoostingTask, parent: Any, threads: int) -> BoostingOutcome:
    valid = None
    if task.validation is not None:
        # Read first: a validation file the model cannot take fails before the delta is read.
        valid = read_validation_set(task.validation, task.contract, task.coding, threads=threads)
    if needs_external_memory(task, worker_memory_limit()):
        with tempfile.TemporaryDirectory(prefix="distinc-xgboost-cache-") as folder:
            dtrain, drawn = external_matrix(task, threads, os.path.join(folder, "cache"))
            for key in task.keys:
                task_faults.reach(key)
            outcome = _train(dtrain, valid, drawn, task, parent, threads)
            del dtrain  # its cache files go with the folder
            return outcome
    parts = read_many(task.source, task.keys, task.contract, task.coding, threads=threads)
    for key in task.keys:
        task_faults.reach(key)
    drawn = None
    if task.draws:
        drawn = Rows.concat([draw(rows, task, i) for i, rows in enumerate(parts)])
    train = Rows.concat([*parts, task.replay] if task.replay is not None else parts)
    del parts
    dtrain = _dmatrix(train, task, threads)
    del train
    return _train(dtrain, valid, drawn, task, parent, threads)


def _train(
    dtrain: Any,
    valid: Rows | None,
    drawn: Rows | None,
    task: BoostingTask,
    parent: Any,
    threads: int,
) -> BoostingOutcome:
    import xgboost

    evals = []
    if valid is not None:
        evals.append((_dmatrix(valid, task, threads), VALIDATION))
    params = dict(task.params)
    if not any(name in params for name in THREAD_PARAMS):
        params["nthread"] = threads

    def fit(
        session_params: dict[str, Any], rounds: int, model: Any, callbacks: list[Any]
    ) -> tuple[Any, Mapping[str, Any]]:
        history: dict[str, Any] = {}
        booster = xgboost.train(
            session_params,
            dtrain,
            num_boost_round=rounds,
            evals=evals,
            evals_result=history,
            xgb_model=model,
            callbacks=callbacks,
            verbose_eval=False,
        )
        return booster, history

    booster, scores, best = run_sessions(fit, task, parent, params=params, evaluated=bool(evals))
    return BoostingOutcome(booster, drawn, scores, best)
