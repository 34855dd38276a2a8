from datetime import date, datetime, timedelta

from chispa import assert_df_equality

from contentlake.transforms.events import (
    EVENTS_CSV_SCHEMA,
    typed_events,
    with_already_ingested_rejected,
    with_event_reject_reason,
    with_typed_event_columns,
)
from contentlake.transforms.validation import REASON, split_rejected

RUN_DATE = date(2026, 11, 1)
TS = "2026-11-01T10:00:00Z"


def raw_events(spark, rows):
    padded = [(*row, None) if len(row) == 7 else row for row in rows]
    raw_df = spark.createDataFrame(padded, EVENTS_CSV_SCHEMA)
    return raw_df.withColumn("source_file", raw_df.event_id.substr(0, 0))


def checked(spark, rows, known=("c1", "c2")):
    known_df = spark.createDataFrame([(c,) for c in known], "content_id string")
    return (
        raw_events(spark, rows)
        .transform(with_typed_event_columns)
        .transform(with_event_reject_reason, known_df, RUN_DATE, timedelta(hours=1))
    )


def test_each_bad_row_gets_its_own_reason(spark):
    rows = [
        ("e1", "u1", "c1", "play", TS, None, "tv"),
        ("e2", "u1", "c1", "pause", TS, "120.5", "tv"),
        (None, "u1", "c1", "play", TS, None, "tv"),
        ("e4", "", "c1", "play", TS, None, "tv"),
        ("e5", "u1", " ", "play", TS, None, "tv"),
        ("e6", "u1", "c1", "hover", TS, None, "tv"),
        ("e7", "u1", "c1", "play", "yesterday", None, "tv"),
        ("e8", "u1", "c1", "play", "2026-11-09T10:00:00Z", None, "tv"),
        ("e9", "u1", "c1", "pause", TS, "ten", "tv"),
        ("e10", "u1", "c1", "pause", TS, "NaN", "tv"),
        ("e11", "u1", "c1", "pause", TS, "-42", "tv"),
        ("e12", "u1", "c999", "play", TS, None, "tv"),
        ("e1", "u1", "c1", "play", TS, None, "tv"),
        ("e14", "u1", "c1", "play", None, None, None, "e14,u1,c1,play"),
        ("e15", "u1", "c1", "play", None, None, "tv"),
    ]
    reasons = sorted(
        (row.event_id or "", row[REASON] or "") for row in checked(spark, rows).collect()
    )
    assert reasons == sorted(
        [
            ("e1", ""),
            ("e2", ""),
            ("", "missing_event_id"),
            ("e4", "missing_user_id"),
            ("e5", "missing_content_id"),
            ("e6", "invalid_event_type"),
            ("e7", "invalid_timestamp"),
            ("e8", "future_timestamp"),
            ("e9", "invalid_watch_seconds"),
            ("e10", "invalid_watch_seconds"),
            ("e11", "negative_watch_seconds"),
            ("e12", "unknown_content_id"),
            ("e1", "duplicate_event"),
            ("e14", "malformed_row"),
            ("e15", "missing_timestamp"),
        ]
    )


def test_late_events_are_valid_and_keep_their_own_date(spark):
    rows = [("e1", "u1", "c1", "play", "2026-10-30T23:30:00+01:00", None, "tv")]
    valid_df, _ = split_rejected(checked(spark, rows))
    events_df = typed_events(valid_df)

    expected_df = spark.createDataFrame(
        [
            (
                "e1",
                "u1",
                "c1",
                "play",
                datetime(2026, 10, 30, 22, 30),
                date(2026, 10, 30),
                None,
                "tv",
            )
        ],
        events_df.schema,
    )
    assert_df_equality(events_df, expected_df)


def test_events_already_ingested_by_another_day_are_duplicates(spark):
    rows = [("e1", "u1", "c1", "play", TS, None, "tv"), ("e2", "u1", "c1", "play", TS, None, "tv")]
    ingested_df = spark.createDataFrame([("e2",)], "event_id string")
    marked_df = checked(spark, rows).transform(with_already_ingested_rejected, ingested_df)
    reasons = {row.event_id: row[REASON] for row in marked_df.collect()}
    assert reasons == {"e1": None, "e2": "duplicate_event"}


def test_typed_events_shape(spark):
    rows = [("e2", "u1", "c1", " PAUSE ", TS, "120.5", "tv")]
    valid_df, _ = split_rejected(checked(spark, rows))
    events_df = typed_events(valid_df)
    expected_df = spark.createDataFrame(
        [("e2", "u1", "c1", "pause", datetime(2026, 11, 1, 10), date(2026, 11, 1), 120.5, "tv")],
        events_df.schema,
    )
    assert_df_equality(events_df, expected_df)
