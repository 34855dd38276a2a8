"""Rejection reasons shared by every ingest: first failing rule wins, null means valid."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

REASON = "_reject_reason"

# Explicit patterns: without one Spark also accepts 'yesterday', 'now' and friends, which
# would turn a bad landing value into a timestamp that depends on the wall clock.
ISO_TIMESTAMP = "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]XXX"
ISO_DATE = "yyyy-MM-dd"


def parse_iso_timestamp(raw: Column) -> Column:
    """ISO-8601 timestamp with offset (``2026-11-01T03:15:00Z``), null if unreadable."""
    return F.try_to_timestamp(raw, F.lit(ISO_TIMESTAMP))


def parse_iso_date(raw: Column) -> Column:
    """``YYYY-MM-DD`` date, null if unreadable."""
    return F.to_date(F.try_to_timestamp(raw, F.lit(ISO_DATE)))


def with_reject_reason(df: DataFrame, rules: Sequence[tuple[str, Column]]) -> DataFrame:
    """Add ``_reject_reason``: the name of the first rule whose condition holds.

    Rules are checked in order so that each bad row carries one specific reason, and a
    row already rejected keeps its first reason.
    """
    reason = F.lit(None).cast("string")
    for name, condition in reversed(rules):
        reason = F.when(F.coalesce(condition, F.lit(False)), F.lit(name)).otherwise(reason)
    if REASON in df.columns:
        reason = F.coalesce(F.col(REASON), reason)
    return df.withColumn(REASON, reason)


def with_duplicate_rejected(
    df: DataFrame, keys: Sequence[str], order_by: Sequence[Column], reason: str
) -> DataFrame:
    """Reject every still-valid row after the first of its ``keys`` group as ``reason``.

    Only valid rows are numbered: a copy already rejected for something else (a bad
    timestamp, a negative watch time) keeps its own reason and never displaces a valid copy
    of the same key, however it sorts. Among valid copies the first by ``order_by`` wins, so
    ``order_by`` must be a total order over everything the row writes (end it with the raw
    record): then input order and partitioning cannot change which copy lands, and a rerun
    keeps the same one.
    """
    valid = F.col(REASON).isNull()
    window = Window.partitionBy(*keys, valid).orderBy(*order_by)
    rank = F.row_number().over(window)
    return df.withColumn(REASON, F.when(valid & (rank > 1), F.lit(reason)).otherwise(F.col(REASON)))


def is_not_one_of(value: Column, accepted: Sequence[str]) -> Column:
    """True when ``value`` is missing or outside ``accepted``; never null.

    ``NOT (x IN (...))`` is null for a null ``x``, and a null rule condition lets the row
    through: a blank value would then reach a NOT NULL column and fail the whole write.
    """
    return ~F.coalesce(value.isin(*accepted), F.lit(False))


def split_rejected(df: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(valid rows without the reason column, rejected rows with it)."""
    valid_df = df.filter(F.col(REASON).isNull()).drop(REASON)
    rejected_df = df.filter(F.col(REASON).isNotNull())
    return valid_df, rejected_df


def is_unparseable(raw: Column, typed: Column) -> Column:
    """A value was given but could not be read as its type."""
    return raw.isNotNull() & (F.trim(raw) != "") & typed.isNull()
