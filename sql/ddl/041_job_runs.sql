-- What each job read, wrote and quarantined for a run date (a rerun replaces its row).
create table if not exists job_runs (
  job string not null,
  run_date date not null,
  run_id string not null,
  rows_in bigint not null,
  rows_written bigint not null,
  rows_quarantined bigint not null,
  details map<string, string>,
  finished_at timestamp not null
)
using delta
comment 'Row accounting per job and run date: rows_in = rows_written + rows_quarantined';
