"""Unsupervised models (no --target) update, and score through ``distinc predict``."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import distinc
from distinc.cli.main import main
from tests.conftest import FEATURES, make_frame, write_partition


def distinc_command(*args: str) -> int:
    """``distinc ARGS`` in this process (spares a subprocess' imports); logging restored."""
    logger = logging.getLogger("distinc")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    try:
        return main(list(args))
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved


@pytest.mark.parametrize(
    ("name", "params", "columns"),
    [
        ("MiniBatchKMeans", {"n_clusters": 3, "random_state": 0, "n_init": 1}, ["prediction"]),
        ("IncrementalPCA", {"n_components": 2}, ["component_0", "component_1"]),
        ("Birch", {"n_clusters": 3}, ["prediction"]),
    ],
)
def test_unsupervised_updates_and_cli_predictions(
    tmp_path: Path,
    client: object,
    scheduler_address: str,
    name: str,
    params: dict[str, object],
    columns: list[str],
) -> None:
    data = tmp_path / "data"
    for i in range(2):
        write_partition(data, f"a{i}.parquet", make_frame(300, seed=i)[FEATURES])
    model = distinc.init(str(tmp_path / "store"), data=str(data), model=name, params=params)
    assert model.spec.strategy == "stream" and model.spec.target is None
    model.update(client=client)
    for i in range(2):
        write_partition(data, f"b{i}.parquet", make_frame(300, seed=10 + i)[FEATURES])
    entry = model.update(client=client).entry
    assert entry is not None and [p.key for p in entry.partitions] == ["b0.parquet", "b1.parquet"]
    fitted = model.model()
    seen = getattr(fitted, "n_samples_seen_", None)
    assert seen is None or seen == 1200

    scoring = tmp_path / "scoring"
    frame = make_frame(50, seed=99)[FEATURES]
    write_partition(scoring, "s.parquet", frame)
    out = tmp_path / "out"
    code = distinc_command(
        "--quiet",
        "predict",
        str(tmp_path / "store"),
        "--data",
        str(scoring),
        "--out",
        str(out),
        "--scheduler",
        scheduler_address,
    )
    assert code == 0
    written = pd.read_parquet(out / "s.parquet")
    assert list(written.columns) == columns
    if columns == ["prediction"]:
        np.testing.assert_array_equal(written["prediction"], fitted.predict(frame.to_numpy()))
    else:
        np.testing.assert_allclose(written[columns].to_numpy(), fitted.transform(frame.to_numpy()))
