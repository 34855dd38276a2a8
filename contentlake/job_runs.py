"""Row accounting of each job run, recorded in the ``job_runs`` table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from contentlake.config import Config
from contentlake.delta_commits import commit_with_retry


def default_run_id(run_date: date) -> str:
    """The run id of a run started by hand rather than by a scheduler."""
    return f"manual__{run_date.isoformat()}"


@dataclass(frozen=True)
class JobResult:
    """What a job read and wrote for one run date.

    ``rows_in == rows_written + rows_quarantined`` holds for every ingest: a row is either
    in the target table or in its quarantine table with a reason, never dropped.
    """

    job: str
    run_date: date
    run_id: str
    rows_in: int
    rows_written: int
    rows_quarantined: int = 0
    details: dict[str, str] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.rows_in == self.rows_written + self.rows_quarantined


def record_job_run(spark: SparkSession, cfg: Config, result: JobResult) -> None:
    """Upsert the run's row in ``job_runs``; a rerun of the same date replaces it."""
    finished_at = datetime.now(timezone.utc).replace(tzinfo=None)
    row_df = spark.createDataFrame(
        [
            (
                result.job,
                result.run_date,
                result.run_id,
                result.rows_in,
                result.rows_written,
                result.rows_quarantined,
                {key: str(value) for key, value in result.details.items()},
                finished_at,
            )
        ],
        "job string, run_date date, run_id string, rows_in bigint, rows_written bigint, "
        "rows_quarantined bigint, details map<string,string>, finished_at timestamp",
    )
    commit_with_retry(
        lambda: (
            DeltaTable.forName(spark, f"{cfg.database}.job_runs")
            .alias("t")
            .merge(row_df.alias("s"), "t.job = s.job and t.run_date = s.run_date")
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        ),
        "job_runs",
        cfg.writes,
    )
