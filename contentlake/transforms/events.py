"""Event landing rows (all strings) -> typed events, or a rejection reason per row."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

# Re-exported (the redundant alias says so): jobs and benches import it from here.
from contentlake.contract import EVENT_COLUMNS as EVENT_COLUMNS
from contentlake.contract import EVENT_TYPES, RAW_EVENT_COLUMNS
from contentlake.transforms.validation import (
    REASON,
    is_not_one_of,
    is_unparseable,
    parse_iso_timestamp,
    with_duplicate_rejected,
    with_reject_reason,
)

EVENTS_CSV_SCHEMA = T.StructType(
    [T.StructField(name, T.StringType()) for name in RAW_EVENT_COLUMNS]
    + [T.StructField("_corrupt_record", T.StringType())]
)


def _blank(name: str) -> Column:
    return F.trim(F.coalesce(F.col(name), F.lit(""))) == ""


def with_typed_event_columns(raw_df: DataFrame) -> DataFrame:
    """Typed ``ev_*`` columns beside the raw strings (null where unreadable).

    Ids are normalised beside the raw strings, which stay as they arrived for the raw
    record: ``ev_content_id`` is trimmed and lower-cased, since it refers to the catalogue,
    whose ids are normalised the same way (``' C000123 '`` is ``c000123``).
    ``ev_event_id`` and ``ev_user_id`` are only trimmed: they are the producer's opaque
    keys, and folding their case could merge two distinct events and drop a valid one;
    an off-format id is flagged by the ``event_id_pattern`` check instead.
    """
    return raw_df.select(
        "*",
        F.trim("event_id").alias("ev_event_id"),
        F.trim("user_id").alias("ev_user_id"),
        F.lower(F.trim("content_id")).alias("ev_content_id"),
        F.lower(F.trim("event_type")).alias("ev_event_type"),
        parse_iso_timestamp(F.col("event_ts")).alias("ev_event_ts"),
        F.col("watch_seconds").try_cast("double").alias("ev_watch_seconds"),
    )


def with_event_reject_reason(
    typed_df: DataFrame,
    known_content_df: DataFrame,
    run_date: date,
    future_tolerance: timedelta,
) -> DataFrame:
    """Name the first problem of each row; later copies of an event_id are duplicates.

    ``known_content_df`` holds one ``content_id`` column: the catalogue as of the run.
    """
    latest_allowed = datetime.combine(run_date + timedelta(days=1), time()) + future_tolerance
    known = known_content_df.select(F.col("content_id").alias("_known_content_id")).distinct()
    joined_df = typed_df.join(
        known, typed_df["ev_content_id"] == known["_known_content_id"], how="left"
    )
    rules = [
        ("malformed_row", F.col("_corrupt_record").isNotNull()),
        ("missing_event_id", _blank("event_id")),
        ("missing_user_id", _blank("user_id")),
        ("missing_content_id", _blank("content_id")),
        ("invalid_event_type", is_not_one_of(F.col("ev_event_type"), EVENT_TYPES)),
        ("missing_timestamp", _blank("event_ts")),
        ("invalid_timestamp", F.col("ev_event_ts").isNull()),
        ("future_timestamp", F.col("ev_event_ts") > F.lit(latest_allowed)),
        (
            "invalid_watch_seconds",
            is_unparseable(F.col("watch_seconds"), F.col("ev_watch_seconds"))
            | F.isnan("ev_watch_seconds")
            | (F.abs("ev_watch_seconds") == float("inf")),
        ),
        ("negative_watch_seconds", F.col("ev_watch_seconds") < 0),
        ("unknown_content_id", F.col("_known_content_id").isNull()),
    ]
    rejected_df = with_reject_reason(joined_df, rules).drop("_known_content_id")
    # Earliest event time wins, then the first file; the raw record settles copies that
    # differ in payload, so the copy that lands never depends on input order.
    return with_duplicate_rejected(
        rejected_df,
        keys=["ev_event_id"],
        order_by=[F.col("ev_event_ts"), F.col("source_file"), _raw_record()],
        reason="duplicate_event",
    )


def with_already_ingested_rejected(df: DataFrame, ingested_ids_df: DataFrame) -> DataFrame:
    """Reject event_ids that an earlier ingest already wrote (cross-day duplicates); ``df``
    is typed rows, matched by their trimmed ``ev_event_id``."""
    seen = ingested_ids_df.select(F.col("event_id").alias("_seen_event_id")).distinct()
    joined_df = df.join(seen, df["ev_event_id"] == seen["_seen_event_id"], how="left")
    return joined_df.withColumn(
        REASON,
        F.when(
            F.col(REASON).isNull() & F.col("_seen_event_id").isNotNull(),
            F.lit("duplicate_event"),
        ).otherwise(F.col(REASON)),
    ).drop("_seen_event_id")


def typed_event_columns() -> list[Column]:
    """The events table's columns (without ingest bookkeeping) from checked rows."""
    return [
        F.col("ev_event_id").alias("event_id"),
        F.col("ev_user_id").alias("user_id"),
        F.col("ev_content_id").alias("content_id"),
        F.col("ev_event_type").alias("event_type"),
        F.col("ev_event_ts").alias("event_ts"),
        F.to_date("ev_event_ts").alias("event_date"),
        F.col("ev_watch_seconds").alias("watch_seconds"),
        F.col("device"),
    ]


def typed_events(valid_df: DataFrame) -> DataFrame:
    """Valid rows in the events table's shape (without ingest bookkeeping)."""
    return valid_df.select(*typed_event_columns())


def staged_events(valid_df: DataFrame) -> DataFrame:
    """Valid rows typed like ``events``, with where they came from and the raw record."""
    return valid_df.select(
        *typed_event_columns(),
        "source_file",
        _raw_record().alias("raw_record"),
    )


def _raw_record() -> Column:
    """The landing row's contract columns as JSON, as they arrived."""
    return F.to_json(F.struct(*RAW_EVENT_COLUMNS))


def events_quarantine_rows(rejected_df: DataFrame, run_date: date) -> DataFrame:
    """Rejected rows in the quarantine table's shape; the raw record as JSON."""
    raw_record = F.coalesce(F.col("_corrupt_record"), _raw_record())
    return rejected_df.select(
        F.col(REASON).alias("reason"),
        F.col("event_id").alias("record_key"),
        raw_record.alias("raw_record"),
        "source_file",
        F.lit(run_date).alias("_ingest_date"),
    )
