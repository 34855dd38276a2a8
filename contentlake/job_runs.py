"""Each job run's bookkeeping row: its row accounting and its checks.

Appended to ``job_run_attempts``; the view ``job_runs`` shows the latest attempt of each job
and run date, and ``dq_results`` its checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from pyspark.sql import SparkSession

from contentlake.config import Config
from contentlake.delta_commits import commit_with_retry
from contentlake.dq.rules import CheckResult
from contentlake.driver_rows import local_frame
from contentlake.stage_clock import StageClock, timed

ATTEMPTS_TABLE = "job_run_attempts"
JOB_RUN_SCHEMA = (
    "job string, run_date date, run_id string, status string, rows_in bigint, "
    "rows_written bigint, rows_quarantined bigint, details map<string,string>, "
    "checks array<struct<table_name: string, table_version: bigint, check_name: string, "
    "severity: string, violation_count: bigint, sample_keys: array<string>, "
    "check_kind: string, observed_value: double, status: string, duration_ms: bigint>>, "
    "finished_at timestamp"
)


def default_run_id(run_date: date) -> str:
    """The run id of a run started by hand rather than by a scheduler."""
    return f"manual__{run_date.isoformat()}"


@dataclass(frozen=True)
class JobResult:
    """What a job read and wrote for one run date.

    ``rows_in == rows_written + rows_quarantined`` holds for every ingest: a row is either
    in the target table or in its quarantine table with a reason, never dropped.
    ``clock`` says where the run's seconds went (see :mod:`contentlake.stage_clock`).
    """

    job: str
    run_date: date
    run_id: str
    rows_in: int
    rows_written: int
    rows_quarantined: int = 0
    details: dict[str, str] = field(default_factory=dict)
    clock: StageClock | None = field(default=None, compare=False, repr=False)

    @property
    def reconciles(self) -> bool:
        return self.rows_in == self.rows_written + self.rows_quarantined


def record_job_run(
    spark: SparkSession,
    cfg: Config,
    job: str,
    run_date: date,
    run_id: str,
    checks: list[CheckResult],
    result: JobResult | None = None,
    error: str | None = None,
) -> None:
    """Record the run as a new attempt, in one commit (a blind append: it never conflicts).

    With ``result`` the run succeeded; without it the run stopped on ``error`` and its row
    counts are null. ``job_runs`` then shows this attempt for (job, run date).
    """
    finished_at = datetime.now(timezone.utc).replace(tzinfo=None)
    details = dict(result.details) if result else {}
    if error:
        details["error"] = error
    row = (
        job,
        run_date,
        run_id,
        "succeeded" if result else "failed",
        result.rows_in if result else None,
        result.rows_written if result else None,
        result.rows_quarantined if result else None,
        {key: str(value) for key, value in details.items()},
        [
            (
                r.check.table,
                r.table_version,
                r.check.name,
                r.check.severity,
                r.violation_count,
                list(r.sample_keys),
                r.check.kind,
                r.observed_value,
                r.status,
                r.duration_ms,
            )
            for r in checks
        ],
        finished_at,
    )
    row_df = local_frame(spark, [row], JOB_RUN_SCHEMA)
    table = f"{cfg.database}.{ATTEMPTS_TABLE}"
    with timed("bookkeeping", count=False):
        commit_with_retry(lambda: row_df.writeTo(table).append(), ATTEMPTS_TABLE, cfg.writes)
