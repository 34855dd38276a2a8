from datetime import date, datetime

import pytest
from chispa import assert_df_equality

from contentlake.transforms.relevance import (
    HeldOutWindow,
    held_out_window,
    relevance_judgments,
)

WINDOW = HeldOutWindow(date(2026, 11, 22), date(2026, 11, 28))
EVENTS_SCHEMA = (
    "user_id string, content_id string, event_type string, event_ts timestamp, "
    "event_date date, watch_seconds double"
)
JUDGMENTS_SCHEMA = "query_id string, content_id string, grade int"


def at(day: int, hour: int, minute: int = 0) -> tuple[datetime, date]:
    return datetime(2026, 11, day, hour, minute), date(2026, 11, day)


def event(user, item, kind, when, watched=None):
    return (user, item, kind, *when, watched)


@pytest.fixture(scope="module")
def content_df(spark):
    return spark.createDataFrame(
        [("c1", 100), ("c2", 200), ("c3", 100), ("c4", None), ("c5", 100)],
        "content_id string, duration_seconds int",
    )


@pytest.fixture(scope="module")
def events_df(spark):
    rows = [
        # u1 clicks c1, watches 30% of it, completes c2, then watches 60% of c5; c3 is
        # only shown, which is no engagement.
        event("u1", "c3", "impression", at(24, 9)),
        event("u1", "c1", "click", at(24, 10)),
        event("u1", "c1", "play", at(24, 10, 1)),
        event("u1", "c1", "pause", at(24, 10, 5), 30.0),
        event("u1", "c2", "play", at(24, 11)),
        event("u1", "c2", "complete", at(24, 11, 30), 195.0),
        event("u1", "c5", "play", at(24, 12)),
        event("u1", "c5", "pause", at(24, 12, 10), 60.0),
        # u2 likes c1 without watching it, watches 30% of c2, 20% of c5 (too little to
        # judge) and completes c4, whose duration is unknown.
        event("u2", "c1", "like", at(23, 8)),
        event("u2", "c2", "play", at(23, 9)),
        event("u2", "c2", "pause", at(23, 9, 10), 60.0),
        event("u2", "c5", "play", at(23, 10)),
        event("u2", "c5", "pause", at(23, 10, 5), 20.0),
        event("u2", "c4", "play", at(23, 11)),
        event("u2", "c4", "complete", at(23, 11, 50), 50.0),
        # u3's c1 lies before the window and c3 after it: c2 alone makes no pair.
        event("u3", "c1", "click", at(21, 20)),
        event("u3", "c2", "complete", at(22, 9), 200.0),
        event("u3", "c3", "complete", at(29, 9), 100.0),
        # u4 starts c1 and c2 at the same instant: neither comes after the other.
        event("u4", "c1", "play", at(25, 10)),
        event("u4", "c1", "pause", at(25, 10, 30), 100.0),
        event("u4", "c2", "play", at(25, 10)),
        event("u4", "c2", "pause", at(25, 10, 30), 200.0),
    ]
    return spark.createDataFrame(rows, EVENTS_SCHEMA)


def test_judgments_grade_later_watches_and_keep_each_query_s_best(
    spark, events_df, content_df
) -> None:
    # Pairs before the bound: c1->c2 (u1 grade 3, u2 grade 1), c1->c5 (2), c1->c4 (3),
    # c2->c5 (2), c2->c4 (3), c5->c4 (3). Two per query keeps c1's grade-3 pairs, c2 (two
    # users) before c4 (one).
    expected_df = spark.createDataFrame(
        [
            ("c1", "c2", 3),
            ("c1", "c4", 3),
            ("c2", "c4", 3),
            ("c2", "c5", 2),
            ("c5", "c4", 3),
        ],
        JUDGMENTS_SCHEMA,
    )

    actual_df = relevance_judgments(events_df, content_df, WINDOW, max_judgments_per_query=2)

    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_judgments_use_each_user_s_first_items_and_enough_users(
    spark, events_df, content_df
) -> None:
    # Two items per user keeps u1's and u2's c1 and c2: only c1->c2 has two users.
    expected_df = spark.createDataFrame([("c1", "c2", 3)], JUDGMENTS_SCHEMA)

    actual_df = relevance_judgments(
        events_df, content_df, WINDOW, max_items_per_user=2, min_users=2
    )

    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_the_held_out_window_ends_with_the_run_date() -> None:
    assert held_out_window(date(2026, 11, 28), 7) == WINDOW
    assert WINDOW.days == 7
    with pytest.raises(ValueError):
        held_out_window(date(2026, 11, 28), 0)
