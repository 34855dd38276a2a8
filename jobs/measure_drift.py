"""Measure the run date's drift against its baselines into ``drift_metrics``.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/measure_drift.py --run-date 2026-11-01

Four subjects, each against its own baseline (``drift`` in ``conf/base.yaml``; the metrics
are defined in ``contentlake/transforms/drift.py``):

- ``content_daily_features``: PSI and Jensen-Shannon divergence of every daily feature on
  the run date against the ``baseline_days`` before it;
- ``events``: the same for the event-type and device mix of the run date's events
  (``event_date``);
- ``content_embeddings``: the version ``embed_content`` recorded for the run date against
  the one it recorded for the previous run date (Delta time travel): shift of the mean
  vector, share of the items whose vector changed, share of new items;
- ``index_snapshot``: overlap@k of the neighbour lists of a fixed sample of items between
  the snapshots ``publish_index`` recorded for the previous run date and the run date.

The versions and snapshots compared come from ``job_runs``, not from "now" (the latest
version, or the version as of a timestamp): a rerun or a backfill of an old date compares
what that date's runs produced, and commit times say nothing about run dates once dates
are backfilled. Each ``embed_content`` run records the version its checks read, for every
date, even one that embedded nothing; a snapshot manifest's source version would serve
only on dates with a new snapshot (unchanged inputs publish none) and go with the snapshot
when it is pruned. The snapshots themselves are compared on the driver with faiss: both
indexes are loaded (as serving loads one) and searched for a bounded sample of items.

The date's rows are replaced in one commit and then checked (``sql/dq/drift_metrics``): a
metric past its ``drift.warn`` threshold is a warning, recorded in ``dq_results``.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import reduce
from typing import TypeVar

from contentlake.udfs.text_embedding import model_fingerprint
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config, DriftSettings
from contentlake.driver_rows import local_frame
from contentlake.index_snapshot import SnapshotError, load_snapshot
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.neighbour_overlap import neighbour_overlap
from contentlake.observability import timed_stage
from contentlake.tables import rows_written_by_last_commit
from contentlake.transforms.drift import (
    DISTRIBUTION_METRICS,
    EMBEDDING_METRICS,
    METRIC_COLUMNS,
    bin_shares,
    distribution_drift,
    embedding_drift,
    filter_periods,
    quantile_edges,
    unpivot_categories,
    unpivot_metrics,
    unpivot_values,
    with_quantile_bins,
    with_warn_thresholds,
)
from contentlake.transforms.features import FEATURE_COLUMNS

JOB = "measure_drift"
TABLE = "drift_metrics"
# Every daily feature: the columns after the key and the date.
FEATURES = tuple(c for c in FEATURE_COLUMNS if c not in ("content_id", "feature_date"))
EVENT_MIX = ("event_type", "device")
VALUE_DECIMALS = 12
DRIFT_COLUMNS = (
    "run_date",
    "subject",
    "metric",
    "feature",
    "value",
    "warn_threshold",
    "baseline_start",
    "baseline_end",
    "baseline_ref",
    "current_ref",
    "baseline_rows",
    "current_rows",
    "computed_at",
    "run_id",
)
T = TypeVar("T")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Comparison:
    """What a subject's metrics compared: the baseline (dates and a readable reference)
    and the run date's side."""

    baseline_start: date | None
    baseline_end: date | None
    baseline_ref: str | None
    current_ref: str | None


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        settings = cfg.drift
        computed_at = datetime.now(timezone.utc).replace(tzinfo=None)
        with timed_stage(logger, "compare with baselines"):
            recorded = RecordedRuns.read(spark, run_date)
            embeddings_df, embeddings = embedding_metrics(spark, cfg, run_date, recorded)
            neighbours_df, neighbours = neighbour_metrics(spark, cfg, run_date, recorded)
            parts = [
                feature_metrics(spark, settings, run_date),
                event_mix_metrics(spark, settings, run_date),
                embeddings_df,
                neighbours_df,
            ]
        metrics_df = (
            reduce(DataFrame.unionByName, parts)
            .transform(with_warn_thresholds, warn_thresholds(settings))
            # Spark adds partial sums in the order shuffle blocks arrive, so the last bits of
            # a double may differ between two runs over the same rows: rounded, a rerun of
            # the date writes the same values.
            .withColumn("value", F.round("value", VALUE_DECIMALS))
            .withColumn("run_date", F.lit(run_date))
            .withColumn("computed_at", F.lit(computed_at))
            .withColumn("run_id", F.lit(job.run_id))
            .select(*DRIFT_COLUMNS)
        )
        with timed_stage(logger, f"write and check {TABLE}"):
            job.gated_write(
                TABLE,
                lambda: metrics_df.writeTo(TABLE).overwrite(F.col("run_date") == F.lit(run_date)),
                owned_rows="run_date = {run_date}",
            )
        written = rows_written_by_last_commit(spark, TABLE)
        warnings = sorted(r.check.name for r in job.checks if r.status == "warn")
        return job.finish(
            rows_in=written,
            rows_written=written,
            # What was compared is in each drift_metrics row (baseline_ref, current_ref): a
            # property commit by another job's rerun bumps those versions without changing
            # the data, and the rerun's bookkeeping must not change for it.
            details={"warnings": ", ".join(warnings) or "none"},
        )


