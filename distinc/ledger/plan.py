"""The plan: a pure function from what the model learned and what the dataset lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter

from distinc.dataset.listing import at_or_after
from distinc.dataset.partition import Fingerprint, Partition
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
    # listed files as a version recorded setting them aside (empty, a copy, quarantined, or a
    # modification skipped by policy): neither learned nor new
    set_aside: int = 0

    @property
    def has_work(self) -> bool:
        return bool(self.new or self.modified)


def make_plan(lineage: Lineage, listed: Sequence[Partition]) -> Plan:
    """Classify every listed partition against ``lineage``; no I/O."""
    return plan_files(lineage, {p.key: (p.fingerprint.size, p.fingerprint.token) for p in listed})


def plan_files(
    lineage: Lineage,
    files: Mapping[str, tuple[int, str]],
    *,
    since: tuple[str, ...] | None = None,
) -> Plan:
    """``make_plan`` for a raw listing (``key -> (size, token)``, as ``list_files`` gives).

    ``since`` says the listing covered only that folder and the ones after it: a trained
    partition in an earlier folder was not looked for, so it is not missing.

    The loop runs once per listed file, a hundred thousand times on a large dataset, so it
    compares plain pairs and builds ``Partition`` values only for the new and modified ones.

    Examples
    --------
    >>> plan = plan_files(Lineage(), {"b.parquet": (3, "mtime:2"), "a.parquet": (3, "mtime:1")})
    >>> [part.key for part in plan.new], plan.new[0].fingerprint
    (['a.parquet', 'b.parquet'], Fingerprint(size=3, token='mtime:1'))
    """
    trained = {key: (part.size, part.token) for key, part in lineage.trained.items()}
    skipped = {key: (fp.size, fp.token) for key, fp in lineage.skipped.items()}
    new: list[str] = []
    modified: list[str] = []
    set_aside = 0
    for key, seen in files.items():
        learned = trained.get(key)
        if learned == seen:
            continue
        if skipped and skipped.get(key) == seen:
            set_aside += 1
            continue
        (new if learned is None else modified).append(key)
    unchanged = len(files) - len(new) - len(modified) - set_aside
    missing = tuple(
        sorted(
            key
            for key in trained
            if key not in files and (since is None or at_or_after(key, since))
        )
    )
    return Plan(
        _partitions(new, files), _partitions(modified, files), missing, unchanged, set_aside
    )


def _partitions(keys: list[str], files: Mapping[str, tuple[int, str]]) -> tuple[Partition, ...]:
    return tuple(Partition(key, Fingerprint(*files[key])) for key in sorted(keys))


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
                "them, or run with the 'on_missing' option 'warn' to update anyway (the model "
                "keeps what it learned from them).",
                partitions=keys,
                options=("on_missing",),
            )
        warnings.append(f"trained partition(s) {_named(keys)} are missing from the dataset")
    skip_modified: tuple[Partition, ...] = ()
    train = plan.new
    if plan.modified:
        keys = [part.key for part in plan.modified]
        if on_modified == "error":
            raise PartitionChangedError(
                f"Trained partition(s) {_named(keys)} changed since they were learned. Write "
                "new data to new files; or run with the 'on_modified' option 'skip' (ignore the "
                "change) or 'retrain' (learn the new content too).",
                partitions=keys,
                options=("on_modified",),
            )
        if on_modified == "skip":
            skip_modified = plan.modified
            warnings.append(f"modified partition(s) {_named(keys)} skipped by policy")
        else:
            train = tuple(sorted(plan.new + plan.modified, key=attrgetter("key")))
            warnings.append(f"modified partition(s) {_named(keys)} retrained by policy")
    return Selection(train, skip_modified, tuple(warnings))
