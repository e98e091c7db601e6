"""Shared pieces of the benchmark scripts: data generation, a cluster, a timer, ratio lines."""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def write_dataset(root: Path, *, files: int, rows: int, features: int = 28, seed: int = 0,
                  prefix: str = "part") -> list[Path]:
    """``files`` Parquet files of ``rows`` rows: float features and a binary ``label``."""
    root.mkdir(parents=True, exist_ok=True)
    weights = np.random.default_rng(12345).normal(size=features)
    paths = []
    for i in range(files):
        rng = np.random.default_rng(seed + i)
        x = rng.normal(size=(rows, features))
        signal = x @ weights / np.sqrt(features) + 0.5 * np.sin(x[:, 0] * x[:, 1])
        frame = pd.DataFrame(x, columns=[f"f{j:02d}" for j in range(features)])
        frame["label"] = (signal + rng.normal(scale=0.7, size=rows) > 0).astype("int64")
        path = root / f"{prefix}-{i:05d}.parquet"
        frame.to_parquet(path, index=False)
        paths.append(path)
    return paths


@contextmanager
def local_client(workers: int = 2, threads: int = 1, **kwargs: Any) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                      dashboard_address=None, silence_logs=40, **kwargs) as cluster, \
            Client(cluster) as client:
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

    def line(self) -> str:
        return ratio_line(self.name, self.value, self.target, self.holds)


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def report(title: str, outcomes: list[Outcome], *, as_json: bool = False) -> list[Outcome]:
    """Print the final block of a benchmark; with ``as_json``, one JSON list as the last line.

    Each JSON item is ``{"name", "value", "target", "holds"}``.
    """
    print(f"\n== {title} ==")
    for outcome in outcomes:
        print(outcome.line())
    if as_json:
        print(json.dumps([dataclasses.asdict(outcome) for outcome in outcomes]), flush=True)
    return outcomes
