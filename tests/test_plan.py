"""The planner is a pure function: hand-built partitions in, an exact plan out."""

from __future__ import annotations

import pytest

from distinc.dataset.partition import Fingerprint, Partition
from distinc.exceptions import PartitionChangedError, PartitionMissingError
from distinc.ledger.entry import ArtifactRef, LedgerEntry, SkippedPartition, TrainedPartition
from distinc.ledger.lineage import Lineage
from distinc.ledger.plan import Plan, make_plan, select

MODEL = (ArtifactRef("model", "artifacts/m", "0" * 64, "skops", 1),)


def part(key: str, size: int = 100, token: str = "mtime:1") -> Partition:
    return Partition(key, Fingerprint(size, token))


def trained(key: str, size: int = 100, token: str = "mtime:1") -> TrainedPartition:
    return TrainedPartition(key, size, token, rows=10, digest=f"d-{key}-{size}-{token}")


def entry(
    version: int,
    parent: int | None,
    *parts: TrainedPartition,
    kind: str = "update",
    skipped: tuple[SkippedPartition, ...] = (),
) -> LedgerEntry:
    return LedgerEntry(
        version=version,
        parent=parent,
        kind=kind,
        run_id=f"r{version}",
        created_at="",
        strategy="stream",
        artifacts=MODEL,
        partitions=parts,
        skipped=skipped,
    )


def test_everything_is_new_without_history() -> None:
    plan = make_plan(Lineage(), [part("b"), part("a")])
    assert plan == Plan(new=(part("a"), part("b")))


def test_nothing_to_do_when_all_listed_are_trained() -> None:
    lineage = Lineage.of([entry(1, None, trained("a"), trained("b"))])
    plan = make_plan(lineage, [part("a"), part("b")])
    assert plan == Plan(unchanged=2)
    assert not plan.has_work


def test_new_modified_and_missing_are_told_apart() -> None:
    lineage = Lineage.of([entry(1, None, trained("a"), trained("b"), trained("c"))])
    listed = [part("a"), part("b", size=999), part("d")]
    plan = make_plan(lineage, listed)
    assert plan == Plan(
        new=(part("d"),), modified=(part("b", size=999),), missing=("c",), unchanged=1
    )


def test_same_size_new_token_is_a_modification() -> None:
    lineage = Lineage.of([entry(1, None, trained("a"))])
    plan = make_plan(lineage, [part("a", token="mtime:2")])
    assert plan.modified == (part("a", token="mtime:2"),)


def test_partitions_learned_across_versions_accumulate() -> None:
    lineage = Lineage.of([entry(1, None, trained("a")), entry(2, 1, trained("b"))])
    assert make_plan(lineage, [part("a"), part("b"), part("c")]).new == (part("c"),)


def test_rollback_makes_rolled_back_partitions_new_again() -> None:
    entries = [
        entry(1, None, trained("a")),
        entry(2, 1, trained("b")),
        entry(3, 1, kind="rollback"),
    ]
    lineage = Lineage.of(entries)
    assert [e.version for e in lineage.chain] == [1, 3]
    assert make_plan(lineage, [part("a"), part("b")]).new == (part("b"),)


def test_skipped_partitions_are_not_new_until_they_change() -> None:
    skipped = (SkippedPartition("empty", 10, "mtime:1", "empty"),)
    lineage = Lineage.of([entry(1, None, trained("a"), skipped=skipped)])
    assert make_plan(lineage, [part("a"), part("empty", 10)]) == Plan(unchanged=1, set_aside=1)
    assert make_plan(lineage, [part("a"), part("empty", 50)]).new == (part("empty", 50),)


def test_modified_partition_skipped_by_policy_is_not_reported_again() -> None:
    skipped = (SkippedPartition("a", 999, "mtime:1", "modified; skipped"),)
    lineage = Lineage.of([entry(1, None, trained("a")), entry(2, 1, trained("b"), skipped=skipped)])
    assert make_plan(lineage, [part("a", 999), part("b")]) == Plan(unchanged=1, set_aside=1)


def test_select_refuses_modified_and_missing_by_default() -> None:
    plan = Plan(new=(part("n"),), modified=(part("m"),))
    with pytest.raises(PartitionChangedError, match="'m'.*the 'on_modified' option 'skip'"):
        select(plan)
    with pytest.raises(PartitionMissingError, match="'gone'.*the 'on_missing' option 'warn'"):
        select(Plan(missing=("gone",)))


def test_select_policies() -> None:
    plan = Plan(new=(part("n"),), modified=(part("m"),), missing=("gone",))
    skip = select(plan, on_modified="skip", on_missing="warn")
    assert skip.train == (part("n"),) and skip.skip_modified == (part("m"),)
    assert any("gone" in w for w in skip.warnings)
    retrain = select(plan, on_modified="retrain", on_missing="warn")
    assert retrain.train == (part("m"), part("n"))
