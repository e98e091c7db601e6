"""Shared pieces of the benchmark scripts: data generation, a cluster, a timer, ratio lines."""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T")

# Datasets of at least this many rows are written by a process per core (spawned, so that
# no cluster thread is forked): generating and encoding them is not what a benchmark measures.
PARALLEL_WRITE_ROWS = 2_000_000


def write_file(path: Path, rows: int, features: int, seed: int) -> Path:
    """One Parquet file of ``rows`` rows: float features and a binary ``label``, from ``seed``."""
    weights = np.random.default_rng(12345).normal(size=features)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    signal = x @ weights / np.sqrt(features) + 0.5 * np.sin(x[:, 0] * x[:, 1])
    frame = pd.DataFrame(x, columns=[f"f{j:02d}" for j in range(features)])
    frame["label"] = (signal + rng.normal(scale=0.7, size=rows) > 0).astype("int64")
    frame.to_parquet(path, index=False)
    return path


def write_files(paths: list[Path], *, rows: int, features: int, seeds: list[int]) -> list[Path]:
    """``write_file`` for each path and seed; in parallel when they hold many rows."""
    count = len(paths)
    if count < 2 or count * rows < PARALLEL_WRITE_ROWS:
        pairs = zip(paths, seeds, strict=True)
        return [write_file(path, rows, features, seed) for path, seed in pairs]
    return in_processes(write_file, paths, [rows] * count, [features] * count, seeds)


def in_processes(function: Callable[..., T], *arguments: list[Any]) -> list[T]:
    """``function`` mapped over ``arguments`` by a spawned process per core (a forked one would
    inherit a running cluster's threads)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(cpu_count(), mp_context=spawn) as pool:
        return list(pool.map(function, *arguments))


def write_dataset(
    root: Path, *, files: int, rows: int, features: int = 28, seed: int = 0, prefix: str = "part"
) -> list[Path]:
    """``files`` Parquet files of ``rows`` rows: float features and a binary ``label``."""
    root.mkdir(parents=True, exist_ok=True)
    paths = [root / f"{prefix}-{i:05d}.parquet" for i in range(files)]
    return write_files(paths, rows=rows, features=features, seeds=[seed + i for i in range(files)])


@contextmanager
def local_client(workers: int = 2, threads: int = 1, **kwargs: Any) -> Iterator[Any]:
    """A LocalCluster's client, its scheduler set as distinc sets the LocalCluster it starts."""
    from distributed import Client

    from distinc.engine.cluster import start_local_cluster

    cluster = start_local_cluster(
        n_workers=workers,
        threads_per_worker=threads,
        dashboard_address=None,
        silence_logs=40,
        **kwargs,
    )
    with cluster, Client(cluster) as client:
        yield client


@contextmanager
def timer(results: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    results[name] = time.perf_counter() - started
    print(f"  {name:<40} {results[name]:8.2f} s", flush=True)


def ratio_line(name: str, value: float, target: str, holds: bool) -> str:
    mark = "holds" if holds else "MISSES"
    return f"{name:<55} {value:7.3f}   target {target:<10} {mark}"


def cpu_count() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Outcome:
    """One measured ratio (or time) against its target; ``--json`` prints a list of these."""

    name: str
    value: float
    target: str
    holds: bool
    detail: str = ""

    def line(self) -> str:
        return ratio_line(self.name, self.value, self.target, self.holds)


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def paired_ratio(tops: list[float], bottoms: list[float]) -> tuple[float, str]:
    """The median of each attempt's ratio ``tops[i] / bottoms[i]``, and a detail that lists them
    with the ratio of medians: an attempt runs both sides back to back, so a spell of load from
    other work weighs on both sides of its ratio."""
    paired = [top / bottom for top, bottom in zip(tops, bottoms, strict=True)]
    listed = ", ".join(f"{ratio:.2f}" for ratio in paired)
    of_medians = median(tops) / median(bottoms)
    detail = f"median of {len(paired)} paired ratios ({listed}; ratio of medians {of_medians:.3f})"
    return median(paired), detail


def report(title: str, outcomes: list[Outcome], *, as_json: bool = False) -> list[Outcome]:
    """Print the final block of a benchmark; with ``as_json``, one JSON list as the last line.

    Each JSON item is ``{"name", "value", "target", "holds", "detail"}``.
    """
    print(f"\n== {title} ==")
    publish(outcomes, as_json=as_json)
    return outcomes


# The scripts that print with `publish` call an outcome a ratio.
Ratio = Outcome


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="end the output with one line: a JSON list of {name, value, target, holds, detail}",
    )


def publish(ratios: list[Ratio], *, as_json: bool) -> None:
    """Print each ratio's line; with ``as_json``, then the whole list as the last line."""
    for ratio in ratios:
        print(ratio.line() + (f"   ({ratio.detail})" if ratio.detail else ""), flush=True)
    if as_json:
        print(json.dumps([dataclasses.asdict(ratio) for ratio in ratios]), flush=True)


class PeakRss:
    """The peak resident memory of some processes, sampled from a background thread.

    Resident memory (RSS) is what Dask's nanny compares with the worker memory limit. It counts
    file pages a process has memory-mapped and touched, which the kernel may evict;
    ``peak_anonymous`` leaves them out (RSS less shared pages).
    """

    def __init__(self, pids: list[int], *, every: float = 0.02) -> None:
        import psutil

        self.processes = [psutil.Process(pid) for pid in pids]
        self.every = every
        self.peak = 0
        self.peak_anonymous = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            for process in self.processes:
                with suppress(psutil.Error):
                    memory = process.memory_info()
                    self.peak = max(self.peak, memory.rss)
                    self.peak_anonymous = max(self.peak_anonymous, memory.rss - memory.shared)
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def worker_pids(client: Any) -> list[int]:
    return list(client.run(os.getpid).values())
