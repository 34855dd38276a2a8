"""An HTML report of the pipeline's runs: row accounting, quarantine, data quality, the
retrieval quality of index snapshots and drift against the baselines.

Plots are rendered with matplotlib's object API (no pyplot, so no display or global figure
state is involved) into PNGs embedded in one self-contained HTML file, so
the report can be mailed, attached to a ticket or opened from object storage.
"""

from __future__ import annotations

import base64
import html
import io
import warnings
from datetime import date
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from pyspark.sql import SparkSession

from contentlake.index_snapshot import Snapshot
from contentlake.retrieval_metrics import METRIC_NAMES

# retrieval_eval's metric columns and their panel titles.
EVALUATION_METRICS = {
    "ndcg_at_k": "nDCG@k",
    "mrr_at_k": "MRR@k",
    "recall_at_k": "Recall@k",
    "map_at_k": "MAP@k",
}
EVALUATION_COLUMNS = (
    "model_version",
    "k",
    *EVALUATION_METRICS,
    "queries",
    "window_start",
    "window_end",
)

DRIFT_TABLE_COLUMNS = (
    "run_date",
    "subject",
    "metric",
    "feature",
    "value",
    "warn_threshold",
    "baseline_ref",
    "current_ref",
)

STATUS_COLOURS = {
    "pass": "#2e7d32",
    "warn": "#f9a825",
    "quarantined": "#ef6c00",
    "fail": "#c62828",
}


def write_pipeline_report(
    spark: SparkSession, path: Path, snapshot: Snapshot | None = None
) -> Path:
    """Write the report for the tables of the current database to ``path``."""
    job_runs = spark.table("job_runs").orderBy("run_date", "job").toPandas()
    quarantine = pd.concat(
        [
            _quarantine_by_reason(spark, "content_quarantine"),
            _quarantine_by_reason(spark, "events_quarantine"),
        ]
    )
    dq = spark.table("dq_results").orderBy("run_date", "table_name", "check_name").toPandas()

    sections = [
        (
            "Rows written and quarantined per ingest",
            _accounting_plot(job_runs),
            _table(job_runs[["run_date", "job", "rows_in", "rows_written", "rows_quarantined"]]),
        ),
        ("Quarantined rows by reason", _quarantine_plot(quarantine), _table(quarantine)),
        (
            "Data-quality checks per run date",
            _dq_plot(dq),
            _table(
                dq[
                    [
                        "run_date",
                        "table_name",
                        "check_name",
                        "severity",
                        "status",
                        "violation_count",
                    ]
                ]
            ),
        ),
    ]
    evaluations = _retrieval_evaluations(spark)
    if not evaluations.empty:
        sections.append(
            (
                "Retrieval quality of index snapshots on held-out behaviour",
                _evaluation_plot(evaluations),
                _table(evaluations[["run_date", "snapshot", *EVALUATION_COLUMNS]]),
            )
        )
    drift = _drift_metrics(spark)
    if not drift.empty:
        sections.append(
            (
                "Drift against the baselines per run date (dashed: warn threshold)",
                _drift_plot(drift),
                _table(drift[drift.value.notna()][list(DRIFT_TABLE_COLUMNS)]),
            )
        )
    body = "\n".join(
        f"<h2>{html.escape(title)}</h2>\n<img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{image}'>\n{table}"
        for title, image, table in sections
    )
    if snapshot is not None:
        body += _snapshot_section(snapshot)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_PAGE.format(body=body))
    return path


def _quarantine_by_reason(spark: SparkSession, table: str) -> pd.DataFrame:
    counts = spark.table(table).groupBy("_ingest_date", "reason").count().toPandas()
    counts.insert(0, "table", table.removesuffix("_quarantine"))
    return counts.rename(columns={"_ingest_date": "ingest_date", "count": "rows"})


