"""The replay reservoir: a bounded, uniform sample of every row the lineage has trained on.

It is filled from each delta while the delta is read for training, so a partition is never
opened again once trained. A uniform sample of ``size`` rows from ``seen`` old rows and ``n``
new ones holds a hypergeometric number of new rows; they are spread over the new partitions
the same way, and the rest is a uniform subsample of the old reservoir (itself uniform over the
old rows). The reservoir is stored with each version as Parquet: feature values as XGBoost sees
them (category codes for categoricals, which never change meaning), the encoded label and the
version that trained the row.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from distinc.exceptions import IntegrityError
from distinc.trainers.boosting.rows import Rows

LABEL = "__distinc_label__"
VERSION = "__distinc_version__"
SEEN = b"distinc.reservoir.seen"


@dataclass(frozen=True)
class Reservoir:
    """``rows`` (with the ``versions`` that trained them), uniform over ``seen`` rows."""

    rows: Rows
    versions: np.ndarray
    seen: int

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def empty(cls, features: int) -> Reservoir:
        return cls(Rows.empty(features), np.empty(0, np.int64), 0)

    def to_parquet(self, names: Sequence[str]) -> bytes:
        columns = {name: self.rows.features[:, j] for j, name in enumerate(names)}
        table = pa.table({**columns, LABEL: self.rows.labels, VERSION: self.versions})
        table = table.replace_schema_metadata({SEEN: str(self.seen).encode()})
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()

    @classmethod
    def from_parquet(cls, data: bytes, names: Sequence[str], *, where: str) -> Reservoir:
        try:
            table = pq.read_table(pa.BufferReader(data))
            seen = int((table.schema.metadata or {})[SEEN])
            features = np.column_stack(
                [table.column(name).to_numpy().astype(np.float32) for name in names]
            ).reshape(table.num_rows, len(names))
            labels = table.column(LABEL).to_numpy().astype(np.float32)
            versions = table.column(VERSION).to_numpy().astype(np.int64)
        except (pa.ArrowException, KeyError, ValueError) as exc:
            raise IntegrityError(
                f"The replay reservoir {where} cannot be read ({exc}); roll back to another "
                "version or restore the file.",
                where=where,
            ) from exc
        return cls(Rows(features, labels), versions, seen)


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """An independent, reproducible random stream: a task Dask reruns draws the same rows."""
    return np.random.default_rng([seed & 0xFFFFFFFF, *stream])


def delta_allocation(
    rows: Sequence[int], *, seen: int, capacity: int, rng: np.random.Generator
) -> list[int]:
    """How many rows of each new partition enter the reservoir.

    Examples
    --------
    >>> delta_allocation([100, 50], seen=0, capacity=1000, rng=rng_for(0))
    [100, 50]
    >>> sum(delta_allocation([100, 50], seen=10**6, capacity=1000, rng=rng_for(0))) < 50
    True
    """
    added = sum(rows)
    if added == 0:
        return [0] * len(rows)
    size = min(capacity, seen + added)
    new = int(rng.hypergeometric(added, seen, size)) if seen else size
    return [int(n) for n in rng.multivariate_hypergeometric(list(rows), new)]


def sample(rows: Rows, count: int, rng: np.random.Generator) -> Rows:
    """``count`` distinct rows of ``rows``, uniformly, in their original order."""
    if count >= len(rows):
        return rows
    return rows.take(np.sort(rng.choice(len(rows), size=count, replace=False)))


def merge(
    old: Reservoir,
    drawn: Rows,
    *,
    added: int,
    version: int,
    capacity: int,
    rng: np.random.Generator,
) -> Reservoir:
    """The reservoir after a delta of ``added`` rows, of which ``drawn`` were allocated to it.

    Examples
    --------
    >>> old = Reservoir(Rows(np.zeros((4, 1), np.float32), np.zeros(4, np.float32)),
    ...                 np.ones(4, np.int64), seen=10)
    >>> new = Rows(np.ones((2, 1), np.float32), np.ones(2, np.float32))
    >>> merged = merge(old, new, added=6, version=2, capacity=5, rng=rng_for(0))
    >>> len(merged), merged.seen, merged.versions.tolist()
    (5, 16, [1, 1, 1, 2, 2])
    """
    size = min(capacity, old.seen + added)
    kept = np.sort(rng.choice(len(old), size=size - len(drawn), replace=False))
    rows = Rows.concat([old.rows.take(kept), Rows(drawn.features, drawn.labels)])
    versions = np.concatenate([old.versions[kept], np.full(len(drawn), version, np.int64)])
    return Reservoir(rows, versions, old.seen + added)


def replay_count(delta_rows: int, *, fraction: float, available: int) -> int:
    """Replayed rows so that they are ``fraction`` of the update's rows, within what is kept.

    Examples
    --------
    >>> replay_count(1000, fraction=0.2, available=10_000)
    250
    >>> replay_count(1000, fraction=0.5, available=300)
    300
    """
    if fraction <= 0:
        return 0
    return min(available, round(delta_rows * fraction / (1.0 - fraction)))


def recency_weights(versions: np.ndarray, *, current: int, half_life: float | None) -> np.ndarray:
    """Weights of replayed rows by age in versions: a row ``half_life`` versions old weighs 0.5.

    Examples
    --------
    >>> recency_weights(np.array([4, 2, 0]), current=4, half_life=2.0).tolist()
    [1.0, 0.5, 0.25]
    """
    if half_life is None:
        return np.ones(len(versions), np.float32)
    age = np.maximum(current - versions, 0).astype(np.float64)
    return np.power(0.5, age / half_life).astype(np.float32)


def replayed(
    reservoir: Reservoir, count: int, *, version: int, half_life: float | None, seed: int
) -> Rows:
    """``count`` rows drawn uniformly from ``reservoir``, weighted by their age."""
    if count <= 0 or not len(reservoir):
        return Rows.empty(reservoir.rows.features.shape[1])
    index = np.sort(rng_for(seed, version, 1).choice(len(reservoir), size=count, replace=False))
    weights = recency_weights(reservoir.versions[index], current=version, half_life=half_life)
    chosen = reservoir.rows.take(index)
    return Rows(chosen.features, chosen.labels, weights)
