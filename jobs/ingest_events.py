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
from collections.abc import Sequence
from datetime import date, timedelta
from functools import reduce
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from contentlake.config import Config
from contentlake.delta_commits import commit_with_retry
from contentlake.dq.engine import quarantine_rules
from contentlake.errors import JobFailed
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.landing import (
    LandingError,
    collect_landing_day,
    file_format,
    parquet_columns,
    read_csv_header,
)
from contentlake.observability import timed_stage
from contentlake.quarantine import quarantined_by_check, write_valid_and_quarantine
from contentlake.schema_drift import (
    columns_by_file,
    compare_columns,
    contract_violation,
    decide_extra_columns,
    log_extra_columns,
)
from contentlake.transforms.events import (
    EVENT_COLUMNS,
    RAW_EVENT_COLUMNS,
    events_quarantine_rows,
    staged_events,
    with_already_ingested_rejected,
    with_event_reject_reason,
    with_typed_event_columns,
)

JOB = "ingest_events"
EVENT_FILE_PATTERNS = ("*.csv*", "*.parquet")
# bronze_events columns that are not landing data: a landing column by these names is ignored.
BRONZE_BOOKKEEPING = ("_corrupt_record", "source_file", "_ingest_date")
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        with timed_stage(logger, "land bronze_events"):
            landing_details = land_bronze(spark, cfg, run_date)
        raw_df = spark.table("bronze_events").filter(F.col("_ingest_date") == F.lit(run_date))
        ingested_elsewhere_df = spark.table("events").filter(
            F.col("_ingest_date") != F.lit(run_date)
        )
        tolerance = timedelta(minutes=cfg.ingest.future_tolerance_minutes)
        checked_df = (
            raw_df.transform(with_typed_event_columns)
            .transform(with_event_reject_reason, spark.table("content"), run_date, tolerance)
            .transform(with_already_ingested_rejected, ingested_elsewhere_df)
        )
        check_rules = quarantine_rules("events", run_date)
        with timed_stage(logger, "write and check events"):
            # A commit conflict retries the whole split, not just the commit: the duplicate
            # check must see what the concurrent writer stored.
            counts = job.gated_write(
                "events",
                lambda: write_valid_and_quarantine(
                    checked_df,
                    stage=staged_events,
                    write_valid=lambda staged_df: replace_ingested_events(staged_df, run_date),
                    quarantine_rows=events_quarantine_rows,
                    quarantine_table="events_quarantine",
                    run_date=run_date,
                    check_rules=check_rules,
                    key="event_id",
                ),
                owned_rows="_ingest_date = {run_date}",
                quarantined=lambda counts: quarantined_by_check(
                    counts, [name for name, _ in check_rules]
                ),
                also_check=("events_quarantine",),
            )
        return job.finish(
            rows_in=counts.rows_in,
            rows_written=counts.written,
            rows_quarantined=counts.quarantined,
            details={**counts.reasons, **landing_details},
        )


def replace_ingested_events(staged_df: DataFrame, run_date: date) -> None:
    """One atomic commit replaces what this run date ingested before, whichever
    event_date partitions those rows live in."""
    staged_df.select(*EVENT_COLUMNS, F.lit(run_date).alias("_ingest_date")).writeTo(
        "events"
    ).overwrite(F.col("_ingest_date") == F.lit(run_date))


