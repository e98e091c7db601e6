"""What the current model has learned, derived from the ledger alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from distinc.dataset.partition import Fingerprint
from distinc.exceptions import IntegrityError
from distinc.ledger.entry import LedgerEntry, TrainedPartition


@dataclass(frozen=True)
class Lineage:
    """The chain of versions behind the head, and the partitions it learned or set aside.

    A rollback entry's parent is the version it restores, so the versions it rolled back are
    not in the chain and their partitions count as not learned.
    """

    chain: tuple[LedgerEntry, ...] = ()
    trained: dict[str, TrainedPartition] = field(default_factory=dict)
    skipped: dict[str, Fingerprint] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def head(self) -> LedgerEntry | None:
        return self.chain[-1] if self.chain else None

    @property
    def version(self) -> int | None:
        return self.chain[-1].version if self.chain else None

    @property
    def classes(self) -> tuple[Any, ...] | None:
        return self.chain[-1].classes if self.chain else None

    @property
    def categories(self) -> dict[str, tuple[Any, ...]]:
        """The head's pinned vocabulary of every categorical feature."""
        return dict(self.chain[-1].categories) if self.chain else {}

    @classmethod
    def of(cls, entries: Sequence[LedgerEntry]) -> Lineage:
        """The lineage of the newest entry in ``entries`` (all entries, by version)."""
        if not entries:
            return cls()
        by_version = {entry.version: entry for entry in entries}
        chain: list[LedgerEntry] = []
        current: int | None = entries[-1].version
        while current is not None:
            entry = by_version.get(current)
            if entry is None:
                raise IntegrityError(
                    f"Version {chain[-1].version} names parent {current}, which the ledger "
                    "does not hold. Run 'distinc verify' (verify() in Python).",
                    version=current,
                )
            chain.append(entry)
            current = entry.parent
        chain.reverse()
        trained: dict[str, TrainedPartition] = {}
        skipped: dict[str, Fingerprint] = {}
        for entry in chain:
            for passed in entry.skipped:
                skipped[passed.key] = passed.fingerprint
            for learned in entry.partitions:
                trained[learned.key] = learned
                skipped.pop(learned.key, None)
        digests = {part.digest: key for key, part in trained.items()}
        return cls(tuple(chain), trained, skipped, digests)
