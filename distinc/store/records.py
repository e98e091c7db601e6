"""What the store remembers besides models: delta statistics, holdout metrics, comparisons.

Layout (next to ``spec.json``, ``ledger/`` and ``artifacts/``)::

    artifacts/00000002-<run>-delta-stats.json   a version's drift statistics, an artifact of its
                                                entry (hash-checked like the model)
    evaluations/<holdout>/00000002.json         version 2's metrics on the holdout whose
                                                listing has digest <holdout>
    comparisons/00000002-<run>.json             one ``distinc compare`` of version 2

Evaluations and comparisons are append-only files created with create-if-absent; ledger entries
are never rewritten to hold them.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from distinc.dataset.stats import DeltaStats
from distinc.exceptions import IntegrityError
from distinc.ledger.entry import ArtifactRef, LedgerEntry
from distinc.store.store import ModelStore

STATS_ROLE = "delta-stats"
EVALUATIONS = "evaluations"
COMPARISONS = "comparisons"
RECORD_FORMAT = 1


def put_stats(store: ModelStore, stats: DeltaStats, *, version: int, run_id: str) -> ArtifactRef:
    """Write a version's delta statistics as an artifact; its entry makes it visible."""
    data = stats.to_json().encode()
    return store.put_artifact(data, role=STATS_ROLE, version=version, run_id=run_id, fmt="json")


def stats_of(store: ModelStore, entry: LedgerEntry) -> DeltaStats | None:
    """The delta statistics ``entry`` recorded, or ``None`` (older versions, rollbacks)."""
    for ref in entry.artifacts:
        if ref.role == STATS_ROLE:
            return DeltaStats.from_json(store.read_artifact(ref))
    return None


def learned_stats(store: ModelStore, chain: tuple[LedgerEntry, ...]) -> list[DeltaStats]:
    """The statistics of every version in ``chain``, each once (a rollback reuses its target's)."""
    seen: set[str] = set()
    found = []
    for entry in chain:
        for ref in entry.artifacts:
            if ref.role == STATS_ROLE and ref.path not in seen:
                seen.add(ref.path)
                found.append(DeltaStats.from_json(store.read_artifact(ref)))
    return found


@dataclass(frozen=True)
class Evaluation:
    """Version ``version``'s metrics on a holdout, identified by the digest of its listing."""

    version: int
    holdout: str
    holdout_digest: str
    metrics: dict[str, float]
    created_at: str
    format: int = RECORD_FORMAT


@dataclass(frozen=True)
class Comparison:
    """Version ``version`` next to a full retrain on the same partitions, on one holdout.

    ``incremental_seconds`` adds up the updates that built the version; ``committed`` is the
    version the retrain was committed as, if it was.
    """

    version: int
    strategy: str
    holdout: str
    holdout_digest: str
    incremental: dict[str, float]
    retrain: dict[str, float]
    rows: int
    retrain_rows: int
    updates: int
    incremental_seconds: float
    last_update_seconds: float
    retrain_seconds: float
    run_id: str
    created_at: str
    committed: int | None = None
    format: int = RECORD_FORMAT

    @property
    def difference(self) -> dict[str, float]:
        """Incremental minus retrain, per metric and for the seconds."""
        shared = [name for name in self.incremental if name in self.retrain and name != "rows"]
        result = {name: self.incremental[name] - self.retrain[name] for name in shared}
        result["seconds"] = self.incremental_seconds - self.retrain_seconds
        return result


def _load(kind: type[Any], data: bytes, where: str) -> Any:
    try:
        fields = json.loads(data)
        if fields.get("format", 0) > RECORD_FORMAT:
            raise IntegrityError(
                f"{where} was written by a newer distinc (format {fields['format']}); upgrade "
                "distinc to read it.",
                where=where,
            )
        return kind(**fields)
    except (ValueError, TypeError, AttributeError) as exc:
        raise IntegrityError(
            f"{where} is not a valid record ({exc}); delete it and it will be recomputed.",
            where=where,
        ) from exc


def _create(store: ModelStore, name: str, record: Any) -> bool:
    """Create ``name`` unless it exists; whether this call created it."""
    try:
        store.files.create(name, json.dumps(dataclasses.asdict(record), indent=1).encode())
    except FileExistsError:
        return False
    return True


def evaluation_name(holdout_digest: str, version: int) -> str:
    return f"{EVALUATIONS}/{holdout_digest}/{version:08d}.json"


def stored_evaluation(store: ModelStore, holdout_digest: str, version: int) -> Evaluation | None:
    name = evaluation_name(holdout_digest, version)
    try:
        data = store.files.read(name)
    except FileNotFoundError:
        return None
    evaluation: Evaluation = _load(Evaluation, data, name)
    return evaluation


def store_evaluation(store: ModelStore, evaluation: Evaluation) -> Evaluation:
    """Record ``evaluation``; if another run recorded it first, that record stands."""
    if _create(store, evaluation_name(evaluation.holdout_digest, evaluation.version), evaluation):
        return evaluation
    existing = stored_evaluation(store, evaluation.holdout_digest, evaluation.version)
    return existing if existing is not None else evaluation


def evaluations(store: ModelStore) -> list[Evaluation]:
    """Every stored evaluation, by holdout then version."""
    found = []
    for digest in store.files.list(EVALUATIONS):
        for name in store.files.list(f"{EVALUATIONS}/{digest}"):
            if name.endswith(".json") and name[:-5].isdigit():
                path = f"{EVALUATIONS}/{digest}/{name}"
                found.append(_load(Evaluation, store.files.read(path), path))
    return found


def store_comparison(store: ModelStore, comparison: Comparison) -> Comparison:
    _create(store, f"{COMPARISONS}/{comparison.version:08d}-{comparison.run_id}.json", comparison)
    return comparison


def comparisons(store: ModelStore) -> list[Comparison]:
    """Every stored comparison, oldest first."""
    found = []
    for name in store.files.list(COMPARISONS):
        if name.endswith(".json"):
            path = f"{COMPARISONS}/{name}"
            found.append(_load(Comparison, store.files.read(path), path))
    return sorted(found, key=lambda c: (c.created_at, c.version))
