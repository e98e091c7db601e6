"""What drift statistics add to the scan of a delta, and how big they are.

Usage: python -m benchmarks.drift_stats [--rows 600000] [--files 15] [--repeat 5]

Scans the same files in this process with and without statistics (the step an update of this
size would use), in turns, and prints the ratio of the best times, then the size of the stored
statistics next to the size of the data they describe.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Ratio, add_json_flag, publish, write_dataset
from distinc.dataset.partition import DataSource
from distinc.dataset.profile import PartitionProfile, scan_partition
from distinc.dataset.samples import merged_stats
from distinc.dataset.schema import ColumnContract
from distinc.dataset.stats import sample_step


def scan_time(
    source: DataSource, keys: list[str], contract: ColumnContract, step: int
) -> tuple[float, list[PartitionProfile]]:
    started = time.perf_counter()
    profiles = [
        scan_partition(source, key, contract, keep=False, sample_every=step)[0] for key in keys
    ]
    return time.perf_counter() - started, profiles


def best_scans(
    source: DataSource, keys: list[str], contract: ColumnContract, step: int, repeat: int
) -> tuple[float, float, list[PartitionProfile]]:
    """The best times without and with statistics, taken in turns (a spell of load on the
    shared machine then slows both alike), and the profiles with them."""
    plain = with_stats = float("inf")
    profiles: list[PartitionProfile] = []
    for _ in range(repeat):
        plain = min(plain, scan_time(source, keys, contract, 0)[0])
        took, profiles = scan_time(source, keys, contract, step)
        with_stats = min(with_stats, took)
    return plain, with_stats, profiles


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=600_000)
    parser.add_argument("--files", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=5)
    add_json_flag(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="distinc-bench-") as folder:
        paths = write_dataset(Path(folder), files=args.files, rows=args.rows // args.files)
        features = tuple(f"f{j:02d}" for j in range(28))
        contract = ColumnContract(features, ("double",) * 28, "label", "classification")
        source = DataSource(folder)
        keys = [path.name for path in paths]
        step = sample_step(sum(path.stat().st_size for path in paths), len(contract.columns))
        plain, with_stats, profiles = best_scans(source, keys, contract, step, args.repeat)
        merged = merged_stats(profile.stats for profile in profiles)
        stored = len(merged.to_json()) if merged is not None else 0
        data = sum(path.stat().st_size for path in paths)
    ratio = with_stats / plain
    print(
        f"  scan without statistics {plain:8.3f} s, with (every {step}th row) {with_stats:8.3f} s"
    )
    print(f"  stored statistics {stored / 1024:.0f} KiB for {data / 2**20:.0f} MiB of data")
    detail = f"{stored / 1024:.0f} KiB of statistics for {data / 2**20:.0f} MiB of data"
    publish(
        [Ratio("scan with statistics / scan without", ratio, "<= 1.25", ratio <= 1.25, detail)],
        as_json=args.json,
    )
    return {"ratio": ratio, "stored_bytes": stored}


if __name__ == "__main__":
    main(sys.argv[1:])
