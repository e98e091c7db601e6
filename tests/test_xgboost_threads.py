"""The single-host XGBoost task trains on the threads it is given, on a real Dask worker."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from distinc.trainers.boosting import local
from distinc.trainers.boosting.fitting import BoostingTask
from tests.test_xgboost_extmem import PARAMS, delta_task, parent_booster


def openmp_threads_while_training(task: BoostingTask, parent: Any, threads: int) -> Any:
    """Run on a worker: its OMP_NUM_THREADS, and OpenMP's thread count once training starts."""
    from threadpoolctl import threadpool_info

    seen: list[int] = []
    real = local._train

    def watched(*args: Any) -> Any:
        pools = [pool["num_threads"] for pool in threadpool_info()]
        seen.append(max(pools) if pools else 0)
        return real(*args)

    local._train = watched
    try:
        local.train_local(task, parent, threads)
    finally:
        local._train = real
    return os.environ.get("OMP_NUM_THREADS"), seen


def test_training_lifts_the_one_thread_openmp_cap_of_dask_workers(
    tmp_path: Path, client: Any
) -> None:
    task = delta_task(tmp_path)
    got = client.submit(openmp_threads_while_training, task, parent_booster(), 2, pure=False)
    # Dask's nanny starts workers with OMP_NUM_THREADS=1; XGBoost would train on one thread.
    assert got.result() == ("1", [2])


def test_a_thread_count_the_user_chose_is_kept(tmp_path: Path, client: Any) -> None:
    task = BoostingTask(**{**delta_task(tmp_path).__dict__, "params": {**PARAMS, "nthread": 1}})
    got = client.submit(openmp_threads_while_training, task, parent_booster(), 2, pure=False)
    assert got.result() == ("1", [1])
