"""``memory://`` data: one token per file whichever call reported it, and a clear refusal when
the workers are processes that cannot see this one's memory."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from distributed import Client

import distinc
from distinc.dataset.listing import version_token
from distinc.exceptions import ConfigurationError
from tests.conftest import make_frame


@pytest.fixture
def memory_data() -> Iterator[str]:
    fs = fsspec.filesystem("memory")
    root = f"/distinc-{uuid.uuid4().hex[:8]}"
    for i in range(2):
        with fs.open(f"{root}/part-{i}.parquet", "wb") as handle:
            make_frame(100, seed=i).to_parquet(handle, index=False)
    yield f"memory://{root}"
    fs.rm(root, recursive=True)


def test_a_time_gives_one_token_as_a_number_or_a_datetime() -> None:
    seconds = 1795885529.12
    as_datetime = dt.datetime.fromtimestamp(seconds, dt.UTC)
    assert version_token({"created": seconds}) == version_token({"created": as_datetime})
    assert version_token({"mtime": seconds}) == f"mtime:{seconds}"  # as in existing ledgers
    assert version_token({"ETag": '"e"', "LastModified": as_datetime}) == "ETag:e"


def test_memory_data_trains_with_workers_in_this_process(tmp_path: Path, memory_data: str) -> None:
    model = distinc.init(
        str(tmp_path / "store"), data=memory_data, target="label", model="SGDClassifier"
    )
    with Client(processes=False, n_workers=1, dashboard_address=None) as local:
        assert model.update(client=local).version == 1
        assert model.update(client=local).version == 1  # nothing new: up to date


def test_memory_data_is_refused_when_the_workers_are_other_processes(
    tmp_path: Path, memory_data: str, client: Any
) -> None:
    model = distinc.init(
        str(tmp_path / "store"), data=memory_data, target="label", model="SGDClassifier"
    )
    with pytest.raises(ConfigurationError, match=r"memory.*Client\(processes=False\)"):
        model.update(client=client)
