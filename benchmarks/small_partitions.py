"""Scheduler overhead: many small partitions against few large ones, same rows, same model.

Usage: python -m benchmarks.small_partitions [--scale 1.0] [--repeat 3] [--features 10]
       [--fit-batch-mb 8] [--reference-repeat N] [--reference-share 1.0] [--json]

The same 10,000,000 rows (times ``--scale``; ``--features`` float features and a binary
label) are written twice: as 10,000 partitions of 1,000 rows and as 100 partitions of
100,000 rows (times ``--scale`` partitions, the rows per partition stay). An SGDClassifier
store learns each dataset in one ``distinc update`` (listing, scanning, admission, training,
writing, committing; every partition gets its own ledger record). Fresh stores each run,
the layouts interleaved, ``--repeat`` attempts. Target: small / large <= 1.5, the median over
the attempts of each attempt's ratio: an attempt runs the two back to back (the small layout
first in even attempts, second in odd ones), so a spell of load from other work on the machine
weighs on both sides of its ratio, where a ratio of medians can pair one side's slow spell with
the other's calm one (the detail gives that ratio too).

The stores are made twice. With ``--fit-batch-mb`` (default 8: a large partition here is
about 9.6 MB of Parquet, so each stays a batch of its own, while about 88 small ones make
one), consecutive files are learned by one ``partial_fit`` call on their rows joined; the
target applies to that row, and the model is checked against a plain loop over the same
batches. Without it (the default of distinc), every partition gets its own ``partial_fit``
call, so the model equals a plain loop over the files; that ratio is printed for reference,
next to the same ratio of a plain single-process loop (read a file, ``partial_fit`` it):
scikit-learn's fixed cost per call (about 1-5 ms here, even with validation skipped) is paid
once per partition by any loop whose model must equal one call per partition. A last reference
is the plain read: pyarrow opening and decoding every file in one process, with no checks and
no training, which is the part of the cost that no scheduling removes. These references run in
the first ``--reference-repeat`` attempts only (default: all of them), after the target's pair:
the plain loop over 10,000 files alone takes several times as long as both updates. The plain
loop and read go through the first ``--reference-share`` of each layout's files (the same rows
in both layouts), which keeps their ratios and shortens them.

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
from benchmarks.common import (
    Ratio,
    add_json_flag,
    in_processes,
    local_client,
    median,
    paired_ratio,
    publish,
)
from distinc.dataset.tasks import coalesce
from distinc.trainers.batching import MEGABYTE

PARAMS = {"loss": "log_loss", "random_state": 0}
SMALL_ROWS, LARGE_ROWS = 1_000, 100_000


def write_layouts(root: Path, *, blocks: int, features: int) -> tuple[Path, Path]:
    """``blocks`` blocks of 100,000 rows, written as one large file and as 100 small ones."""
    small, large = root / "small", root / "large"
    small.mkdir(parents=True)
    large.mkdir(parents=True)
    in_processes(
        write_block, [small] * blocks, [large] * blocks, list(range(blocks)), [features] * blocks
    )
    return small, large


def write_block(small: Path, large: Path, block: int, features: int) -> None:
    weights = np.random.default_rng(12345).normal(size=features)
    names = [f"f{j:02d}" for j in range(features)]
    rng = np.random.default_rng(block)
    x = rng.normal(size=(LARGE_ROWS, features))
    label = (x @ weights + rng.normal(scale=0.7, size=LARGE_ROWS) > 0).astype("int64")
    table = pa.table({**{n: x[:, j] for j, n in enumerate(names)}, "label": label})
    pq.write_table(table, large / f"part-{block:05d}.parquet")
    for piece in range(LARGE_ROWS // SMALL_ROWS):
        chunk = table.slice(piece * SMALL_ROWS, SMALL_ROWS)
        pq.write_table(chunk, small / f"part-{block:05d}-{piece:03d}.parquet")


def learn(
    root: Path, data: Path, name: str, client: Any, *, fit_batch_mb: float = 0
) -> tuple[float, int, Any]:
    """Seconds of one update learning ``data`` in a fresh store, its partitions, its model."""
    model = distinc.init(
        str(root / name),
        data=str(data),
        target="label",
        model="SGDClassifier",
        params=PARAMS,
        classes=[0, 1],
        options=distinc.TrainingOptions(fit_batch_mb=fit_batch_mb),
    )
    started = time.perf_counter()
    result = model.update(client=client)
    seconds = time.perf_counter() - started
    assert result.entry is not None
    return seconds, len(result.entry.partitions), model.model()


def read_xy(path: Path) -> tuple[np.ndarray, np.ndarray]:
    table = pq.read_table(path)
    labels = table.column("label").to_numpy()
    features = np.column_stack([table.column(name).to_numpy() for name in table.column_names[:-1]])
    return features, labels


def batches_of(data: Path, fit_batch_mb: float) -> list[list[Path]]:
    """The files in training order, in the batches ``fit_batch_mb`` makes of them."""
    paths = sorted(data.iterdir())
    budget = round(fit_batch_mb * MEGABYTE)
    return coalesce(paths, lambda path: path.stat().st_size, budget)


def batch_loop(batches: list[list[Path]]) -> SGDClassifier:
    """A plain loop calling ``partial_fit`` once per batch, on its files' rows joined."""
    model = SGDClassifier(**PARAMS)
    for batch in batches:
        pieces = [read_xy(path) for path in batch]
        features = np.concatenate([features for features, _ in pieces])
        model.partial_fit(features, np.concatenate([y for _, y in pieces]), classes=[0, 1])
    return model


