"""``distinc update`` against real scheduler/worker processes, and on its own LocalCluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import distinc
from tests.clusterproc import process_cluster
from tests.conftest import cli_init, make_frame, run_cli, write_partition

pytestmark = pytest.mark.cluster


def test_update_on_a_real_scheduler_and_two_workers(tmp_path: Path, data_dir: Path) -> None:
    store = str(tmp_path / "store")
    cli_init(store, data_dir, "--param", "random_state=0")
    with process_cluster(workers=2) as cluster:
        first = json.loads(
            run_cli("update", store, "--scheduler", cluster.address, "--json").stdout
        )
        write_partition(data_dir, "part-99.parquet", make_frame(100, seed=99))
        second = json.loads(
            run_cli(
                "update", store, "--json", env={"DASK_SCHEDULER_ADDRESS": cluster.address}
            ).stdout
        )
    assert first["version"] == 1 and second["partitions"] == ["part-99.parquet"]
    assert distinc.open(store).verify() == []


def test_update_without_a_scheduler_starts_its_own_local_cluster(
    tmp_path: Path, data_dir: Path
) -> None:
    store = str(tmp_path / "store")
    cli_init(store, data_dir)
    result = run_cli("update", store, env={"DASK_SCHEDULER_ADDRESS": ""})
    assert "version 1: trained 3 partition(s)" in result.stdout
