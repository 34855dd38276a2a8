"""Graded relevance judgments from behaviour in a held-out window: "after engaging with
item A, users went on to watch B this far".

A query item is any item a user engaged with (any event but an impression, which only
says the item was shown). A later item is one the same user started watching (play,
pause or complete) strictly after that first engagement. Its grade is how much of it the
user watched:

====  ============================================================================
3     completed: a ``complete`` event, or a watch fraction >= 0.9 (credits are skipped)
2     watch fraction >= 0.5
1     watch fraction >= 0.25
====  ============================================================================

The watch fraction is the user's furthest ``watch_seconds`` on the item over its
``duration_seconds``, capped at 1. A watch below a quarter, or one whose fraction is
unknown (no pause or complete, or no duration), is no evidence of relevance and makes no
judgment.

Over users a pair keeps its best grade: one viewer finishing B after A shows B can
satisfy A's audience, and a mean would punish items that split that audience. How many
users back a pair only ranks the judgments within a query, where they are bounded.

Bounds, so the judgments stay small enough to collect on the driver at any scale:
a user contributes only their first ``max_items_per_user`` engaged items of the window
(at most n*(n-1) pairs each), a query keeps its ``max_judgments_per_query`` best
judgments, and ``filter_sampled_queries`` keeps a fixed hash sample of query items.
Every choice breaks ties by id, so the same events always give the same judgments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from contentlake.contract import EVENT_TYPES

ENGAGEMENT_TYPES = tuple(t for t in EVENT_TYPES if t != "impression")
WATCH_TYPES = ("play", "pause", "complete")
# (grade, lowest watch fraction), best first.
GRADE_THRESHOLDS = ((3, 0.9), (2, 0.5), (1, 0.25))
JUDGMENT_COLUMNS = ("query_id", "content_id", "grade")


@dataclass(frozen=True)
class HeldOutWindow:
    """The event dates ``start`` to ``end``, both inclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"held-out window starts {self.start} after it ends {self.end}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def held_out_window(run_date: date, days: int) -> HeldOutWindow:
    """The ``days`` calendar days ending with ``run_date``.

    Held out from the index as long as the embeddings learn from content alone; a model
    trained on events must end its training data before ``start``.
    """
    if days < 1:
        raise ValueError(f"a held-out window needs at least one day, got {days}")
    return HeldOutWindow(run_date - timedelta(days=days - 1), run_date)


def filter_events_in_held_out_window(events_df: DataFrame, window: HeldOutWindow) -> DataFrame:
    """Events whose ``event_date`` lies in ``window``."""
    return events_df.filter(F.col("event_date").between(F.lit(window.start), F.lit(window.end)))


def user_item_engagement(events_df: DataFrame, content_df: DataFrame) -> DataFrame:
    """One row per (user, item) engaged with: when first engaged, when first watched and
    the watch grade (0 when not watched enough to judge).

    (user_id, content_id, first_engaged_ts, first_watched_ts, grade)
    """
    engaged_df = events_df.filter(F.col("event_type").isin(*ENGAGEMENT_TYPES))
    durations_df = content_df.select("content_id", "duration_seconds")
    is_watch = F.col("event_type").isin(*WATCH_TYPES)
    return (
        engaged_df.join(durations_df, on="content_id", how="left")
        .groupBy("user_id", "content_id")
        .agg(
            F.min("event_ts").alias("first_engaged_ts"),
            F.min(F.when(is_watch, F.col("event_ts"))).alias("first_watched_ts"),
            F.max(F.when(is_watch, F.col("watch_seconds"))).alias("watched_seconds"),
            F.max("duration_seconds").alias("duration_seconds"),
            F.max(F.col("event_type") == "complete").alias("completed"),
        )
        .select(
            "user_id",
            "content_id",
            "first_engaged_ts",
            "first_watched_ts",
            _watch_grade().alias("grade"),
        )
    )


