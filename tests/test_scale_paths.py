"""The fast paths for large datasets give exactly what the plain ones gave.

Listing, the plan and the ledger's JSON were rewritten for 100,000 partitions; each test here
compares the fast path with a plain reference (fsspec's own walk, the per-partition plan,
``dataclasses.asdict``) on the same input.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from operator import attrgetter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import xxhash
from fsspec.implementations.local import LocalFileSystem
from sklearn.linear_model import SGDClassifier

import distinc
from distinc.dataset.listing import is_partition_file, list_files, list_partitions, version_token
from distinc.dataset.partition import DataSource, Fingerprint, Partition
from distinc.engine.setup import initialise
from distinc.exceptions import IntegrityError
from distinc.ledger.entry import ArtifactRef, LedgerEntry, SkippedPartition, TrainedPartition
from distinc.ledger.lineage import Lineage
from distinc.ledger.plan import Plan, make_plan, plan_files
from distinc.store.store import ModelStore, entry_name
from tests.conftest import FEATURES, make_frame, write_partition
from tests.test_store import SPEC, commit_version

MODEL = (ArtifactRef("model", "artifacts/m.skops", "0" * 64, "skops", 1),)


def fsspec_listing(root: Path) -> tuple[Partition, ...]:
    """The listing as fsspec's generic ``find`` and the partition filter give it."""
    fs = LocalFileSystem()
    base = fs._strip_protocol(str(root))
    found = []
    for path, info in fs.find(base, detail=True).items():
        key = path[len(base) + 1 :]
        if info["type"] == "file" and is_partition_file(key):
            found.append(Partition(key, Fingerprint(int(info["size"]), version_token(info))))
    return tuple(sorted(found, key=attrgetter("key")))


def test_local_listing_equals_the_fsspec_walk(tmp_path: Path) -> None:
    data = tmp_path / "data"
    frame = make_frame(5, seed=1)
    for key in [
        "a.parquet",
        "day=2024-01-01/part-0.parquet",
        "day=2024-01-01/hour=03/part-1.PQ",
        "day=2024-01-02/part-0.parq",
        "_temporary/part-0.parquet",
        ".hidden/part-0.parquet",
        "day=2024-01-01/_SUCCESS",
        "day=2024-01-01/.part-0.parquet.crc",
        "day=2024-01-01/_part-9.parquet",
        "notes/readme.txt",
    ]:
        write_partition(data, key, frame)
    (data / "empty-folder").mkdir()
    os.symlink(data, data / "day=2024-01-02" / "loop")  # a cycle must end the walk
    expected = fsspec_listing(data)
    assert [p.key for p in expected] == [
        "a.parquet",
        "day=2024-01-01/hour=03/part-1.PQ",
        "day=2024-01-01/part-0.parquet",
        "day=2024-01-02/part-0.parq",
    ]
    assert list_partitions(DataSource(str(data))) == expected
    assert list_files(DataSource(str(data))) == {
        p.key: (p.fingerprint.size, p.fingerprint.token) for p in expected
    }


def plain_plan(lineage: Lineage, listed: list[Partition]) -> Plan:
    """The plan, one partition at a time, as the planner first computed it."""
    new, modified, unchanged, set_aside = [], [], 0, 0
    for part in sorted(listed, key=attrgetter("key")):
        learned = lineage.trained.get(part.key)
        if learned is not None and learned.fingerprint == part.fingerprint:
            unchanged += 1
        elif lineage.skipped.get(part.key) == part.fingerprint:
            set_aside += 1
        elif learned is not None:
            modified.append(part)
        else:
            new.append(part)
    keys = {part.key for part in listed}
    missing = tuple(sorted(key for key in lineage.trained if key not in keys))
    return Plan(tuple(new), tuple(modified), missing, unchanged, set_aside)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plan_on_many_partitions_equals_the_plain_plan(seed: int) -> None:
    rng = random.Random(seed)
    entries, listed = [], []
    for version in range(1, 6):
        learned, skipped = [], []
        for i in range(800):
            key = f"v={version}/part-{i:04d}.parquet"
            size, token = rng.randrange(1, 5), f"mtime:{rng.randrange(3)}"
            if rng.random() < 0.1:
                skipped.append(SkippedPartition(key, size, token, "empty"))
            else:
                learned.append(TrainedPartition(key, size, token, 1, f"d-{key}"))
            fate = rng.random()
            if fate < 0.8:  # listed as learned or set aside
                listed.append(Partition(key, Fingerprint(size, token)))
            elif fate < 0.9:  # rewritten since
                listed.append(Partition(key, Fingerprint(size + 1, token)))
            # otherwise missing from the listing
        entries.append(
            LedgerEntry(
                version,
                version - 1 or None,
                "update",
                f"r{version}",
                "",
                "stream",
                MODEL,
                tuple(learned),
                tuple(skipped),
            )
        )
    listed += [
        Partition(f"new/part-{i:04d}.parquet", Fingerprint(3, "mtime:9")) for i in range(300)
    ]
    rng.shuffle(listed)
    lineage = Lineage.of(entries)
    expected = plain_plan(lineage, listed)
    assert expected.new and expected.modified and expected.missing and expected.unchanged
    assert make_plan(lineage, listed) == expected
    files = {p.key: (p.fingerprint.size, p.fingerprint.token) for p in listed}
    assert plan_files(lineage, files) == expected


