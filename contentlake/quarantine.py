"""Write an ingest's valid rows to its target and the rest to its quarantine table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from contentlake.transforms.validation import REASON, split_rejected, with_reject_reason


@dataclass(frozen=True)
class SplitCounts:
    rows_in: int
    written: int
    quarantined: int
    reasons: dict[str, str]


def write_valid_and_quarantine(
    checked_df: DataFrame,
    stage: Callable[[DataFrame], DataFrame],
    write_valid: Callable[[DataFrame], None],
    quarantine_rows: Callable[[DataFrame, date], DataFrame],
    quarantine_table: str,
    run_date: date,
    check_rules: Sequence[tuple[str, Column]] = (),
    key: str = "record_key",
) -> SplitCounts:
    """Split ``checked_df`` on its reject reason and write both halves.

    ``stage`` turns valid rows into the target table's shape plus ``source_file`` and
    ``raw_record``. The quarantine-severity data-quality checks (``check_rules``) then judge
    the staged rows, so rows they reject go to quarantine with the check's name instead of
    ever reaching the target. The quarantine write replaces the run date's earlier rows in
    one commit, so a rerun leaves the same rows. ``checked_df`` and the judged staged rows
    are cached for the duration: both writes and the counts read them.
    """
    checked_df = checked_df.cache()
    staged_df = None
    try:
        valid_df, rejected_df = split_rejected(checked_df)
        # Checks may scope themselves to the run's rows (``_ingest_date = {run_date}``).
        staged_df = stage(valid_df).withColumn("_ingest_date", F.lit(run_date))
        staged_df = with_reject_reason(staged_df, check_rules).cache()
        passed_df, check_rejected_df = split_rejected(staged_df)
        write_valid(passed_df)
        quarantined_df = quarantine_rows(rejected_df, run_date).unionByName(
            check_quarantine_rows(check_rejected_df, key, run_date), allowMissingColumns=True
        )
        quarantined_df.writeTo(quarantine_table).overwrite(F.col("_ingest_date") == F.lit(run_date))
        # Both counts come from the cached rows, one group-by each: rows in = valid rows
        # (null reason) + rejected rows; of the valid ones, the checks rejected some.
        checked = reason_counts(checked_df)
        judged = reason_counts(staged_df)
        by_reason = Counter({r: n for r, n in checked.items() if r is not None})
        by_reason.update({r: n for r, n in judged.items() if r is not None})
        reasons = {f"quarantined.{r}": str(n) for r, n in sorted(by_reason.items())}
        return SplitCounts(
            rows_in=sum(checked.values()),
            written=judged.get(None, 0),
            quarantined=sum(int(count) for count in reasons.values()),
            reasons=reasons,
        )
    finally:
        if staged_df is not None:
            staged_df.unpersist()
        checked_df.unpersist()


def check_quarantine_rows(rejected_df: DataFrame, key: str, run_date: date) -> DataFrame:
    """Staged rows a data-quality check rejected, in the quarantine table's shape."""
    return rejected_df.select(
        F.col(REASON).alias("reason"),
        F.col(key).cast("string").alias("record_key"),
        "raw_record",
        "source_file",
        F.col(REASON).alias("check_name"),
        F.lit(run_date).alias("_ingest_date"),
    )


def quarantined_by_check(counts: SplitCounts, check_names: Sequence[str]) -> dict[str, int]:
    """How many rows each named check moved to quarantine in this run."""
    return {name: int(counts.reasons.get(f"quarantined.{name}", 0)) for name in check_names}


def reason_counts(judged_df: DataFrame) -> dict[str | None, int]:
    """Rows per reject reason; valid rows are counted under None."""
    return {row[0]: int(row[1]) for row in judged_df.groupBy(REASON).count().collect()}
