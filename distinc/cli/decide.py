"""The commands that help decide between updating and retraining: compare, evaluate, drift,
report; and the drift part of ``update --dry-run``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from distinc.cli.commands import emit, open_store
from distinc.engine.drift import DriftCheck
from distinc.engine.update import UpdateResult
from distinc.ledger.drift import PSI_THRESHOLD, ColumnShift
from distinc.store.records import Comparison, Evaluation

SHOWN_COLUMNS = 10


def _progress(args: argparse.Namespace) -> Any:
    from distinc.cli.progress import progress_for

    return progress_for(sys.stderr, quiet=args.quiet)


def comparison_json(c: Comparison) -> dict[str, Any]:
    """``compare --json`` (keys may be added, never renamed)."""
    return {
        "version": c.version,
        "strategy": c.strategy,
        "holdout": c.holdout,
        "incremental": {
            "metrics": c.incremental,
            "rows": c.rows,
            "updates": c.updates,
            "seconds": c.incremental_seconds,
            "last_update_seconds": c.last_update_seconds,
        },
        "retrain": {
            "metrics": c.retrain,
            "rows": c.retrain_rows,
            "seconds": c.retrain_seconds,
            "committed_version": c.committed,
        },
        "difference": c.difference,
    }


def comparison_text(c: Comparison) -> str:
    lines = [
        f"version {c.version} ({c.strategy}, {c.rows:,} rows learned in {c.updates} "
        f"update(s)) next to a full retrain on the same {c.retrain_rows:,} rows",
        f"holdout {c.holdout} ({c.incremental.get('rows', 0):,.0f} rows)",
        "",
        f"  {'':<20}{'incremental':>14}{'full retrain':>14}{'difference':>14}",
    ]
    for name, value in c.incremental.items():
        if name != "rows" and name in c.retrain:
            lines.append(
                f"  {name:<20}{value:>14.4f}{c.retrain[name]:>14.4f}"
                f"{value - c.retrain[name]:>+14.4f}"
            )
    seconds = c.incremental_seconds - c.retrain_seconds
    lines.append(
        f"  {'training seconds':<20}{c.incremental_seconds:>14.1f}{c.retrain_seconds:>14.1f}"
        f"{seconds:>+14.1f}"
    )
    lines.append(f"  {'  last update':<20}{c.last_update_seconds:>14.1f}")
    lines.append("")
    if c.committed is not None:
        lines.append(f"The retrain was committed as version {c.committed}.")
    else:
        lines.append(
            "The retrain was not committed; rerun with --commit to make it version "
            f"{c.version + 1}."
        )
    return "\n".join(lines)


def cmd_compare(args: argparse.Namespace) -> int:
    found = open_store(args).compare(
        args.holdout,
        commit=args.commit,
        scheduler=args.scheduler,
        progress=_progress(args),
        single_writer=args.single_writer,
    )
    emit(args, comparison_json(found), comparison_text(found))
    return 0


def evaluation_json(e: Evaluation) -> dict[str, Any]:
    return {
        "version": e.version,
        "holdout": e.holdout,
        "holdout_digest": e.holdout_digest,
        "metrics": e.metrics,
        "created_at": e.created_at,
    }


def evaluations_text(found: tuple[Evaluation, ...]) -> str:
    names = [name for name in found[0].metrics if name != "rows"] if found else []
    lines = [
        f"holdout {found[0].holdout} ({found[0].metrics.get('rows', 0):,.0f} rows)" if found else ""
    ]
    lines.append(f"{'version':>7}  " + "  ".join(f"{name:>10}" for name in names))
    for e in found:
        values = [f"{e.metrics[n]:>10.4f}" if n in e.metrics else f"{'-':>10}" for n in names]
        lines.append(f"{e.version:>7}  " + "  ".join(values))
    return "\n".join(lines)


def cmd_evaluate(args: argparse.Namespace) -> int:
    versions = None if args.version is None else [args.version]
    found = open_store(args).evaluations(args.data, versions=versions, scheduler=args.scheduler)
    emit(args, [evaluation_json(e) for e in found], evaluations_text(found))
    return 0


def _shift_json(shift: ColumnShift) -> dict[str, Any]:
    return {
        "column": shift.column,
        "kind": shift.kind,
        "psi": shift.psi,
        "ks": shift.ks,
        "p_value": shift.p_value,
    }


def drift_json(check: DriftCheck) -> dict[str, Any]:
    """``drift --json`` (keys may be added, never renamed)."""
    shift = check.shift
    return {
        "version": check.version,
        "recommendation": check.recommendation,
        "reason": check.reason,
        "pending": list(check.pending),
        "set_aside": list(check.set_aside),
        "learned_rows": check.learned_rows,
        "described_rows": check.described_rows,
        "pending_rows": None if shift is None else shift.pending_rows,
        "threshold": PSI_THRESHOLD if shift is None else shift.threshold,
        "columns": [] if shift is None else [_shift_json(s) for s in shift.columns],
        "label": None if shift is None or shift.label is None else _shift_json(shift.label),
    }


def _shift_line(shift: ColumnShift) -> str:
    ks = "-" if shift.ks is None else f"{shift.ks:.3f}"
    p = "-" if shift.p_value is None else f"{shift.p_value:.2g}"
    name = f"{shift.column} (label)" if shift.kind == "label" else shift.column
    return f"    {name:<24}{shift.psi:>8.3f}{ks:>8}{p:>10}"


def drift_text(check: DriftCheck) -> str:
    lines = [f"drift: {check.recommendation} ({check.reason})"]
    shift = check.shift
    if shift is not None:
        lines.append(
            f"  {len(check.pending)} pending partition(s), {shift.pending_rows:,} rows, against "
            f"{shift.learned_rows:,} rows learned by version {check.version}"
        )
        lines.append(f"    {'column':<24}{'PSI':>8}{'KS':>8}{'p-value':>10}")
        lines += [_shift_line(s) for s in shift.columns[:SHOWN_COLUMNS]]
        if len(shift.columns) > SHOWN_COLUMNS:
            lines.append(f"    ... and {len(shift.columns) - SHOWN_COLUMNS} more (--json)")
        if shift.label is not None:
            lines.append(_shift_line(shift.label))
    if check.described_rows and check.described_rows < check.learned_rows:
        lines.append(
            f"  statistics describe {check.described_rows:,} of the {check.learned_rows:,} rows "
            "learned (versions made before distinc kept them are left out)"
        )
    lines += [f"  set aside: {reason}" for reason in check.set_aside]
    return "\n".join(lines)


def cmd_drift(args: argparse.Namespace) -> int:
    check = open_store(args).drift(scheduler=args.scheduler, threshold=args.threshold)
    emit(args, drift_json(check), drift_text(check))
    return 0


def dry_run(args: argparse.Namespace, model: Any, result: UpdateResult) -> int:
    """``update --dry-run``: the plan, then the drift of what the update would learn."""
    from distinc.cli import render

    check = model.drift(scheduler=args.scheduler)
    emit(
        args,
        {**render.update_json(result), "drift": drift_json(check)},
        f"{render.update_text(result)}\n{drift_text(check)}",
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    files = open_store(args).report(args.out, holdout=args.holdout)
    print(f"wrote {files.page} with {len(files.plots)} plot(s)")
    return 0


def add_commands(command: Callable[..., Any]) -> None:
    """Add compare, drift and report to the ``distinc`` parser (``command`` makes a subparser)."""
    from distinc.cli.flags import (
        add_json,
        add_scheduler,
        add_single_writer,
        add_storage,
        add_store,
    )

    compare = command(
        "compare",
        cmd_compare,
        "retrain from scratch on what the head learned, and compare it with the head",
    )
    add_store(compare)
    compare.add_argument("--holdout", required=True, metavar="URL", help="holdout dataset")
    compare.add_argument(
        "--commit", action="store_true", help="commit the retrain as the next version"
    )
    add_single_writer(compare)
    add_scheduler(compare)
    add_storage(compare)
    add_json(compare)

    drift = command(
        "drift", cmd_drift, "compare the pending partitions with what the model learned"
    )
    add_store(drift)
    drift.add_argument(
        "--threshold",
        type=float,
        default=PSI_THRESHOLD,
        metavar="PSI",
        help=f"PSI from which a shift counts as major (default: {PSI_THRESHOLD})",
    )
    add_scheduler(drift)
    add_storage(drift)
    add_json(drift)

    report = command("report", cmd_report, "write an HTML report with plots of every version")
    add_store(report)
    report.add_argument("--out", required=True, metavar="DIR", help="folder for the report")
    report.add_argument(
        "--holdout",
        metavar="URL",
        help="show the metrics stored for this holdout (default: the one evaluated most)",
    )
    add_storage(report)
