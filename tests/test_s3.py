"""Data, store and predictions on S3, against a real S3-protocol server on 127.0.0.1.

The server (moto in server mode, see ``tests/s3server.py``) accepts one access key only, so
every read that succeeds, on the driver or on a Dask worker, used the storage options distinc
was given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import SGDClassifier

import distinc
from distinc.dataset.listing import list_partitions
from distinc.dataset.partition import DataSource
from distinc.engine.update import _confirm_unchanged
from distinc.exceptions import ConcurrentUpdateError, PartitionChangedError
from distinc.ledger.admit import Admission
from distinc.ledger.entry import TrainedPartition
from distinc.store.check import check_store
from distinc.store.store import ModelStore
from tests.conftest import FEATURES, make_frame, run_cli
from tests.s3server import S3Server, moto_server
from tests.test_store import SPEC, commit_version


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server


@pytest.fixture
def bucket(s3: S3Server) -> str:
    return s3.bucket(f"distinc-{uuid.uuid4().hex[:12]}")


def put_partition(s3: S3Server, url: str, frame: pd.DataFrame) -> None:
    # Uncompressed and without dictionaries, a file's size depends only on its row count, so a
    # rewrite can keep the size and only the ETag tells it apart.
    with s3.filesystem().open(url, "wb") as handle:
        frame.to_parquet(handle, index=False, compression=None, use_dictionary=False)


def without_credentials() -> dict[str, str]:
    """The environment less any AWS credential, and no instance-metadata lookups off this host."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return {
        **env,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_CONFIG_FILE": os.devnull,
    }


def run_bare(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``distinc`` in a subprocess whose only credentials are those in ``args`` or ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "distinc", *args],
        capture_output=True,
        text=True,
        env={**without_credentials(), **(env or {})},
        timeout=300,
    )


def plain_loop(s3: S3Server, urls: list[str]) -> Any:
    expected = SGDClassifier(random_state=0)
    fs = s3.filesystem()
    for url in urls:
        with fs.open(url, "rb") as handle:
            frame = pq.read_table(handle).to_pandas()
        expected.partial_fit(frame[FEATURES], frame["label"], classes=[0, 1])
    return expected


def test_the_command_line_with_data_store_and_predictions_on_s3(
    s3: S3Server, bucket: str, scheduler_address: str
) -> None:
    data, store = f"s3://{bucket}/data", f"s3://{bucket}/store"
    urls = [f"{data}/part-{i:02d}.parquet" for i in range(4)]
    for i, url in enumerate(urls[:3]):
        put_partition(s3, url, make_frame(300, seed=i))
    on_cluster = ["--scheduler", scheduler_address]
    run_cli(
        "init",
        store,
        "--data",
        data,
        "--target",
        "label",
        "--model",
        "SGDClassifier",
        "--param",
        "random_state=0",
        *s3.flags(),
    )

    spec = s3.filesystem().cat(f"{bucket}/store/spec.json").decode()
    assert s3.key not in spec and s3.secret not in spec
    assert json.loads(spec)["storage_options"] == {"endpoint_url": s3.endpoint}

    first = json.loads(run_cli("update", store, *on_cluster, "--json", *s3.flags()).stdout)
    assert first["version"] == 1 and first["partitions"] == [u.rsplit("/", 1)[1] for u in urls[:3]]
    put_partition(s3, urls[3], make_frame(200, seed=3))
    # the same options from dask's configuration (an environment variable) instead of flags
    from_config = {"DASK_DISTINC__STORAGE_OPTIONS": repr(s3.options)}
    second = run_bare("update", store, *on_cluster, "--json", env=from_config)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["partitions"] == ["part-03.parquet"]
    opened = distinc.open(store, storage_options=s3.options)
    np.testing.assert_array_equal(opened.model().coef_, plain_loop(s3, urls).coef_)
    assert opened.version == 2 and opened.verify() == []

    # each location with its own options, and no credentials anywhere else
    put_partition(s3, f"s3://{bucket}/scoring/s.parquet", make_frame(40, seed=9))
    predicted = run_bare(
        "predict",
        store,
        "--data",
        f"s3://{bucket}/scoring",
        "--out",
        f"s3://{bucket}/out",
        *on_cluster,
        *s3.flags("--store-option"),
        *s3.flags("--data-option"),
        *s3.flags("--out-option"),
    )
    assert predicted.returncode == 0, predicted.stderr
    with s3.filesystem().open(f"{bucket}/out/s.parquet", "rb") as handle:
        assert pq.read_table(handle).num_rows == 40


def test_missing_or_wrong_credentials_are_one_clear_line(s3: S3Server, bucket: str) -> None:
    store, data = f"s3://{bucket}/store", f"s3://{bucket}/data"
    put_partition(s3, f"{data}/part-00.parquet", make_frame(30, seed=0))
    pinned = {"endpoint_url": s3.endpoint}
    ModelStore.create(
        store, replace(SPEC, data=data, storage_options=pinned), storage_options=s3.options
    )
    endpoint = ["--storage-option", f"endpoint_url={s3.endpoint}"]
    wrong = ["--storage-option", f"key={s3.key}", "--storage-option", "secret=wrong"]
    for given in (endpoint, [*endpoint, *wrong]):
        result = run_bare("status", store, *given)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"Access to the store at {store!r} was refused" in lines[0]
    # options for the store only do not reach the data
    store_only = run_bare("status", store, *s3.flags("--store-option"))
    assert store_only.returncode == 1
    assert f"Access to the data at {data!r} was refused" in store_only.stderr
    assert "Give its credentials in --storage-option or --data-option," in store_only.stderr
    both = run_bare("status", store, *s3.flags("--store-option"), *s3.flags("--data-option"))
    assert both.returncode == 0, both.stderr


