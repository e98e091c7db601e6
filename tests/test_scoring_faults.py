"""Bad holdout and scoring data for ``evaluate``, ``compare``, ``predict`` and ``drift``: each
problem is named (partition, column or class) before any metric is stored, as an update names it
before any training; empty partitions add no rows; a worker killed mid-way changes no number."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from distinc.dataset.stats import rank_error
from distinc.exceptions import (
    CorruptPartitionError,
    DataError,
    InvalidValueError,
    SchemaError,
    UnseenLabelError,
)
from distinc.trainers import task_faults
from tests.clusterproc import kill_the_worker_running, process_cluster
from tests.conftest import learned_store, make_frame, write_partition


def garbage(folder: Path) -> None:
    (folder / "bad.parquet").write_bytes(b"PAR1 not parquet")


def without_x1(folder: Path) -> None:
    write_partition(folder, "bad.parquet", make_frame(200, seed=11).drop(columns=["x1"]))


def x0_as_text(folder: Path) -> None:
    write_partition(folder, "bad.parquet", make_frame(200, seed=12).astype({"x0": str}))


def nan_in_x2(folder: Path) -> None:
    frame = make_frame(200, seed=13)
    frame.loc[17, "x2"] = np.nan
    write_partition(folder, "bad.parquet", frame)


def label_7(folder: Path) -> None:
    frame = make_frame(200, seed=14)
    frame.loc[[3, 9], "label"] = 7
    write_partition(folder, "bad.parquet", frame)


# How the bad partition is written, the error, and what its message says after the key.
BAD_HOLDOUTS: dict[str, tuple[Callable[[Path], None], type[DataError], str]] = {
    "garbage": (garbage, CorruptPartitionError, "is not readable Parquet"),
    "missing column": (without_x1, SchemaError, "has no column 'x1'"),
    "text column": (x0_as_text, SchemaError, "but the model pinned double"),
    "NaN": (nan_in_x2, InvalidValueError, "has NaN or infinite values"),
    "unseen label": (label_7, UnseenLabelError, "has label 7 (2 rows), which the model never"),
}


@pytest.fixture
def trained(tmp_path: Path, data_dir: Path, client: Any) -> Any:
    return learned_store(tmp_path, data_dir, client)


def holdout_with(tmp_path: Path, bad: Callable[[Path], None]) -> Path:
    holdout = tmp_path / "holdout"
    write_partition(holdout, "good.parquet", make_frame(300, seed=10))
    bad(holdout)
    return holdout


def store_files(tmp_path: Path) -> dict[str, bytes]:
    store = tmp_path / "store"
    return {str(p.relative_to(store)): p.read_bytes() for p in store.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", sorted(BAD_HOLDOUTS))
def test_evaluate_names_a_bad_holdout_partition_and_stores_nothing(
    tmp_path: Path, trained: Any, client: Any, case: str
) -> None:
    bad, error, says = BAD_HOLDOUTS[case]
    holdout = holdout_with(tmp_path, bad)
    before = store_files(tmp_path)
    with pytest.raises(error) as caught:
        trained.evaluate(str(holdout), client=client)
    assert str(caught.value).startswith("Partition 'bad.parquet' ") or (
        "of partition 'bad.parquet'" in str(caught.value)
    )
    assert says in str(caught.value) and "not trained" not in str(caught.value)
    assert caught.value.details["partition"] == "bad.parquet"
    assert store_files(tmp_path) == before
    (holdout / "bad.parquet").unlink()
    assert trained.evaluate(str(holdout), client=client)["rows"] == 300


@pytest.mark.parametrize("case", ["garbage", "text column", "unseen label"])
def test_compare_names_a_bad_holdout_partition_and_commits_nothing(
    tmp_path: Path, trained: Any, client: Any, case: str
) -> None:
    bad, error, says = BAD_HOLDOUTS[case]
    holdout = holdout_with(tmp_path, bad)
    before = store_files(tmp_path)
    with pytest.raises(error, match=re.escape(says)) as caught:
        trained.compare(str(holdout), client=client, commit=True)
    assert caught.value.details["partition"] == "bad.parquet"
    assert store_files(tmp_path) == before


@pytest.mark.parametrize("case", ["garbage", "missing column", "text column", "NaN"])
def test_predict_names_a_bad_partition(
    tmp_path: Path, trained: Any, client: Any, case: str
) -> None:
    bad, error, says = BAD_HOLDOUTS[case]
    data = holdout_with(tmp_path, bad)
    with pytest.raises(error, match=re.escape(says)) as caught:
        trained.predict(str(data), out=str(tmp_path / "out"), client=client)
    assert caught.value.details["partition"] == "bad.parquet"
    assert not (tmp_path / "out" / "bad.parquet").exists()


def test_empty_partitions_add_no_rows_to_metrics_or_predictions(
    tmp_path: Path, trained: Any, client: Any
) -> None:
    holdout = holdout_with(tmp_path, lambda folder: None)
    alone = trained.evaluate(str(holdout), client=client)
    write_partition(holdout, "empty.parquet", make_frame(10, seed=15).iloc[:0])
    assert trained.evaluate(str(holdout), client=client) == alone

    out = tmp_path / "out"
    summary = trained.predict(str(holdout), out=str(out), client=client)
    assert (summary.files, summary.rows) == (2, 300)
    empty, full = pq.read_table(out / "empty.parquet"), pq.read_table(out / "good.parquet")
    assert empty.num_rows == 0 and empty.schema == full.schema
    assert full.column_names == ["prediction", "proba_0", "proba_1"]


def test_drift_sets_aside_and_names_pending_partitions_an_update_would_refuse(
    tmp_path: Path, trained: Any, data_dir: Path, client: Any
) -> None:
    for bad, name in [(garbage, "a"), (without_x1, "b"), (x0_as_text, "c"), (nan_in_x2, "d")]:
        bad(tmp_path)
        (tmp_path / "bad.parquet").rename(data_dir / f"{name}-bad.parquet")
    write_partition(data_dir, "new.parquet", make_frame(300, seed=16))
    check = trained.drift(client=client)
    reasons = dict(line.split(": ", 1) for line in check.set_aside)
    assert sorted(reasons) == ["a-bad.parquet", "b-bad.parquet", "c-bad.parquet", "d-bad.parquet"]
    assert "not readable Parquet" in reasons["a-bad.parquet"]
    assert "has no column 'x1'" in reasons["b-bad.parquet"]
    assert "Column 'x0' of partition 'c-bad.parquet' is" in reasons["c-bad.parquet"]
    assert "The column 'x2' of partition 'd-bad.parquet'" in reasons["d-bad.parquet"]
    # the one sound partition is compared, and only it
    assert check.recommendation == "update" and check.shift is not None
    assert check.shift.pending_rows == 300


def killed_once(run: Callable[[Any], Any], prefix: str) -> tuple[Any, list[str]]:
    """``run(client)`` on a cluster of two worker processes, one killed while it runs a task
    whose key starts with ``prefix``."""
    from distributed import Client

    with process_cluster(workers=2) as cluster, Client(cluster.address) as client:
        killed: list[str] = []
        watcher = threading.Thread(
            target=kill_the_worker_running, args=((prefix,), cluster.address, killed)
        )
        watcher.start()
        try:
            return run(client), killed
        finally:
            watcher.join()


def big_partitions(folder: Path, count: int, rows: int) -> None:
    for i in range(count):
        write_partition(folder, f"big-{i}.parquet", make_frame(rows, seed=100 + i))


@pytest.mark.cluster
def test_a_worker_killed_during_an_evaluation_changes_no_metric(
    tmp_path: Path, trained: Any, client: Any
) -> None:
    holdout = tmp_path / "holdout"
    big_partitions(holdout, 4, 400_000)
    clean = trained.evaluate(str(holdout), client=client)
    (tmp_path / "store" / "evaluations").rename(tmp_path / "clean-evaluations")
    found, killed = killed_once(
        lambda other: trained.evaluate(str(holdout), client=other), "distinc-score-"
    )
    assert killed and found == clean and found["rows"] == 1_600_000


@pytest.mark.cluster
def test_a_worker_killed_during_a_drift_check_changes_no_figure(
    trained: Any, data_dir: Path, client: Any
) -> None:
    big_partitions(data_dir, 4, 400_000)
    clean = trained.drift(client=client)
    found, killed = killed_once(lambda other: trained.drift(client=other), "distinc-drift-scan-")
    assert killed
    assert_same_check(found, clean)


def assert_same_check(found: Any, clean: Any) -> None:
    """Equal drift checks, up to the randomness of KLL sketches: KLL compacts by coin flips
    (Apache DataSketches offers no seed), so a sketched CDF moves by up to its rank error
    between two checks of the same rows. Counts of rows and labels are exact."""
    assert (found.recommendation, found.pending, found.set_aside) == (
        clean.recommendation,
        clean.pending,
        clean.set_aside,
    )
    assert (found.learned_rows, found.described_rows) == (clean.learned_rows, clean.described_rows)
    assert found.shift.pending_rows == clean.shift.pending_rows == 1_600_000
    assert found.shift.label == clean.shift.label
    ours = {column.column: column for column in found.shift.columns}
    for column in clean.shift.columns:
        assert ours[column.column].ks == pytest.approx(column.ks, abs=2 * rank_error())
        assert ours[column.column].psi == pytest.approx(column.psi, abs=0.05)


def test_predictions_of_an_empty_partition_keep_the_model_output_types(
    tmp_path: Path, trained: Any, client: Any
) -> None:
    data = tmp_path / "scoring"
    write_partition(data, "empty.parquet", make_frame(5, seed=17).iloc[:0])
    trained.predict(str(data), out=str(tmp_path / "out"), client=client)
    frame = pd.read_parquet(tmp_path / "out" / "empty.parquet")
    assert frame["prediction"].dtype == np.int64 and frame["proba_1"].dtype == np.float64


def test_predict_refuses_a_folder_without_parquet_files_and_names_a_missing_kept_column(
    tmp_path: Path, trained: Any, client: Any
) -> None:
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "notes.txt").write_text("no data here")
    with pytest.raises(DataError, match="No Parquet files under '.*nothing'"):
        trained.predict(str(tmp_path / "nothing"), out=str(tmp_path / "out"), client=client)
    data = holdout_with(tmp_path, lambda folder: None)
    with pytest.raises(
        SchemaError, match=r"'good.parquet' has no column 'id' \(missing: \['id'\]\)"
    ):
        trained.predict(str(data), out=str(tmp_path / "out"), keep=["id"], client=client)


def test_a_holdout_that_changes_during_an_evaluation_stores_nothing(
    tmp_path: Path, trained: Any, client: Any
) -> None:
    """A file added to the holdout while its partitions are scored: the metrics no longer
    describe any one holdout, so none are stored, and the next evaluation scores both files."""
    holdout = holdout_with(tmp_path, lambda folder: None)
    marker = tmp_path / "paused"
    client.run(task_faults.arm, task_faults.setting("good.parquet", "pause", str(marker)))
    before = store_files(tmp_path)
    outcome: list[BaseException | dict[str, float]] = []

    def evaluate() -> None:
        try:
            outcome.append(trained.evaluate(str(holdout), client=client))
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)

    runner = threading.Thread(target=evaluate)
    try:
        runner.start()
        deadline = time.monotonic() + 120
        while not marker.exists() and runner.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), outcome
        write_partition(holdout, "late.parquet", make_frame(100, seed=18))
    finally:
        Path(f"{marker}.go").touch()
        runner.join(timeout=120)
        client.run(task_faults.arm, None)
    (error,) = outcome
    assert isinstance(error, DataError)
    assert "changed while it was being evaluated; nothing was recorded" in str(error)
    assert store_files(tmp_path) == before
    assert trained.evaluate(str(holdout), client=client)["rows"] == 400
