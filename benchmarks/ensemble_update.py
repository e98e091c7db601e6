"""Per-delta ensemble: a RandomForest update on the delta vs a full retrain on everything.

Usage: python -m benchmarks.ensemble_update [--scale 1.0] [--trees 20] [--member-rows 250000]
                                             [--repeat 3] [--equal-trees] [--json]

1M base rows + 0.5M delta rows (times ``--scale``), 28 float features, binary label, and a
100k-row holdout. distinc fits the base (members of about ``--member-rows`` rows, trained in
parallel) and then updates on the delta only, on a LocalCluster of two single-threaded workers
(the machine's two cores). The full retrain is one scikit-learn RandomForestClassifier with
the same parameters on all rows, reading the same files, with ``n_jobs=2``. The member
training speed-up fits the same base on a one-worker and a two-worker cluster, alternately,
and compares the best of ``--repeat`` wall times of the member-training phase (the machine
is shared and noisy); the cores busy (member CPU seconds per wall second) show how much of the
machine those runs actually got. Printed: update time / retrain time, holdout AUC and accuracy
of base, update and retrain, and the 1 -> 2 worker speed-up. The ensemble ends up with more
trees than one forest with the same parameters; ``--equal-trees`` also fits a forest with as
many trees as the ensemble holds, as a second reference for quality.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, roc_auc_score

import distinc
from benchmarks.common import Ratio, add_json_flag, local_client, publish, timer, write_dataset

FILE_ROWS = 50_000


def forest_params(trees: int) -> dict[str, Any]:
    return {"n_estimators": trees, "max_depth": 16, "random_state": 0}


def read_all(paths: list[Path]) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(path) for path in paths], ignore_index=True)


def score(forest: Any, features: np.ndarray, labels: pd.Series) -> tuple[float, float]:
    auc = roc_auc_score(labels, forest.predict_proba(features)[:, 1])
    return float(auc), float(accuracy_score(labels, forest.predict(features)))


def fit_base(store: Path, data: Path, client: Any, args: argparse.Namespace) -> Any:
    model = distinc.init(
        str(store),
        data=str(data),
        target="label",
        model="RandomForestClassifier",
        params=forest_params(args.trees),
        options=distinc.TrainingOptions(member_rows=int(args.member_rows * args.scale)),
    )
    return model, model.update(client=client).entry


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--trees", type=int, default=20)
    parser.add_argument("--member-rows", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--equal-trees", action="store_true")
    add_json_flag(parser)
    args = parser.parse_args(argv)
    rows = max(500, int(FILE_ROWS * args.scale))
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="distinc-bench-") as tmp:
        root = Path(tmp)
        base = write_dataset(root / "data", files=20, rows=rows, seed=0, prefix="base")
        shutil.copytree(root / "data", root / "base-only")
        holdout = write_dataset(root / "holdout", files=2, rows=rows, seed=1000)
        print(
            f"ensemble_update: {20 * rows:,} base + {10 * rows:,} delta rows x 28 features, "
            f"RandomForest of {args.trees} trees per member, depth 16"
        )

        with local_client(workers=2) as client:
            with timer(seconds, "distinc first fit, 2 workers"):
                model, first = fit_base(root / "store", root / "data", client, args)
            delta = write_dataset(root / "data", files=10, rows=rows, seed=100, prefix="delta")
            with timer(seconds, "distinc update on the delta, 2 workers"):
                second = model.update(client=client).entry
            base_metrics = model.evaluate(str(root / "holdout"), version=1, client=client)
            update_metrics = model.evaluate(str(root / "holdout"), client=client)
        with timer(seconds, "full retrain (scikit-learn, n_jobs=2)"):
            everything = read_all(base + delta)
            forest = RandomForestClassifier(**forest_params(args.trees), n_jobs=2)
            forest.fit(everything.drop(columns="label").to_numpy(), everything["label"])
        held = read_all(holdout)
        features = held.drop(columns="label").to_numpy()
        scores = {"full retrain": score(forest, features, held["label"])}
        if args.equal_trees:
            trees = args.trees * (first.notes["members"] + second.notes["members"])
            with timer(seconds, f"full retrain, {trees} trees (n_jobs=2)"):
                big = RandomForestClassifier(**{**forest_params(trees), "n_jobs": 2})
                big.fit(everything.drop(columns="label").to_numpy(), everything["label"])
            scores[f"retrain, {trees} trees"] = score(big, features, held["label"])

        best = {1: None, 2: first}
        with local_client(workers=1) as one, local_client(workers=2) as two:
            for attempt in range(args.repeat):
                for workers, client in ((1, one), (2, two)):
                    store = root / f"store-{workers}-{attempt}"
                    _, entry = fit_base(store, root / "base-only", client, args)
                    fastest = best[workers]
                    if (
                        fastest is None
                        or entry.notes["member_seconds"] < fastest.notes["member_seconds"]
                    ):
                        best[workers] = entry
        member_seconds = {n: entry.notes["member_seconds"] for n, entry in best.items()}
        # CPU seconds per wall second: the cores the member phase got on this (shared) machine.
        cores = {
            n: entry.notes["member_cpu_seconds"] / entry.notes["member_seconds"]
            for n, entry in best.items()
        }

    speedup = member_seconds[1] / member_seconds[2]
    ratio = (
        seconds["distinc update on the delta, 2 workers"]
        / seconds["full retrain (scikit-learn, n_jobs=2)"]
    )
    print(
        f"  members: first fit {first.notes['members']} x {first.notes['member_rows'][0]:,} "
        f"rows, update {second.notes['members']} x {second.notes['member_rows'][0]:,} rows"
    )
    print(
        f"  member training, best of {args.repeat}: 1 worker {member_seconds[1]:.1f} s "
        f"({cores[1]:.2f} cores busy), 2 workers {member_seconds[2]:.1f} s "
        f"({cores[2]:.2f} cores busy)"
    )
    print(f"  {'holdout':<24} {'AUC':>8} {'accuracy':>9}")
    table = {
        "base (version 1)": (base_metrics["roc_auc"], base_metrics["accuracy"]),
        "update (version 2)": (update_metrics["roc_auc"], update_metrics["accuracy"]),
        **scores,
    }
    for name, (auc, accuracy) in table.items():
        print(f"  {name:<24} {auc:8.4f} {accuracy:9.4f}")
    retrain_auc = scores["full retrain"][0]
    gap = update_metrics["roc_auc"] - retrain_auc
    publish(
        [
            Ratio("ensemble: update time / full retrain time", ratio, "(none set)", True),
            Ratio("ensemble: holdout AUC update - full retrain", gap, "(none set)", True),
            Ratio(
                "ensemble: member training speed-up, 1 -> 2 workers",
                speedup,
                ">= 1.7",
                speedup >= 1.7,
                f"best of {args.repeat}; cores busy {cores[1]:.2f} on 1 worker, "
                f"{cores[2]:.2f} on 2",
            ),
        ],
        as_json=args.json,
    )
    return {
        "update_over_retrain": ratio,
        "auc_gap": gap,
        "member_speedup": speedup,
        "update_auc": update_metrics["roc_auc"],
        "retrain_auc": retrain_auc,
        "base_auc": base_metrics["roc_auc"],
        "cores_2_workers": cores[2],
    }


if __name__ == "__main__":
    main(sys.argv[1:])
