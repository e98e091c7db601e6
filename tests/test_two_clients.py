"""An update runs on the client it is given, even when another client is the process default.

A notebook or a test session often holds two clients. Dask helpers that fall back on the
default client (``as_completed`` takes its event loop) then drive one client's connections
from the other client's loop thread, which corrupts them and hangs the update.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import distinc
from distinc.spec import TrainingOptions
from tests.conftest import make_frame, write_partition


@pytest.fixture
def other_default_client(client: Any) -> Iterator[Any]:
    """A second client on its own cluster, made the process default after ``client``."""
    from distributed import Client, LocalCluster, default_client

    with (
        LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as other,
    ):
        assert default_client() is other
        yield other


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("model", "params", "options"),
    [
        ("SGDClassifier", {"random_state": 0}, TrainingOptions()),
        ("xgboost", {"max_depth": 2}, TrainingOptions(rounds=4, xgb_backend="dask")),
    ],
    ids=["stream", "xgboost.dask"],
)
def test_updates_run_on_the_given_client_not_the_default(
    tmp_path: Path,
    client: Any,
    other_default_client: Any,
    model: str,
    params: dict[str, Any],
    options: TrainingOptions,
) -> None:
    data = tmp_path / "data"
    write_partition(data, "v0.parquet", make_frame(200, seed=0))
    store = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model=model,
        params=params,
        classes=[0, 1],
        options=options,
    )
    for version in range(1, 4):
        for part in range(4):
            write_partition(
                data, f"v{version}-{part}.parquet", make_frame(200, seed=version * 10 + part)
            )
        assert store.update(client=client).version == version
    assert client.submit(sum, [1, 2]).result(timeout=60) == 3
    assert store.verify() == []
