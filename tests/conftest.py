"""Shared fixtures: one real LocalCluster per session, and real Parquet data on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

FEATURES = [f"x{i}" for i in range(4)]


@pytest.fixture(scope="session")
def cluster() -> Iterator[object]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as local:
        yield local


@pytest.fixture(scope="session")
def client(cluster: object) -> Iterator[object]:
    from distributed import Client

    with Client(cluster) as session_client:
        yield session_client


@pytest.fixture(scope="module")
def one_worker() -> Iterator[object]:
    """A cluster of one single-threaded worker: training is then exactly reproducible."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        ) as local,
        Client(local) as one,
    ):
        yield one


@pytest.fixture(scope="session")
def scheduler_address(cluster: object) -> str:
    return str(cluster.scheduler_address)  # type: ignore[attr-defined]


def make_frame(rows: int, seed: int, *, classes: tuple[object, ...] = (0, 1)) -> pd.DataFrame:
    """A small classification table whose label depends on the features."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, len(FEATURES)))
    frame = pd.DataFrame(features, columns=FEATURES)
    score = features @ np.array([1.0, -0.5, 0.25, 0.0])
    cuts = np.linspace(-1.0, 1.0, len(classes) + 1)[1:-1] if len(classes) > 2 else [0.0]
    index = np.digitize(score, cuts)
    frame["label"] = np.asarray(classes, dtype=object)[index]
    if all(isinstance(c, int) for c in classes):
        frame["label"] = frame["label"].astype("int64")
    return frame


def write_partition(root: Path, key: str, frame: pd.DataFrame) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def learned_store(folder: Path, data: Path, client: Any) -> Any:
    """A log-loss SGDClassifier store at ``folder / "store"`` that has learned ``data``."""
    import distinc

    model = distinc.init(
        str(folder / "store"),
        data=str(data),
        target="label",
        model="SGDClassifier",
        params={"loss": "log_loss", "random_state": 0},
    )
    model.update(client=client)
    return model


def learned_regressor(folder: Path, data: Path, client: Any) -> Any:
    """An SGDRegressor store at ``folder / "store"``, target ``x3`` from the other features, that
    has learned ``data``."""
    import distinc

    model = distinc.init(
        str(folder / "store"),
        data=str(data),
        target="x3",
        model="SGDRegressor",
        features=FEATURES[:3],
        params={"random_state": 0},
    )
    model.update(client=client)
    return model


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for i in range(3):
        write_partition(root, f"part-{i:02d}.parquet", make_frame(500, seed=i))
    return root


def run_cli(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``distinc`` in a subprocess, as a user or a cron job would."""
    result = subprocess.run(
        [sys.executable, "-m", "distinc", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"distinc {' '.join(args)} exited {result.returncode}\n{result.stderr}"
        )
    return result


def cli_init(
    store: str, data: Path, *extra: str, model: str = "SGDClassifier", check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``distinc init STORE --data DATA --target label --model MODEL EXTRA...``."""
    return run_cli(
        "init",
        store,
        "--data",
        str(data),
        "--target",
        "label",
        "--model",
        model,
        *extra,
        check=check,
    )
