"""Ingest the day's catalogue landing files into ``content``.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/ingest_catalog.py --run-date 2026-11-01

(``python -m contentlake.submit ingest_catalog --run-date ...`` adds every option from
``conf/``.) Landing lines are kept as they arrived in ``bronze_catalog``; valid lines are
MERGEd into ``content`` (latest ``updated_at`` per content_id wins); every other line goes
to ``content_quarantine`` with its reason.
"""

from __future__ import annotations

import logging
import sys
from datetime import date, timedelta

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config
from contentlake.job_cli import JobFailed, job_main
from contentlake.job_runs import JobResult, default_run_id, record_job_run
from contentlake.observability import timed_stage
from contentlake.quality import run_table_checks
from contentlake.quarantine import write_valid_and_quarantine
from contentlake.tables import ensure_tables, table_version
from contentlake.transforms.catalog import (
    catalog_quarantine_rows,
    latest_version_per_content,
    parse_catalog_lines,
    with_catalog_reject_reason,
    with_typed_content_columns,
)

JOB = "ingest_catalog"
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    run_id = run_id or default_run_id(run_date)
    ensure_tables(spark, cfg)
    version_before = table_version(spark, "content")
    with timed_stage(logger, "land bronze_catalog"):
        land_bronze(spark, cfg, run_date)
    lines_df = spark.table("bronze_catalog").filter(F.col("_ingest_date") == F.lit(run_date))

    tolerance = timedelta(minutes=cfg.ingest.future_tolerance_minutes)
    checked_df = (
        lines_df.transform(parse_catalog_lines)
        .transform(with_typed_content_columns)
        .transform(with_catalog_reject_reason, run_date, tolerance)
    )
    with timed_stage(logger, "write content and content_quarantine"):
        counts = write_valid_and_quarantine(
            checked_df,
            lambda valid_df: merge_content(spark, latest_version_per_content(valid_df), run_date),
            catalog_quarantine_rows,
            "content_quarantine",
            run_date,
        )
    result = JobResult(
        job=JOB,
        run_date=run_date,
        run_id=run_id,
        rows_in=lines_df.count(),
        rows_written=counts.written,
        rows_quarantined=counts.quarantined,
        details=counts.reasons,
    )
    with timed_stage(logger, "dq content"):
        run_table_checks(spark, cfg, "content", run_date, run_id, restore_version=version_before)
    record_job_run(spark, cfg, result)
    return result


def land_bronze(spark: SparkSession, cfg: Config, run_date: date) -> None:
    """Copy the day's landing lines verbatim into ``bronze_catalog`` (replacing a rerun's)."""
    landing = cfg.paths.landing / "catalog" / f"date={run_date.isoformat()}"
    files = sorted(str(path) for path in landing.glob("*.json*"))
    if not files:
        raise JobFailed(f"no catalogue landing files for {run_date} under {landing}")
    lines_df = (
        spark.read.text(files)
        .select(
            F.col("value").alias("raw_line"),
            F.col("_metadata.file_path").alias("source_file"),
            F.lit(run_date).alias("_ingest_date"),
        )
        # Blank lines carry no record; everything else, even broken JSON, is kept.
        .filter(F.trim("raw_line") != "")
    )
    lines_df.writeTo("bronze_catalog").overwrite(F.col("_ingest_date") == F.lit(run_date))


def merge_content(spark: SparkSession, latest_df: DataFrame, run_date: date) -> None:
    """Insert new items; update an item only when this batch has a newer version."""
    updates_df = latest_df.withColumn("_ingest_date", F.lit(run_date))
    (
        DeltaTable.forName(spark, "content")
        .alias("t")
        .merge(updates_df.alias("s"), "t.content_id = s.content_id")
        .whenMatchedUpdateAll(condition="s.updated_at > t.updated_at")
        .whenNotMatchedInsertAll()
        .execute()
    )


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