def _accounting_plot(job_runs: pd.DataFrame) -> str:
    """Per ingest job, written and quarantined rows by run date, with the quarantined share."""
    ingests = job_runs[job_runs["job"].str.startswith("ingest_")]
    jobs = sorted(ingests.job.unique())
    figure = Figure(figsize=(5 * max(len(jobs), 1), 3.5))
    for axes, job in zip(
        figure.subplots(1, max(len(jobs), 1), squeeze=False)[0], jobs, strict=False
    ):
        runs = ingests[ingests.job == job]
        labels = [str(day) for day in runs.run_date]
        axes.bar(labels, runs.rows_written, label="written", color="#1565c0")
        axes.bar(
            labels,
            runs.rows_quarantined,
            bottom=runs.rows_written,
            label="quarantined",
            color="#ef6c00",
        )
        for x, (rows_in, quarantined) in enumerate(
            zip(runs.rows_in, runs.rows_quarantined, strict=True)
        ):
            share = quarantined / rows_in if rows_in else 0.0
            axes.annotate(
                f"{share:.1%} quarantined", (x, rows_in), ha="center", va="bottom", fontsize=8
            )
        axes.set_title(job)
        axes.set_ylabel("rows")
        axes.margins(y=0.15)
        axes.tick_params(axis="x", labelrotation=30)
    if jobs:
        figure.axes[0].legend(loc="upper right", fontsize=8)
    return _png(figure)


def _quarantine_plot(quarantine: pd.DataFrame) -> str:
    pivot = quarantine.pivot_table(
        index="reason", columns="ingest_date", values="rows", aggfunc="sum", fill_value=0
    )
    figure = Figure(figsize=(8, max(3, len(pivot) * 0.35)))
    axes = figure.subplots()
    if not pivot.empty:
        pivot.plot.barh(stacked=True, ax=axes)
    axes.set_xlabel("rows quarantined")
    return _png(figure)


def _dq_plot(dq: pd.DataFrame) -> str:
    """A grid of checks x run dates coloured by status, labelled with violation counts."""
    dq = dq.assign(check=dq.table_name + "." + dq.check_name)
    checks = sorted(dq.check.unique())
    dates: list[date] = sorted(dq.run_date.unique())
    figure = Figure(figsize=(2 + 1.2 * len(dates), 0.35 * len(checks) + 1))
    axes = figure.subplots()
    for row in dq.itertuples():
        x, y = dates.index(row.run_date), checks.index(row.check)
        axes.add_patch(Rectangle((x, y), 0.95, 0.9, color=STATUS_COLOURS[row.status]))
        axes.text(
            x + 0.47,
            y + 0.45,
            str(row.violation_count),
            ha="center",
            va="center",
            color="white",
            fontsize=8,
        )
    axes.set_xlim(0, len(dates))
    axes.set_ylim(0, len(checks))
    axes.set_xticks([i + 0.47 for i in range(len(dates))], [str(d) for d in dates])
    axes.set_yticks([i + 0.45 for i in range(len(checks))], checks, fontsize=8)
    axes.invert_yaxis()
    return _png(figure)


def _retrieval_evaluations(spark: SparkSession) -> pd.DataFrame:
    """``retrieval_eval`` by run date; empty when the table is, or when a lakehouse made
    before the table existed lacks it (the report must not need a DDL rerun)."""
    if not spark.catalog.tableExists("retrieval_eval"):
        return pd.DataFrame()
    return spark.table("retrieval_eval").orderBy("run_date", "snapshot").toPandas()


def _evaluation_plot(evaluations: pd.DataFrame) -> str:
    """One panel per metric: each snapshot's score per run date, a line per snapshot, so
    a candidate and the serving snapshot judged on the same day sit one above the other."""
    snapshots = sorted(evaluations.snapshot.unique())
    figure = Figure(figsize=(4 * len(EVALUATION_METRICS), 3.5))
    panels = figure.subplots(1, len(EVALUATION_METRICS), squeeze=False)[0]
    for axes, (column, label) in zip(panels, EVALUATION_METRICS.items(), strict=True):
        for snapshot in snapshots:
            scores = evaluations[evaluations.snapshot == snapshot]
            axes.plot(pd.to_datetime(scores.run_date), scores[column], marker="o", label=snapshot)
        cutoffs = sorted(evaluations.k.unique())
        axes.set_title(label.replace("@k", f"@{cutoffs[0]}") if len(cutoffs) == 1 else label)
        axes.set_ylim(0, 1)
        axes.tick_params(axis="x", labelrotation=30)
    # A legend of dozens of snapshots would hide the lines; the table below names them.
    if len(snapshots) <= 8:
        panels[0].legend(loc="upper left", fontsize=7)
    return _png(figure)


