"""Label counts per partition equal Arrow's own value counts of each partition's rows, whether
the labels are counted value by value (integers of a small span) or hashed (everything else)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from distinc.dataset.labels import COUNTED_SPAN, label_counts, label_counts_each


def counted_by_arrow(column: pa.ChunkedArray, bounds: list[int]) -> list[Any]:
    counts = []
    for start, stop in itertools.pairwise(bounds):
        found = pc.value_counts(column.slice(start, stop - start).drop_null())
        pairs = zip(
            found.field("values").to_pylist(), found.field("counts").to_pylist(), strict=True
        )
        counts.append(tuple(sorted(pairs, key=lambda pair: repr(pair[0]))))
    return counts


def chunked(values: Any, pieces: int = 3, type: pa.DataType | None = None) -> pa.ChunkedArray:
    whole = pa.array(values, type=type)
    edges = np.linspace(0, len(whole), pieces + 1).astype(int)
    return pa.chunked_array([whole[a:b] for a, b in itertools.pairwise(edges)], whole.type)


RNG = np.random.default_rng(7)
COLUMNS = {
    "binary int64": chunked(RNG.integers(0, 2, 5_000)),
    "negative to positive": chunked(RNG.integers(-3, 4, 5_000)),
    "span one under the limit": chunked(RNG.integers(5, 5 + COUNTED_SPAN, 5_000)),
    "span at the limit": chunked(np.r_[RNG.integers(0, COUNTED_SPAN, 4_999), COUNTED_SPAN]),
    "wide span": chunked(RNG.choice([1, 1_000_000, -(2**40)], 5_000)),
    "one value": chunked(np.full(5_000, 9)),
    "uint8": chunked(RNG.integers(0, 3, 5_000), type=pa.uint8()),
    "uint64 beyond int64": chunked(RNG.choice([2**64 - 1, 2**64 - 2], 5_000), type=pa.uint64()),
    "ten and two (repr order)": chunked(RNG.choice([2, 10], 5_000)),
    "strings": chunked(RNG.choice(["b", "a", "c"], 5_000).tolist()),
    "floats": chunked(RNG.choice([0.0, 1.0, 2.5], 5_000)),
    "booleans": chunked(RNG.integers(0, 2, 5_000).astype(bool)),
}
BOUNDS = {
    "one partition": [0, 5_000],
    "even": list(range(0, 5_001, 1_000)),
    "empty ones first, between and last": [0, 0, 1, 1, 2_500, 2_500, 4_999, 5_000, 5_000],
}


@pytest.mark.parametrize("bounds", BOUNDS.values(), ids=BOUNDS.keys())
@pytest.mark.parametrize("column", COLUMNS.values(), ids=COLUMNS.keys())
def test_counts_equal_arrow_value_counts_per_partition(
    column: pa.ChunkedArray, bounds: list[int]
) -> None:
    got = label_counts_each(column, bounds)
    assert got == counted_by_arrow(column, bounds)
    assert all(type(label) is type(column[0].as_py()) for counts in got for label, _ in counts)


def test_a_run_of_empty_partitions() -> None:
    assert label_counts_each(pa.chunked_array([], pa.int64()), [0, 0, 0]) == [(), ()]


def test_nulls_are_left_out_of_one_partitions_counts() -> None:
    column = pa.chunked_array([[1, None, 0], [None, 1]])
    assert label_counts(column) == ((0, 1), (1, 2))
    assert label_counts(pa.chunked_array([[None, None]], pa.int64())) == ()
