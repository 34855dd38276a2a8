import json
from datetime import date, datetime, timedelta

from chispa import assert_df_equality
from pyspark.sql import functions as F

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


def test_a_rejected_line_never_displaces_a_valid_version(spark):
    # The rejected copy's raw line sorts first ('"audiobook"' < '"movie"').
    lines = [item("c1", content_type="audiobook", title="Bad"), item("c1", title="Good")]
    checked_df = checked(spark, lines)
    reasons = sorted((row.title, row[REASON] or "") for row in checked_df.collect())
    assert reasons == [("Bad", "invalid_content_type"), ("Good", "")]

    valid_df, _ = split_rejected(checked_df)
    latest_df = latest_version_per_content(valid_df).select("content_id", "title")
    expected_df = spark.createDataFrame([("c1", "Good")], latest_df.schema)
    assert_df_equality(latest_df, expected_df)


def test_the_surviving_copy_of_a_version_does_not_depend_on_input_order(spark):
    first, second = item("c1", title="A"), item("c1", title="B")
    survivors = set()
    for lines in ([first, second], [second, first]):
        valid_df, rejected_df = split_rejected(checked(spark, lines).repartition(2))
        survivors.add((valid_df.first().title, rejected_df.first()[REASON]))
    assert survivors == {("A", "duplicate_record")}


def test_a_text_field_given_another_json_type_is_quarantined(spark):
    lines = [
        item("c1", title=42),
        item("c2", description={"text": "A film."}),
        item("c3", language=["en"]),
        item("c4", series_id=7),
        item(123),
        item("c5", title=True),
        item("c6", title=float("nan")),  # json.dumps writes NaN, which is not JSON
        item("c7", genres=[1, 2]),
        item("c8", tags=[["heist"]]),
        item("c9", genres=["drama", 3]),
        # accepted: a number where a number belongs, nulls, empty arrays
        item("c10", duration_seconds=5400, description=None, series_id=None),
        item("c11", duration_seconds="5400", genres=[], tags=None),
        item("c12", title="42"),
    ]
    reasons = {(row.raw.content_id, row[REASON]) for row in checked(spark, lines).collect()}
    assert reasons == {
        ("c1", "invalid_title"),
        ("c2", "invalid_description"),
        ("c3", "invalid_language"),
        ("c4", "invalid_series_id"),
        ("123", "invalid_content_id"),
        ("c5", "invalid_title"),
        ("c6", "malformed_json"),
        ("c7", "invalid_genres"),
        ("c8", "invalid_tags"),
        ("c9", "invalid_genres"),
        ("c10", None),
        ("c11", None),
        ("c12", None),
    }


def test_lenient_json_is_malformed(spark):
    lines = [
        "{'content_id': 'c1', 'title': 'Single quotes', 'updated_at': '2026-11-01T03:00:00Z'}",
        '{"content_id": "c2", "title": "A", "title": "B", "updated_at": "2026-11-01T03:00:00Z"}',
    ]
    assert [row[REASON] for row in checked(spark, lines).collect()] == ["malformed_json"] * 2


def test_content_ids_are_trimmed_and_lower_cased(spark):
    lines = [
        item(" C000123 ", title="Old", updated_at="2026-11-01T01:00:00Z"),
        item("c000123", title="New", updated_at="2026-11-01T02:00:00Z"),
        item("C000124", content_type="episode", series_id=" C000001 "),
        # the same version twice, differing only in the id's spelling
        item(" c000125", title="Same"),
        item("C000125", title="Same"),
    ]
    valid_df, rejected_df = split_rejected(checked(spark, lines))
    latest_df = latest_version_per_content(valid_df).select("content_id", "title", "series_id")

    expected_df = spark.createDataFrame(
        [("c000123", "New", None), ("c000124", "The Heist", "c000001"), ("c000125", "Same", None)],
        latest_df.schema,
    )
    assert_df_equality(latest_df, expected_df, ignore_row_order=True)
    assert [row[REASON] for row in rejected_df.collect()] == ["duplicate_record"]


def test_a_blank_or_absent_required_field_is_quarantined_never_null_in_content(spark):
    # Each line lacks one field the content table declares NOT NULL, in every way a
    # feed can lack it: null, empty, blank or absent. None may pass as valid.
    lines = []
    for field in ("content_id", "content_type", "title", "updated_at"):
        for value in (None, "", "   "):
            record = json.loads(item(f"c{len(lines) + 1}"))
            lines.append(json.dumps({**record, field: value}))
        absent = json.loads(item(f"c{len(lines) + 1}"))
        del absent[field]
        lines.append(json.dumps(absent))
    valid_df, rejected_df = split_rejected(checked(spark, lines))

    assert valid_df.count() == 0
    assert rejected_df.filter(F.col(REASON).isNull()).count() == 0
    assert rejected_df.count() == len(lines)
