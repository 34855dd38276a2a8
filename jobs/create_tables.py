"""Create (or complete) the lakehouse's database and tables: the DAG's first task.

    spark-submit --packages io.delta:delta-spark_4.1_2.13:4.4.0 \\
        jobs/create_tables.py --run-date 2026-11-01

Every statement of ``sql/ddl`` is safe to run again, so the task is a no-op on a
lakehouse that has them all; the daily jobs only verify that the tables exist. Takes the
jobs' arguments so that every task of the DAG is called alike; the run date is unused.
"""

from __future__ import annotations

import sys
from datetime import date

from pyspark.sql import SparkSession

from contentlake.config import Config
from contentlake.job_cli import job_main
from contentlake.job_runs import JobResult, default_run_id
from contentlake.tables import declared_tables, ensure_tables

JOB = "create_tables"


def run(spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None) -> JobResult:
    ensure_tables(spark, cfg)
    tables = declared_tables()
    return JobResult(
        job=JOB,
        run_date=run_date,
        run_id=run_id or default_run_id(run_date),
        rows_in=0,
        rows_written=0,
        details={"tables": ",".join(tables)},
    )


def main(argv: list[str] | None = None) -> int:
    return job_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
