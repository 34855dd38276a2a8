"""Daily content features from events and the catalogue, for one feature date."""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

LONGEST_WINDOW_DAYS = 28
# Watch fractions lie in [0, 1]; 14 decimal places keep them as fine as a double's mean needs.
_FRACTION_DECIMAL = "decimal(16,14)"

FEATURE_COLUMNS = (
    "content_id",
    "feature_date",
    "views_1d",
    "views_7d",
    "views_28d",
    "unique_viewers_7d",
    "unique_viewers_28d",
    "completion_rate_28d",
    "mean_watch_fraction_28d",
    "click_through_rate_28d",
    "days_since_last_view",
    "days_since_release",
)


def filter_events_in_window(events_df: DataFrame, run_date: date, days: int) -> DataFrame:
    """Events of the ``days`` calendar days ending with ``run_date`` (inclusive)."""
    first_day = run_date - timedelta(days=days - 1)
    return events_df.filter(F.col("event_date").between(F.lit(first_day), F.lit(run_date)))


def content_daily_features(
    events_df: DataFrame, content_df: DataFrame, run_date: date
) -> DataFrame:
    """One row per catalogue item with its 1/7/28-day behaviour up to ``run_date``.

    Items without events get zero counts and null rates, so the table always covers the
    whole catalogue and a missing row means a missing item, never a quiet day.

    ``completion_rate_28d`` is completed plays over plays (``views_28d``), in [0, 1] by
    construction: a viewer's completes of an item count only up to that viewer's plays of it
    in the window, so a complete without its play (logged alone, or played before the
    window) cannot push the rate above 1. Null when the item has no plays.
    """
    durations_df = content_df.select("content_id", "duration_seconds")
    return daily_features_of_timed_events(
        events_df.join(durations_df, on="content_id", how="left"), content_df, run_date
    )


def daily_features_of_timed_events(
    timed_events_df: DataFrame, items_df: DataFrame, run_date: date
) -> DataFrame:
    """:func:`content_daily_features` of events that already carry the running time
    (``duration_seconds``) of what was watched, for ``items_df`` (``content_id``,
    ``release_date``): entity features re-key each copy's events to its work, and a
    work's copies differ in running time (jobs/resolve_entities.py)."""
    window_df = filter_events_in_window(timed_events_df, run_date, LONGEST_WINDOW_DAYS)
    activity_df = (
        window_df.groupBy("content_id")
        .agg(*_activity_aggregates(run_date))
        .join(_completed_plays(window_df), on="content_id", how="left")
    )

    zero_counts = {name: 0 for name in _COUNT_COLUMNS}
    return (
        items_df.select("content_id", "release_date")
        .join(activity_df, on="content_id", how="left")
        .fillna(zero_counts)
        .select(
            "content_id",
            F.lit(run_date).alias("feature_date"),
            *_COUNT_COLUMNS[:5],
            _ratio("completes_28d", "views_28d").alias("completion_rate_28d"),
            "mean_watch_fraction_28d",
            _ratio("clicks_28d", "impressions_28d").alias("click_through_rate_28d"),
            F.datediff(F.lit(run_date), "last_view_date").alias("days_since_last_view"),
            F.datediff(F.lit(run_date), "release_date").alias("days_since_release"),
        )
    )


_COUNT_COLUMNS = (
    "views_1d",
    "views_7d",
    "views_28d",
    "unique_viewers_7d",
    "unique_viewers_28d",
    "completes_28d",
    "clicks_28d",
    "impressions_28d",
)


def _activity_aggregates(run_date: date) -> list[Column]:
    def within(days: int) -> Column:
        return F.col("event_date") >= F.lit(run_date - timedelta(days=days - 1))

    def is_type(event_type: str) -> Column:
        return F.col("event_type") == event_type

    play = is_type("play")
    watched_fraction = F.least(F.col("watch_seconds") / F.col("duration_seconds"), F.lit(1.0))
    has_fraction = F.col("watch_seconds").isNotNull() & (F.col("duration_seconds") > 0)
    return [
        F.count_if(play & within(1)).alias("views_1d"),
        F.count_if(play & within(7)).alias("views_7d"),
        F.count_if(play).alias("views_28d"),
        F.countDistinct(F.when(play & within(7), F.col("user_id"))).alias("unique_viewers_7d"),
        F.countDistinct(F.when(play, F.col("user_id"))).alias("unique_viewers_28d"),
        F.count_if(is_type("click")).alias("clicks_28d"),
        F.count_if(is_type("impression")).alias("impressions_28d"),
        _exact_mean(F.when(has_fraction, watched_fraction)).alias("mean_watch_fraction_28d"),
        F.max(F.when(play, F.col("event_date"))).alias("last_view_date"),
    ]


def _completed_plays(window_df: DataFrame) -> DataFrame:
    """``completes_28d`` per item: each viewer's completes capped at their plays."""
    per_viewer_df = window_df.groupBy("content_id", "user_id").agg(
        F.least(
            F.count_if(F.col("event_type") == "complete"),
            F.count_if(F.col("event_type") == "play"),
        ).alias("completed_plays")
    )
    return per_viewer_df.groupBy("content_id").agg(F.sum("completed_plays").alias("completes_28d"))


def _exact_mean(fraction: Column) -> Column:
    """The mean of fractions in [0, 1], summed as decimals: a double sum depends on the
    order partial aggregates arrive in, so a rerun or a concurrent backfill would write
    different last bits for the same day and no longer be idempotent by content hash."""
    return F.avg(fraction.cast(_FRACTION_DECIMAL)).cast("double")


def _ratio(numerator: str, denominator: str) -> Column:
    """numerator / denominator, null when there is nothing to divide by."""
    return F.when(F.col(denominator) > 0, F.col(numerator) / F.col(denominator))
