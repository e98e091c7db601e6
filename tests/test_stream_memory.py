"""The partial_fit stream when the delta is too large to keep in worker memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import SGDClassifier

import distinc
from distinc.dataset.partition import DataSource
from distinc.dataset.schema import ColumnContract
from distinc.engine import scanning
from distinc.exceptions import CorruptPartitionError
from distinc.ledger.entry import TrainedPartition
from distinc.trainers import stream
from distinc.trainers.base import AdmittedGroup
from tests.conftest import FEATURES, make_frame, write_partition

PARAMS = {"loss": "log_loss", "random_state": 0}
CONTRACT = ColumnContract(tuple(FEATURES), ("double",) * len(FEATURES), "label", "classification")


def plain_loop(files: list[Path]) -> SGDClassifier:
    model = SGDClassifier(**PARAMS)
    for path in files:
        frame = pq.read_table(path).to_pandas()
        model.partial_fit(frame[FEATURES], frame["label"], classes=[0, 1])
    return model


@pytest.mark.parametrize("budget", [0, 20_000], ids=["fit-tasks-read", "one-group-read-ahead"])
def test_a_delta_not_kept_streams_within_the_read_budget_and_equals_a_plain_loop(
    tmp_path: Path, client: object, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    data = tmp_path / "data"
    for i in range(6):
        write_partition(data, f"part-{i:02d}.parquet", make_frame(200 + 50 * i, seed=i))
    # The delta is never kept, and reads in flight may hold nothing (every group is read by its
    # fit task) or about one group of these files (8 to 18 kB decoded).
    monkeypatch.setattr(scanning, "KEEP_SHARE", 0.0)
    workers = client.scheduler_info(n_workers=-1)["workers"].values()  # type: ignore[attr-defined]
    smallest = min(worker["memory_limit"] for worker in workers)
    monkeypatch.setattr(stream, "READ_AHEAD_SHARE", budget / smallest)
    assert stream.read_ahead_budget(client) == pytest.approx(budget)
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="SGDClassifier",
        params=PARAMS,
        classes=[0, 1],
    )
    entry = model.update(client=client).entry
    assert entry is not None and len(entry.partitions) == 6
    expected = plain_loop(sorted(data.glob("*.parquet")))
    np.testing.assert_array_equal(model.model().coef_, expected.coef_)
    assert model.verify() == []


def test_fit_tasks_read_partitions_in_order_one_ahead(tmp_path: Path) -> None:
    for i in range(3):
        write_partition(tmp_path, f"p{i}.parquet", make_frame(10 + i, seed=i))
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    source = DataSource(str(tmp_path))
    kept = {"p1.parquet": (np.zeros((1, 4)), np.zeros(1))}
    keys = ["p0.parquet", "p1.parquet", "p2.parquet"]
    read = list(stream._in_order(keys, kept, source, CONTRACT))
    assert [key for key, _ in read] == keys
    assert [len(labels) for _, (_, labels) in read] == [10, 1, 12]
    with pytest.raises(CorruptPartitionError, match="bad.parquet"):
        list(stream._in_order(["p0.parquet", "bad.parquet"], None, source, CONTRACT))


def test_decoded_bytes_counts_features_and_label_as_float64() -> None:
    parts = tuple(TrainedPartition(f"p{i}", 1, "t", rows, "d") for i, rows in enumerate([10, 5]))
    assert stream.decoded_bytes(AdmittedGroup(0, parts), CONTRACT) == 15 * 5 * 8
