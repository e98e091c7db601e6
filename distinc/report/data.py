"""What a report shows, gathered from the store alone: no cluster, no data files opened.

Per version: rows learned, seconds, holdout metrics (from stored evaluations), the estimated
cost of a full retrain at that point, and how far its delta drifted from what its parent had
learned (from the statistics stored with each version).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from distinc.dataset.stats import DeltaStats
from distinc.ledger.drift import PSI_THRESHOLD, shift_between
from distinc.ledger.entry import LedgerEntry
from distinc.spec import ModelSpec
from distinc.store.records import STATS_ROLE, Comparison, Evaluation, comparisons, evaluations
from distinc.store.store import ModelStore


@dataclass(frozen=True)
class VersionRow:
    """One version as the report shows it."""

    version: int
    parent: int | None
    kind: str
    created_at: str
    partitions: int
    rows: int
    learned_rows: int
    seconds: float
    retrain_estimate: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    drift: dict[str, float] = field(default_factory=dict)
    recommendation: str | None = None


@dataclass(frozen=True)
class CostModel:
    """How long a full retrain of ``rows`` rows would take: ``overhead + per_row * rows``."""

    overhead: float
    per_row: float
    basis: str

    def seconds(self, rows: int) -> float:
        return self.overhead + self.per_row * rows


@dataclass(frozen=True)
class ReportData:
    store: str
    spec: ModelSpec
    versions: tuple[VersionRow, ...]
    holdout: str | None = None
    holdout_digest: str | None = None
    comparisons: tuple[Comparison, ...] = ()
    cost: CostModel | None = None
    generated_at: str = ""
    threshold: float = PSI_THRESHOLD


def cost_model(entries: tuple[LedgerEntry, ...], measured: list[Comparison]) -> CostModel | None:
    """From the latest measured retrain if there is one, else fitted to the updates' seconds.

    Examples
    --------
    >>> from distinc.ledger.entry import LedgerEntry
    >>> def entry(v, rows, seconds):
    ...     return LedgerEntry(v, v - 1 or None, "update", "r", "", "stream", (), rows=rows,
    ...                        seconds=seconds)
    >>> model = cost_model((entry(1, 1000, 3.0), entry(2, 500, 2.0)), [])
    >>> round(model.seconds(3000), 3)
    7.0
    """
    if measured:
        latest = measured[-1]
        per_row = latest.retrain_seconds / max(1, latest.retrain_rows)
        basis = (
            f"measured: a full retrain of {latest.retrain_rows:,} rows took "
            f"{latest.retrain_seconds:.1f} s (distinc compare at version {latest.version})"
        )
        return CostModel(0.0, per_row, basis)
    updates = [e for e in entries if e.kind == "update" and e.rows > 0]
    if not updates:
        return None
    rows = np.array([e.rows for e in updates], dtype=float)
    seconds = np.array([e.seconds for e in updates], dtype=float)
    if len(set(rows)) >= 2:
        per_row, overhead = np.polyfit(rows, seconds, 1)
        if per_row > 0 and overhead >= 0:
            return CostModel(
                float(overhead),
                float(per_row),
                f"estimated from the updates: {overhead:.1f} s + "
                f"{per_row * 1e6:.2f} s per million rows",
            )
    per_row = float(seconds.sum() / rows.sum())
    return CostModel(
        0.0, per_row, f"estimated from the updates' rate: {per_row * 1e6:.2f} s per million rows"
    )


def _choose_holdout(found: list[Evaluation], digest: str | None) -> str | None:
    """The requested holdout, else the one evaluated on the most versions (latest on ties)."""
    if digest is not None or not found:
        return digest
    counts = Counter(e.holdout_digest for e in found)
    latest = {e.holdout_digest: e.created_at for e in found}
    return max(counts, key=lambda d: (counts[d], latest[d]))


def _drift_per_version(
    entries: tuple[LedgerEntry, ...], stats: dict[str, DeltaStats], threshold: float
) -> dict[int, tuple[dict[str, float], str]]:
    """Each update's delta against the statistics of its parent's lineage."""
    by_version = {entry.version: entry for entry in entries}

    def own(entry: LedgerEntry) -> str | None:
        return next((r.path for r in entry.artifacts if r.role == STATS_ROLE), None)

    result = {}
    for entry in entries:
        path = own(entry)
        if entry.kind != "update" or entry.parent is None or path is None:
            continue
        seen, learned = set(), []
        current: int | None = entry.parent
        while current is not None and current in by_version:
            ancestor = by_version[current]
            found = own(ancestor)
            if found is not None and found not in seen:
                seen.add(found)
                learned.append(stats[found])
            current = ancestor.parent
        if learned:
            shift = shift_between(learned, stats[path], threshold=threshold)
            psi = {column.column: column.psi for column in shift.columns}
            if shift.label is not None:
                psi["(label)"] = shift.label.psi
            result[entry.version] = (psi, shift.recommendation)
    return result


def collect(
    store: ModelStore, *, holdout_digest: str | None = None, threshold: float = PSI_THRESHOLD
) -> ReportData:
    """Everything the report shows, from the store's ledger, artifacts and records."""
    entries = store.entries()
    stats = {
        ref.path: DeltaStats.from_json(store.read_artifact(ref))
        for entry in entries
        for ref in entry.artifacts
        if ref.role == STATS_ROLE
    }
    stored = evaluations(store)
    digest = _choose_holdout(stored, holdout_digest)
    chosen = [e for e in stored if e.holdout_digest == digest]
    metrics = {e.version: e.metrics for e in chosen}
    measured = comparisons(store)
    cost = cost_model(entries, measured)
    drift = _drift_per_version(entries, stats, threshold)
    learned: dict[int, int] = {}
    rows = []
    for entry in entries:
        parent_rows = learned.get(entry.parent, 0) if entry.parent is not None else 0
        learned[entry.version] = parent_rows + entry.rows
        psi, action = drift.get(entry.version, ({}, None))
        rows.append(
            VersionRow(
                version=entry.version,
                parent=entry.parent,
                kind=entry.kind,
                created_at=entry.created_at,
                partitions=len(entry.partitions),
                rows=entry.rows,
                learned_rows=learned[entry.version],
                seconds=entry.seconds,
                retrain_estimate=None if cost is None else cost.seconds(learned[entry.version]),
                metrics=metrics.get(entry.version, {}),
                drift=psi,
                recommendation=action,
            )
        )
    return ReportData(
        store=store.url,
        spec=store.spec,
        versions=tuple(rows),
        holdout=chosen[0].holdout if chosen else None,
        holdout_digest=digest,
        comparisons=tuple(c for c in measured if digest is None or c.holdout_digest == digest),
        cost=cost,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        threshold=threshold,
    )