def test_the_api_on_s3_detects_a_rewritten_object_by_its_etag(
    s3: S3Server, bucket: str, client: object
) -> None:
    data, store = f"s3://{bucket}/data", f"s3://{bucket}/store"
    for i in range(2):
        put_partition(s3, f"{data}/part-{i:02d}.parquet", make_frame(300, seed=i))
    distinc.init(
        store,
        data=data,
        target="label",
        model="SGDClassifier",
        params={"random_state": 0},
        storage_options=s3.options,
    )
    model = distinc.open(store, storage_options=s3.options)
    assert model.update(client=client).version == 1
    source = DataSource(data, s3.options)
    before = {p.key: p.fingerprint for p in list_partitions(source)}
    assert before["part-00.parquet"].token.startswith("ETag:")

    put_partition(s3, f"{data}/part-00.parquet", make_frame(300, seed=100))
    after = {p.key: p.fingerprint for p in list_partitions(source)}
    assert after["part-00.parquet"].size == before["part-00.parquet"].size
    assert after["part-00.parquet"].token != before["part-00.parquet"].token
    with pytest.raises(PartitionChangedError, match="'part-00.parquet'"):
        model.update(client=client)
    assert [p.key for p in model.status().plan.modified] == ["part-00.parquet"]
    assert model.version == 1


def test_a_rewrite_during_training_is_seen_through_the_listing_cache(
    s3: S3Server, bucket: str
) -> None:
    data = f"s3://{bucket}/data"
    for i in range(6):
        put_partition(s3, f"{data}/part-{i:02d}.parquet", make_frame(300, seed=i))
    source = DataSource(data, s3.options)
    listed = list_partitions(source)  # s3fs caches what the listing said about each object
    learned = Admission(
        train=tuple(
            TrainedPartition(part.key, part.fingerprint.size, part.fingerprint.token, 300, "")
            for part in listed
        )
    )
    _confirm_unchanged(source, learned)
    # the files are confirmed concurrently on a remote store; the error still names the one
    put_partition(s3, f"{data}/part-03.parquet", make_frame(300, seed=100))
    with pytest.raises(PartitionChangedError, match="'part-03.parquet' changed"):
        _confirm_unchanged(source, learned)


def race_commits(stores: list[ModelStore], version: int) -> dict[int, str]:
    """Both stores commit ``version`` at the same moment; who won and who lost."""
    barrier = threading.Barrier(len(stores))

    def commit(i: int) -> str:
        barrier.wait()
        try:
            commit_version(stores[i], version, run_id=f"run{version}-{i}")
        except ConcurrentUpdateError:
            return "lost"
        return "won"

    with ThreadPoolExecutor(len(stores)) as pool:
        return dict(enumerate(pool.map(commit, range(len(stores)))))


def test_commits_on_s3_are_create_if_absent_and_a_racing_commit_fails(
    s3: S3Server, bucket: str
) -> None:
    url = f"s3://{bucket}/store"
    ModelStore.create(url, SPEC, storage_options=s3.options)
    # two processes' worth of state: separate s3fs instances, no shared listing cache
    stores = [
        ModelStore.open(url, storage_options={**s3.options, "skip_instance_cache": True})
        for _ in range(2)
    ]
    stores[0].files.create("probe", b"first")
    with pytest.raises(FileExistsError):
        stores[1].files.create("probe", b"second")
    assert stores[1].files.read("probe") == b"first"

    for version in range(1, 6):
        outcomes = race_commits(stores, version)
        assert sorted(outcomes.values()) == ["lost", "won"], outcomes
        winner = next(i for i, outcome in outcomes.items() if outcome == "won")
        reopened = ModelStore.open(url, storage_options=s3.options)
        assert reopened.entry(version).run_id == f"run{version}-{winner}"
    assert check_store(ModelStore.open(url, storage_options=s3.options)) == []


def test_a_long_lived_process_sees_versions_committed_by_another(
    s3: S3Server, bucket: str, client: object, scheduler_address: str
) -> None:
    data, store = f"s3://{bucket}/data", f"s3://{bucket}/store"
    put_partition(s3, f"{data}/part-00.parquet", make_frame(300, seed=0))
    model = distinc.init(
        store, data=data, target="label", model="SGDClassifier", storage_options=s3.options
    )
    model.update(client=client)
    assert model.version == 1  # the ledger folder's listing is now cached in this process
    put_partition(s3, f"{data}/part-01.parquet", make_frame(300, seed=1))
    run_cli("update", store, "--scheduler", scheduler_address, *s3.flags())
    assert model.version == 2 and model.status().plan.new == ()
