"""How command results look: JSON shapes for scripts, short lines for people."""

from __future__ import annotations

from typing import Any

from distinc.api import Status
from distinc.engine.update import UpdateResult
from distinc.ledger.entry import LedgerEntry
from distinc.ledger.plan import Plan


def history_item(entry: LedgerEntry) -> dict[str, Any]:
    """One version in ``history --json`` (keys may be added, never renamed)."""
    return {
        "version": entry.version,
        "parent": entry.parent,
        "kind": entry.kind,
        "created_at": entry.created_at,
        "strategy": entry.strategy,
        "partitions": [part.key for part in entry.partitions],
        "skipped": {part.key: part.reason for part in entry.skipped},
        "rows": entry.rows,
        "seconds": entry.seconds,
        "run_id": entry.run_id,
        "metrics": entry.metrics,
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "new": [part.key for part in plan.new],
        "modified": [part.key for part in plan.modified],
        "missing": list(plan.missing),
        "unchanged": plan.unchanged,
        "set_aside": plan.set_aside,
    }


def status_json(status: Status) -> dict[str, Any]:
    return {
        "version": status.version,
        "model": status.spec.model,
        "strategy": status.spec.strategy,
        "trained": list(status.trained),
        **plan_json(status.plan),
    }


def update_json(result: UpdateResult) -> dict[str, Any]:
    if result.entry is not None:
        return history_item(result.entry)
    if result.dry_run:
        return {"version": result.version, "dry_run": True, **plan_json(result.plan)}
    return {"version": result.version, "noop": True}


def _keys(label: str, keys: list[str], limit: int = 10) -> list[str]:
    if not keys:
        return []
    lines = [f"  {label} ({len(keys)}):"] + [f"    {key}" for key in keys[:limit]]
    if len(keys) > limit:
        lines.append(f"    ... and {len(keys) - limit} more")
    return lines


def plan_text(plan: Plan) -> str:
    """The plan as ``status`` and ``update --dry-run`` print it.

    Examples
    --------
    >>> print(plan_text(Plan(unchanged=4, set_aside=1)))
      unchanged: 4
      set aside: 1 (recorded as skipped; left alone until changed)
    """
    data = plan_json(plan)
    lines = [f"  unchanged: {plan.unchanged}"]
    if plan.set_aside:
        lines.append(
            f"  set aside: {plan.set_aside} (recorded as skipped; left alone until changed)"
        )
    lines += _keys("new", data["new"]) + _keys("modified", data["modified"])
    lines += _keys("missing", data["missing"])
    return "\n".join(lines)


def update_text(result: UpdateResult) -> str:
    if result.dry_run:
        head = "no version yet" if result.version is None else f"at version {result.version}"
        return f"plan ({head}; nothing trained):\n{plan_text(result.plan)}"
    if result.entry is None:
        if result.version is None:
            return "nothing to train yet: no usable partitions"
        return f"up to date at version {result.version}"
    entry = result.entry
    skipped = f", {len(entry.skipped)} skipped" if entry.skipped else ""
    return (
        f"version {entry.version}: trained {len(entry.partitions)} partition(s), "
        f"{entry.rows:,} rows in {entry.seconds:.1f} s{skipped}"
    )


def status_text(status: Status) -> str:
    head = "no version yet" if status.version is None else f"version {status.version}"
    return (
        f"{status.spec.model} ({status.spec.strategy}), {head}, "
        f"{len(status.trained)} partition(s) learned\n{plan_text(status.plan)}"
    )


def history_text(entries: tuple[LedgerEntry, ...]) -> str:
    lines = [
        f"{'version':>7}  {'parent':>6}  {'kind':<8}  {'partitions':>10}  "
        f"{'rows':>12}  {'seconds':>8}  created"
    ]
    for entry in entries:
        parent = "-" if entry.parent is None else str(entry.parent)
        lines.append(
            f"{entry.version:>7}  {parent:>6}  {entry.kind:<8}  {len(entry.partitions):>10}  "
            f"{entry.rows:>12,}  {entry.seconds:>8.1f}  {entry.created_at}"
        )
    return "\n".join(lines)


def metrics_text(metrics: dict[str, float]) -> str:
    return "\n".join(
        f"{name:>10}: {value:,.0f}" if name == "rows" else f"{name:>10}: {value:.4f}"
        for name, value in metrics.items()
    )
