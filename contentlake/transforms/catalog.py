"""Catalogue landing lines -> typed content rows, or a rejection reason per line."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from contentlake.transforms.validation import (
    REASON,
    is_unparseable,
    parse_iso_date,
    parse_iso_timestamp,
    with_duplicate_rejected,
    with_reject_reason,
)

CONTENT_TYPES = ("movie", "series", "episode", "clip")

# Scalars are read as strings so that a wrongly typed value survives parsing and can be
# quarantined with its own reason instead of silently becoming null.
CATALOG_JSON_SCHEMA = T.StructType(
    [
        T.StructField("content_id", T.StringType()),
        T.StructField("content_type", T.StringType()),
        T.StructField("title", T.StringType()),
        T.StructField("description", T.StringType()),
        T.StructField("genres", T.ArrayType(T.StringType())),
        T.StructField("tags", T.ArrayType(T.StringType())),
        T.StructField("language", T.StringType()),
        T.StructField("duration_seconds", T.StringType()),
        T.StructField("release_date", T.StringType()),
        T.StructField("updated_at", T.StringType()),
        T.StructField("series_id", T.StringType()),
    ]
)

CONTENT_COLUMNS = (
    "content_id",
    "content_type",
    "title",
    "description",
    "genres",
    "tags",
    "language",
    "duration_seconds",
    "release_date",
    "updated_at",
    "series_id",
)


def parse_catalog_lines(lines_df: DataFrame) -> DataFrame:
    """Parse ``raw_line`` JSON into ``raw.*`` string fields; a malformed line gets null."""
    parsed = F.from_json("raw_line", CATALOG_JSON_SCHEMA, {"mode": "PERMISSIVE"})
    # from_json yields an all-null struct for text that is not a JSON object.
    is_object = F.trim("raw_line").startswith("{") & F.trim("raw_line").endswith("}")
    return lines_df.withColumn("raw", F.when(is_object, parsed))


def with_typed_content_columns(parsed_df: DataFrame) -> DataFrame:
    """Cast the raw strings to the content table's types (null where unreadable)."""
    return parsed_df.select(
        "*",
        F.col("raw.content_id").alias("content_id"),
        F.lower(F.trim("raw.content_type")).alias("content_type"),
        F.col("raw.title").alias("title"),
        F.col("raw.description").alias("description"),
        F.col("raw.genres").alias("genres"),
        F.col("raw.tags").alias("tags"),
        F.col("raw.language").alias("language"),
        F.col("raw.duration_seconds").try_cast("int").alias("duration_seconds"),
        parse_iso_date(F.col("raw.release_date")).alias("release_date"),
        parse_iso_timestamp(F.col("raw.updated_at")).alias("updated_at"),
        F.col("raw.series_id").alias("series_id"),
    )


def dropped_by_parsing(field: str) -> Column:
    """The line gives ``field`` a value of the wrong JSON type (``"genres": "drama"``):
    from_json nulls that one field and keeps the others, so compare with the raw text."""
    return F.get_json_object("raw_line", f"$.{field}").isNotNull() & F.col(f"raw.{field}").isNull()


def with_catalog_reject_reason(
    typed_df: DataFrame, run_date: date, future_tolerance: timedelta
) -> DataFrame:
    """Name the first problem of each line; exact duplicates after the first are rejected."""
    latest_allowed = datetime.combine(run_date + timedelta(days=1), time()) + future_tolerance
    rules = [
        ("malformed_json", F.col("raw").isNull()),
        ("missing_content_id", F.trim(F.coalesce("content_id", F.lit(""))) == ""),
        ("missing_title", F.trim(F.coalesce("title", F.lit(""))) == ""),
        ("invalid_content_type", ~F.col("content_type").isin(*CONTENT_TYPES)),
        ("invalid_genres", dropped_by_parsing("genres")),
        ("invalid_tags", dropped_by_parsing("tags")),
        (
            "invalid_duration",
            is_unparseable(F.col("raw.duration_seconds"), F.col("duration_seconds")),
        ),
        ("negative_duration", F.col("duration_seconds") < 0),
        ("invalid_release_date", is_unparseable(F.col("raw.release_date"), F.col("release_date"))),
        ("missing_updated_at", F.col("raw.updated_at").isNull()),
        ("invalid_updated_at", is_unparseable(F.col("raw.updated_at"), F.col("updated_at"))),
        ("future_updated_at", F.col("updated_at") > F.lit(latest_allowed)),
    ]
    return with_duplicate_rejected(
        with_reject_reason(typed_df, rules),
        keys=["content_id", "updated_at"],
        order_by=[F.col("source_file"), F.col("raw_line")],
        reason="duplicate_record",
    )


def latest_version_per_content(valid_df: DataFrame) -> DataFrame:
    """One row per content_id: the newest ``updated_at`` of this batch."""
    newest = F.max_by(F.struct(*CONTENT_COLUMNS), "updated_at").alias("latest")
    return valid_df.groupBy("content_id").agg(newest).select("latest.*")


def staged_content(valid_df: DataFrame) -> DataFrame:
    """Valid lines typed like ``content``, with where they came from and the raw line."""
    return valid_df.select(*CONTENT_COLUMNS, "source_file", F.col("raw_line").alias("raw_record"))


def catalog_quarantine_rows(rejected_df: DataFrame, run_date: date) -> DataFrame:
    """Rejected lines in the quarantine table's shape."""
    return rejected_df.select(
        F.col(REASON).alias("reason"),
        F.col("raw.content_id").alias("record_key"),
        F.col("raw_line").alias("raw_record"),
        "source_file",
        F.lit(run_date).alias("_ingest_date"),
    )