def sample_entry() -> LedgerEntry:
    @dataclasses.dataclass(frozen=True)
    class Score:
        name: str
        value: float

    return LedgerEntry(
        version=3,
        parent=2,
        kind="update",
        run_id="abc",
        created_at="2026-01-01T00:00:00+00:00",
        strategy="stream",
        artifacts=(*MODEL, ArtifactRef("stats", "artifacts/s.json", "1" * 64, "json", 9)),
        partitions=(
            TrainedPartition("day=1/a é.parquet", 10, "mtime:1.5", 4, "xxh3_128:00"),
            TrainedPartition("day=1/b.parquet", 11, "ETag:abc", 5, "xxh3_128:01"),
        ),
        skipped=(SkippedPartition("day=1/c.parquet", 0, "mtime:2", "empty"),),
        rows=9,
        seconds=1.25,
        classes=(0, 1),
        categories={"colour": ("blue", "red")},
        libraries={"scikit-learn": "1.5"},
        metrics={"auc": 0.5, "best": Score("auc", 0.5)},
        notes={"warnings": ["w"], "tasks": 2},
    )


def asdict_document(entry: LedgerEntry) -> dict:
    """The document as ``dataclasses.asdict`` made it before the writer was rewritten."""
    data = dataclasses.asdict(entry)
    data["classes"] = None if entry.classes is None else list(entry.classes)
    data["categories"] = {name: list(values) for name, values in entry.categories.items()}
    return json.loads(json.dumps(data))


def test_ledger_json_is_the_asdict_document() -> None:
    entry = sample_entry()
    assert json.loads(entry.to_json()) == asdict_document(entry)


def test_ledger_json_round_trips() -> None:
    entry = dataclasses.replace(sample_entry(), metrics={"auc": 0.5})
    assert LedgerEntry.from_json(entry.to_json(), where="x") == entry


def test_a_store_written_before_the_compact_writer_still_loads(tmp_path: Path) -> None:
    """Entries written as indented ``asdict`` JSON (the first writer) read back the same."""
    entry = dataclasses.replace(sample_entry(), version=1, parent=None, metrics={})
    write_partition(tmp_path / "data", "a.parquet", make_frame(5, seed=1))
    store = initialise(
        str(tmp_path / "store"), data=str(tmp_path / "data"), model="SGDClassifier", target="label"
    )
    old_text = json.dumps(asdict_document(entry), indent=1, sort_keys=True)
    store.files.create(entry_name(1), old_text.encode())
    reopened = ModelStore.open(str(tmp_path / "store"))
    assert reopened.entry(1) == entry
    assert reopened.lineage().trained == {p.key: p for p in entry.partitions}


def test_many_small_partitions_share_tasks_and_keep_their_identity(
    tmp_path: Path, client: object
) -> None:
    """Tiny partitions are trained many to a task, each recorded as itself, in key order."""
    data = tmp_path / "data"
    keys = [f"day={d}/part-{i:02d}.parquet" for d in range(3) for i in range(30)]
    for n, key in enumerate(keys):
        write_partition(data, key, make_frame(20, seed=n))
    params = {"loss": "log_loss", "random_state": 0}
    model = distinc.init(
        str(tmp_path / "store"),
        data=str(data),
        target="label",
        model="SGDClassifier",
        params=params,
        classes=[0, 1],
    )
    result = model.update(client=client)
    assert result.entry is not None
    assert 1 <= result.entry.notes["tasks"] < len(keys)
    assert [p.key for p in result.entry.partitions] == sorted(keys)
    for part in result.entry.partitions:
        content = (data / part.key).read_bytes()
        assert part.rows == 20 and part.size == len(content)
        assert part.digest == "xxh3_128:" + xxhash.xxh3_128_hexdigest(content)
    expected = SGDClassifier(**params)
    for key in sorted(keys):
        frame = pq.read_table(data / key).to_pandas()
        expected.partial_fit(frame[FEATURES], frame["label"], classes=[0, 1])
    np.testing.assert_array_equal(model.model().coef_, expected.coef_)
    write_partition(data, "day=3/part-00.parquet", make_frame(20, seed=99))
    plan = model.update(dry_run=True).plan
    assert [p.key for p in plan.new] == ["day=3/part-00.parquet"]
    assert plan.unchanged == len(keys) and not plan.modified and not plan.missing


@pytest.mark.parametrize("where", ["local", "memory"])
def test_entries_read_together_equal_entries_read_one_by_one(tmp_path: Path, where: str) -> None:
    url = str(tmp_path / "store") if where == "local" else f"memory://{tmp_path.name}-store"
    writer = ModelStore.create(url, SPEC)
    committed = [commit_version(writer, version) for version in range(1, 5)]
    together = ModelStore.open(url).entries()
    one_by_one = ModelStore.open(url)
    assert together == tuple(one_by_one.entry(v) for v in range(1, 5)) == tuple(committed)


def test_a_damaged_entry_read_together_is_still_named(tmp_path: Path) -> None:
    writer = ModelStore.create(str(tmp_path / "store"), SPEC)
    for version in range(1, 4):
        commit_version(writer, version)
    (tmp_path / "store" / entry_name(2)).write_text("{not json")
    with pytest.raises(IntegrityError, match="ledger/00000002.json"):
        ModelStore.open(str(tmp_path / "store")).entries()
