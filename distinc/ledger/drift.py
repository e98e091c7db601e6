"""Drift: how far new data has moved from what a model learned, and what to do about it. Pure.

Each side is a row-weighted mixture of ``DeltaStats`` (one per learned version, or the pending
partitions). Per feature, the population stability index (PSI) is computed over ten bins cut
at the learned deciles, plus a bin for missing values; for numeric columns the Kolmogorov-
Smirnov statistic and its p-value on the sketched sample sizes say whether the shift could be
sampling noise. The label distribution is compared the same way. A shift counts when its PSI
reaches the threshold (0.25 by the usual rule of thumb: below 0.1 stable, 0.1-0.25 moderate,
above 0.25 major) and it is significant (p < 0.01).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from distinc.dataset.stats import CategorySummary, DeltaStats, NumericSummary, rank_error

PSI_THRESHOLD = 0.25
SIGNIFICANCE = 0.01
DECILES = np.linspace(0.1, 0.9, 9)
GRID = np.linspace(0.0, 1.0, 101)
# Empty bins are floored so PSI stays finite; a bin with no rows on one side still counts heavily.
FLOOR = 1e-4

Numeric = list[tuple[float, NumericSummary]]


@dataclass(frozen=True)
class ColumnShift:
    """How one column (or the label) moved: PSI, and for numeric columns KS with its p-value."""

    column: str
    kind: str
    psi: float
    ks: float | None = None
    p_value: float | None = None

    @property
    def significant(self) -> bool:
        return self.p_value is None or self.p_value < SIGNIFICANCE


@dataclass(frozen=True)
class Shift:
    """Every column's shift, largest PSI first, the label's, and the recommendation."""

    columns: tuple[ColumnShift, ...]
    label: ColumnShift | None
    learned_rows: int
    pending_rows: int
    recommendation: str
    reason: str
    threshold: float = PSI_THRESHOLD


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of ``actual`` against ``expected`` (two bin shares).

    Examples
    --------
    >>> psi(np.array([0.5, 0.5]), np.array([0.5, 0.5]))
    0.0
    >>> round(psi(np.array([0.5, 0.5]), np.array([0.9, 0.1])), 3)
    0.879
    """
    a = np.maximum(np.asarray(expected, dtype=float), FLOOR)
    b = np.maximum(np.asarray(actual, dtype=float), FLOOR)
    return float(np.sum((b - a) * np.log(b / a)))


def _finite_share(summary: NumericSummary) -> float:
    total = summary.count + summary.missing
    return summary.count / total if total else 0.0


def _mixture(components: Numeric, points: np.ndarray) -> tuple[np.ndarray, float]:
    """(share of all values that are finite and <= each point, share missing)."""
    weight = sum(w for w, _ in components) or 1.0
    cdf = np.zeros(len(points))
    missing = 0.0
    for w, summary in components:
        share = _finite_share(summary)
        if summary.count:
            cdf += w * share * summary.cdf(points)
        missing += w * (1.0 - share) if summary.count + summary.missing else 0.0
    return cdf / weight, missing / weight


def _points(components: Numeric) -> np.ndarray:
    found = [summary.quantiles(GRID.tolist()) for _, summary in components if summary.count]
    return np.unique(np.concatenate(found)) if found else np.empty(0)


def _ks_p_value(statistic: float, n: int, m: int) -> float:
    """The two-sample KS p-value, after granting each sketch its rank error (conservative)."""
    from scipy.stats import kstwo

    effective = max(1, round(n * m / (n + m)))
    return float(kstwo.sf(max(0.0, statistic - 2 * rank_error()), effective))


def numeric_shift(column: str, learned: Numeric, pending: Numeric, kind: str) -> ColumnShift:
    """PSI over the learned deciles (plus a missing bin) and KS between two mixtures."""
    learned_points, pending_points = _points(learned), _points(pending)
    if not len(learned_points) or not len(pending_points):
        return ColumnShift(column, kind, 0.0)
    cdf, missing = _mixture(learned, learned_points)
    finite = cdf / max(1.0 - missing, FLOOR)
    picks = np.minimum(np.searchsorted(finite, DECILES), len(learned_points) - 1)
    edges = np.unique(learned_points[picks])

    def shares(components: Numeric) -> np.ndarray:
        at_edges, gone = _mixture(components, edges)
        inner = np.diff(np.concatenate([[0.0], at_edges, [1.0 - gone]]))
        return np.concatenate([np.maximum(inner, 0.0), [gone]])

    index = psi(shares(learned), shares(pending))
    union = np.union1d(learned_points, pending_points)
    a, a_missing = _mixture(learned, union)
    b, b_missing = _mixture(pending, union)
    ks = float(np.max(np.abs(a / max(1.0 - a_missing, FLOOR) - b / max(1.0 - b_missing, FLOOR))))
    n = sum(summary.count for _, summary in learned)
    m = sum(summary.count for _, summary in pending)
    return ColumnShift(column, kind, index, ks, _ks_p_value(ks, n, m))