def filter_first_items_per_user(engagement_df: DataFrame, max_items: int) -> DataFrame:
    """Each user's first ``max_items`` items by first engagement: bounds the pairs a heavy
    user (or a bot) makes, which grow with the square of their items."""
    order = Window.partitionBy("user_id").orderBy("first_engaged_ts", "content_id")
    return (
        engagement_df.withColumn("_item_rank", F.row_number().over(order))
        .filter(F.col("_item_rank") <= max_items)
        .drop("_item_rank")
    )


def explode_later_watches(engagement_df: DataFrame) -> DataFrame:
    """One row per user, query item and item the user watched after first engaging with
    the query item, graded 1 or more.

    (user_id, query_id, content_id, grade)
    """
    queries_df = engagement_df.select(
        "user_id",
        F.col("content_id").alias("query_id"),
        F.col("first_engaged_ts").alias("query_ts"),
    )
    watches_df = engagement_df.filter(F.col("grade") >= 1).select(
        "user_id", "content_id", "first_watched_ts", "grade"
    )
    return (
        queries_df.join(watches_df, on="user_id", how="inner")
        .filter(
            (F.col("content_id") != F.col("query_id"))
            & (F.col("first_watched_ts") > F.col("query_ts"))
        )
        .select("user_id", "query_id", "content_id", "grade")
    )


def graded_judgments(watches_df: DataFrame, max_per_query: int, min_users: int = 1) -> DataFrame:
    """A pair's best grade over the users who made it, when at least ``min_users`` did;
    per query the ``max_per_query`` best by grade, then users, then id.

    (query_id, content_id, grade)
    """
    best_first = Window.partitionBy("query_id").orderBy(
        F.col("grade").desc(), F.col("users").desc(), F.col("content_id")
    )
    return (
        watches_df.groupBy("query_id", "content_id")
        .agg(F.max("grade").alias("grade"), F.countDistinct("user_id").alias("users"))
        .filter(F.col("users") >= min_users)
        .withColumn("_rank", F.row_number().over(best_first))
        .filter(F.col("_rank") <= max_per_query)
        .select(*JUDGMENT_COLUMNS)
    )


def filter_sampled_queries(judgments_df: DataFrame, max_queries: int) -> DataFrame:
    """The judgments of at most ``max_queries`` query items, picked by a hash of their id.

    A hash sample is unbiased by popularity and stable: an item picked today is picked
    again tomorrow if it still has judgments, so consecutive evaluations share queries.
    """
    sample_df = (
        judgments_df.select("query_id")
        .distinct()
        .orderBy(F.xxhash64("query_id"), "query_id")
        .limit(max_queries)
    )
    return judgments_df.join(sample_df, on="query_id", how="left_semi")


def relevance_judgments(
    events_df: DataFrame,
    content_df: DataFrame,
    window: HeldOutWindow,
    max_items_per_user: int = 100,
    max_judgments_per_query: int = 50,
    min_users: int = 1,
) -> DataFrame:
    """Graded judgments (query_id, content_id, grade) from the events of ``window``."""
    window_df = filter_events_in_held_out_window(events_df, window)
    return (
        user_item_engagement(window_df, content_df)
        .transform(filter_first_items_per_user, max_items_per_user)
        .transform(explode_later_watches)
        .transform(graded_judgments, max_judgments_per_query, min_users)
    )


def _watch_grade() -> Column:
    """The grade of a (user, item) row from its furthest watch and completion."""
    fraction = F.when(
        F.col("duration_seconds") > 0,
        F.least(F.col("watched_seconds") / F.col("duration_seconds"), F.lit(1.0)),
    )
    grade = F.when(F.coalesce(F.col("completed"), F.lit(False)), F.lit(3))
    for level, lowest in GRADE_THRESHOLDS:
        grade = grade.when(fraction >= lowest, F.lit(level))
    return grade.otherwise(F.lit(0)).cast("int")
