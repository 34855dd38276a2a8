"""Undo what a run wrote when its gate fails."""

from __future__ import annotations

import logging
from datetime import date

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config, validate_identifier
from contentlake.delta_commits import commit_with_retry
from contentlake.dq.rules import bind_run_date

logger = logging.getLogger(__name__)


def undo_run(
    spark: SparkSession,
    cfg: Config,
    table: str,
    version: int,
    owned_rows: str | None,
    run_date: date,
) -> None:
    """Put ``table`` back as it was at ``version``: only the run's rows, or all of it.

    ``owned_rows`` (a predicate with ``{run_date}``) names the rows the run owns, so that
    another date committed meanwhile by a concurrent backfill survives the undo; without it
    the whole table is RESTOREd. The table's history keeps both the write and the undo.
    """
    table = validate_identifier(table)
    if owned_rows is None:
        logger.warning("restoring %s to version %d after a failed gate", table, version)
        spark.sql(f"restore table {table} to version as of {int(version)}")
        return
    predicate = bind_run_date(owned_rows, run_date)
    logger.warning("putting back %s rows where %s as of version %d", table, predicate, version)
    before_df = spark.sql(f"select * from {table} version as of {int(version)}").where(predicate)
    commit_with_retry(
        lambda: before_df.writeTo(table).overwrite(F.expr(predicate)), table, cfg.writes
    )
