"""What every job repeats, once: the gated write and the one bookkeeping row.

A job is its reads, its transforms and its writes::

    def run(spark, cfg, run_date, run_id):
        with job_run(spark, cfg, JOB, run_date, run_id) as job:
            features_df = ...
            job.gated_write(
                "content_daily_features",
                lambda: features_df.writeTo(...).overwrite(...),
                owned_rows="feature_date = {run_date}",
            )
            return job.finish(rows_in=..., rows_written=...)

:meth:`JobRun.gated_write` notes the table's version, commits the write (retrying a lost
commit race), runs the table's checks and, when a fail-severity check fails, undoes the
run's own rows and raises :class:`~contentlake.dq.rules.DataQualityError`. Leaving the
block writes the run's single ``job_runs`` row (its accounting and every check result), in
one commit, whether the run succeeded or stopped on :class:`~contentlake.errors.JobFailed`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TypeVar

from pyspark.sql import SparkSession

from contentlake.commit_tags import tagged_commits
from contentlake.config import Config
from contentlake.delta_commits import commit_with_retry
from contentlake.dq.engine import log_results, run_checks_of_tables
from contentlake.dq.rules import CheckResult, DataQualityError
from contentlake.dq.store import undo_run
from contentlake.errors import JobFailed
from contentlake.job_runs import JobResult, default_run_id, record_job_run
from contentlake.stage_clock import StageClock, running, timed
from contentlake.tables import require_lakehouse, table_version

T = TypeVar("T")
logger = logging.getLogger(__name__)


class JobRun:
    """One job for one run date: its gated writes, its check results, its accounting."""

    def __init__(self, spark: SparkSession, cfg: Config, job: str, run_date: date, run_id: str):
        self.spark = spark
        self.cfg = cfg
        self.job = job
        self.run_date = run_date
        self.run_id = run_id
        self.clock = StageClock()
        self.checks: list[CheckResult] = []
        self.result: JobResult | None = None

    def gated_write(
        self,
        table: str,
        write: Callable[[], T],
        *,
        owned_rows: str | None = None,
        quarantined: Mapping[str, int] | Callable[[T], Mapping[str, int]] | None = None,
        also_check: Sequence[str] = (),
    ) -> T:
        """Commit ``write`` to ``table`` (retried on a lost race), then gate it.

        ``write`` must be a whole idempotent unit (MERGE, or an overwrite of the run's own
        rows) whose DataFrames re-plan on each attempt. ``owned_rows`` is the predicate
        (with ``{run_date}``) of the rows the run owns: a failed gate puts back only those;
        without it the table is RESTOREd to its version before the write. ``quarantined``
        (or a function of the write's outcome giving it) counts the rows each quarantine
        check moved aside before the write. ``also_check`` names tables the write also
        filled (a quarantine table): their checks share the fused scan and run with its checks.
        """
        version_before = table_version(self.spark, table)
        outcome = commit_with_retry(write, table, self.cfg.writes)
        moved = quarantined(outcome) if callable(quarantined) else quarantined
        self.check(
            table,
            version_before=version_before,
            owned_rows=owned_rows,
            quarantined=moved,
            also=also_check,
        )
        return outcome

    def check(
        self,
        table: str,
        *,
        version_before: int | None = None,
        owned_rows: str | None = None,
        quarantined: Mapping[str, int] | None = None,
        also: Sequence[str] = (),
    ) -> list[CheckResult]:
        """Run the checks of ``table`` and of the tables ``also`` names, together; on a
        failed fail-severity check undo ``table``'s write (when ``version_before`` is given)
        and raise."""
        with timed("dq", count=False):
            versions = {name: table_version(self.spark, name) for name in (table, *also)}
            by_table = run_checks_of_tables(
                self.spark, versions, self.run_date, {table: quarantined or {}}
            )
            results = [result for name in versions for result in by_table[name]]
            log_results(results)
            self.checks += results
            failures = [result for result in results if result.status == "fail"]
            if failures and version_before is not None and versions[table] != version_before:
                undo_run(self.spark, self.cfg, table, version_before, owned_rows, self.run_date)
        if failures:
            raise DataQualityError(failures)
        return by_table[table]

    def finish(
        self,
        rows_in: int,
        rows_written: int,
        rows_quarantined: int = 0,
        details: Mapping[str, object] | None = None,
    ) -> JobResult:
        """The run's result; recorded in ``job_runs`` when the ``job_run`` block ends."""
        self.result = JobResult(
            job=self.job,
            run_date=self.run_date,
            run_id=self.run_id,
            rows_in=rows_in,
            rows_written=rows_written,
            rows_quarantined=rows_quarantined,
            details={key: str(value) for key, value in (details or {}).items()},
            clock=self.clock,
        )
        return self.result


@contextmanager
def job_run(
    spark: SparkSession, cfg: Config, job: str, run_date: date, run_id: str | None = None
) -> Iterator[JobRun]:
    """Run a job's body against a verified lakehouse, then record its one bookkeeping row."""
    run = JobRun(spark, cfg, job, run_date, run_id or default_run_id(run_date))
    # Each commit of the run names it in the table's history (contentlake.lineage).
    tag = tagged_commits(spark, job=job, run_id=run.run_id, run_date=run_date.isoformat())
    with running(run.clock), tag:
        require_lakehouse(spark, cfg)
        try:
            yield run
        except JobFailed as failure:
            record_job_run(spark, cfg, job, run_date, run.run_id, run.checks, error=str(failure))
            raise
        if run.result is None:
            raise RuntimeError(f"job {job} ended without calling finish()")
        record_job_run(spark, cfg, job, run_date, run.run_id, run.checks, result=run.result)
