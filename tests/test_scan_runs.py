"""Runs of small partitions scanned together give exactly what scanning each alone gives.

Every case writes real Parquet files and compares ``scan_partitions`` (runs) with
``scan_partition`` on each file: profiles, kept batches and drift statistics. A sound run must
take the shared path (its statistics are a ``PartitionSample``); a run with anything off must
fall back to file-by-file scans and name the same problems.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from distinc.dataset.partition import DataSource
from distinc.dataset.profile import PartitionProfile, scan_partition
from distinc.dataset.runs import scan_partitions
from distinc.dataset.samples import PartitionSample, merged_stats
from distinc.dataset.schema import ColumnContract
from distinc.dataset.stats import NumericSummary
from distinc.engine.scanning import scan_task
from tests.conftest import FEATURES, make_frame

CLASSIFY = ColumnContract(tuple(FEATURES), ("double",) * len(FEATURES), "label", "classification")
REGRESS = ColumnContract(tuple(FEATURES), ("double",) * len(FEATURES), "y", "regression")
UNSUPERVISED = ColumnContract(tuple(FEATURES), ("double",) * len(FEATURES), None, "clustering")


def write(root: Path, frames: list[pd.DataFrame]) -> list[str]:
    root.mkdir(parents=True, exist_ok=True)
    keys = []
    for i, frame in enumerate(frames):
        keys.append(f"part-{i:03d}.parquet")
        frame.to_parquet(root / keys[-1], index=False)
    return keys


def frames(count: int, rows: int = 300, **kwargs: Any) -> list[pd.DataFrame]:
    return [make_frame(rows, seed=i, **kwargs) for i in range(count)]


def regression(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="label").assign(y=frame[FEATURES].sum(axis=1) * 2.5)


def assert_same_scans(
    root: Path, keys: list[str], contract: ColumnContract, *, keep: bool, step: int
) -> list[PartitionProfile]:
    source = DataSource(str(root))
    together = scan_partitions(source, keys, contract, keep, step)
    alone = [scan_partition(source, key, contract, keep=keep, sample_every=step) for key in keys]
    assert [profile.key for profile, _ in together] == keys
    for (got, got_batch), (want, want_batch) in zip(together, alone, strict=True):
        assert (got.key, got.rows, got.digest, got.schema) == (
            want.key,
            want.rows,
            want.digest,
            want.schema,
        )
        assert (got.unhealthy, got.labels, got.categories, got.problem) == (
            want.unhealthy,
            want.labels,
            want.categories,
            want.problem,
        )
        assert (got_batch is None) == (want_batch is None)
        if got_batch is not None and want_batch is not None:
            assert np.array_equal(got_batch[0], want_batch[0])
            assert got_batch[0].dtype == want_batch[0].dtype
            if want_batch[1] is None:
                assert got_batch[1] is None
            else:
                assert got_batch[1] is not None
                assert got_batch[1].tolist() == want_batch[1].tolist()
    if step:
        assert_same_stats([p.stats for p, _ in together], [p.stats for p, _ in alone])
    return [profile for profile, _ in together]


def assert_same_stats(got_parts: list[Any], want_parts: list[Any]) -> None:
    got, want = merged_stats(got_parts), merged_stats(want_parts)
    assert got is not None and want is not None
    assert (got.rows, got.sample_every, got.labels) == (want.rows, want.sample_every, want.labels)
    assert list(got.columns) == list(want.columns)
    points = np.linspace(-3.0, 3.0, 25)
    pairs = [(got.columns[name], want.columns[name]) for name in want.columns]
    if want.target is not None:
        pairs.append((got.target, want.target))
    else:
        assert got.target is None
    for mine, theirs in pairs:
        if not isinstance(theirs, NumericSummary):
            assert mine == theirs
            continue
        assert isinstance(mine, NumericSummary)
        assert (mine.count, mine.missing) == (theirs.count, theirs.missing)
        # Both sides sketch the very same sampled values; a sketch of up to 200 is exact.
        assert mine.count <= 200
        assert np.array_equal(mine.cdf(points), theirs.cdf(points))


def took_the_shared_path(profiles: list[PartitionProfile]) -> bool:
    return all(isinstance(profile.stats, PartitionSample) for profile in profiles)


@pytest.mark.parametrize("keep", [True, False])
def test_a_sound_run_of_classification_partitions(tmp_path: Path, keep: bool) -> None:
    parts = frames(6, classes=(0, 1, 2))
    parts[2] = parts[2].iloc[:0]  # an empty partition keeps its place
    parts[4] = parts[1]  # a duplicate is profiled like any other
    keys = write(tmp_path, parts)
    profiles = assert_same_scans(tmp_path, keys, CLASSIFY, keep=keep, step=20)
    assert took_the_shared_path(profiles)
    assert profiles[2].rows == 0 and profiles[4].digest == profiles[1].digest


def test_statistics_of_some_partitions_of_runs_are_theirs_alone(tmp_path: Path) -> None:
    """Admission may leave partitions of a run out: the statistics then hold only the rest,
    whether a run is left whole, cut at either end or in the middle."""
    keys = write(tmp_path, frames(9, classes=(0, 1, 2)))
    source = DataSource(str(tmp_path))
    runs = scan_partitions(source, keys[:5], CLASSIFY, False, 20)
    runs += scan_partitions(source, keys[5:], CLASSIFY, False, 20)
    alone = [scan_partition(source, key, CLASSIFY, keep=False, sample_every=20) for key in keys]
    assert took_the_shared_path([profile for profile, _ in runs])
    for chosen in ([0, 1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8], [0, 1, 3, 4, 5, 6, 7]):
        assert_same_stats([runs[i][0].stats for i in chosen], [alone[i][0].stats for i in chosen])


def test_string_labels_keep_their_values_and_order(tmp_path: Path) -> None:
    keys = write(tmp_path, frames(4, classes=("cat", "dog", "emu")))
    profiles = assert_same_scans(tmp_path, keys, CLASSIFY, keep=True, step=20)
    assert took_the_shared_path(profiles)
    assert {label for profile in profiles for label, _ in profile.labels} == {"cat", "dog", "emu"}


def test_a_regression_target_is_sampled_with_the_features(tmp_path: Path) -> None:
    keys = write(tmp_path, [regression(frame) for frame in frames(5)])
    profiles = assert_same_scans(tmp_path, keys, REGRESS, keep=True, step=20)
    assert took_the_shared_path(profiles)


def test_partitions_without_a_target(tmp_path: Path) -> None:
    keys = write(tmp_path, [frame.drop(columns="label") for frame in frames(4)])
    profiles = assert_same_scans(tmp_path, keys, UNSUPERVISED, keep=True, step=20)
    assert took_the_shared_path(profiles)


def test_extra_columns_stay_in_every_profile_schema(tmp_path: Path) -> None:
    keys = write(tmp_path, [frame.assign(note="x") for frame in frames(3)])
    profiles = assert_same_scans(tmp_path, keys, CLASSIFY, keep=True, step=20)
    assert took_the_shared_path(profiles)
    assert ("note", "large_string") in profiles[0].schema or ("note", "string") in profiles[
        0
    ].schema


def test_a_nested_column_beside_the_features_keeps_the_shared_path(tmp_path: Path) -> None:
    keys = []
    for i, frame in enumerate(frames(3)):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        meta = pa.StructArray.from_arrays(
            [pa.array(range(len(frame))), pa.array(["a"] * len(frame))], names=["n", "s"]
        )
        keys.append(f"part-{i:03d}.parquet")
        pq.write_table(table.append_column("meta", meta), tmp_path / keys[-1])
    profiles = assert_same_scans(tmp_path, keys, CLASSIFY, keep=True, step=20)
    assert took_the_shared_path(profiles)
    assert [name for name, _ in profiles[0].schema][-1] == "meta"


def test_footers_that_differ_in_metadata_alone_keep_the_shared_path(tmp_path: Path) -> None:
    # pandas records each file's own RangeIndex in the footer: same columns, other metadata
    keys = []
    for i, rows in enumerate((300, 200, 250)):
        keys.append(f"part-{i:03d}.parquet")
        make_frame(rows, seed=i).to_parquet(tmp_path / keys[-1])
    footers = [pq.read_metadata(tmp_path / key).metadata for key in keys]
    assert footers[0] != footers[1]
    profiles = assert_same_scans(tmp_path, keys, CLASSIFY, keep=True, step=20)
    assert took_the_shared_path(profiles)


def test_an_arrow_type_that_only_the_footer_metadata_tells_apart_is_seen(tmp_path: Path) -> None:
    # string and large_string are both UTF-8 byte arrays in Parquet: only Arrow's schema differs
    keys = []
    for i, frame in enumerate(frames(3)):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        note = pa.array(["x"] * len(frame), pa.large_string() if i == 1 else pa.string())
        keys.append(f"part-{i:03d}.parquet")
        pq.write_table(table.append_column("note", note), tmp_path / keys[-1])
    profiles = assert_same_scans(tmp_path, keys, CLASSIFY, keep=True, step=20)
    assert not took_the_shared_path(profiles)
    assert [dict(profile.schema)["note"] for profile in profiles] == [
        "string",
        "large_string",
        "string",
    ]


def with_nan(parts: list[pd.DataFrame]) -> None:
    parts[2].loc[5, "x1"] = np.nan


def with_null_label(parts: list[pd.DataFrame]) -> None:
    parts[1]["label"] = parts[1]["label"].astype("Int64")
    parts[1].loc[3, "label"] = pd.NA
    for i in (0, 2, 3, 4):
        parts[i]["label"] = parts[i]["label"].astype("Int64")


def with_other_type(parts: list[pd.DataFrame]) -> None:
    parts[3]["x0"] = (parts[3]["x0"] * 100).astype("int64")


def with_missing_column(parts: list[pd.DataFrame]) -> None:
    parts[1] = parts[1].drop(columns="x2")


def with_infinity(parts: list[pd.DataFrame]) -> None:
    parts[4].loc[0, "x3"] = -np.inf


@pytest.mark.parametrize(
    "spoil", [with_nan, with_null_label, with_other_type, with_missing_column, with_infinity]
)
def test_a_run_with_a_flaw_is_scanned_file_by_file(
    tmp_path: Path, spoil: Callable[[list[pd.DataFrame]], None]
) -> None:
    parts = frames(5)
    spoil(parts)
    keys = write(tmp_path, parts)
    profiles = assert_same_scans(tmp_path, keys, CLASSIFY, keep=True, step=20)
    assert not took_the_shared_path(profiles)


def test_a_file_that_is_not_parquet_is_named_in_its_own_profile(tmp_path: Path) -> None:
    keys = write(tmp_path, frames(4))
    (tmp_path / keys[2]).write_bytes(b"PAR1 but not really")
    profiles = assert_same_scans(tmp_path, keys, CLASSIFY, keep=True, step=0)
    assert [profile.problem is not None for profile in profiles] == [False, False, True, False]


def test_categorical_features_are_scanned_file_by_file(tmp_path: Path) -> None:
    keys = write(tmp_path, [frame.assign(x3=frame["label"].map(str)) for frame in frames(3)])
    contract = ColumnContract(
        tuple(FEATURES),
        ("double", "double", "double", "string"),
        "label",
        "classification",
        categorical=("x3",),
        vocabularies={"x3": ("0", "1")},
    )
    profiles = assert_same_scans(tmp_path, keys, contract, keep=True, step=20)
    assert not took_the_shared_path(profiles)


def test_runs_close_at_their_byte_budget_and_batches_stay_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = write(tmp_path, frames(9, rows=200))
    size = (tmp_path / keys[0]).stat().st_size
    monkeypatch.setattr("distinc.dataset.runs.RUN_BYTES", 3 * size)
    profiles = assert_same_scans(tmp_path, keys, CLASSIFY, keep=True, step=20)
    runs = {
        id(profile.stats.run) for profile in profiles if isinstance(profile.stats, PartitionSample)
    }
    assert len(runs) == 3


def test_a_lone_file_is_scanned_alone(tmp_path: Path) -> None:
    keys = write(tmp_path, frames(1))
    profiles = assert_same_scans(tmp_path, keys, CLASSIFY, keep=True, step=2)
    assert not took_the_shared_path(profiles)


def test_boolean_and_integer_features_are_plain_numbers(tmp_path: Path) -> None:
    parts = [
        frame.assign(x0=frame["x0"] > 0, x1=(frame["x1"] * 10).astype("int32"))
        for frame in frames(4)
    ]
    keys = write(tmp_path, parts)
    contract = ColumnContract(
        tuple(FEATURES), ("bool", "int32", "double", "double"), "label", "classification"
    )
    table = pq.read_table(tmp_path / keys[0])
    assert table.schema.field("x0").type == pa.bool_()
    profiles = assert_same_scans(tmp_path, keys, contract, keep=True, step=20)
    assert took_the_shared_path(profiles)


def test_the_scheduler_knows_what_a_kept_scan_weighs(tmp_path: Path, client: Any) -> None:
    """Dask places a fit by the bytes of its inputs; a scan result that weighed a few bytes
    would send fits anywhere and move every batch to them."""
    keys = write(tmp_path / "data", frames(2, rows=5_000))
    future = client.submit(scan_task, DataSource(str(tmp_path / "data")), keys, CLASSIFY, True, 0)
    result = future.result()
    batches = sum(x.nbytes + y.nbytes for x, y in result.values())
    assert batches > 2 * 5_000 * len(FEATURES) * 8
    key = future.key
    weight = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.tasks[key].nbytes)
    assert weight >= batches


@pytest.mark.parametrize("spoil", [None, with_nan], ids=["sound-run", "one-partition-with-nan"])
def test_a_kept_scan_travels_as_one_array_per_run(
    tmp_path: Path, client: Any, spoil: Callable[[list[pd.DataFrame]], None] | None
) -> None:
    """A fit on another worker gets the scan's batches as they were, a run's rows as one array
    each (features, labels) rather than two arrays per partition."""
    parts = frames(6)
    if spoil is not None:
        spoil(parts)
    keys = write(tmp_path / "data", parts)
    source = DataSource(str(tmp_path / "data"))
    here = scan_task(source, keys, CLASSIFY, True, 0)
    arrays: list[pickle.PickleBuffer] = []
    pickle.dumps(here, protocol=5, buffer_callback=arrays.append)
    sound = [key for key in keys if here[key] is not None]
    assert len(arrays) == (2 if spoil is None else 2 * len(sound))
    assert len(sound) == (6 if spoil is None else 5)
    sent = client.submit(scan_task, source, keys, CLASSIFY, True, 0).result()
    assert list(sent) == keys and sent.profiles == here.profiles
    for key in keys:
        if here[key] is None:
            assert sent[key] is None
            continue
        for got, want in zip(sent[key], here[key], strict=True):
            np.testing.assert_array_equal(got, want)
