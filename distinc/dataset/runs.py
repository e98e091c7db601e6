"""Scanning consecutive small partitions together.

A Parquet file of a thousand rows costs nearly as much Python as one of a hundred thousand:
opening it, checking its columns, building its matrix, counting its labels, sampling it. A scan
task therefore decodes its files one by one but checks each run of small ones as a single
table: one feature matrix, one finiteness test, one label count split by partition, one drift
sample. Every partition still gets its own profile and batch, equal to what scanning it alone
gives. A run with anything off (a file that does not parse, schemas that differ, a missing or
infinite value) is scanned file by file instead, so every problem is found and named exactly
as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from distinc.dataset.labels import label_counts_each
from distinc.dataset.partition import DataSource, under
from distinc.dataset.profile import (
    Batch,
    PartitionProfile,
    arrow_health,
    content_digest,
    convertible,
    scan_bytes,
    stats_offset,
)
from distinc.dataset.reading import contract_features, label_vector, read_file_bytes
from distinc.dataset.samples import sample_run
from distinc.dataset.schema import ColumnContract, type_kind

# Files join a run until it holds this many bytes, which bounds what a run holds decoded.
RUN_BYTES = 8 * 2**20
Scanned = tuple[PartitionProfile, Batch | None]
Run = Sequence[tuple[str, bytes | pa.Buffer]]
# Column kinds a run's feature matrix and drift sample hold as plain numbers.
NUMERIC = ("bool", "int", "float")


def scan_partitions(
    source: DataSource,
    keys: Sequence[str],
    contract: ColumnContract,
    keep: bool,
    sample_every: int = 0,
) -> list[Scanned]:
    """Scan several partitions in one task, in order, runs of small files together."""
    fs, root = source.filesystem()
    scanned: list[Scanned] = []
    run: list[tuple[str, bytes | pa.Buffer]] = []
    size = 0
    for key in keys:
        data = read_file_bytes(fs, under(root, key), key)
        run.append((key, data))
        size += len(data)
        if size >= RUN_BYTES:
            scanned += scan_run(run, contract, keep=keep, sample_every=sample_every)
            run, size = [], 0
    return scanned + scan_run(run, contract, keep=keep, sample_every=sample_every)


def scan_run(run: Run, contract: ColumnContract, *, keep: bool, sample_every: int) -> list[Scanned]:
    """The scans of ``run``'s partitions: together when all is well, else one by one."""
    read = _sound_tables(run, contract) if len(run) > 1 else None
    if read is not None:
        together = _scan_together(run, *read, contract, keep=keep, sample_every=sample_every)
        if together is not None:
            return together
    return [
        scan_bytes(key, data, contract, keep=keep, sample_every=sample_every) for key, data in run
    ]


def _sound_tables(run: Run, contract: ColumnContract) -> tuple[list[pa.Table], pa.Schema] | None:
    """The contract's columns of every partition in ``run`` and their file schema, if all
    parse with one schema."""
    tables = []
    # the first file's Arrow schema, and the Parquet schema and key-value metadata it came from
    first: tuple[pa.Schema, pq.ParquetSchema, dict[bytes, bytes] | None] | None = None
    leaves: list[int] = []
    wanted = set(contract.columns)
    for _, data in run:
        try:
            # ParquetFile's Python wrapper costs a tenth of reading a file this small.
            reader = pq.ParquetReader()
            reader.open(pa.BufferReader(data), pre_buffer=False)
            if first is None:
                footer = reader.metadata
                first = reader.schema_arrow, footer.schema, footer.metadata
                leaves = [i for i, path in enumerate(reader.column_paths) if path[0] in wanted]
            elif not _same_schema(reader, *first):
                return None
            # Arrow's thread pool costs more than it saves on files this small.
            tables.append(reader.read_all(leaves, use_threads=False))
        except (pa.ArrowException, OSError):
            return None
    return (tables, first[0]) if first is not None else None


def _same_schema(
    reader: pq.ParquetReader,
    schema: pa.Schema,
    parquet_schema: pq.ParquetSchema,
    key_values: dict[bytes, bytes] | None,
) -> bool:
    """Whether ``reader``'s file has the Arrow ``schema`` made from ``parquet_schema`` and the
    footer's ``key_values``.

    Equal Parquet schemas and key-value metadata settle it at a sixth of the cost of making the
    Arrow schema; otherwise the Arrow schemas decide.
    """
    own = reader.metadata
    if own.schema.equals(parquet_schema) and own.metadata == key_values:
        return True
    return bool(reader.schema_arrow.equals(schema))


def _scan_together(
    run: Run,
    tables: list[pa.Table],
    schema: pa.Schema,
    contract: ColumnContract,
    *,
    keep: bool,
    sample_every: int,
) -> list[Scanned] | None:
    """The scans of a run of partitions of one schema; ``None`` unless every one is sound."""
    # One chunk per column: its NumPy views are then free, where a column of a hundred chunks
    # was copied into fresh memory for the matrix, again for the labels, again for their counts.
    table = pa.concat_tables(tables).combine_chunks()
    target = contract.target
    regression = target is not None and contract.task == "regression"
    numeric = [*contract.features, *([target] if regression else [])]
    if not convertible(table, contract) or not all(
        name in table.column_names and type_kind(table.schema.field(name).type) in NUMERIC
        for name in numeric
    ):
        return None
    if target is not None and (
        target not in table.column_names or arrow_health(target, table.column(target)) is not None
    ):
        return None
    matrix = contract_features(table, contract)
    if not np.isfinite(matrix).all():
        return None
    bounds = np.cumsum([0, *(part.num_rows for part in tables)]).tolist()
    classify = target is not None and contract.task == "classification"
    labels = label_counts_each(table.column(target), bounds) if classify else [()] * len(run)
    y = label_vector(table, target) if target is not None else None
    digests = [content_digest(data) for _, data in run]
    stats: Sequence[Any] = [None] * len(run)
    if sample_every >= 1:
        stats = sample_run(
            matrix,
            y if regression else None,
            bounds,
            [stats_offset(digest) for digest in digests],
            columns=contract.features,
            sample_every=sample_every,
            labels=labels,
        )
    fields = tuple((field.name, str(field.type)) for field in schema)
    scanned: list[Scanned] = []
    for i, (key, _) in enumerate(run):
        start, stop = bounds[i], bounds[i + 1]
        profile = PartitionProfile(
            key, stop - start, digests[i], fields, labels=labels[i], stats=stats[i]
        )
        batch = (matrix[start:stop], None if y is None else y[start:stop]) if keep else None
        scanned.append((profile, batch))
    return scanned
