"""Cost independent of history: the same delta on stores with short and long histories.

Usage: python -m benchmarks.history_growth [--rows 100000] [--scale 1.0] [--repeat 3]
       [--files 100000] [--json]

1. Update time vs history. Three stores learn the same delta (``--rows`` rows times ``--scale``
   in 10 files, 28 float features, SGDClassifier) after histories of 10, 100 and 1,000 trained
   partitions (20 rows each, learned by real ``distinc`` updates spread over ``--versions``
   versions). Each timed update runs on a fresh copy of the store, so every run learns the
   same delta on the same parent. Each of ``--repeat`` attempts runs every size once, back to
   back (in reverse order every other attempt), and the target applies to the median of the
   attempts' own 1,000 / 10 ratios: a spell of load from other work on this shared machine then
   weighs on both sides of a ratio. Target: <= 1.10 (the detail gives the ratio of medians too).
2. Planning a large dataset. ``--files`` tiny Parquet partitions (times ``--scale``) in folders
   of 1,000, all but the last folder already trained; ``update --dry-run`` (listing, reading
   the ledger, the fingerprint diff; no training) is timed, median of ``--repeat``. Target:
   <= 2 s. The first folder is trained by a real update; the other trained folders are
   committed as the ledger entries an update writes (real fingerprints and content digests,
   the model artifact of the first version), because training 99,000 one-row partitions would
   dominate the benchmark without changing what planning reads. The same plan with
   ``--listing since-newest`` (only the newest learned folder and those after it) is timed too.

Everything runs in this process: distinc on a LocalCluster of two single-threaded workers.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

import distinc
from benchmarks.common import Outcome, local_client, median, paired_ratio, report, write_dataset
from distinc.dataset.listing import list_files
from distinc.dataset.partition import DataSource
from distinc.engine.heap import collections_paused
from distinc.ledger.entry import TrainedPartition
from distinc.ledger.plan import plan_files

PARAMS = {"loss": "log_loss", "random_state": 0}
HISTORIES = (10, 100, 1000)
FOLDER_FILES = 1000
_SENTINEL = 9876.54321


def make_store(store: Path, data: Path) -> distinc.IncrementalModel:
    return distinc.init(
        str(store),
        data=str(data),
        target="label",
        model="SGDClassifier",
        params=PARAMS,
        classes=[0, 1],
    )


def build_history(root: Path, size: int, *, versions: int, client: Any) -> Path:
    """A store that learned ``size`` partitions of 20 rows in ``versions`` real updates."""
    data, store = root / f"data-{size}", root / f"store-{size}"
    model = None
    steps = min(versions, size)
    for step in range(steps):
        count = size // steps + (1 if step < size % steps else 0)
        write_dataset(
            data, files=count, rows=20, seed=10_000 + step * 2_000, prefix=f"history-{step:03d}"
        )
        model = model or make_store(store, data)
        model.update(client=client)
    return store


def time_updates(
    root: Path, stores: dict[int, Path], *, repeat: int, client: Any
) -> dict[int, list[float]]:
    """Seconds of each attempt's update on a fresh copy of each store, sizes interleaved."""
    seconds: dict[int, list[float]] = {size: [] for size in stores}
    for attempt in range(repeat):
        order = list(stores.items())
        for size, store in order if attempt % 2 == 0 else reversed(order):
            copy = root / f"run-{size}-{attempt}"
            shutil.copytree(store, copy)
            model = distinc.open(str(copy))
            started = time.perf_counter()
            result = model.update(client=client)
            seconds[size].append(time.perf_counter() - started)
            assert result.entry is not None and len(result.entry.partitions) == 10
            print(
                f"  history {size:>5} partitions, run {attempt + 1}: {seconds[size][-1]:6.2f} s",
                flush=True,
            )
            shutil.rmtree(copy)
    return seconds


def history_growth(root: Path, *, rows: int, versions: int, repeat: int) -> list[Outcome]:
    print(
        f"history_growth: a {rows:,}-row delta after {', '.join(map(str, HISTORIES))} "
        f"trained partitions ({versions} versions each)"
    )
    with local_client() as client:
        stores = {
            size: build_history(root, size, versions=versions, client=client) for size in HISTORIES
        }
        delta = write_dataset(root / "delta", files=10, rows=rows // 10, seed=1)
        for size in HISTORIES:
            for path in delta:
                shutil.copy(path, root / f"data-{size}" / path.name)
        seconds = time_updates(root, stores, repeat=repeat, client=client)
    medians = {size: median(values) for size, values in seconds.items()}
    for size, value in medians.items():
        print(f"  median update after {size:>5} trained partitions: {value:6.3f} s")
    ratio, paired = paired_ratio(seconds[HISTORIES[-1]], seconds[HISTORIES[0]])
    detail = f"{paired}; medians " + ", ".join(
        f"{size:,} partitions {value:.3f} s" for size, value in medians.items()
    )
    return [
        Outcome(
            "update time, history 1000 / 10 partitions", ratio, "<= 1.10", ratio <= 1.10, detail
        )
    ]


def tiny_parquet() -> tuple[bytes, int]:
    """A one-row Parquet file and the offset of a float value that can be patched in place.

    Plain encoding, no compression, no statistics and no page checksums: rewriting the eight
    bytes of the value leaves a valid file with different content (and content digest).
    """
    table = pa.table({"f00": [_SENTINEL], "f01": [0.5], "label": pa.array([1], pa.int64())})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="NONE", use_dictionary=False, write_statistics=False)
    data = buffer.getvalue()
    offset = data.index(struct.pack("<d", _SENTINEL))
    return data, offset


