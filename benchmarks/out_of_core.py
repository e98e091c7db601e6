"""Out-of-core: an update whose delta is ten times the Dask worker's memory limit.

Usage: python -m benchmarks.out_of_core [--limit-mb 600] [--ratio 10] [--rows-per-file 50000]
       [--only sgd|xgboost] [--json]

One LocalCluster worker (two threads, the machine's two cores) with ``memory_limit`` of
``--limit-mb``. Each store first learns one small partition (version 1); then ``--ratio`` times
the limit of new Parquet data lands and one update learns all of it: an ``SGDClassifier``
(partial_fit stream) and an ``xgboost`` store (continuation). A thread of this process samples
the worker's resident memory (what Dask's nanny compares with the limit) every 20 ms during each
update; the ratio reported is peak RSS / limit (target: the update completes, peak <= limit).
The worker's RSS before the update (Python, NumPy, pandas, scikit-learn, XGBoost loaded) is
printed too: about 300 MB, most of the limit's use at this size, which is why the limit is not
smaller (Dask pauses a worker at 80 % of its limit, and a paused worker runs no task). The
nanny's kill at 95 % of the limit is switched off, so an update that needs more memory
completes and reports how much; RSS without memory-mapped files (which the kernel can evict;
XGBoost's external-memory cache is one) is printed next to it.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dask

import distinc
from benchmarks.common import (
    PeakRss,
    Ratio,
    add_json_flag,
    local_client,
    publish,
    worker_pids,
    write_dataset,
    write_files,
)
from distinc.dataset.listing import list_partitions
from distinc.dataset.partition import DataSource
from distinc.engine.scanning import worth_keeping

MB = 10**6


def rss_of(pid: int) -> int:
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


def write_delta(root: Path, *, total: int, rows: int) -> tuple[int, int]:
    """Files of ``rows`` rows until they hold ``total`` bytes; (bytes, rows) written. The first
    file's size tells how many more to write side by side."""
    root.mkdir(parents=True, exist_ok=True)
    written = files = 0
    while written < total:
        size = written // files if files else 0
        more = max(1, math.ceil((total - written) / size)) if size else 1
        paths = [root / f"d{files + i:05d}-00000.parquet" for i in range(more)]
        seeds = [1000 + files + i for i in range(more)]
        written += sum(
            path.stat().st_size for path in write_files(paths, rows=rows, features=28, seeds=seeds)
        )
        files += more
    return written, files * rows


def measured_update(
    name: str, model: distinc.IncrementalModel, client: Any, *, limit: int, detail: str
) -> Ratio:
    (pid,) = worker_pids(client)
    before = rss_of(pid)
    started = time.perf_counter()
    error = None
    with PeakRss([pid]) as peak:
        try:
            entry = model.update(client=client).entry
        except Exception as exc:  # the report says how it failed
            entry, error = None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    seconds = time.perf_counter() - started
    alive = worker_pids(client) == [pid]
    completed = error is None and entry is not None and alive
    print(
        f"  {name}: {'completed' if completed else 'FAILED'} in {seconds:.0f} s; worker RSS "
        f"{before / MB:.0f} MB before, peak {peak.peak / MB:.0f} MB (without mapped files "
        f"{peak.peak_anonymous / MB:.0f} MB), limit {limit / MB:.0f} MB"
        + (f"; {error}" if error else "")
        + ("" if alive else "; the worker was restarted"),
        flush=True,
    )
    return Ratio(
        f"out-of-core {name}: peak worker RSS / memory limit",
        peak.peak / limit,
        "<= 1.0",
        completed and peak.peak <= limit,
        f"{detail}; worker RSS before {before / MB:.0f} MB, peak {peak.peak / MB:.0f} MB, peak "
        f"without mapped files {peak.peak_anonymous / MB:.0f} MB; {seconds:.0f} s"
        + ("" if completed else f"; FAILED ({error or 'worker restarted'})"),
    )


def main(argv: list[str] | None = None) -> list[Ratio]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit-mb", type=int, default=600, help="worker memory limit, MB")
    parser.add_argument("--ratio", type=float, default=10.0, help="delta size / memory limit")
    parser.add_argument("--rows-per-file", type=int, default=50_000)
    parser.add_argument("--only", choices=["sgd", "xgboost"])
    add_json_flag(parser)
    args = parser.parse_args(argv)
    limit = args.limit_mb * MB
    measured = []
    with (
        tempfile.TemporaryDirectory(prefix="distinc-bench-") as tmp,
        # The nanny would kill a worker past 95 % of its limit; here it lets it run, so an
        # update that needs more completes and reports how much more.
        dask.config.set({"distributed.worker.memory.terminate": False}),
        local_client(workers=1, threads=2, memory_limit=limit) as client,
    ):
        root = Path(tmp)
        write_dataset(root / "data", files=1, rows=args.rows_per_file, prefix="base")
        stores = {
            "sgd": distinc.init(
                str(root / "store-sgd"), data=str(root / "data"), target="label",
                model="SGDClassifier", params={"loss": "log_loss", "random_state": 0},
                classes=[0, 1],
            ),
            "xgboost": distinc.init(
                str(root / "store-xgb"), data=str(root / "data"), target="label",
                model="xgboost", params={"max_depth": 6, "eta": 0.1},
                options=distinc.TrainingOptions(rounds=5, update_rounds=5),
            ),
        }  # fmt: skip
        if args.only:
            stores = {args.only: stores[args.only]}
        for model in stores.values():
            model.update(client=client)
        started = time.perf_counter()
        size, rows = write_delta(
            root / "data", total=int(args.ratio * limit), rows=args.rows_per_file
        )
        delta = [p for p in list_partitions(DataSource(str(root / "data"))) if p.key[0] == "d"]
        kept = worth_keeping(client, delta)
        print(
            f"out_of_core: delta of {size / MB:,.0f} MB ({rows:,} rows, 28 float64 features) = "
            f"{size / limit:.1f}x the worker limit of {limit / MB:.0f} MB "
            f"(written in {time.perf_counter() - started:.0f} s); scanned batches kept in "
            f"worker memory: {kept}",
            flush=True,
        )
        detail = f"delta {size / MB:,.0f} MB = {size / limit:.1f}x limit {limit / MB:.0f} MB"
        for name, model in stores.items():
            label = "partial_fit stream (SGD)" if name == "sgd" else "XGBoost update"
            measured.append(measured_update(label, model, client, limit=limit, detail=detail))
    publish(measured, as_json=args.json)
    return measured


if __name__ == "__main__":
    main(sys.argv[1:])
