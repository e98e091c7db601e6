"""partial_fit streaming: distinc vs a plain read + partial_fit loop vs dask-ml Incremental.

Usage: python benchmarks/stream_vs_loop.py [--rows 1500000] [--files 15] [--repeat 3]

All three run in this process on the same files: distinc and dask-ml on one LocalCluster of two
single-threaded workers (the machine's two cores), the loop in this process. distinc's time
includes everything an update does (listing, profiling, checks, training, commit). The best of
``--repeat`` runs is compared, since the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from sklearn.linear_model import SGDClassifier

import distinc
from benchmarks.common import Ratio, add_json_flag, local_client, publish, timer, write_dataset

PARAMS = {"loss": "log_loss", "random_state": 0}


def plain_loop(files: list[Path]) -> SGDClassifier:
    model = SGDClassifier(**PARAMS)
    for path in files:
        frame = pq.read_table(path).to_pandas()
        model.partial_fit(frame.drop(columns="label"), frame["label"], classes=[0, 1])
    return model


def dask_ml_incremental(files: list[Path], client: object) -> object:
    import dask.dataframe as dd
    from dask_ml.wrappers import Incremental

    frame = dd.from_map(lambda p: pq.read_table(p).to_pandas(), [str(p) for p in files])
    features = frame.drop(columns="label").to_dask_array(lengths=True)
    labels = frame["label"].to_dask_array(lengths=True)
    return Incremental(SGDClassifier(**PARAMS)).fit(features, labels, classes=[0, 1])


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_500_000)
    parser.add_argument("--files", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    add_json_flag(parser)
    args = parser.parse_args(argv)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="distinc-bench-") as tmp, local_client() as client:
        root = Path(tmp)
        files = write_dataset(root / "data", files=args.files, rows=args.rows // args.files)
        print(f"stream_vs_loop: {args.rows:,} rows x 28 features in {args.files} files")
        best = {"distinc": float("inf"), "loop": float("inf"), "dask-ml": float("inf")}
        for attempt in range(args.repeat):
            model = distinc.init(
                str(root / f"store-{attempt}"),
                data=str(root / "data"),
                target="label",
                model="SGDClassifier",
                params=PARAMS,
                classes=[0, 1],
            )
            with timer(results, f"distinc update (run {attempt + 1})"):
                model.update(client=client)
            with timer(results, f"plain loop (run {attempt + 1})"):
                loop = plain_loop(files)
            with timer(results, f"dask-ml Incremental (run {attempt + 1})"):
                dask_ml_incremental(files, client)
            best["distinc"] = min(best["distinc"], results[f"distinc update (run {attempt + 1})"])
            best["loop"] = min(best["loop"], results[f"plain loop (run {attempt + 1})"])
            best["dask-ml"] = min(
                best["dask-ml"], results[f"dask-ml Incremental (run {attempt + 1})"]
            )
        same = bool((model.model().coef_ == loop.coef_).all())
    ratios = {
        "distinc / plain loop": best["distinc"] / best["loop"],
        "dask-ml Incremental / plain loop": best["dask-ml"] / best["loop"],
    }
    loop_ratio = ratios["distinc / plain loop"]
    publish(
        [
            Ratio(
                "partial_fit stream: distinc update / plain loop",
                loop_ratio,
                "<= 0.75",
                loop_ratio <= 0.75,
                f"best of {args.repeat}, {args.rows:,} rows; same model as the loop: {same}",
            ),
            Ratio(
                "dask-ml Incremental / plain loop",
                ratios["dask-ml Incremental / plain loop"],
                "(reference)",
                True,
            ),
        ],
        as_json=args.json,
    )
    return ratios


if __name__ == "__main__":
    main(sys.argv[1:])
