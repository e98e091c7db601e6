"""P2, P7 with fit batches (``fit_batch_mb``): faults do not move the batch boundaries.

A fit batch is learned by one ``partial_fit`` call, so a retried task, a stream resumed after a
lost worker (which reads the files again) and an update rerun after a crash must all form the
same groups as a clean run, or the model would differ from it. The delta: one big partition
(a batch of its own), then six small ones that form two batches of three.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

import distinc
from distinc.engine.faults import VARIABLE
from distinc.trainers import task_faults
from distinc.trainers.batching import MEGABYTE
from tests.clusterproc import ProcessCluster, process_cluster
from tests.reliability import procs
from tests.reliability.harness import (
    CLASSES,
    SGD_PARAMS,
    add_partitions,
    assert_consistent,
    assert_learned_once,
    new_store,
    partial_fit_loop,
    same_linear_model,
)
from tests.reliability.tally import tally

FIRST = "first.parquet"
BIG = "a-big.parquet"
SMALL = [f"b-{i}.parquet" for i in range(6)]
GROUPS = [[FIRST], [BIG], SMALL[:3], SMALL[3:]]


def batched_store(root: Path) -> distinc.IncrementalModel:
    """A stream store on ``root / "data"`` whose fit batches hold two and a half small files,
    at version 1 (``FIRST``), with the delta written."""
    data = root / "data"
    add_partitions(data, [FIRST])
    # The same files as the delta will hold (their content follows from their names).
    sizes = [path.stat().st_size for path in add_partitions(root / "sizes", SMALL)]
    assert 2 * max(sizes) < 2.5 * min(sizes)
    options = distinc.TrainingOptions(fit_batch_mb=2.5 * sum(sizes) / len(sizes) / MEGABYTE)
    return new_store(root, data, options=options)


def write_delta(root: Path) -> None:
    add_partitions(root / "data", [BIG], rows=2_000)
    add_partitions(root / "data", SMALL)


def assert_learned_the_clean_batches(store: Path, data: Path) -> None:
    assert_learned_once(store, [name for group in GROUPS for name in group])
    frames = [
        pd.concat([pq.read_table(data / name).to_pandas() for name in group], ignore_index=True)
        for group in GROUPS
    ]
    head = assert_consistent(store)
    entry = head.head()
    assert entry is not None and entry.notes["tasks"] == len(GROUPS) - 1
    clean = partial_fit_loop("SGDClassifier", SGD_PARAMS, frames, CLASSES)
    same_linear_model(head.load_model(entry), clean)


def arm(client: Any, partition: str, action: str, marker: Path) -> None:
    client.run(task_faults.arm, task_faults.setting(partition, action, str(marker)))


@pytest.fixture
def armed_client(client: Any) -> Iterator[Any]:
    yield client
    client.run(task_faults.arm, None)


def test_a_retried_fit_task_learns_the_same_batches(tmp_path: Path, armed_client: Any) -> None:
    model = batched_store(tmp_path)
    model.update(client=armed_client)
    write_delta(tmp_path)
    marker = tmp_path / "fired"
    arm(armed_client, SMALL[1], "raise", marker)
    assert model.update(client=armed_client).version == 2
    assert marker.exists(), "the fault never fired"
    tally("in-task faults injected")
    assert_learned_the_clean_batches(tmp_path / "store", tmp_path / "data")


@pytest.fixture
def cluster3() -> Iterator[ProcessCluster]:
    with process_cluster(workers=3) as cluster:
        yield cluster


@pytest.mark.cluster
def test_a_stream_resumed_after_a_lost_worker_learns_the_same_batches(
    tmp_path: Path, cluster3: ProcessCluster
) -> None:
    from distributed import Client

    with Client(cluster3.address) as client:
        model = batched_store(tmp_path)
        model.update(client=client)
        write_delta(tmp_path)
        marker = tmp_path / "fired"
        arm(client, SMALL[4], "sigkill", marker)
        assert model.update(client=client).version == 2
        assert marker.exists(), "the fault never fired"
        assert sum(worker.poll() is not None for worker in cluster3.workers) == 1
    tally("Dask workers killed with SIGKILL")
    assert_learned_the_clean_batches(tmp_path / "store", tmp_path / "data")


def test_an_update_rerun_after_a_crash_learns_the_same_batches(
    tmp_path: Path, client: Any, cli_env: dict[str, str | None]
) -> None:
    store = tmp_path / "store"
    batched_store(tmp_path).update(client=client)
    write_delta(tmp_path)
    crashed = procs.run("update", str(store), env={**cli_env, VARIABLE: "after-train:sigkill"})
    assert crashed.killed, crashed.describe()
    tally("processes killed with SIGKILL")
    assert assert_consistent(store).versions() == [1]
    assert distinc.open(str(store)).update(client=client).version == 2
    assert_learned_the_clean_batches(store, tmp_path / "data")
