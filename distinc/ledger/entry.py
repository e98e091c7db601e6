"""Ledger entries: one immutable JSON document per committed version."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from distinc.dataset.partition import Fingerprint
from distinc.exceptions import IntegrityError, LedgerFormatError

LEDGER_FORMAT = 1


@dataclass(frozen=True)
class TrainedPartition:
    """A partition a version learned from, exactly as it was when learned."""

    key: str
    size: int
    token: str
    rows: int
    digest: str

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint(self.size, self.token)


@dataclass(frozen=True)
class SkippedPartition:
    """A partition a version looked at and deliberately did not learn from."""

    key: str
    size: int
    token: str
    reason: str

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint(self.size, self.token)


@dataclass(frozen=True)
class ArtifactRef:
    """A file in the store that a version needs, with the hash it must still have."""

    role: str
    path: str
    sha256: str
    format: str
    size: int


@dataclass(frozen=True)
class LedgerEntry:
    """Everything a version is: its model, what it learned, how, and from which parent."""

    version: int
    parent: int | None
    kind: str
    run_id: str
    created_at: str
    strategy: str
    artifacts: tuple[ArtifactRef, ...]
    partitions: tuple[TrainedPartition, ...] = ()
    skipped: tuple[SkippedPartition, ...] = ()
    rows: int = 0
    seconds: float = 0.0
    classes: tuple[Any, ...] | None = None
    categories: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    format: int = LEDGER_FORMAT

    def artifact(self, role: str) -> ArtifactRef:
        for ref in self.artifacts:
            if ref.role == role:
                return ref
        raise IntegrityError(
            f"Version {self.version} has no {role!r} artifact in its ledger entry.",
            version=self.version,
        )

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["classes"] = None if self.classes is None else list(self.classes)
        data["categories"] = {name: list(values) for name, values in self.categories.items()}
        return json.dumps(data, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str) -> LedgerEntry:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise IntegrityError(
                f"Ledger entry {where} is not valid JSON ({exc}); the store is damaged. Run "
                "'distinc verify' and restore the file from a backup.",
                where=where,
            ) from exc
        found = data.get("format") if isinstance(data, dict) else None
        if isinstance(found, int) and found > LEDGER_FORMAT:
            raise LedgerFormatError(
                f"Ledger entry {where} has format {found}, newer than this distinc understands "
                f"({LEDGER_FORMAT}). Upgrade distinc; nothing was changed.",
                where=where,
                format=found,
            )
        try:
            data["artifacts"] = tuple(ArtifactRef(**ref) for ref in data["artifacts"])
            data["partitions"] = tuple(TrainedPartition(**p) for p in data["partitions"])
            data["skipped"] = tuple(SkippedPartition(**p) for p in data["skipped"])
            if data.get("classes") is not None:
                data["classes"] = tuple(data["classes"])
            data["categories"] = {k: tuple(v) for k, v in data.get("categories", {}).items()}
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise IntegrityError(
                f"Ledger entry {where} is incomplete or malformed ({exc}); the store is damaged. "
                "Run 'distinc verify'.",
                where=where,
            ) from exc
