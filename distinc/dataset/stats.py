"""Compact, mergeable statistics of the rows an update learns, for drift checks.

The scan that reads a new partition anyway also sketches every ``sample_every``-th row of it:
numeric columns into a KLL quantile sketch (Apache DataSketches), text and categorical columns
into value counts; label counts are exact. Every partition of one update is sampled with the
same step, so their sketches merge with equal weight into one ``DeltaStats``, which is stored
with the version. What a model has learned is the row-weighted mixture of its versions' stats.

Values reach a sketch in ascending order. KLL's error bound holds for any input order, and
sorted input only makes it tighter (a query point then falls inside few compactions). What
sorting buys is speed: the sketch's compactions sort and merge small buffers, which is cheap on
ordered input; sorting the sample with NumPy first and then sketching it costs about a third
of sketching it unsorted.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from distinc.dataset.schema import ColumnContract, kind_of, type_kind

STATS_FORMAT = 1
# KLL's accuracy parameter: ranks are within about 1.3% (DataSketches' documented error for 200).
SKETCH_K = 200
# An update sketches about this many rows in all, however large its delta; enough that PSI's
# sampling noise (about bins / rows) stays far below any threshold worth acting on.
SAMPLE_ROWS = 20_000
TOP_CATEGORIES = 64
OTHER = "__other__"


def sample_step(total_bytes: int, columns: int) -> int:
    """Sketch every n-th row so that a delta of ``total_bytes`` yields about ``SAMPLE_ROWS`` rows.

    Rows are estimated from the file sizes as if every column were an uncompressed float64.

    Examples
    --------
    >>> sample_step(0, 5)
    1
    >>> sample_step(8 * 10 * 200_000, 10)
    10
    """
    rows = total_bytes // (8 * max(1, columns))
    return max(1, int(rows // SAMPLE_ROWS))


def _kll() -> Any:
    from datasketches import kll_doubles_sketch

    return kll_doubles_sketch(SKETCH_K)


def _load(sketch: bytes) -> Any:
    from datasketches import kll_doubles_sketch

    return kll_doubles_sketch.deserialize(sketch)


def rank_error() -> float:
    """How far (as a share of values) a sketch's ranks may be from the exact ones, at 99%."""
    from datasketches import kll_doubles_sketch

    return float(kll_doubles_sketch.get_normalized_rank_error(SKETCH_K, False))


@dataclass(frozen=True)
class NumericSummary:
    """A numeric column: its sampled finite values, and how many were missing.

    Up to ``SKETCH_K`` values are kept as they are (``values``: sorted float64 bytes), which is
    what a KLL sketch of so few holds anyway, and is far cheaper to build and merge; beyond,
    they are a serialized KLL ``sketch``. Stored statistics are always sketches.
    """

    count: int
    missing: int
    sketch: bytes = b""
    values: bytes = b""

    def kll(self) -> Any:
        """The summary as a KLL sketch."""
        if self.sketch:
            return _load(self.sketch)
        sketch = _kll()
        if self.values:
            sketch.update(np.frombuffer(self.values, dtype=np.float64).copy())
        return sketch

    def cdf(self, points: np.ndarray) -> np.ndarray:
        """The share of sketched values ``<=`` each point (zeros when nothing was sketched)."""
        if not self.count:
            return np.zeros(len(points))
        return np.asarray(self.kll().get_cdf(list(map(float, points)), True)[:-1])

    def quantiles(self, probabilities: Sequence[float]) -> np.ndarray:
        if not self.count:
            return np.empty(0)
        return np.asarray(self.kll().get_quantiles(list(probabilities), True))


@dataclass(frozen=True)
class CategorySummary:
    """A text or categorical column: sampled value counts (the rarest folded into ``OTHER``)."""

    counts: tuple[tuple[str, int], ...]


Summary = NumericSummary | CategorySummary


