"""``distinc demo``: the whole story on generated data, in about a minute on two cores."""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

import distinc
from distinc.cli.decide import comparison_text
from distinc.engine.cluster import dask_client
from distinc.ledger.entry import LedgerEntry

FEATURES = 28
ROWS_PER_FILE = 40_000
BASE_FILES = 10
DELTA_FILES = 5
MODEL = "SGDClassifier"
PARAMS = {"loss": "log_loss", "alpha": 1e-4, "random_state": 0}


def make_rows(rows: int, seed: int) -> pd.DataFrame:
    """A binary classification table: a linear signal, an interaction and noise."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, FEATURES))
    weights = np.random.default_rng(0).normal(size=FEATURES)
    signal = features @ weights / np.sqrt(FEATURES) + 0.5 * np.sin(features[:, 0] * features[:, 1])
    frame = pd.DataFrame(features, columns=[f"f{i:02d}" for i in range(FEATURES)])
    frame["label"] = (signal + rng.normal(scale=0.5, size=rows) > 0).astype("int64")
    return frame


def write_files(folder: str, names: list[str], first_seed: int) -> None:
    for offset, name in enumerate(names):
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        make_rows(ROWS_PER_FILE, first_seed + offset).to_parquet(path, index=False)


@contextmanager
def _workspace(folder: str | None) -> Iterator[str]:
    if folder is not None:
        os.makedirs(folder, exist_ok=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="distinc-demo-") as temporary:
        yield temporary


def _committed(result: distinc.UpdateResult) -> LedgerEntry:
    if result.entry is None:
        raise RuntimeError("the demo's update committed nothing")
    return result.entry


def run_demo(folder: str | None = None, *, scheduler: str | None = None) -> dict[str, Any]:
    """Fit on a base dataset, add partitions, update, and compare with a full retrain."""
    with _workspace(folder) as root, dask_client(scheduler) as client:
        data, holdout = os.path.join(root, "data"), os.path.join(root, "holdout")
        base = [f"day=01/part-{i:02d}.parquet" for i in range(BASE_FILES)]
        delta = [f"day=02/part-{i:02d}.parquet" for i in range(DELTA_FILES)]
        total_rows = (BASE_FILES + DELTA_FILES) * ROWS_PER_FILE
        print(f"1. generating {BASE_FILES} base partitions of {ROWS_PER_FILE:,} rows in {data}")
        write_files(data, base, first_seed=1)
        write_files(holdout, ["part-00.parquet"], first_seed=999)

        print(f"2. distinc init + first update ({MODEL})")
        model = distinc.init(
            os.path.join(root, "store"), data=data, target="label", model=MODEL, params=PARAMS
        )
        first = _committed(model.update(client=client))
        print(f"   version {first.version}: {first.rows:,} rows in {first.seconds:.1f} s")

        print(f"3. {DELTA_FILES} new partitions arrive; distinc update learns only those")
        write_files(data, delta, first_seed=1 + BASE_FILES)
        second = _committed(model.update(client=client))
        print(f"   version {second.version}: {second.rows:,} new rows in {second.seconds:.1f} s")
        again = model.update(client=client)
        print(f"   a further update finds nothing new: up to date at version {again.version}")

        print(f"4. distinc compare: a full retrain on all {total_rows:,} rows, next to version 2")
        comparison = model.compare(holdout, client=client)
        print(textwrap.indent(comparison_text(comparison), "   "))
        ratio = second.seconds / comparison.retrain_seconds
        print(
            f"\nThe update trained {second.rows:,} of {total_rows:,} rows and took "
            f"{ratio:.2f}x the time of a full retrain."
        )
        return {
            "update_seconds": second.seconds,
            "retrain_seconds": comparison.retrain_seconds,
            "update": comparison.incremental,
            "retrain": comparison.retrain,
        }
