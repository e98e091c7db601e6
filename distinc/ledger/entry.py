"""Ledger entries: one immutable JSON document per committed version."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from distinc.dataset.partition import Fingerprint
from distinc.exceptions import IntegrityError, LedgerFormatError

LEDGER_FORMAT = 1


def _plain(value: Any) -> Any:
    """JSON for a dataclass that a trainer put in an entry's notes or metrics."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


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
        """The entry as compact JSON; records are built by hand, as ``asdict`` is slow at 100k.

        The document is the same as ``dataclasses.asdict`` gives, key for key.
        """
        data = {
            "version": self.version,
            "parent": self.parent,
            "kind": self.kind,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "strategy": self.strategy,
            "artifacts": [
                {
                    "role": a.role,
                    "path": a.path,
                    "sha256": a.sha256,
                    "format": a.format,
                    "size": a.size,
                }
                for a in self.artifacts
            ],
            "partitions": [
                {"key": p.key, "size": p.size, "token": p.token, "rows": p.rows, "digest": p.digest}
                for p in self.partitions
            ],
            "skipped": [
                {"key": p.key, "size": p.size, "token": p.token, "reason": p.reason}
                for p in self.skipped
            ],
            "rows": self.rows,
            "seconds": self.seconds,
            "classes": None if self.classes is None else list(self.classes),
            "categories": {name: list(values) for name, values in self.categories.items()},
            "libraries": dict(self.libraries),
            "metrics": dict(self.metrics),
            "notes": dict(self.notes),
            "format": self.format,
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"), default=_plain)

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str) -> LedgerEntry:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise IntegrityError(
                f"Ledger entry {where} is not valid JSON ({exc}); the store is damaged. Run "
                "'distinc verify' (verify() in Python) and restore the file from a backup.",
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
            data["partitions"] = tuple(
                TrainedPartition(p["key"], p["size"], p["token"], p["rows"], p["digest"])
                for p in data["partitions"]
            )
            data["skipped"] = tuple(SkippedPartition(**p) for p in data["skipped"])
            if data.get("classes") is not None:
                data["classes"] = tuple(data["classes"])
            data["categories"] = {k: tuple(v) for k, v in data.get("categories", {}).items()}
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise IntegrityError(
                f"Ledger entry {where} is incomplete or malformed ({exc}); the store is damaged. "
                "Run 'distinc verify' (verify() in Python).",
                where=where,
            ) from exc