@dataclass(frozen=True)
class DeltaStats:
    """The statistics of some partitions: rows described, sampling step, per-column summaries.

    ``labels`` are exact label counts (classifiers); ``target`` sketches a regression target.
    """

    rows: int
    sample_every: int
    columns: dict[str, Summary] = field(default_factory=dict)
    labels: tuple[tuple[Any, int], ...] = ()
    target: NumericSummary | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": STATS_FORMAT,
                "rows": self.rows,
                "sample_every": self.sample_every,
                "columns": {name: _summary_json(s) for name, s in self.columns.items()},
                "labels": [list(pair) for pair in self.labels],
                "target": None if self.target is None else _summary_json(self.target),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> DeltaStats:
        data = json.loads(text)
        target = data.get("target")
        return cls(
            rows=int(data["rows"]),
            sample_every=int(data["sample_every"]),
            columns={name: _summary_of(s) for name, s in data["columns"].items()},
            labels=tuple((label, int(n)) for label, n in data.get("labels", [])),
            target=None if target is None else _numeric_of(target),
        )


def _summary_json(summary: Summary) -> dict[str, Any]:
    if isinstance(summary, CategorySummary):
        return {"kind": "category", "counts": [list(pair) for pair in summary.counts]}
    return {
        "kind": "numeric",
        "count": summary.count,
        "missing": summary.missing,
        "sketch": base64.b64encode(summary.kll().serialize()).decode("ascii"),
    }


def _numeric_of(data: dict[str, Any]) -> NumericSummary:
    sketch = base64.b64decode(data["sketch"])
    return NumericSummary(int(data["count"]), int(data["missing"]), sketch)


def _summary_of(data: dict[str, Any]) -> Summary:
    if data["kind"] == "category":
        return CategorySummary(tuple((str(value), int(n)) for value, n in data["counts"]))
    return _numeric_of(data)


def numeric_summary(values: np.ndarray) -> NumericSummary:
    """Sketch ``values``; NaN and infinities count as missing.

    Examples
    --------
    >>> summary = numeric_summary(np.array([1.0, 2.0, np.nan, 4.0]))
    >>> summary.count, summary.missing, summary.cdf(np.array([2.0])).tolist()
    (3, 1, [0.6666666666666666])
    """
    finite = np.sort(np.asarray(values[np.isfinite(values)], dtype=np.float64))
    return _sketched(finite, missing=len(values) - len(finite))


def _sketched(ordered: np.ndarray, *, missing: int) -> NumericSummary:
    """The summary of finite values already in ascending order (see the module docstring)."""
    if len(ordered) <= SKETCH_K:
        values = np.ascontiguousarray(ordered, dtype=np.float64).tobytes()
        return NumericSummary(len(ordered), missing, values=values)
    sketch = _kll()
    sketch.update(ordered)
    return NumericSummary(len(ordered), missing, bytes(sketch.serialize()))


def matrix_summaries(rows: np.ndarray) -> list[NumericSummary]:
    """One summary per column of a float64 matrix, sorting every column in one NumPy call.

    Examples
    --------
    >>> found = matrix_summaries(np.array([[1.0, np.inf], [2.0, 5.0], [np.nan, 6.0]]))
    >>> [(s.count, s.missing) for s in found], found[1].quantiles([0.5]).tolist()
    ([(2, 1), (2, 1)], [5.0])
    """
    columns = np.array(rows.T, dtype=np.float64, order="C")
    columns.sort(axis=1)
    finite = np.isfinite(columns)
    if finite.all():
        return [_sketched(column, missing=0) for column in columns]
    return [
        _sketched(column[keep], missing=len(column) - int(keep.sum()))
        for column, keep in zip(columns, finite, strict=True)
    ]


def category_summary(counts: Counter[str]) -> CategorySummary:
    """The ``TOP_CATEGORIES`` most frequent values, the rest counted as ``OTHER``."""
    top = counts.most_common(TOP_CATEGORIES)
    rest = sum(counts.values()) - sum(n for _, n in top)
    pairs = sorted(top) + ([(OTHER, rest)] if rest else [])
    return CategorySummary(tuple(pairs))


def _column_summary(column: pa.ChunkedArray) -> Summary | None:
    kind = kind_of(str(column.type))
    if kind in ("string", "category"):
        values = pc.cast(column, pa.string()) if kind == "category" else column
        found = pc.value_counts(values.fill_null(OTHER))
        values, counts = found.field("values").to_pylist(), found.field("counts").to_pylist()
        return category_summary(
            Counter({str(value): int(n) for value, n in zip(values, counts, strict=True)})
        )
    if kind in ("bool", "int", "float"):
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        return numeric_summary(np.asarray(values, dtype=np.float64))
    return None


