"""Batch prediction: one Dask task per partition, one output Parquet file per input file.

Each output file has the input's relative path under the output root and the same rows in the
same order, so predictions join back to their inputs by position.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from distinc.dataset.partition import DataSource
from distinc.dataset.schema import ColumnContract
from distinc.predict.fanout import per_partition
from distinc.predict.outputs import model_outputs, scoring_input
from distinc.trainers import task_faults


@dataclass(frozen=True)
class PredictionSummary:
    out: str
    files: int
    rows: int


def predict_partition(
    key: str,
    source: DataSource,
    model: Any,
    contract: ColumnContract,
    keep: Sequence[str],
    out: str,
    out_options: dict[str, Any],
) -> int:
    """Score one partition and write its predictions to ``out/<key>``; returns its rows."""
    task_faults.reach(key)
    table, features = scoring_input(source, key, contract, [*contract.features, *keep])
    frame = model_outputs(model, features)
    for name in keep:
        frame[name] = table.column(name).to_pandas()
    fs, root = fsspec.core.url_to_fs(out, **out_options)
    path = posixpath.join(root.rstrip("/"), key)
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    with fs.open(path, "wb") as handle:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), handle)
    return table.num_rows


def predict_dataset(
    client: Any,
    model: Any,
    contract: ColumnContract,
    source: DataSource,
    out: str,
    *,
    keep: Sequence[str] = (),
    out_options: dict[str, Any] | None = None,
) -> PredictionSummary:
    """Score every partition of ``source`` on the cluster, writing Parquet under ``out``."""
    rows = per_partition(
        client,
        predict_partition,
        source,
        model,
        name="predict",
        contract=contract,
        keep=list(keep),
        out=out,
        out_options=dict(out_options or {}),
    )
    return PredictionSummary(out=out, files=len(rows), rows=sum(rows))
