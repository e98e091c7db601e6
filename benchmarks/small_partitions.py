"""Scheduler overhead: many small partitions against few large ones, same rows, same model.

Usage: python -m benchmarks.small_partitions [--scale 1.0] [--repeat 3] [--features 10] [--json]

The same 10,000,000 rows (times ``--scale``; ``--features`` float features and a binary
label) are written twice: as 10,000 partitions of 1,000 rows and as 100 partitions of
100,000 rows (times ``--scale`` partitions, the rows per partition stay). An SGDClassifier
store learns each dataset in one ``distinc update`` (listing, scanning, admission, training,
writing, committing; every partition gets its own ledger record). Fresh stores each run,
the two layouts interleaved, median of ``--repeat``. Target: small / large <= 1.5.

For reference, the same ratio of a plain single-process loop (read a file, ``partial_fit`` it)
is printed: scikit-learn's fixed cost per ``partial_fit`` call (input validation, class
weights: about 1-3 ms here) is paid once per partition by any loop whose model must equal one
call per partition, which is what distinc's stream promises.

Everything runs in this process: distinc on a LocalCluster of two single-threaded workers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sklearn
from sklearn.linear_model import SGDClassifier

import distinc
from benchmarks.common import Outcome, local_client, median, report

PARAMS = {"loss": "log_loss", "random_state": 0}
SMALL_ROWS, LARGE_ROWS = 1_000, 100_000


def write_layouts(root: Path, *, blocks: int, features: int) -> tuple[Path, Path]:
    """``blocks`` blocks of 100,000 rows, written as one large file and as 100 small ones."""
    small, large = root / "small", root / "large"
    small.mkdir(parents=True)
    large.mkdir(parents=True)
    weights = np.random.default_rng(12345).normal(size=features)
    names = [f"f{j:02d}" for j in range(features)]
    for block in range(blocks):
        rng = np.random.default_rng(block)
        x = rng.normal(size=(LARGE_ROWS, features))
        label = (x @ weights + rng.normal(scale=0.7, size=LARGE_ROWS) > 0).astype("int64")
        table = pa.table({**{n: x[:, j] for j, n in enumerate(names)}, "label": label})
        pq.write_table(table, large / f"part-{block:05d}.parquet")
        for piece in range(LARGE_ROWS // SMALL_ROWS):
            chunk = table.slice(piece * SMALL_ROWS, SMALL_ROWS)
            pq.write_table(chunk, small / f"part-{block:05d}-{piece:03d}.parquet")
    return small, large


def learn(root: Path, data: Path, name: str, client: Any) -> tuple[float, int]:
    model = distinc.init(
        str(root / name),
        data=str(data),
        target="label",
        model="SGDClassifier",
        params=PARAMS,
        classes=[0, 1],
    )
    started = time.perf_counter()
    result = model.update(client=client)
    seconds = time.perf_counter() - started
    assert result.entry is not None
    return seconds, len(result.entry.partitions)


def plain_loop(data: Path) -> float:
    """Seconds of a single-process loop: read each file, ``partial_fit`` it (the floor)."""
    model = SGDClassifier(**PARAMS)
    classes = np.array([0, 1])
    started = time.perf_counter()
    with sklearn.config_context(assume_finite=True):
        for path in sorted(data.iterdir()):
            table = pq.read_table(path)
            labels = table.column("label").to_numpy()
            features = np.column_stack(
                [table.column(name).to_numpy() for name in table.column_names[:-1]]
            )
            model.partial_fit(features, labels, classes=classes)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> list[Outcome]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the partitions")
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON last")
    args = parser.parse_args(argv)
    blocks = max(2, round(100 * args.scale))
    seconds: dict[str, list[float]] = {"small": [], "large": []}
    loop: dict[str, list[float]] = {"small": [], "large": []}
    with tempfile.TemporaryDirectory(prefix="distinc-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        layouts = dict(
            zip(
                ("small", "large"),
                write_layouts(root, blocks=blocks, features=args.features),
                strict=True,
            )
        )
        print(
            f"small_partitions: {blocks * LARGE_ROWS:,} rows as {blocks * 100:,} x "
            f"{SMALL_ROWS:,} and {blocks} x {LARGE_ROWS:,} rows "
            f"(written in {time.perf_counter() - started:.0f} s)"
        )
        with local_client() as client:
            warm = root / "warm"
            warm.mkdir()
            for path in sorted(layouts["small"].iterdir())[:4]:
                (warm / path.name).write_bytes(path.read_bytes())
            learn(root, warm, "warm", client)  # workers import what updates need, untimed
            for attempt in range(args.repeat):
                for name, data in layouts.items():
                    value, learned = learn(root, data, f"{name}-{attempt}", client)
                    seconds[name].append(value)
                    loop[name].append(plain_loop(data))
                    print(
                        f"  {name:<5} ({learned:>6,} partitions), run {attempt + 1}: "
                        f"{value:6.2f} s   (plain loop {loop[name][-1]:6.2f} s)",
                        flush=True,
                    )
    ratio = median(seconds["small"]) / median(seconds["large"])
    floor = median(loop["small"]) / median(loop["large"])
    print(
        f"  median: small {median(seconds['small']):.2f} s, large {median(seconds['large']):.2f} s"
        f"; a plain single-process partial_fit loop: small / large = {floor:.2f}\n"
        "  (the loop's ratio is the floor while every partition gets its own partial_fit call,"
        " which keeps the model equal to that loop's)"
    )
    return report(
        "small_partitions",
        [Outcome("update time, 1,000-row / 100,000-row partitions", ratio, "<= 1.5", ratio <= 1.5)],
        as_json=args.json,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
