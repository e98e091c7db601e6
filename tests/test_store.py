"""The model store on real files: atomic commits, verified artifacts, append-only history."""

from __future__ import annotations

import json
import pickle
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier

from distinc.engine.rollback import rollback
from distinc.exceptions import (
    ConcurrentUpdateError,
    IntegrityError,
    LedgerFormatError,
    StoreExistsError,
    StoreNotFoundError,
    VersionNotFoundError,
)
from distinc.ledger.entry import LedgerEntry, TrainedPartition
from distinc.spec import ModelSpec
from distinc.store import codecs
from distinc.store.check import check_store
from distinc.store.store import ModelStore

SPEC = ModelSpec(
    data="/nowhere",
    model="SGDClassifier",
    estimator="sklearn.linear_model.SGDClassifier",
    strategy="stream",
    task="classification",
    target="y",
    features=("a",),
    feature_types=("double",),
)


def fitted(seed: int) -> SGDClassifier:
    rng = np.random.default_rng(seed)
    return SGDClassifier(random_state=0).fit(rng.normal(size=(20, 1)), rng.integers(0, 2, 20))


def commit_version(
    store: ModelStore, version: int, *, run_id: str | None = None, key: str | None = None
) -> LedgerEntry:
    run_id = run_id or f"run{version}"
    data = codecs.dump(fitted(version), "skops")
    ref = store.put_artifact(data, role="model", version=version, run_id=run_id, fmt="skops")
    parts = (TrainedPartition(key or f"p{version}", 1, "t", 20, f"d{version}"),)
    entry = LedgerEntry(
        version=version,
        parent=version - 1 or None,
        kind="update",
        run_id=run_id,
        created_at="now",
        strategy="stream",
        artifacts=(ref,),
        partitions=parts,
    )
    return store.commit(entry)


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore.create(str(tmp_path / "store"), SPEC)


def test_a_version_is_invisible_until_its_entry_exists(store: ModelStore) -> None:
    store.put_artifact(b"x", role="model", version=1, run_id="r", fmt="skops")
    assert store.versions() == [] and store.head() is None
    commit_version(store, 1)
    assert store.versions() == [1]


def test_second_writer_of_a_version_fails_and_publishes_nothing(store: ModelStore) -> None:
    first = commit_version(store, 1, run_id="winner")
    with pytest.raises(ConcurrentUpdateError, match="version 1 was committed by run winner"):
        commit_version(store, 1, run_id="loser")
    reopened = ModelStore.open(store.url)
    assert reopened.entry(1) == first


def test_commit_retry_by_the_same_run_is_recognised(store: ModelStore) -> None:
    first = commit_version(store, 1, run_id="same")
    assert commit_version(store, 1, run_id="same") == first
    assert store.versions() == [1]


def test_history_and_rollback_append(store: ModelStore) -> None:
    for version in (1, 2, 3):
        commit_version(store, version)
    restored = rollback(store, 1)
    assert store.versions() == [1, 2, 3, 4]
    assert restored.parent == 1 and restored.kind == "rollback"
    assert restored.artifact("model") == store.entry(1).artifact("model")
    np.testing.assert_array_equal(store.load_model(restored).coef_, fitted(1).coef_)
    assert set(store.lineage().trained) == {"p1"}
    assert check_store(store) == []


def test_rollback_to_the_heads_own_model_commits_nothing(store: ModelStore) -> None:
    for version in (1, 2):
        commit_version(store, version)
    assert rollback(store, 2) == store.entry(2)
    restored = rollback(store, 1)
    assert restored.version == 3 and store.versions() == [1, 2, 3]
    # version 3 holds version 1's model: rolling back to either of them again changes nothing
    assert rollback(store, 1) == restored and rollback(store, 3) == restored
    assert store.versions() == [1, 2, 3]
    assert rollback(store, 2).version == 4 and store.entry(4).parent == 2
    assert check_store(store) == []


