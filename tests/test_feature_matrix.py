"""The feature matrix an estimator receives: float64, C-ordered, columns in the pinned order."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest

from distinc.dataset.reading import feature_matrix


def expected(table: pa.Table, features: list[str]) -> np.ndarray:
    return np.array(
        [[float(table.column(name)[i].as_py()) for name in features] for i in range(len(table))],
        dtype=np.float64,
    ).reshape(len(table), len(features))


@pytest.mark.parametrize("rows", [0, 1, 7, 2049, 10_007])
def test_every_row_keeps_its_values_in_the_pinned_column_order(rows: int) -> None:
    rng = np.random.default_rng(rows)
    table = pa.table(
        {
            "b": rng.normal(size=rows),
            "a": rng.integers(-5, 5, size=rows),  # int64: widened to float64
            "c": rng.normal(size=rows).astype(np.float32),
            "d": rng.integers(0, 2, size=rows).astype(bool),
            "e": rng.integers(-100, 100, size=rows).astype(np.int8),
        }
    )
    names = ["a", "b", "c", "d", "e"]  # the pinned order, not the file's
    matrix = feature_matrix(table, names)
    assert matrix.dtype == np.float64 and matrix.flags.c_contiguous and matrix.flags.writeable
    np.testing.assert_array_equal(matrix, expected(table, names))


def test_nulls_become_nan_and_wide_integers_round_as_numpy_rounds_them() -> None:
    big = 2**60 + 1  # no float64 holds it: rounded, not refused
    table = pa.table(
        {
            "i": pa.array([1, None, 3], pa.int64()),
            "f": pa.array([None, 2.5, None], pa.float64()),
            "u": pa.array([big, 0, 7], pa.uint64()),
            "t": pa.array([True, None, False]),
        }
    )
    matrix = feature_matrix(table, ["i", "f", "u", "t"])
    nan = np.nan
    wide = float(np.array([big], dtype=np.uint64).astype(np.float64)[0])
    np.testing.assert_array_equal(
        matrix, [[1.0, nan, wide, 1.0], [nan, 2.5, 0.0, nan], [3.0, nan, 7.0, 0.0]]
    )


def test_chunked_columns_and_category_codes() -> None:
    rows = 3 * 683  # whole "u v w" cycles
    piece = pa.table({"x": np.arange(rows, dtype=np.float64), "k": ["u", "v", "w"] * (rows // 3)})
    table = pa.concat_tables([piece, piece.slice(0, 5)])
    assert table.column("x").num_chunks == 2
    matrix = feature_matrix(table, ["k", "x"], {"k": ("u", "v")})
    assert matrix.shape == (rows + 5, 2) and matrix.flags.c_contiguous
    codes = np.tile([0.0, 1.0, np.nan], (rows + 5) // 3 + 1)
    np.testing.assert_array_equal(matrix[:rows, 0], codes[:rows])  # "w" is not in the vocabulary
    np.testing.assert_array_equal(matrix[rows:, 0], codes[:5])
    np.testing.assert_array_equal(matrix[:, 1], np.concatenate([np.arange(rows), np.arange(5)]))


def test_columns_in_many_chunks_give_what_one_chunk_gives() -> None:
    rng = np.random.default_rng(3)
    rows = 1_000
    whole = pa.table(
        {
            "f": rng.normal(size=rows),
            "i": pa.array(rng.integers(-9, 9, size=rows)),
            "n": pa.array([None if k % 7 == 0 else k for k in range(rows)], pa.int64()),
            "t": rng.integers(0, 2, size=rows).astype(bool),
            "h": rng.normal(size=rows).astype(np.float32),
        }
    )
    edges = [0, 0, 3, 400, 400, 999, rows]  # empty chunks too, and chunks with and without nulls
    table = pa.concat_tables([whole.slice(a, b - a) for a, b in itertools.pairwise(edges)])
    assert table.column("f").num_chunks == len(edges) - 1
    names = ["t", "n", "f", "h", "i"]
    matrix = feature_matrix(table, names)
    assert matrix.flags.c_contiguous
    np.testing.assert_array_equal(matrix, feature_matrix(whole.combine_chunks(), names))
    np.testing.assert_array_equal(matrix[:, 1], [np.nan if k % 7 == 0 else k for k in range(rows)])


def test_no_features_gives_an_empty_row_per_row() -> None:
    matrix = feature_matrix(pa.table({"y": [1, 2, 3]}), [])
    assert matrix.shape == (3, 0) and matrix.dtype == np.float64


def test_the_matrix_is_glibcs_not_held_by_arrows_pool() -> None:
    # Arrow's default pool (mimalloc) keeps freed pages until it next allocates: a worker paused
    # for memory would never get below the pause threshold with matrices there.
    piece = pa.table({"a": pa.array(np.arange(50_000), pa.int64()), "b": np.ones(50_000)})
    table = pa.concat_tables([piece, piece])  # two chunks of an int column: widened and joined
    held = pa.default_memory_pool().bytes_allocated()
    matrix = feature_matrix(table, ["a", "b"])
    assert pa.default_memory_pool().bytes_allocated() == held
    assert matrix.shape == (100_000, 2) and matrix[-1, 0] == 49_999.0
