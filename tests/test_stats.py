"""Delta statistics and the drift verdict on them: pure, no cluster, real sketches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distinc.dataset.reading import contract_features
from distinc.dataset.schema import ColumnContract
from distinc.dataset.stats import (
    CategorySummary,
    DeltaStats,
    NumericSummary,
    merge_stats,
    partition_stats,
    rank_error,
    sample_step,
)
from distinc.ledger.drift import PSI_THRESHOLD, psi, shift_between

CONTRACT = ColumnContract(("a", "b", "c"), ("double", "int64", "string"), "y", "classification")


def table(rows: int, *, seed: int, shift: float = 0.0, positive: float = 0.5) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "a": rng.normal(shift, 1.0, rows),
            "b": rng.integers(0, 4, rows),
            "c": np.array(["red", "green", "blue"])[rng.integers(0, 3, rows)],
            "y": (rng.random(rows) < positive).astype("int64"),
        }
    )


def stats_of(data: pa.Table, *, step: int = 1, offset: int = 0) -> DeltaStats:
    labels = np.unique(data.column("y").to_numpy(), return_counts=True)
    pairs = tuple((int(v), int(n)) for v, n in zip(*labels, strict=True))
    return partition_stats(data, CONTRACT, sample_every=step, offset=offset, labels=pairs)


def test_partition_stats_summarise_every_column_kind() -> None:
    data = table(1000, seed=1)
    stats = stats_of(data)
    assert stats.rows == 1000 and stats.sample_every == 1
    assert isinstance(stats.columns["a"], NumericSummary) and stats.columns["a"].count == 1000
    assert isinstance(stats.columns["c"], CategorySummary)
    assert sum(n for _, n in stats.columns["c"].counts) == 1000
    assert dict(stats.labels) == dict(
        zip(*np.unique(data.column("y").to_numpy(), return_counts=True), strict=True)
    )
    values = np.sort(data.column("a").to_numpy())
    points = values[[100, 500, 900]]
    exact = np.searchsorted(values, points, side="right") / len(values)
    assert np.abs(stats.columns["a"].cdf(points) - exact).max() <= rank_error()


def test_sampling_takes_every_nth_row_and_keeps_the_full_row_count() -> None:
    stats = stats_of(table(1000, seed=2), step=10, offset=3)
    summary = stats.columns["a"]
    assert isinstance(summary, NumericSummary)
    assert stats.rows == 1000 and summary.count == 100
    assert sample_step(0, 3) == 1 and sample_step(10**12, 3) > 1


@pytest.mark.parametrize(("rows", "step"), [(150, 1), (3000, 1), (3000, 7)])
def test_stats_from_the_scans_feature_matrix_match_those_from_arrow(rows: int, step: int) -> None:
    data = table(rows, seed=4)
    holes = data.column("a").to_numpy().copy()
    holes[::17], holes[5], holes[8] = np.nan, np.inf, -np.inf
    data = data.set_column(0, "a", pa.array(holes))
    contract = ColumnContract(("a", "b"), ("double", "int64"), "y", "regression")
    matrix = contract_features(data, contract)
    both = [
        partition_stats(data, contract, sample_every=step, offset=3, matrix=found)
        for found in (None, matrix)
    ]
    assert [list(stats.columns) for stats in both] == [["a", "b"]] * 2
    points = np.linspace(-3, 4, 29)
    # Up to 200 values a sketch keeps them all and is exact; beyond, it is within its rank error.
    tolerance = 1e-12 if rows // step <= 200 else rank_error()
    for name in ("a", "b", "y"):
        values = data.column(name).to_numpy().astype(float)[3 % step :: step]
        finite = np.sort(values[np.isfinite(values)])
        exact = np.searchsorted(finite, points, side="right") / len(finite)
        for stats in both:
            summary = stats.target if name == "y" else stats.columns[name]
            assert isinstance(summary, NumericSummary), name
            assert (summary.count, summary.missing) == (len(finite), len(values) - len(finite))
            sketch = summary.kll()
            assert (sketch.get_min_value(), sketch.get_max_value()) == (finite[0], finite[-1])
            assert np.abs(summary.cdf(points) - exact).max() <= tolerance, name


def test_merged_stats_match_the_stats_of_all_rows() -> None:
    parts = [table(3000, seed=s, shift=s / 2) for s in range(4)]
    merged = merge_stats(stats_of(part) for part in parts)
    whole = stats_of(pa.concat_tables(parts))
    assert merged is not None and merged.rows == whole.rows == 12_000
    points = np.linspace(-2, 3, 11)
    a, b = merged.columns["a"], whole.columns["a"]
    assert isinstance(a, NumericSummary) and isinstance(b, NumericSummary)
    assert np.abs(a.cdf(points) - b.cdf(points)).max() <= 2 * rank_error()
    assert merged.columns["c"] == whole.columns["c"] and merged.labels == whole.labels
    with pytest.raises(ValueError, match="different steps"):
        merge_stats([stats_of(parts[0], step=2), stats_of(parts[1], step=3)])


def test_stats_survive_json() -> None:
    stats = stats_of(table(500, seed=3))
    assert DeltaStats.from_json(stats.to_json()) == stats


def test_same_distribution_recommends_update() -> None:
    learned = [stats_of(table(20_000, seed=s)) for s in range(2)]
    shift = shift_between(learned, stats_of(table(5000, seed=9)))
    assert shift.recommendation == "update"
    assert all(column.psi < 0.02 for column in shift.columns)
    assert shift.label is not None and shift.label.psi < 0.02
    assert "no feature or label shifted beyond PSI 0.25" in shift.reason


def test_a_shifted_feature_recommends_retrain_and_is_named() -> None:
    learned = [stats_of(table(20_000, seed=1))]
    shift = shift_between(learned, stats_of(table(5000, seed=2, shift=1.0)))
    assert shift.recommendation == "retrain"
    assert shift.columns[0].column == "a" and shift.columns[0].psi >= PSI_THRESHOLD
    assert shift.columns[0].ks is not None and shift.columns[0].ks > 0.3
    assert "feature 'a'" in shift.reason and "'b'" not in shift.reason


def test_a_label_shift_recommends_retrain() -> None:
    learned = [stats_of(table(20_000, seed=1))]
    shift = shift_between(learned, stats_of(table(5000, seed=2, positive=0.9)))
    assert shift.recommendation == "retrain" and "label distribution" in shift.reason
    assert shift.label is not None and shift.label.psi >= PSI_THRESHOLD


def test_a_regression_targets_shift_is_named_after_its_column() -> None:
    contract = ColumnContract(("a", "b"), ("double", "int64"), "y", "regression")

    def stats(rows: int, seed: int, level: float) -> DeltaStats:
        data = table(rows, seed=seed)
        data = data.set_column(3, "y", pa.array(data.column("a").to_numpy() + level))
        return partition_stats(data, contract, sample_every=1, offset=0)

    shift = shift_between([stats(20_000, 1, 0.0)], stats(5000, 2, 2.0), target="y")
    assert shift.label is not None and shift.label.column == "y" and shift.label.kind == "label"
    assert shift.label.psi >= PSI_THRESHOLD and shift.recommendation == "retrain"


def test_a_big_move_on_a_handful_of_rows_is_not_called_drift() -> None:
    learned = [stats_of(table(20_000, seed=1))]
    shift = shift_between(learned, stats_of(table(12, seed=2, shift=0.4)))
    assert shift.recommendation == "update"


def test_missing_values_are_a_bin_of_their_own() -> None:
    learned = [stats_of(table(10_000, seed=1))]
    holes = table(5000, seed=2)
    column = holes.column("a").to_numpy().copy()
    column[: len(column) // 2] = np.nan
    holes = holes.set_column(0, "a", pa.array(column))
    shift = shift_between(learned, stats_of(holes))
    assert {c.column: c.psi for c in shift.columns}["a"] >= PSI_THRESHOLD


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0.01, 1.0), min_size=2, max_size=8).flatmap(
        lambda a: st.tuples(
            st.just(a), st.lists(st.floats(0.01, 1.0), min_size=len(a), max_size=len(a))
        )
    )
)
def test_psi_is_zero_only_for_equal_shares(pair: tuple[list[float], list[float]]) -> None:
    a = np.array(pair[0]) / sum(pair[0])
    b = np.array(pair[1]) / sum(pair[1])
    assert psi(a, a) == 0.0
    assert psi(a, b) >= 0.0
    assert psi(a, b) == pytest.approx(psi(b, a))
