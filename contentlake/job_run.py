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
run's own rows and raises :class:`~contentlake.dq.rules.DataQualityError`. A job that
writes several tables for one run date gates them as one unit inside
:meth:`JobRun.gate_together`: their checks run as one batch (one fused scan, one set of
concurrent queries) and a failure undoes every write of the block. Leaving the
block writes the run's single ``job_runs`` row (its accounting and every check result), in
one commit, whether the run succeeded or stopped on :class:`~contentlake.errors.JobFailed`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
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


@dataclass
class _Gate:
    """Committed writes waiting for their checks: what to check and how to undo each."""

    # table -> (its version before the run's first write to it, the rows the run owns)
    undo: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    also: list[str] = field(default_factory=list)
    quarantined: dict[str, Mapping[str, int]] = field(default_factory=dict)


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
        self._open_gate: _Gate | None = None

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
        gate = self._open_gate
        if gate is not None:
            gate.undo.setdefault(table, (version_before, owned_rows))
            gate.also += [name for name in also_check if name not in gate.also]
            gate.quarantined[table] = moved or {}
            return outcome
        self.check(
            table,
            version_before=version_before,
            owned_rows=owned_rows,
            quarantined=moved,
            also=also_check,
        )
        return outcome

    @contextmanager
    def gate_together(self) -> Iterator[None]:
        """Gate the block's writes as one unit, when it ends.

        A job that fills several tables for one run date (pairs, entities and their
        features; provenance and vectors) commits each as the block goes, then the checks
        of all of them run as one batch: one fused scan for every table and one set of
        concurrent queries, instead of one round per write. A failed fail-severity check
        undoes every write of the block (newest first) and raises, so no table keeps rows
        of a run whose other tables were refused. An exception inside the block undoes
        them too: their rows were never checked. A write later in the block may read an
        earlier one's committed rows.
        """
        if self._open_gate is not None:
            raise RuntimeError("gate_together blocks do not nest")
        gate = self._open_gate = _Gate()
        try:
            yield
        except BaseException:
            self._open_gate = None
            try:
                self._undo(gate)
            except Exception:  # the block's own error is the one to report
                logger.exception("could not undo the unchecked writes of %s", self.job)
            raise
        self._open_gate = None
        if gate.undo:
            self._check_tables(
                [*gate.undo, *(name for name in gate.also if name not in gate.undo)],
                gate.undo,
                gate.quarantined,
            )

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
        undo = {} if version_before is None else {table: (version_before, owned_rows)}
        by_table = self._check_tables(
            [table, *(name for name in also if name != table)], undo, {table: quarantined or {}}
        )
        return by_table[table]

    def _check_tables(
        self,
        tables: Sequence[str],
        undo: Mapping[str, tuple[int, str | None]],
        quarantined: Mapping[str, Mapping[str, int]],
    ) -> dict[str, list[CheckResult]]:
        """One batch of checks over ``tables``; on a failure undo the writes in ``undo``."""
        with timed("dq", count=False):
            versions = {name: table_version(self.spark, name) for name in tables}
            by_table = run_checks_of_tables(self.spark, versions, self.run_date, quarantined)
            results = [result for name in versions for result in by_table[name]]
            log_results(results)
            self.checks += results
            failures = [result for result in results if result.status == "fail"]
            if failures:
                self._undo(_Gate(undo=dict(undo)), versions)
        if failures:
            raise DataQualityError(failures)
        return by_table

    def _undo(self, gate: _Gate, versions: Mapping[str, int] | None = None) -> None:
        """Put back each written table of ``gate`` (newest write first) that has moved on."""
        for table, (version_before, owned_rows) in reversed(gate.undo.items()):
            now = versions[table] if versions else table_version(self.spark, table)
            if now != version_before:
                undo_run(self.spark, self.cfg, table, version_before, owned_rows, self.run_date)

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
