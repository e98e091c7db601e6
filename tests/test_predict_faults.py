"""A Dask worker killed while a batch prediction runs: the predictions still come out whole."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import distinc
from tests.clusterproc import kill_the_worker_running, process_cluster
from tests.conftest import FEATURES, make_frame, write_partition


@pytest.mark.cluster
def test_a_prediction_survives_its_worker_dying_with_the_last_copy_of_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One partition, so one task: the Active Memory Manager keeps the model only on the worker
    # running it. Run every 100 ms (not 2 s) so that happens well before the task ends.
    monkeypatch.setenv("DASK_DISTRIBUTED__SCHEDULER__ACTIVE_MEMORY_MANAGER__INTERVAL", "100ms")
    write_partition(tmp_path / "data", "a.parquet", make_frame(2000, seed=0))
    scoring = make_frame(1_500_000, seed=1)
    write_partition(tmp_path / "scoring", "big.parquet", scoring)
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(tmp_path / "data"),
        target="label",
        model="SGDClassifier",
        params={"loss": "log_loss", "random_state": 0},
    )
    model.update()
    out = tmp_path / "predictions"
    with process_cluster(workers=2) as cluster:
        from distributed import Client

        with Client(cluster.address) as client:
            killed: list[str] = []
            watcher = threading.Thread(
                target=kill_the_worker_running,
                args=(("distinc-predict-",), cluster.address, killed),
                kwargs={"one_replica": True},
            )
            watcher.start()
            try:
                summary = model.predict(str(tmp_path / "scoring"), out=str(out), client=client)
            finally:
                watcher.join()
    assert killed and summary.files == 1 and summary.rows == len(scoring)
    written = pd.read_parquet(out / "big.parquet")
    expected = model.model().predict(scoring[FEATURES].to_numpy())
    assert np.array_equal(written["prediction"].to_numpy(), expected)
