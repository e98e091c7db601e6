"""The feature matrix an estimator receives: float64, C-ordered, columns in the pinned order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from distinc.dataset.reading import ROW_BLOCK, feature_matrix


def expected(table: pa.Table, features: list[str]) -> np.ndarray:
    return np.array(
        [[float(table.column(name)[i].as_py()) for name in features] for i in range(len(table))],
        dtype=np.float64,
    ).reshape(len(table), len(features))


@pytest.mark.parametrize("rows", [0, 1, ROW_BLOCK - 1, ROW_BLOCK, ROW_BLOCK + 1, 2 * ROW_BLOCK + 7])
def test_rows_on_and_across_block_edges_keep_their_values(rows: int) -> None:
    rng = np.random.default_rng(rows)
    table = pa.table(
        {
            "b": rng.normal(size=rows),
            "a": rng.integers(-5, 5, size=rows),  # int64: widened to float64
            "c": rng.normal(size=rows).astype(np.float32),
        }
    )
    matrix = feature_matrix(table, ["a", "b", "c"])  # the pinned order, not the file's
    assert matrix.dtype == np.float64 and matrix.flags.c_contiguous
    np.testing.assert_array_equal(matrix, expected(table, ["a", "b", "c"]))


def test_chunked_columns_and_category_codes() -> None:
    rows = 3 * (ROW_BLOCK // 3 + 1)  # past one block, whole "u v w" cycles
    piece = pa.table({"x": np.arange(rows, dtype=np.float64), "k": ["u", "v", "w"] * (rows // 3)})
    table = pa.concat_tables([piece, piece.slice(0, 5)])
    assert table.column("x").num_chunks == 2
    matrix = feature_matrix(table, ["k", "x"], {"k": ("u", "v")})
    assert matrix.shape == (rows + 5, 2) and matrix.flags.c_contiguous
    codes = np.tile([0.0, 1.0, np.nan], (rows + 5) // 3 + 1)
    np.testing.assert_array_equal(matrix[:rows, 0], codes[:rows])  # "w" is not in the vocabulary
    np.testing.assert_array_equal(matrix[rows:, 0], codes[:5])
    np.testing.assert_array_equal(matrix[:, 1], np.concatenate([np.arange(rows), np.arange(5)]))


def test_no_features_gives_an_empty_row_per_row() -> None:
    matrix = feature_matrix(pa.table({"y": [1, 2, 3]}), [])
    assert matrix.shape == (3, 0) and matrix.dtype == np.float64
