-- One row per data-quality check, table and run date (a rerun replaces its rows).
create table if not exists dq_results (
  run_id string not null,
  run_date date not null,
  table_name string not null,
  table_version bigint,
  check_name string not null,
  severity string not null,
  violation_count bigint not null,
  sample_keys array<string>,
  check_kind string not null,
  observed_value double,
  status string not null,
  duration_ms bigint not null,
  checked_at timestamp not null
)
using delta
partitioned by (run_date)
comment 'Data-quality check history';