def _from_matrix(table: pa.Table, contract: ColumnContract) -> dict[str, int]:
    """The features a scan's feature matrix holds as plain numbers, by column position there."""
    types = dict(zip(table.schema.names, table.schema.types, strict=True))
    return {
        name: j
        for j, name in enumerate(contract.features)
        if name not in contract.categorical
        and name in types
        and type_kind(types[name]) in ("bool", "int", "float")
    }


def partition_stats(
    table: pa.Table,
    contract: ColumnContract,
    *,
    sample_every: int,
    offset: int,
    labels: tuple[tuple[Any, int], ...] = (),
    matrix: np.ndarray | None = None,
) -> DeltaStats:
    """The statistics of one partition, sketching rows ``offset, offset + sample_every, ...``.

    ``matrix`` is the partition's feature matrix when the scan has decoded it already
    (``contract_features``): its numeric columns are then sketched from a strided view of it
    rather than converted from Arrow again. The statistics are the same either way.
    """
    step = max(1, sample_every)
    start = offset % step
    in_matrix = {} if matrix is None else _from_matrix(table, contract)
    found: dict[str, Summary] = {}
    if matrix is not None and in_matrix:
        rows = matrix[start::step]
        positions = list(in_matrix.values())
        picked = rows if len(positions) == rows.shape[1] else rows[:, positions]
        found.update(zip(in_matrix, matrix_summaries(picked), strict=True))
    target_name = contract.target if contract.task == "regression" else None
    wanted = (*contract.features, *([target_name] if target_name is not None else []))
    present = set(table.column_names)
    rest = [name for name in dict.fromkeys(wanted) if name not in in_matrix and name in present]
    sampled = table.select(rest)
    if rest and step > 1:
        sampled = sampled.take(pa.array(np.arange(start, table.num_rows, step)))
    for name in rest:
        summary = _column_summary(sampled.column(name))
        if summary is not None:
            found[name] = summary
    columns = {name: found[name] for name in contract.features if name in found}
    sketched = found.get(target_name) if target_name is not None else None
    target = sketched if isinstance(sketched, NumericSummary) else None
    return DeltaStats(table.num_rows, sample_every, columns, labels, target)


def _merge_numeric(summaries: list[NumericSummary]) -> NumericSummary:
    """One summary of ``summaries``' values: kept values are sketched in one sorted pass, and
    sketches merged in."""
    kept = [np.frombuffer(s.values, dtype=np.float64) for s in summaries if s.values]
    merged = _kll()
    if kept:
        merged.update(np.sort(np.concatenate(kept)))
    for summary in summaries:
        if summary.sketch:
            merged.merge(_load(summary.sketch))
    return NumericSummary(
        sum(s.count for s in summaries),
        sum(s.missing for s in summaries),
        bytes(merged.serialize()),
    )


def _merge_columns(summaries: list[Summary]) -> Summary:
    if all(isinstance(s, NumericSummary) for s in summaries):
        return _merge_numeric([s for s in summaries if isinstance(s, NumericSummary)])
    counts: Counter[str] = Counter()
    for summary in summaries:
        if isinstance(summary, CategorySummary):
            counts.update(dict(summary.counts))
    return category_summary(counts)


def merge_stats(parts: Iterable[DeltaStats | None]) -> DeltaStats | None:
    """One ``DeltaStats`` for partitions sampled with the same step; ``None`` if there are none."""
    found = [part for part in parts if part is not None]
    if not found:
        return None
    steps = {part.sample_every for part in found}
    if len(steps) > 1:
        raise ValueError(f"statistics sampled with different steps {sorted(steps)} cannot merge")
    by_column: dict[str, list[Summary]] = {}
    for part in found:
        for name, summary in part.columns.items():
            by_column.setdefault(name, []).append(summary)
    labels: Counter[Any] = Counter()
    for part in found:
        labels.update(dict(part.labels))
    targets = [part.target for part in found if part.target is not None]
    return DeltaStats(
        rows=sum(part.rows for part in found),
        sample_every=found[0].sample_every,
        columns={name: _merge_columns(summaries) for name, summaries in by_column.items()},
        labels=tuple(sorted(labels.items(), key=lambda pair: repr(pair[0]))),
        target=_merge_numeric(targets) if targets else None,
    )
