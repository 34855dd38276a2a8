"""Implicit-feedback ratings for ALS from viewer events (jobs/embed_behaviour.py).

A (user, item) pair's confidence grows with what the user did with the item: each event
adds its type's weight (a like says more than a play, an impression nothing), and how much
of the item they watched adds ``watch_weight`` times the largest watched fraction. ALS with
``implicitPrefs`` reads it as ``1 + alpha * confidence`` on a preference of 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window


def filter_event_window(events_df: DataFrame, run_date: date, window_days: int) -> DataFrame:
    """Events of the ``window_days`` days up to and including ``run_date``."""
    first = run_date - timedelta(days=window_days - 1)
    return events_df.filter(F.col("event_date").between(F.lit(first), F.lit(run_date)))


def implicit_ratings(
    events_df: DataFrame,
    content_df: DataFrame,
    event_weights: Mapping[str, float],
    watch_weight: float,
) -> DataFrame:
    """(user_id, content_id, confidence) with confidence > 0, one row per pair.

    The watched fraction is capped at 1 (a rewatch does not make an item more liked than
    watching it whole) and is 0 where the duration is unknown or zero.
    """
    weights = F.create_map(
        *[x for event, w in sorted(event_weights.items()) for x in (F.lit(event), F.lit(w))]
    )
    durations_df = content_df.select("content_id", "duration_seconds")
    fraction = F.when(
        F.col("duration_seconds") > 0,
        F.least(F.coalesce("watch_seconds", F.lit(0.0)) / F.col("duration_seconds"), F.lit(1.0)),
    ).otherwise(F.lit(0.0))
    scored_df = events_df.join(durations_df, on="content_id", how="left").select(
        "user_id",
        "content_id",
        F.coalesce(weights[F.col("event_type")], F.lit(0.0)).alias("event_weight"),
        fraction.alias("watched"),
    )
    ratings_df = scored_df.groupBy("user_id", "content_id").agg(
        (F.sum("event_weight") + F.lit(watch_weight) * F.max("watched")).alias("confidence")
    )
    return ratings_df.filter(F.col("confidence") > 0).select(
        "user_id", "content_id", F.col("confidence").cast("float").alias("confidence")
    )


def filter_min_users(ratings_df: DataFrame, min_users: int) -> DataFrame:
    """Drop the ratings of items fewer than ``min_users`` distinct users rated: a factor fit
    to two viewers says more about them than about the item."""
    kept_df = (
        ratings_df.groupBy("content_id")
        .agg(F.countDistinct("user_id").alias("users"))
        .filter(F.col("users") >= min_users)
        .select("content_id")
    )
    return ratings_df.join(kept_df, on="content_id", how="left_semi").select(*ratings_df.columns)


def with_dense_ids(ratings_df: DataFrame, column: str, out: str) -> DataFrame:
    """``out``: ``column``'s rank (0-based) in sorted order of its distinct values; ALS
    wants integer ids, and sorting makes them the same for the same ratings.

    A ``dense_rank`` over the distinct values, in the JVM: one partition sorts them (a
    value per user or item, a few MB for millions), where numbering an RDD needs Python
    workers and two more jobs."""
    ids_df = (
        ratings_df.select(column)
        .distinct()
        .select(column, (F.dense_rank().over(Window.orderBy(column)) - 1).cast("int").alias(out))
    )
    return ratings_df.join(ids_df, on=column, how="inner")


def ratings_fingerprint_columns(ratings_df: DataFrame) -> DataFrame:
    """One row: the ratings' count and an order-independent checksum (sum of row hashes as
    an exact decimal, so it never overflows), which change when any rating does."""
    row_hash = F.xxhash64("user_id", "content_id", "confidence").cast("decimal(38,0)")
    return ratings_df.agg(
        F.count("*").alias("ratings"), F.coalesce(F.sum(row_hash), F.lit(0)).alias("checksum")
    )
