"""Write an ingest's valid rows to its target and the rest to its quarantine table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from contentlake.transforms.validation import REASON, split_rejected


@dataclass(frozen=True)
class SplitCounts:
    written: int
    quarantined: int
    reasons: dict[str, str]


def write_valid_and_quarantine(
    checked_df: DataFrame,
    write_valid: Callable[[DataFrame], None],
    quarantine_rows: Callable[[DataFrame, date], DataFrame],
    quarantine_table: str,
    run_date: date,
) -> SplitCounts:
    """Split ``checked_df`` on its reject reason and write both halves.

    The quarantine write replaces the run date's earlier rows in one commit, so a rerun
    leaves the same rows. ``checked_df`` is cached for the duration: both writes and the
    counts read it.
    """
    checked_df = checked_df.cache()
    try:
        valid_df, rejected_df = split_rejected(checked_df)
        write_valid(valid_df)
        quarantine_rows(rejected_df, run_date).writeTo(quarantine_table).overwrite(
            F.col("_ingest_date") == F.lit(run_date)
        )
        return SplitCounts(
            written=valid_df.count(),
            quarantined=rejected_df.count(),
            reasons=reason_counts(rejected_df),
        )
    finally:
        checked_df.unpersist()


def reason_counts(rejected_df: DataFrame) -> dict[str, str]:
    """Quarantined rows per reason, as ``quarantined.<reason>`` -> count."""
    rows = rejected_df.groupBy(REASON).count().collect()
    return {f"quarantined.{row[0]}": str(row[1]) for row in sorted(rows)}