def test_tampered_artifact_refuses_to_load(store: ModelStore) -> None:
    entry = commit_version(store, 1)
    path = Path(store.files.path(entry.artifact("model").path))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="does not match the sha256"):
        store.load_model(entry)
    assert "does not match the sha256" in check_store(store)[0]


def test_a_pickle_is_never_loaded_even_with_a_matching_hash(store: ModelStore) -> None:
    data = pickle.dumps(fitted(1))
    ref = store.put_artifact(data, role="model", version=1, run_id="r", fmt="skops")
    entry = LedgerEntry(1, None, "update", "r", "now", "stream", (ref,))
    store.commit(entry)
    with pytest.raises(IntegrityError, match="not a skops file"):
        store.load_model(entry)


def test_ledger_from_a_newer_distinc_is_refused_and_left_alone(store: ModelStore) -> None:
    entry = commit_version(store, 1)
    path = Path(store.files.path("ledger/00000001.json"))
    data = json.loads(entry.to_json())
    data["format"] = 99
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    with pytest.raises(LedgerFormatError, match="format 99.*Upgrade distinc"):
        ModelStore.open(store.url).head()
    assert path.read_bytes() == before


def test_torn_entry_is_reported(store: ModelStore) -> None:
    commit_version(store, 1)
    Path(store.files.path("ledger/00000002.json")).write_text('{"version": 2, "par')
    assert any("not valid JSON" in problem for problem in check_store(store))


def test_gaps_in_versions_are_reported(store: ModelStore) -> None:
    commit_version(store, 1)
    commit_version(store, 3)
    assert "not contiguous" in check_store(store)[0]


def test_partition_trained_twice_is_reported(store: ModelStore) -> None:
    commit_version(store, 1, key="same")
    commit_version(store, 2, key="same")
    problems = check_store(store)
    assert len(problems) == 1 and "trained by versions 1 and 2" in problems[0]


def test_garbage_is_collected_only_after_the_grace_period(store: ModelStore) -> None:
    kept = commit_version(store, 1).artifact("model").path
    orphan = store.put_artifact(b"x", role="model", version=2, run_id="crashed", fmt="skops")
    assert store.collect_garbage() == []
    assert store.collect_garbage(grace_seconds=0) == [orphan.path]
    assert store.files.exists(kept) and not store.files.exists(orphan.path)


def test_garbage_collection_skips_files_that_other_runs_remove_meanwhile(
    store: ModelStore,
) -> None:
    """Racing committers create and remove temporary entries while a winner collects garbage
    (as four cron jobs do): what vanished after the listing is skipped, never an error."""
    commit_version(store, 1)
    ledger = Path(store.files.path("ledger"))
    stop = threading.Event()

    def commit_attempts() -> None:
        while not stop.is_set():
            temporary = ledger / f"00000002.json.{uuid.uuid4().hex}.tmp"
            temporary.write_bytes(b"{}")
            temporary.unlink()

    racer = threading.Thread(target=commit_attempts)
    racer.start()
    try:
        for _ in range(300):
            assert store.collect_garbage() == []
    finally:
        stop.set()
        racer.join()


def test_create_and_open_errors(tmp_path: Path) -> None:
    ModelStore.create(str(tmp_path / "s"), SPEC)
    # Each error names the way out for the command line and for Python.
    with pytest.raises(StoreExistsError, match=r"'distinc update' \(distinc\.open\(\.\.\.\)"):
        ModelStore.create(str(tmp_path / "s"), SPEC)
    with pytest.raises(StoreNotFoundError, match=r"'distinc init' \(distinc\.init\(\) in Python"):
        ModelStore.open(str(tmp_path / "none"))
    with pytest.raises(VersionNotFoundError, match=r"'distinc history' \(history\(\) in Python"):
        ModelStore.open(str(tmp_path / "s")).entry(7)


def test_store_works_on_an_fsspec_url() -> None:
    store = ModelStore.create("memory://distinc-test-store", SPEC)
    commit_version(store, 1)
    with pytest.raises(ConcurrentUpdateError):
        commit_version(store, 1, run_id="other")
    assert check_store(ModelStore.open("memory://distinc-test-store")) == []
