-- One row per attempt of a job for a run date: what the job read, wrote and quarantined,
-- and the result of every data-quality check it ran, recorded in a single commit. A run
-- stopped by a failed gate records status 'failed', its checks and the error; its row
-- counts are null, since the gate undid what it wrote.
-- Append-only: a blind append never conflicts with a concurrent job and costs a third of an
-- overwrite of the (job, run date) row; job_runs (041) shows each one's latest attempt.
-- Checkpointed by the weekly maintenance (a week is about 90 appends), not every 10th
-- commit: at Delta's default every tenth job of a day paid 1-4 s to checkpoint this log,
-- more than the appends of all ten (bench/pipeline_day.py).
create table if not exists job_run_attempts (
  job string not null,
  run_date date not null,
  run_id string not null,
  status string not null,
  rows_in bigint,
  rows_written bigint,
  rows_quarantined bigint,
  details map<string, string>,
  checks array<struct<
    table_name: string,
    table_version: bigint,
    check_name: string,
    severity: string,
    violation_count: bigint,
    sample_keys: array<string>,
    check_kind: string,
    observed_value: double,
    status: string,
    duration_ms: bigint
  >>,
  finished_at timestamp not null
)
using delta
tblproperties (
  'delta.checkpointInterval' = '100',
  'delta.constraints.status_known' = "status in ('succeeded', 'failed')",
  'delta.constraints.succeeded_has_counts' =
    "status != 'succeeded' or rows_in is not null and rows_written is not null"
)
comment 'Row accounting and data-quality results of every job run attempt (append-only)';
