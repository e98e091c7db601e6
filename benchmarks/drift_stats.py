"""What drift statistics add to the scan of a delta, and how big they are.

Usage: python -m benchmarks.drift_stats [--rows 600000] [--files 15] [--repeat 15]

Scans the same files in this process with and without statistics (the step an update of this
size would use), back to back, ``--repeat`` times (the plain scan first in even attempts, second
in odd ones). The target applies to the median of the attempts' own ratios: a scan takes a
quarter of a second, so a spell of load from other work on this shared machine can double one
side of a ratio of best times, while it weighs on both sides of a paired one. Then the size of
the stored statistics next to the size of the data they describe.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import (
    Ratio,
    add_json_flag,
    median,
    paired_ratio,
    publish,
    write_dataset,
)
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


def paired_scans(
    source: DataSource, keys: list[str], contract: ColumnContract, step: int, repeat: int
) -> tuple[list[float], list[float], list[PartitionProfile]]:
    """Each attempt's times without and with statistics, and the profiles with them."""
    plain: list[float] = []
    with_stats: list[float] = []
    profiles: list[PartitionProfile] = []
    for attempt in range(repeat):
        for sample_every in (0, step) if attempt % 2 == 0 else (step, 0):
            took, scanned = scan_time(source, keys, contract, sample_every)
            if sample_every:
                with_stats.append(took)
                profiles = scanned
            else:
                plain.append(took)
    return plain, with_stats, profiles


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=600_000)
    parser.add_argument("--files", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=15)
    add_json_flag(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="distinc-bench-") as folder:
        paths = write_dataset(Path(folder), files=args.files, rows=args.rows // args.files)
        features = tuple(f"f{j:02d}" for j in range(28))
        contract = ColumnContract(features, ("double",) * 28, "label", "classification")
        source = DataSource(folder)
        keys = [path.name for path in paths]
        step = sample_step(sum(path.stat().st_size for path in paths), len(contract.columns))
        plain, with_stats, profiles = paired_scans(source, keys, contract, step, args.repeat)
        merged = merged_stats(profile.stats for profile in profiles)
        stored = len(merged.to_json()) if merged is not None else 0
        data = sum(path.stat().st_size for path in paths)
    ratio, paired = paired_ratio(with_stats, plain)
    print(
        f"  scan without statistics {median(plain):8.3f} s, with (every {step}th row) "
        f"{median(with_stats):8.3f} s (medians of {args.repeat}; best {min(plain):.3f} s and "
        f"{min(with_stats):.3f} s)"
    )
    print(f"  stored statistics {stored / 1024:.0f} KiB for {data / 2**20:.0f} MiB of data")
    detail = f"{paired}; {stored / 1024:.0f} KiB of statistics for {data / 2**20:.0f} MiB of data"
    publish(
        [Ratio("scan with statistics / scan without", ratio, "<= 1.25", ratio <= 1.25, detail)],
        as_json=args.json,
    )
    return {"ratio": ratio, "stored_bytes": stored}


if __name__ == "__main__":
    main(sys.argv[1:])
