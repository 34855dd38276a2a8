-- One row per job and run date: its latest attempt. A rerun of a date adds an attempt and so
-- replaces what this view shows; earlier attempts stay in job_run_attempts.
create view if not exists job_runs
comment 'Row accounting and data-quality results per job and run date (latest attempt)'
as
select
  job,
  run_date,
  run_id,
  status,
  rows_in,
  rows_written,
  rows_quarantined,
  details,
  checks,
  finished_at
from (
  select
    *,
    row_number() over (partition by job, run_date order by finished_at desc, run_id desc)
      as attempt_rank
  from job_run_attempts
)
where attempt_rank = 1;