def warn_thresholds(settings: DriftSettings) -> dict[str, float]:
    """The ``drift.warn`` level of each metric that has one."""
    warn = settings.warn
    return {
        "psi": warn.psi,
        "js_divergence": warn.js_divergence,
        "mean_cosine_distance": warn.mean_cosine_distance,
        "changed_share": warn.changed_share,
        overlap_metric(settings): warn.neighbour_overlap,
    }


def overlap_metric(settings: DriftSettings) -> str:
    return f"neighbour_overlap_at_{settings.neighbour_k}"


def feature_metrics(spark: SparkSession, settings: DriftSettings, run_date: date) -> DataFrame:
    """PSI and JS of every daily feature, run date against the trailing window."""
    values_df = (
        spark.table("content_daily_features")
        .transform(filter_periods, "feature_date", run_date, settings.baseline_days)
        .transform(unpivot_values, FEATURES)
    )
    drift_df = (
        values_df.transform(with_quantile_bins, quantile_edges(values_df, settings.bins))
        .transform(bin_shares)
        .transform(distribution_drift, settings.epsilon)
    )
    return _trailing(
        spark, "content_daily_features", "feature_date", FEATURES, settings, run_date, drift_df
    )


def event_mix_metrics(spark: SparkSession, settings: DriftSettings, run_date: date) -> DataFrame:
    """PSI and JS of the event-type and device mix, run date against the trailing window."""
    drift_df = (
        spark.table("events")
        .transform(filter_periods, "event_date", run_date, settings.baseline_days)
        .transform(unpivot_categories, EVENT_MIX)
        .transform(bin_shares)
        .transform(distribution_drift, settings.epsilon)
    )
    return _trailing(spark, "events", "event_date", EVENT_MIX, settings, run_date, drift_df)


def _trailing(
    spark: SparkSession,
    subject: str,
    date_column: str,
    features: tuple[str, ...],
    settings: DriftSettings,
    run_date: date,
    drift_df: DataFrame,
) -> DataFrame:
    """The distribution metrics of a subject, one row per feature and metric even where a
    feature had no row in either period (value null, no rows)."""
    start = run_date - timedelta(days=settings.baseline_days)
    end = run_date - timedelta(days=1)
    comparison = Comparison(
        start, end, f"{date_column} {start}..{end}", f"{date_column} {run_date}"
    )
    return _every_metric(
        spark, unpivot_metrics(drift_df, DISTRIBUTION_METRICS), features, DISTRIBUTION_METRICS
    ).transform(_with_comparison, subject, comparison)


@dataclass(frozen=True)
class RecordedRuns:
    """What the succeeded ``embed_content`` and ``publish_index`` runs up to the run date
    recorded, newest first: the version of ``content_embeddings`` each embed run's checks
    read (the table as that run left it; a failed run's write was undone, so only succeeded
    runs count) and the snapshot each publish run published or found unchanged."""

    embedding_versions: list[tuple[date, int]]
    snapshots: list[tuple[date, str]]

    @classmethod
    def read(cls, spark: SparkSession, run_date: date) -> RecordedRuns:
        checked = F.filter("checks", lambda check: check.table_name == "content_embeddings")
        rows = (
            spark.table("job_runs")
            .filter(
                F.col("job").isin("embed_content", "publish_index")
                & (F.col("status") == "succeeded")
                & (F.col("run_date") <= F.lit(run_date))
            )
            .select(
                "job",
                "run_date",
                F.array_max(F.transform(checked, lambda check: check.table_version)).alias(
                    "embeddings_version"
                ),
                F.col("details")["snapshot"].alias("snapshot"),
            )
            .collect()
        )
        newest_first = sorted(rows, key=lambda row: row.run_date, reverse=True)
        return cls(
            embedding_versions=[
                (row.run_date, int(row.embeddings_version))
                for row in newest_first
                if row.job == "embed_content" and row.embeddings_version is not None
            ],
            snapshots=[
                (row.run_date, row.snapshot)
                for row in newest_first
                if row.job == "publish_index" and row.snapshot is not None
            ],
        )


def current_and_previous(
    recorded: list[tuple[date, T]], run_date: date
) -> tuple[tuple[date, T] | None, tuple[date, T] | None]:
    """The run date's record (None when it has none) and the latest one before it."""
    current = next((r for r in recorded if r[0] == run_date), None)
    previous = next((r for r in recorded if r[0] < run_date), None)
    return current, previous


