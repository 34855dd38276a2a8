"""Weekly table maintenance: compact, checkpoint and vacuum every Delta table.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/maintain_tables.py --run-date 2026-11-08

(``python -m contentlake.submit maintain_tables --run-date ...`` adds every option from
``conf/``.) OPTIMIZE (Z-ORDER where ``maintenance.zorder_by`` says), a checkpoint, and
VACUUM with a retention that keeps every version a kept snapshot names; what it does is in
``contentlake/maintenance.py``. The run date only names the run in ``job_runs``.
"""

from __future__ import annotations

import logging
import sys
from datetime import date

from pyspark.sql import SparkSession

from contentlake.config import Config
from contentlake.job_cli import job_main
from contentlake.job_run import job_run
from contentlake.job_runs import JobResult
from contentlake.maintenance import maintain_tables
from contentlake.observability import timed_stage

JOB = "maintain_tables"
logger = logging.getLogger(__name__)


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    with job_run(spark, cfg, JOB, run_date, run_id) as job:
        with timed_stage(logger, "maintain tables"):
            done = maintain_tables(spark, cfg)
        for table in done:
            logger.info("%s: %s", table.table, table.summary())
        return job.finish(
            rows_in=0,
            rows_written=0,
            details={table.table: table.summary() for table in done},
        )


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
