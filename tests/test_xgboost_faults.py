"""A Dask worker killed while XGBoost trains: nothing half-committed, and the rerun succeeds."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import distinc
from distinc.exceptions import ClusterError
from distinc.trainers import task_faults
from tests.clusterproc import kill_the_worker_running, process_cluster
from tests.conftest import make_frame, write_partition

# Task-name prefixes of a training task: distinc's single-host task, and xgboost.dask's
# per-worker training tasks (named "fn-<uuid>"; nothing else of that name runs here).
TRAINING = ("distinc-xgboost-", "fn-")
ROUNDS = 200


def kill_the_trainer(address: str, killed: list[str], *, one_replica: bool = False) -> None:
    kill_the_worker_running(TRAINING, address, killed, one_replica=one_replica)


def xgb_store(tmp_path: Path, backend: str, rows: int = 4000) -> distinc.IncrementalModel:
    data = tmp_path / "data"
    for i in range(2):
        write_partition(data, f"a-{i}.parquet", make_frame(rows, seed=i))
    return distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="xgboost",
        params={"max_depth": 8, "eta": 0.05},
        options=distinc.TrainingOptions(
            rounds=ROUNDS, xgb_backend=backend, xgb_collective_timeout=20
        ),
    )


@pytest.mark.cluster
@pytest.mark.parametrize("one_replica", [False, True], ids=["inputs-on-both", "inputs-on-one"])
def test_the_single_host_task_survives_losing_its_worker(
    tmp_path: Path, one_replica: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pure function of its inputs: rerun on the other worker, whether Dask still holds a
    copy of the inputs there or they died with the worker and distinc ships them again."""
    from distributed import Client

    if one_replica:
        # Training must outlast a pass of the Active Memory Manager for its inputs to shrink to
        # one copy: the scheduler runs it every 100 ms (not 2 s), on a store that trains for
        # seconds (the default one trains for a fraction of one).
        monkeypatch.setenv("DASK_DISTRIBUTED__SCHEDULER__ACTIVE_MEMORY_MANAGER__INTERVAL", "100ms")
    model = xgb_store(tmp_path, "local", rows=40_000 if one_replica else 4000)
    with process_cluster(workers=2) as cluster, Client(cluster.address) as client:
        killed: list[str] = []
        watcher = threading.Thread(
            target=kill_the_trainer,
            args=(cluster.address, killed),
            kwargs={"one_replica": one_replica},
        )
        watcher.start()
        try:
            result = model.update(client=client)
        finally:
            watcher.join()
    assert killed and result.version == 1 and model.model().rounds == ROUNDS
    assert model.verify() == []


@pytest.mark.cluster
def test_xgboost_dask_losing_a_worker_fails_cleanly_and_the_rerun_succeeds(
    tmp_path: Path,
) -> None:
    from distributed import Client

    model = xgb_store(tmp_path, "dask")
    store = tmp_path / "store"
    with process_cluster(workers=2) as cluster, Client(cluster.address) as client:
        killed: list[str] = []
        watcher = threading.Thread(target=kill_the_trainer, args=(cluster.address, killed))
        watcher.start()
        try:
            with pytest.raises(ClusterError, match="lost a worker.*nothing was committed"):
                model.update(client=client)
        finally:
            watcher.join()
        assert killed and model.version is None
        assert not list((store / "ledger").glob("*.json"))
        cluster.add_worker()
        cluster.wait_for_workers(2)
        assert model.update(client=client).version == 1
    assert model.model().rounds == ROUNDS and model.verify() == []


@pytest.mark.parametrize("backend", ["local", "dask"])
def test_an_exception_while_training_commits_nothing(
    tmp_path: Path, client: Any, backend: str
) -> None:
    data = tmp_path / "data"
    write_partition(data, "a.parquet", make_frame(300, seed=1))
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="xgboost",
        options=distinc.TrainingOptions(rounds=5, xgb_backend=backend),
    )
    marker = tmp_path / "fired"
    client.run(task_faults.arm, task_faults.setting("a.parquet", "raise", str(marker)))
    try:
        with pytest.raises(task_faults.InjectedTaskFault, match="'a.parquet'"):
            model.update(client=client)
    finally:
        client.run(task_faults.arm, None)
    assert marker.exists() and model.version is None
    assert not list((tmp_path / "store" / "ledger").glob("*.json"))
    assert model.update(client=client).version == 1 and model.verify() == []
