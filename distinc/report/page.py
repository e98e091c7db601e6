"""The report page: one self-contained HTML file (plots embedded as PNG data) plus the PNGs."""

from __future__ import annotations

import base64
import html
import posixpath
from dataclasses import dataclass

from distinc.dataset.locations import output_folder
from distinc.report.data import ReportData, VersionRow
from distinc.store.records import Comparison

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.9em; }
img { max-width: 100%; } .note { color: #555; }
"""


@dataclass(frozen=True)
class ReportFiles:
    """Where the report was written: the page and the plots it embeds."""

    page: str
    plots: tuple[str, ...]


def _e(value: object) -> str:
    return html.escape(str(value))


def _figure(name: str, png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure id="{name}"><img alt="{_e(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _comparison(c: Comparison) -> str:
    rows = []
    for name, incremental in c.incremental.items():
        if name == "rows" or name not in c.retrain:
            continue
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{incremental:.4f}</td><td>{c.retrain[name]:.4f}</td>"
            f"<td>{incremental - c.retrain[name]:+.4f}</td></tr>"
        )
    rows.append(
        f"<tr><td>training seconds</td><td>{c.incremental_seconds:.1f} ({c.updates} update(s))"
        f"</td><td>{c.retrain_seconds:.1f}</td>"
        f"<td>{c.incremental_seconds - c.retrain_seconds:+.1f}</td></tr>"
    )
    return (
        f"<p>Version {c.version} ({c.rows:,} rows) next to a full retrain on the same "
        f"{c.retrain_rows:,} rows, on the holdout {_e(c.holdout)} ({c.created_at}).</p>"
        "<table><tr><th></th><th>incremental</th><th>full retrain</th><th>difference</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _version_table(data: ReportData) -> str:
    from distinc.report.plots import METRICS

    metrics = [
        name
        for name in METRICS.get(data.spec.task, ())
        if any(name in row.metrics for row in data.versions)
    ]
    head = ["version", "kind", "parent", "partitions", "new rows", "rows learned", "seconds"]
    head += ["retrain (est. s)", *metrics, "max drift (PSI)", "drift says"]

    def cells(row: VersionRow) -> list[str]:
        drift = max(row.drift.values()) if row.drift else None
        return [
            str(row.version),
            row.kind,
            "-" if row.parent is None else str(row.parent),
            f"{row.partitions:,}",
            f"{row.rows:,}",
            f"{row.learned_rows:,}",
            f"{row.seconds:.1f}",
            "-" if row.retrain_estimate is None else f"{row.retrain_estimate:.1f}",
            *[f"{row.metrics[m]:.4f}" if m in row.metrics else "-" for m in metrics],
            "-" if drift is None else f"{drift:.3f}",
            row.recommendation or "-",
        ]

    lines = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for row in data.versions:
        lines.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells(row)) + "</tr>")
    return "\n".join([*lines, "</table>"])


def render(data: ReportData) -> tuple[str, dict[str, bytes]]:
    """The page's HTML and its plots by file name."""
    # matplotlib takes a while to import; only a report needs it.
    from distinc.report.plots import cost_plot, drift_plot, metric_plot, rows_plot

    spec = data.spec
    plots: dict[str, bytes] = {}
    sections = []
    head = data.versions[-1] if data.versions else None
    summary = (
        f"{_e(spec.model)} ({_e(spec.strategy)}, {_e(spec.task)}) trained on {_e(spec.data)}; "
        + (
            f"{len(data.versions)} version(s), the latest ({head.version}) learned "
            f"{head.learned_rows:,} rows."
            if head is not None
            else "no versions yet."
        )
    )
    sections.append(f"<p>{summary}</p>")
    sections.append("<h2>Update or retrain?</h2>")
    if data.comparisons:
        sections.append(_comparison(data.comparisons[-1]))
    else:
        sections.append(
            '<p class="note">No full retrain measured yet: run <code>distinc compare STORE '
            "--holdout URL</code> (<code>compare(URL)</code> in Python).</p>"
        )
    metric = metric_plot(data)
    sections.append("<h2>Quality per version</h2>")
    if metric is not None:
        plots["metrics.png"] = metric
        where = f", on {data.holdout}" if data.holdout else ""
        sections.append(_figure("metrics", metric, f"Holdout metrics per version{where}."))
    else:
        sections.append(
            '<p class="note">No stored evaluations: run <code>distinc evaluate STORE --data '
            "HOLDOUT</code> (<code>evaluate(HOLDOUT)</code> in Python).</p>"
        )
    if data.versions:
        plots["rows.png"] = rows_plot(data)
        plots["cost.png"] = cost_plot(data)
        sections.append("<h2>Rows and cost per version</h2>")
        sections.append(_figure("rows", plots["rows.png"], "Rows each version learned."))
        basis = f" Retrain cost {data.cost.basis}." if data.cost is not None else ""
        sections.append(
            _figure(
                "cost",
                plots["cost.png"],
                "Seconds each version took, next to a full retrain at that point." + basis,
            )
        )
    drift = drift_plot(data)
    sections.append("<h2>Drift per feature</h2>")
    if drift is not None:
        plots["drift.png"] = drift
        sections.append(
            _figure(
                "drift",
                drift,
                "PSI of each update's new partitions against everything learned before it.",
            )
        )
    else:
        sections.append('<p class="note">No update with stored statistics to compare yet.</p>')
    sections.append("<h2>Versions</h2>")
    sections.append(_version_table(data))
    title = f"distinc report: {data.store}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{_e(title)}</h1><p class="note">Generated {_e(data.generated_at)}.</p>'
        + "\n".join(sections)
        + "</body></html>\n",
        plots,
    )


def write_report(data: ReportData, out: str) -> ReportFiles:
    """Write ``index.html`` and the plots as PNG files under ``out`` (a path or fsspec URL)."""
    fs, root = output_folder(out, {}, what="the report")
    page, plots = render(data)
    written = []
    for name, png in plots.items():
        path = posixpath.join(root, name)
        fs.pipe_file(path, png)
        written.append(path)
    index = posixpath.join(root, "index.html")
    fs.pipe_file(index, page.encode("utf-8"))
    return ReportFiles(index, tuple(written))
