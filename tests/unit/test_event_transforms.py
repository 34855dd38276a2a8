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


def checked_from(spark, rows, known=("c1", "c2")):
    """Like ``checked``, for (source_file, *7 raw columns) rows."""
    raw_df = spark.createDataFrame(
        [(*row[1:], None, row[0]) for row in rows],
        "event_id string, user_id string, content_id string, event_type string, "
        "event_ts string, watch_seconds string, device string, _corrupt_record string, "
        "source_file string",
    )
    known_df = spark.createDataFrame([(c,) for c in known], "content_id string")
    return raw_df.transform(with_typed_event_columns).transform(
        with_event_reject_reason, known_df, RUN_DATE, timedelta(hours=1)
    )


def test_a_rejected_copy_never_displaces_a_valid_event(spark):
    rows = [
        # Each bad copy sorts before its valid twin: an unreadable timestamp sorts first,
        # and the negative watch time comes from the earlier file.
        ("a.csv", "e1", "u1", "c1", "play", "yesterday", None, "tv"),
        ("a.csv", "e1", "u1", "c1", "play", TS, None, "tv"),
        ("a.csv", "e2", "u1", "c1", "pause", TS, "-5", "tv"),
        ("b.csv", "e2", "u1", "c1", "pause", TS, "30", "tv"),
        # Two valid copies after a rejected one: the second valid copy is the duplicate.
        ("a.csv", "e3", "u1", "c999", "play", TS, None, "tv"),
        ("b.csv", "e3", "u1", "c1", "play", TS, None, "tv"),
        ("c.csv", "e3", "u1", "c1", "play", TS, None, "tv"),
    ]
    outcomes = sorted(
        (row.source_file, row.event_id, row[REASON] or "")
        for row in checked_from(spark, rows).collect()
    )
    assert outcomes == [
        ("a.csv", "e1", ""),
        ("a.csv", "e1", "invalid_timestamp"),
        ("a.csv", "e2", "negative_watch_seconds"),
        ("a.csv", "e3", "unknown_content_id"),
        ("b.csv", "e2", ""),
        ("b.csv", "e3", ""),
        ("c.csv", "e3", "duplicate_event"),
    ]


def test_the_surviving_copy_does_not_depend_on_input_order(spark):
    tv = ("a.csv", "e1", "u1", "c1", "pause", TS, "30", "tv")
    web = ("a.csv", "e1", "u1", "c1", "pause", TS, "30", "web")
    survivors = set()
    for rows, partitions in (([tv, web], 1), ([web, tv], 1), ([web, tv], 2), ([tv, web], 2)):
        checked_df = checked_from(spark, rows).repartition(partitions)
        valid_df, _ = split_rejected(checked_df)
        survivors.add(tuple(valid_df.select("device").first()))
    # Same event time and file: the raw record decides, '"device":"tv"' < '"device":"web"'.
    assert survivors == {("tv",)}


def test_ids_are_trimmed_and_content_ids_matched_case_insensitively(spark):
    rows = [
        (" e1 ", " u1 ", " C1 ", "play", TS, None, "tv"),
        ("e2", "u1", "c2", "play", TS, None, "tv"),
        ("e2 ", "u1", "C2", "play", TS, None, "tv"),
        # event and user ids keep their case: E3 and e3 are two events.
        ("E3", "U1", "c1", "play", TS, None, "tv"),
        ("e3", "u1", "c1", "play", TS, None, "tv"),
    ]
    checked_df = checked(spark, rows)
    valid_df, rejected_df = split_rejected(checked_df)
    events_df = typed_events(valid_df).select("event_id", "user_id", "content_id")

    expected_df = spark.createDataFrame(
        [("e1", "u1", "c1"), ("e2", "u1", "c2"), ("E3", "U1", "c1"), ("e3", "u1", "c1")],
        events_df.schema,
    )
    assert_df_equality(events_df, expected_df, ignore_row_order=True)
    # The copies are one event; the raw record picks the survivor ('"e2 "' < '"e2"').
    assert [(r.event_id, r[REASON]) for r in rejected_df.collect()] == [("e2", "duplicate_event")]


def test_already_ingested_ids_are_matched_after_trimming(spark):
    rows = [(" e2 ", "u1", "c1", "play", TS, None, "tv")]
    ingested_df = spark.createDataFrame([("e2",)], "event_id string")
    marked_df = checked(spark, rows).transform(with_already_ingested_rejected, ingested_df)
    assert [row[REASON] for row in marked_df.collect()] == ["duplicate_event"]


def test_a_blank_or_null_required_field_is_quarantined_never_null_in_events(spark):
    # Spark reads an empty CSV field as null; each row lacks one NOT NULL field of events.
    good = ["e{}", "u1", "c1", "play", TS, "10", "tv"]
    rows = []
    for position in range(5):  # event_id, user_id, content_id, event_type, event_ts
        for value in (None, "", "  "):
            row = [part.format(len(rows)) for part in good]
            row[position] = value
            rows.append(tuple(row))
    valid_df, rejected_df = split_rejected(checked(spark, rows))

    assert valid_df.count() == 0
    assert rejected_df.count() == len(rows)
