import json
from datetime import date, datetime, timedelta

from chispa import assert_df_equality

from contentlake.transforms.catalog import (
    catalog_quarantine_rows,
    latest_version_per_content,
    parse_catalog_lines,
    with_catalog_reject_reason,
    with_typed_content_columns,
)
from contentlake.transforms.validation import REASON, split_rejected

RUN_DATE = date(2026, 11, 1)


def item(content_id="c1", **overrides):
    record = {
        "content_id": content_id,
        "content_type": "movie",
        "title": "The Heist",
        "description": "A detective chases a crew.",
        "genres": ["thriller"],
        "tags": ["heist"],
        "language": "en",
        "duration_seconds": 5400,
        "release_date": "2020-05-01",
        "updated_at": "2026-11-01T03:00:00Z",
        "series_id": None,
    }
    record.update(overrides)
    return json.dumps(record)


def checked(spark, lines):
    lines_df = spark.createDataFrame(
        [(line, "part-0.jsonl") for line in lines], "raw_line string, source_file string"
    )
    return (
        lines_df.transform(parse_catalog_lines)
        .transform(with_typed_content_columns)
        .transform(with_catalog_reject_reason, RUN_DATE, timedelta(hours=1))
    )


def test_each_bad_line_gets_its_own_reason(spark):
    lines = [
        item("c1"),
        '{"content_id": "c2", "title": "Broken',
        item(None),
        item("c4", title="  "),
        item("c5", content_type="podcast"),
        item("c6", duration_seconds="ninety"),
        item("c7", duration_seconds=-5),
        item("c8", release_date="01/05/2020"),
        item("c9", updated_at="yesterday"),
        item("c10", updated_at="2030-01-01T00:00:00Z"),
        item("c1"),
        "[1, 2, 3]",
    ]
    reasons = {
        (row.raw.content_id if row.raw else row.raw_line[:12], row[REASON])
        for row in checked(spark, lines).collect()
    }
    assert reasons == {
        ("c1", None),
        ('{"content_id', "malformed_json"),
        (None, "missing_content_id"),
        ("c4", "missing_title"),
        ("c5", "invalid_content_type"),
        ("c6", "invalid_duration"),
        ("c7", "negative_duration"),
        ("c8", "invalid_release_date"),
        ("c9", "invalid_updated_at"),
        ("c10", "future_updated_at"),
        ("c1", "duplicate_record"),
        ("[1, 2, 3]", "malformed_json"),
    }


def test_updated_at_within_tolerance_of_the_next_midnight_is_accepted(spark):
    lines = [
        item("c1", updated_at="2026-11-02T00:59:00Z"),
        item("c2", updated_at="2026-11-02T01:01:00Z"),
    ]
    reasons = {row.content_id: row[REASON] for row in checked(spark, lines).collect()}
    assert reasons == {"c1": None, "c2": "future_updated_at"}


def test_latest_version_per_content_keeps_the_newest_update(spark):
    lines = [
        item("c1", title="Old", updated_at="2026-11-01T01:00:00Z"),
        item("c1", title="New", updated_at="2026-11-01T05:00:00Z"),
        item("c1", title="Middle", updated_at="2026-11-01T03:00:00Z"),
        item("c2", title="Only"),
    ]
    valid_df, rejected_df = split_rejected(checked(spark, lines))
    latest_df = latest_version_per_content(valid_df).select("content_id", "title", "updated_at")

    expected_df = spark.createDataFrame(
        [("c1", "New", datetime(2026, 11, 1, 5)), ("c2", "Only", datetime(2026, 11, 1, 3))],
        latest_df.schema,
    )
    assert_df_equality(latest_df, expected_df, ignore_row_order=True)
    assert rejected_df.count() == 0


def test_typed_columns_have_the_content_table_types(spark):
    valid_df, _ = split_rejected(checked(spark, [item("c1", content_type=" Movie ")]))
    row = latest_version_per_content(valid_df).first()
    assert row.content_type == "movie"
    assert row.duration_seconds == 5400
    assert row.release_date == date(2020, 5, 1)
    assert row.genres == ["thriller"]


def test_quarantine_rows_keep_the_raw_line_and_reason(spark):
    bad = item("c5", content_type="podcast")
    _, rejected_df = split_rejected(checked(spark, [bad]))
    quarantine_df = catalog_quarantine_rows(rejected_df, RUN_DATE)

    expected_df = spark.createDataFrame(
        [("invalid_content_type", "c5", bad, "part-0.jsonl", RUN_DATE)],
        "reason string, record_key string, raw_record string, source_file string, "
        "_ingest_date date",
    )
    assert_df_equality(quarantine_df, expected_df, ignore_nullable=True)
