"""Scanning a new partition: one read that yields its profile and, optionally, its batch.

Scans run on the workers. The profile is small (row count, content digest, schema, NaN/inf
counts, label counts) and goes to the driver, where admission judges it. The batch (features
and labels, ready for an estimator) can stay in worker memory, so a partition that is scanned
is not read a second time for training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from distinc.dataset.categories import distinct_values
from distinc.dataset.labels import label_counts
from distinc.dataset.partition import DataSource
from distinc.dataset.reading import contract_features, label_vector, parquet_file, read_bytes
from distinc.dataset.samples import PartitionStats
from distinc.dataset.schema import ColumnContract, accepts
from distinc.dataset.stats import partition_stats
from distinc.exceptions import CorruptPartitionError

Batch = tuple[np.ndarray, np.ndarray | None]


@dataclass(frozen=True)
class ColumnHealth:
    """Count of missing (null or NaN) and infinite values in one column."""

    column: str
    missing: int
    infinite: int


@dataclass(frozen=True)
class PartitionProfile:
    key: str
    rows: int
    digest: str
    schema: tuple[tuple[str, str], ...]
    unhealthy: tuple[ColumnHealth, ...] = ()
    labels: tuple[tuple[Any, int], ...] = ()
    categories: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    problem: str | None = None
    stats: PartitionStats | None = None


def content_digest(data: bytes | pa.Buffer) -> str:
    """A fast, non-cryptographic digest that identifies duplicate files."""
    return "xxh3_128:" + xxhash.xxh3_128_hexdigest(data)


def arrow_health(name: str, column: pa.ChunkedArray) -> ColumnHealth | None:
    missing = column.null_count
    infinite = 0
    if pa.types.is_floating(column.type):
        missing += pc.sum(pc.is_nan(column)).as_py() or 0
        infinite = pc.sum(pc.is_inf(column)).as_py() or 0
    return ColumnHealth(name, int(missing), int(infinite)) if missing or infinite else None


def _matrix_health(features: Sequence[str], matrix: np.ndarray) -> list[ColumnHealth]:
    if np.isfinite(matrix).all():
        return []
    missing = np.isnan(matrix).sum(axis=0)
    infinite = np.isinf(matrix).sum(axis=0)
    return [
        ColumnHealth(name, int(missing[j]), int(infinite[j]))
        for j, name in enumerate(features)
        if missing[j] or infinite[j]
    ]


def convertible(table: pa.Table, contract: ColumnContract) -> bool:
    """Whether every feature is numeric, present, of an accepted type and free of nulls."""
    names = set(table.column_names)
    return not contract.categorical and all(
        name in names
        and accepts(pinned, str(table.schema.field(name).type))
        and table.column(name).null_count == 0
        for name, pinned in zip(contract.features, contract.feature_types, strict=True)
    )


def scan_partition(
    source: DataSource, key: str, contract: ColumnContract, *, keep: bool, sample_every: int = 0
) -> tuple[PartitionProfile, Batch | None]:
    """Read partition ``key`` once: its profile, and its batch when ``keep`` and it is sound.

    With ``sample_every`` > 0 the profile carries the drift statistics of every
    ``sample_every``-th row, starting at an offset drawn from the content digest.
    """
    return scan_bytes(key, read_bytes(source, key), contract, keep=keep, sample_every=sample_every)


def stats_offset(digest: str) -> int:
    """Where a partition's sampled rows start, drawn from its content so reruns agree."""
    return int(digest[-8:], 16)


def scan_bytes(
    key: str, data: bytes | pa.Buffer, contract: ColumnContract, *, keep: bool, sample_every: int
) -> tuple[PartitionProfile, Batch | None]:
    """``scan_partition`` on the bytes of partition ``key``, already read."""
    digest = content_digest(data)
    try:
        parquet = parquet_file(data, key)
        schema = parquet.schema_arrow
        table = parquet.read(columns=[name for name in contract.columns if name in schema.names])
    except CorruptPartitionError as exc:
        reason = f"not readable Parquet ({exc.__cause__ or exc})"
        return PartitionProfile(key, 0, digest, (), problem=reason), None
    except (pa.ArrowException, OSError) as exc:
        return PartitionProfile(key, 0, digest, (), problem=f"not readable Parquet ({exc})"), None
    matrix = None
    if convertible(table, contract):
        matrix = contract_features(table, contract)
        unhealthy = _matrix_health(contract.features, matrix)
    else:
        unhealthy = [
            health
            for name in contract.features
            if name in table.column_names
            if (health := arrow_health(name, table.column(name))) is not None
        ]
    labels: tuple[tuple[Any, int], ...] = ()
    target = contract.target
    if target is not None and target in table.column_names:
        target_health = arrow_health(target, table.column(target))
        unhealthy += [target_health] if target_health is not None else []
        if contract.task == "classification":
            labels = label_counts(table.column(target))
    categories = tuple(
        (name, distinct_values(table.column(name)))
        for name in contract.categorical
        if name in table.column_names
    )
    profile = PartitionProfile(
        key=key,
        rows=table.num_rows,
        digest=digest,
        schema=tuple((field.name, str(field.type)) for field in schema),
        unhealthy=tuple(unhealthy),
        labels=labels,
        categories=categories,
        stats=None
        if sample_every < 1
        else partition_stats(
            table,
            contract,
            sample_every=sample_every,
            offset=stats_offset(digest),
            labels=labels,
            matrix=matrix,
        ),
    )
    has_target = target is None or target in table.column_names
    sound = matrix is not None and not unhealthy and has_target
    if not (keep and sound) or matrix is None:
        return profile, None
    return profile, (matrix, label_vector(table, target) if target is not None else None)
