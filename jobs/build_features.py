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
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.observability import timed_stage
from contentlake.tables import rows_written_by_last_commit
from contentlake.transforms.features import FEATURE_COLUMNS, content_daily_features

JOB = "build_features"
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        features_df = content_daily_features(
            spark.table("events"), spark.table("content"), run_date
        ).select(*FEATURE_COLUMNS)
        with timed_stage(logger, "write and check content_daily_features"):
            job.gated_write(
                "content_daily_features",
                lambda: features_df.writeTo("content_daily_features").overwrite(
                    F.col("feature_date") == F.lit(run_date)
                ),
                owned_rows="feature_date = {run_date}",
            )
        written = rows_written_by_last_commit(spark, "content_daily_features")
        # One row per catalogue item by construction (and by the covers_catalogue and
        # one_row_per_item checks that just passed): the items read are the rows written.
        return job.finish(rows_in=written, rows_written=written)


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