def _chi2_p_value(expected: Counter[Any], actual: Counter[Any], keys: list[Any]) -> float | None:
    from scipy.stats import chi2_contingency

    table = np.array([[expected[k] for k in keys], [actual[k] for k in keys]], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return None
    return float(chi2_contingency(table).pvalue)


def counts_shift(
    column: str, learned: list[tuple[float, Counter[Any]]], pending: Counter[Any], kind: str
) -> ColumnShift:
    """PSI (and a chi-square p-value) between category or label counts."""
    keys = sorted({k for _, counts in learned for k in counts} | set(pending), key=repr)
    weight = sum(w for w, _ in learned) or 1.0
    expected = np.zeros(len(keys))
    pooled: Counter[Any] = Counter()
    for w, counts in learned:
        total = sum(counts.values())
        if total:
            expected += w * np.array([counts[k] / total for k in keys])
            pooled.update(counts)
    total_pending = sum(pending.values())
    if not total_pending or not pooled:
        return ColumnShift(column, kind, 0.0)
    actual = np.array([pending[k] / total_pending for k in keys])
    scaled = Counter({k: expected[i] / weight * sum(pooled.values()) for i, k in enumerate(keys)})
    return ColumnShift(
        column, kind, psi(expected / weight, actual), p_value=_chi2_p_value(scaled, pending, keys)
    )


def _column_shift(name: str, learned: Sequence[DeltaStats], pending: DeltaStats) -> ColumnShift:
    summary = pending.columns[name]
    if isinstance(summary, NumericSummary):
        found = [
            (float(s.rows), column)
            for s in learned
            if isinstance(column := s.columns.get(name), NumericSummary)
        ]
        return numeric_shift(name, found, [(float(pending.rows), summary)], "numeric")
    counted = [
        (float(s.rows), Counter(dict(column.counts)))
        for s in learned
        if isinstance(column := s.columns.get(name), CategorySummary)
    ]
    return counts_shift(name, counted, Counter(dict(summary.counts)), "category")


def _label_shift(
    learned: Sequence[DeltaStats], pending: DeltaStats, target: str
) -> ColumnShift | None:
    if pending.labels:
        counts = [(float(s.rows), Counter(dict(s.labels))) for s in learned if s.labels]
        if not counts:
            return None
        return counts_shift(target, counts, Counter(dict(pending.labels)), "label")
    if pending.target is not None:
        found = [(float(s.rows), s.target) for s in learned if s.target is not None]
        if found:
            return numeric_shift(target, found, [(float(pending.rows), pending.target)], "label")
    return None


def _describe(shift: ColumnShift) -> str:
    what = "the label distribution" if shift.kind == "label" else f"feature {shift.column!r}"
    extra = f", KS {shift.ks:.2f}" if shift.ks is not None else ""
    return f"{what} (PSI {shift.psi:.2f}{extra})"


def recommend(
    columns: Sequence[ColumnShift], label: ColumnShift | None, threshold: float = PSI_THRESHOLD
) -> tuple[str, str]:
    """``("retrain" | "update", reason)`` from the shifts.

    Examples
    --------
    >>> recommend([ColumnShift("x", "numeric", 0.4, 0.3, 1e-9)], None)[0]
    'retrain'
    >>> recommend([ColumnShift("x", "numeric", 0.4, 0.3, 0.5)], None)[0]
    'update'
    """
    every = [*columns, *([label] if label is not None else [])]
    major = sorted((s for s in every if s.psi >= threshold and s.significant), key=lambda s: -s.psi)
    if major:
        named = ", ".join(_describe(s) for s in major[:3])
        more = f" and {len(major) - 3} more" if len(major) > 3 else ""
        return (
            "retrain",
            f"{named}{more} shifted beyond PSI {threshold:g}; a model continued from the old "
            "data would lag behind the new one, so a full retrain is worth its cost",
        )
    if not every:
        return "update", "no column could be compared"
    largest = max(every, key=lambda s: s.psi)
    if largest.psi >= threshold:
        return (
            "update",
            f"{_describe(largest)} moved beyond PSI {threshold:g}, but on too few rows to tell "
            f"from sampling noise (p = {largest.p_value:.2g})",
        )
    return (
        "update",
        f"no feature or label shifted beyond PSI {threshold:g} (largest: {_describe(largest)})",
    )


def shift_between(
    learned: Sequence[DeltaStats],
    pending: DeltaStats,
    *,
    threshold: float = PSI_THRESHOLD,
    target: str = "label",
) -> Shift:
    """Compare ``pending`` with the mixture of ``learned``; recommend ``update`` or ``retrain``.

    The label's shift is reported under the name of the ``target`` column.
    """
    known = {name for stats in learned for name in stats.columns}
    columns = sorted(
        (_column_shift(name, learned, pending) for name in pending.columns if name in known),
        key=lambda s: (-s.psi, s.column),
    )
    label = _label_shift(learned, pending, target)
    action, reason = recommend(columns, label, threshold)
    return Shift(
        tuple(columns),
        label,
        sum(stats.rows for stats in learned),
        pending.rows,
        action,
        reason,
        threshold,
    )