def leading(data: Path, share: float) -> list[Path]:
    """The first ``share`` of the files of ``data``, in training order."""
    paths = sorted(data.iterdir())
    return paths[: max(1, round(share * len(paths)))]


def plain_loop(paths: list[Path]) -> float:
    """Seconds of a single-process loop: read each file, ``partial_fit`` it (the floor)."""
    model = SGDClassifier(**PARAMS)
    classes = np.array([0, 1])
    started = time.perf_counter()
    with sklearn.config_context(assume_finite=True):
        for path in paths:
            model.partial_fit(*read_xy(path), classes=classes)
    return time.perf_counter() - started


def plain_read(paths: list[Path]) -> float:
    """Seconds to read ``paths`` with pyarrow in one process, no checks and no training."""
    started = time.perf_counter()
    for path in paths:
        pq.ParquetFile(path).read()
    return time.perf_counter() - started


def same_model(got: Any, expected: SGDClassifier) -> bool:
    return bool(
        np.array_equal(got.coef_, expected.coef_)
        and np.array_equal(got.intercept_, expected.intercept_)
    )


def main(argv: list[str] | None = None) -> list[Ratio]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the partitions")
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--reference-repeat",
        type=int,
        default=None,
        help="attempts that also time the references (default: every attempt)",
    )
    parser.add_argument(
        "--reference-share",
        type=float,
        default=1.0,
        help="share of each layout's files the plain loop and read go through (default: all)",
    )
    parser.add_argument(
        "--fit-batch-mb",
        type=float,
        default=8.0,
        help="fit_batch_mb of the batched stores (default: 8, about one large partition)",
    )
    add_json_flag(parser)
    args = parser.parse_args(argv)
    mb = args.fit_batch_mb
    blocks = max(2, round(100 * args.scale))
    if args.reference_repeat is not None and args.reference_repeat < 1:
        parser.error("--reference-repeat must be at least 1")
    if not 0 < args.reference_share <= 1:
        parser.error("--reference-share must be above 0 and at most 1")
    references = min(args.repeat, args.reference_repeat or args.repeat)
    # (layout, fit_batch_mb) of each store an attempt makes; 0 is one call per partition.
    runs = [(layout, batch) for batch in (mb, 0.0) for layout in ("small", "large")]
    seconds: dict[tuple[str, float], list[float]] = {run: [] for run in runs}
    loop: dict[str, list[float]] = {"small": [], "large": []}
    read: dict[str, list[float]] = {"small": [], "large": []}
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
        batches = {name: batches_of(data, mb) for name, data in layouts.items()}
        calls = f"{len(batches['small']):,} and {len(batches['large']):,} partial_fit calls"
        print(
            f"small_partitions: {blocks * LARGE_ROWS:,} rows as {blocks * 100:,} x "
            f"{SMALL_ROWS:,} and {blocks} x {LARGE_ROWS:,} rows "
            f"(written in {time.perf_counter() - started:.0f} s); fit batches of {mb:g} MB "
            f"make {calls}"
        )
        same = False
        with local_client() as client:
            warm = root / "warm"
            warm.mkdir()
            for path in sorted(layouts["small"].iterdir())[:4]:
                (warm / path.name).write_bytes(path.read_bytes())
            learn(root, warm, "warm-store", client)  # workers import what updates need, untimed
            for attempt in range(args.repeat):
                pair = runs[:2] if attempt % 2 == 0 else runs[1::-1]
                rest = runs[2:] if attempt < references else []
                for layout, batch in pair + rest:
                    store = f"{layout}-{batch:g}-{attempt}"
                    value, learned, model = learn(
                        root, layouts[layout], store, client, fit_batch_mb=batch
                    )
                    seconds[layout, batch].append(value)
                    how = f"fit batches of {batch:g} MB" if batch else "a call per partition"
                    extra = ""
                    if not batch:
                        paths = leading(layouts[layout], args.reference_share)
                        loop[layout].append(plain_loop(paths))
                        read[layout].append(plain_read(paths))
                        extra = (
                            f"   (plain loop {loop[layout][-1]:6.2f} s, "
                            f"plain read {read[layout][-1]:5.2f} s)"
                        )
                    print(
                        f"  {layout:<5} ({learned:>6,} partitions, {how:<22}), "
                        f"run {attempt + 1}: {value:6.2f} s{extra}",
                        flush=True,
                    )
                    if batch and layout == "small" and attempt == 0:
                        same = same_model(model, batch_loop(batches["small"]))
    medians = {run: median(values) for run, values in seconds.items()}
    batched, paired = paired_ratio(seconds["small", mb], seconds["large", mb])
    per_partition = medians["small", 0.0] / medians["large", 0.0]
    floor = median(loop["small"]) / median(loop["large"])
    reading = median(read["small"]) / median(read["large"])
    share = args.reference_share
    files = "the files" if share == 1 else f"the first {share:.0%} of each layout's files"
    print(
        "  medians: "
        + ", ".join(
            f"{layout} {f'{batch:g} MB batches' if batch else 'per partition'} {value:.2f} s"
            for (layout, batch), value in medians.items()
        )
    )
    ratios = [
        Ratio(
            f"update time, 1,000-row / 100,000-row partitions, fit batches of {mb:g} MB",
            batched,
            "<= 1.5",
            batched <= 1.5,
            f"{paired}; {calls}; same model as a plain loop over those batches: {same}",
        ),
        Ratio(
            "update time, 1,000-row / 100,000-row partitions, one partial_fit per partition",
            per_partition,
            "(reference)",
            True,
            f"median of {references}; a plain single-process loop over {files}: {floor:.2f}",
        ),
        Ratio(
            "plain read of the files with pyarrow, 1,000-row / 100,000-row partitions",
            reading,
            "(reference)",
            True,
            f"median of {references}, over {files}; one process, no checks, no training: what "
            "opening and decoding many small files costs by itself",
        ),
    ]
    publish(ratios, as_json=args.json)
    return ratios


if __name__ == "__main__":
    main(sys.argv[1:])
