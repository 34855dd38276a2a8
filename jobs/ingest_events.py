"""Ingest the day's behavioural event files into ``events``.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/ingest_events.py --run-date 2026-11-01

Landing rows are kept as strings in ``bronze_events``. Valid rows replace exactly what this
run date ingested before (so a rerun changes nothing), each in the partition of its own
``event_date``: late events land where they belong. Every other row goes to
``events_quarantine`` with its reason; an event_id already stored by another day's ingest
is quarantined as ``duplicate_event``, so no event is ever stored twice.
"""

from __future__ import annotations

import logging
import sys
from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config
from contentlake.job_cli import JobFailed, job_main
from contentlake.job_runs import JobResult, default_run_id, record_job_run
from contentlake.observability import timed_stage
from contentlake.quality import run_table_checks
from contentlake.quarantine import write_valid_and_quarantine
from contentlake.tables import ensure_tables, table_version
from contentlake.transforms.events import (
    EVENTS_CSV_SCHEMA,
    RAW_EVENT_COLUMNS,
    events_quarantine_rows,
    typed_events,
    with_already_ingested_rejected,
    with_event_reject_reason,
    with_typed_event_columns,
)

JOB = "ingest_events"
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    run_id = run_id or default_run_id(run_date)
    ensure_tables(spark, cfg)
    version_before = table_version(spark, "events")
    with timed_stage(logger, "land bronze_events"):
        land_bronze(spark, cfg, run_date)
    raw_df = spark.table("bronze_events").filter(F.col("_ingest_date") == F.lit(run_date))

    ingested_elsewhere_df = spark.table("events").filter(F.col("_ingest_date") != F.lit(run_date))
    tolerance = timedelta(minutes=cfg.ingest.future_tolerance_minutes)
    checked_df = (
        raw_df.transform(with_typed_event_columns)
        .transform(with_event_reject_reason, spark.table("content"), run_date, tolerance)
        .transform(with_already_ingested_rejected, ingested_elsewhere_df)
    )
    with timed_stage(logger, "write events and events_quarantine"):
        counts = write_valid_and_quarantine(
            checked_df,
            lambda valid_df: replace_ingested_events(valid_df, run_date),
            events_quarantine_rows,
            "events_quarantine",
            run_date,
        )
    result = JobResult(
        job=JOB,
        run_date=run_date,
        run_id=run_id,
        rows_in=raw_df.count(),
        rows_written=counts.written,
        rows_quarantined=counts.quarantined,
        details=counts.reasons,
    )
    with timed_stage(logger, "dq events"):
        run_table_checks(spark, cfg, "events", run_date, run_id, restore_version=version_before)
        run_table_checks(spark, cfg, "events_quarantine", run_date, run_id)
    record_job_run(spark, cfg, result)
    return result


def replace_ingested_events(valid_df: DataFrame, run_date: date) -> None:
    """One atomic commit replaces what this run date ingested before, whichever
    event_date partitions those rows live in."""
    typed_events(valid_df).withColumn("_ingest_date", F.lit(run_date)).writeTo("events").overwrite(
        F.col("_ingest_date") == F.lit(run_date)
    )


def land_bronze(spark: SparkSession, cfg: Config, run_date: date) -> None:
    """Copy the day's CSV rows, as strings, into ``bronze_events`` (replacing a rerun's)."""
    landing = cfg.paths.landing / "events" / f"date={run_date.isoformat()}"
    files = sorted(str(path) for path in landing.glob("*.csv*"))
    if not files:
        raise JobFailed(f"no event landing files for {run_date} under {landing}")
    rows_df = spark.read.csv(
        files,
        header=True,
        schema=EVENTS_CSV_SCHEMA,
        mode="PERMISSIVE",
        columnNameOfCorruptRecord="_corrupt_record",
        # Check the header against the expected columns instead of trusting positions.
        enforceSchema=False,
    ).select(
        *RAW_EVENT_COLUMNS,
        "_corrupt_record",
        F.col("_metadata.file_path").alias("source_file"),
        F.lit(run_date).alias("_ingest_date"),
    )
    rows_df.writeTo("bronze_events").overwrite(F.col("_ingest_date") == F.lit(run_date))


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
