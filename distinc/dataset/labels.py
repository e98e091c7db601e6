"""Counting the labels of partitions: each partition's (label, count) pairs, for admission.

Integer labels spanning a few values, which is how most classification data stores them, are
counted with NumPy, one pass per value: hashing them costs several times more. Anything else
(strings, floats, booleans, wide ranges) is hashed. Both give the same pairs in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LabelCounts = tuple[tuple[Any, int], ...]
# Integer labels are counted value by value when they span at most this many values.
COUNTED_SPAN = 16


def label_counts(column: pa.ChunkedArray) -> LabelCounts:
    """One partition's labels and how often each occurs, nulls left out, ordered by ``repr``.

    Examples
    --------
    >>> label_counts(pa.chunked_array([[1, None, 0, 1]]))
    ((0, 1), (1, 2))
    """
    present = column.drop_null() if column.null_count else column
    return label_counts_each(present, [0, len(present)])[0]


def label_counts_each(column: pa.ChunkedArray, bounds: Sequence[int]) -> list[LabelCounts]:
    """Each partition's ``label_counts``, partition ``i`` being rows ``bounds[i]:bounds[i+1]``
    of ``column``, which has no nulls.

    Examples
    --------
    >>> label_counts_each(pa.chunked_array([["b", "a", "b", "c"]]), [0, 3, 4])
    [(('a', 1), ('b', 2)), (('c', 1),)]
    >>> label_counts_each(pa.chunked_array([[2, 10, 2], [7]]), [0, 0, 3, 4])
    [(), ((10, 1), (2, 2)), ((7, 1),)]
    """
    if pa.types.is_integer(column.type) and len(column):
        values = column.to_numpy()
        low, high = int(values.min()), int(values.max())
        if high - low < COUNTED_SPAN:
            found = list(range(low, high + 1))
            return _listed(found, _counted(values, low, len(found), np.asarray(bounds)))
    encoded = pc.dictionary_encode(column.combine_chunks())
    found = encoded.dictionary.to_pylist()
    parts, kinds = len(bounds) - 1, len(found)
    segment = np.repeat(np.arange(parts), np.diff(bounds))
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    counts = np.bincount(segment * kinds + codes, minlength=parts * kinds).reshape(parts, kinds)
    return _listed(found, counts)


def _counted(values: np.ndarray, low: int, kinds: int, bounds: np.ndarray) -> np.ndarray:
    """Rows of each value ``low + j`` (column ``j``) in each partition (row)."""
    lengths = np.diff(bounds)
    filled = lengths > 0
    # reduceat sums from each start to the next, so empty partitions must not be among them
    starts = bounds[:-1][filled]
    counts = np.zeros((len(lengths), kinds), dtype=np.int64)
    for j in range(1, kinds):
        hits = (values == low + j).view(np.int8)
        counts[filled, j] = np.add.reduceat(hits, starts, dtype=np.int64)
    counts[:, 0] = lengths - counts[:, 1:].sum(axis=1)
    return counts


def _listed(found: Sequence[Any], counts: np.ndarray) -> list[LabelCounts]:
    order = sorted(range(len(found)), key=lambda j: repr(found[j]))
    pairs = [(j, found[j]) for j in order]
    # a list, not a generator, inside tuple(): this runs once per partition
    return [tuple([(label, row[j]) for j, label in pairs if row[j]]) for row in counts.tolist()]
