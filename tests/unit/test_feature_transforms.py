from datetime import date
from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import functions as F

from contentlake.dq.rules import Check, bind_run_date
from contentlake.transforms.features import (
    FEATURE_COLUMNS,
    content_daily_features,
    filter_events_in_window,
)

RUN_DATE = date(2026, 11, 28)
EVENTS_SCHEMA = (
    "event_id string, user_id string, content_id string, event_type string, "
    "event_date date, watch_seconds double"
)
FEATURES_SCHEMA = (
    "content_id string, feature_date date, views_1d bigint, views_7d bigint, views_28d bigint, "
    "unique_viewers_7d bigint, unique_viewers_28d bigint, completion_rate_28d double, "
    "mean_watch_fraction_28d double, click_through_rate_28d double, "
    "days_since_last_view int, days_since_release int"
)


def content(spark):
    return spark.createDataFrame(
        [
            ("c1", 1000, date(2026, 11, 18)),
            ("c2", 600, date(2026, 1, 1)),
            ("c3", 300, date(2026, 12, 1)),
        ],
        "content_id string, duration_seconds int, release_date date",
    )


def test_window_is_inclusive_of_both_ends(spark):
    events_df = spark.createDataFrame(
        [
            ("e1", "u1", "c1", "play", date(2026, 11, 22), None),
            ("e2", "u1", "c1", "play", date(2026, 11, 21), None),
            ("e3", "u1", "c1", "play", date(2026, 11, 28), None),
            ("e4", "u1", "c1", "play", date(2026, 11, 29), None),
        ],
        EVENTS_SCHEMA,
    )
    kept = {row.event_id for row in filter_events_in_window(events_df, RUN_DATE, 7).collect()}
    assert kept == {"e1", "e3"}


def test_features_of_every_catalogue_item(spark):
    events_df = spark.createDataFrame(
        [
            # c1: plays today (u1, u2), 3 days ago (u1) and 20 days ago (u3)
            ("e1", "u1", "c1", "play", date(2026, 11, 28), None),
            ("e2", "u2", "c1", "play", date(2026, 11, 28), None),
            ("e3", "u1", "c1", "play", date(2026, 11, 25), None),
            ("e4", "u3", "c1", "play", date(2026, 11, 8), None),
            ("e5", "u1", "c1", "complete", date(2026, 11, 28), 1000.0),
            ("e6", "u2", "c1", "pause", date(2026, 11, 28), 250.0),
            ("e7", "u1", "c1", "impression", date(2026, 11, 27), None),
            ("e8", "u2", "c1", "impression", date(2026, 11, 27), None),
            ("e9", "u3", "c1", "impression", date(2026, 11, 27), None),
            ("e10", "u4", "c1", "impression", date(2026, 11, 27), None),
            ("e11", "u1", "c1", "click", date(2026, 11, 27), None),
            # outside the 28-day window and after the run date: ignored
            ("e12", "u9", "c1", "play", date(2026, 10, 31), None),
            ("e13", "u9", "c1", "play", date(2026, 11, 29), None),
            # c2: one old view; watch beyond the duration is capped at 1.0
            ("e14", "u5", "c2", "play", date(2026, 11, 10), None),
            ("e15", "u5", "c2", "complete", date(2026, 11, 10), 900.0),
        ],
        EVENTS_SCHEMA,
    )
    features_df = content_daily_features(events_df, content(spark), RUN_DATE).select(
        *FEATURE_COLUMNS
    )
    expected_df = spark.createDataFrame(
        [
            ("c1", RUN_DATE, 2, 3, 4, 2, 3, 0.25, 0.625, 0.25, 0, 10),
            ("c2", RUN_DATE, 0, 0, 1, 0, 1, 1.0, 1.0, None, 18, 331),
            ("c3", RUN_DATE, 0, 0, 0, 0, 0, None, None, None, None, -3),
        ],
        FEATURES_SCHEMA,
    )
    assert_df_equality(features_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_completion_rate_counts_a_viewer_s_completes_up_to_their_plays(spark):
    events_df = spark.createDataFrame(
        [
            # c1: u1 plays once and completes twice; u2 completes without playing
            ("e1", "u1", "c1", "play", date(2026, 11, 27), None),
            ("e2", "u1", "c1", "complete", date(2026, 11, 27), 1000.0),
            ("e3", "u1", "c1", "complete", date(2026, 11, 28), 1000.0),
            ("e4", "u2", "c1", "complete", date(2026, 11, 28), 1000.0),
            # c2: u3 plays twice and completes once, u4 plays twice: 1 of 4 plays completed
            ("e5", "u3", "c2", "play", date(2026, 11, 20), None),
            ("e6", "u3", "c2", "play", date(2026, 11, 21), None),
            ("e7", "u3", "c2", "complete", date(2026, 11, 21), 600.0),
            ("e8", "u4", "c2", "play", date(2026, 11, 22), None),
            ("e9", "u4", "c2", "play", date(2026, 11, 22), None),
            # c3: completes only, no play: no rate
            ("e10", "u5", "c3", "complete", date(2026, 11, 22), 300.0),
        ],
        EVENTS_SCHEMA,
    )
    features_df = content_daily_features(events_df, content(spark), RUN_DATE).select(
        "content_id", "views_28d", "completion_rate_28d"
    )
    expected_df = spark.createDataFrame(
        [("c1", 1, 1.0), ("c2", 4, 0.25), ("c3", 0, None)],
        "content_id string, views_28d bigint, completion_rate_28d double",
    )
    assert_df_equality(features_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_the_completion_rate_check_flags_rates_outside_the_unit_range(spark):
    path = (
        Path(__file__).parents[2]
        / "sql/dq/content_daily_features/completion_rate_in_unit_range.sql"
    )
    check = Check.from_file(path)
    assert (check.severity, check.kind) == ("fail", "row")
    features_df = spark.createDataFrame(
        [
            ("c1", RUN_DATE, 1.0),
            ("c2", RUN_DATE, 0.0),
            ("c3", RUN_DATE, None),
            ("c4", RUN_DATE, 1.5),
            ("c5", RUN_DATE, -0.1),
            ("c6", date(2026, 11, 27), 3.0),  # another day's row: not this run's
        ],
        "content_id string, feature_date date, completion_rate_28d double",
    )
    flagged_df = features_df.filter(F.expr(bind_run_date(check.predicate, RUN_DATE)))
    assert sorted(row.content_id for row in flagged_df.collect()) == ["c4", "c5"]
