-- Data-quality history, one row per check, table and job run: a view over job_runs (the
-- latest attempt of each job and date), whose row carries the checks of its run (one
-- bookkeeping commit per job, not one per check).
create view if not exists dq_results
comment 'Data-quality check history (a view over job_runs.checks)'
as
select
  r.run_id,
  r.run_date,
  r.job,
  r.status as run_status,
  c.table_name,
  c.table_version,
  c.check_name,
  c.severity,
  c.violation_count,
  c.sample_keys,
  c.check_kind,
  c.observed_value,
  c.status,
  c.duration_ms,
  r.finished_at as checked_at
from job_runs as r
lateral view explode(r.checks) exploded as c;
