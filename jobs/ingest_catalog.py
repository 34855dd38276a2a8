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
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config
from contentlake.delta_commits import commit_with_retry
from contentlake.dq.engine import quarantine_rules
from contentlake.errors import JobFailed
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.landing import LandingError, collect_landing_day
from contentlake.observability import timed_stage
from contentlake.quarantine import quarantined_by_check, write_valid_and_quarantine
from contentlake.schema_drift import decide_extra_columns, log_extra_columns
from contentlake.transforms.catalog import (
    CATALOG_JSON_SCHEMA,
    catalog_quarantine_rows,
    latest_version_per_content,
    parse_catalog_lines,
    staged_content,
    with_catalog_reject_reason,
    with_typed_content_columns,
)

JOB = "ingest_catalog"
CATALOG_FILE_PATTERNS = ("*.json*",)
BRONZE_CATALOG_SCHEMA = "raw_line string, source_file string, _ingest_date date"
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        with timed_stage(logger, "land bronze_catalog"):
            landing_details = land_bronze(spark, cfg, run_date)
        lines_df = spark.table("bronze_catalog").filter(F.col("_ingest_date") == F.lit(run_date))
        tolerance = timedelta(minutes=cfg.ingest.future_tolerance_minutes)
        checked_df = (
            lines_df.transform(parse_catalog_lines)
            .transform(with_typed_content_columns)
            .transform(with_catalog_reject_reason, run_date, tolerance)
        )
        check_rules = quarantine_rules("content", run_date)
        with timed_stage(logger, "write and check content"):
            # A commit conflict retries the whole split: both writes are idempotent.
            counts = job.gated_write(
                "content",
                lambda: write_valid_and_quarantine(
                    checked_df,
                    stage=staged_content,
                    write_valid=lambda staged_df: merge_content(
                        spark, latest_version_per_content(staged_df), run_date
                    ),
                    quarantine_rows=catalog_quarantine_rows,
                    quarantine_table="content_quarantine",
                    run_date=run_date,
                    check_rules=check_rules,
                    key="content_id",
                ),
                quarantined=lambda counts: quarantined_by_check(
                    counts, [name for name, _ in check_rules]
                ),
            )
        return job.finish(
            rows_in=counts.rows_in,
            rows_written=counts.written,
            rows_quarantined=counts.quarantined,
            details={**counts.reasons, **landing_details},
        )


def land_bronze(spark: SparkSession, cfg: Config, run_date: date) -> dict[str, str]:
    """Copy the day's landing lines verbatim into ``bronze_catalog`` (replacing a rerun's);
    return the landing details for the result.

    Unreadable files move to the dead-letter folder first. A day without catalogue files
    is a quiet day and a no-op: nothing is written, so what an earlier run landed for the
    date (if anything) stays, and a rerun after the landing files were archived changes
    nothing.
    Fields beyond the contract stay in the verbatim ``raw_line`` whatever
    ``ingest.extra_columns`` says ("evolve" only reports them as kept for later promotion,
    "ignore" warns); ``content`` never gets them.
    """
    try:
        day = collect_landing_day(
            cfg.paths.landing, cfg.paths.dead_letter, "catalog", run_date, CATALOG_FILE_PATTERNS
        )
    except LandingError as err:
        raise JobFailed(str(err)) from err
    if not day.readable:
        return day.details()
    lines_df = landing_lines(spark, day.readable, run_date)
    commit_with_retry(
        lambda: lines_df.writeTo("bronze_catalog").overwrite(
            F.col("_ingest_date") == F.lit(run_date)
        ),
        "bronze_catalog",
        cfg.writes,
    )
    seen_in = extra_catalog_fields(
        spark.table("bronze_catalog").filter(F.col("_ingest_date") == F.lit(run_date))
    )
    extra = decide_extra_columns(seen_in, cfg.ingest.extra_columns)
    log_extra_columns("catalog", seen_in, extra)
    return {**day.details(), **extra.details()}


def landing_lines(spark: SparkSession, paths: Sequence[Path], run_date: date) -> DataFrame:
    """The non-blank lines of ``paths`` in ``bronze_catalog``'s shape; none for no paths."""
    if not paths:
        # spark.read.text refuses an empty list of paths.
        return spark.createDataFrame([], BRONZE_CATALOG_SCHEMA)
    return (
        spark.read.text([str(path) for path in paths])
        .select(
            F.col("value").alias("raw_line"),
            F.col("_metadata.file_path").alias("source_file"),
            F.lit(run_date).alias("_ingest_date"),
        )
        # Blank lines carry no record; everything else, even broken JSON, is kept.
        .filter(F.trim("raw_line") != "")
    )


def extra_catalog_fields(lines_df: DataFrame) -> dict[str, list[str]]:
    """Top-level JSON fields outside the contract -> the files whose lines carry them."""
    fields_df = (
        lines_df.select(F.explode(F.json_object_keys("raw_line")).alias("field"), "source_file")
        .filter(~F.col("field").isin(*CATALOG_JSON_SCHEMA.fieldNames()))
        .groupBy("field")
        .agg(F.sort_array(F.collect_set("source_file")).alias("files"))
    )
    return {row.field: list(row.files) for row in fields_df.collect()}


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