def land_bronze(spark: SparkSession, cfg: Config, run_date: date) -> dict[str, str]:
    """Copy the day's landing rows (CSV with a header, or Parquet), as strings, into
    ``bronze_events``, replacing a rerun's; return the landing details for the result.

    Unreadable files move to the dead-letter folder first. A file lacking a contract
    column stops the job; extra columns follow ``ingest.extra_columns``. A day without
    event files is a quiet day and a no-op: nothing is written, so what an earlier run
    landed for the date (if anything) stays, and a rerun after the landing files were
    archived changes nothing.
    """
    try:
        day = collect_landing_day(
            cfg.paths.landing, cfg.paths.dead_letter, "events", run_date, EVENT_FILE_PATTERNS
        )
        declared = [
            compare_columns(str(path), _declared_columns(path), RAW_EVENT_COLUMNS)
            for path in day.readable
        ]
    except LandingError as err:
        raise JobFailed(str(err)) from err
    if not day.readable:
        return day.details()
    violation = contract_violation(declared)
    if violation:
        raise JobFailed(violation)
    extra = decide_extra_columns(
        [name for checked in declared for name in checked.extra],
        cfg.ingest.extra_columns,
        reserved=BRONZE_BOOKKEEPING,
    )
    log_extra_columns("events", columns_by_file(declared), extra)
    wanted = (*RAW_EVENT_COLUMNS, *extra.keep)
    frames, csv_by_header = [], {}
    for path, checked in zip(day.readable, declared, strict=True):
        if file_format(path) == "parquet":
            frames.append(_read_parquet(spark, path, checked.columns, wanted))
        else:
            csv_by_header.setdefault(checked.columns, []).append(str(path))
    frames += [_read_csv(spark, files, header, wanted) for header, files in csv_by_header.items()]
    rows_df = bronze_rows(spark, frames, extra.keep, run_date)
    writer = rows_df.writeTo("bronze_events")
    if extra.keep:
        # Delta schema evolution: the new columns are added to bronze_events in this commit.
        writer = writer.option("mergeSchema", "true")
    commit_with_retry(
        lambda: writer.overwrite(F.col("_ingest_date") == F.lit(run_date)),
        "bronze_events",
        cfg.writes,
    )
    return {**day.details(), **extra.details()}


def bronze_rows(
    spark: SparkSession, frames: list[DataFrame], keep: Sequence[str], run_date: date
) -> DataFrame:
    """The day's landing frames as one, in ``bronze_events``' shape plus the ``keep`` extra
    columns; no rows, in that shape, for a day without files."""
    columns = (*RAW_EVENT_COLUMNS, *keep, "_corrupt_record", "source_file")
    if not frames:
        empty = [T.StructField(name, T.StringType()) for name in columns]
        return spark.createDataFrame(
            [], T.StructType([*empty, T.StructField("_ingest_date", T.DateType())])
        )
    union_df = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
    return union_df.select(*columns, F.lit(run_date).alias("_ingest_date"))


def _declared_columns(path: Path) -> list[str]:
    if file_format(path) == "parquet":
        return parquet_columns(path)
    return read_csv_header(path)


def _read_csv(
    spark: SparkSession, files: list[str], header: tuple[str, ...], wanted: tuple[str, ...]
) -> DataFrame:
    """CSV files sharing one header, as string columns named by it (``wanted`` ones only).

    The header was read and checked already, so Spark reads positional columns and only
    skips the header row; a row with too many or too few fields lands in _corrupt_record.
    """
    positional = [T.StructField(f"_c{i}", T.StringType()) for i in range(len(header))]
    # Parse every field of this read, whatever the session says: with column pruning (an
    # ignored extra column) the parser skips the field-count check, even with
    # _corrupt_record selected (Spark 4.1), and a short or long row would pass as valid.
    file_df = spark.read.option("columnPruning", "false").csv(
        files,
        header=True,
        schema=T.StructType([*positional, T.StructField("_corrupt_record", T.StringType())]),
        mode="PERMISSIVE",
        columnNameOfCorruptRecord="_corrupt_record",
        enforceSchema=True,
    )
    return file_df.select(
        *[F.col(f"_c{i}").alias(name) for i, name in enumerate(header) if name in wanted],
        "_corrupt_record",
        F.col("_metadata.file_path").alias("source_file"),
    )


def _read_parquet(
    spark: SparkSession, path: Path, columns: tuple[str, ...], wanted: tuple[str, ...]
) -> DataFrame:
    """One Parquet file with its ``wanted`` columns cast to strings; read alone, since
    another file may type the same column differently."""
    file_df = spark.read.parquet(str(path))
    return file_df.select(
        *[
            _as_string(file_df, source).alias(name)
            for source, name in zip(file_df.columns, columns, strict=True)
            if name in wanted
        ],
        F.lit(None).cast("string").alias("_corrupt_record"),
        F.col("_metadata.file_path").alias("source_file"),
    )


def _as_string(df: DataFrame, column: str) -> Column:
    """A Parquet column as the string a CSV would carry; timestamps as ISO-8601."""
    dtype = df.schema[column].dataType
    if isinstance(dtype, T.TimestampType):
        return F.date_format(df[column], "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX")
    if isinstance(dtype, T.TimestampNTZType):
        # No offset: quarantined as invalid_timestamp, like a CSV value without one.
        return F.date_format(df[column], "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
    if isinstance(dtype, (T.StructType, T.ArrayType, T.MapType)):
        return F.to_json(df[column])
    return df[column].cast("string")


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
