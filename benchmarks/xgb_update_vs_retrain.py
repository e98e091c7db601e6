"""XGBoost: a distinc update on the delta vs a full retrain vs plain single-process continuation.

Usage: python -m benchmarks.xgb_update_vs_retrain [--scale 1.0] [--repeat 3] [--backend auto]
       [--also-dask]

1M base rows and 0.5M delta rows (times ``--scale``), 28 float features, a binary label;
``max_depth=6``, ``eta=0.1``, 200 rounds for a fit and 50 added by an update. Everything runs
in this process on the same files: distinc on a LocalCluster shaped like the one it starts by
itself (one single-threaded worker per core), the baselines in this process with every core.

* engine update: ``distinc update`` after the delta lands (listing, scanning, admission,
  reading, training, writing, committing), best of ``--repeat`` (the store is rolled back to
  version 1 between runs, so every run learns the same delta on the same parent);
* raw continuation: read the delta files, ``xgb.train(params, delta, 50, xgb_model=base)``,
  best of ``--repeat``, interleaved with the engine runs;
* full retrain: read all 1.5M rows, ``xgb.train(params, all, 200)``, once.

Holdout AUC (200k rows, times ``--scale``) of the update, the full retrain and the base model.
``--also-dask`` times, in the same runs, the updates of a second store on the ``xgboost.dask``
backend, for the choice of the single-host design.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import xgboost as xgb
from sklearn.metrics import roc_auc_score

import distinc
from benchmarks.common import (
    Ratio,
    add_json_flag,
    cpu_count,
    local_client,
    publish,
    timer,
    write_dataset,
)

PARAMS = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "tree_method": "hist"}
ROUNDS, UPDATE_ROUNDS = 200, 50
BASE_ROWS, DELTA_ROWS, HOLDOUT_ROWS = 1_000_000, 500_000, 200_000
BASE_FILES, DELTA_FILES = 10, 5


def read(paths: list[Path]) -> xgb.DMatrix:
    """The rows of ``paths`` as a plain script would read them: Parquet to NumPy to DMatrix."""
    tables = [pq.read_table(path) for path in paths]
    names = tables[0].column_names[:-1]
    features = np.concatenate(
        [np.column_stack([t.column(n).to_numpy() for n in names]) for t in tables]
    )
    labels = np.concatenate([t.column("label").to_numpy() for t in tables])
    return xgb.DMatrix(features, labels, feature_names=names, nthread=cpu_count())


def raw_train(paths: list[Path], rounds: int, base: Any = None) -> Any:
    params = {**PARAMS, "nthread": cpu_count()}
    return xgb.train(params, read(paths), num_boost_round=rounds, xgb_model=base)


def auc(booster: Any, holdout: xgb.DMatrix) -> float:
    return float(roc_auc_score(holdout.get_label(), booster.predict(holdout)))


def fresh_store(root: Path, backend: str) -> distinc.IncrementalModel:
    return distinc.init(
        str(root / f"store-{backend}"),
        data=str(root / "data"),
        target="label",
        model="xgboost",
        params={k: v for k, v in PARAMS.items() if k != "objective"},
        options=distinc.TrainingOptions(
            rounds=ROUNDS, update_rounds=UPDATE_ROUNDS, xgb_backend=backend
        ),
    )


def timed_update(model: distinc.IncrementalModel, client: Any, name: str, results: dict) -> None:
    with timer(results, name):
        entry = model.update(client=client).entry
    assert entry is not None and entry.notes["rounds"] == ROUNDS + UPDATE_ROUNDS
    notes = entry.notes
    print(f"    {notes['backend']} backend; training {notes['training_seconds']:.2f} s of it")


def best(results: dict[str, float], prefix: str) -> float:
    return min(value for name, value in results.items() if name.startswith(prefix))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every row count")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="auto", choices=["auto", "local", "dask"])
    parser.add_argument(
        "--also-dask",
        action="store_true",
        help="also time updates of a second store that trains with xgboost.dask",
    )
    add_json_flag(parser)
    args = parser.parse_args(argv)
    rows = {name: max(1, int(n * args.scale)) for name, n in
            (("base", BASE_ROWS), ("delta", DELTA_ROWS), ("holdout", HOLDOUT_ROWS))}  # fmt: skip
    results: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="distinc-bench-") as tmp,
        local_client(workers=cpu_count()) as client,
    ):
        root = Path(tmp)
        base = write_dataset(root / "data", files=BASE_FILES, rows=rows["base"] // BASE_FILES)
        holdout = read(write_dataset(root / "holdout", files=1, rows=rows["holdout"], seed=999))
        print(
            f"xgb_update_vs_retrain: {rows['base']:,} base + {rows['delta']:,} delta rows, 28 "
            f"features, depth 6, {ROUNDS} rounds, +{UPDATE_ROUNDS} per update, "
            f"{cpu_count()} core(s)"
        )
        model = fresh_store(root, args.backend)
        with timer(results, "engine fit, version 1 (base rows)"):
            model.update(client=client)
        other = fresh_store(root, "dask") if args.also_dask else None
        if other is not None:
            with timer(results, "xgboost.dask store: fit, version 1"):
                other.update(client=client)
        base_booster = model.model(1).booster
        delta = write_dataset(
            root / "data", files=DELTA_FILES, rows=rows["delta"] // DELTA_FILES, seed=100,
            prefix="delta",
        )  # fmt: skip
        for attempt in range(1, args.repeat + 1):
            if attempt > 1:  # the same delta on the same parent again
                model.rollback(1)
                if other is not None:
                    other.rollback(1)
            timed_update(model, client, f"engine update (run {attempt})", results)
            if other is not None:
                timed_update(other, client, f"xgboost.dask store: update (run {attempt})", results)
            with timer(results, f"raw continuation (run {attempt})"):
                raw_train(delta, UPDATE_ROUNDS, base_booster)
        updated = model.model().booster
        with timer(results, "full retrain on base + delta"):
            full = raw_train(base + delta, ROUNDS)
    update, raw = best(results, "engine update"), best(results, "raw continuation")
    scores = {
        "update": auc(updated, holdout),
        "full retrain": auc(full, holdout),
        "base": auc(base_booster, holdout),
    }
    ratios = {
        "update / full retrain": update / results["full retrain on base + delta"],
        "update / raw continuation": update / raw,
        "AUC update - full retrain": scores["update"] - scores["full retrain"],
    }
    size = f"{rows['base']:,} + {rows['delta']:,} rows"
    measured = [
        Ratio("XGBoost: engine update / full retrain on all rows",
              ratios["update / full retrain"], "<= 0.25", ratios["update / full retrain"] <= 0.25,
              f"best of {args.repeat} updates, {size}"),
        Ratio("XGBoost: engine update / raw single-process continuation",
              ratios["update / raw continuation"], "<= 1.2",
              ratios["update / raw continuation"] <= 1.2, f"best of {args.repeat} each"),
        Ratio("XGBoost: holdout AUC update - full retrain", ratios["AUC update - full retrain"],
              ">= -0.002", ratios["AUC update - full retrain"] >= -0.002,
              f"{rows['holdout']:,} holdout rows"),
    ]  # fmt: skip
    if other is not None:
        ratios["xgboost.dask update / raw continuation"] = (
            best(results, "xgboost.dask store: update") / raw
        )
        value = ratios["xgboost.dask update / raw continuation"]
        measured.append(
            Ratio("XGBoost: xgboost.dask backend update / raw continuation", value, "(reference)",
                  True)
        )  # fmt: skip
    print("holdout AUC: " + ", ".join(f"{name} {value:.4f}" for name, value in scores.items()))
    publish(measured, as_json=args.json)
    return {**ratios, **{f"AUC {name}": value for name, value in scores.items()}}


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    started = time.perf_counter()
    main(sys.argv[1:])
    print(f"({time.perf_counter() - started:.0f} s in all)")
