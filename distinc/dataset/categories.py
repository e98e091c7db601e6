"""Categorical columns: the values a partition holds, and stable codes from a pinned vocabulary.

A vocabulary only ever grows by appending, so the code of a category never changes meaning: a
category first seen in a later partition gets the next free code, and models that learned the
earlier codes read them exactly as before. Values outside the vocabulary encode as NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# A partition reports at most this many distinct values per categorical column.
MAX_DISTINCT = 100_000


def distinct_values(column: pa.ChunkedArray) -> tuple[Any, ...]:
    """The distinct non-null values of ``column``, sorted.

    Examples
    --------
    >>> distinct_values(pa.chunked_array([["b", "a", None, "b"]]))
    ('a', 'b')
    """
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    values = pc.unique(column.drop_null()).to_pylist()
    return tuple(sorted(values[:MAX_DISTINCT]))


def extend_vocabulary(pinned: Sequence[Any], seen: Iterable[Any]) -> tuple[Any, ...]:
    """``pinned`` followed by the values of ``seen`` it lacks, sorted.

    Examples
    --------
    >>> extend_vocabulary(("red", "blue"), ["green", "blue", "amber"])
    ('red', 'blue', 'amber', 'green')
    """
    known = set(pinned)
    return tuple(pinned) + tuple(sorted({value for value in seen if value not in known}))


def extend_vocabularies(
    pinned: Mapping[str, Sequence[Any]], seen: Mapping[str, Iterable[Any]]
) -> dict[str, tuple[Any, ...]]:
    columns = sorted(set(pinned) | set(seen))
    return {name: extend_vocabulary(pinned.get(name, ()), seen.get(name, ())) for name in columns}


def category_codes(column: pa.ChunkedArray, vocabulary: Sequence[Any]) -> np.ndarray:
    """Float codes of ``column`` in ``vocabulary``; nulls and unknown values are NaN.

    Examples
    --------
    >>> category_codes(pa.chunked_array([["b", "z", None, "a"]]), ("a", "b"))
    array([ 1., nan, nan,  0.])
    """
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not vocabulary:
        return np.full(len(column), np.nan)
    index = pc.index_in(column, value_set=pa.array(list(vocabulary), type=column.type))
    return np.asarray(index.to_numpy(zero_copy_only=False), dtype=np.float64)
