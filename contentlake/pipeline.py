"""The daily pipeline in dependency order, for one Spark session (demo, tests, backfills).

Airflow runs the same jobs as separate spark-submit tasks (``airflow_dags/``); this module
is the in-process equivalent.
"""

from __future__ import annotations

import importlib
import logging
from datetime import date

from pyspark.sql import SparkSession

from contentlake.config import Config
from contentlake.job_runs import JobResult
from contentlake.jobs import DAILY_JOBS
from contentlake.observability import timed_stage

logger = logging.getLogger(__name__)


def run_daily(
    spark: SparkSession, cfg: Config, run_date: date, run_id: str | None = None
) -> list[JobResult]:
    """Every daily job for ``run_date``; stops at the first failing gate."""
    results = []
    for job in (importlib.import_module(f"contentlake.jobs.{name}") for name in DAILY_JOBS):
        with timed_stage(logger, f"{job.JOB} {run_date}"):
            results.append(job.run(spark, cfg, run_date, run_id))
    return results
