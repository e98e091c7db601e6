"""The report's plots as PNG bytes, drawn with matplotlib's Agg canvas (no display, no pyplot)."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from distinc.report.data import ReportData

METRICS = {
    "classification": ("roc_auc", "accuracy", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
    "unsupervised": ("score",),
}
# Features drawn in the drift heatmap: those that moved most.
MAX_FEATURES = 20
UPDATE_COLOR = "#1f77b4"
RETRAIN_COLOR = "#d62728"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def metric_plot(data: ReportData) -> bytes | None:
    """Holdout metrics per version, with any full retrain measured by ``distinc compare``."""
    names = [
        name
        for name in METRICS.get(data.spec.task, ())
        if any(name in row.metrics for row in data.versions)
    ]
    if not names:
        return None
    figure = Figure(figsize=(4.2 * len(names), 3.4))
    for i, name in enumerate(names):
        axes = figure.add_subplot(1, len(names), i + 1)
        points = [(row.version, row.metrics[name]) for row in data.versions if name in row.metrics]
        axes.plot(*zip(*points, strict=True), "o-", color=UPDATE_COLOR, label="version")
        retrains = [(c.version, c.retrain[name]) for c in data.comparisons if name in c.retrain]
        if retrains:
            axes.plot(
                *zip(*retrains, strict=True),
                "X",
                color=RETRAIN_COLOR,
                markersize=10,
                label="full retrain",
            )
        axes.set_title(name)
        axes.set_xlabel("version")
        axes.set_xticks([row.version for row in data.versions])
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    return _png(figure)


def rows_plot(data: ReportData) -> bytes:
    """New rows per version (bars) and rows learned in all (line)."""
    figure = Figure(figsize=(8, 3.4))
    axes = figure.add_subplot()
    versions = [row.version for row in data.versions]
    axes.bar(versions, [row.rows for row in data.versions], color=UPDATE_COLOR, label="new rows")
    axes.plot(
        versions,
        [row.learned_rows for row in data.versions],
        "o-",
        color="#2ca02c",
        label="rows learned in all",
    )
    axes.set_xlabel("version")
    axes.set_ylabel("rows")
    axes.set_xticks(versions)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize="small")
    return _png(figure)


def cost_plot(data: ReportData) -> bytes:
    """Seconds of each version next to the estimated seconds of a full retrain at that point."""
    figure = Figure(figsize=(8, 3.4))
    axes = figure.add_subplot()
    versions = np.array([row.version for row in data.versions], dtype=float)
    width = 0.4
    axes.bar(
        versions - width / 2,
        [row.seconds for row in data.versions],
        width,
        color=UPDATE_COLOR,
        label="this version (update)",
    )
    if data.cost is not None:
        axes.bar(
            versions + width / 2,
            [row.retrain_estimate or 0.0 for row in data.versions],
            width,
            color=RETRAIN_COLOR,
            label="full retrain instead (estimated)",
        )
    axes.set_xlabel("version")
    axes.set_ylabel("seconds")
    axes.set_xticks(versions)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize="small")
    return _png(figure)


def drift_plot(data: ReportData) -> bytes | None:
    """PSI of each update's delta against what its parent learned, feature by feature."""
    rows = [row for row in data.versions if row.drift]
    if not rows:
        return None
    largest: dict[str, float] = {}
    for row in rows:
        for column, value in row.drift.items():
            largest[column] = max(largest.get(column, 0.0), value)
    columns = sorted(largest, key=lambda c: (-largest[c], c))[:MAX_FEATURES]
    grid = np.array([[row.drift.get(c, np.nan) for row in rows] for c in columns])
    figure = Figure(figsize=(max(5.0, 0.6 * len(rows) + 3), 0.32 * len(columns) + 1.8))
    axes = figure.add_subplot()
    scale = LinearSegmentedColormap.from_list("psi", ["#f7fbff", "#fdae6b", "#a50f15"])
    top = max(2 * data.threshold, float(np.nanmax(grid)))
    image = axes.imshow(grid, aspect="auto", cmap=scale, vmin=0.0, vmax=top)
    axes.set_xticks(range(len(rows)), [str(row.version) for row in rows])
    axes.set_yticks(range(len(columns)), columns)
    axes.set_xlabel("version (its new partitions vs what its parent had learned)")
    for y, x in zip(*np.nonzero(grid >= data.threshold), strict=True):
        axes.text(x, y, f"{grid[y, x]:.2f}", ha="center", va="center", fontsize=7, color="white")
    bar = figure.colorbar(image, ax=axes)
    bar.set_label(f"PSI (>= {data.threshold:g}: major shift)")
    return _png(figure)