def _drift_metrics(spark: SparkSession) -> pd.DataFrame:
    """``drift_metrics`` by run date; empty when the table is, or when a lakehouse made
    before the table existed lacks it."""
    if not spark.catalog.tableExists("drift_metrics"):
        return pd.DataFrame()
    return (
        spark.table("drift_metrics").orderBy("run_date", "subject", "metric", "feature").toPandas()
    )


def _drift_plot(drift: pd.DataFrame) -> str:
    return _png(_drift_figure(drift))


def _drift_figure(drift: pd.DataFrame) -> Figure:
    """One panel per subject and metric: a line per feature over the run dates, and the
    warn threshold dashed. A null value (nothing to compare yet) is a gap."""
    panels = sorted(drift.groupby(["subject", "metric"]).groups)
    columns = min(len(panels), 4)
    rows = -(-len(panels) // columns)
    figure = Figure(figsize=(4 * columns, 3.2 * rows))
    grid = figure.subplots(rows, columns, squeeze=False).ravel()
    for axes, (subject, metric) in zip(grid, panels, strict=False):
        shown = drift[(drift.subject == subject) & (drift.metric == metric)]
        for feature, values in shown.groupby("feature"):
            axes.plot(pd.to_datetime(values.run_date), values.value, marker="o", label=feature)
        for threshold in shown.warn_threshold.dropna().unique():
            axes.axhline(threshold, color=STATUS_COLOURS["warn"], linestyle="--", linewidth=1)
        axes.set_title(f"{subject}\n{metric}", fontsize=9)
        axes.tick_params(axis="x", labelrotation=30, labelsize=7)
        if shown.feature.nunique() > 1:
            axes.legend(loc="upper left", fontsize=6)
    for axes in grid[len(panels) :]:
        axes.remove()
    return figure


def _snapshot_section(snapshot: Snapshot) -> str:
    manifest = snapshot.manifest
    rows = {
        "snapshot": snapshot.path.name,
        "vectors": manifest["vector_count"],
        "index": f"{manifest['index']['factory']} ({manifest['index']['metric']})",
        "self-recall@1": manifest["index"]["self_recall_at_1"],
        "model": f"{manifest['model']['name']} ({manifest['model']['version']})",
        "created": manifest["created_at"],
    }
    evaluation = manifest.get("evaluation")
    if evaluation:
        window = evaluation["window"]
        rows["evaluation window"] = f"{window['start']} to {window['end']}"
        rows["evaluation queries"] = evaluation["queries"]
        for name in METRIC_NAMES:
            key = f"{name}@{evaluation['k']}"
            value = evaluation[key]
            rows[key] = "n/a" if value is None else f"{value:.4f}"
    return "<h2>Published snapshot</h2>\n" + _table(
        pd.DataFrame({"field": list(rows), "value": [str(v) for v in rows.values()]})
    )


def _png(figure) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Long check names can leave tight_layout no room; the tight bounding box below
        # still keeps every label in the image, so its warning is only console noise.
        warnings.filterwarnings("ignore", "Tight layout not applied", UserWarning)
        figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="data")


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>contentlake pipeline report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table.data {{ border-collapse: collapse; font-size: 0.85em; margin-bottom: 2em; }}
table.data td, table.data th {{ padding: 2px 10px; border-bottom: 1px solid #ddd; }}
img {{ max-width: 100%; }}
</style></head>
<body><h1>contentlake pipeline report</h1>
{body}
</body></html>
"""
