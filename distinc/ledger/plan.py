"""The plan: a pure function from what the model learned and what the dataset lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from distinc.dataset.partition import Partition
from distinc.exceptions import PartitionChangedError, PartitionMissingError
from distinc.ledger.lineage import Lineage


@dataclass(frozen=True)
class Plan:
    """How the listed partitions relate to the ones the head version learned.

    Examples
    --------
    >>> from distinc.dataset.partition import Fingerprint
    >>> listed = [Partition("a.parquet", Fingerprint(10, "mtime:1"))]
    >>> make_plan(Lineage(), listed).new[0].key
    'a.parquet'
    """

    new: tuple[Partition, ...] = ()
    modified: tuple[Partition, ...] = ()
    missing: tuple[str, ...] = ()
    unchanged: int = 0

    @property
    def has_work(self) -> bool:
        return bool(self.new or self.modified)


def make_plan(lineage: Lineage, listed: Sequence[Partition]) -> Plan:
    """Classify every listed partition against ``lineage``; no I/O."""
    new, modified = [], []
    unchanged = 0
    listed_keys = set()
    for part in sorted(listed, key=attrgetter("key")):
        listed_keys.add(part.key)
        trained = lineage.trained.get(part.key)
        acknowledged = lineage.skipped.get(part.key) == part.fingerprint
        if (trained is not None and trained.fingerprint == part.fingerprint) or acknowledged:
            unchanged += 1
        elif trained is not None:
            modified.append(part)
        else:
            new.append(part)
    missing = tuple(sorted(key for key in lineage.trained if key not in listed_keys))
    return Plan(tuple(new), tuple(modified), missing, unchanged)


@dataclass(frozen=True)
class Selection:
    """The partitions an update will look at, after the modified/missing policies."""

    train: tuple[Partition, ...]
    skip_modified: tuple[Partition, ...] = ()
    warnings: tuple[str, ...] = ()


def _named(keys: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(key) for key in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def select(plan: Plan, *, on_modified: str = "error", on_missing: str = "error") -> Selection:
    """Apply the policies for rewritten and vanished trained partitions.

    ``on_modified``: ``error`` (default) refuses; ``skip`` records the new fingerprint without
    training; ``retrain`` trains the new content on top (the old content stays learned).
    ``on_missing``: ``error`` (default) refuses; ``warn`` goes on and reports them.
    """
    warnings = []
    if plan.missing:
        keys = [*plan.missing]
        if on_missing == "error":
            raise PartitionMissingError(
                f"Trained partition(s) {_named(keys)} are no longer in the dataset. Restore "
                "them, or run with --on-missing warn to update anyway (the model keeps what it "
                "learned from them).",
                partitions=keys,
            )
        warnings.append(f"trained partition(s) {_named(keys)} are missing from the dataset")
    skip_modified: tuple[Partition, ...] = ()
    train = plan.new
    if plan.modified:
        keys = [part.key for part in plan.modified]
        if on_modified == "error":
            raise PartitionChangedError(
                f"Trained partition(s) {_named(keys)} changed since they were learned. Write "
                "new data to new files; or run with --on-modified skip (ignore the change) or "
                "--on-modified retrain (learn the new content too).",
                partitions=keys,
            )
        if on_modified == "skip":
            skip_modified = plan.modified
            warnings.append(f"modified partition(s) {_named(keys)} skipped by policy")
        else:
            train = tuple(sorted(plan.new + plan.modified, key=attrgetter("key")))
            warnings.append(f"modified partition(s) {_named(keys)} retrained by policy")
    return Selection(train, skip_modified, tuple(warnings))
