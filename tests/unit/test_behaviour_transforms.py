"""Implicit-feedback ratings from events, exactly."""

from __future__ import annotations

from datetime import date

from chispa import assert_df_equality

from contentlake.transforms.behaviour import (
    filter_event_window,
    filter_min_users,
    implicit_ratings,
    with_dense_ids,
)

EVENTS = (
    "user_id string, content_id string, event_type string, event_date date, watch_seconds double"
)
WEIGHTS = {"impression": 0.0, "play": 1.0, "complete": 2.0, "like": 3.0}


def test_confidence_sums_event_weights_plus_the_largest_watched_fraction(spark):
    events_df = spark.createDataFrame(
        [
            ("u1", "a", "play", date(2026, 11, 1), 25.0),
            ("u1", "a", "complete", date(2026, 11, 1), 50.0),  # half of a's 100 s
            ("u1", "b", "like", date(2026, 11, 1), None),
            ("u2", "a", "play", date(2026, 11, 1), 400.0),  # rewatched: capped at 1
            ("u2", "b", "impression", date(2026, 11, 1), None),  # nothing: dropped
            ("u3", "z", "play", date(2026, 11, 1), 10.0),  # unknown duration: no fraction
            ("u3", "a", "share", date(2026, 11, 1), None),  # no weight given: 0, dropped
        ],
        EVENTS,
    )
    content_df = spark.createDataFrame(
        [("a", 100), ("b", 0)], "content_id string, duration_seconds int"
    )

    ratings_df = implicit_ratings(events_df, content_df, WEIGHTS, watch_weight=2.0)

    expected = spark.createDataFrame(
        [("u1", "a", 1.0 + 2.0 + 2.0 * 0.5), ("u1", "b", 3.0), ("u2", "a", 1.0 + 2.0 * 1.0),
         ("u3", "z", 1.0)],
        "user_id string, content_id string, confidence float",
    )  # fmt: skip
    assert_df_equality(ratings_df, expected, ignore_row_order=True, ignore_nullable=True)


def test_the_window_keeps_the_days_up_to_the_run_date_and_min_users_drops_rare_items(spark):
    events_df = spark.createDataFrame(
        [
            ("u1", "a", "play", date(2026, 10, 29), None),  # first day of a 3-day window
            ("u2", "a", "play", date(2026, 10, 28), None),  # one day before it
            ("u1", "b", "play", date(2026, 10, 31), None),
            ("u1", "c", "play", date(2026, 11, 1), None),  # after the run date
        ],
        EVENTS,
    )
    windowed_df = filter_event_window(events_df, date(2026, 10, 31), window_days=3)
    assert sorted(r["event_date"] for r in windowed_df.collect()) == [
        date(2026, 10, 29),
        date(2026, 10, 31),
    ]

    ratings_df = spark.createDataFrame(
        [("u1", "a", 1.0), ("u2", "a", 1.0), ("u1", "b", 1.0), ("u1", "b", 2.0)],
        "user_id string, content_id string, confidence float",
    )
    expected = spark.createDataFrame(
        [("u1", "a", 1.0), ("u2", "a", 1.0)], "user_id string, content_id string, confidence float"
    )
    assert_df_equality(
        filter_min_users(ratings_df, 2), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_dense_ids_number_distinct_values_from_zero_in_sorted_order(spark):
    ratings_df = spark.createDataFrame(
        [("u9", "b", 1.0), ("u10", "a", 2.0), ("u9", "a", 3.0), ("u2", "c", 1.0)],
        "user_id string, content_id string, confidence double",
    )

    indexed_df = ratings_df.transform(with_dense_ids, "user_id", "user_idx")

    # String order: u10 < u2 < u9; each user keeps one id on all of its rows.
    expected = spark.createDataFrame(
        [("u10", "a", 2.0, 0), ("u2", "c", 1.0, 1), ("u9", "a", 3.0, 2), ("u9", "b", 1.0, 2)],
        "user_id string, content_id string, confidence double, user_idx int",
    )
    assert_df_equality(
        indexed_df.select(*expected.columns),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
