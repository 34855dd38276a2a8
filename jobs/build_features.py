"""Build the run date's daily content features into ``content_daily_features``.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/build_features.py --run-date 2026-11-01

The ``feature_date = run_date`` partition is replaced in one commit, so a rerun (or a
backfill after late events arrived) rewrites the day and nothing else.
"""

from __future__ import annotations

import logging
import sys
from datetime import date

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from contentlake.config import Config
from contentlake.delta_commits import commit_with_retry
from contentlake.job_cli import job_main
from contentlake.job_runs import JobResult, default_run_id, record_job_run
from contentlake.observability import timed_stage
from contentlake.quality import run_table_checks
from contentlake.tables import ensure_tables, table_version
from contentlake.transforms.features import FEATURE_COLUMNS, content_daily_features

JOB = "build_features"
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    run_id = run_id or default_run_id(run_date)
    ensure_tables(spark, cfg)
    version_before = table_version(spark, "content_daily_features")
    content_df = spark.table("content")
    features_df = content_daily_features(spark.table("events"), content_df, run_date).select(
        *FEATURE_COLUMNS
    )
    with timed_stage(logger, "write content_daily_features"):
        commit_with_retry(
            lambda: features_df.writeTo("content_daily_features").overwrite(
                F.col("feature_date") == F.lit(run_date)
            ),
            "content_daily_features",
            cfg.writes,
        )
    written = spark.table("content_daily_features").filter(F.col("feature_date") == F.lit(run_date))
    result = JobResult(
        job=JOB,
        run_date=run_date,
        run_id=run_id,
        rows_in=content_df.count(),
        rows_written=written.count(),
    )
    with timed_stage(logger, "dq content_daily_features"):
        run_table_checks(
            spark,
            cfg,
            "content_daily_features",
            run_date,
            run_id,
            restore_version=version_before,
            run_rows="feature_date = {run_date}",
        )
    record_job_run(spark, cfg, result)
    return result


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