def embedding_metrics(
    spark: SparkSession, cfg: Config, run_date: date, recorded: RecordedRuns
) -> tuple[DataFrame, Comparison]:
    """The configured modality's vectors at the version ``embed_content`` recorded for the
    run date against the one it recorded for the previous run date (Delta time travel)."""
    current, previous = current_and_previous(recorded.embedding_versions, run_date)
    # One model's vectors: on the day the model changes, the new model has no baseline.
    model_version = cfg.embedding.model_version or model_fingerprint(cfg.embedding.model)

    def vectors(version: int) -> DataFrame:
        return (
            spark.read.option("versionAsOf", version)
            .table("content_embeddings")
            .filter(
                (F.col("modality") == cfg.embedding.modality)
                & (F.col("model_version") == model_version)
            )
            .select("content_id", "embedding")
        )

    comparison = Comparison(
        previous[0] if previous else None,
        previous[0] if previous else None,
        _version_ref(previous),
        _version_ref(current),
    )
    if current is None:
        logger.warning("no embed_content run recorded for %s: nothing to compare", run_date)
    empty_df = spark.table("content_embeddings").select("content_id", "embedding").limit(0)
    current_df = vectors(current[1]) if current else empty_df
    baseline_df = vectors(previous[1]) if previous and current else empty_df
    metrics_df = _every_metric(
        spark,
        unpivot_metrics(embedding_drift(baseline_df, current_df), EMBEDDING_METRICS),
        ("embedding",),
        EMBEDDING_METRICS,
    )
    return metrics_df.transform(_with_comparison, "content_embeddings", comparison), comparison


def neighbour_metrics(
    spark: SparkSession, cfg: Config, run_date: date, recorded: RecordedRuns
) -> tuple[DataFrame, Comparison]:
    """Overlap@k of the neighbour lists between the snapshot ``publish_index`` recorded
    for the previous run date and the one it recorded for the run date (computed on the
    driver with faiss, on at most ``drift.neighbour_sample`` items)."""
    settings = cfg.drift
    current, previous = current_and_previous(recorded.snapshots, run_date)
    comparison = Comparison(
        previous[0] if previous else None,
        previous[0] if previous else None,
        previous[1] if previous else None,
        current[1] if current else None,
    )
    value, queries = None, 0
    if current and previous:
        try:
            with timed_stage(logger, f"neighbour overlap {previous[1]} -> {current[1]}"):
                before = load_snapshot(cfg.paths.snapshots, previous[1])
                after = (
                    before
                    if current[1] == previous[1]
                    else load_snapshot(cfg.paths.snapshots, current[1])
                )
                result = neighbour_overlap(
                    before, after, settings.neighbour_k, settings.neighbour_sample
                )
            value, queries = result.overlap, result.queries
        except SnapshotError as missing:
            # A snapshot pruned since (index.keep_snapshots) has nothing left to compare.
            logger.warning("neighbour overlap not measured: %s", missing)
    rows_df = local_frame(
        spark,
        [("neighbours", overlap_metric(settings), value, queries, queries)],
        "feature string, metric string, value double, current_rows bigint, baseline_rows bigint",
    ).select(*METRIC_COLUMNS)
    return rows_df.transform(_with_comparison, "index_snapshot", comparison), comparison


def _every_metric(
    spark: SparkSession, metrics_df: DataFrame, features: tuple[str, ...], metrics: tuple[str, ...]
) -> DataFrame:
    """``metrics_df`` with a row for every (feature, metric), null where it had none."""
    keys_df = local_frame(
        spark,
        [(feature, metric) for feature in features for metric in metrics],
        "feature string, metric string",
    )
    return keys_df.join(metrics_df, on=["feature", "metric"], how="left").select(
        "feature",
        "metric",
        "value",
        F.coalesce("current_rows", F.lit(0)).cast("bigint").alias("current_rows"),
        F.coalesce("baseline_rows", F.lit(0)).cast("bigint").alias("baseline_rows"),
    )


def _with_comparison(metrics_df: DataFrame, subject: str, comparison: Comparison) -> DataFrame:
    return metrics_df.select(
        F.lit(subject).alias("subject"),
        *METRIC_COLUMNS,
        F.lit(comparison.baseline_start).cast("date").alias("baseline_start"),
        F.lit(comparison.baseline_end).cast("date").alias("baseline_end"),
        F.lit(comparison.baseline_ref).cast("string").alias("baseline_ref"),
        F.lit(comparison.current_ref).cast("string").alias("current_ref"),
    )


def _version_ref(recorded: tuple[date, int] | None) -> str | None:
    if recorded is None:
        return None
    return f"content_embeddings version {recorded[1]} (embed_content {recorded[0]})"


def _compared(comparison: Comparison) -> str:
    return f"{comparison.baseline_ref or 'nothing'} -> {comparison.current_ref or 'nothing'}"


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