def write_tiny_files(data: Path, start: int, stop: int) -> None:
    """Distinct one-row partitions ``start`` to ``stop`` in folders of 1,000, ~40 µs each."""
    template, offset = tiny_parquet()
    content = bytearray(template)
    for i in range(start, stop):
        folder = data / f"batch={i // FOLDER_FILES:04d}"
        if i % FOLDER_FILES == 0 or i == start:
            folder.mkdir(parents=True, exist_ok=True)
        content[offset : offset + 8] = struct.pack("<d", float(i))
        (folder / f"part-{i % FOLDER_FILES:04d}.parquet").write_bytes(content)


def commit_trained(model: distinc.IncrementalModel, data: Path, folders: list[str]) -> None:
    """Commit one entry per folder, as an update that learned its partitions would."""
    store = model.store
    listed = list_files(DataSource(str(data)))
    head = store.head()
    assert head is not None
    for folder in folders:
        keys = sorted(key for key in listed if key.startswith(f"{folder}/"))
        learned = tuple(
            TrainedPartition(
                key,
                *listed[key],
                1,
                "xxh3_128:" + xxhash.xxh3_128_hexdigest((data / key).read_bytes()),
            )
            for key in keys
        )
        head = store.commit(
            dataclasses.replace(
                head,
                version=head.version + 1,
                parent=head.version,
                run_id=os.urandom(16).hex(),
                partitions=learned,
                rows=len(learned),
                skipped=(),
                notes={},
            )
        )


def planning(root: Path, *, files: int, repeat: int) -> list[Outcome]:
    data = root / "many"
    # The first version is a real update over the first folder, written alone.
    write_tiny_files(data, 0, FOLDER_FILES)
    model = make_store(root / "many-store", data)
    with local_client() as client:
        model.update(client=client)
    started = time.perf_counter()
    write_tiny_files(data, FOLDER_FILES, files)
    print(f"planning: {files:,} partitions written in {time.perf_counter() - started:.1f} s")
    folders = sorted(os.listdir(data))
    commit_trained(model, data, folders[1:-1])
    seconds: list[float] = []
    newest: list[float] = []
    parts: dict[str, list[float]] = {"listing": [], "ledger": [], "diff": []}
    for attempt in range(repeat):
        store = distinc.open(str(root / "many-store"))
        started = time.perf_counter()
        result = store.update(dry_run=True)
        seconds.append(time.perf_counter() - started)
        store = distinc.open(str(root / "many-store"))
        started = time.perf_counter()
        since = store.update(dry_run=True, listing="since-newest")
        newest.append(time.perf_counter() - started)
        assert since.plan.new == result.plan.new
        print(
            f"  update --dry-run, run {attempt + 1}: {seconds[-1]:6.2f} s "
            f"({len(result.plan.new):,} new, {result.plan.unchanged:,} unchanged); "
            f"with --listing since-newest {newest[-1]:6.2f} s"
        )
        store = distinc.open(str(root / "many-store"))
        with collections_paused():  # as planning runs them in an update
            marks = [time.perf_counter()]
            listed = list_files(DataSource(str(data)))
            marks.append(time.perf_counter())
            lineage = store.store.lineage()
            marks.append(time.perf_counter())
            plan_files(lineage, listed)
            marks.append(time.perf_counter())
        for values, a, b in zip(parts.values(), marks, marks[1:], strict=False):
            values.append(b - a)
    assert len(result.plan.new) == min(FOLDER_FILES, files - FOLDER_FILES)
    print("  median parts: " + ", ".join(f"{k} {median(v):.2f} s" for k, v in parts.items()))
    value, incremental = median(seconds), median(newest)
    return [
        Outcome(f"planning {files:,} partitions (s)", value, "<= 2.0 s", value <= 2.0),
        Outcome(
            f"planning {files:,} partitions, --listing since-newest (s)",
            incremental,
            "<= 2.0 s",
            incremental <= 2.0,
        ),
    ]


def main(argv: list[str] | None = None) -> list[Outcome]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="delta rows (before --scale)")
    parser.add_argument("--files", type=int, default=100_000, help="planning partitions")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies --rows, --files")
    parser.add_argument("--versions", type=int, default=5, help="versions of each history")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON last")
    args = parser.parse_args(argv)
    rows = max(1000, int(args.rows * args.scale))
    files = max(3 * FOLDER_FILES, int(args.files * args.scale))
    with tempfile.TemporaryDirectory(prefix="distinc-bench-") as tmp:
        root = Path(tmp)
        outcomes = history_growth(root, rows=rows, versions=args.versions, repeat=args.repeat)
        outcomes += planning(root, files=files, repeat=args.repeat)
    return report("history_growth", outcomes, as_json=args.json)


if __name__ == "__main__":
    main(sys.argv[1:])
