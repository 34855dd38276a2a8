"""Catalogue landing lines -> typed content rows, or a rejection reason per line."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from contentlake.contract import CONTENT_COLUMNS, CONTENT_TYPES
from contentlake.transforms.validation import (
    REASON,
    is_not_one_of,
    is_unparseable,
    parse_iso_date,
    parse_iso_timestamp,
    with_duplicate_rejected,
    with_reject_reason,
)

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
        T.StructField("poster_uri", T.StringType()),
        T.StructField("video_uri", T.StringType()),
    ]
)

# Fields whose JSON type is checked: from_json gives a string field any JSON value as its
# text (42 -> "42", {"a": 1} -> '{"a":1}') and an array of strings any scalars as text, so
# only the JSON type tells a title from a number. Names as ``schema_of_variant`` writes them;
# VOID is JSON null, accepted where the field may be null.
TEXT_JSON_TYPES = ("STRING", "VOID")
TEXT_ARRAY_JSON_TYPES = ("ARRAY<STRING>", "ARRAY<VOID>", "VOID")
JSON_TYPE_CHECKED = {
    "content_id": TEXT_JSON_TYPES,
    "title": TEXT_JSON_TYPES,
    "description": TEXT_JSON_TYPES,
    "language": TEXT_JSON_TYPES,
    "series_id": TEXT_JSON_TYPES,
    "poster_uri": TEXT_JSON_TYPES,
    "video_uri": TEXT_JSON_TYPES,
    "genres": TEXT_ARRAY_JSON_TYPES,
    "tags": TEXT_ARRAY_JSON_TYPES,
}


def parse_catalog_lines(lines_df: DataFrame) -> DataFrame:
    """Parse ``raw_line`` JSON into ``raw.*`` string fields, and ``raw_types.*``: the JSON
    type of each field of ``JSON_TYPE_CHECKED`` (null where the field is absent).

    A malformed line gets null for both. ``raw_types`` comes from a strict parse (RFC 8259):
    a line that only from_json's leniency reads (NaN or Infinity, single quotes, a key given
    twice) has no trustworthy field types and gets a null ``raw_types``.
    """
    parsed = F.from_json("raw_line", CATALOG_JSON_SCHEMA, {"mode": "PERMISSIVE"})
    # from_json yields an all-null struct for text that is not a JSON object.
    is_object = F.trim("raw_line").startswith("{") & F.trim("raw_line").endswith("}")
    strict = F.try_parse_json("raw_line")
    json_types = F.struct(
        *[
            F.schema_of_variant(F.variant_get(strict, f"$.{field}", "variant")).alias(field)
            for field in JSON_TYPE_CHECKED
        ]
    )
    return lines_df.select(
        "*",
        F.when(is_object, parsed).alias("raw"),
        F.when(strict.isNotNull(), json_types).alias("raw_types"),
    )


def with_typed_content_columns(parsed_df: DataFrame) -> DataFrame:
    """Cast the raw strings to the content table's types (null where unreadable)."""
    return parsed_df.select(
        "*",
        # Ids are trimmed and lower-cased so that ' C000123 ' and 'c000123' are one item.
        F.lower(F.trim("raw.content_id")).alias("content_id"),
        F.lower(F.trim("raw.content_type")).alias("content_type"),
        F.col("raw.title").alias("title"),
        F.col("raw.description").alias("description"),
        F.col("raw.genres").alias("genres"),
        F.col("raw.tags").alias("tags"),
        F.col("raw.language").alias("language"),
        F.col("raw.duration_seconds").try_cast("int").alias("duration_seconds"),
        parse_iso_date(F.col("raw.release_date")).alias("release_date"),
        parse_iso_timestamp(F.col("raw.updated_at")).alias("updated_at"),
        F.lower(F.trim("raw.series_id")).alias("series_id"),
        # A blank media URI names no file: it reads as absent, not as a broken reference.
        F.nullif(F.trim("raw.poster_uri"), F.lit("")).alias("poster_uri"),
        F.nullif(F.trim("raw.video_uri"), F.lit("")).alias("video_uri"),
    )


def wrong_json_type(field: str) -> Column:
    """The line gives ``field`` a JSON value of another type than its contract's
    (``"title": 42``, ``"genres": "drama"``, ``"tags": [1, 2]``)."""
    return ~F.col(f"raw_types.{field}").isin(*JSON_TYPE_CHECKED[field])


def with_catalog_reject_reason(
    typed_df: DataFrame, run_date: date, future_tolerance: timedelta
) -> DataFrame:
    """Name the first problem of each line; later copies of a version are duplicates.

    A version is a (content_id, updated_at) pair. Only valid lines compete for it (a
    rejected line never displaces a valid one); among valid copies the first by source
    file, then raw line wins, a total order over the line, so the copy that lands does not
    depend on input order. Text fields must be JSON strings (or null), genres and tags
    arrays of strings; ``duration_seconds`` may be a JSON number or a numeric string.
    """
    latest_allowed = datetime.combine(run_date + timedelta(days=1), time()) + future_tolerance
    rules = [
        ("malformed_json", F.col("raw").isNull() | F.col("raw_types").isNull()),
        ("missing_content_id", F.trim(F.coalesce("content_id", F.lit(""))) == ""),
        ("invalid_content_id", wrong_json_type("content_id")),
        ("missing_title", F.trim(F.coalesce("title", F.lit(""))) == ""),
        ("invalid_title", wrong_json_type("title")),
        ("invalid_content_type", is_not_one_of(F.col("content_type"), CONTENT_TYPES)),
        ("invalid_description", wrong_json_type("description")),
        ("invalid_language", wrong_json_type("language")),
        ("invalid_series_id", wrong_json_type("series_id")),
        ("invalid_genres", wrong_json_type("genres")),
        ("invalid_tags", wrong_json_type("tags")),
        ("invalid_poster_uri", wrong_json_type("poster_uri")),
        ("invalid_video_uri", wrong_json_type("video_uri")),
        (
            "invalid_duration",
            is_unparseable(F.col("raw.duration_seconds"), F.col("duration_seconds")),
        ),
        ("negative_duration", F.col("duration_seconds") < 0),
        ("invalid_release_date", is_unparseable(F.col("raw.release_date"), F.col("release_date"))),
        ("missing_updated_at", F.trim(F.coalesce("raw.updated_at", F.lit(""))) == ""),
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
